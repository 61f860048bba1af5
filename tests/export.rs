//! The report as JUnit XML and as one HTML page (`check --format junit|html`, src/export.rs): structure,
//! escaping, no secrets, and the page as a real browser (headless Chromium) renders it.

use std::path::Path;
use std::process::Command;

use handover::evidence::export;
use handover::evidence::report::{Report, Status};
use handover::inputs::profile::Sources;
use serde_json::json;

use crate::support::{s, site, Handover, SITE};

/// The site's Lansweeper agent key in support::SITE: a secret that no output may carry.
const SECRET: &str = "RELAY-KEY-s3cr3t-0001";

const HOSTILE: &str = "<script>alert(1)</script> \"&' done";

/// `check` of this machine with support::SITE, read-only: real controls, real reasons and evidence.
fn check_report() -> Report {
    let (_d, path) = site(SITE);
    let r = Handover::new(&[
        "check",
        "--site",
        s(&path),
        "--user",
        "nobody",
        "--format",
        "json",
    ])
    .run();
    assert!(matches!(r.code(), 0 | 1), "{}", r.stderr());
    serde_json::from_slice(&r.out.stdout).expect("check --format json is a report")
}

/// `plan` of Windows 11 on this Linux machine: nothing runs, every control is `manual`.
fn windows_plan_report() -> Report {
    let (_d, path) = site(SITE);
    let r = Handover::new(&[
        "plan",
        "--profile",
        "windows-11",
        "--site",
        s(&path),
        "--format",
        "json",
    ])
    .run();
    assert!(matches!(r.code(), 0 | 1), "{}", r.stderr());
    serde_json::from_slice(&r.out.stdout).expect("plan --format json is a report")
}

/// The check of this machine with every status in turn, a hostile reason, a waiver, an attestation and a
/// warning: every part of both formats is used, with the real control ids.
fn every_status_report() -> Report {
    let mut r = check_report();
    let all = [
        Status::Pass,
        Status::Fail,
        Status::Fixed,
        Status::Error,
        Status::Waived,
        Status::NotApplicable,
        Status::Manual,
    ];
    for (i, c) in r.controls.iter_mut().enumerate() {
        c.status = all[i % all.len()];
        c.waiver = None;
        c.attestation = None;
        if c.status == Status::Waived {
            c.waiver = Some(
                json!({"reason": "lab instrument PC", "approved_by": "Head of IT",
                                   "ticket": "RITM0011111", "expires": "2027-01-31"}),
            );
        }
    }
    r.controls[0].attestation = Some(
        json!({"by": "A. Technician", "at": "2026-11-25T10:00:00Z", "text": "confirmed by the technician"}),
    );
    r.controls[1].reason = HOSTILE.into();
    r.warnings
        .push("Debian 12: security support ends on 2028-06-30".into());
    r.summary = Report::summarise(&r.controls, false);
    r
}

