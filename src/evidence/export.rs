//! The report in the forms that others read (SPEC §3, `check --format junit|html`): JUnit XML for CI
//! dashboards, and one self-contained HTML page for a user or an auditor.
//!
//! Both are pure functions of a [`Report`]: no clock, no environment, so the same report always gives the
//! same bytes. Neither adds anything the report does not hold, so the site's secrets, which reports only
//! ever carry as placeholders, cannot appear in them.

use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use serde_json::{json, Value};

use crate::evidence::report::{ControlReport, Report, Status};
use crate::inputs::profile::Sources;

/// The HTML report's template, under `templates/` (so `--templates-dir` overrides it like any other).
pub const HTML_TEMPLATE: &str = "report/report.html.hbs";

// ---------------------------------------------------------------------------------------------------
// JUnit XML

/// The report as JUnit XML: one `<testsuite>` for the profile, one `<testcase>` per control.
///
/// - `fail` gives `<failure>`, `error` gives `<error>`, each with the reason as its message and the ITP07
///   reference, reason and observed evidence as its text;
/// - `not-applicable`, `waived` and `manual` give `<skipped>`;
/// - `pass` and `fixed` give a bare testcase.
///
/// The layout follows the Ant JUnit schema (`properties`, the testcases, then `system-out` and
/// `system-err`), which Jenkins, GitLab and the other dashboards read.
pub fn junit(report: &Report) -> String {
    let (mut failures, mut errors, mut skipped) = (0usize, 0usize, 0usize);
    for c in &report.controls {
        match c.status {
            Status::Fail => failures += 1,
            Status::Error => errors += 1,
            Status::NotApplicable | Status::Waived | Status::Manual => skipped += 1,
            Status::Pass | Status::Fixed => {}
        }
    }
    let tests = report.controls.len();
    let total_ms: u64 = report.controls.iter().map(|c| c.duration_ms).sum();
    let time = seconds(total_ms);
    let suite = format!("handover {}", report.profile.name);

    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"handover\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" \
         skipped=\"{skipped}\" time=\"{time}\">"
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"{}\" id=\"0\" package=\"handover\" tests=\"{tests}\" failures=\"{failures}\" \
         errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time}\" timestamp=\"{}\" hostname=\"{}\">",
        xml_attr(&suite),
        xml_attr(&junit_timestamp(&report.started_at)),
        xml_attr(&report.device.hostname)
    );

    o.push_str("    <properties>\n");
    for (name, value) in properties(report) {
        let _ = writeln!(
            o,
            "      <property name=\"{}\" value=\"{}\"/>",
            xml_attr(name),
            xml_attr(&value)
        );
    }
    o.push_str("    </properties>\n");

    for c in &report.controls {
        let group = c.id.split('.').next().unwrap_or(&c.id);
        let _ = write!(
            o,
            "    <testcase classname=\"handover.{}\" name=\"{}: {}\" time=\"{}\"",
            xml_attr(group),
            xml_attr(&c.id),
            xml_attr(&c.title),
            seconds(c.duration_ms)
        );
        let props = testcase_properties(c);
        if props.is_empty() && matches!(c.status, Status::Pass | Status::Fixed) {
            o.push_str("/>\n");
            continue;
        }
        o.push_str(">\n");
        if !props.is_empty() {
            o.push_str("      <properties>\n");
            for (name, value) in props {
                let _ = writeln!(
                    o,
                    "        <property name=\"{}\" value=\"{}\"/>",
                    xml_attr(name),
                    xml_attr(&value)
                );
            }
            o.push_str("      </properties>\n");
        }
        match c.status {
            Status::Pass | Status::Fixed => o.push_str("    </testcase>\n"),
            Status::Fail => {
                let _ = writeln!(
                    o,
                    "      <failure message=\"{}\" type=\"fail\">{}</failure>\n    </testcase>",
                    xml_attr(&c.reason),
                    xml_text(&evidence(c))
                );
            }
            Status::Error => {
                let _ = writeln!(
                    o,
                    "      <error message=\"{}\" type=\"error\">{}</error>\n    </testcase>",
                    xml_attr(&c.reason),
                    xml_text(&evidence(c))
                );
            }
            Status::NotApplicable | Status::Waived | Status::Manual => {
                let message = match c.status {
                    Status::NotApplicable => format!("not applicable: {}", c.reason),
                    // The engine's reason already starts "waived until …" and names the CE items the
                    // waiver does not excuse; a report made elsewhere may not.
                    Status::Waived => waived_reason(c),
                    // A manual control is one handover could not read: it is not a pass, and it keeps
                    // the device from being compliant (Status::blocks_compliance), but nothing failed
                    // either. JUnit has no "unknown", so it is skipped, with a message that says a
                    // technician must confirm it; the suite's `compliant` property stays false.
                    _ => format!("manual: needs a technician: {}", c.reason),
                };
                let _ = writeln!(
                    o,
                    "      <skipped message=\"{}\"/>\n    </testcase>",
                    xml_attr(&message)
                );
            }
        }
    }

    o.push_str("    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n");
    o
}

