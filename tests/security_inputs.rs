//! Regression tests for the red-team findings of ../shared/reviews/security-2026-12.md (issue 14).

#[allow(unused_imports)]
use crate::support::*;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A copy of a shipped tree (`templates` or `profiles`) in a private temporary directory.
fn shipped_copy(what: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let dest = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                std::fs::create_dir(&dest).unwrap();
                copy(&e.path(), &dest);
            } else {
                std::fs::copy(e.path(), &dest).unwrap();
                std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(what),
        dir.path(),
    );
    dir
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `render --profile debian-12` with these override directories.
fn render_with(args: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let mut all = vec!["render", "--profile", "debian-12", "--out", s(out.path())];
    all.extend_from_slice(args);
    Handover::new(&all).run()
}

#[test]
fn f6_a_writable_file_deep_in_a_templates_dir_is_refused() {
    let tpl = shipped_copy("templates");
    // The whole copy passes.
    render_with(&["--templates-dir", s(tpl.path())]).expect_code(0);
    // One file two levels down that others may write: its content would land in what root runs.
    let deep = tpl.path().join("linux/root-locked.apply.sh");
    std::fs::set_permissions(&deep, std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = render_with(&["--templates-dir", s(tpl.path())]);
    r.expect_code(2);
    assert!(
        r.stderr().contains("root-locked.apply.sh")
            && r.stderr().contains("writable by group or others"),
        "{}",
        r.stderr()
    );
    std::fs::set_permissions(&deep, std::fs::Permissions::from_mode(0o644)).unwrap();
    // A subdirectory that others may write, and a symbolic link anywhere inside.
    let sub = tpl.path().join("linux");
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = render_with(&["--templates-dir", s(tpl.path())]);
    r.expect_code(2);
    assert!(r.stderr().contains("linux"), "{}", r.stderr());
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let guest = sub.join("guest.apply.sh");
    std::fs::remove_file(&guest).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", &guest).unwrap();
    let r = render_with(&["--templates-dir", s(tpl.path())]);
    r.expect_code(2);
    assert!(r.stderr().contains("symbolic link"), "{}", r.stderr());
}

#[test]
fn f6_a_subdirectory_owned_by_another_user_in_a_profiles_dir_is_refused() {
    let prof = shipped_copy("profiles");
    let dir = prof.path().join("deep/er");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    std::fs::set_permissions(
        dir.join("notes.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    render_with(&["--profiles-dir", s(prof.path())]).expect_code(0);
    if is_root() {
        // Owned by nobody, mode 755: only its owner could write it.
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    } else {
        std::fs::set_permissions(
            dir.join("notes.txt"),
            std::fs::Permissions::from_mode(0o646),
        )
        .unwrap();
    }
    let r = render_with(&["--profiles-dir", s(prof.path())]);
    r.expect_code(2);
    assert!(r.stderr().contains("profiles directory"), "{}", r.stderr());
    assert!(r.stderr().contains("deep/er"), "{}", r.stderr());
    let _ = std::os::unix::fs::chown(&dir, Some(0), Some(0));
}

/// SITE with `agent_key` set to `key` (mode 600).
fn site_with_key(key: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    site(&SITE.replace(
        "agent_key = \"RELAY-KEY-s3cr3t-0001\"",
        &format!("agent_key = {key}"),
    ))
}

fn plan_with_site(path: &Path) -> Run {
    Handover::new(&["plan", "--profile", "debian-12", "--site", s(path)]).run()
}

#[test]
fn f8_a_short_agent_key_is_an_input_error_naming_file_line_and_key() {
    let (_d, path) = site_with_key("\"is\"");
    let r = plan_with_site(&path);
    r.expect_code(2);
    let e = r.stderr();
    assert!(
        e.contains(s(&path)) && e.contains("lansweeper.agent_key"),
        "{e}"
    );
    assert!(e.contains("shorter than 8 characters"), "{e}");
    let line = SITE
        .lines()
        .position(|l| l.starts_with("agent_key"))
        .unwrap()
        + 1;
    assert!(
        e.contains(&format!(":{line}")) || e.contains(&format!("line {line}")),
        "{e}"
    );
    // Eight characters are enough.
    let (_d, path) = site_with_key("\"8-chars!\"");
    assert_ne!(plan_with_site(&path).code(), 2);
}

#[test]
fn f8_secret_values_are_not_echoed_in_toml_type_errors() {
    for (bad, key) in [
        ("agent_key = 98765432109", "lansweeper.agent_key"),
        ("port = \"S3CRETKEY\"", "lansweeper.port"),
    ] {
        let text = SITE
            .replace("agent_key = \"RELAY-KEY-s3cr3t-0001\"", bad)
            .replace(
                "port = 9524",
                if bad.starts_with("port") {
                    ""
                } else {
                    "port = 9524"
                },
            );
        let (_d, path) = site(&text);
        let r = plan_with_site(&path);
        r.expect_code(2);
        let all = format!("{}{}", r.stdout(), r.stderr());
        assert!(
            !all.contains("98765432109") && !all.contains("S3CRETKEY"),
            "{all}"
        );
        assert!(all.contains(s(&path)) && all.contains(key), "{all}");
    }
}

#[test]
fn f8_a_site_readable_by_others_holding_a_secret_is_refused() {
    let (_d, path) = site(SITE);
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let r = plan_with_site(&path);
        r.expect_code(2);
        let e = r.stderr();
        assert!(e.contains(s(&path)) && e.contains("chmod 600"), "{e}");
        assert!(
            e.contains("lansweeper.agent_key") && !e.contains("RELAY-KEY"),
            "{e}"
        );
    }
    // Mode 600 is fine, and so is a readable site without a secret.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_ne!(plan_with_site(&path).code(), 2);
    let no_secret = SITE.replace("agent_key = \"RELAY-KEY-s3cr3t-0001\"", "");
    let (_d2, path2) = site(&no_secret);
    std::fs::set_permissions(&path2, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_ne!(plan_with_site(&path2).code(), 2);
}

#[test]
fn f12_a_site_reached_through_a_user_owned_symlink_is_refused() {
    let (_d, root_site) = site(SITE);
    let dir = tempfile::tempdir().unwrap();
    // The review's setup: a directory the user owns, holding a link to a root-owned site.
    let udir = dir.path().join("udir");
    std::fs::create_dir(&udir).unwrap();
    let link = udir.join("site.toml");
    std::os::unix::fs::symlink(&root_site, &link).unwrap();
    // Through a link that root owns in root's directory, the site is read.
    assert_ne!(plan_with_site(&link).code(), 2, "a trusted link must work");
    if !is_root() {
        eprintln!("skipped the rest: needs root to give files away");
        return;
    }
    std::os::unix::fs::chown(&udir, Some(65534), Some(65534)).unwrap();
    let r = plan_with_site(&link);
    r.expect_code(2);
    assert!(
        r.stderr().contains("owned by another user"),
        "{}",
        r.stderr()
    );
    // A link the user owns, even in root's directory (a sticky /tmp lets its owner swap it).
    let link2 = dir.path().join("site-link.toml");
    std::os::unix::fs::symlink(&root_site, &link2).unwrap();
    std::os::unix::fs::lchown(&link2, Some(65534), Some(65534)).unwrap();
    let r = plan_with_site(&link2);
    r.expect_code(2);
    assert!(
        r.stderr().contains("symbolic link owned by another user"),
        "{}",
        r.stderr()
    );
}

#[test]
fn f13_a_run_lock_symlink_is_not_followed() {
    let victim = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(victim.path(), "victim\n").unwrap();
    let h = Handover::new(&["check", "--profile", "debian-12", "--only", "os.supported"]);
    std::os::unix::fs::symlink(victim.path(), h.state.path().join("run.lock")).unwrap();
    let r = h.run();
    r.expect_code(2);
    assert!(r.stderr().contains("symbolic link"), "{}", r.stderr());
    assert_eq!(std::fs::read_to_string(victim.path()).unwrap(), "victim\n");
}

/// A site with a directory artifact whose manifest is `manifest` (pinned to `sha`).
fn manifest_site(dir: &Path, manifest: &str, sha: &str) -> std::path::PathBuf {
    let p = dir.join("site.toml");
    std::fs::write(
        &p,
        format!("[artifacts.tree]\nurl = \"https://example.org/tree/\"\nmanifest = \"{manifest}\"\nsha256 = \"{sha}\"\n"),
    )
    .unwrap();
    p
}

#[test]
fn f16_a_site_manifest_outside_the_site_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "root-only bytes\n").unwrap();
    let secret_sha = handover::support::hashing::sha256_bytes(b"root-only bytes\n");
    let zeros = "0".repeat(64);
    // Absolute, `..` and device paths are input errors naming the key.
    for m in [
        secret.path().display().to_string(),
        "../../../../etc/shadow".to_string(),
        "/dev/zero".to_string(),
        "a/../../x".to_string(),
    ] {
        let p = manifest_site(dir.path(), &m, &zeros);
        let r = plan_with_site(&p);
        r.expect_code(2);
        assert!(
            r.stderr().contains("artifacts.tree.manifest"),
            "{m}: {}",
            r.stderr()
        );
    }
    // A relative name that is a link out of the site's directory is refused, and the linked file's
    // sha256 is never printed.
    std::os::unix::fs::symlink(secret.path(), dir.path().join("m.sha256")).unwrap();
    let p = manifest_site(dir.path(), "m.sha256", &zeros);
    let r = plan_with_site(&p);
    r.expect_code(2);
    assert!(r.stderr().contains("symbolic link"), "{}", r.stderr());
    assert!(!r.stderr().contains(&secret_sha), "{}", r.stderr());
    // A link to /dev/zero neither hangs nor eats memory.
    std::fs::remove_file(dir.path().join("m.sha256")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("m.sha256")).unwrap();
    plan_with_site(&p).expect_code(2);
    // A real file that does not match: the error shows the pin, not the file's own sha256.
    std::fs::remove_file(dir.path().join("m.sha256")).unwrap();
    std::fs::write(dir.path().join("m.sha256"), "root-only bytes\n").unwrap();
    let r = plan_with_site(&p);
    r.expect_code(2);
    assert!(!r.stderr().contains(&secret_sha), "{}", r.stderr());
    assert!(r.stderr().contains(&zeros), "{}", r.stderr());
}

#[test]
fn f19_a_vpn_name_that_is_a_path_is_refused() {
    for bad in [
        r#"..\\..\\..\\..\\Microsoft\\Windows\\CurrentVersion\\Run"#,
        "a\\\\b",
        "a/b",
        "..",
        "  ",
    ] {
        let text = SITE.replace("name = \"Uni VPN\"", &format!("name = \"{bad}\""));
        assert_ne!(text, SITE);
        let (_d, path) = site(&text);
        let r = plan_with_site(&path);
        r.expect_code(2);
        assert!(
            r.stderr().contains("vpn.name") && r.stderr().contains(s(&path)),
            "{bad}: {}",
            r.stderr()
        );
    }
}

#[test]
fn f19_the_vpn_tunnel_is_one_literal_registry_key_and_installers_get_quoted_arguments() {
    let (_dir, files) = render_files("windows-11", crate::powershell::WINDOWS_SITE, &["ps1"]);
    let get = |suffix: &str| {
        files
            .iter()
            .find(|(n, _)| n.ends_with(suffix))
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("no {suffix} rendered"))
    };
    for script in [
        get("apps.fortinet-vpn.apply.ps1"),
        get("apps.fortinet-vpn.check.ps1"),
    ] {
        // Every line that names the tunnel's key is literal, and the script refuses a path as a name.
        let own = &script[script.find("\n$name = ").expect("the script sets $name")..];
        for line in own.lines().filter(|l| {
            l.split(|c: char| !(c.is_alphanumeric() || c == '$'))
                .any(|w| w == "$key")
                || l.contains("Tunnels\\$name")
        }) {
            let literal = line.contains("-LiteralPath")
                || line.trim_start().starts_with("$key =")
                || line.contains("-Name $name");
            assert!(literal, "not literal: {line}");
            assert!(!line.contains("-Path $key"), "{line}");
        }
        assert!(script.contains("$name -match '[\\\\/]'"), "{script}");
    }
    // Installers are started through Join-CommandLine only: Start-Process never sees a bare array.
    for (name, text) in &files {
        for line in text
            .lines()
            .filter(|l| l.contains("Start-Process") && !l.trim_start().starts_with('#'))
        {
            assert_eq!(line.trim(), "$p = Start-Process @start", "{name}: {line}");
        }
    }
    let lib = get("apps.lansweeper.apply.ps1");
    assert!(lib.contains("$line = Join-CommandLine $Arguments"), "{lib}");
    assert!(
        lib.contains(r#"'"' + (($a -replace '(\\*)"', '$1$1\"') -replace '(\\+)$', '$1$1') + '"'"#),
        "the quoting of Join-CommandLine changed: re-check it against CommandLineToArgvW"
    );
    // That quoting, as the two -replace steps do it, read back by CommandLineToArgvW's rules: every
    // argument comes back whole, so an agent key with spaces or quotes cannot add LsAgent options.
    let hostile = [
        "key with --server evil.example",
        "k\"ey --mode x",
        r"trailing\",
        r#"a\"b"#,
        r"C:\Program Files\x\",
        "",
        "plain",
        "tab\there",
    ];
    let line: Vec<String> = hostile.iter().map(|a| join_command_line_arg(a)).collect();
    assert_eq!(command_line_to_argv(&line.join(" ")), hostile);
}

/// Join-CommandLine's quoting of one argument (templates/windows/_lib.ps1), step by step.
fn join_command_line_arg(a: &str) -> String {
    if a.is_empty() {
        return "\"\"".into();
    }
    if !a.chars().any(|c| c.is_whitespace() || c == '"') {
        return a.into();
    }
    // -replace '(\\*)"', '$1$1\"'
    let mut out = String::new();
    let mut slashes = 0;
    for c in a.chars() {
        match c {
            '\\' => slashes += 1,
            '"' => {
                out.push_str(&"\\".repeat(slashes * 2));
                out.push_str("\\\"");
                slashes = 0;
            }
            c => {
                out.push_str(&"\\".repeat(slashes));
                out.push(c);
                slashes = 0;
            }
        }
    }
    // -replace '(\\+)$', '$1$1'
    out.push_str(&"\\".repeat(slashes * 2));
    format!("\"{out}\"")
}

/// CommandLineToArgvW's rules for the arguments after the program name
/// (learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments).
fn command_line_to_argv(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let (mut args, mut i) = (Vec::new(), 0);
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            return args;
        }
        let (mut arg, mut quoted) = (String::new(), false);
        while i < chars.len() && (quoted || (chars[i] != ' ' && chars[i] != '\t')) {
            let mut slashes = 0;
            while i < chars.len() && chars[i] == '\\' {
                slashes += 1;
                i += 1;
            }
            if i < chars.len() && chars[i] == '"' {
                arg.push_str(&"\\".repeat(slashes / 2));
                if slashes % 2 == 1 {
                    arg.push('"');
                } else if quoted && i + 1 < chars.len() && chars[i + 1] == '"' {
                    arg.push('"');
                    i += 1;
                } else {
                    quoted = !quoted;
                }
                i += 1;
            } else {
                arg.push_str(&"\\".repeat(slashes));
                if i < chars.len() && (quoted || (chars[i] != ' ' && chars[i] != '\t')) {
                    arg.push(chars[i]);
                    i += 1;
                }
            }
        }
        args.push(arg);
    }
}
