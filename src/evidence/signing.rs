//! Signed records (SPEC §7, issue 6): a device's user is its administrator and can rewrite any file on
//! it, so the hash chain of [`crate::evidence::record`] alone proves nothing against them. Each record is also
//! signed with an ed25519 key that lives on the technician's kit, never on the device, and copied to
//! the kit; the device keeps only the public key.
//!
//! ```text
//! KIT/keys/records.key                 the private key: comment lines, then the 32-byte seed in hex (0600)
//! KIT/keys/records.pub                 the public key: comment lines, then the 32-byte key in hex
//! KIT/records/<asset>/NNNNNN-….json    copies of the device's records …
//! KIT/records/<asset>/NNNNNN-….json.sig  … and of their signatures
//! STATE/records.pub                    the device's copy of the public key
//! STATE/records/NNNNNN-….json.sig      a detached signature beside each record:
//!     {"alg":"ed25519","key":"<public key hex>","sig":"<hex>","sha256":"<hex of the record's bytes>"}
//! ```
//!
//! A signature is over the record file's exact bytes (so `openssl pkeyutl -verify -rawin` can check it
//! too); the order of records is proved by the chain of `previous` hashes inside them, and their
//! completeness by sequence numbers and, for the newest, by the kit's copy. A public key file may list
//! several keys (one a line) when a kit's key was replaced.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use serde::Serialize;
use serde_json::{json, Value};

pub use crate::artifacts::kitkey::Passphrase;
use crate::support::hashing::{hex, sha256_bytes, unhex};
use crate::support::perms;

/// The kit's private key.
pub fn kit_key_path(kit: &Path) -> PathBuf {
    kit.join("keys").join("records.key")
}

/// The kit's public key.
pub fn kit_pubkey_path(kit: &Path) -> PathBuf {
    kit.join("keys").join("records.pub")
}

/// Where the device keeps the public key its records are verified with.
pub fn device_pubkey_path(state_dir: &Path) -> PathBuf {
    state_dir.join("records.pub")
}

/// The detached signature of a record: `RECORD.json.sig`.
pub fn sig_path(record: &Path) -> PathBuf {
    let mut s = record.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

/// An asset tag as a directory name: anything but `[A-Za-z0-9._-]` becomes `_`.
pub fn sanitize_asset(asset: &str) -> Result<String> {
    let s: String = asset
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        bail!("asset {asset:?} cannot name a directory of the kit");
    }
    Ok(s)
}

/// The kit's copy of one device's records: `KIT/records/<asset>/`.
pub fn kit_records_dir(kit: &Path, asset: &str) -> Result<PathBuf> {
    Ok(kit.join("records").join(sanitize_asset(asset)?))
}

/// What names a device's directory on the kit: the asset tag, else the serial, else the hostname.
pub fn asset_of(report: &crate::evidence::report::Report) -> String {
    [
        report.asset.as_deref(),
        Some(report.device.serial.as_str()),
        Some(report.device.hostname.as_str()),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .find(|s| !s.is_empty() && sanitize_asset(s).is_ok())
    .unwrap_or("unknown")
    .to_string()
}

// ---------------------------------------------------------------------------------------------
// Keys

/// The hex values of a key file: every line that is neither blank nor a `#` comment.
fn key_lines(path: &Path, len: usize) -> Result<Vec<Vec<u8>>> {
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
fn read_key_text(path: &Path) -> Result<String> {
    let bytes = read_regular(path, 64 * 1024)?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not text", path.display()))
}

/// [`perms::read_regular`]: records, signatures and keys come from a device or a kit (F14, F15).
pub use crate::support::perms::read_regular;

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

fn pubkey_text(key: &VerifyingKey) -> String {
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

fn sealed_key_text(key: &SigningKey, pass: &str) -> Result<String> {
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
    let tmp = key_path.with_extension("key.new");
    let _ = std::fs::remove_file(&tmp);
    write_new(&tmp, sealed.as_bytes(), true)?;
    std::fs::rename(&tmp, &key_path)
        .with_context(|| format!("replacing {}", key_path.display()))?;
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
    perms::ensure_private_dir(state_dir)?;
    perms::write_private(&dest, pubkey_text(&kit_keys[0]).as_bytes())?;
    Ok(PubkeyInstall::Installed)
}

// ---------------------------------------------------------------------------------------------
// Records on disk

/// A record file: `NNNNNN-STAMP-MODE-SCOPE.json`.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    seq: u64,
    path: PathBuf,
}

/// The sequence number of a record's file name, if it is one.
pub fn record_seq(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".json")?;
    let (digits, rest) = stem.split_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// The records of a directory, in chain order (sequence number, then name).
fn list_records(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Some(seq) = record_seq(&name) {
            if e.file_type()?.is_file() {
                out.push(Entry {
                    name,
                    seq,
                    path: e.path(),
                });
            }
        }
    }
    out.sort_by(|a, b| (a.seq, &a.name).cmp(&(b.seq, &b.name)));
    Ok(out)
}

/// `STATE/records` when given the state directory, else `dir` itself.
pub fn records_dir_of(dir: &Path) -> PathBuf {
    let sub = dir.join("records");
    let has_records = |d: &Path| {
        std::fs::read_dir(d).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_str().and_then(record_seq).is_some())
        })
    };
    if sub.is_dir() && !has_records(dir) {
        sub
    } else {
        dir.to_path_buf()
    }
}

/// `sha256:<hex>` of the newest record: what the next record's `previous` must be.
pub fn chain_head(records_dir: &Path) -> Result<Option<String>> {
    if !records_dir.exists() {
        return Ok(None);
    }
    let Some(last) = list_records(records_dir)?.pop() else {
        return Ok(None);
    };
    let bytes =
        std::fs::read(&last.path).with_context(|| format!("reading {}", last.path.display()))?;
    Ok(Some(format!("sha256:{}", sha256_bytes(&bytes))))
}