/// A report that depends on nothing on this machine (for the snapshots): every status, every optional
/// field, values that need escaping.
fn sample_report() -> Report {
    let controls = json!([
        {"id": "os.supported", "title": "Operating system still receives security updates",
         "policy": "ITP07 7.1.1", "status": "pass", "changed": false,
         "reason": "Debian 12: Debian LTS until 2028-06-30",
         "observed": {"id": "debian", "version": "12", "support_ends": "2028-06-30"}, "duration_ms": 17,
         "since": "2026-09-01T08:00:00Z", "frameworks": ["CE:U1"]},
        {"id": "accounts.password-policy", "title": "Strong password policy, no empty passwords",
         "policy": "ITP07 7.1.2", "status": "fail", "changed": false,
         "reason": "no pwquality minlen of at least 12;\npam_pwquality is not in /etc/pam.d/common-password",
         "observed": {"required": "minlen 12, minclass 3", "pwquality": ""}, "duration_ms": 132,
         "plan": "install libpam-pwquality and set minlen = 12",
         "since": "2026-10-22T09:30:00Z", "frameworks": ["CE:S3", "CE:S5", "CE:A5"]},
        {"id": "updates.pending", "title": "Security updates installed", "policy": "ITP07 7.1.3",
         "status": "error", "changed": false, "reason": HOSTILE,
         "observed": {"stderr": "E: <broken> & \"quoted\" 'single'\u{1b}[0m"}, "duration_ms": 2500,
         "since": "2026-11-25T10:00:00Z", "frameworks": ["CE:U5"]},
        {"id": "firewall.enabled", "title": "Host firewall on", "policy": "ITP07 7.1.5", "status": "fixed",
         "changed": true, "reason": "ufw is active", "observed": {"ufw": "active"}, "duration_ms": 900,
         "output": "Firewall is active and enabled on system startup",
         "since": "2026-11-25T10:00:00Z", "frameworks": ["CE:F1", "CE:F2"]},
        {"id": "disk.encryption", "title": "Disk encrypted", "policy": "ITP07 7.1.4", "status": "waived",
         "changed": false,
         "reason": "waived until 2027-01-31 (lab instrument PC, approved by Head of IT, RITM0011111): no LUKS",
         "observed": {}, "duration_ms": 3,
         "waiver": {"reason": "lab instrument PC", "approved_by": "Head of IT", "ticket": "RITM0011111",
                    "expires": "2027-01-31"}},
        {"id": "accounts.guest", "title": "Built-in guest disabled, no guest sessions",
         "policy": "ITP07 7.1.2", "status": "waived", "changed": false,
         "reason": "a guest kiosk account for the open day", "observed": {"guest": "enabled"},
         "duration_ms": 5, "since": "2026-11-20T10:00:00Z", "frameworks": ["CE:S2"],
         "waiver": {"reason": "open day kiosk", "approved_by": "Head of IT", "ticket": "RITM0022222",
                    "expires": "2026-12-31"}},
        {"id": "apps.teams", "title": "Microsoft Teams installed", "policy": "ITP07 7.1.6",
         "status": "not-applicable", "changed": false, "reason": "no desktop Teams for Linux",
         "observed": null, "duration_ms": 0},
        {"id": "firmware.password", "title": "Firmware (BIOS/UEFI) admin password set",
         "policy": "ITP07 7.1.2", "status": "manual", "changed": false,
         "reason": "no firmware interface here reports the BIOS/UEFI admin password", "observed": {},
         "duration_ms": 1},
        {"id": "device.management", "title": "Device management agent", "policy": "ITP07 7.1.8",
         "status": "pass", "changed": false, "reason": "confirmed by the technician", "observed": {},
         "duration_ms": 1,
         "attestation": {"by": "A. Technician", "at": "2026-11-25T10:00:05Z",
                         "text": "confirmed by the technician: Device management agent"}}
    ]);
    let mut r: Report = serde_json::from_value(json!({
        "tool": {"name": "handover", "version": "0.1.0"}, "mode": "apply", "scope": "full",
        "profile": {"name": "debian-12", "digest": "sha256:9065f659615715e95c8c272c01464ae41a39f50dd5ca7727b081b7727926b5c3"},
        "device": {"hostname": "pc-042", "serial": "SN-1234", "model": "Latitude 7440",
                   "os": {"family": "linux", "id": "debian", "version": "12",
                          "name": "Debian GNU/Linux 12 (bookworm)"}},
        "user": "jdoe", "asset": "QM012345", "ticket": "RITM0012345", "technician": "A. Technician",
        "reason": "handover",
        "started_at": "2026-11-25T10:00:00Z", "finished_at": "2026-11-25T10:00:09Z",
        "controls": controls,
        "summary": {"pass": 0, "fail": 0, "fixed": 0, "error": 0, "waived": 0, "not_applicable": 0,
                    "manual": 0, "compliant": null},
        "reboot_required": true,
        "warnings": ["Debian 12: security support ends on 2028-06-30 (in 45 days); plan the upgrade"],
        "time_in_state": {"chain": "unbroken", "note": "carried from the newest record, whose hash state.json keeps"}
    }))
    .expect("a report");
    r.summary = Report::summarise(&r.controls, false);
    r
}

