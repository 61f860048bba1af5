//! The kit's records key at rest (SPEC §7, issue 14 F3): the ed25519 seed is encrypted under a passphrase
//! the technician types, so a device's administrator who copies the kit while it is plugged in holds
//! nothing that signs.
//!
//! The passphrase is stretched with Argon2id (RFC 9106; 64 MiB, 3 passes: above OWASP's 2023 floor of
//! 19 MiB and 2 passes) and the seed sealed with XChaCha20-Poly1305, with the public key as associated
//! data, so a key line cannot be moved under another public key. Both come from the RustCrypto crates
//! `argon2` and `chacha20poly1305`.
//!
//! ```text
//! # comment lines
//! handover-key-v2 argon2id M T P SALT(16 bytes hex) NONCE(24 bytes hex) SEALED(48 bytes hex) PUBLIC(32 bytes hex)
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::SigningKey;

use crate::support::hashing::{hex, unhex};

const MAGIC: &str = "handover-key-v2";
/// Argon2id cost: memory in KiB, passes, lanes.
const M_COST: u32 = 64 * 1024;
const T_COST: u32 = 3;
const P_COST: u32 = 1;
/// A passphrase shorter than this is refused when a key is made.
pub const MIN_PASSPHRASE: usize = 12;

/// Where the passphrase comes from.
#[derive(Debug, Clone, Default)]
pub enum Passphrase {
    /// Asked on the terminal (`/dev/tty`, or the Windows console), without echo.
    #[default]
    Prompt,
    /// The first line of a file: for automation only (a passphrase kept beside the key protects nothing).
    File(PathBuf),
}

/// Read the passphrase; `confirm` asks twice (when a key is made).
pub fn read_passphrase(src: &Passphrase, what: &str, confirm: bool) -> Result<String> {
    let p = match src {
        Passphrase::File(f) => {
            let meta = std::fs::symlink_metadata(f).with_context(|| format!("{}", f.display()))?;
            if !meta.is_file() || meta.len() > 4096 {
                bail!(
                    "{}: the passphrase file must be a regular file of at most 4 KiB",
                    f.display()
                );
            }
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading the passphrase file {}", f.display()))?;
            text.lines().next().unwrap_or("").to_string()
        }
        Passphrase::Prompt => {
            let first = rpassword::prompt_password(format!("Passphrase for {what}: ")).map_err(|e| {
                anyhow::anyhow!(
                    "no terminal to ask the passphrase of {what} ({e}): give --key-passphrase-file FILE, or sign on your own machine afterwards with `handover kit sign KIT`"
                )
            })?;
            if confirm {
                let again = rpassword::prompt_password("Again: ")?;
                if again != first {
                    bail!("the two passphrases differ");
                }
            }
            first
        }
    };
    if p.is_empty() {
        bail!("an empty passphrase");
    }
    Ok(p)
}

fn derive(pass: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<[u8; 32]> {
    let params = argon2::Params::new(m, t, p, Some(32))
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    a.hash_password_into(pass.as_bytes(), salt, &mut out)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(out)
}

fn aad(public: &[u8]) -> Vec<u8> {
    format!("{MAGIC} {}", hex(public)).into_bytes()
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no random numbers from the OS: {e}"))?;
    Ok(b)
}

/// The key line for `key`, sealed under `pass`.
pub fn seal(key: &SigningKey, pass: &str) -> Result<String> {
    if pass.chars().count() < MIN_PASSPHRASE {
        bail!("the passphrase is shorter than {MIN_PASSPHRASE} characters");
    }
    let salt: [u8; 16] = random()?;
    let nonce: [u8; 24] = random()?;
    let k = derive(pass, &salt, M_COST, T_COST, P_COST)?;
    let public = key.verifying_key();
    let sealed = XChaCha20Poly1305::new((&k).into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &key.to_bytes(),
                aad: &aad(public.as_bytes()),
            },
        )
        .map_err(|_| anyhow::anyhow!("sealing the key failed"))?;
    Ok(format!(
        "{MAGIC} argon2id {M_COST} {T_COST} {P_COST} {} {} {} {}",
        hex(&salt),
        hex(&nonce),
        hex(&sealed),
        hex(public.as_bytes())
    ))
}

