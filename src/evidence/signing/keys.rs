//! The kit's signing key and the public keys records are verified with: keygen, reseal, read, and
//! the device's copy of the public key (SPEC §7).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ed25519_dalek::{SigningKey, VerifyingKey};

use super::paths::{device_pubkey_path, kit_key_path, kit_pubkey_path};
use crate::artifacts::kitkey::Passphrase;
use crate::support::hashing::{hex, unhex};
use crate::support::perms::read_regular;

/// The hex values of a key file: every line that is neither blank nor a `#` comment.
pub(crate) fn key_lines(path: &Path, len: usize) -> Result<Vec<Vec<u8>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let word = line.split_whitespace().next().unwrap_or("");
        match unhex(word) {
            Some(b) if b.len() == len => out.push(b),
            _ => bail!(
                "{}:{}: not a {len}-byte ed25519 key in hex",
                path.display(),
                n + 1
            ),
        }
    }
    if out.is_empty() {
        bail!("{}: holds no key", path.display());
    }
    Ok(out)
}

/// Open the kit's private key (written by [`keygen`]) with the technician's passphrase. A key file
/// holding a bare seed (made before keys were sealed) is refused: anyone who copied the kit could sign.
pub fn read_signing_key(path: &Path, pass: &Passphrase) -> Result<SigningKey> {
    let text = read_key_text(path)?;
    if !crate::artifacts::kitkey::is_sealed(&text) {
        bail!(
            "{}: the records key is not encrypted (made before handover sealed its keys), so anyone who copied the kit can sign with it: seal it under a passphrase with `handover kit keygen --reseal {}`",
            path.display(),
            path.parent().and_then(Path::parent).unwrap_or(Path::new(".")).display()
        );
    }
    let pass = crate::artifacts::kitkey::read_passphrase(pass, &path.display().to_string(), false)?;
    crate::artifacts::kitkey::open(&text, &pass, path)
}

/// A key file's text: a regular file (not a link, a FIFO or a device) of at most 64 KiB.
pub(crate) fn read_key_text(path: &Path) -> Result<String> {
    let bytes = read_regular(path, 64 * 1024)?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not text", path.display()))
}

/// Read a public key file (one or more keys, one a line).
pub fn read_pubkeys(path: &Path) -> Result<Vec<VerifyingKey>> {
    key_lines(path, 32)?
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let b: [u8; 32] = b.as_slice().try_into().expect("32 bytes");
            VerifyingKey::from_bytes(&b)
                .map_err(|e| anyhow::anyhow!("{}: key {}: {e}", path.display(), i + 1))
        })
        .collect()
}

pub(crate) fn pubkey_text(key: &VerifyingKey) -> String {
    format!(
        "# handover records public key (ed25519, hex): `handover record verify --pubkey FILE`\n{}\n",
        hex(key.as_bytes())
    )
}

/// Make the kit's key pair: `KIT/keys/records.key` (the seed sealed under the technician's passphrase,
/// mode 0600) and `KIT/keys/records.pub`. Refuses to replace either. Returns the public key's path.
pub fn keygen(kit: &Path, pass: &Passphrase) -> Result<PathBuf> {
    let key_path = kit_key_path(kit);
    let pub_path = kit_pubkey_path(kit);
    for p in [&key_path, &pub_path] {
        if p.exists() || p.is_symlink() {
            bail!(
                "{} exists: refusing to replace a kit's records key (records signed with it could no longer be verified); move it away first",
                p.display()
            );
        }
    }
    let pass =
        crate::artifacts::kitkey::read_passphrase(pass, &key_path.display().to_string(), true)?;
    let keys = key_path.parent().expect("has a parent");
    std::fs::create_dir_all(keys).with_context(|| format!("creating {}", keys.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Best effort: a FAT-formatted stick has no modes (which is why the seed is sealed).
        let _ = std::fs::set_permissions(keys, std::fs::Permissions::from_mode(0o700));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow::anyhow!("no random numbers from the OS: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let public = key.verifying_key();
    let text = sealed_key_text(&key, &pass)?;
    write_new(&key_path, text.as_bytes(), true)?;
    write_new(&pub_path, pubkey_text(&public).as_bytes(), false)?;
    Ok(pub_path)
}

pub(crate) fn sealed_key_text(key: &SigningKey, pass: &str) -> Result<String> {
    Ok(format!(
        "# handover records signing key (ed25519), sealed under the technician's passphrase\n\
         # (Argon2id, XChaCha20-Poly1305): without the passphrase it signs nothing. Never copy it to a device.\n\
         # public key {}\n{}\n",
        hex(key.verifying_key().as_bytes()),
        crate::artifacts::kitkey::seal(key, pass)?
    ))
}

/// Seal a kit key made before keys were sealed (a bare seed) under a passphrase, in place.
pub fn reseal(kit: &Path, pass: &Passphrase) -> Result<PathBuf> {
    let key_path = kit_key_path(kit);
    let text = read_key_text(&key_path)?;
    if crate::artifacts::kitkey::is_sealed(&text) {
        bail!("{}: already sealed", key_path.display());
    }
    let seed = key_lines(&key_path, 32)?;
    let seed: [u8; 32] = seed[0].as_slice().try_into().expect("32 bytes");
    let key = SigningKey::from_bytes(&seed);
    let pass =
        crate::artifacts::kitkey::read_passphrase(pass, &key_path.display().to_string(), true)?;
    let sealed = sealed_key_text(&key, &pass)?;
    crate::support::fsutil::write_private(&key_path, sealed.as_bytes())?;
    Ok(key_path)
}

/// Create `path` with `bytes`; never replaces a file (`create_new`).
fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = o
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// What [`install_device_pubkey`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PubkeyInstall {
    /// The device had none: the kit's is now `STATE/records.pub`.
    Installed,
    /// The device already trusts the kit's key.
    Present,
    /// The device trusts another key and was left alone: its records will not verify against it.
    Differs,
}

/// Copy the kit's public key to `STATE/records.pub` if the device has none.
pub fn install_device_pubkey(kit: &Path, state_dir: &Path) -> Result<PubkeyInstall> {
    let kit_keys = read_pubkeys(&kit_pubkey_path(kit))?;
    let dest = device_pubkey_path(state_dir);
    if dest.exists() {
        let have = read_pubkeys(&dest).unwrap_or_default();
        return Ok(if kit_keys.iter().all(|k| have.contains(k)) {
            PubkeyInstall::Present
        } else {
            PubkeyInstall::Differs
        });
    }
    crate::support::perms::ensure_private_dir(state_dir)?;
    crate::support::fsutil::write_private(&dest, pubkey_text(&kit_keys[0]).as_bytes())?;
    Ok(PubkeyInstall::Installed)
}