fn html(r: &Report) -> String {
    export::html(r, &Sources::default()).expect("the HTML report renders")
}

/// A testcase's own properties come first: each framework requirement the control serves, and since
/// when it has had its status. Takes them off `kids`.
#[track_caller]
fn assert_testcase_properties(
    c: &handover::evidence::report::ControlReport,
    kids: &mut Vec<roxmltree::Node>,
) {
    let own: Vec<(String, String)> = if kids.first().is_some_and(|k| k.has_tag_name("properties")) {
        let p = kids.remove(0);
        p.children()
            .filter(|n| n.has_tag_name("property"))
            .map(|p| {
                (
                    p.attribute("name").unwrap().into(),
                    p.attribute("value").unwrap().into(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let frameworks: Vec<&str> = own
        .iter()
        .filter(|(n, _)| n == "framework")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(frameworks, c.frameworks, "{}: framework properties", c.id);
    let since: Vec<&str> = own
        .iter()
        .filter(|(n, _)| n == "since")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        since,
        c.since.as_deref().into_iter().collect::<Vec<_>>(),
        "{}",
        c.id
    );
}

/// Checks the JUnit document's structure against the report: returns nothing, panics on a mismatch.
#[track_caller]
fn assert_junit_matches(r: &Report, xml: &str) {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert!(root.has_tag_name("testsuites"));
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(suites.len(), 1, "one testsuite");
    let suite = suites[0];
    assert!(suite.has_tag_name("testsuite"));
    assert_eq!(
        suite.attribute("name"),
        Some(format!("handover {}", r.profile.name).as_str())
    );
    assert_eq!(
        suite.attribute("hostname"),
        Some(r.device.hostname.as_str())
    );
    let ts = suite.attribute("timestamp").expect("timestamp");
    assert!(
        ts.len() == 19
            && ts.as_bytes()[10] == b'T'
            && humantime::parse_rfc3339(&format!("{ts}Z")).is_ok(),
        "timestamp {ts} is not the schema's YYYY-MM-DDThh:mm:ss"
    );

    // The Ant JUnit schema's order: properties, the testcases, system-out, system-err.
    let children: Vec<_> = suite.children().filter(|n| n.is_element()).collect();
    let names: Vec<&str> = children.iter().map(|n| n.tag_name().name()).collect();
    assert_eq!(names.first(), Some(&"properties"), "{names:?}");
    assert_eq!(&names[names.len() - 2..], ["system-out", "system-err"]);
    let cases: Vec<_> = children
        .iter()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), names.len() - 3, "only testcases in between");
    assert_eq!(cases.len(), r.controls.len(), "one testcase per control");

    let (mut failures, mut errors, mut skipped) = (0, 0, 0);
    let mut time_ms = 0u64;
    for (case, c) in cases.iter().zip(&r.controls) {
        assert_eq!(
            case.attribute("name"),
            Some(format!("{}: {}", c.id, c.title).as_str())
        );
        assert_eq!(
            case.attribute("classname"),
            Some(format!("handover.{}", c.id.split('.').next().unwrap()).as_str())
        );
        let t: f64 = case
            .attribute("time")
            .unwrap()
            .parse()
            .expect("time in seconds");
        assert_eq!((t * 1000.0).round() as u64, c.duration_ms);
        time_ms += c.duration_ms;
        let mut kids: Vec<_> = case.children().filter(|n| n.is_element()).collect();
        assert_testcase_properties(c, &mut kids);
        assert!(kids.len() <= 1, "{}: at most one outcome", c.id);
        let kind = kids.first().map(|k| k.tag_name().name());
        let want = match c.status {
            Status::Pass | Status::Fixed => None,
            Status::Fail => Some("failure"),
            Status::Error => Some("error"),
            Status::NotApplicable | Status::Waived | Status::Manual => Some("skipped"),
        };
        assert_eq!(kind, want, "{}: {:?}", c.id, c.status);
        if let Some(k) = kids.first() {
            let message = k.attribute("message").expect("every outcome has a message");
            assert!(!message.is_empty(), "{}: empty message", c.id);
            match k.tag_name().name() {
                "failure" | "error" => {
                    if k.has_tag_name("failure") {
                        failures += 1;
                    } else {
                        errors += 1;
                    }
                    // The message is the reason, exactly (newlines and quotes survive); the text
                    // carries the policy reference, the reason and the observed evidence.
                    assert_eq!(message, c.reason, "{}", c.id);
                    let body = k.text().unwrap_or("");
                    assert!(body.starts_with(&c.policy), "{}: {body}", c.id);
                    assert!(body.contains(&c.reason), "{}: {body}", c.id);
                    assert!(body.contains("observed:"), "{}: {body}", c.id);
                }
                _ => {
                    skipped += 1;
                    if c.status == Status::Manual {
                        assert!(
                            message.starts_with("manual: needs a technician"),
                            "{message}"
                        );
                    }
                    assert!(message.contains(&c.reason), "{}: {message}", c.id);
                    // A waiver never reads as Cyber Essentials compliance.
                    if c.status == Status::Waived {
                        for ce in c.frameworks.iter().filter(|f| f.starts_with("CE:")) {
                            assert!(
                                message.contains("waiver does not excuse Cyber Essentials")
                                    && message.contains(ce.as_str()),
                                "{}: {message}",
                                c.id
                            );
                        }
                    }
                }
            }
        }
    }
    for node in [root, suite] {
        let n = |a: &str| -> usize {
            node.attribute(a)
                .unwrap_or_else(|| panic!("{a} missing"))
                .parse()
                .unwrap()
        };
        assert_eq!(n("tests"), cases.len());
        assert_eq!(n("failures"), failures);
        assert_eq!(n("errors"), errors);
        assert_eq!(n("skipped"), skipped);
        let t: f64 = node.attribute("time").unwrap().parse().unwrap();
        assert_eq!((t * 1000.0).round() as u64, time_ms);
    }
    assert_eq!(failures, r.summary.fail);
    assert_eq!(errors, r.summary.error);
    assert_eq!(
        skipped,
        r.summary.not_applicable + r.summary.waived + r.summary.manual
    );

    let props: Vec<(&str, &str)> = suite
        .children()
        .find(|n| n.has_tag_name("properties"))
        .unwrap()
        .children()
        .filter(|n| n.has_tag_name("property"))
        .map(|p| (p.attribute("name").unwrap(), p.attribute("value").unwrap()))
        .collect();
    assert!(props.contains(&("profile.digest", r.profile.digest.as_str())));
    let compliant = match r.summary.compliant {
        Some(true) => "true",
        Some(false) => "false",
        None => "partial",
    };
    assert!(props.contains(&("compliant", compliant)), "{props:?}");
}

#[test]
fn junit_has_one_testcase_per_control_and_counts_that_match_them() {
    for r in [
        check_report(),
        windows_plan_report(),
        every_status_report(),
        sample_report(),
    ] {
        let xml = export::junit(&r);
        assert_junit_matches(&r, &xml);
        assert_eq!(xml, export::junit(&r), "deterministic");
    }
    // Windows 11 planned on Linux: nothing ran, so every control is manual (or fails for a site key
    // support::SITE lacks): skipped, never a passing testcase.
    let r = windows_plan_report();
    let manual = r
        .controls
        .iter()
        .filter(|c| c.status == Status::Manual)
        .count();
    assert!(manual > 0);
    assert!(r
        .controls
        .iter()
        .all(|c| matches!(c.status, Status::Manual | Status::Fail)));
    let xml = export::junit(&r);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suite = doc.root_element().first_element_child().unwrap();
    assert_eq!(
        suite.attribute("skipped"),
        Some(manual.to_string().as_str())
    );
}

#[test]
fn junit_escapes_hostile_text_and_keeps_it_exact() {
    let r = sample_report();
    let xml = export::junit(&r);
    assert!(!xml.contains("<script>"), "{xml}");
    assert!(
        !xml.contains('\u{1b}'),
        "XML 1.0 cannot carry an ESC, even escaped"
    );
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .expect("the error control");
    assert_eq!(error.attribute("message"), Some(HOSTILE));
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    // A newline in an attribute survives (written as &#10;, not normalised to a space).
    assert!(failure
        .attribute("message")
        .unwrap()
        .contains(";\npam_pwquality"));
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit-sample", export::junit(&sample_report()));
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("html-sample", html(&sample_report()));
}

/// What must hold of every HTML report: the title, every control, no script, nothing loaded from elsewhere.
#[track_caller]
fn assert_html_self_contained(r: &Report, page: &str) {
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "{}",
        &page[..80.min(page.len())]
    );
    assert!(
        page.contains(&format!(
            "<title>handover report: {}</title>",
            r.device.hostname
        )),
        "title"
    );
    for c in &r.controls {
        assert!(
            page.contains(&format!("<div class=\"id\">{}</div>", c.id)),
            "{} missing",
            c.id
        );
        assert!(page.contains(&format!("<span class=\"badge {}\">", c.status.as_str())));
    }
    assert!(page.contains(&r.profile.digest), "profile digest");
    assert!(page.contains(&r.device.os.name), "OS");
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "no JavaScript");
    for asset in [
        "<link", "<img", "<iframe", "<object", "<embed", "<video", "<audio", " src=", " href=",
        "@import", "url(", "http://", "https://",
    ] {
        assert!(!lower.contains(asset), "external asset reference: {asset}");
    }
}

