//! The renderers of the three schedulers, `--at`, the atomic unit write and the status helpers.

// Tests run the generated scripts.
#![allow(clippy::disallowed_methods)]

use super::launchd::*;
use super::schtasks::*;
use super::systemd::*;
use super::*;
use crate::support::fsutil::{write_atomic, Perm};

/// systemd's reading of an `ExecStart=` line, for the cases these units produce: words split on
/// whitespace, double quotes removed, then `%%` → `%` and `$$` → `$`; the `-` prefix taken off the
/// unquoted first word (config_parse_exec, extract_first_word).
fn systemd_argv(line: &str) -> (bool, Vec<String>) {
    let rvalue = line.strip_prefix("ExecStart=").expect("an ExecStart line");
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut quoted = false;
    for c in rvalue.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.get_or_insert_with(String::new);
            }
            c if c.is_whitespace() && !quoted => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '\\' => panic!("no backslash escapes expected: {line}"),
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(!quoted, "unbalanced quotes: {line}");
    words.extend(cur);
    let ignore = words[0].starts_with('-');
    if ignore {
        words[0].remove(0);
    }
    let words = words
        .into_iter()
        .map(|w| w.replace("%%", "%").replace("$$", "$"))
        .collect();
    (ignore, words)
}

fn exec_lines(unit: &str) -> Vec<&str> {
    unit.lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect()
}

const APPLY: &str = "apply --yes --reason drift --only endpoint.protection --only apps.lansweeper --only apps.fortinet-vpn";

#[test]
fn service_runs_check_then_apply_of_the_security_controls() {
    let unit = render_service(Path::new("/usr/local/sbin/handover"), None).unwrap();
    assert_eq!(
        exec_lines(&unit),
        [
            "ExecStart=-/usr/local/sbin/handover check",
            &format!("ExecStart=/usr/local/sbin/handover {APPLY}")
        ]
    );
    for want in [
        "Type=oneshot",
        "SuccessExitStatus=1 3",
        "Nice=19",
        "IOSchedulingClass=idle",
        "After=network-online.target",
    ] {
        assert!(unit.lines().any(|l| l == want), "{want} missing:\n{unit}");
    }
}

#[test]
fn service_passes_the_site_to_both_commands() {
    let unit = render_service(
        Path::new("/usr/local/sbin/handover"),
        Some(Path::new("/etc/handover/site.toml")),
    )
    .unwrap();
    assert_eq!(
        exec_lines(&unit),
        [
            "ExecStart=-/usr/local/sbin/handover check --site /etc/handover/site.toml",
            &format!("ExecStart=/usr/local/sbin/handover {APPLY} --site /etc/handover/site.toml")
        ]
    );
}

#[test]
fn paths_with_spaces_are_quoted_for_systemd() {
    let unit = render_service(
        Path::new("/opt/handover tools/handover"),
        Some(Path::new("/etc/handover/my site.toml")),
    )
    .unwrap();
    let lines = exec_lines(&unit);
    assert_eq!(
        lines[0],
        "ExecStart=\"-/opt/handover tools/handover\" check --site \"/etc/handover/my site.toml\""
    );
    let (ignore, argv) = systemd_argv(lines[0]);
    assert!(ignore);
    assert_eq!(
        argv,
        [
            "/opt/handover tools/handover",
            "check",
            "--site",
            "/etc/handover/my site.toml"
        ]
    );
    let (ignore, argv) = systemd_argv(lines[1]);
    assert!(!ignore);
    assert_eq!(argv[0], "/opt/handover tools/handover");
    assert_eq!(argv.last().unwrap(), "/etc/handover/my site.toml");
}

#[test]
fn percent_and_dollar_are_escaped_for_systemd() {
    let unit = render_service(
        Path::new("/opt/100%/handover"),
        Some(Path::new("/etc/handover/$HOME%n.toml")),
    )
    .unwrap();
    let lines = exec_lines(&unit);
    assert_eq!(
        lines[0],
        "ExecStart=-/opt/100%%/handover check --site /etc/handover/$$HOME%%n.toml"
    );
    assert_eq!(
        systemd_argv(lines[0]).1,
        [
            "/opt/100%/handover",
            "check",
            "--site",
            "/etc/handover/$HOME%n.toml"
        ]
    );
}

#[test]
fn unit_refuses_what_systemd_cannot_carry() {
    for (exe, site) in [
        ("/opt/a\nExecStart=/bin/sh/handover", None),
        ("/opt/\"q\"/handover", None),
        ("/opt/back\\slash/handover", None),
        ("/opt/$x/handover", None),
        ("relative/handover", None),
        ("/usr/local/sbin/handover", Some("/etc/site\t.toml")),
        ("/usr/local/sbin/handover", Some("/etc/it's.toml")),
    ] {
        let e = render_service(Path::new(exe), site.map(Path::new))
            .expect_err(&format!("{exe:?} {site:?} accepted"));
        assert!(
            e.downcast_ref::<InputError>().is_some(),
            "a refusal (exit 2): {e:#}"
        );
    }
}

