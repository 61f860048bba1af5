//! Rendered scripts are code: every one parses (sh -n, dash -n), passes shellcheck, carries no secret, and
//! is pinned by a snapshot; hostile site values arrive as literal strings.

use std::path::Path;
use std::process::Command;

use handover::inputs::profile::Sources;
use handover::inputs::site::Site;
use handover::plan::Resolved;

use crate::support::{have, SITE};

fn render(profile: &str) -> (tempfile::TempDir, Vec<(String, String)>) {
    crate::support::render_files(profile, SITE, &["sh"])
}

const PROFILES: &[&str] = &[
    "debian-12",
    "debian-13",
    "ubuntu-22.04",
    "ubuntu-24.04",
    "ubuntu-26.04",
    "rhel-9",
    "rhel-10",
    "fedora",
];

#[test]
fn every_rendered_script_parses_in_sh_and_dash() {
    let shells: Vec<Vec<&str>> = ["sh", "dash"]
        .into_iter()
        .filter(|s| have(s))
        .map(|s| vec![s])
        .collect();
    for p in PROFILES {
        let (dir, files) = render(p);
        crate::support::assert_every_script_rendered(p, &files, "sh");
        let paths: Vec<_> = files.iter().map(|(n, _)| dir.path().join(n)).collect();
        crate::support::assert_parses_in(&shells, &paths);
    }
}

#[test]
fn every_rendered_script_passes_shellcheck() {
    for p in PROFILES {
        let (dir, files) = render(p);
        let paths: Vec<_> = files.iter().map(|(n, _)| dir.path().join(n)).collect();
        // SC1091: /etc/os-release is not there to follow.
        crate::support::assert_shellcheck_clean(p, &["-e", "SC1091"], &paths);
    }
}

#[test]
fn no_secret_in_rendered_scripts() {
    for p in PROFILES {
        let (dir, files) = render(p);
        for (name, text) in &files {
            assert!(
                !text.contains("RELAY-KEY-s3cr3t-0001"),
                "{p}/{name} holds the agent key"
            );
        }
        let index = std::fs::read_to_string(dir.path().join("index.json")).unwrap();
        assert!(!index.contains("RELAY-KEY-s3cr3t-0001"));
    }
}

#[test]
fn rendered_scripts_are_pinned() {
    for p in ["debian-12", "rhel-9"] {
        let (_dir, files) = render(p);
        let all: String = files
            .iter()
            .map(|(n, t)| format!("==> {n} <==\n{t}\n"))
            .collect();
        insta::assert_snapshot!(format!("rendered-{p}"), all);
    }
}

/// The profiles for today's releases say their scripts are those of the release before, except where
/// the vendor changed something (each profile's comment cites it): pin that, so a template a new release
/// needs is a visible change of its profile, not a silent one of both.
#[test]
fn todays_releases_render_the_scripts_of_the_release_before() {
    // EPEL 10 renamed freshclam's package: only the ClamAV scripts differ on EL10.
    for (new, old, differ) in [
        ("debian-13", "debian-12", &[][..]),
        ("ubuntu-26.04", "ubuntu-24.04", &[][..]),
        (
            "rhel-10",
            "rhel-9",
            &[
                "endpoint.protection.apply.sh",
                "endpoint.protection.check.sh",
            ][..],
        ),
    ] {
        let (_a, new_files) = render(new);
        let (_b, old_files) = render(old);
        assert_eq!(
            new_files.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            old_files.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            "{new} vs {old}"
        );
        let changed: Vec<&str> = new_files
            .iter()
            .zip(&old_files)
            .filter(|((_, n), (_, o))| n != o)
            .map(|((name, _), _)| name.as_str())
            .collect();
        assert_eq!(changed, differ, "{new} vs {old}");
    }
}