#[test]
fn html_shows_every_control_and_loads_nothing() {
    for r in [
        check_report(),
        windows_plan_report(),
        every_status_report(),
        sample_report(),
    ] {
        let page = html(&r);
        assert_html_self_contained(&r, &page);
        assert_eq!(page, html(&r), "deterministic");
        let verdict = match r.summary.compliant {
            Some(true) => "COMPLIANT",
            Some(false) => "NOT COMPLIANT",
            None => "PARTIAL",
        };
        assert!(page.contains(verdict));
    }
    let r = sample_report();
    let page = html(&r);
    for v in [
        "SN-1234",
        "Latitude 7440",
        "jdoe",
        "QM012345",
        "RITM0012345",
        "A. Technician",
        "handover",
        "2026-11-25T10:00:00Z",
        "2026-11-25T10:00:09Z",
        "ITP07 7.1.4",
        // The waiver, the attestation, a warning, the evidence pretty-printed.
        "Head of IT",
        "2027-01-31",
        "confirmed by the technician: Device management agent",
        "security support ends on 2028-06-30",
        "  &quot;support_ends&quot;: &quot;2028-06-30&quot;",
        "(reboot required)",
    ] {
        assert!(page.contains(v), "{v} missing");
    }
    assert!(page.contains("@media print"));
}

