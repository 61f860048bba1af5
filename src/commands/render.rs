//! `handover render`: every control's scripts written into a directory, with an index.

use std::path::Path;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::args::*;
use crate::cli::invocation::setup;
use crate::plan::missing_site_keys;
use crate::support::error::Exit;

pub(crate) fn render(common: &Common, out: &Path) -> Result<Exit> {
    let setup = setup(common, None)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut index = Vec::new();
    for p in &setup.resolved.controls {
        let missing = missing_site_keys(&p.control, &setup.resolved.site);
        let mut entry = serde_json::json!({"id": p.control.id, "kind": p.control.kind, "missing_site_keys": missing});
        for (what, text, name) in [
            ("check", p.scripts.check(), &p.control.check),
            ("apply", p.scripts.apply(), &p.control.apply),
        ] {
            if let (Some(text), Some(name)) = (text, name) {
                let ext = name.rsplit('.').next().unwrap_or("txt");
                let file = format!("{}.{what}.{ext}", p.control.id);
                std::fs::write(out.join(&file), text).with_context(|| format!("writing {file}"))?;
                entry[what] = serde_json::json!(file);
            }
        }
        let files = p.scripts.files();
        for (name, text) in files {
            let file = format!(
                "{}.{}",
                p.control.id,
                name.rsplit('/').next().unwrap_or(name)
            );
            std::fs::write(out.join(&file), text).with_context(|| format!("writing {file}"))?;
            entry["files"] = serde_json::json!(files.iter().map(|(n, _)| n).collect::<Vec<_>>());
        }
        if let Some(e) = p.scripts.render_error() {
            entry["render_error"] = serde_json::json!(e);
        }
        if let Some(r) = &p.control.reason {
            entry["reason"] = serde_json::json!(r);
        }
        index.push(entry);
    }
    let doc = serde_json::json!({
        "profile": setup.resolved.profile.name,
        "digest": setup.resolved.digest,
        "site": setup.resolved.site.describe(),
        "environment": "scripts read runtime values from HANDOVER_USER, HANDOVER_ADMIN_USER, HANDOVER_TODAY (YYYYMMDD), HANDOVER_NOW_EPOCH, HANDOVER_STATE_DIR, HANDOVER_MODE, HANDOVER_ARTIFACT_<NAME> and secrets from HANDOVER_SECRET_<KEY>",
        "controls": index,
    });
    std::fs::write(
        out.join("index.json"),
        serde_json::to_string_pretty(&doc)? + "\n",
    )?;
    let failed: Vec<String> = setup
        .resolved
        .controls
        .iter()
        .filter_map(|p| {
            p.scripts
                .render_error()
                .map(|e| format!("{}: {e}", p.control.id))
        })
        .collect();
    if !failed.is_empty() {
        return Err(anyhow::anyhow!(
            "templates failed to render (the rest is in {}):\n{}",
            out.display(),
            failed.join("\n")
        ));
    }
    println!(
        "rendered profile {} ({}) into {}",
        setup.resolved.profile.name,
        setup.resolved.digest,
        out.display()
    );
    Ok(Exit::Ok)
}

/// `handover render`: no user, kit or selection, every control of the profile.
pub(crate) fn render_command(
    profile: Option<String>,
    site: Option<PathBuf>,
    out: &Path,
    profiles_dir: Option<PathBuf>,
    templates_dir: Option<PathBuf>,
) -> Result<Exit> {
    let common = Common {
        profile,
        site,
        only: vec![],
        profiles_dir,
        templates_dir,
        user: None,
        kit: None,
        key_passphrase_file: None,
    };
    render(&common, out)
}
