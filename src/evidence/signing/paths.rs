//! Where signing's files live (SPEC §7): the kit's key pair, the device's public key, a record's
//! detached signature and the kit's per-device directory. A leaf module: the signing code and the kit
//! transfer ([`crate::evidence::transfer`]) both use it, and it uses neither.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

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