#[test]
fn html_escapes_a_hostile_reason() {
    let mut r = sample_report();
    r.device.hostname = "<b>pc</b>".into();
    let page = html(&r);
    assert!(!page.contains("<script>"), "unescaped script");
    assert!(!page.contains("<b>pc</b>"), "unescaped hostname");
    assert!(page.contains("<title>handover report: &lt;b&gt;pc&lt;/b&gt;</title>"));
    // handlebars' HTML escaping: < > & " ' (and ` =).
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#x27; done"),
        "the hostile reason, escaped"
    );
    // In the evidence, pretty-printed JSON keeps its own backslash escapes inside the HTML escaping.
    assert!(page.contains("E: &lt;broken&gt; &amp; \\&quot;quoted\\&quot; &#x27;single&#x27;"));
}

#[test]
fn html_of_a_partial_run_says_partial() {
    let mut r = sample_report();
    r.scope = handover::evidence::report::Scope::Partial;
    r.controls.truncate(2);
    r.summary = Report::summarise(&r.controls, true);
    let page = html(&r);
    assert_html_self_contained(&r, &page);
    assert!(page.contains("<strong>PARTIAL"), "scope");
    assert!(page.contains("PARTIAL run: no verdict on the whole device"));
    assert!(!page.contains("NOT COMPLIANT") && !page.contains(">COMPLIANT"));
}

