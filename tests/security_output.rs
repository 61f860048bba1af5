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
    // The key, then 3980 bytes: the last 4000 bytes of stderr begin 20 bytes into the key.
    let script = format!(
        "printf 'starting\\n' >&2\nprintf '%s' \"$HANDOVER_SECRET_LANSWEEPER_AGENT_KEY\" >&2\nhead -c 3979 /dev/zero | tr '\\0' 'z' >&2\nprintf '\\n' >&2\nexit 1\n"
    );
    let Some(all) = run_stand_in(key, &script) else {
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