/// A record named by a path, a sequence number (`3`), or a file name in `records_dir`.
pub fn resolve_record(records_dir: &Path, spec: &str) -> Result<PathBuf> {
    let p = Path::new(spec);
    if p.is_file() {
        return Ok(p.to_path_buf());
    }
    let records = list_records(records_dir)?;
    if let Ok(n) = spec.parse::<u64>() {
        if let Some(e) = records.iter().find(|e| e.seq == n) {
            return Ok(e.path.clone());
        }
    }
    if let Some(e) = records.iter().find(|e| e.name == spec) {
        return Ok(e.path.clone());
    }
    bail!(
        "{spec}: no such record (a file, a sequence number or a name in {})",
        records_dir.display()
    )
}

// ---------------------------------------------------------------------------------------------
// Signing

fn sig_json(key: &VerifyingKey, sig: &Signature, bytes: &[u8]) -> Vec<u8> {
    let mut v = serde_json::to_vec(&json!({
        "alg": "ed25519",
        "key": hex(key.as_bytes()),
        "sig": hex(&sig.to_bytes()),
        "sha256": sha256_bytes(bytes),
    }))
    .expect("serializes");
    v.push(b'\n');
    v
}

/// A parsed `.sig` file.
#[derive(Debug)]
struct SigFile {
    alg: String,
    key: String,
    sig: Option<Signature>,
    sha256: String,
}

fn read_sig(path: &Path) -> Result<SigFile> {
    parse_sig(&read_regular(path, MAX_SIG)?)
}

fn parse_sig(bytes: &[u8]) -> Result<SigFile> {
    let v: Value = serde_json::from_slice(bytes).context("not JSON")?;
    let field = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let sig = unhex(&field("sig"))
        .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
        .map(|b| Signature::from_bytes(&b));
    Ok(SigFile {
        alg: field("alg"),
        key: field("key"),
        sig,
        sha256: field("sha256"),
    })
}

/// Sign a record with the kit's key: writes `RECORD.sig` beside it, over the file's exact bytes. A record
/// that already has a signature is left alone when the signature is this key's over these bytes, and
/// refused otherwise: re-signing would bless an edit made after the first signature.
pub fn sign_record(record_path: &Path, key: &SigningKey) -> Result<PathBuf> {
    sign_with(record_path, key)
}

fn sign_with(record_path: &Path, key: &SigningKey) -> Result<PathBuf> {
    let bytes = read_regular(record_path, MAX_RECORD)?;
    let v: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a handover record", record_path.display()))?;
    if v.get("previous").is_none() {
        bail!(
            "{}: not a handover record (no `previous`)",
            record_path.display()
        );
    }
    let sig = key.sign(&bytes);
    let out = sig_json(&key.verifying_key(), &sig, &bytes);
    let sp = sig_path(record_path);
    match read_regular(&sp, MAX_SIG) {
        Ok(existing) if existing == out => return Ok(sp),
        Ok(_) => bail!(
            "{} exists and is not this key's signature of {}: refusing to re-sign (was the record edited after it was signed?)",
            sp.display(),
            record_path.display()
        ),
        Err(_) if !sp.exists() && !sp.is_symlink() => {}
        Err(e) => return Err(e),
    }
    perms::write_private(&sp, &out)?;
    Ok(sp)
}

/// The largest record and signature file read (a record of 18 controls is about 30 KiB).
pub const MAX_RECORD: u64 = 16 * 1024 * 1024;
const MAX_SIG: u64 = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Which kit copy is this device's

/// A serial number that names one machine, not a placeholder a firmware or a VM leaves.
fn usable_serial(serial: &str) -> Option<String> {
    let s = serial.trim();
    let placeholder = [
        "",
        "unknown",
        "0",
        "none",
        "n/a",
        "na",
        "default string",
        "to be filled by o.e.m.",
        "system serial number",
        "not specified",
        "not applicable",
        "0123456789",
        "123456789",
    ];
    if placeholder.contains(&s.to_ascii_lowercase().as_str()) || s.chars().all(|c| c == '0') {
        return None;
    }
    sanitize_asset(s).ok().map(|d| format!("serial-{d}"))
}

/// The name of this device's directory on the kit (F2): `serial-<serial>`, else `chain-<the first 16
/// hex digits of its first record's sha256>`. Never the asset of `state.json`, which the device's
/// administrator can edit to send signing to a fresh directory with no copy to compare against.
pub fn device_dir_name(serial: &str, records_dir: &Path) -> Result<String> {
    if let Some(s) = usable_serial(serial) {
        return Ok(s);
    }
    let records = if records_dir.exists() {
        list_records(records_dir)?
    } else {
        vec![]
    };
    let Some(first) = records.first() else {
        bail!(
            "this device has no usable serial number and no records yet: name its directory on the kit with --asset"
        );
    };
    let bytes = read_regular(&first.path, MAX_RECORD)?;
    Ok(format!("chain-{}", &sha256_bytes(&bytes)[..16]))
}

/// `KIT/records/<name>/`, refused when `KIT/records` or the directory is a symbolic link (F14).
pub fn kit_dir_named(kit: &Path, name: &str) -> Result<PathBuf> {
    let top = kit.join("records");
    let dir = top.join(sanitize_asset(name)?);
    for p in [&top, &dir] {
        if p.is_symlink() {
            bail!(
                "{} is a symbolic link: refused (records are copied only into the kit itself)",
                p.display()
            );
        }
    }
    Ok(dir)
}

// ---------------------------------------------------------------------------------------------
// Export and import

