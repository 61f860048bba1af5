//! `lifecycle import` from an endoflife.date export, and the imported table in use (read-only).

use crate::support::{s, Handover};

#[test]
fn an_imported_table_is_written_and_then_read_by_plan() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lifecycle.toml");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lifecycle/debian-v0.json"
    );
    let run = Handover::new(&[
        "lifecycle",
        "import",
        fixture,
        "--product",
        "debian",
        "--out",
        s(&out),
    ])
    .run();
    run.expect_code(0);
    let table = std::fs::read_to_string(&out).unwrap();
    assert!(table.contains("version = \"14\""), "{table}");
    assert!(table.contains("endoflife.date import of debian"), "{table}");
    // The rendered os.supported check of the next run carries the imported row.
    let rendered = dir.path().join("rendered");
    Handover::new(&["render", "--profile", "debian-12", "--out", s(&rendered)])
        .env("HANDOVER_LIFECYCLE", s(&out))
        .run()
        .expect_code(0);
    let script = std::fs::read_to_string(rendered.join("os.supported.check.sh"))
        .or_else(|_| {
            std::fs::read_dir(&rendered)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.to_string_lossy().contains("os.supported")
                        && p.to_string_lossy().contains("check")
                })
                .map(std::fs::read_to_string)
                .unwrap()
        })
        .unwrap();
    assert!(
        script.contains("20300814"),
        "the imported Debian 14 date is in the rendered check"
    );
    // Importing the same file again changes nothing.
    let before = std::fs::read(&out).unwrap();
    Handover::new(&[
        "lifecycle",
        "import",
        fixture,
        "--product",
        "debian",
        "--out",
        s(&out),
    ])
    .run()
    .expect_code(0);
    assert_eq!(std::fs::read(&out).unwrap(), before);
    // Bad input names the file and the JSON path.
    let bad = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lifecycle/bad-date-v0.json"
    );
    let run = Handover::new(&[
        "lifecycle",
        "import",
        bad,
        "--product",
        "debian",
        "--out",
        s(&out),
    ])
    .run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("bad-date-v0.json") && run.stderr().contains(".eol"),
        "{}",
        run.stderr()
    );
}

/// The Linux `os.supported` check, rendered as shipped, read against an os-release fixture instead of the
/// host's (the only change to the script), on 2026-12-05: every release handover has a profile for, and
/// one it does not know.
#[test]
fn os_supported_judges_todays_linux_releases_on_2026_12_05() {
    let (dir, files) = crate::support::render_files("debian-13", crate::support::SITE, &["sh"]);
    let (_, script) = files
        .iter()
        .find(|(n, _)| n.starts_with("os.supported"))
        .expect("os.supported is rendered");
    assert!(script.contains(". /etc/os-release"));
    let fixture = dir.path().join("os-release");
    let script = script.replace(". /etc/os-release", &format!(". '{}'", fixture.display()));
    // subscription-manager as RHEL prints it when the device is subscribed, or not.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let run = |id: &str, version: &str, subscribed: bool| -> serde_json::Value {
        std::fs::write(&fixture, format!("ID={id}\nVERSION_ID=\"{version}\"\n")).unwrap();
        let sm = bin.join("subscription-manager");
        let overall = if subscribed { "Current" } else { "Unknown" };
        std::fs::write(
            &sm,
            format!("#!/bin/sh\necho 'Overall Status: {overall}'\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&sm, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("HANDOVER_TODAY", "20261205")
            .env("HANDOVER_STATE_DIR", dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or("null");
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{id} {version}: {e}: {stdout}"))
    };
    for (id, version, subscribed, compliant, because) in [
        ("debian", "12", false, true, "Debian LTS until 2028-06-30"),
        ("debian", "13", false, true, "until 2028-08-09"),
        ("ubuntu", "22.04", false, true, "until 2027-04-01"),
        ("ubuntu", "24.04", false, true, "until 2029-05-31"),
        ("ubuntu", "26.04", false, true, "until 2031-04-30"),
        ("rhel", "9.6", true, true, "until 2032-05-31"),
        ("rhel", "10.1", true, true, "until 2035-05-31"),
        (
            "rhel",
            "10.1",
            false,
            false,
            "only when enrolled (subscription)",
        ),
        ("rocky", "9.6", false, true, "until 2032-05-31"),
        ("rocky", "10.1", false, true, "until 2035-05-31"),
        ("almalinux", "10.1", false, true, "until 2035-05-31"),
        ("fedora", "42", false, false, "ended 2026-05-27"),
        ("fedora", "43", false, true, "until 2026-12-09"),
        ("fedora", "44", false, true, "until 2027-06-02"),
        ("fedora", "45", false, true, "until 2027-12-08"),
    ] {
        let v = run(id, version, subscribed);
        assert_eq!(v["compliant"], compliant, "{id} {version}: {v}");
        assert!(v.get("status").is_none(), "{id} {version}: {v}");
        let why = v["reason"].as_str().unwrap();
        assert!(why.contains(because), "{id} {version}: {why}");
    }
    let v = run("debian", "14", false);
    assert_eq!(v["status"], "error", "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("handover lifecycle import"),
        "{v}"
    );
}
