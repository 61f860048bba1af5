//! The report that `check`, `plan` and `apply` share (SPEC §3), and its text form for a technician.

use std::io::IsTerminal;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::facts::Device;

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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub tool: Tool,
    pub mode: String,
    pub scope: String,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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

/// The report as a technician reads it: one line per control, then a summary.
pub fn text(r: &Report) -> String {
    text_with(r, color_enabled())
}

pub fn text_with(r: &Report, color: bool) -> String {
    let mut out = String::new();
    let partial = r.scope == "partial";
    out.push_str(&format!(
        "handover {} · profile {} · {} ({}){}\n",
        r.mode,
        r.profile.name,
        r.device.hostname,
        r.device.os.name,
        if partial { " · PARTIAL" } else { "" }
    ));
    let width = r.controls.iter().map(|c| c.id.len()).max().unwrap_or(0);
    for c in &r.controls {
        let label = match c.status {
            Status::Fail | Status::Error => c.status.as_str().to_uppercase(),
            s => s.as_str().to_string(),
        };
        let label = paint(c.status, &format!("{label:<14}"), color);
        let reason = c.reason.lines().next().unwrap_or("");
        out.push_str(&format!("  {label} {:<width$}  {reason}\n", c.id));
        if let Some(p) = &c.plan {
            out.push_str(&format!("  {:<14} {:<width$}  would: {p}\n", "", ""));
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
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}
