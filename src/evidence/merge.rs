//! `report merge FILES... --format csv|html`: one row per device from many JSON reports (or records),
//! for a fleet audit. Collecting the reports is left to the fleet tool a university already runs (see
//! `contrib/ansible/`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::evidence::report::{Report, Status};
use crate::evidence::sheet::html_escape;

/// One device's newest report, and the file it came from.
#[derive(Debug)]
pub struct Row {
    pub file: PathBuf,
    pub report: Report,
    /// Reports of the same device that were older and left out.
    pub older: usize,
}

/// Read reports (`check --format json`) or records (`{"report": …}`), keeping each device's newest
/// full run (by serial, else hostname); partial runs only when a device has nothing else.
pub fn load(files: &[PathBuf]) -> Result<Vec<Row>> {
    let mut by_device: BTreeMap<String, Row> = BTreeMap::new();
    for f in files {
        let text = read_bounded(f)?;
        let mut v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", f.display()))?;
        drop(text);
        let inner = match v.get_mut("report") {
            Some(r) => r.take(),
            None => v,
        };
        let report: Report = serde_json::from_value(inner)
            .with_context(|| format!("{}: not a handover report or record", f.display()))?;
        let key = if report.device.serial.is_empty() || report.device.serial == "unknown" {
            format!("host:{}", report.device.hostname)
        } else {
            format!("serial:{}", report.device.serial)
        };
        let better = |old: &Report, new: &Report| {
            let rank = |r: &Report| {
                (
                    r.scope == crate::evidence::report::Scope::Full,
                    r.finished_at.clone(),
                )
            };
            rank(new) > rank(old)
        };
        match by_device.get_mut(&key) {
            Some(row) if better(&row.report, &report) => {
                let older = row.older + 1;
                *row = Row {
                    file: f.clone(),
                    report,
                    older,
                };
            }
            Some(row) => row.older += 1,
            None => {
                by_device.insert(
                    key,
                    Row {
                        file: f.clone(),
                        report,
                        older: 0,
                    },
                );
            }
        }
    }
    Ok(by_device.into_values().collect())
}

/// The largest report or record `report merge` reads. A record is tens of kilobytes (each change's
/// output is cut to 8000 bytes); parsing costs about 30 times the file's size in memory, so 16 MiB
/// keeps one file under about half a gigabyte.
pub const MAX_REPORT_BYTES: u64 = 16 << 20;

/// The text of a report file collected from a device: a regular file (not a symbolic link, FIFO or
/// device: a FIFO would hang the merge, `/dev/zero` would exhaust memory) of at most
/// [`MAX_REPORT_BYTES`], read as [`crate::support::perms::read_regular`] reads.
fn read_bounded(f: &Path) -> Result<String> {
    let bytes = crate::support::perms::read_regular(f, MAX_REPORT_BYTES)?;
    String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8 text", f.display()))
}

const COLUMNS: [&str; 18] = [
    "hostname",
    "serial",
    "asset",
    "user",
    "os",
    "profile",
    "mode",
    "scope",
    "finished_at",
    "compliant",
    "pass",
    "fixed",
    "fail",
    "error",
    "waived",
    "manual",
    "not_compliant_controls",
    "file",
];

fn cells(row: &Row) -> Vec<String> {
    let r = &row.report;
    let s = &r.summary;
    let bad: Vec<&str> = r
        .controls
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error | Status::Manual))
        .map(|c| c.id.as_str())
        .collect();
    vec![
        r.device.hostname.clone(),
        r.device.serial.clone(),
        r.asset.clone().unwrap_or_default(),
        r.user.clone().unwrap_or_default(),
        format!("{} {}", r.device.os.name, r.device.os.version),
        r.profile.name.clone(),
        r.mode.as_str().to_string(),
        r.scope.as_str().to_string(),
        r.finished_at.clone(),
        match s.compliant {
            Some(true) => "yes",
            Some(false) => "no",
            None => "partial",
        }
        .into(),
        s.pass.to_string(),
        s.fixed.to_string(),
        s.fail.to_string(),
        s.error.to_string(),
        s.waived.to_string(),
        s.manual.to_string(),
        bad.join(" "),
        row.file.display().to_string(),
    ]
}

/// Every cell quoted (RFC 4180), without control characters, and never a formula (OWASP's advice on
/// CSV injection, with leading spaces, `;` locales and fullwidth `＝` covered): device names come
/// from the devices. See [`crate::support::textsafe::csv_cell`].
fn csv_cell(s: &str) -> String {
    crate::support::textsafe::csv_cell(s)
}

pub fn csv(rows: &[Row]) -> String {
    let mut o = COLUMNS.map(csv_cell).join(",") + "\r\n";
    for row in rows {
        let line: Vec<String> = cells(row).iter().map(|c| csv_cell(c)).collect();
        o += &line.join(",");
        o += "\r\n";
    }
    o
}

