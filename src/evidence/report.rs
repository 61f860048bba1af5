//! The report that `check`, `plan` and `apply` share (SPEC §3), and its text form for a technician.

use std::io::IsTerminal;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::host::facts::Device;
use crate::support::textsafe::one_line;

/// A control's result (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    Fixed,
    Error,
    Waived,
    NotApplicable,
    Manual,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Fixed => "fixed",
            Status::Error => "error",
            Status::Waived => "waived",
            Status::NotApplicable => "not-applicable",
            Status::Manual => "manual",
        }
    }

    /// Whether this status keeps a device from being compliant.
    pub fn blocks_compliance(self) -> bool {
        matches!(self, Status::Fail | Status::Error | Status::Manual)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileRef {
    pub name: String,
    pub digest: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlReport {
    pub id: String,
    pub title: String,
    pub policy: String,
    pub status: Status,
    pub changed: bool,
    pub reason: String,
    pub observed: Value,
    pub duration_ms: u64,
    /// `plan`: what `apply` would change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The waiver that made it `waived`, or that expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Value>,
    /// `apply`: the change's output (redacted), kept for the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The technician's confirmation that made a `manual` control `pass`: `{by, at, text}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Value>,
    /// SPEC §2 time in state: since when (RFC 3339, UTC) the control has had this status, from the
    /// device's unbroken record chain. Absent in reports written before 2026-12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The framework requirements the control serves (`CE:…` for Cyber Essentials), from the profile
    /// data. Absent in reports written before 2026-12.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub fixed: usize,
    pub error: usize,
    pub waived: usize,
    pub not_applicable: usize,
    pub manual: usize,
    /// `null` for partial (`--only`) runs.
    pub compliant: Option<bool>,
}

/// What the run did: `plan`, `check` or `apply` (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Plan,
    Check,
    Apply,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Plan => "plan",
            Mode::Check => "check",
            Mode::Apply => "apply",
        }
    }
}

/// Whether the run covered every control (`full`) or only those of `--only` (`partial`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Full,
    Partial,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Full => "full",
            Scope::Partial => "partial",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub tool: Tool,
    pub mode: Mode,
    pub scope: Scope,
    pub profile: ProfileRef,
    pub device: Device,
    pub user: Option<String>,
    pub asset: Option<String>,
    pub ticket: Option<String>,
    pub technician: Option<String>,
    pub reason: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    pub controls: Vec<ControlReport>,
    pub summary: Summary,
    /// Set when a control waits for a reboot.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reboot_required: bool,
    /// What the technician should know that does not change a status: support ending within 90 days, no
    /// site file, no record written. Always serialized (an empty list when none); `default` reads records
    /// written before the field was.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// This device's release is newer than every profile of its distribution, and the profile that
    /// ran instead (SPEC §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untested_release: Option<crate::inputs::profile::UntestedRelease>,
    /// Where the controls' `since` come from: the record chain `unbroken`, `broken` or `missing`, and
    /// a note that says why (SPEC §2 time in state). Absent in reports written before 2026-12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_in_state: Option<TimeInState>,
}

impl Report {
    pub fn summarise(controls: &[ControlReport], partial: bool) -> Summary {
        let mut s = Summary::default();
        for c in controls {
            match c.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Fixed => s.fixed += 1,
                Status::Error => s.error += 1,
                Status::Waived => s.waived += 1,
                Status::NotApplicable => s.not_applicable += 1,
                Status::Manual => s.manual += 1,
            }
        }
        let ok = !controls.iter().any(|c| c.status.blocks_compliance());
        s.compliant = if partial { None } else { Some(ok) };
        s
    }

    /// Whether any control keeps the device from compliance (also for partial runs).
    pub fn any_blocking(&self) -> bool {
        self.controls.iter().any(|c| c.status.blocks_compliance())
    }
}

fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

