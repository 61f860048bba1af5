//! `record show`, `record diff` and `report merge` through the binary, on records written by hand into
//! a temporary state directory (read-only on this machine).

use crate::support::{s, Handover};

fn record(seq: u32, status: &str, os_version: &str, scope: &str) -> String {
    serde_json::json!({
        "record_version": 1,
        "profile_digest": "sha256:ab",
        "artifacts": {},
        "previous": null,
        "report": {
            "tool": {"name": "handover", "version": "0.1.0"},
            "mode": "check", "scope": scope,
            "profile": {"name": "debian-12", "digest": "sha256:ab"},
            "device": {"hostname": "lab-07", "serial": "SN1", "model": "m",
                       "os": {"family": "linux", "id": "debian", "version": os_version, "name": "Debian"}},
            "asset": "QM012345", "user": "jdoe",
            "started_at": format!("2026-11-2{seq}T10:00:00Z"), "finished_at": format!("2026-11-2{seq}T10:00:00Z"),
            "controls": [{"id": "firewall.enabled", "title": "Firewall", "policy": "7.1.5",
                          "status": status, "changed": false, "reason": "r", "observed": {}, "duration_ms": 1}],
            "summary": {"pass": (status == "pass") as usize, "fail": (status == "fail") as usize, "fixed": 0,
                        "error": 0, "waived": 0, "not_applicable": 0, "manual": 0,
                        "compliant": if scope == "full" { serde_json::json!(status == "pass") } else { serde_json::Value::Null }},
            "warnings": []
        }
    })
    .to_string()
}

#[test]
fn show_diff_and_merge_work_on_the_state_directorys_records() {
    let state = tempfile::tempdir().unwrap();
    let records = state.path().join("records");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(
        records.join("000001-a-check-full.json"),
        record(1, "fail", "12", "full"),
    )
    .unwrap();
    std::fs::write(
        records.join("000002-b-check-full.json"),
        record(2, "pass", "13", "full"),
    )
    .unwrap();
    std::fs::write(
        records.join("000003-c-apply-partial.json"),
        record(3, "fail", "13", "partial"),
    )
    .unwrap();
    let st = s(state.path());

    // The sheet comes from the latest full record, not the newer partial one.
    let run = Handover::new(&["record", "show"])
        .env("HANDOVER_STATE_DIR", st)
        .run();
    run.expect_code(0);
    let sheet = run.stdout();
    assert!(
        sheet.contains("000002-b-check-full.json") && sheet.contains("COMPLIANT"),
        "{sheet}"
    );
    assert!(
        sheet.contains("I will engage in any audit or review"),
        "{sheet}"
    );

    let run = Handover::new(&["record", "diff", "1", "2"])
        .env("HANDOVER_STATE_DIR", st)
        .run();
    run.expect_code(0);
    let diff = run.stdout();
    assert!(
        diff.contains("firewall.enabled") && diff.contains("fail") && diff.contains("pass"),
        "{diff}"
    );
    assert!(
        diff.contains("12") && diff.contains("13"),
        "the OS upgrade: {diff}"
    );

    let run = Handover::new(&["report", "merge", s(&records), "--format", "csv"]).run();
    run.expect_code(0);
    let csv = run.stdout();
    assert_eq!(csv.lines().count(), 2, "one row for the one device: {csv}");
    assert!(
        csv.contains("000002-b-check-full.json"),
        "its newest full run: {csv}"
    );
}

/// `check --format json` of this machine with `site_text`, into the state directory `st`, at `now`.
fn check_json(st: &str, site_text: &str, now: &str, format: &str) -> crate::support::Run {
    let (_d, path) = crate::support::site(site_text);
    let run = Handover::new(&[
        "check",
        "--site",
        s(&path),
        "--user",
        "nobody",
        "--format",
        format,
    ])
    .env("HANDOVER_STATE_DIR", st)
    .env("HANDOVER_NOW", now)
    .run();
    assert!(matches!(run.code(), 0 | 1), "{}", run.stderr());
    run
}