pub fn html(rows: &[Row]) -> String {
    let mut o = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>handover fleet summary</title>\
         <style>body{font-family:system-ui,sans-serif;margin:1rem}table{border-collapse:collapse}\
         td,th{border:1px solid #999;padding:.2rem .4rem;text-align:left}.no{color:#a00;font-weight:bold}\
         .yes{color:#075e07}</style></head><body>\n",
    );
    let compliant = rows
        .iter()
        .filter(|r| r.report.summary.compliant == Some(true))
        .count();
    let _ = writeln!(
        o,
        "<h1>handover fleet summary</h1>\n<p>{} devices, {compliant} compliant.</p>\n<table><tr>",
        rows.len()
    );
    for c in COLUMNS {
        let _ = write!(o, "<th>{}</th>", html_escape(c));
    }
    o += "</tr>\n";
    for row in rows {
        let cells = cells(row);
        o += "<tr>";
        for (i, c) in cells.iter().enumerate() {
            if COLUMNS[i] == "compliant" {
                let _ = write!(o, "<td class=\"{0}\">{0}</td>", html_escape(c));
            } else {
                let _ = write!(o, "<td>{}</td>", html_escape(c));
            }
        }
        o += "</tr>\n";
    }
    o += "</table>\n</body></html>\n";
    o
}

/// The file names of `dir`'s JSON files, for `report merge DIR`.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(host: &str, serial: &str, finished: &str, compliant: bool, scope: &str) -> String {
        serde_json::json!({
            "tool": {"name": "handover", "version": "0.1.0"},
            "mode": "check", "scope": scope,
            "profile": {"name": "debian-12", "digest": "sha256:ab"},
            "device": {"hostname": host, "serial": serial, "model": "m",
                       "os": {"family": "linux", "id": "debian", "version": "12", "name": "Debian"}},
            "started_at": finished, "finished_at": finished,
            "controls": [{"id": "firewall.enabled", "title": "Firewall", "policy": "7.1.5",
                          "status": if compliant {"pass"} else {"fail"}, "changed": false,
                          "reason": "r", "observed": {}, "duration_ms": 1}],
            "summary": {"pass": compliant as usize, "fail": (!compliant) as usize, "fixed": 0, "error": 0,
                        "waived": 0, "not_applicable": 0, "manual": 0,
                        "compliant": if scope == "full" { serde_json::json!(compliant) } else { serde_json::Value::Null }},
            "warnings": []
        })
        .to_string()
    }

    #[test]
    fn one_row_per_device_the_newest_full_run_and_csv_cells_are_safe() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: String| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let files = vec![
            w(
                "a1.json",
                report("lab-01", "SN1", "2026-11-01T10:00:00Z", false, "full"),
            ),
            w(
                "a2.json",
                report("lab-01", "SN1", "2026-11-20T10:00:00Z", true, "full"),
            ),
            w(
                "a3.json",
                report("lab-01", "SN1", "2026-11-24T10:00:00Z", false, "partial"),
            ),
            w(
                "b.json",
                format!(
                    "{{\"record_version\":1,\"report\":{}}}",
                    report(
                        "=cmd|' /C calc'!A0",
                        "SN2",
                        "2026-11-02T10:00:00Z",
                        false,
                        "full"
                    )
                ),
            ),
        ];
        let rows = load(&files).unwrap();
        assert_eq!(rows.len(), 2);
        let lab = rows
            .iter()
            .find(|r| r.report.device.serial == "SN1")
            .unwrap();
        assert_eq!(lab.report.finished_at, "2026-11-20T10:00:00Z");
        assert_eq!(lab.older, 2);
        let out = csv(&rows);
        assert!(out.starts_with("\"hostname\",\"serial\","));
        assert!(
            out.contains("\r\n\"'=cmd|' /C calc'!A0\",\"SN2\","),
            "{out}"
        );
        assert_eq!(csv_cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert!(
            out.contains(",\"no\",\"0\",\"0\",\"1\",\"0\",\"0\",\"0\",\"firewall.enabled\","),
            "{out}"
        );
        let page = html(&rows);
        assert!(page.contains("2 devices, 1 compliant") && !page.contains("<script"));
        let e = load(&[w("bad.json", "{\"x\":1}".into())])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.json: not a handover report or record"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn f17_merge_reads_only_regular_files_of_bounded_size() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.json");
        std::fs::write(
            &good,
            report("lab-01", "SN1", "2026-11-01T10:00:00Z", true, "full"),
        )
        .unwrap();
        let refused = |p: &Path| load(&[p.to_path_buf()]).unwrap_err().to_string();
        // A FIFO would block the merge forever.
        let fifo = dir.path().join("fifo.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(refused(&fifo).contains("not a regular file"));
        // A symbolic link to /dev/zero would exhaust memory; any link is refused.
        let zero = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(refused(&zero).contains("symbolic link"));
        assert!(refused(Path::new("/dev/null")).contains("not a regular file"));
        // A file larger than any report is refused before it is read.
        let big = dir.path().join("big.json");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_REPORT_BYTES + 1).unwrap();
        assert!(refused(&big).contains("more than the"), "{}", refused(&big));
        assert_eq!(load(&[good]).unwrap().len(), 1);
    }
}
