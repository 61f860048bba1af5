//! `waivers lint`, and `apply --resume` with nothing to resume (both read-only).

use crate::support::{s, site, Handover};

const WAIVERS: &str = r#"[[waiver]]
control = "os.supported"
reason = "awaiting hardware refresh"
approved_by = "Faculty Director of Operations"
ticket = "RITM0012345"
expires = 2027-01-31

[[waiver]]
control = "disk.encryption"
reason = "lab instrument PC"
approved_by = "Head of IT"
ticket = "RITM0011111"
expires = 2026-11-01
devices = ["NOT-THIS-ONE"]
"#;

#[test]
fn lint_shows_each_waivers_state_and_fails_on_an_expired_one() {
    let (_d, path) = site(WAIVERS);
    let run = Handover::new(&["waivers", "lint", "--site", s(&path)]).run();
    run.expect_code(1);
    let out = run.stdout();
    assert!(
        out.contains("os.supported")
            && out.contains("valid until 2027-01-31 (67 days left); every device"),
        "{out}"
    );
    assert!(
        out.contains("EXPIRED on 2026-11-01; other devices: NOT-THIS-ONE"),
        "{out}"
    );
    let (_d, path) = site(&WAIVERS[..WAIVERS.find("\n\n").unwrap() + 1]);
    Handover::new(&["waivers", "lint", "--site", s(&path)])
        .run()
        .expect_code(0);
}

#[test]
fn lint_refuses_a_malformed_waiver_naming_file_line_and_key() {
    let (_d, path) = site(&WAIVERS.replace("expires = 2027-01-31\n", ""));
    let run = Handover::new(&["waivers", "lint", "--site", s(&path)]).run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("site.toml:") && run.stderr().contains("expires"),
        "{}",
        run.stderr()
    );
    let (_d, path) = site(&WAIVERS.replace("\"os.supported\"", "\"os.suported\""));
    let run = Handover::new(&["waivers", "lint", "--site", s(&path)]).run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("waiver.0.control") && run.stderr().contains("unknown control"),
        "{}",
        run.stderr()
    );
}

#[test]
fn resume_with_no_journal_has_nothing_to_do() {
    let run = Handover::new(&["apply", "--resume", "--yes"]).run();
    run.expect_code(0);
    assert!(
        run.stdout().contains("nothing to resume"),
        "{}",
        run.stdout()
    );
}

/// Three inbound rules: one past its review, one due within 30 days, one with no approver (the
/// harness's clock is 2026-11-25).
const RULES: &str = r#"[firewall]
allow = [
  { port = 443, proto = "tcp", from = "10.0.0.0/8", approved_by = "Head of IT", review_by = 2026-10-01 },
  { port = 8443, proto = "tcp", from = "10.1.0.0/16", approved_by = "Head of IT", review_by = "2026-12-15" },
  { port = 9100, proto = "tcp", from = "10.2.0.0/16", review_by = 2027-06-01 },
]
"#;

#[test]
fn lint_lists_firewall_rules_due_for_review_and_fails_on_an_overdue_one() {
    let (_d, path) = site(RULES);
    let run = Handover::new(&["waivers", "lint", "--site", s(&path)]).run();
    run.expect_code(1);
    let out = run.stdout();
    for line in [
        "firewall 443/tcp from 10.0.0.0/8 REVIEW OVERDUE since 2026-10-01: firewall.inbound fails until it is reviewed and review_by moved (approved by Head of IT)",
        "firewall 8443/tcp from 10.1.0.0/16 review due 2026-12-15 (20 days left; approved by Head of IT)",
        "firewall 9100/tcp from 10.2.0.0/16 notice: no approved_by",
        "no waivers in",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    // 9100 is reviewed far ahead: only its missing approver is listed.
    assert!(
        !out.contains("9100/tcp from 10.2.0.0/16 review due"),
        "{out}"
    );
    // Reviewed and moved: nothing fails; the one due soon is still listed.
    let (_d, path) = site(&RULES.replace("2026-10-01", "2027-10-01"));
    let run = Handover::new(&["waivers", "lint", "--site", s(&path)]).run();
    run.expect_code(0);
    assert!(!run.stdout().contains("OVERDUE"), "{}", run.stdout());
}

#[test]
fn a_firewall_rule_review_date_that_is_no_date_is_exit_2_naming_file_line_and_key() {
    let (_d, path) = site(&RULES.replace("\"2026-12-15\"", "\"mid-December\""));
    let run = Handover::new(&["waivers", "lint", "--site", s(&path)]).run();
    run.expect_code(2);
    let err = run.stderr();
    assert!(
        err.contains("site.toml:4") && err.contains("firewall.allow.1.review_by"),
        "{err}"
    );
}

#[test]
fn check_fails_firewall_inbound_for_a_rule_past_its_review() {
    if !crate::support::on_debian_12("needs the Debian 12 profile of the host") {
        return;
    }
    let (_d, path) = site(RULES);
    let j = Handover::new(&[
        "check",
        "--site",
        s(&path),
        "--only",
        "firewall.inbound",
        "--format",
        "json",
    ])
    .run()
    .json();
    let c = &j["controls"][0];
    assert_eq!(c["status"], "fail", "{c}");
    let why = c["reason"].as_str().unwrap();
    assert!(
        why.contains("443/tcp from 10.0.0.0/8: review was due 2026-10-01 (approved by Head of IT); review the rule and move its review_by"),
        "{why}"
    );
    assert!(!why.contains("8443/tcp"), "{why}");
    assert_eq!(c["observed"]["approvals"][1]["review_by"], "2026-12-15");
}
