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