#[test]
fn templates_never_use_raw_output_or_quote_values_in_double_quotes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                !text.contains("{{{") && !text.contains("{{&"),
                "{}: raw output",
                p.display()
            );
            // PowerShell expands $(…) inside "…" too, and escapes with a backtick.
            let escape = if p.extension().is_some_and(|e| e == "ps1") {
                '`'
            } else {
                '\\'
            };
            if p.extension().is_some_and(|e| e == "sh" || e == "ps1") {
                for (i, line) in text.lines().enumerate() {
                    // A comment ends at a newline, which no escaping can keep inside it.
                    assert!(
                        !(line.trim_start().starts_with('#') && line.contains("{{")),
                        "{}:{}: a value in a comment: {line}",
                        p.display(),
                        i + 1
                    );
                    // A value inside "…" would be single-quoted text inside double quotes: not a literal.
                    let mut in_dq = false;
                    let mut chars = line.char_indices().peekable();
                    while let Some((at, c)) = chars.next() {
                        match c {
                            c if c == escape => {
                                chars.next();
                            }
                            '\'' if !in_dq => {
                                for (_, c2) in chars.by_ref() {
                                    if c2 == '\'' {
                                        break;
                                    }
                                }
                            }
                            '"' => in_dq = !in_dq,
                            '{' if in_dq
                                && line[at..].starts_with("{{")
                                && !line[at..].starts_with("{{#")
                                && !line[at..].starts_with("{{/")
                                && !line[at..].starts_with("{{else") =>
                            {
                                panic!(
                                    "{}:{}: a value inside double quotes: {line}",
                                    p.display(),
                                    i + 1
                                )
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn hostile_values_arrive_literally_through_a_shipped_template() {
    let hostile = [
        "x'; touch /tmp/handover-hostile-1 #",
        "$(touch /tmp/handover-hostile-2)",
        "`touch /tmp/handover-hostile-3`",
        "a;touch /tmp/handover-hostile-4",
        "two\nlines;touch /tmp/handover-hostile-5",
        "\"dq\"\\$HOME",
    ];
    for n in 1..=5 {
        let _ = std::fs::remove_file(format!("/tmp/handover-hostile-{n}"));
    }
    let sources = Sources::default();
    let profile = sources.load("debian-12").unwrap();
    let mut site = Site::parse(
        Path::new("/t/site.toml"),
        "",
        &handover::inputs::profile::control_ids(),
    )
    .unwrap();
    // Site validation would refuse these names; the point here is the escaping behind it.
    site.context["accounts"]["allowed"] = serde_json::json!(hostile);
    let resolved = Resolved::new(&sources, profile, site).unwrap();
    let script = resolved
        .controls
        .iter()
        .find(|p| p.control.id == "accounts.allowed")
        .unwrap()
        .scripts
        .check()
        .unwrap()
        .to_string();
    let out = Command::new("/bin/sh")
        .args(["-c", &script, "accounts.allowed"])
        .env("HANDOVER_USER", "jdoe")
        .env("HANDOVER_ADMIN_USER", "jdoe-admin")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let j: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    // The check joins the allowed names with spaces on one line (newlines fold to spaces).
    let expected = format!("jdoe jdoe-admin {}", hostile.join(" ").replace('\n', " "));
    assert_eq!(j["observed"]["allowed"], expected.as_str());
    for n in 1..=5 {
        assert!(
            !Path::new(&format!("/tmp/handover-hostile-{n}")).exists(),
            "hostile value {n} ran"
        );
    }
}

/// The Linux `apps.lansweeper` check against an LsAgent.ini in a temporary directory and a `systemctl`
/// stand-in that lists one active LsAgent unit. (The real directory, /opt/LansweeperAgent, is replaced
/// in the rendered text: the check must not read this machine's.)
fn lansweeper_check(ini: &str) -> serde_json::Value {
    let (_out, files) = render("debian-12");
    let script = &files
        .iter()
        .find(|(n, _)| n == "apps.lansweeper.check.sh")
        .unwrap()
        .1;
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("LansweeperAgent");
    std::fs::create_dir(&agent).unwrap();
    std::fs::write(agent.join("LsAgent.ini"), ini).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let stub = bin.join("systemctl");
    std::fs::write(
        &stub,
        "#!/bin/sh\necho 'LansweeperAgent.service loaded active running Lansweeper agent'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.replace("/opt/LansweeperAgent", agent.to_str().unwrap());
    let out = Command::new("/bin/sh")
        .args(["-c", &script, "apps.lansweeper"])
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin:/usr/sbin:/sbin", bin.display()),
        )
        // 2026-11-25T12:00:00Z
        .env("HANDOVER_NOW_EPOCH", "1795608000")
        .env("HANDOVER_SECRET_LANSWEEPER_AGENT_KEY", "RELAY-KEY")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("{e}: {line} {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn lansweeper_reads_lsagent_ini_and_never_fails_on_what_it_cannot_read() {
    let base = "Server=lansweeper.example.ac.uk\nPort=9524\n";
    // Key and date where the agent writes them: a recent upload passes, an old one fails.
    let j = lansweeper_check(&format!(
        "{base}AgentKey=RELAY-KEY\nLastSent=2026-11-24 08:30:00\n"
    ));
    assert_eq!(j["compliant"], true, "{j}");
    assert_eq!(j["observed"]["agent_key"], "matches");
    assert_eq!(j["observed"]["last_upload_days"], "1");
    let j = lansweeper_check(&format!(
        "{base}AgentKey=RELAY-KEY\nLastSent=2026-11-01 08:30:00\n"
    ));
    assert_eq!(j["compliant"], false, "{j}");
    assert!(j["reason"].as_str().unwrap().contains("24 days ago"), "{j}");
    // An older agent's LastScan counts the same.
    let j = lansweeper_check(&format!("{base}LastScan=2026-10-01\n"));
    assert_eq!(j["compliant"], false, "{j}");
    // No key and no date in the file: said, not failed (else the apply reinstalls LsAgent every run).
    let j = lansweeper_check(base);
    assert_eq!(j["compliant"], true, "{j}");
    assert_eq!(
        j["observed"]["agent_key"],
        "not readable: LsAgent.ini holds no AgentKey"
    );
    assert_eq!(j["observed"]["last_sent"], "not recorded in LsAgent.ini");
    let j = lansweeper_check(&format!("{base}LastSent=sometime last week\n"));
    assert_eq!(j["compliant"], true, "{j}");
    assert_eq!(
        j["observed"]["last_sent"],
        "not readable: sometime last week"
    );
    // A key that is there and differs, or another server, still fails.
    let j = lansweeper_check(&format!("{base}AgentKey=OTHER\n"));
    assert_eq!(j["compliant"], false, "{j}");
    let j = lansweeper_check("Server=other.example\nPort=9524\n");
    assert_eq!(j["compliant"], false, "{j}");
}

/// The Debian `updates.pending` check against package lists in a temporary directory, an `apt-get`
/// stand-in that prints `sim` as its simulated upgrade, and `state` as handover's state directory.
fn apt_pending_check(site: &str, lists: &Path, state: &Path, sim: &str) -> serde_json::Value {
    let (_out, files) = crate::support::render_files("debian-12", site, &["sh"]);
    let script = &files
        .iter()
        .find(|(n, _)| n == "updates.pending.check.sh")
        .unwrap()
        .1;
    let bin = state.parent().unwrap().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("apt-get");
    std::fs::write(&stub, "#!/bin/sh\nprintf '%s\\n' \"$APT_SIM\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.replace("/var/lib/apt/lists", lists.to_str().unwrap());
    let out = Command::new("/bin/sh")
        .args(["-c", &script, "updates.pending"])
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin:/usr/sbin:/sbin", bin.display()),
        )
        .env("APT_SIM", sim)
        .env("HANDOVER_STATE_DIR", state)
        // 2026-11-25T12:00:00Z
        .env("HANDOVER_NOW_EPOCH", "1795608000")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("{e}: {line} {}", String::from_utf8_lossy(&out.stderr)))
}

fn security_release(date: Option<&str>) -> String {
    format!(
        "Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\nCodename: bookworm-security\nVersion: 12\n{}Architectures: all amd64\nSHA256:\n 0123 456 Packages\n",
        date.map(|d| format!("Date: {d}\n")).unwrap_or_default()
    )
}

#[test]
fn apt_pending_updates_report_their_age_from_the_archive_date_and_remember_it() {
    let dir = tempfile::tempdir().unwrap();
    let lists = dir.path().join("lists");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let rel = lists.join("_srv_security_._Release");
    // The main archive's InRelease (signed, a zone offset) holds a newer Date; its update is no security one.
    std::fs::write(
        lists.join("deb.debian.org_debian_dists_bookworm_InRelease"),
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Debian\nLabel: Debian\nSuite: stable\nVersion: 12.8\nDate: Tue, 24 Nov 2026 10:21:41 +0100\n-----BEGIN PGP SIGNATURE-----\n\niQIz\n-----END PGP SIGNATURE-----\n",
    )
    .unwrap();
    let sim = "NOTE: This is only a simulation!\n\
               Inst libfoo [2] (3 Debian:12.8/stable [amd64])\n\
               Inst handover-e2e-probe [1.0] (1.1 Debian-Security:12/stable-security [all])\n\
               Conf handover-e2e-probe (1.1 Debian-Security:12/stable-security [all])";
    // First check on this device: the security archive's Release is dated 30 days before now.
    std::fs::write(
        &rel,
        security_release(Some("Mon, 26 Oct 2026 12:00:00 UTC")),
    )
    .unwrap();
    let j = apt_pending_check(SITE, &lists, &state, sim);
    assert_eq!(j["compliant"], false, "{j}");
    assert_eq!(j["observed"]["oldest_pending_days"], 30, "{j}");
    assert_eq!(j["observed"]["max_age_days"], 14, "{j}");
    assert_eq!(j["observed"]["pending"], "handover-e2e-probe", "{j}");
    assert_eq!(j["observed"]["oldest_pending"], "handover-e2e-probe 1.1");
    assert_eq!(
        j["observed"]["oldest_pending_source"],
        "apt: Date of _srv_security_._Release"
    );
    let reason = j["reason"].as_str().unwrap();
    assert!(reason.contains("past the 14-day window"), "{reason}");
    // The cached answer says the same.
    let j = apt_pending_check(SITE, &lists, &state, sim);
    assert_eq!(j["observed"]["source"], "cache", "{j}");
    assert_eq!(j["observed"]["oldest_pending_days"], 30, "{j}");
    // `apt update` fetches a newer Release (dated 2 days ago): the update is no younger for it.
    std::fs::write(
        &rel,
        security_release(Some("Mon, 23 Nov 2026 12:00:00 UTC")),
    )
    .unwrap();
    std::fs::remove_dir_all(state.join("cache")).unwrap();
    let j = apt_pending_check(SITE, &lists, &state, sim);
    assert_eq!(j["observed"]["source"], "apt-get", "{j}");
    assert_eq!(j["observed"]["oldest_pending_days"], 30, "{j}");
    // A site window of 45 days: still failing, the wording says it is within the window.
    let site45 = format!("{SITE}\n[updates]\nmax_age_days = 45\n");
    std::fs::remove_dir_all(state.join("cache")).unwrap();
    let j = apt_pending_check(&site45, &lists, &state, sim);
    assert_eq!(j["compliant"], false, "{j}");
    assert_eq!(j["observed"]["max_age_days"], 45, "{j}");
    let reason = j["reason"].as_str().unwrap();
    assert!(
        reason.contains("within the 45-day window") && !reason.contains("past the"),
        "{reason}"
    );
    // Once installed, nothing waits: no age, and the memory of it is gone.
    std::fs::remove_dir_all(state.join("cache")).unwrap();
    let j = apt_pending_check(SITE, &lists, &state, "NOTE: This is only a simulation!");
    assert_eq!(j["compliant"], true, "{j}");
    assert!(j["observed"].get("oldest_pending_days").is_none(), "{j}");
    assert!(!state.join("updates-pending.seen").exists());
}

#[test]
fn apt_pending_update_age_on_a_first_check_uses_the_release_date_or_its_file_time() {
    let sim = "Inst handover-e2e-probe [1.0] (1.1 Debian-Security:12/stable-security [all])";
    // A fresh update, inside the window; the Date in another zone (+0100: 12:00 UTC).
    let dir = tempfile::tempdir().unwrap();
    let (lists, state) = (dir.path().join("lists"), dir.path().join("state"));
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let rel = lists.join("_srv_security_._Release");
    std::fs::write(
        &rel,
        security_release(Some("Sun, 22 Nov 2026 13:00:00 +0100")),
    )
    .unwrap();
    let j = apt_pending_check(SITE, &lists, &state, sim);
    assert_eq!(j["observed"]["oldest_pending_days"], 3, "{j}");
    let reason = j["reason"].as_str().unwrap();
    assert!(
        reason.contains("within the 14-day window") && !reason.contains("past the"),
        "{reason}"
    );
    // No Date in the Release file: its modification time, said so.
    let dir = tempfile::tempdir().unwrap();
    let (lists, state) = (dir.path().join("lists"), dir.path().join("state"));
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let rel = lists.join("_srv_security_._Release");
    std::fs::write(&rel, security_release(None)).unwrap();
    let touched = Command::new("touch")
        .args(["-d", "2026-11-05T12:00:00Z"])
        .arg(&rel)
        .status()
        .unwrap();
    assert!(touched.success());
    let j = apt_pending_check(SITE, &lists, &state, sim);
    assert_eq!(j["observed"]["oldest_pending_days"], 20, "{j}");
    assert!(
        j["observed"]["oldest_pending_source"]
            .as_str()
            .unwrap()
            .starts_with("apt: modification time of _srv_security_._Release"),
        "{j}"
    );
    assert!(j["reason"]
        .as_str()
        .unwrap()
        .contains("past the 14-day window"));
    // No Release file names the archive: handover's first sight, 0 days, said so.
    std::fs::remove_file(&rel).unwrap();
    std::fs::remove_dir_all(&state).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let j = apt_pending_check(SITE, &lists, &state, sim);
    assert_eq!(j["observed"]["oldest_pending_days"], 0, "{j}");
    assert!(
        j["observed"]["oldest_pending_source"]
            .as_str()
            .unwrap()
            .contains("first seen by handover"),
        "{j}"
    );
}

/// The RHEL `updates.pending` check with a `dnf` stand-in: `check-update` lists `pending` (exit 100, or 0
/// when empty) and `updateinfo info` prints `info`.
fn dnf_pending_check(pending: &str, info: &str) -> serde_json::Value {
    let (_out, files) = render("rhel-9");
    let script = &files
        .iter()
        .find(|(n, _)| n == "updates.pending.check.sh")
        .unwrap()
        .1;
    let dir = tempfile::tempdir().unwrap();
    let stub = dir.path().join("dnf");
    std::fs::write(
        &stub,
        "#!/bin/sh\ncase \"$*\" in\n  *check-update*) [ -n \"$PENDING\" ] || exit 0; printf '%s\\n' \"$PENDING\"; exit 100 ;;\n  *updateinfo\\ info\\ --security*) printf '%s\\n' \"$INFO\" ;;\n  *) exit 1 ;;\nesac\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("/bin/sh")
        .args(["-c", script, "updates.pending"])
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin:/usr/sbin:/sbin", dir.path().display()),
        )
        .env("PENDING", pending)
        .env("INFO", info)
        .env("HANDOVER_STATE_DIR", dir.path())
        // 2026-11-25T12:00:00Z
        .env("HANDOVER_NOW_EPOCH", "1795608000")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("{e}: {line} {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn dnf_pending_updates_report_the_oldest_advisory_date_of_dnf4_and_dnf5() {
    let pending = "openssl-libs.x86_64  1:3.0.7-27.el9  rhel-9-baseos\nkernel.x86_64  5.14.0-427.el9  rhel-9-baseos";
    // dnf4 (RHEL 9): display_info's right-aligned labels, "Updated".
    let dnf4 = "===============================================================================\n  \
                Important: openssl security update\n\
                ===============================================================================\n  \
                Update ID : RHSA-2026:1111\n       Type : security\n    Updated : 2026-10-20 08:00:00\n       \
                CVEs : CVE-2026-0001\n\n\
                ===============================================================================\n  \
                Moderate: kernel security update\n\
                ===============================================================================\n  \
                Update ID : RHSA-2026:2222\n       Type : security\n    Updated : 2026-11-20 00:00:00\n";
    let j = dnf_pending_check(pending, dnf4);
    assert_eq!(j["compliant"], false, "{j}");
    assert_eq!(j["observed"]["oldest_pending_days"], 36, "{j}");
    assert_eq!(j["observed"]["oldest_pending"], "RHSA-2026:1111", "{j}");
    assert_eq!(j["observed"]["max_age_days"], 14, "{j}");
    let reason = j["reason"].as_str().unwrap();
    assert!(reason.contains("past the 14-day window"), "{reason}");
    // dnf5 (RHEL 10, Fedora): a key-value table with "Issued".
    let dnf5 = "Name        : FEDORA-2026-abc123\nTitle       : openssl-3.2.4-1.fc43\nSeverity    : Important\n\
                Type        : security\nStatus      : stable\nVendor      : Fedora Project\n\
                Issued      : 2026-11-21 17:30:00\nDescription : fixes\nReference   : \n \
                Title       : CVE-2026-0001\n Id          : 2350000\n";
    let j = dnf_pending_check(pending, dnf5);
    assert_eq!(j["observed"]["oldest_pending_days"], 3, "{j}");
    assert_eq!(j["observed"]["oldest_pending"], "FEDORA-2026-abc123", "{j}");
    let reason = j["reason"].as_str().unwrap();
    assert!(
        reason.contains("within the 14-day window") && !reason.contains("past the"),
        "{reason}"
    );
    // No dated advisory: the age is unknown, said so, and the control still fails.
    let j = dnf_pending_check(pending, "");
    assert_eq!(j["compliant"], false, "{j}");
    assert!(j["observed"]["oldest_pending_days"].is_null(), "{j}");
    assert!(j["observed"]["oldest_pending_source"]
        .as_str()
        .unwrap()
        .starts_with("unknown:"));
    // Nothing waiting.
    let j = dnf_pending_check("", dnf4);
    assert_eq!(j["compliant"], true, "{j}");
    assert!(j["observed"].get("oldest_pending_days").is_none(), "{j}");
}

/// The Linux batch of checks (templates/linux/_batch.sh, the profiles' `batch`) is code too: rendered with
/// every check of the profile, it parses in sh and dash and passes shellcheck like the scripts it runs.
#[test]
fn the_linux_batch_of_checks_parses_and_passes_shellcheck() {
    let shells: Vec<Vec<&str>> = ["sh", "dash"]
        .into_iter()
        .filter(|s| have(s))
        .map(|s| vec![s])
        .collect();
    for p in PROFILES {
        let sources = Sources::default();
        let profile = sources.load(p).unwrap();
        let site = Site::parse(
            Path::new("/t/site.toml"),
            SITE,
            &handover::inputs::profile::control_ids(),
        )
        .unwrap();
        let resolved = Resolved::new(&sources, profile, site).unwrap();
        let template = resolved.profile.vars["batch"]
            .as_str()
            .unwrap_or_else(|| panic!("{p} has no batch"))
            .to_string();
        let checks: Vec<_> = resolved
            .controls
            .iter()
            .filter(|c| c.scripts.check().is_some())
            .collect();
        assert!(checks.len() > 10, "{p}: {} checks", checks.len());
        let text = handover::engine::render_batch(&resolved, &template, &checks).unwrap();
        for c in &checks {
            assert!(
                text.contains(&format!("'{}'", c.control.id)),
                "{p}: {}",
                c.control.id
            );
        }
        // The helpers every check begins with (_lib.sh) are defined once, for all the checks: dash parses
        // them once instead of once per check (issue 18).
        assert_eq!(
            text.matches("\nlogin_def() {").count(),
            1,
            "{p}: _lib.sh is not defined once in the batch"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.sh");
        std::fs::write(&path, &text).unwrap();
        crate::support::assert_parses_in(&shells, std::slice::from_ref(&path));
        crate::support::assert_shellcheck_clean(p, &["-e", "SC1091"], &[path]);
    }
}
