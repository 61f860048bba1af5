//! The handover sheet (`record show --format md|html`): what the user keeps and an auditor reads. It is
//! made from a record (the latest full one by default): the device, who and why, each control with its
//! evidence, attestations and waivers, the user's duties under ITP07 and the acceptance text of its
//! Appendix B for the user to send.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::evidence::record::Record;
use crate::evidence::report::{ControlReport, Report};

/// What the sheet says beyond the record: from the site, when one is there.
#[derive(Debug, Default, Clone)]
pub struct Context {
    pub organisation: Option<String>,
    pub service_desk: Option<String>,
    /// The record file's name and sha256, so the sheet names exactly what it was made from.
    pub record_name: String,
    pub record_sha256: String,
}

/// ITP07 Appendix B, verbatim: the user sends it to accept the device.
pub const ACCEPTANCE: [&str; 2] = [
    "I acknowledge and agree to comply with the proper use of the self-managed device to conduct University work as detailed in this policy document and other documents listed in the reference section of this document and agree to the terms and conditions therein.",
    "I will engage in any audit or review of my self-managed device and understand that failure to show compliance with this policy may lead to my right to have an unmanaged device being revoked.",
];

/// The user's duties, each with its ITP07 section.
fn duties(ctx: &Context) -> Vec<(&'static str, String)> {
    let desk = ctx
        .service_desk
        .clone()
        .unwrap_or_else(|| "the IT Service Desk".into());
    vec![
        ("§5", "Back up the data on this device yourself, to a storage platform suited to its classification (SOP DG09); hold data of value only temporarily here. No personal identifiable information (PII) without a risk assessment.".into()),
        ("§6", "Make sure all software you install is correctly licensed; take part in licensing audits.".into()),
        ("§7.1", "Keep the controls below in place: a supported OS, strong passwords, your everyday account without admin rights, security updates applied promptly, security software never uninstalled or disabled, the firewall on.".into()),
        ("§8", format!("Report any security incident, theft or data loss immediately to {desk}.")),
        ("§9", "Take part when IT Services asks you to show that the device meets these controls (`handover check` shows it).".into()),
    ]
}

fn who(r: &Report) -> Vec<(&'static str, String)> {
    let d = &r.device;
    let mut rows = vec![
        ("Device", format!("{} ({})", d.hostname, d.model)),
        ("Serial number", d.serial.clone()),
    ];
    if let Some(a) = &r.asset {
        rows.push(("Asset tag", a.clone()));
    }
    rows.push((
        "Operating system",
        format!("{} {} ({})", d.os.name, d.os.version, d.os.family),
    ));
    for (k, v) in [
        ("User", &r.user),
        ("Technician", &r.technician),
        (
            "Ticket (business case and approvals, ITP07 §3-4)",
            &r.ticket,
        ),
        ("Reason", &r.reason),
    ] {
        if let Some(v) = v {
            rows.push((k, v.clone()));
        }
    }
    rows.push(("Date", r.finished_at.clone()));
    rows.push((
        "Profile",
        format!("{} (digest {})", r.profile.name, r.profile.digest),
    ));
    rows
}

fn verdict(r: &Report) -> String {
    let s = &r.summary;
    let v = match s.compliant {
        Some(true) => "COMPLIANT",
        Some(false) => "NOT COMPLIANT",
        None => "PARTIAL RUN (not a verdict)",
    };
    format!(
        "{v}: {} pass, {} fixed, {} fail, {} error, {} waived, {} manual, {} not applicable",
        s.pass, s.fixed, s.fail, s.error, s.waived, s.manual, s.not_applicable
    )
}

/// One line on how a control was settled beyond its check: attestation or waiver.
fn settled_by(c: &ControlReport) -> Option<String> {
    if let Some(a) = &c.attestation {
        return Some(format!(
            "attested by {} on {}",
            a["by"].as_str().unwrap_or("?"),
            a["at"].as_str().unwrap_or("?")
        ));
    }
    c.waiver.as_ref().map(|w| {
        format!(
            "waiver: {} (approved by {}, {}, expires {})",
            w["reason"].as_str().unwrap_or("?"),
            w["approved_by"].as_str().unwrap_or("?"),
            w["ticket"].as_str().unwrap_or("?"),
            w["expires"].as_str().unwrap_or("?")
        )
    })
}

/// The day a control's present status began (SPEC §2 time in state), or a dash for a record from
/// before reports carried it.
fn since_day(c: &ControlReport) -> String {
    c.since
        .as_deref()
        .map_or("-", |s| s.get(..10).unwrap_or(s))
        .to_string()
}

