//! `handover records diff`: what changed between two records, as text or JSON.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

pub(crate) fn load_report(path: &Path) -> Result<(Value, Value)> {
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

pub(crate) fn side(path: &Path, doc: &Value, r: &Value) -> Value {
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

pub(crate) fn statuses(r: &Value) -> Vec<(String, String)> {
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
pub(crate) fn os_name(os: &Value) -> String {
    let version = os["version"].as_str().unwrap_or("");
    match os["name"].as_str() {
        Some(n) if !n.is_empty() && (version.is_empty() || n.contains(version)) => n.to_string(),
        Some(n) if !n.is_empty() => format!("{n} {version}"),
        _ => format!("{} {version}", os["id"].as_str().unwrap_or("?")),
    }
}

pub(crate) fn summary_line(s: &Value) -> String {
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
