//! What a report means for Cyber Essentials (auditors-evidence §7.2-7.3): the controls that would fail
//! a Cyber Essentials Plus assessor's sample of this device, for `record show`.
//!
//! A control counts when it serves a CE requirement and its status is `fail`, `error`, `manual` (the
//! assessor tests it themself, and handover could not show it) or `waived` (a waiver is the institution's
//! risk acceptance, not CE compliance); and `updates.pending` counts whenever its oldest waiting update is
//! past the window (`observed.oldest_pending_days` > `observed.max_age_days`), whatever its status.

use serde::Serialize;
use serde_json::Value;

use crate::evidence::report::{ControlReport, Report, Status};
use crate::inputs::frameworks::{ce_items, Frameworks};

/// One control that would fail the sample, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleFailure {
    pub id: String,
    pub status: Status,
    /// The CE requirements it leaves unmet (`CE:U5`).
    pub requirements: Vec<String>,
    /// Since when it has had this status, where the record says.
    pub since: Option<String>,
    pub why: String,
}

/// The CE requirements of `c`: its own, or for a record written before reports carried them (none of
/// its controls has any), the embedded mapping's.
fn requirements(c: &ControlReport, fallback: Option<&Frameworks>) -> Vec<String> {
    match fallback {
        Some(f) => f.of(&c.id),
        None => c.frameworks.clone(),
    }
    .into_iter()
    .filter(|r| !ce_items(std::slice::from_ref(r)).is_empty())
    .collect()
}

/// `updates.pending`'s oldest waiting update and the window, when the check reports both.
fn past_window(c: &ControlReport) -> Option<(u64, u64)> {
    let days = c
        .observed
        .get("oldest_pending_days")
        .and_then(Value::as_u64)?;
    let max = c.observed.get("max_age_days").and_then(Value::as_u64)?;
    (days > max).then_some((days, max))
}

/// The controls of `r` that would fail a Cyber Essentials Plus sample, in the report's order.
pub fn sample_failures(r: &Report) -> Vec<SampleFailure> {
    let old_record = r.controls.iter().all(|c| c.frameworks.is_empty());
    let fallback = old_record
        .then(|| crate::inputs::frameworks::load(&Default::default()).ok())
        .flatten();
    let mut out = Vec::new();
    for c in &r.controls {
        let reqs = requirements(c, fallback.as_ref());
        if reqs.is_empty() {
            continue;
        }
        let first_line = c.reason.lines().next().unwrap_or("").to_string();
        let window = (c.id == "updates.pending")
            .then(|| past_window(c))
            .flatten();
        let why = match (c.status, window) {
            (_, Some((days, max))) => format!(
                "the oldest waiting security update is {days} days old, past the {max}-day window"
            ),
            (Status::Waived, None) => format!(
                "waived: a waiver does not excuse Cyber Essentials {}",
                reqs.join(", ")
            ),
            (Status::Manual, None) => format!("not shown by handover: {first_line}"),
            (Status::Fail | Status::Error, None) => first_line,
            _ => continue,
        };
        out.push(SampleFailure {
            id: c.id.clone(),
            status: c.status,
            requirements: reqs,
            since: c.since.clone(),
            why,
        });
    }
    out
}

/// The line that follows the list: what a device record can and cannot say.
pub const CAVEAT: &str = "A device record prepares for the assessment; it is not the assessor's test. MFA on cloud services (CE:A6), third-party applications and browser extensions are outside what handover checks.";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(controls: Value) -> Report {
        serde_json::from_value(json!({
            "tool": {"name": "handover", "version": "0"}, "mode": "check", "scope": "full",
            "profile": {"name": "debian-12", "digest": "sha256:0"},
            "device": {"hostname": "h", "serial": "s", "model": "m",
                       "os": {"family": "linux", "id": "debian", "version": "12", "name": "Debian"}},
            "user": null, "asset": null, "ticket": null, "technician": null, "reason": null,
            "started_at": "2026-12-05T09:00:00Z", "finished_at": "2026-12-05T09:00:01Z",
            "controls": controls,
            "summary": {"pass": 0, "fail": 0, "fixed": 0, "error": 0, "waived": 0, "not_applicable": 0,
                        "manual": 0, "compliant": false}
        }))
        .unwrap()
    }

    fn c(id: &str, status: &str, frameworks: &[&str], observed: Value) -> Value {
        json!({"id": id, "title": id, "policy": "p", "status": status, "changed": false,
               "reason": format!("{id} reason\nmore"), "observed": observed, "duration_ms": 1,
               "frameworks": frameworks, "since": "2026-11-02T10:00:00Z"})
    }

    #[test]
    fn blocking_and_waived_ce_controls_and_updates_past_the_window_would_fail() {
        let r = report(json!([
            c("os.supported", "waived", &["CE:U1"], json!({})),
            c("firewall.enabled", "fail", &["CE:F1", "CE:F2"], json!({})),
            c("accounts.guest", "pass", &["CE:S2"], json!({})),
            c("disk.encryption", "fail", &[], json!({})),
            c("endpoint.protection", "manual", &["CE:M1"], json!({})),
            c(
                "updates.pending",
                "pass",
                &["CE:U5"],
                json!({"oldest_pending_days": 20, "max_age_days": 14})
            ),
            c("updates.automatic", "error", &["CE:U4"], json!({})),
        ]));
        let f = sample_failures(&r);
        let ids: Vec<&str> = f.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "os.supported",
                "firewall.enabled",
                "endpoint.protection",
                "updates.pending",
                "updates.automatic"
            ]
        );
        assert_eq!(
            f[0].why,
            "waived: a waiver does not excuse Cyber Essentials CE:U1"
        );
        assert_eq!(f[1].why, "firewall.enabled reason");
        assert_eq!(f[1].requirements, ["CE:F1", "CE:F2"]);
        assert!(f[3].why.contains("20 days old, past the 14-day window"));
        assert_eq!(f[1].since.as_deref(), Some("2026-11-02T10:00:00Z"));
    }

    #[test]
    fn updates_within_the_window_do_not_count_unless_failing() {
        let r = report(json!([
            c(
                "updates.pending",
                "pass",
                &["CE:U5"],
                json!({"oldest_pending_days": 3, "max_age_days": 14})
            ),
            c("firewall.enabled", "pass", &["CE:F1"], json!({})),
        ]));
        assert!(sample_failures(&r).is_empty());
    }

    #[test]
    fn a_record_from_before_the_mapping_uses_the_embedded_one() {
        let mut old = c("updates.pending", "fail", &[], json!({}));
        old.as_object_mut().unwrap().remove("frameworks");
        let r = report(json!([old]));
        let f = sample_failures(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirements, ["CE:U5"]);
    }
}