/// A control's own properties: the framework requirements it serves (one `framework` each), and
/// since when it has had its status (SPEC §2).
fn testcase_properties(c: &ControlReport) -> Vec<(&'static str, String)> {
    let mut p: Vec<(&'static str, String)> = c
        .frameworks
        .iter()
        .map(|f| ("framework", f.clone()))
        .collect();
    if let Some(s) = &c.since {
        p.push(("since", s.clone()));
    }
    p
}

/// A waived control's reason, saying (once) which Cyber Essentials items the waiver does not excuse.
pub fn waived_reason(c: &ControlReport) -> String {
    let mut s = if c.reason.starts_with("waived") {
        c.reason.clone()
    } else {
        format!("waived: {}", c.reason)
    };
    if let Some(note) = crate::inputs::frameworks::waiver_note(&c.frameworks) {
        if !s.contains(&note) {
            s = format!("{s} ({note})");
        }
    }
    s
}

/// Facts about the run that are not a test: in `<properties>`, in a fixed order.
fn properties(r: &Report) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("tool.version", r.tool.version.clone()),
        ("mode", r.mode.as_str().to_string()),
        ("scope", r.scope.as_str().to_string()),
        ("profile", r.profile.name.clone()),
        ("profile.digest", r.profile.digest.clone()),
        ("device.hostname", r.device.hostname.clone()),
        ("device.serial", r.device.serial.clone()),
        ("device.model", r.device.model.clone()),
        ("os.name", r.device.os.name.clone()),
        ("os.id", r.device.os.id.clone()),
        ("os.version", r.device.os.version.clone()),
    ];
    for (k, v) in [
        ("user", &r.user),
        ("asset", &r.asset),
        ("ticket", &r.ticket),
        ("technician", &r.technician),
        ("reason", &r.reason),
    ] {
        if let Some(v) = v {
            p.push((k, v.clone()));
        }
    }
    p.push(("started_at", r.started_at.clone()));
    p.push(("finished_at", r.finished_at.clone()));
    p.push((
        "compliant",
        match r.summary.compliant {
            Some(true) => "true",
            Some(false) => "false",
            None => "partial",
        }
        .to_string(),
    ));
    if r.reboot_required {
        p.push(("reboot_required", "true".into()));
    }
    if let Some(t) = &r.time_in_state {
        p.push((
            "time_in_state",
            format!("{}: {}", chain_word(t.chain), t.note),
        ));
    }
    for w in &r.warnings {
        p.push(("warning", w.clone()));
    }
    p
}

fn chain_word(c: crate::evidence::report::Chain) -> &'static str {
    match c {
        crate::evidence::report::Chain::Unbroken => "unbroken",
        crate::evidence::report::Chain::Broken => "broken",
        crate::evidence::report::Chain::Missing => "missing",
    }
}

