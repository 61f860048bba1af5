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
