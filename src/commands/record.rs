//! `handover record show | verify | diff | sign | …`: the records a run leaves.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::args::*;
use crate::commands::kit::kit_device_dir;
use crate::commands::write_out;
use crate::evidence::record::{self, State};
use crate::inputs::profile::{self};
use crate::inputs::site::Site;
use crate::support::error::{Exit, InputError};
use crate::support::perms;

pub(crate) fn record_action(action: RecordAction) -> Result<Exit> {
    let state_dir = crate::support::dirs::state_dir();
    let state = State::load(&state_dir).unwrap_or_default();
    match action {
        RecordAction::Show { file, format, out } => record_show(file, format, out.as_deref()),
        RecordAction::Verify {
            dir,
            pubkey,
            kit,
            asset,
            allow_unsigned,
            format,
        } => record_verify(
            &state_dir,
            dir,
            pubkey,
            kit.as_deref(),
            asset,
            allow_unsigned,
            format,
        ),
        RecordAction::Diff { a, b, format } => record_diff(&state_dir, &a, &b, format),
        RecordAction::Export { kit, asset } => record_export(&state_dir, &kit, asset),
        RecordAction::Import { kit, asset } => record_import(&state_dir, state, &kit, asset),
    }
}

/// `record verify`: the chain in `dir` (the device's records by default), against `pubkey`, the kit's key
/// or none, and against the kit's copy of this device's records when a kit is given.
fn record_verify(
    state_dir: &Path,
    dir: Option<PathBuf>,
    pubkey: Option<PathBuf>,
    kit: Option<&Path>,
    asset: Option<String>,
    allow_unsigned: bool,
    format: Format,
) -> Result<Exit> {
    let dir = dir.unwrap_or_else(|| state_dir.join("records"));
    let key = pubkey.or_else(|| crate::evidence::signing::default_pubkey(kit));
    let kit_copy = match kit {
        Some(k) => Some(kit_device_dir(
            k,
            asset,
            &crate::evidence::store::records_dir_of(&dir),
        )?),
        None => None,
    };
    let mut v = crate::evidence::signing::verify(&dir, key.as_deref(), kit_copy.as_deref())?;
    if key.is_none() && crate::evidence::signing::device_pubkey_path(state_dir).is_file() {
        // F5: the device's own key proves nothing against the device's administrator.
        v.device_key_only = true;
        for f in &mut v.findings {
            if f.message == crate::evidence::signing::UNSIGNED {
                f.message = crate::evidence::signing::DEVICE_KEY.into();
            }
        }
    }
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        Format::Text => {
            match &key {
                Some(k) => println!("trusted key: {}", k.display()),
                None if v.device_key_only => println!(
                    "trusted key: none (the device's own {} is not trusted)",
                    crate::evidence::signing::device_pubkey_path(state_dir).display()
                ),
                None => println!("trusted key: none"),
            }
            print!("{}", crate::support::textsafe::terminal_safe(&v.text()));
        }
    }
    let ok = if allow_unsigned {
        v.ok_allowing_unsigned()
    } else {
        v.ok()
    };
    Ok(if ok { Exit::Ok } else { Exit::NotCompliant })
}

/// `record diff A B`: what changed between two of the device's records.
fn record_diff(state_dir: &Path, a: &str, b: &str, format: Format) -> Result<Exit> {
    let records = state_dir.join("records");
    let a = crate::evidence::store::resolve_record(&records, a)?;
    let b = crate::evidence::store::resolve_record(&records, b)?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&crate::evidence::diff::diff_json(&a, &b)?)?
        ),
        Format::Text => print!(
            "{}",
            crate::support::textsafe::terminal_safe(&crate::evidence::diff::diff(&a, &b)?)
        ),
    }
    Ok(Exit::Ok)
}

/// `record export --kit`: the device's records copied to its directory on the kit, unsigned.
fn record_export(state_dir: &Path, kit: &Path, asset: Option<String>) -> Result<Exit> {
    let records = state_dir.join("records");
    let dst = kit_device_dir(kit, asset, &records)?;
    let n = crate::evidence::transfer::export(&records, &dst)?;
    println!(
        "copied {n} file(s) to {}, signing nothing: only the record of a run with the kit present (`check --kit`, `apply --kit`) is signed",
        dst.display()
    );
    Ok(Exit::Ok)
}

/// `record import --kit`: the device's records back from the kit (a reinstalled device), so that the
/// next record continues the chain.
fn record_import(
    state_dir: &Path,
    mut state: State,
    kit: &Path,
    asset: Option<String>,
) -> Result<Exit> {
    let records = state_dir.join("records");
    perms::ensure_private_dir(state_dir)?;
    perms::ensure_private_dir(&records)?;
    let src = kit_device_dir(kit, asset, &records)?;
    let n = crate::evidence::transfer::import(
        &src,
        &records,
        crate::evidence::signing::default_pubkey(Some(kit)).as_deref(),
    )?;
    if state.last_record.is_none() {
        state.last_record = crate::evidence::store::chain_head(&records)?;
        state.save(state_dir)?;
    }
    println!(
        "copied {n} file(s) from the kit into {}; the next record continues the chain",
        records.display()
    );
    Ok(Exit::Ok)
}

/// The newest record of a full run in the state directory.
pub(crate) fn latest_full_record(state_dir: &Path) -> Result<PathBuf> {
    let dir = state_dir.join("records");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("no records in {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("-full.json"))
        .collect();
    names.sort();
    names
        .pop()
        .ok_or_else(|| InputError::Refused(format!("no full record in {}", dir.display())).into())
}

pub(crate) fn record_show(
    file: Option<PathBuf>,
    format: SheetFormat,
    out: Option<&Path>,
) -> Result<Exit> {
    let path = match file {
        Some(f) => f,
        None => latest_full_record(&crate::support::dirs::state_dir())?,
    };
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let rec: record::Record = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a handover record", path.display()))?;
    let site = Site::load(
        &crate::support::dirs::site_file(),
        false,
        &profile::control_ids(),
    )
    .ok();
    let ctx = crate::evidence::sheet::Context {
        organisation: site.as_ref().and_then(|s| s.file.organisation.name.clone()),
        service_desk: site
            .as_ref()
            .and_then(|s| s.file.organisation.service_desk.clone()),
        record_name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        record_sha256: crate::support::hashing::sha256_bytes(&bytes),
    };
    let text = match format {
        SheetFormat::Md => crate::evidence::sheet::markdown(&rec, &ctx),
        SheetFormat::Html => crate::evidence::sheet::html(&rec, &ctx),
        SheetFormat::Json => serde_json::to_string_pretty(&rec)? + "\n",
    };
    write_out(out, &text)?;
    Ok(Exit::Ok)
}