/// The files to copy from `src` to `dst` (records and their signatures), after checking that none would
/// replace a different file or take a sequence number the destination holds under another name.
fn plan_copy(src: &Path, dst: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let theirs: BTreeMap<u64, Vec<String>> = if dst.exists() {
        list_records(dst)?
            .into_iter()
            .fold(BTreeMap::new(), |mut m, e| {
                m.entry(e.seq).or_default().push(e.name);
                m
            })
    } else {
        BTreeMap::new()
    };
    let mut plan = Vec::new();
    let mut conflicts = Vec::new();
    for e in list_records(src)? {
        if let Some(names) = theirs.get(&e.seq) {
            if let Some(other) = names.iter().find(|n| **n != e.name) {
                conflicts.push(format!(
                    "{}: {} already holds record {} as {other}: the two chains diverged (a reinstall? `record import` before the first check continues the chain)",
                    e.name,
                    dst.display(),
                    e.seq
                ));
                continue;
            }
        }
        for from in [e.path.clone(), sig_path(&e.path)] {
            if !from.exists() && !from.is_symlink() {
                continue;
            }
            // Regular files only, checked before anything is copied (F14).
            if !std::fs::symlink_metadata(&from).is_ok_and(|m| m.file_type().is_file()) {
                conflicts.push(format!(
                    "{}: not a regular file (a link?): refused",
                    from.display()
                ));
                continue;
            }
            let to = dst.join(from.file_name().expect("a file"));
            if !to.exists() && !to.is_symlink() {
                plan.push((from, to));
                continue;
            }
            let max = if from == e.path { MAX_RECORD } else { MAX_SIG };
            let theirs = read_regular(&to, max)?;
            let mine = read_regular(&from, max)?;
            if theirs != mine {
                conflicts.push(format!(
                    "{}: differs from {}; not replacing it",
                    to.display(),
                    from.display()
                ));
            }
        }
    }
    if !conflicts.is_empty() {
        bail!("{}", conflicts.join("\n"));
    }
    Ok(plan)
}

fn copy_planned(plan: &[(PathBuf, PathBuf)]) -> Result<usize> {
    for (from, to) in plan {
        let max = if from.extension().is_some_and(|x| x == "sig") {
            MAX_SIG
        } else {
            MAX_RECORD
        };
        // A regular file only: a `.sig` linked to /etc/shadow is refused, not copied (F14).
        let bytes = read_regular(from, max)?;
        // Atomic, so that a stick pulled out mid-copy leaves no half file to conflict with later;
        // the rename replaces a link planted at `to` rather than writing through it. Mode 0600 both
        // ways, as the temporary file each copy was made from had before.
        perms::write_private(to, &bytes)?;
    }
    Ok(plan.len())
}

/// Copy the device's records and signatures to the kit directory `dst` (from [`kit_dir_named`]),
/// signing nothing. Never replaces a different file (the error names it). Returns the files copied.
pub fn export(records_dir: &Path, dst: &Path) -> Result<usize> {
    let plan = plan_copy(records_dir, dst)?;
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    if dst.is_symlink() {
        bail!("{} is a symbolic link: refused", dst.display());
    }
    copy_planned(&plan)
}

/// Copy the kit's records of one device into the device's records directory, by the same rule as
/// [`export`], after verifying them against `pubkey` (the kit's) when given: a record edited or
/// re-signed on the kit is refused (F14). After it, the next record's `previous` is [`chain_head`].
pub fn import(kit_dir: &Path, records_dir: &Path, pubkey: Option<&Path>) -> Result<usize> {
    if kit_dir.is_symlink() {
        bail!("{} is a symbolic link: refused", kit_dir.display());
    }
    if let Some(p) = pubkey {
        let v = verify(kit_dir, Some(p), None)?;
        if !v.ok_allowing_unsigned() {
            bail!(
                "the kit's copy does not verify, so it is not imported:\n{}",
                v.text()
            );
        }
    }
    let plan = plan_copy(kit_dir, records_dir)?;
    perms::ensure_private_dir(records_dir)?;
    copy_planned(&plan)
}

// ---------------------------------------------------------------------------------------------
// Signing the present run

/// The marker a run leaves in its kit directory when its record could not be signed on the device (no
/// passphrase was typed): `handover kit sign KIT` signs that record on the technician's own machine.
pub const PENDING: &str = "pending-signature";

/// The newest record of `dir` whose signature verifies with one of `keys`.
fn newest_signed(dir: &Path, keys: &[VerifyingKey]) -> Result<Option<String>> {
    if !dir.exists() {
        return Ok(None);
    }
    for e in list_records(dir)?.into_iter().rev() {
        let sp = sig_path(&e.path);
        let Ok(s) = read_regular(&sp, MAX_SIG).and_then(|b| parse_sig(&b)) else {
            continue;
        };
        let bytes = read_regular(&e.path, MAX_RECORD)?;
        if let Some(sig) = s.sig {
            if keys.iter().any(|k| k.verify_strict(&bytes, &sig).is_ok()) {
                return Ok(Some(e.name));
            }
        }
    }
    Ok(None)
}