fn control<'a>(r: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    r["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

/// The separate admin account of `--user nobody` does not exist on a test machine: a failing control
/// that Cyber Essentials requires (CE:A2), whatever else this machine has.
const WAIVE_ADMIN: &str = r#"
[[waiver]]
control = "accounts.separate-admin"
reason = "lab PC, admin by IT only"
approved_by = "Head of IT"
ticket = "RITM0033333"
expires = 2027-06-30
"#;

#[test]
fn check_carries_since_across_runs_names_frameworks_and_a_waiver_does_not_excuse_ce() {
    let state = tempfile::tempdir().unwrap();
    let st = s(state.path());
    let site = crate::support::SITE;
    let first = check_json(st, site, "2026-11-02T10:00:00Z", "json").json();
    assert_eq!(first["time_in_state"]["chain"], "missing");
    let admin = control(&first, "accounts.separate-admin");
    assert_eq!(admin["status"], "fail");
    assert_eq!(admin["since"], "2026-11-02T10:00:00Z");
    assert_eq!(admin["frameworks"], serde_json::json!(["CE:A2"]));
    assert_eq!(
        control(&first, "firewall.enabled")["frameworks"],
        serde_json::json!(["CE:F1", "CE:F2"])
    );
    assert!(control(&first, "disk.encryption")
        .get("frameworks")
        .is_none());

    // A month later, the same statuses: every since is the first run's, and the text says so.
    let second = check_json(st, site, "2026-12-05T09:00:00Z", "json").json();
    assert_eq!(second["time_in_state"]["chain"], "unbroken");
    for (a, b) in first["controls"]
        .as_array()
        .unwrap()
        .iter()
        .zip(second["controls"].as_array().unwrap())
    {
        if a["status"] == b["status"] {
            assert_eq!(b["since"], "2026-11-02T10:00:00Z", "{}", b["id"]);
        }
    }
    let text = check_json(st, site, "2026-12-05T09:30:00Z", "text").stdout();
    let line = text
        .lines()
        .find(|l| l.contains("accounts.separate-admin"))
        .unwrap();
    assert!(
        line.contains("(failing since 2026-11-02, 32 days; CE:A2)"),
        "{text}"
    );

    // The waiver changes its status: since restarts; and every form says that it does not excuse CE.
    let waived_site = format!("{site}\n{WAIVE_ADMIN}");
    let third = check_json(st, &waived_site, "2026-12-06T09:00:00Z", "json").json();
    let admin = control(&third, "accounts.separate-admin");
    assert_eq!(admin["status"], "waived");
    assert_eq!(admin["since"], "2026-12-06T09:00:00Z");
    let reason = admin["reason"].as_str().unwrap();
    assert!(
        reason.contains("waiver does not excuse Cyber Essentials CE:A2"),
        "{reason}"
    );
    assert_eq!(
        admin["waiver"]["does_not_excuse"],
        serde_json::json!(["CE:A2"])
    );
    assert_eq!(
        control(&third, "os.supported")["since"],
        first_since(&first, &third, "os.supported")
    );
    let junit = check_json(st, &waived_site, "2026-12-06T09:10:00Z", "junit").stdout();
    assert!(
        junit.contains("<property name=\"framework\" value=\"CE:A2\"/>"),
        "{junit}"
    );
    assert!(
        junit.contains("waiver does not excuse Cyber Essentials CE:A2"),
        "{junit}"
    );
    let html = check_json(st, &waived_site, "2026-12-06T09:20:00Z", "html").stdout();
    assert!(html.contains("<span class=\"fw\">CE:A2</span>"), "{html}");
    assert!(html.contains("<strong>waiver does not excuse Cyber Essentials CE:A2</strong>"));

    // The sheet of the newest full record lists it among what a CE+ sample would fail.
    let sheet = Handover::new(&["record", "show"])
        .env("HANDOVER_STATE_DIR", st)
        .run();
    sheet.expect_code(0);
    let md = sheet.stdout();
    assert!(
        md.contains("Would fail a Cyber Essentials Plus sample:"),
        "{md}"
    );
    assert!(
        md.contains("- accounts.separate-admin \\(waived since 2026-12-06; CE:A2\\): waived: a waiver does not excuse Cyber Essentials CE:A2"),
        "{md}"
    );
    assert!(
        md.contains("| waived | 2026-12-06 | accounts.separate-admin"),
        "{md}"
    );
}

