//! `report merge --format csv`: one row per device, every column, for a spreadsheet or another tool.
//! Columns are only ever appended, so that sheets built on the old ones keep working.

use super::{Failing, Row};

const COLUMNS: [&str; 21] = [
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
    // Added 2026-12 (issue 16): since when the oldest failing control has failed (empty: unknown or
    // none failing), the framework requirements the failing controls serve, and the age in days of the
    // oldest waiting security update (empty when the report does not say).
    "failing_since",
    "failing_frameworks",
    "oldest_pending_days",
];

fn cells(row: &Row) -> Vec<String> {
    let r = &row.report;
    let s = &r.summary;
    let f = Failing::of(r);
    let bad: Vec<&str> = f.controls.iter().map(|c| c.id.as_str()).collect();
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
        f.oldest_since
            .map(|(s, _)| s.to_string())
            .unwrap_or_default(),
        f.frameworks.join(" "),
        f.oldest_pending_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
    ]
}

/// Every cell quoted (RFC 4180), without control characters, and never a formula (OWASP's advice on
/// CSV injection, with leading spaces, `;` locales and fullwidth `＝` covered): device names come
/// from the devices. See [`crate::support::textsafe::csv_cell`].
pub(super) fn csv_cell(s: &str) -> String {
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