/// Show that `present` (the newest record of `records`) chains, record by record, to the newest record of
/// `kit_dir` signed with one of `keys`, or to a first record when the kit holds none signed, and that
/// every record of the kit's copy is in `records` unchanged. Returns the records between the anchor and
/// `present`: written while the kit was away, they stay unsigned (the device's word).
pub fn chain_to_kit(
    records: &Path,
    kit_dir: &Path,
    keys: &[VerifyingKey],
    present: &Path,
) -> Result<Vec<String>> {
    let dev = list_records(records)?;
    let present_name = present
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let Some(last) = dev.last() else {
        bail!("no records in {}", records.display());
    };
    if last.name != present_name {
        bail!(
            "{present_name} is not the newest record ({} follows it): refusing to sign",
            last.name
        );
    }
    let bytes: Vec<Vec<u8>> = dev
        .iter()
        .map(|e| read_regular(&e.path, MAX_RECORD))
        .collect::<Result<_>>()?;
    if kit_dir != records && kit_dir.exists() {
        for k in list_records(kit_dir)? {
            let kb = read_regular(&k.path, MAX_RECORD)?;
            match dev.iter().position(|e| e.name == k.name) {
                None => bail!(
                    "{} is in the kit's copy ({}) but not on the device: deleted on the device; refusing to sign",
                    k.name,
                    kit_dir.display()
                ),
                Some(i) if bytes[i] != kb => bail!(
                    "{} differs from the kit's copy ({}): edited on the device; refusing to sign",
                    k.name,
                    kit_dir.display()
                ),
                Some(_) => {}
            }
        }
    }
    let anchor = newest_signed(kit_dir, keys)?;
    let start = match &anchor {
        Some(a) => dev
            .iter()
            .position(|e| &e.name == a)
            .expect("checked above"),
        None => {
            let first: Value = serde_json::from_slice(&bytes[0])
                .with_context(|| format!("{}: not JSON", dev[0].name))?;
            if !first.get("previous").is_some_and(Value::is_null) || dev[0].seq != 1 {
                bail!(
                    "{} is not a first record, and the kit holds no signed record of this device: earlier records were removed; refusing to sign",
                    dev[0].name
                );
            }
            0
        }
    };
    for i in start + 1..dev.len() {
        let doc: Value = serde_json::from_slice(&bytes[i])
            .with_context(|| format!("{}: not JSON", dev[i].name))?;
        let want = format!("sha256:{}", sha256_bytes(&bytes[i - 1]));
        if doc.get("previous").and_then(Value::as_str) != Some(want.as_str())
            || dev[i].seq != dev[i - 1].seq + 1
        {
            bail!(
                "{} does not follow {} in the chain (edited, removed or reordered records){}; refusing to sign",
                dev[i].name,
                dev[i - 1].name,
                match &anchor {
                    Some(a) => format!(" between the kit's newest signed record {a} and this run"),
                    None => String::new(),
                }
            );
        }
    }
    let from = if anchor.is_some() { start + 1 } else { 0 };
    let signed = |i: usize| {
        read_sig(&sig_path(&dev[i].path))
            .ok()
            .and_then(|s| s.sig)
            .is_some_and(|sig| {
                keys.iter()
                    .any(|k| k.verify_strict(&bytes[i], &sig).is_ok())
            })
    };
    Ok((from..dev.len() - 1)
        .filter(|&i| !signed(i))
        .map(|i| dev[i].name.clone())
        .collect())
}

/// The attestations carried by the records of `records_dir` whose signature verifies with a key of
/// `pubkey` (F2): a later record's replaces an earlier one's for the same control. An attestation added
/// to `state.json` alone, or carried only by an unsigned record, is not among them. Records made before
/// records carried their attestations give those of their attested controls, for this installation.
pub fn signed_attestations(
    records_dir: &Path,
    pubkey: &Path,
    install_id: &str,
) -> Result<Vec<crate::evidence::record::Attestation>> {
    let keys = read_pubkeys(pubkey)?;
    let mut out: BTreeMap<String, crate::evidence::record::Attestation> = BTreeMap::new();
    if !records_dir.exists() {
        return Ok(vec![]);
    }
    for e in list_records(records_dir)? {
        let Ok(bytes) = read_regular(&e.path, MAX_RECORD) else {
            continue;
        };
        let Ok(s) = read_sig(&sig_path(&e.path)) else {
            continue;
        };
        let Some(sig) = s.sig else { continue };
        if !keys.iter().any(|k| k.verify_strict(&bytes, &sig).is_ok()) {
            continue;
        }
        let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        match doc.get("attestations") {
            Some(list) => {
                let list: Vec<crate::evidence::record::Attestation> =
                    serde_json::from_value(list.clone()).unwrap_or_default();
                for a in list {
                    out.insert(a.control.clone(), a);
                }
            }
            None => {
                for c in doc["report"]["controls"].as_array().into_iter().flatten() {
                    let a = &c["attestation"];
                    if let (Some(id), Some(by), Some(at), Some(text)) = (
                        c["id"].as_str(),
                        a["by"].as_str(),
                        a["at"].as_str(),
                        a["text"].as_str(),
                    ) {
                        out.insert(
                            id.to_string(),
                            crate::evidence::record::Attestation {
                                control: id.into(),
                                by: by.into(),
                                at: at.into(),
                                text: text.into(),
                                install_id: install_id.into(),
                            },
                        );
                    }
                }
            }
        }
    }
    Ok(out.into_values().collect())
}

/// What [`after_record`] did.
#[derive(Debug)]
pub struct Filed {
    /// The signature of this run's record, when it was signed on the device.
    pub signed: Option<PathBuf>,
    /// Why this run's record was not signed (it is marked [`PENDING`] for `kit sign`).
    pub not_signed: Option<String>,
    /// Records written while the kit was away: copied, never signed.
    pub unsigned: Vec<String>,
    pub exported: usize,
    pub kit_dir: PathBuf,
    pub pubkey: PubkeyInstall,
}