#[test]
fn templates_dir_overrides_the_html_template_and_raw_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("report")).unwrap();
    let file = dir.path().join(export::HTML_TEMPLATE);
    let sources = Sources {
        profiles_dir: None,
        templates_dir: Some(dir.path().to_path_buf()),
    };
    let mut r = sample_report();
    r.device.hostname = "<i>x</i>".into();
    std::fs::write(&file, "site page for {{device.hostname}}").unwrap();
    assert_eq!(
        export::html(&r, &sources).unwrap(),
        "site page for &lt;i&gt;x&lt;/i&gt;"
    );
    for raw in [
        "{{{device.hostname}}}",
        "{{&device.hostname}}",
        "{{~{device.hostname}~}}",
    ] {
        std::fs::write(&file, raw).unwrap();
        let e = format!("{:#}", export::html(&r, &sources).unwrap_err());
        assert!(e.contains("raw output"), "{raw}: {e}");
    }
    // Strict mode: a misspelt name is an error, not an empty cell.
    std::fs::write(&file, "{{device.hostnme}}").unwrap();
    assert!(export::html(&r, &sources).is_err());
    std::fs::remove_file(&file).unwrap();
    let e = format!("{:#}", export::html(&r, &sources).unwrap_err());
    assert!(e.contains("report/report.html.hbs not found"), "{e}");
}

#[test]
fn no_site_secret_in_junit_or_html() {
    // The check read the site with the agent key (apps.lansweeper is one of its controls).
    let r = check_report();
    assert!(r.controls.iter().any(|c| c.id == "apps.lansweeper"));
    for r in [r, windows_plan_report()] {
        let xml = export::junit(&r);
        let page = html(&r);
        assert!(!xml.contains(SECRET), "secret in the JUnit report");
        assert!(!page.contains(SECRET), "secret in the HTML report");
    }
}

