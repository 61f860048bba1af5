//! One record's detached ed25519 signature: `RECORD.json.sig`, written and parsed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{json, Value};

use super::paths::sig_path;
use crate::support::hashing::{hex, sha256_bytes, unhex};
use crate::support::perms::read_regular;

pub(crate) fn sig_json(key: &VerifyingKey, sig: &Signature, bytes: &[u8]) -> Vec<u8> {
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
pub(crate) struct SigFile {
    pub(crate) alg: String,
    pub(crate) key: String,
    pub(crate) sig: Option<Signature>,
    pub(crate) sha256: String,
}

pub(crate) fn read_sig(path: &Path) -> Result<SigFile> {
    parse_sig(&read_regular(path, MAX_SIG)?)
}

pub(crate) fn parse_sig(bytes: &[u8]) -> Result<SigFile> {
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

pub(crate) fn sign_with(record_path: &Path, key: &SigningKey) -> Result<PathBuf> {
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
    crate::support::fsutil::write_private(&sp, &out)?;
    Ok(sp)
}

/// The largest record and signature file read (a record of 20 controls is about 30 KiB).
pub const MAX_RECORD: u64 = 16 * 1024 * 1024;
pub(crate) const MAX_SIG: u64 = 64 * 1024;