/// After a run the technician is present for (`check`/`apply --kit`) wrote `present`: when the kit has a
/// key, show that `present` chains to the kit's newest signed record of this device (found by
/// [`device_dir_name`]), sign `present` and nothing else, copy the records to the kit and give the
/// device the public key. `Ok(None)` when the kit has no key. Without the passphrase, the record is
/// copied and marked [`PENDING`] for `handover kit sign KIT` on the technician's machine.
pub fn after_record(
    state_dir: &Path,
    kit: &Path,
    present: &Path,
    serial: &str,
    pass: &Passphrase,
) -> Result<Option<Filed>> {
    let key_path = kit_key_path(kit);
    if !key_path.exists() {
        return Ok(None);
    }
    let keys = read_pubkeys(&kit_pubkey_path(kit))?;
    let records = state_dir.join("records");
    let kit_dir = kit_dir_named(kit, &device_dir_name(serial, &records)?)?;
    let unsigned = chain_to_kit(&records, &kit_dir, &keys, present)?;
    plan_copy(&records, &kit_dir)?;
    let (signed, not_signed) = match read_signing_key(&key_path, pass) {
        Ok(k) if keys.contains(&k.verifying_key()) => (Some(sign_with(present, &k)?), None),
        Ok(_) => (
            None,
            Some(format!(
                "{} does not hold the key of {}",
                key_path.display(),
                kit_pubkey_path(kit).display()
            )),
        ),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    let exported = export(&records, &kit_dir)?;
    let marker = kit_dir.join(PENDING);
    if signed.is_some() {
        if marker.exists() || marker.is_symlink() {
            std::fs::remove_file(&marker)?;
        }
    } else {
        let name = present.file_name().expect("a file").to_string_lossy();
        let _ = std::fs::remove_file(&marker);
        std::fs::write(&marker, format!("{name}\n"))
            .with_context(|| format!("writing {}", marker.display()))?;
    }
    let pubkey = install_device_pubkey(kit, state_dir)?;
    Ok(Some(Filed {
        signed,
        not_signed,
        unsigned,
        exported,
        kit_dir,
        pubkey,
    }))
}

/// `handover kit sign KIT`, on the technician's own machine: for each device directory of the kit with a
/// [`PENDING`] record, show that the record is the directory's newest and chains to its newest signed
/// record (every other record unchanged), then sign it. Returns one line per directory looked at.
pub fn kit_sign(kit: &Path, pass: &Passphrase) -> Result<Vec<(String, Result<String>)>> {
    let keys = read_pubkeys(&kit_pubkey_path(kit))?;
    let top = kit.join("records");
    if top.is_symlink() {
        bail!("{} is a symbolic link: refused", top.display());
    }
    let mut pending = Vec::new();
    if top.is_dir() {
        for e in std::fs::read_dir(&top).with_context(|| format!("reading {}", top.display()))? {
            let e = e?;
            if !e.file_type()?.is_dir() {
                continue;
            }
            let marker = e.path().join(PENDING);
            if marker.exists() || marker.is_symlink() {
                pending.push((
                    e.file_name().to_string_lossy().into_owned(),
                    e.path(),
                    marker,
                ));
            }
        }
    }
    pending.sort();
    if pending.is_empty() {
        return Ok(vec![]);
    }
    let key = read_signing_key(&kit_key_path(kit), pass)?;
    if !keys.contains(&key.verifying_key()) {
        bail!(
            "{} does not hold the key of {}",
            kit_key_path(kit).display(),
            kit_pubkey_path(kit).display()
        );
    }
    let mut out = Vec::new();
    for (name, dir, marker) in pending {
        let r = (|| -> Result<String> {
            let text = String::from_utf8(read_regular(&marker, 4096)?)
                .map_err(|_| anyhow::anyhow!("{}: not text", marker.display()))?;
            let rec = text.trim();
            if record_seq(rec).is_none() || rec.contains(['/', '\\']) {
                bail!("{}: names no record", marker.display());
            }
            let present = dir.join(rec);
            let unsigned = chain_to_kit(&dir, &dir, &keys, &present)?;
            let v = verify(&dir, Some(&kit_pubkey_path(kit)), None)?;
            let bad: Vec<&Finding> = v
                .findings
                .iter()
                .filter(|f| f.level == Level::Error && f.record.as_deref() != Some(rec))
                .collect();
            if let Some(f) = bad.first() {
                bail!(
                    "{}: {}",
                    f.record.as_deref().unwrap_or("the directory"),
                    f.message
                );
            }
            sign_with(&present, &key)?;
            std::fs::remove_file(&marker)?;
            Ok(format!(
                "signed {rec}{}",
                if unsigned.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} record(s) before it stay unsigned (written while the kit was away)",
                        unsigned.len()
                    )
                }
            ))
        })();
        out.push((name, r));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Verification

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One thing `verify` found, about one record (its file name) or the whole directory.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub record: Option<String>,
    pub level: Level,
    pub message: String,
}

/// What `verify` checked and found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub dir: PathBuf,
    /// The records checked, in chain order.
    pub records: Vec<String>,
    /// The trusted public keys (hex); empty when none was given.
    pub keys: Vec<String>,
    pub kit_copy: Option<PathBuf>,
    /// No key was given and the device's own `records.pub` is all there is (F5).
    pub device_key_only: bool,
    pub findings: Vec<Finding>,
}

pub const UNSIGNED: &str =
    "unsigned: no public key given, so the hash chain alone proves nothing against the device's administrator";

/// The warning on a record no technician's run wrote (a scheduled check, or a record older than the
/// kit's key): copied to the kit, never signed.
pub const UNSIGNED_RECORD: &str =
    "unsigned: written while the kit was away (a scheduled run), so it is the device's word only";

/// F5: the only key at hand is the device's own `STATE/records.pub`, which its administrator can replace
/// together with the records.
pub const DEVICE_KEY: &str = "not verified: key held by the device (its administrator could replace it along with the records); give --kit KIT or --pubkey FILE";

impl Verification {
    /// No error, and the signatures were checked against a trusted key.
    pub fn ok(&self) -> bool {
        !self.keys.is_empty() && self.ok_allowing_unsigned()
    }

    /// No error (for `--allow-unsigned`: the chain and digests only).
    pub fn ok_allowing_unsigned(&self) -> bool {
        !self.findings.iter().any(|f| f.level == Level::Error)
    }

    /// The records with an error.
    pub fn failed(&self) -> BTreeSet<String> {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .filter_map(|f| f.record.clone())
            .collect()
    }

