//! Permissions (SPEC §7). handover runs as root and runs what the site file and its installers say, so
//! it refuses any of those that a standard user could have written: otherwise a user could plant an
//! installer that the next apply runs as root. Its own state is private (0700 directories, 0600 files).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

#[cfg(any(unix, windows))]
use crate::error::InputError;

#[cfg(unix)]
fn euid() -> u32 {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether handover runs with root (Unix) rights.
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        euid() == 0
    }
    #[cfg(windows)]
    {
        // Elevated (High) or SYSTEM integrity: the mandatory-label SIDs are the same in every language.
        std::process::Command::new("whoami")
            .args(["/groups", "/fo", "csv"])
            .output()
            .map(|o| {
                let t = String::from_utf8_lossy(&o.stdout);
                t.contains("S-1-16-12288") || t.contains("S-1-16-16384")
            })
            .unwrap_or(false)
    }
    #[cfg(not(any(unix, windows)))]
    {
        false
    }
}

/// Principals whose access to a file or directory does not matter: SYSTEM, Administrators,
/// TrustedInstaller and CREATOR OWNER, as SDDL names them (`icacls /save` writes SDDL, which unlike
/// icacls' display is not localised).
const WINDOWS_TRUSTED: &[&str] = &[
    "SY",
    "BA",
    "CO",
    "S-1-5-18",
    "S-1-5-32-544",
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
];

/// The SIDs an SDDL security descriptor lets write, delete or change permissions, other than the trusted
/// ones. Rights are SDDL letters (FA, GA, GW, FW, WD, WO, SD) or a hex mask.
pub fn sddl_untrusted_writers(sddl: &str) -> Vec<String> {
    let Some(dacl) = sddl.split("D:").nth(1) else {
        return Vec::new();
    };
    let dacl = dacl.split("S:").next().unwrap_or(dacl);
    let mut out = Vec::new();
    for ace in dacl.split('(').skip(1) {
        let fields: Vec<&str> = ace.trim_end_matches(')').split(';').collect();
        if fields.len() < 6 || fields[0] != "A" || fields[1].contains("IO") {
            continue;
        }
        let rights = fields[2];
        let writes = if let Some(hex) = rights.strip_prefix("0x") {
            // write data, append, write attributes/EA, delete, WRITE_DAC, WRITE_OWNER, GENERIC_WRITE/ALL
            u32::from_str_radix(hex, 16).is_ok_and(|m| m & 0x500d_0116 != 0)
        } else {
            rights.as_bytes().chunks(2).any(|r| {
                matches!(
                    r,
                    b"FA" | b"GA" | b"GW" | b"FW" | b"WD" | b"WO" | b"SD" | b"DC" | b"WP"
                )
            })
        };
        let sid = fields[5];
        if writes && !WINDOWS_TRUSTED.contains(&sid) {
            out.push(sid.to_string());
        }
    }
    out
}

/// Refuse `path` (a file or directory) if anyone but root or the user running handover could change it:
/// the path itself and every directory above it must be owned by one of them and not writable by group
/// or others (a sticky directory such as /tmp is fine: others cannot replace what they do not own).
pub fn require_trusted(path: &Path, what: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = euid();
        let full =
            std::fs::canonicalize(path).with_context(|| format!("{what} {}", path.display()))?;
        let mut cur = Some(full.as_path());
        let mut first = true;
        while let Some(p) = cur {
            let md = std::fs::metadata(p).with_context(|| format!("{what} {}", p.display()))?;
            let sticky = md.mode() & 0o1000 != 0 && !first;
            let owner_ok = md.uid() == 0 || md.uid() == me;
            let writable_by_others = md.mode() & 0o022 != 0 && !sticky;
            if !owner_ok || writable_by_others {
                return Err(InputError::refused(format!(
                    "refusing {what} {}: {} is {} (mode {:o}, owner uid {}); a non-admin could change what handover runs as root",
                    path.display(),
                    p.display(),
                    if owner_ok { "writable by group or others" } else { "owned by another user" },
                    md.mode() & 0o7777,
                    md.uid()
                )));
            }
            first = false;
            cur = p.parent();
        }
    }
    #[cfg(windows)]
    {
        // The path and its parent: icacls /save writes each one's security descriptor as SDDL (UTF-16).
        let mut cur = Some(path.to_path_buf());
        for _ in 0..2 {
            let Some(p) = cur.take() else { break };
            let tmp = tempfile::NamedTempFile::new().context("creating a temporary file")?;
            let status = std::process::Command::new("icacls")
                .arg(&p)
                .arg("/save")
                .arg(tmp.path())
                .arg("/q")
                .status()?;
            if !status.success() {
                anyhow::bail!("icacls {} /save failed ({status})", p.display());
            }
            let raw = std::fs::read(tmp.path())?;
            let units: Vec<u16> = raw
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            let text = String::from_utf16_lossy(&units);
            let writers: Vec<String> = text.lines().flat_map(sddl_untrusted_writers).collect();
            if !writers.is_empty() {
                return Err(InputError::refused(format!(
                    "refusing {what} {}: {} can be changed by {} (not only SYSTEM and Administrators); a standard user could change what handover runs as SYSTEM",
                    path.display(),
                    p.display(),
                    writers.join(", ")
                )));
            }
            cur = p.parent().map(Path::to_path_buf);
        }
    }
    #[cfg(not(any(unix, windows)))]
    let _ = (path, what);
    Ok(())
}

