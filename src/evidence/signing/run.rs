//! Signing the present run: chaining the device's records to the kit's copy, the attestations signed
//! records carry, and `handover kit sign` for records left pending.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use super::keys::{install_device_pubkey, read_pubkeys, read_signing_key, PubkeyInstall};
use super::paths::{kit_key_path, kit_pubkey_path, sig_path};
use super::sign::{parse_sig, read_sig, sign_with, MAX_RECORD, MAX_SIG};
use super::verify::{verify, Finding, Level};
use crate::artifacts::kitkey::Passphrase;
use crate::evidence::store::{list_records, record_seq};
use crate::evidence::transfer::{device_dir_name, export, kit_dir_named, plan_copy};
use crate::support::hashing::sha256_bytes;
use crate::support::perms::read_regular;

/// The marker a run leaves in its kit directory when its record could not be signed on the device (no
/// passphrase was typed): `handover kit sign KIT` signs that record on the technician's own machine.
pub const PENDING: &str = "pending-signature";

/// The newest record of `dir` whose signature verifies with one of `keys`.
pub(crate) fn newest_signed(dir: &Path, keys: &[VerifyingKey]) -> Result<Option<String>> {
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