    /// One line per record (`ok` or its findings), then the directory's findings and a verdict.
    pub fn text(&self) -> String {
        let mut out = format!("{}: {} records\n", self.dir.display(), self.records.len());
        let per: BTreeMap<&str, Vec<&Finding>> =
            self.findings.iter().fold(BTreeMap::new(), |mut m, f| {
                if let Some(r) = &f.record {
                    m.entry(r.as_str()).or_default().push(f);
                }
                m
            });
        let mut named: BTreeSet<&str> = BTreeSet::new();
        for r in &self.records {
            named.insert(r);
            match per.get(r.as_str()) {
                None => out.push_str(&format!("  ok       {r}\n")),
                Some(fs) => {
                    for f in fs {
                        out.push_str(&format!("  {:<8} {r}: {}\n", label(f.level), f.message));
                    }
                }
            }
        }
        for f in &self.findings {
            match &f.record {
                Some(r) if named.contains(r.as_str()) => {}
                Some(r) => out.push_str(&format!("  {:<8} {r}: {}\n", label(f.level), f.message)),
                None => out.push_str(&format!("{}: {}\n", label(f.level), f.message)),
            }
        }
        let unsigned = self
            .findings
            .iter()
            .filter(|f| f.message == UNSIGNED_RECORD)
            .count();
        let signed = self.records.len().saturating_sub(unsigned);
        if self.ok() {
            out.push_str(&format!(
                "VERIFIED: {signed} record(s) signed with the trusted key, and the chain is whole\n"
            ));
            if unsigned > 0 {
                out.push_str(&format!(
                    "  {unsigned} unsigned record(s), marked above, are the device's word only\n"
                ));
            }
        } else if self.ok_allowing_unsigned() {
            out.push_str(if self.device_key_only {
                "NOT VERIFIED: key held by the device; the chain is whole\n"
            } else {
                "NOT VERIFIED: the chain is whole, but no trusted key checked the signatures\n"
            });
        } else {
            out.push_str("NOT VERIFIED\n");
        }
        out
    }
}

fn label(l: Level) -> &'static str {
    match l {
        Level::Error => "FAIL",
        Level::Warning => "WARNING",
    }
}