/// A failure's or error's text: the policy it breaks, why, and what was seen.
fn evidence(c: &ControlReport) -> String {
    let mut s = format!("{}\n{}\n", c.policy, c.reason);
    if let Some(plan) = &c.plan {
        let _ = writeln!(s, "apply would: {plan}");
    }
    let _ = write!(
        s,
        "observed: {}",
        serde_json::to_string_pretty(&c.observed).unwrap_or_default()
    );
    s
}

/// Milliseconds as JUnit's seconds, exactly: `1234` → `1.234`.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// JUnit's `timestamp` has no zone (the schema's pattern is `YYYY-MM-DDThh:mm:ss`); reports keep UTC
/// RFC 3339 (`…Z`), so the zone is dropped and the time stays UTC. Anything else is kept as it is.
fn junit_timestamp(t: &str) -> String {
    match humantime::parse_rfc3339(t) {
        Ok(at) => humantime::format_rfc3339_seconds(at)
            .to_string()
            .trim_end_matches('Z')
            .to_string(),
        Err(_) => t.to_string(),
    }
}

/// An XML attribute value (inside `"…"`): [`crate::plan::render::xml_escape`], which writes tabs and line
/// breaks as references (a parser would turn them into spaces) and replaces what XML cannot carry.
pub fn xml_attr(s: &str) -> String {
    crate::plan::render::xml_escape(s)
}

/// XML character data. A carriage return is a reference, or a parser would turn it into a newline.
pub fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if !crate::plan::render::xml_char_ok(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// HTML

/// The report as one self-contained HTML page (inline CSS, no external assets, no JavaScript), rendered
/// from `templates/report/report.html.hbs` with handlebars' HTML escaping in strict mode.
pub fn html(report: &Report, sources: &Sources) -> Result<String> {
    let template = sources.template(HTML_TEMPLATE).with_context(|| {
        format!(
            "template {HTML_TEMPLATE} not found{}",
            sources
                .templates_dir
                .as_ref()
                .map(|d| format!(" in {}", d.display()))
                .unwrap_or_default()
        )
    })?;
    // Control characters go too (F18): a page printed to a terminal must not drive it.
    crate::evidence::page::render(HTML_TEMPLATE, &template, html_value, &html_context(report))
}

/// handlebars' HTML escaping of a value, its control characters removed first.
fn html_value(s: &str) -> String {
    handlebars::html_escape(&crate::support::textsafe::terminal_safe(s))
}

/// Everything the template shows, already in words: the template only lays it out. Optional values are
/// `null` rather than absent, so strict mode still catches a misspelt name.
pub fn html_context(r: &Report) -> Value {
    let s = &r.summary;
    let partial = r.scope == crate::evidence::report::Scope::Partial;
    let (verdict, verdict_class) = match s.compliant {
        Some(true) => ("COMPLIANT", "ok"),
        Some(false) => ("NOT COMPLIANT", "bad"),
        None => ("PARTIAL run: no verdict on the whole device", "partial"),
    };
    let people: Vec<Value> = [
        ("User", &r.user),
        ("Asset tag", &r.asset),
        ("Ticket", &r.ticket),
        ("Technician", &r.technician),
        ("Reason", &r.reason),
    ]
    .into_iter()
    .filter_map(|(label, v)| v.as_ref().map(|v| json!({"label": label, "value": v})))
    .collect();
    let counts = [
        (Status::Pass, s.pass),
        (Status::Fixed, s.fixed),
        (Status::Fail, s.fail),
        (Status::Error, s.error),
        (Status::Manual, s.manual),
        (Status::Waived, s.waived),
        (Status::NotApplicable, s.not_applicable),
    ];
    let summary: Vec<Value> = counts
        .iter()
        .map(|(st, n)| json!({"label": label(*st), "class": st.as_str(), "count": n}))
        .collect();
    let controls: Vec<Value> = r
        .controls
        .iter()
        .map(|c| control_context(c, &r.started_at))
        .collect();
    json!({
        "tool": {"name": r.tool.name, "version": r.tool.version},
        "mode": r.mode,
        "scope": if partial { "PARTIAL (only some controls: no verdict on the whole device)" } else { "full" },
        "partial": partial,
        "profile": {"name": r.profile.name, "digest": r.profile.digest},
        "device": {
            "hostname": r.device.hostname,
            "serial": r.device.serial,
            "model": r.device.model,
        },
        "os": {
            "name": r.device.os.name,
            "family": r.device.os.family,
            "id": r.device.os.id,
            "version": r.device.os.version,
        },
        "people": people,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "verdict": verdict,
        "verdict_class": verdict_class,
        "reboot_required": r.reboot_required,
        "summary": summary,
        "total": r.controls.len(),
        "warnings": r.warnings,
        "time_in_state": r.time_in_state.as_ref().map(|t| json!({"chain": chain_word(t.chain), "note": t.note})),
        "controls": controls,
    })
}

/// A status as the page prints it: a word, so that it reads without colour (greyscale print).
fn label(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fixed => "FIXED",
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
        Status::Waived => "WAIVED",
        Status::NotApplicable => "N/A",
        Status::Manual => "MANUAL",
    }
}

