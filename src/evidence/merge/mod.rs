//! `report merge FILES... --format csv|html`: one row per device from many JSON reports (or records),
//! for a fleet audit: every column as CSV ([`csv`]), or a page an IT lead reads at a glance ([`html`]). Collecting the reports is left to the fleet tool a university already runs (see
//! `contrib/ansible/`).

mod csv;
mod page;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::evidence::report::{ControlReport, Report};

pub use csv::csv;
pub use page::html;

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

/// A device's failing controls, in the terms the fleet page and the CSV share: what fails, since when,
/// which Cyber Essentials requirements it touches, and how old its oldest waiting update is.
#[derive(Debug)]
pub(crate) struct Failing<'a> {
    /// The controls that keep the device from compliance (`fail`, `error`, `manual`; SPEC §2).
    pub(crate) controls: Vec<&'a ControlReport>,
    /// The oldest `since` of those controls, as written and in seconds since the epoch; `None` when no
    /// failing control has a readable one (reports written before `since` existed).
    pub(crate) oldest_since: Option<(&'a str, i64)>,
    /// The framework requirements (`CE:…`) the failing controls serve, sorted, each once.
    pub(crate) frameworks: Vec<&'a str>,
    /// `updates.pending`'s `observed.oldest_pending_days` and `observed.max_age_days`, when reported.
    pub(crate) oldest_pending_days: Option<u64>,
    pub(crate) max_age_days: Option<u64>,
}

/// Cyber Essentials' window: security updates within 14 days of release; the fleet page also holds a
/// control failing for longer than this past it, and calls a report older than this stale.
pub const WINDOW_DAYS: i64 = 14;

/// Seconds since the epoch of an RFC 3339 time; `None` when it does not parse (a hostile or damaged
/// report must not stop the merge).
pub(crate) fn epoch_of(t: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(t).ok()?;
    Some(crate::support::clock::epoch(t) as i64)
}

impl<'a> Failing<'a> {
    pub(crate) fn of(r: &'a Report) -> Self {
        let controls: Vec<&ControlReport> = r
            .controls
            .iter()
            .filter(|c| c.status.blocks_compliance())
            .collect();
        let oldest_since = controls
            .iter()
            .filter_map(|c| {
                let s = c.since.as_deref()?;
                Some((s, epoch_of(s)?))
            })
            .min_by_key(|&(_, e)| e);
        let mut frameworks: Vec<&str> = controls
            .iter()
            .flat_map(|c| c.frameworks.iter().map(String::as_str))
            .collect();
        frameworks.sort_unstable();
        frameworks.dedup();
        let pending = r.controls.iter().find(|c| c.id == "updates.pending");
        let observed = |key: &str| pending.and_then(|c| c.observed.get(key)?.as_u64());
        Failing {
            controls,
            oldest_since,
            frameworks,
            oldest_pending_days: observed("oldest_pending_days"),
            max_age_days: observed("max_age_days"),
        }
    }

    /// Whether the oldest waiting security update is older than the site allows (SPEC §2: the site's
    /// `max_age_days`, 14 when the report does not say).
    pub(crate) fn updates_past_window(&self) -> bool {
        self.oldest_pending_days
            .is_some_and(|d| d > self.max_age_days.unwrap_or(WINDOW_DAYS as u64))
    }
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
        assert_eq!(csv::csv_cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert!(
            out.contains(",\"no\",\"0\",\"0\",\"1\",\"0\",\"0\",\"0\",\"firewall.enabled\","),
            "{out}"
        );
        let now = humantime::parse_rfc3339("2026-11-21T10:00:00Z").unwrap();
        let page = html(&rows, now);
        assert!(
            page.contains("NOT COMPLIANT: 1 of 2 devices compliant (50%)")
                && !page.contains("<script"),
            "{page}"
        );
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