/// Verify the records of `dir` (the records directory or the state directory above it): each record's
/// signature against the trusted `pubkey` (without one, against the key the signature names, with an
/// [`UNSIGNED`] warning and `ok()` false), its digest, the chain of `previous` hashes and the sequence
/// numbers; with `kit_copy` (the kit's `records/<asset>/`), that every record there is on the device with
/// the same bytes. Errors (`Err`) are for a directory that cannot be read; tampering is in the findings.
pub fn verify(dir: &Path, pubkey: Option<&Path>, kit_copy: Option<&Path>) -> Result<Verification> {
    let dir = records_dir_of(dir);
    let records = list_records(&dir)?;
    let keys = match pubkey {
        Some(p) => read_pubkeys(p)?,
        None => Vec::new(),
    };
    let key_hex: Vec<String> = keys.iter().map(|k| hex(k.as_bytes())).collect();
    let mut findings: Vec<Finding> = Vec::new();
    let mut err = |record: Option<&str>, message: String| {
        findings.push(Finding {
            record: record.map(str::to_string),
            level: Level::Error,
            message,
        })
    };

    let bytes: Vec<Vec<u8>> = records
        .iter()
        .map(|e| read_regular(&e.path, MAX_RECORD))
        .collect::<Result<_>>()?;
    let hashes: Vec<String> = bytes
        .iter()
        .map(|b| format!("sha256:{}", sha256_bytes(b)))
        .collect();
    let by_hash: BTreeMap<&str, &str> = hashes
        .iter()
        .zip(&records)
        .map(|(h, e)| (h.as_str(), e.name.as_str()))
        .collect();

    // Sequence numbers: 1, 2, 3… with no gap and no number twice.
    let mut expected = 1u64;
    for (i, e) in records.iter().enumerate() {
        if i > 0 && records[i - 1].seq == e.seq {
            err(
                Some(&e.name),
                format!(
                    "sequence number {} is also {}: two chains mixed, or a record copied",
                    e.seq,
                    records[i - 1].name
                ),
            );
            continue;
        }
        if e.seq > expected {
            let missing = if e.seq - expected == 1 {
                format!("record {expected:06} is missing")
            } else {
                format!("records {expected:06} to {:06} are missing", e.seq - 1)
            };
            err(
                Some(&e.name),
                format!(
                    "{missing} before it{}: removed?",
                    match i {
                        0 => String::new(),
                        _ => format!(" (after {})", records[i - 1].name),
                    }
                ),
            );
        }
        expected = e.seq + 1;
    }

    // The chain of `previous` hashes.
    for (i, e) in records.iter().enumerate() {
        let doc: Value = match serde_json::from_slice(&bytes[i]) {
            Ok(d) => d,
            Err(x) => {
                err(Some(&e.name), format!("not JSON ({x})"));
                continue;
            }
        };
        let previous = match doc.get("previous") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            _ => {
                err(
                    Some(&e.name),
                    "not a handover record: no `previous` field".into(),
                );
                continue;
            }
        };
        let want = i.checked_sub(1).map(|j| hashes[j].as_str());
        if previous == want {
            continue;
        }
        let msg = match (previous, want) {
            (Some(p), _) if by_hash.contains_key(p) && by_hash[p] != e.name => format!(
                "its previous record is {}, but it comes {}: records reordered (renamed or swapped)",
                by_hash[p],
                match want {
                    None => "first".to_string(),
                    Some(_) => format!("after {}", records[i - 1].name),
                }
            ),
            (Some(p), None) => format!(
                "the first record here names a previous record ({p}): earlier records were removed"
            ),
            (None, Some(_)) => format!(
                "`previous` is null, but {} comes before it: a chain restarted, or records were inserted",
                records[i - 1].name
            ),
            (Some(p), Some(w)) => format!(
                "`previous` is {p}, but {} before it hashes to {w}: {} was edited, or a record between them removed",
                records[i - 1].name,
                records[i - 1].name
            ),
            (None, None) => unreachable!(),
        };
        err(Some(&e.name), msg);
    }

    // Signatures.
    let mut unsigned: Vec<String> = Vec::new();
    for (i, e) in records.iter().enumerate() {
        let sig_name = format!("{}.sig", e.name);
        // A record signed on the technician's machine (`kit sign`) has its signature on the kit only.
        let sp = match kit_copy.map(|k| k.join(&sig_name)) {
            Some(k) if !sig_path(&e.path).exists() && k.is_file() => k,
            _ => sig_path(&e.path),
        };
        if !sp.exists() && !sp.is_symlink() {
            // A run the technician was present for names the kit's key in its record: its signature
            // cannot be missing unless removed (or still pending `kit sign`, on the kit's copy).
            let named = serde_json::from_slice::<Value>(&bytes[i])
                .ok()
                .and_then(|d| d.get("kit_key").and_then(Value::as_str).map(str::to_string));
            match named {
                Some(k) => err(
                    Some(&e.name),
                    format!("written with the kit (key {k}) present, but {sig_name} is missing: the signature was removed, or `handover kit sign` has not signed it yet"),
                ),
                None => unsigned.push(e.name.clone()),
            }
            continue;
        }
        let s = match read_sig(&sp) {
            Ok(s) => s,
            Err(x) => {
                err(Some(&e.name), format!("{sig_name}: unreadable ({x:#})"));
                continue;
            }
        };
        let Some(sig) = s.sig.filter(|_| s.alg == "ed25519") else {
            err(
                Some(&e.name),
                format!("{sig_name}: not an ed25519 signature"),
            );
            continue;
        };
        let digest = sha256_bytes(&bytes[i]);
        if s.sha256 != digest {
            err(
                Some(&e.name),
                format!(
                    "edited after it was signed: its sha256 is {digest}, the signature's is {}",
                    s.sha256
                ),
            );
        }
        if keys.is_empty() {
            let named = unhex(&s.key)
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .and_then(|b| VerifyingKey::from_bytes(&b).ok());
            match named {
                Some(k) if k.verify_strict(&bytes[i], &sig).is_ok() => {}
                _ => err(
                    Some(&e.name),
                    format!("{sig_name}: the signature does not match the record"),
                ),
            }
        } else if !keys
            .iter()
            .any(|k| k.verify_strict(&bytes[i], &sig).is_ok())
        {
            let msg = if key_hex.contains(&s.key) {
                "the signature does not match the record: edited after it was signed".to_string()
            } else {
                format!(
                    "signed with key {}, not the trusted key: re-signed without the kit's key",
                    s.key
                )
            };
            err(Some(&e.name), msg);
        }
    }

    // Signatures left behind by a removed record.
    let names: BTreeSet<&str> = records.iter().map(|e| e.name.as_str()).collect();
    let mut orphans: Vec<String> = std::fs::read_dir(&dir)?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| {
            let rec = n.strip_suffix(".sig")?;
            (record_seq(rec).is_some() && !names.contains(rec)).then(|| rec.to_string())
        })
        .collect();
    orphans.sort();
    for rec in orphans {
        err(
            Some(&rec),
            format!("{rec}.sig is here, {rec} is not: the record was removed"),
        );
    }

    // The kit's copy: every record there must be here, byte for byte (catches the newest deleted).
    if let Some(kit) = kit_copy.filter(|k| k.exists()) {
        let theirs = list_records(kit)?;
        for k in &theirs {
            let newest = theirs.last().is_some_and(|l| l.name == k.name);
            let kb = read_regular(&k.path, MAX_RECORD)?;
            match records.iter().position(|e| e.name == k.name) {
                None => err(
                    Some(&k.name),
                    format!(
                        "in the kit's copy but not on the device: deleted{}",
                        if newest { " (the newest record)" } else { "" }
                    ),
                ),
                Some(i) if bytes[i] != kb => err(
                    Some(&k.name),
                    "differs from the kit's copy: edited on the device".into(),
                ),
                Some(_) => {}
            }
        }
    }

    findings.extend(unsigned.into_iter().map(|r| Finding {
        record: Some(r),
        level: Level::Warning,
        message: UNSIGNED_RECORD.into(),
    }));

    if let Some(kit) = kit_copy.filter(|k| !k.exists()) {
        findings.push(Finding {
            record: None,
            level: Level::Warning,
            message: format!(
                "the kit holds no copy of this device's records ({} is missing)",
                kit.display()
            ),
        });
    }

    // The state file's idea of the newest record (the device's admin can edit it too: a hint only).
    if dir.file_name().is_some_and(|n| n == "records") {
        if let Some(state_dir) = dir.parent() {
            if let Ok(state) = crate::evidence::record::State::load(state_dir) {
                if let Some(last) = state.last_record.as_deref() {
                    if hashes.last().map(String::as_str) != Some(last) {
                        match by_hash.get(last) {
                            Some(r) => findings.push(Finding {
                                record: Some(r.to_string()),
                                level: Level::Warning,
                                message: "state.json names this as the newest record, but later ones follow (a run interrupted before it saved its state?)".into(),
                            }),
                            None => findings.push(Finding {
                                record: records.last().map(|e| e.name.clone()),
                                level: Level::Error,
                                message: format!("state.json's newest record ({last}) is not here: the newest record was deleted or edited"),
                            }),
                        }
                    }
                }
            }
        }
    }

    if records.is_empty() {
        findings.push(Finding {
            record: None,
            level: Level::Error,
            message: "no records: nothing to verify".into(),
        });
    }
    if keys.is_empty() {
        findings.push(Finding {
            record: None,
            level: Level::Warning,
            message: UNSIGNED.into(),
        });
    }
    Ok(Verification {
        records: records.iter().map(|e| e.name.clone()).collect(),
        dir,
        keys: key_hex,
        kit_copy: kit_copy.map(Path::to_path_buf),
        device_key_only: false,
        findings,
    })
}

/// The public key to verify with when none is given: the kit's. Never the device's own
/// `STATE/records.pub`, which the device's administrator could replace along with the records (F5).
pub fn default_pubkey(kit: Option<&Path>) -> Option<PathBuf> {
    kit.map(kit_pubkey_path).filter(|p| p.exists())
}

// ---------------------------------------------------------------------------------------------
// Diff

fn load_report(path: &Path) -> Result<(Value, Value)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a handover record or report", path.display()))?;
    let report = doc.get("report").cloned().unwrap_or_else(|| doc.clone());
    if !report.get("controls").is_some_and(Value::is_array) {
        bail!(
            "{}: not a handover record or report (no controls)",
            path.display()
        );
    }
    Ok((doc, report))
}