fn control_context(c: &ControlReport, now: &str) -> Value {
    // SPEC §2 time in state: in words for a failing control, else the day its status began.
    let failing = crate::evidence::report::failing_since(c.status, c.since.as_deref(), now);
    let since_line = match (&failing, &c.since) {
        (None, Some(s)) => Some(format!(
            "{} since {}",
            c.status.as_str(),
            s.get(..10).unwrap_or(s)
        )),
        _ => None,
    };
    let observed = match &c.observed {
        Value::Null => Value::Null,
        Value::Object(m) if m.is_empty() => Value::Null,
        v => json!(serde_json::to_string_pretty(v).unwrap_or_default()),
    };
    json!({
        "id": c.id,
        "title": c.title,
        "policy": c.policy,
        "status": c.status.as_str(),
        "label": label(c.status),
        "changed": c.changed,
        "reason": c.reason,
        "observed": observed,
        "plan": c.plan,
        "output": c.output,
        "duration_ms": c.duration_ms,
        "waiver": c.waiver.as_ref().map(details),
        "frameworks": c.frameworks,
        "ce_waiver": (c.status == Status::Waived)
            .then(|| crate::inputs::frameworks::waiver_note(&c.frameworks))
            .flatten(),
        "failing_since": failing,
        "since_line": since_line,
        "attestation": c.attestation.as_ref().map(details),
    })
}

/// A waiver's or attestation's fields as `{label, value}` pairs, in the order the record has them.
fn details(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Array(
            m.iter()
                .map(|(k, v)| {
                    let value = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => "none".to_string(),
                        Value::Array(items) => items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(", "),
                        v => v.to_string(),
                    };
                    json!({"label": k.replace('_', " "), "value": value})
                })
                .collect(),
        ),
        v => json!([{"label": "details", "value": v.to_string()}]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping_keeps_every_character_or_replaces_what_xml_cannot_hold() {
        assert_eq!(
            xml_attr("<a href=\"x\">'&'\n\t"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&#10;&#9;"
        );
        assert_eq!(xml_text("a]]>b\r\n<c>"), "a]]&gt;b&#13;\n&lt;c&gt;");
        assert_eq!(xml_text("\u{1b}[31mred\u{0}"), "\u{FFFD}[31mred\u{FFFD}");
        assert_eq!(xml_attr("é ✓ 𝄞"), "é ✓ 𝄞");
    }

    #[test]
    fn junit_times_are_exact_seconds_and_timestamps_have_no_zone() {
        assert_eq!(seconds(0), "0.000");
        assert_eq!(seconds(1234), "1.234");
        assert_eq!(
            junit_timestamp("2026-11-25T10:00:00Z"),
            "2026-11-25T10:00:00"
        );
        assert_eq!(junit_timestamp("not a time"), "not a time");
    }
}