/// A sealed key file's public key (no passphrase needed), if `text` holds a sealed key.
pub fn sealed_public(text: &str) -> Option<[u8; 32]> {
    let line = key_line(text)?;
    let f: Vec<&str> = line.split_whitespace().collect();
    unhex(f.get(8)?)?.try_into().ok()
}

fn key_line(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Whether `text` (a key file) holds a sealed key rather than a bare seed.
pub fn is_sealed(text: &str) -> bool {
    key_line(text).is_some_and(|l| l.starts_with(MAGIC))
}

/// Open a sealed key file's text with `pass`.
pub fn open(text: &str, pass: &str, path: &Path) -> Result<SigningKey> {
    let bad = || anyhow::anyhow!("{}: not a sealed handover key", path.display());
    let line = key_line(text).ok_or_else(bad)?;
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() != 9 || f[0] != MAGIC || f[1] != "argon2id" {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let (m, t, p) = (num(f[2])?, num(f[3])?, num(f[4])?);
    // Bounded both ways: a planted file can neither make a run take forever nor weaken the stretch.
    if !(19 * 1024..=1024 * 1024).contains(&m) || !(2..=16).contains(&t) || !(1..=8).contains(&p) {
        bail!(
            "{}: argon2 cost m={m} t={t} p={p} is out of bounds",
            path.display()
        );
    }
    let salt = unhex(f[5]).filter(|b| b.len() == 16).ok_or_else(bad)?;
    let nonce = unhex(f[6]).filter(|b| b.len() == 24).ok_or_else(bad)?;
    let sealed = unhex(f[7]).ok_or_else(bad)?;
    let public = unhex(f[8]).filter(|b| b.len() == 32).ok_or_else(bad)?;
    let k = derive(pass, &salt, m, t, p)?;
    let seed = XChaCha20Poly1305::new((&k).into())
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &sealed,
                aad: &aad(&public),
            },
        )
        .map_err(|_| {
            anyhow::anyhow!(
                "{}: wrong passphrase (or the key file was altered)",
                path.display()
            )
        })?;
    let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| bad())?;
    let key = SigningKey::from_bytes(&seed);
    if key.verifying_key().as_bytes().as_slice() != public.as_slice() {
        bail!(
            "{}: the sealed key does not match its public key",
            path.display()
        );
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_with_its_passphrase_only() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let line = seal(&key, "correct horse battery").unwrap();
        assert!(is_sealed(&line));
        assert!(
            !line.contains(&hex(&key.to_bytes())),
            "the seed never appears in clear"
        );
        assert_eq!(
            sealed_public(&line).unwrap(),
            *key.verifying_key().as_bytes()
        );
        let p = Path::new("records.key");
        assert_eq!(
            open(&line, "correct horse battery", p).unwrap().to_bytes(),
            key.to_bytes()
        );
        let wrong = open(&line, "correct horse batterx", p).unwrap_err();
        assert!(wrong.to_string().contains("wrong passphrase"), "{wrong}");
    }

    #[test]
    fn a_short_passphrase_is_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        assert!(seal(&key, "short").is_err());
    }

    #[test]
    fn a_sealed_line_moved_under_another_public_key_does_not_open() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[9u8; 32]);
        let line = seal(&key, "correct horse battery").unwrap();
        let mut f: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        f[8] = hex(other.verifying_key().as_bytes());
        let moved = f.join(" ");
        assert!(open(&moved, "correct horse battery", Path::new("k")).is_err());
    }

    #[test]
    fn a_weakened_cost_is_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let line = seal(&key, "correct horse battery").unwrap();
        let weak = line.replacen(&format!(" {M_COST} "), " 8 ", 1);
        let e = open(&weak, "correct horse battery", Path::new("k")).unwrap_err();
        assert!(e.to_string().contains("out of bounds"), "{e}");
    }
}