fn side(path: &Path, doc: &Value, r: &Value) -> Value {
    let digest = doc
        .get("profile_digest")
        .cloned()
        .unwrap_or_else(|| r["profile"]["digest"].clone());
    json!({
        "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "mode": r["mode"],
        "scope": r["scope"],
        "finished_at": r["finished_at"],
        "device": {"hostname": r["device"]["hostname"], "serial": r["device"]["serial"]},
        "os": r["device"]["os"],
        "profile": {"name": r["profile"]["name"], "digest": digest},
        "summary": r["summary"],
    })
}

fn statuses(r: &Value) -> Vec<(String, String)> {
    r["controls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or("?").to_string(),
                c["status"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

/// What changed from record (or report) `a` to `b`, as JSON: `before` and `after` (file, mode, time,
/// device, OS, profile and digest, summary), `os_changed`, `profile_changed`, and the controls `changed`
/// (`{id, before, after}`), `added` and `removed` (`{id, status}`).
pub fn diff_json(a: &Path, b: &Path) -> Result<Value> {
    let (da, ra) = load_report(a)?;
    let (db, rb) = load_report(b)?;
    let before = side(a, &da, &ra);
    let after = side(b, &db, &rb);
    let sa = statuses(&ra);
    let sb = statuses(&rb);
    let ma: BTreeMap<&str, &str> = sa.iter().map(|(i, s)| (i.as_str(), s.as_str())).collect();
    let mb: BTreeMap<&str, &str> = sb.iter().map(|(i, s)| (i.as_str(), s.as_str())).collect();
    let mut changed = Vec::new();
    let mut added = Vec::new();
    for (id, s) in &sb {
        match ma.get(id.as_str()) {
            Some(old) if old != s => changed.push(json!({"id": id, "before": old, "after": s})),
            Some(_) => {}
            None => added.push(json!({"id": id, "status": s})),
        }
    }
    let removed: Vec<Value> = sa
        .iter()
        .filter(|(id, _)| !mb.contains_key(id.as_str()))
        .map(|(id, s)| json!({"id": id, "status": s}))
        .collect();
    Ok(json!({
        "os_changed": before["os"] != after["os"],
        "profile_changed": before["profile"] != after["profile"],
        "device_changed": before["device"] != after["device"],
        "changed": changed,
        "added": added,
        "removed": removed,
        "before": before,
        "after": after,
    }))
}

/// The OS as the diff shows it: its name with its version (build) unless the name already has it, so
/// an upgrade whose name does not change ("Windows 11 Pro", 22631 → 26100) still shows.
fn os_name(os: &Value) -> String {
    let version = os["version"].as_str().unwrap_or("");
    match os["name"].as_str() {
        Some(n) if !n.is_empty() && (version.is_empty() || n.contains(version)) => n.to_string(),
        Some(n) if !n.is_empty() => format!("{n} {version}"),
        _ => format!("{} {version}", os["id"].as_str().unwrap_or("?")),
    }
}

fn summary_line(s: &Value) -> String {
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    format!(
        "{} pass, {} fixed, {} fail, {} error, {} manual, {} waived, {} not applicable ({})",
        n("pass"),
        n("fixed"),
        n("fail"),
        n("error"),
        n("manual"),
        n("waived"),
        n("not_applicable"),
        match s["compliant"].as_bool() {
            Some(true) => "compliant",
            Some(false) => "not compliant",
            None => "partial",
        }
    )
}

/// [`diff_json`] as a technician reads it.
pub fn diff(a: &Path, b: &Path) -> Result<String> {
    let d = diff_json(a, b)?;
    let (be, af) = (&d["before"], &d["after"]);
    let s = |v: &Value| v.as_str().unwrap_or("?").to_string();
    let mut out = String::new();
    for (label, x) in [("before", be), ("after ", af)] {
        out.push_str(&format!(
            "{label}: {} ({} {}, {})\n",
            s(&x["file"]),
            s(&x["mode"]),
            s(&x["scope"]),
            s(&x["finished_at"])
        ));
    }
    if d["device_changed"] == true {
        out.push_str(&format!(
            "device: {} ({}) → {} ({})\n",
            s(&be["device"]["hostname"]),
            s(&be["device"]["serial"]),
            s(&af["device"]["hostname"]),
            s(&af["device"]["serial"])
        ));
    }
    if d["os_changed"] == true {
        out.push_str(&format!(
            "OS: {} → {}\n",
            os_name(&be["os"]),
            os_name(&af["os"])
        ));
    } else {
        out.push_str(&format!("OS: {} (unchanged)\n", os_name(&af["os"])));
    }
    let prof = |x: &Value| {
        format!(
            "{} {}",
            s(&x["profile"]["name"]),
            s(&x["profile"]["digest"])
        )
    };
    if d["profile_changed"] == true {
        out.push_str(&format!("profile: {} → {}\n", prof(be), prof(af)));
    } else {
        out.push_str(&format!("profile: {} (unchanged)\n", prof(af)));
    }
    let list = |k: &str| d[k].as_array().cloned().unwrap_or_default();
    let (changed, added, removed) = (list("changed"), list("added"), list("removed"));
    if changed.is_empty() {
        out.push_str("no control changed status\n");
    } else {
        out.push_str("changed:\n");
        for c in &changed {
            out.push_str(&format!(
                "  {}: {} → {}\n",
                s(&c["id"]),
                s(&c["before"]),
                s(&c["after"])
            ));
        }
    }
    if !added.is_empty() {
        out.push_str("added:\n");
        for c in &added {
            out.push_str(&format!("  {}: {}\n", s(&c["id"]), s(&c["status"])));
        }
    }
    if !removed.is_empty() {
        out.push_str("removed:\n");
        for c in &removed {
            out.push_str(&format!("  {}: was {}\n", s(&c["id"]), s(&c["status"])));
        }
    }
    out.push_str(&format!(
        "summary before: {}\n",
        summary_line(&be["summary"])
    ));
    out.push_str(&format!(
        "summary after:  {}\n",
        summary_line(&af["summary"])
    ));
    Ok(out)
}