#[test]
fn timer_daily_weekly_and_at() {
    assert_eq!(on_calendar(Every::Daily, None), "daily");
    assert_eq!(on_calendar(Every::Weekly, None), "weekly");
    assert_eq!(on_calendar(Every::Daily, Some((7, 5))), "*-*-* 07:05:00");
    assert_eq!(
        on_calendar(Every::Weekly, Some((23, 59))),
        "Mon *-*-* 23:59:00"
    );
    let t = render_timer(Every::Daily, None);
    assert_eq!(
        t,
        "# Written by `handover schedule install`; `handover schedule remove` deletes it.\n\
         [Unit]\n\
         Description=handover: check the baseline and repair security software, daily at 00:00\n\
         \n\
         [Timer]\n\
         OnCalendar=daily\n\
         Persistent=true\n\
         RandomizedDelaySec=15min\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n"
    );
    let t = render_timer(Every::Weekly, Some((3, 30)));
    assert!(t.contains("\nOnCalendar=Mon *-*-* 03:30:00\n"), "{t}");
    assert!(t.contains("weekly on Monday at 03:30"), "{t}");
}

#[test]
fn at_is_parsed_and_checked() {
    assert_eq!(parse_at("00:00").unwrap(), (0, 0));
    assert_eq!(parse_at("7:05").unwrap(), (7, 5));
    assert_eq!(parse_at("23:59").unwrap(), (23, 59));
    for bad in [
        "24:00", "12:60", "12", "12:5", "1230", "-1:00", "12:30:00", " 12:30", "",
    ] {
        assert!(parse_at(bad).is_err(), "{bad:?} accepted");
    }
    assert!(check_at(Some((24, 0))).is_err());
    assert!(check_at(Some((0, 0))).is_ok());
}

#[test]
fn windows_cmd_runs_check_then_apply() {
    let cmd = render_cmd(
        r"C:\Program Files\handover\handover.exe",
        Some(r"C:\ProgramData\handover\site.toml"),
    )
    .unwrap();
    assert_eq!(
        cmd,
        "@echo off\r\n\
         rem Written by `handover schedule install`; `handover schedule remove` deletes it.\r\n\
         rem Runs as SYSTEM: a full check and its record (ITP07 9), then security software put back\r\n\
         rem at once, without asking (ITP07 7.1.4).\r\n\
         setlocal DisableDelayedExpansion\r\n\
         \"C:\\Program Files\\handover\\handover.exe\" check --site \"C:\\ProgramData\\handover\\site.toml\"\r\n\
         \"C:\\Program Files\\handover\\handover.exe\" apply --yes --reason drift --only endpoint.protection --only apps.lansweeper --only apps.fortinet-vpn --site \"C:\\ProgramData\\handover\\site.toml\"\r\n\
         exit /b %ERRORLEVEL%\r\n"
    );
    let plain = render_cmd(r"C:\handover\handover.exe", None).unwrap();
    assert!(
        plain.contains("\r\n\"C:\\handover\\handover.exe\" check\r\n"),
        "{plain}"
    );
    assert!(!plain.contains("--site"));
}

#[test]
fn windows_cmd_refuses_batch_metacharacters() {
    for c in ['%', '^', '&', '|', '<', '>', '"', '!', '\n', '\r'] {
        let exe = format!(r"C:\tools{c}x\handover.exe");
        assert!(
            render_cmd(&exe, None).is_err(),
            "{c:?} in the binary's path"
        );
        let site = format!(r"C:\ProgramData\handover\site{c}.toml");
        assert!(
            render_cmd(r"C:\handover\handover.exe", Some(&site)).is_err(),
            "{c:?} in the site's path"
        );
    }
    for not_local in [
        r"\\server\share\handover.exe",
        "handover.exe",
        r"C:handover.exe",
    ] {
        assert!(render_cmd(not_local, None).is_err(), "{not_local}");
    }
}

#[test]
fn schtasks_argv_daily_and_weekly() {
    let cmd = r"C:\ProgramData\handover\schedule-check.cmd";
    assert_eq!(
        schtasks_create_args(Every::Daily, (12, 0), cmd).unwrap(),
        [
            "/Create",
            "/F",
            "/RU",
            "SYSTEM",
            "/RL",
            "HIGHEST",
            "/SC",
            "DAILY",
            "/ST",
            "12:00",
            "/TN",
            r"handover\check",
            "/TR",
            r#""C:\ProgramData\handover\schedule-check.cmd""#
        ]
    );
    let weekly = schtasks_create_args(Every::Weekly, (7, 5), cmd).unwrap();
    assert_eq!(
        weekly[6..12],
        ["/SC", "WEEKLY", "/D", "MON", "/ST", "07:05"]
    );
    let long = format!(r"C:\{}\schedule-check.cmd", "d".repeat(250));
    assert!(schtasks_create_args(Every::Daily, (12, 0), &long).is_err());
    assert!(schtasks_create_args(Every::Daily, (12, 0), r"C:\100%\x.cmd").is_err());
}

fn plist_doc(text: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse_with_options(
        text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("not well-formed: {e}\n{text}"))
}