/// How the record's `since` were read, when the chain was not unbroken.
fn time_in_state_note(r: &Report) -> Option<String> {
    r.time_in_state
        .as_ref()
        .filter(|t| t.chain != crate::evidence::report::Chain::Unbroken)
        .map(|t| format!("Since: {}", t.note))
}

/// The section on Cyber Essentials Plus: one line a control that would fail the assessor's sample.
fn ce_lines(r: &Report) -> Vec<String> {
    crate::evidence::ce::sample_failures(r)
        .into_iter()
        .map(|f| {
            let since = f
                .since
                .as_deref()
                .map(|s| format!(" since {}", s.get(..10).unwrap_or(s)))
                .unwrap_or_default();
            format!(
                "{} ({}{since}; {}): {}",
                f.id,
                f.status.as_str(),
                f.requirements.join(", "),
                f.why
            )
        })
        .collect()
}

/// The heading of the Cyber Essentials section.
pub const CE_HEADING: &str = "Would fail a Cyber Essentials Plus sample:";

/// Markdown: every string of the record is the device's word, so it is made inert text on one line: a
/// reason with `|` or a newline keeps the table a table, and raw HTML, links, images and control
/// characters show as text or go (F18). See [`crate::support::textsafe::md_escape`].
fn md_cell(s: &str) -> String {
    crate::support::textsafe::md_escape(s)
}

pub fn markdown(rec: &Record, ctx: &Context) -> String {
    let r = &rec.report;
    let mut o = String::new();
    let org = ctx.organisation.as_deref().unwrap_or("Self-managed device");
    let _ = writeln!(o, "# {}: handover sheet\n", md_cell(org));
    let _ = writeln!(o, "| | |\n|---|---|");
    for (k, v) in who(r) {
        let _ = writeln!(o, "| {k} | {} |", md_cell(&v));
    }
    let _ = writeln!(o, "\n**{}**\n", verdict(r));
    for w in &r.warnings {
        let _ = writeln!(o, "> Warning: {}\n", md_cell(w));
    }
    let _ = writeln!(
        o,
        "## Controls (ITP07 §7.1)\n\n| status | since | control | ITP07 | reason |\n|---|---|---|---|---|"
    );
    for c in &r.controls {
        let mut reason = c.reason.clone();
        if let Some(s) = settled_by(c) {
            reason = format!("{reason} ({s})");
        }
        let _ = writeln!(
            o,
            "| {} | {} | {} ({}) | {} | {} |",
            c.status.as_str(),
            md_cell(&since_day(c)),
            md_cell(&c.id),
            md_cell(&c.title),
            md_cell(&c.policy),
            md_cell(&reason)
        );
    }
    if let Some(n) = time_in_state_note(r) {
        let _ = writeln!(o, "\n{}", md_cell(&n));
    }
    let _ = writeln!(o, "\n## Cyber Essentials\n\n{CE_HEADING}\n");
    let lines = ce_lines(r);
    if lines.is_empty() {
        let _ = writeln!(o, "- none of the controls in this record");
    }
    for l in lines {
        let _ = writeln!(o, "- {}", md_cell(&l));
    }
    let _ = writeln!(o, "\n{}", md_cell(crate::evidence::ce::CAVEAT));
    let _ = writeln!(o, "\n## Your duties\n");
    for (sec, text) in duties(ctx) {
        let _ = writeln!(o, "- **ITP07 {sec}**: {}", md_cell(&text));
    }
    let _ = writeln!(
        o,
        "\n## Acceptance (ITP07 Appendix B)\n\nSend this text, in italics, by email to accept the device and these responsibilities:\n"
    );
    for p in ACCEPTANCE {
        let _ = writeln!(o, "> *{p}*\n");
    }
    let _ = writeln!(
        o,
        "---\nMade by handover {} from record {} (sha256 {}).",
        md_cell(&r.tool.version),
        md_cell(&ctx.record_name),
        md_cell(&ctx.record_sha256)
    );
    o
}

