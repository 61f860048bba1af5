//! The command line contract of SPEC §3: exit codes, JSON alone on stdout, input errors naming file,
//! line and key, partial runs, refusals.

use crate::support::{s, site, Handover, SITE};

#[test]
fn profiles_list_names_every_linux_profile() {
    let r = Handover::new(&["profiles", "list"]).run();
    r.expect_code(0);
    for p in [
        "debian-12",
        "ubuntu-22.04",
        "ubuntu-24.04",
        "rhel-9",
        "fedora",
    ] {
        assert!(r.stdout().contains(p), "{p} missing:\n{}", r.stdout());
    }
}

#[test]
fn profiles_list_covers_todays_releases_and_names_each_distributions_newest() {
    let r = Handover::new(&["profiles", "list"]).run();
    r.expect_code(0);
    let out = r.stdout();
    for (name, made_for) in [
        ("debian-12", "made for 12:"),
        ("debian-13", "made for 13;"),
        ("ubuntu-22.04", "made for 22.04:"),
        ("ubuntu-24.04", "made for 24.04:"),
        ("ubuntu-26.04", "made for 26.04;"),
        ("rhel-9", "made for 9:"),
        ("rhel-10", "made for 10;"),
        ("fedora", "made for every release"),
        ("macos ", "made for 13, 14, 15:"),
        ("macos-26", "made for 26, 27;"),
        ("windows-10", "made for 10:"),
        ("windows-11", "made for 11;"),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{out}"));
        assert!(line.contains(made_for), "{line}");
        // `;` follows the newest of a distribution: newer releases run it untested.
        assert_eq!(
            line.contains("newer releases run it untested"),
            made_for.ends_with(';'),
            "{line}"
        );
    }
}

/// On this Debian 12 host: an older profile of the same distribution is not an untested release's
/// stand-in, and `--allow-untested-release` never lets another distribution's profile run.
#[test]
fn allow_untested_release_does_not_override_a_refusal() {
    if !crate::support::on_debian_12("the refusals name the Debian 12 host") {
        return;
    }
    for args in [
        &["check", "--profile", "debian-13"][..],
        // --only a check-only control: even a regression here could change nothing on the host.
        &[
            "apply",
            "--yes",
            "--allow-untested-release",
            "--profile",
            "rhel-10",
            "--only",
            "os.supported",
        ][..],
        &[
            "apply",
            "--yes",
            "--allow-untested-release",
            "--profile",
            "debian-13",
            "--only",
            "os.supported",
        ][..],
    ] {
        let r = Handover::new(args).run();
        r.expect_code(2);
        assert!(
            r.stderr()
                .contains("but this device runs debian 12: refusing to"),
            "{args:?}: {}",
            r.stderr()
        );
    }
    // On a release a profile matches, the flag changes nothing (here: apply still wants --yes).
    let r = Handover::new(&[
        "apply",
        "--allow-untested-release",
        "--only",
        "os.supported",
    ])
    .run();
    r.expect_code(2);
    assert!(
        r.stderr().contains("needs --yes") || r.stderr().contains("must run as root"),
        "{}",
        r.stderr()
    );
    assert!(!r.stderr().contains("untested"), "{}", r.stderr());
}

#[test]
fn unknown_site_key_is_exit_2_naming_file_line_and_key() {
    let (_d, path) =
        site("[vpn]\ngateway = \"vpn.example.ac.uk\"\n\n[firewall]\nallow_all = true\n");
    let r = Handover::new(&["plan", "--site", s(&path)]).run();
    r.expect_code(2);
    let e = r.stderr();
    assert!(e.contains(&format!("{}:5:", path.display())), "{e}");
    assert!(e.contains("firewall.allow_all"), "{e}");
    assert!(r.stdout().is_empty());
}

#[test]
fn malformed_waiver_is_exit_2() {
    let (_d, path) = site("[[waiver]]\ncontrol = \"os.supported\"\nreason = \"r\"\napproved_by = \"a\"\nticket = \"t\"\nexpires = 2027-01-31T10:00:00Z\n");
    let r = Handover::new(&["check", "--site", s(&path)]).run();
    r.expect_code(2);
    assert!(r.stderr().contains("waiver.0.expires"), "{}", r.stderr());
}

#[test]
fn explicit_site_that_does_not_exist_is_exit_2() {
    Handover::new(&["plan", "--site", "/nonexistent/site.toml"])
        .run()
        .expect_code(2);
}

#[test]
fn group_writable_site_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, path) = site(SITE);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = Handover::new(&["plan", "--site", s(&path)]).run();
    r.expect_code(2);
    assert!(
        r.stderr().contains("writable by group or others"),
        "{}",
        r.stderr()
    );
}