fn paint(status: Status, text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match status {
        Status::Pass | Status::Fixed => "32",
        Status::Fail | Status::Error => "31;1",
        Status::Manual | Status::Waived => "33",
        Status::NotApplicable => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// What a control's line adds after its reason, only where it helps: since when a failing control has
/// failed, and the Cyber Essentials items that a blocking control leaves unmet.
fn suffix(c: &ControlReport, now: &str) -> String {
    let mut parts = Vec::new();
    if let Some(s) = failing_since(c.status, c.since.as_deref(), now) {
        parts.push(s);
    }
    // A waived control's reason already says which items the waiver does not excuse.
    if c.status.blocks_compliance() {
        let ce = crate::inputs::frameworks::ce_items(&c.frameworks);
        if !ce.is_empty() {
            parts.push(ce.join(" "));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        one_line(&format!(" ({})", parts.join("; "))).into_owned()
    }
}

/// The report as a technician reads it: one line per control, then a summary.
pub fn text(r: &Report) -> String {
    text_with(r, color_enabled())
}

/// Every string shown goes through [`one_line`]: hostnames, OS names, reasons and warnings can come
/// from the device (a script's output, `/etc/os-release`), and their control characters must not drive
/// the technician's terminal (F18). Only the colours added here are escape sequences.
pub fn text_with(r: &Report, color: bool) -> String {
    let mut out = String::new();
    let partial = r.scope == Scope::Partial;
    out.push_str(&format!(
        "handover {} · profile {} · {} ({}){}\n",
        one_line(r.mode.as_str()),
        one_line(&r.profile.name),
        one_line(&r.device.hostname),
        one_line(&r.device.os.name),
        if partial { " · PARTIAL" } else { "" }
    ));
    let width = r.controls.iter().map(|c| c.id.len()).max().unwrap_or(0);
    for c in &r.controls {
        let label = match c.status {
            Status::Fail | Status::Error => c.status.as_str().to_uppercase(),
            s => s.as_str().to_string(),
        };
        let label = paint(c.status, &format!("{label:<14}"), color);
        let reason = one_line(c.reason.lines().next().unwrap_or(""));
        out.push_str(&format!(
            "  {label} {:<width$}  {reason}{}\n",
            one_line(&c.id),
            suffix(c, &r.started_at)
        ));
        if let Some(p) = &c.plan {
            out.push_str(&format!(
                "  {:<14} {:<width$}  would: {}\n",
                "",
                "",
                one_line(p)
            ));
        }
    }
    let s = &r.summary;
    let verdict = match s.compliant {
        Some(true) => "COMPLIANT".to_string(),
        Some(false) => "NOT COMPLIANT".to_string(),
        None => "PARTIAL run: no verdict on the whole device".to_string(),
    };
    out.push_str(&format!(
        "{} pass, {} fixed, {} fail, {} error, {} manual, {} waived, {} not applicable: {verdict}{}\n",
        s.pass,
        s.fixed,
        s.fail,
        s.error,
        s.manual,
        s.waived,
        s.not_applicable,
        if r.reboot_required { " (reboot required)" } else { "" }
    ));
    for w in &r.warnings {
        let label = if color {
            "\x1b[33;1mWARNING:\x1b[0m"
        } else {
            "WARNING:"
        };
        out.push_str(&format!("{label} {}\n", one_line(w)));
    }
    out
}

/// The state of the record chain that `since` was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Chain {
    /// Carried from the newest record, whose hash `state.json` names.
    Unbroken,
    /// The chain does not hold: every `since` (or those not reached) restarts at this run.
    Broken,
    /// No earlier record (a first run), or none readable: every `since` is this run.
    Missing,
}

/// The report's account of where its `since` values come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeInState {
    pub chain: Chain,
    pub note: String,
}

/// "failing since 2026-11-02, 33 days" for a control that fails or errs, from its `since`.
pub fn failing_since(status: Status, since: Option<&str>, now: &str) -> Option<String> {
    let word = match status {
        Status::Fail => "failing",
        Status::Error => "in error",
        _ => return None,
    };
    let since = since?;
    if since == now {
        return Some(format!("{word} since this run"));
    }
    let day = since.get(..10).unwrap_or(since);
    Some(
        match crate::support::clock::days_between_times(since, now)? {
            1 => format!("{word} since {day}, 1 day"),
            n => format!("{word} since {day}, {n} days"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_and_scope_are_written_as_the_strings_of_spec_section_3() {
        for m in [Mode::Plan, Mode::Check, Mode::Apply] {
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.as_str())
            );
        }
        assert_eq!(
            serde_json::to_string(&Scope::Partial).unwrap(),
            "\"partial\""
        );
        assert_eq!(
            serde_json::from_str::<Scope>("\"full\"").unwrap(),
            Scope::Full
        );
        assert!(serde_json::from_str::<Mode>("\"fix\"").is_err());
    }
    use crate::host::facts::Os;

    fn report(warnings: Vec<String>) -> Report {
        Report {
            tool: Tool {
                name: "handover".into(),
                version: "0".into(),
            },
            mode: Mode::Check,
            scope: Scope::Full,
            profile: ProfileRef {
                name: "debian-12".into(),
                digest: "sha256:0".into(),
            },
            device: Device {
                hostname: "pc1".into(),
                serial: "S1".into(),
                model: "M".into(),
                os: Os {
                    family: "linux".into(),
                    id: "debian".into(),
                    version: "12".into(),
                    name: "Debian GNU/Linux 12 (bookworm)".into(),
                    id_like: Vec::new(),
                },
            },
            user: None,
            asset: None,
            ticket: None,
            technician: None,
            reason: None,
            started_at: "2026-11-25T10:00:00Z".into(),
            finished_at: "2026-11-25T10:00:01Z".into(),
            controls: Vec::new(),
            summary: Report::summarise(&[], false),
            reboot_required: false,
            warnings,
            untested_release: None,
            time_in_state: None,
        }
    }

    #[test]
    fn warnings_are_always_in_the_json() {
        let j = serde_json::to_value(report(Vec::new())).unwrap();
        assert_eq!(j["warnings"], serde_json::json!([]));
        let w = "Debian 12: security support ends on 2028-06-30 (in 45 days); plan the upgrade";
        let j = serde_json::to_value(report(vec![w.into()])).unwrap();
        assert_eq!(j["warnings"], serde_json::json!([w]));
        // Records written before the field existed still read.
        let mut old = j.clone();
        old.as_object_mut().unwrap().remove("warnings");
        let back: Report = serde_json::from_value(old).unwrap();
        assert!(back.warnings.is_empty());
    }

    #[test]
    fn f18_text_report_strips_control_characters_from_device_strings() {
        let mut r = report(vec!["w\x1b]52;c;Y2xpcA==\x07 next\nline".into()]);
        r.device.hostname = "h\x1b]0;PWNED-TITLE\x07\x1b[2Jcleared".into();
        r.device.os.name = "Debian\u{9b}8m".into();
        let t = text_with(&r, false);
        assert!(
            !t.contains('\x1b') && !t.contains('\x07') && !t.contains('\u{9b}'),
            "{t:?}"
        );
        assert!(t.contains("h]0;PWNED-TITLE[2Jcleared (Debian8m)"), "{t}");
        assert!(t.contains("WARNING: w]52;c;Y2xpcA== next line\n"), "{t}");
        // The colours handover adds are its only escape sequences.
        assert!(text_with(&r, true).contains("\x1b[33;1mWARNING:\x1b[0m w]52"));
    }

    #[test]
    fn text_shows_one_warning_line_each() {
        let t = text_with(&report(vec!["first".into(), "second".into()]), false);
        let lines: Vec<&str> = t.lines().filter(|l| l.starts_with("WARNING:")).collect();
        assert_eq!(lines, ["WARNING: first", "WARNING: second"]);
        assert!(!text_with(&report(Vec::new()), false).contains("WARNING"));
    }
}