/// The values of a plist `<dict>`, by key.
fn dict_get<'a, 'i>(dict: roxmltree::Node<'a, 'i>, key: &str) -> roxmltree::Node<'a, 'i> {
    let mut children = dict.children().filter(roxmltree::Node::is_element);
    while let Some(k) = children.next() {
        let v = children.next().expect("a value after each key");
        assert_eq!(k.tag_name().name(), "key");
        if k.text() == Some(key) {
            return v;
        }
    }
    panic!("no key {key}");
}

#[test]
fn plist_is_well_formed_and_escaped() {
    let exe = "/Applications/R&D <tools>/handover";
    let site = "/Library/Application Support/handover/site \"a\".toml";
    let text = render_plist(exe, Some(site), Every::Weekly, (9, 30)).unwrap();
    let doc = plist_doc(&text);
    let dict = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("dict"))
        .unwrap();
    assert_eq!(dict_get(dict, "Label").text(), Some(LAUNCHD_LABEL));
    let argv: Vec<&str> = dict_get(dict, "ProgramArguments")
        .children()
        .filter(roxmltree::Node::is_element)
        .map(|n| n.text().unwrap_or(""))
        .collect();
    assert_eq!(
        argv,
        [
            "/bin/sh",
            "-c",
            &format!("\"$1\" check --site \"$2\"; \"$1\" {APPLY} --site \"$2\""),
            "handover-check",
            exe,
            site
        ]
    );
    let cal = dict_get(dict, "StartCalendarInterval");
    assert_eq!(dict_get(cal, "Weekday").text(), Some("1"));
    assert_eq!(dict_get(cal, "Hour").text(), Some("9"));
    assert_eq!(dict_get(cal, "Minute").text(), Some("30"));
    assert_eq!(dict_get(dict, "RunAtLoad").tag_name().name(), "false");

    let daily = render_plist("/usr/local/bin/handover", None, Every::Daily, (12, 0)).unwrap();
    let doc = plist_doc(&daily);
    let dict = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("dict"))
        .unwrap();
    let cal = dict_get(dict, "StartCalendarInterval");
    assert_eq!(
        cal.children().filter(|n| n.has_tag_name("key")).count(),
        2,
        "daily: Hour and Minute only"
    );
    assert!(!daily.contains("--site"));
    assert!(render_plist("/usr/local/bin/x\u{1}", None, Every::Daily, (12, 0)).is_err());
}

/// The sh script of the launchd job, run for real: the paths arrive as literal arguments.
#[cfg(unix)]
#[test]
fn launchd_script_passes_paths_literally() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("fake handover $(x)");
    let log = dir.path().join("log");
    std::fs::write(
        &exe,
        format!(
            "#!/bin/sh\nprintf '%s|' \"$@\" >> '{}'\necho >> '{}'\n",
            log.display(),
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let site = "/tmp/it's a \"site\";.toml";
    let argv = launchd_program_arguments(exe.to_str().unwrap(), Some(site));
    let status = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .status()
        .unwrap();
    assert!(status.success());
    let got = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        got,
        format!(
            "check|--site|{site}|\n{}|--site|{site}|\n",
            APPLY.replace(' ', "|")
        )
    );
}

#[cfg(unix)]
#[test]
fn unit_files_are_written_atomically_with_mode_0644() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(TIMER);
    write_atomic(&p, b"old", Perm::Mode(0o644)).unwrap();
    write_atomic(&p, b"new", Perm::Mode(0o644)).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [TIMER], "no temporary file left behind");
}

#[test]
fn latest_record_is_the_last_in_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    assert!(latest_record(dir.path()).unwrap().is_none());
    let records = dir.path().join("records");
    std::fs::create_dir(&records).unwrap();
    for name in [
        "000009-20261125T120000Z-check-full.json",
        "000010-20261101T000000Z-apply-partial.json",
        "000002-20261201T000000Z-check-full.json",
        "notes.txt",
    ] {
        std::fs::write(records.join(name), "{}").unwrap();
    }
    assert_eq!(
        latest_record(dir.path())
            .unwrap()
            .unwrap()
            .file_name()
            .unwrap(),
        "000010-20261101T000000Z-apply-partial.json"
    );
    std::fs::write(
        records.join("000011-x-check-full.json"),
        r#"{"report": {"finished_at": "2026-11-25T12:00:03Z", "mode": "check", "scope": "full"}}"#,
    )
    .unwrap();
    let line = latest_record_line(dir.path());
    assert!(
        line.starts_with("latest record: 2026-11-25T12:00:03Z (check, full) "),
        "{line}"
    );
}

#[test]
fn systemctl_show_output_is_parsed() {
    let props = parse_properties(
        "NextElapseUSecRealtime=Thu 2026-11-26 00:07:12 UTC\nLastTriggerUSec=n/a\nUnitFileState=enabled\n",
    );
    assert_eq!(
        value(&props, "NextElapseUSecRealtime"),
        Some("Thu 2026-11-26 00:07:12 UTC")
    );
    assert_eq!(value(&props, "LastTriggerUSec"), None, "n/a is no value");
    assert_eq!(value(&props, "UnitFileState"), Some("enabled"));
    assert_eq!(value(&props, "Missing"), None);
}
