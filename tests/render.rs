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
