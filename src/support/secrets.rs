//! Secrets (SPEC §7): the Lansweeper agent key and admin passwords reach scripts only as per-process
//! environment variables, and every captured output is redacted by exact match before it is stored or printed.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// The shortest secret a site may hold (F8): redaction replaces every occurrence of a secret, so a
/// two-letter key would be revealed by the holes it cuts in unrelated output.
pub const MIN_SECRET_LEN: usize = 8;

/// The secrets of one run, with the names they are shown under when redacted.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    values: Vec<(String, String)>,
}

impl Secrets {
    pub fn add(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.values.push((name.to_string(), value.to_string()));
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `s` with every secret value replaced by `<secret:NAME>`, longest first so that a secret that
    /// contains another is redacted whole.
    pub fn redact(&self, s: &str) -> String {
        let mut sorted: Vec<_> = self.values.iter().collect();
        sorted.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        let mut out = s.to_string();
        for (name, value) in sorted {
            out = out.replace(value.as_str(), &format!("<secret:{name}>"));
        }
        out
    }

    /// The environment variable a secret travels in: `lansweeper.agent_key` → `HANDOVER_SECRET_LANSWEEPER_AGENT_KEY`.
    pub fn env_name(name: &str) -> String {
        format!(
            "HANDOVER_SECRET_{}",
            name.replace(['.', '-'], "_").to_ascii_uppercase()
        )
    }
}

/// Read the admin password from a file that only root (or the owner, when not root) can read.
pub fn read_password_file(path: &Path) -> Result<String> {
    crate::support::perms::require_private_file(path)?;
    // Read from the file that was checked, opened once without following a link (F12).
    let mut file = crate::support::perms::open_trusted(path, "password file")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = file.metadata()?.mode();
        if mode & 0o077 != 0 {
            return Err(crate::support::error::InputError::refused(format!(
                "refusing {}: mode {:o}; a password file must be readable by root only (chmod 600)",
                path.display(),
                mode & 0o7777
            )));
        }
    }
    let bytes = crate::support::perms::read_bounded(&mut file, "password file", path)?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{}: cannot read the admin password file", path.display()))?;
    let pw = text.lines().next().unwrap_or("").to_string();
    if pw.len() < 12 {
        bail!(
            "{}: the admin password must be at least 12 characters",
            path.display()
        );
    }
    Ok(pw)
}

/// A random password for the separate admin account, shown once on the terminal. The bytes come from
/// the OS's generator through the `getrandom` crate (getrandom(2) on Linux, `ProcessPrng` on Windows,
/// `getentropy` on macOS), never from a device file Windows does not have.
pub fn generate_password() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.";
    // Rejection sampling: a byte at or above the largest multiple of the alphabet's size is drawn
    // again, so every character is equally likely (a plain `% 60` favours the first 16).
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut pw = String::with_capacity(20);
    let mut bytes = [0u8; 64];
    while pw.len() < 20 {
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("the OS's random number generator failed: {e}"))?;
        pw.extend(
            bytes
                .iter()
                .filter(|b| **b < limit)
                .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
                .take(20 - pw.len()),
        );
    }
    // Guarantee four classes so any site policy of up to four classes accepts it.
    pw.replace_range(0..4, "Aa7-");
    Ok(pw)
}

/// The console itself, even when stdout and stderr are redirected: `/dev/tty` on Unix, `CONOUT$` on
/// Windows (learn.microsoft.com, CreateFile: "Consoles"). A generated password goes there only.
pub fn open_console() -> std::io::Result<std::fs::File> {
    let name = if cfg!(windows) { "CONOUT$" } else { "/dev/tty" };
    std::fs::OpenOptions::new().write(true).open(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_longest_first() {
        let mut s = Secrets::default();
        s.add("a", "key");
        s.add("b", "key-long");
        assert_eq!(s.redact("x key-long y key"), "x <secret:b> y <secret:a>");
        assert_eq!(
            Secrets::env_name("lansweeper.agent_key"),
            "HANDOVER_SECRET_LANSWEEPER_AGENT_KEY"
        );
    }

    #[test]
    fn generated_passwords_have_four_classes() {
        let p = generate_password().unwrap();
        assert_eq!(p.len(), 20);
        assert!(p.starts_with("Aa7-"));
        let q = generate_password().unwrap();
        assert_ne!(p, q, "two passwords alike: the generator is not random");
        assert!(q[4..]
            .bytes()
            .all(|b| b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.".contains(&b)));
    }
}
