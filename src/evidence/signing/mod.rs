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

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
pub use ed25519_dalek::SigningKey;

pub use crate::artifacts::kitkey::Passphrase;
/// [`perms::read_regular`]: records, signatures and keys come from a device or a kit (F14, F15).
///
/// [`perms::read_regular`]: crate::support::perms::read_regular
pub use crate::support::perms::read_regular;

pub(crate) mod keys;
pub(crate) mod run;
pub(crate) mod sign;
pub(crate) mod verify;

pub use keys::*;
pub use run::*;
pub use sign::*;
pub use verify::*;
// The records on disk, the kit transfer and the diff are their own modules; these paths stay for the CLI
// and the tests.
pub use crate::evidence::diff::{diff, diff_json};
pub use crate::evidence::store::{chain_head, record_seq, records_dir_of, resolve_record};
pub use crate::evidence::transfer::{device_dir_name, export, import, kit_dir_named};

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