/// The CLI end to end: `check --format junit|html --out FILE` writes the file, prints nothing on stdout
/// and the text summary on stderr; neither file nor stream carries the site's secret.
#[test]
fn check_writes_junit_and_html_with_out() {
    let (_d, path) = site(SITE);
    let out = tempfile::tempdir().unwrap();
    for format in ["junit", "html"] {
        let file = out.path().join(format!("report.{format}"));
        let r = Handover::new(&[
            "check",
            "--site",
            s(&path),
            "--user",
            "nobody",
            "--format",
            format,
            "--out",
            s(&file),
        ])
        .run();
        assert!(matches!(r.code(), 0 | 1), "{format}: {}", r.stderr());
        assert_eq!(r.stdout(), "", "{format}: stdout");
        assert!(r.stderr().contains("pass,"), "{format}: {}", r.stderr());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(SECRET) && !r.stderr().contains(SECRET));
        let ids = handover::inputs::profile::control_ids();
        match format {
            "junit" => {
                let doc = roxmltree::Document::parse(&text).unwrap();
                let cases = doc
                    .descendants()
                    .filter(|n| n.has_tag_name("testcase"))
                    .count();
                assert_eq!(cases, ids.len());
            }
            _ => {
                assert!(text.starts_with("<!DOCTYPE html>"));
                for id in ids {
                    assert!(
                        text.contains(&format!("<div class=\"id\">{id}</div>")),
                        "{id}"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Headless Chromium

/// Runs chromium headless with `args` then `url`; its own profile directory, so runs in parallel do not
/// share one (and root's home is left alone). `timeout` stops a browser that hangs.
pub(crate) fn chromium(profile: &Path, args: &[&str], url: &str) -> std::process::Output {
    let user_data = format!("--user-data-dir={}", profile.display());
    let out = Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            user_data.as_str(),
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A PNG's width and height, from its IHDR chunk (the first after the signature).
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Screenshot of `page` at 1280×2000: the PNG's bytes.
fn screenshot(dir: &Path, name: &str, page: &str) -> Vec<u8> {
    let html = dir.join(format!("{name}.html"));
    std::fs::write(&html, page).unwrap();
    let png = dir.join(format!("{name}.png"));
    let shot = format!("--screenshot={}", png.display());
    chromium(
        &dir.join(format!("{name}-profile")),
        &[
            shot.as_str(),
            "--window-size=1280,2000",
            "--hide-scrollbars",
        ],
        &format!("file://{}", html.display()),
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert_eq!(png_size(&bytes), (1280, 2000), "{name}: the window's size");
    bytes
}

/// `page` as headless Chromium builds it: its DOM dump, after asserting that the browser made no script
/// element of it and that its screenshot is not blank.
pub(crate) fn chromium_dom_of(dir: &Path, name: &str, page: &str) -> String {
    let file = dir.join(format!("{name}.html"));
    std::fs::write(&file, page).unwrap();
    let dom = chromium(
        &dir.join(format!("{name}-dom-profile")),
        &["--dump-dom"],
        &format!("file://{}", file.display()),
    );
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    // Hostile text stayed text: the browser made no script element of it.
    assert!(
        !dom.contains("<script"),
        "{name}: a script element in the DOM"
    );

    // Not blank. A PNG of a page of one colour deflates to almost nothing: each row filters to zeros, so a
    // blank 1280x2000 page is about 11 KB here. Text, badges, borders and tables do
    // not compress like that (the report is about 20 times as large). A fixed size such as "more than
    // 10 KB" would pass for a blank page too, so the screenshot is compared with a blank page's taken
    // the same way, by the same browser.
    let blank = screenshot(
        dir,
        &format!("{name}-blank"),
        "<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>",
    );
    let shot = screenshot(dir, name, page);
    eprintln!(
        "screenshots: blank page {} bytes, {name} {} bytes",
        blank.len(),
        shot.len()
    );
    assert!(
        shot.len() > 5 * blank.len(),
        "the {name}'s screenshot ({} bytes) looks blank next to a blank page's ({} bytes)",
        shot.len(),
        blank.len()
    );
    dom
}

#[test]
fn html_renders_in_headless_chromium() {
    if which::which("chromium").is_err() {
        eprintln!("SKIPPED: chromium not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = every_status_report();
    let dom = chromium_dom_of(dir.path(), "report", &html(&r));
    assert!(
        dom.contains(&format!(
            "<title>handover report: {}</title>",
            r.device.hostname
        )),
        "title not in the DOM:\n{dom}"
    );
    for c in &r.controls {
        assert!(
            dom.contains(&format!("id=\"control-{}\"", c.id)),
            "{} not in the DOM",
            c.id
        );
    }
}

#[test]
fn the_handover_sheet_renders_in_headless_chromium() {
    if which::which("chromium").is_err() {
        eprintln!("SKIPPED: chromium not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = every_status_report();
    let rec: handover::evidence::record::Record = serde_json::from_value(serde_json::json!({
        "record_version": 1,
        "report": r,
        "profile_digest": r.profile.digest,
        "artifacts": {},
        "previous": null,
    }))
    .unwrap();
    let ctx = handover::evidence::sheet::Context {
        organisation: Some("Example University".into()),
        service_desk: Some("servicedesk@example.ac.uk".into()),
        record_name: "000001-x-apply-full.json".into(),
        record_sha256: "ab".into(),
    };
    let dom = chromium_dom_of(
        dir.path(),
        "sheet",
        &handover::evidence::sheet::html(&rec, &ctx),
    );
    assert!(
        dom.contains(&format!(
            "<title>handover sheet: {}</title>",
            r.device.hostname
        )),
        "title not in the DOM:\n{dom}"
    );
    for c in &r.controls {
        assert!(
            dom.contains(&format!("id=\"{}\"", c.id)),
            "{} not in the DOM",
            c.id
        );
    }
    assert!(
        dom.contains(handover::evidence::sheet::ACCEPTANCE[0]),
        "Appendix B not in the DOM"
    );
}