/// HTML text or attribute value; control characters (ESC, OSC, C1, bidi overrides) go too, newlines
/// and tabs kept: a page printed to a terminal must not drive it, and XML cannot hold most of them.
pub fn html_escape(s: &str) -> String {
    let s = crate::support::textsafe::terminal_safe(s);
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The sheet's page: `templates/report/sheet.html.hbs`.
pub const HTML_TEMPLATE: &str = "report/sheet.html.hbs";

pub fn html(rec: &Record, ctx: &Context) -> String {
    crate::evidence::page::render(
        HTML_TEMPLATE,
        &crate::evidence::page::embedded(HTML_TEMPLATE),
        html_escape,
        &html_context(rec, ctx),
    )
    .expect("the embedded sheet template renders every record")
}

/// Everything the sheet's page shows, already in words: the template only lays it out.
fn html_context(rec: &Record, ctx: &Context) -> Value {
    let r = &rec.report;
    let pairs = |rows: Vec<(&str, String)>| -> Vec<Value> {
        rows.into_iter()
            .map(|(label, value)| json!({"label": label, "value": value}))
            .collect()
    };
    let controls: Vec<Value> = r
        .controls
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "status": c.status.as_str(), "title": c.title, "policy": c.policy,
                "reason": c.reason, "settled_by": settled_by(c), "since": since_day(c),
            })
        })
        .collect();
    json!({
        "hostname": r.device.hostname,
        "organisation": ctx.organisation.as_deref().unwrap_or("Self-managed device"),
        "who": pairs(who(r)),
        "verdict": verdict(r),
        "warnings": r.warnings,
        "controls": controls,
        "time_in_state": time_in_state_note(r),
        "ce_heading": CE_HEADING,
        "ce": ce_lines(r),
        "ce_caveat": crate::evidence::ce::CAVEAT,
        "duties": pairs(duties(ctx)),
        "acceptance": ACCEPTANCE,
        "version": r.tool.version,
        "record_name": ctx.record_name,
        "record_sha256": ctx.record_sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        serde_json::from_value(serde_json::json!({
            "record_version": 1,
            "profile_digest": "sha256:ab",
            "artifacts": {},
            "previous": null,
            "report": {
                "tool": {"name": "handover", "version": "0.1.0"},
                "mode": "apply", "scope": "full",
                "profile": {"name": "debian-12", "digest": "sha256:ab"},
                "device": {"hostname": "lab-07", "serial": "SN1", "model": "X1 <Carbon>",
                           "os": {"family": "linux", "id": "debian", "version": "12", "name": "Debian"}},
                "user": "jdoe", "asset": "QM012345", "ticket": "RITM0012345", "technician": "A. Tech",
                "reason": "handover",
                "started_at": "2026-11-25T10:00:00Z", "finished_at": "2026-11-25T10:01:00Z",
                "controls": [
                    {"id": "firmware.password", "title": "Firmware password", "policy": "7.1.2",
                     "status": "pass", "changed": false, "reason": "attested | by hand", "observed": {},
                     "duration_ms": 1, "attestation": {"by": "A. Tech", "at": "2026-11-25T10:00:30Z", "text": "t"}},
                    {"id": "firewall.enabled", "title": "Firewall", "policy": "7.1.5",
                     "status": "fixed", "changed": true, "reason": "ufw <on>", "observed": {}, "duration_ms": 1}
                ],
                "summary": {"pass": 1, "fail": 0, "fixed": 1, "error": 0, "waived": 0,
                            "not_applicable": 0, "manual": 0, "compliant": true},
                "reboot_required": false,
                "warnings": []
            }
        }))
        .unwrap()
    }

    #[test]
    fn the_sheet_names_device_user_controls_duties_and_the_acceptance_text() {
        let ctx = Context {
            organisation: Some("Example University".into()),
            service_desk: Some("servicedesk@example.ac.uk".into()),
            record_name: "000001-x-apply-full.json".into(),
            record_sha256: "cd".into(),
        };
        let md = markdown(&record(), &ctx);
        for want in [
            "| Asset tag | QM012345 |",
            "| Technician | A. Tech |",
            "COMPLIANT: 1 pass, 1 fixed",
            "attested \\| by hand \\(attested by A. Tech on 2026-11-25T10:00:30Z\\)",
            "servicedesk@example.ac.uk",
            ACCEPTANCE[0],
            ACCEPTANCE[1],
            "ITP07 §5",
            "ITP07 §9",
        ] {
            assert!(md.contains(want), "missing {want:?} in\n{md}");
        }
        let html = html(&record(), &ctx);
        assert!(html.contains("X1 &lt;Carbon&gt;") && html.contains("ufw &lt;on&gt;"));
        assert!(!html.contains("<Carbon>") && !html.contains("<script"));
        assert!(html.contains("<tr id=\"firewall.enabled\">"));
    }
}
