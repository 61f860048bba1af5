//! Which kit directory is this device's, and copying records and signatures between the device and the
//! kit (`handover records export | import`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::evidence::signing::paths::{sanitize_asset, sig_path};
use crate::evidence::signing::sign::{MAX_RECORD, MAX_SIG};
use crate::evidence::signing::verify::verify;
use crate::evidence::store::list_records;
use crate::support::hashing::sha256_bytes;
use crate::support::perms::read_regular;

/// A serial number that names one machine, not a placeholder a firmware or a VM leaves.
pub(crate) fn usable_serial(serial: &str) -> Option<String> {
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
pub(crate) fn plan_copy(src: &Path, dst: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
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

pub(crate) fn copy_planned(plan: &[(PathBuf, PathBuf)]) -> Result<usize> {
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
        crate::support::fsutil::write_private(to, &bytes)?;
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
    crate::support::perms::ensure_private_dir(records_dir)?;
    copy_planned(&plan)
}