#[test]
fn check_refuses_a_profile_for_another_os() {
    let r = Handover::new(&["check", "--profile", "rhel-9"]).run();
    r.expect_code(2);
    assert!(r.stderr().contains("refusing to check"), "{}", r.stderr());
}

#[test]
fn unknown_only_id_is_exit_2() {
    let r = Handover::new(&["check", "--only", "firewall.enabeld"]).run();
    r.expect_code(2);
    assert!(r.stderr().contains("unknown control"), "{}", r.stderr());
}

#[test]
fn plan_of_another_os_describes_without_running() {
    let (_d, path) = site(SITE);
    let r = Handover::new(&[
        "plan",
        "--profile",
        "fedora",
        "--site",
        s(&path),
        "--format",
        "json",
    ])
    .run();
    r.expect_code(1);
    let j = r.json();
    assert_eq!(j["profile"]["name"], "fedora");
    let fw = j["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "firewall.enabled")
        .unwrap();
    assert_eq!(fw["status"], "manual");
    assert!(
        fw["reason"].as_str().unwrap().contains("not checked"),
        "{fw}"
    );
}

#[test]
fn check_json_is_one_document_with_every_control() {
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
    let j = r.json();
    assert_eq!(j["tool"]["name"], "handover");
    assert_eq!(j["mode"], "check");
    assert_eq!(j["scope"], "full");
    assert!(j["profile"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    let controls = j["controls"].as_array().unwrap();
    assert_eq!(controls.len(), 20);
    for c in controls {
        for k in [
            "id",
            "title",
            "policy",
            "status",
            "changed",
            "reason",
            "observed",
            "duration_ms",
        ] {
            assert!(c.get(k).is_some(), "{k} missing in {c}");
        }
        assert!(
            [
                "pass",
                "fail",
                "error",
                "waived",
                "not-applicable",
                "manual"
            ]
            .contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
    }
    let compliant = j["summary"]["compliant"].as_bool().unwrap();
    assert_eq!(r.code(), if compliant { 0 } else { 1 });
    // Office and Teams are never a silent pass on Linux.
    let office = controls
        .iter()
        .find(|c| c["id"] == "apps.office365")
        .unwrap();
    assert_eq!(office["status"], "not-applicable");
    // The agent key is a secret: not in the report.
    assert!(!r.stdout().contains("RELAY-KEY-s3cr3t-0001"));
}

#[test]
fn check_writes_a_private_chained_record() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, path) = site(SITE);
    let r = Handover::new(&[
        "check",
        "--site",
        s(&path),
        "--only",
        "os.supported",
        "--format",
        "json",
    ])
    .run();
    r.expect_code(0);
    let state = r.state.path().to_path_buf();
    let j = r.json();
    assert_eq!(j["scope"], "partial");
    assert!(j["summary"]["compliant"].is_null());
    let records: Vec<_> = std::fs::read_dir(state.join("records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(
        std::fs::metadata(&records[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(state.join("records"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&records[0]).unwrap()).unwrap();
    assert!(rec["previous"].is_null());
    assert!(!std::fs::read_to_string(&records[0])
        .unwrap()
        .contains("RELAY-KEY-s3cr3t-0001"));
}

#[test]
fn os_supported_follows_the_injected_clock() {
    // Debian 12: regular support to 2026-07-11, LTS to 2028-06-30 (profiles/lifecycle.toml).
    if !crate::support::on_debian_12(
        "this test reads the lifecycle of the Debian 12 host it runs on",
    ) {
        return;
    }
    let status = |now: &str| {
        let r = Handover::new(&["check", "--only", "os.supported", "--format", "json"])
            .env("HANDOVER_NOW", now)
            .run();
        let j = r.json();
        (
            j["controls"][0]["status"].as_str().unwrap().to_string(),
            j["controls"][0]["reason"].as_str().unwrap().to_string(),
        )
    };
    let (st, why) = status("2026-01-01T00:00:00Z");
    assert_eq!(st, "pass");
    assert!(why.contains("until 2026-07-11"), "{why}");
    let (st, why) = status("2027-01-01T00:00:00Z");
    assert_eq!(st, "pass");
    assert!(why.contains("2028-06-30"), "{why}");
    let (st, why) = status("2028-07-01T00:00:00Z");
    assert_eq!(st, "fail");
    assert!(why.contains("ended 2028-06-30"), "{why}");
}

#[test]
fn waiver_turns_a_failure_into_waived_and_expires() {
    if !crate::support::on_debian_12("needs the Debian 12 lifecycle of the host") {
        return;
    }
    let (_d, path) = site("[[waiver]]\ncontrol = \"os.supported\"\nreason = \"awaiting hardware refresh\"\napproved_by = \"Faculty Director of Operations\"\nticket = \"RITM0012345\"\nexpires = 2028-12-31\n");
    let run = |now: &str| {
        Handover::new(&[
            "check",
            "--site",
            s(&path),
            "--only",
            "os.supported",
            "--format",
            "json",
        ])
        .env("HANDOVER_NOW", now)
        .run()
        .json()
    };
    let j = run("2028-07-01T00:00:00Z");
    assert_eq!(j["controls"][0]["status"], "waived");
    assert_eq!(j["controls"][0]["waiver"]["ticket"], "RITM0012345");
    let j = run("2029-01-02T00:00:00Z");
    assert_eq!(j["controls"][0]["status"], "fail");
    assert!(j["controls"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("waiver expired on 2028-12-31"));
}

#[test]
fn apply_without_yes_off_a_terminal_changes_nothing() {
    if !handover_is_root() {
        eprintln!(
            "SKIPPED: as a normal user apply stops earlier, at the root check (tested below)"
        );
        return;
    }
    let (_d, path) = site(
        SITE.replace("LsAgent-linux-x64.run", "/nonexistent")
            .as_str(),
    );
    let r = Handover::new(&["apply", "--user", "jdoe", "--site", s(&path)]).run();
    r.expect_code(2);
    assert!(r.stderr().contains("--yes"), "{}", r.stderr());
}

#[test]
fn apply_with_a_missing_site_key_exits_2_before_any_change() {
    if !handover_is_root() {
        eprintln!("SKIPPED: needs root to get past the root check");
        return;
    }
    let (_d, path) = site("[accounts]\nallowed = []\n");
    let r = Handover::new(&["apply", "--yes", "--user", "jdoe", "--site", s(&path)]).run();
    r.expect_code(2);
    let e = r.stderr();
    assert!(
        e.contains("apps.fortinet-vpn needs `vpn.gateway`") && e.contains("nothing changed"),
        "{e}"
    );
}

#[test]
fn apply_as_a_normal_user_is_refused() {
    if !handover_is_root() || !crate::support::have("setpriv") {
        eprintln!("SKIPPED: needs root to drop to another user");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_handover");
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin,
            "apply",
            "--yes",
            "--only",
            "os.supported",
        ])
        .env("HANDOVER_STATE_DIR", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must run as root"));
}

fn handover_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"))
}

#[test]
fn facts_json() {
    let r = Handover::new(&["facts", "--format", "json"]).run();
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["os"]["family"], "linux");
    assert!(j["hostname"].is_string());
}

#[test]
fn bad_flag_is_exit_2() {
    Handover::new(&["check", "--frmat", "json"])
        .run()
        .expect_code(2);
}

#[test]
fn artifacts_verify_names_missing_and_mismatching_installers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.run"), b"good").unwrap();
    std::fs::write(dir.path().join("bad.run"), b"tampered").unwrap();
    let good = handover::support::hashing::sha256_bytes(b"good");
    let site_text = format!(
        "[artifacts.good]\nurl = \"good.run\"\nsha256 = \"{good}\"\n[artifacts.bad]\nurl = \"bad.run\"\nsha256 = \"{good}\"\n\
         [artifacts.gone]\nurl = \"https://example.ac.uk/gone.run\"\nsha256 = \"{good}\"\n"
    );
    let path = dir.path().join("site.toml");
    std::fs::write(&path, site_text).unwrap();
    let cache = dir.path().join("cache");
    let r = Handover::new(&[
        "artifacts",
        "verify",
        "--site",
        s(&path),
        "--cache",
        s(&cache),
    ])
    .run();
    r.expect_code(1);
    let out = r.stdout();
    assert!(
        out.lines()
            .any(|l| l.starts_with("ok") && l.contains("good.run")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("MISMATCH")
            && l.contains(&format!(
                "the site expects {good}, the file has {}",
                handover::support::hashing::sha256_bytes(b"tampered")
            ))),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("MISSING") && l.contains("gone")),
        "{out}"
    );
    // With the download in the cache and the tampered file fixed, all is well.
    std::fs::create_dir_all(cache.join("sha256")).unwrap();
    std::fs::write(cache.join("sha256").join(&good), b"good").unwrap();
    std::fs::write(dir.path().join("bad.run"), b"good").unwrap();
    Handover::new(&[
        "artifacts",
        "verify",
        "--site",
        s(&path),
        "--cache",
        s(&cache),
    ])
    .run()
    .expect_code(0);
}