/// Refuse a secret file that others can read (the admin password file).
pub fn require_private_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let md = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        if md.mode() & 0o077 != 0 || (md.uid() != 0 && md.uid() != euid()) {
            return Err(InputError::refused(format!(
                "refusing {}: mode {:o}, owner uid {}; a password file must be owned by root and readable by no one else (chmod 600)",
                path.display(),
                md.mode() & 0o7777,
                md.uid()
            )));
        }
    }
    require_trusted(path, "password file")
}

/// Create `dir` (and parents) readable by its owner only.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("chmod 700 {}", dir.display()))?;
    }
    #[cfg(windows)]
    {
        // A protected ACL: SYSTEM and Administrators only, nothing inherited (SIDs, not localised names).
        let status = std::process::Command::new("icacls")
            .arg(dir)
            .args([
                "/inheritance:r",
                "/grant:r",
                "*S-1-5-18:(OI)(CI)F",
                "/grant:r",
                "*S-1-5-32-544:(OI)(CI)F",
                "/q",
            ])
            .status()?;
        if !status.success() {
            anyhow::bail!(
                "icacls {} failed ({status}): cannot protect handover's directory",
                dir.display()
            );
        }
    }
    Ok(())
}

/// Write `bytes` to `path` atomically (temporary file, fsync, rename) with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("a file path has a parent")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod sddl_tests {
    use super::sddl_untrusted_writers;

    #[test]
    fn protected_directory_has_no_untrusted_writer() {
        assert!(sddl_untrusted_writers("D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)").is_empty());
    }

    #[test]
    fn users_with_modify_or_write_are_found() {
        // ProgramData's default: Users may create files (0x100116 includes write data and append).
        let sddl = "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;CI;0x100116;;;BU)(A;OICIIO;GA;;;CO)";
        assert_eq!(sddl_untrusted_writers(sddl), vec!["BU"]);
        assert_eq!(sddl_untrusted_writers("D:(A;;0x1301bf;;;AU)"), vec!["AU"]);
        assert_eq!(
            sddl_untrusted_writers("D:(A;;FRFX;;;WD)"),
            Vec::<String>::new()
        );
        assert_eq!(
            sddl_untrusted_writers("D:(D;;FA;;;WD)(A;;GW;;;S-1-5-21-1-2-3-1001)"),
            vec!["S-1-5-21-1-2-3-1001"]
        );
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn group_writable_site_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("site.toml");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = require_trusted(&f, "site file").unwrap_err().to_string();
        assert!(e.contains("writable by group or others"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        require_trusted(&f, "site file").unwrap();
    }

    #[test]
    fn world_writable_directory_above_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("open");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
        let f = sub.join("site.toml");
        std::fs::write(&f, "").unwrap();
        assert!(require_trusted(&f, "site file").is_err());
    }

    #[test]
    fn readable_password_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "Correct-horse-42\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(require_private_file(&f).is_err());
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        require_private_file(&f).unwrap();
    }

    #[test]
    fn private_writes_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("state.json");
        write_private(&f, b"{}").unwrap();
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