/// A control whose status did not change since the first run keeps the first run's since.
fn first_since(first: &serde_json::Value, now: &serde_json::Value, id: &str) -> serde_json::Value {
    if control(first, id)["status"] == control(now, id)["status"] {
        serde_json::json!("2026-11-02T10:00:00Z")
    } else {
        control(now, id)["since"].clone()
    }
}

#[test]
fn record_show_lists_what_a_cyber_essentials_plus_sample_would_fail() {
    let state = tempfile::tempdir().unwrap();
    let records = state.path().join("records");
    std::fs::create_dir_all(&records).unwrap();
    let mut rec: serde_json::Value =
        serde_json::from_str(&record(1, "pass", "12", "full")).unwrap();
    let c = |id: &str, status: &str, fw: &[&str], observed: serde_json::Value| {
        serde_json::json!({"id": id, "title": id, "policy": "7.1", "status": status, "changed": false,
            "reason": format!("{id} is {status}"), "observed": observed, "duration_ms": 1,
            "since": "2026-10-01T10:00:00Z", "frameworks": fw})
    };
    rec["report"]["controls"] = serde_json::json!([
        c(
            "firewall.enabled",
            "pass",
            &["CE:F1", "CE:F2"],
            serde_json::json!({})
        ),
        c(
            "endpoint.protection",
            "fail",
            &["CE:M1", "CE:M2", "CE:M3"],
            serde_json::json!({})
        ),
        c("os.supported", "waived", &["CE:U1"], serde_json::json!({})),
        c("disk.encryption", "fail", &[], serde_json::json!({})),
        c(
            "updates.pending",
            "pass",
            &["CE:U5"],
            serde_json::json!({"oldest_pending_days": 21, "max_age_days": 14})
        ),
    ]);
    std::fs::write(records.join("000001-a-check-full.json"), rec.to_string()).unwrap();
    let run = Handover::new(&["record", "show"])
        .env("HANDOVER_STATE_DIR", s(state.path()))
        .run();
    run.expect_code(0);
    let md = run.stdout();
    let section: Vec<&str> = md
        .split("Would fail a Cyber Essentials Plus sample:")
        .nth(1)
        .expect("the section")
        .lines()
        .filter(|l| l.starts_with("- "))
        .take_while(|l| !l.contains("ITP07"))
        .collect();
    assert_eq!(section.len(), 3, "{md}");
    assert!(
        section[0]
            .starts_with("- endpoint.protection \\(fail since 2026-10-01; CE:M1, CE:M2, CE:M3\\)"),
        "{md}"
    );
    assert!(
        section[1].contains("os.supported")
            && section[1].contains("does not excuse Cyber Essentials CE:U1"),
        "{md}"
    );
    assert!(
        section[2].contains("updates.pending")
            && section[2].contains("21 days old, past the 14-day window"),
        "{md}"
    );
    assert!(!md.contains("- disk.encryption"), "no CE item: {md}");
    let html = Handover::new(&["record", "show", "--format", "html"])
        .env("HANDOVER_STATE_DIR", s(state.path()))
        .run();
    html.expect_code(0);
    assert!(html.stdout().contains("<li>endpoint.protection (fail since 2026-10-01; CE:M1, CE:M2, CE:M3): endpoint.protection is fail</li>"), "{}", html.stdout());
}
