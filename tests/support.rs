//! A small builder around the binary, with its state directory and clock pinned.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Run {
    pub out: Output,
    /// The state directory the run used (kept until the Run is dropped).
    pub state: tempfile::TempDir,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", self.stdout()))
    }
}

pub struct Handover {
    cmd: Command,
    pub state: tempfile::TempDir,
}

impl Handover {
    pub fn new(args: &[&str]) -> Handover {
        let state = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_handover"));
        cmd.args(args)
            .env("HANDOVER_STATE_DIR", state.path())
            .env("HANDOVER_NOW", "2026-11-25T10:00:00Z")
            .env_remove("SSH_CONNECTION");
        Handover { cmd, state }
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn env_remove(mut self, k: &str) -> Self {
        self.cmd.env_remove(k);
        self
    }

    pub fn run(mut self) -> Run {
        Run {
            out: self.cmd.output().unwrap(),
            state: self.state,
        }
    }
}

/// A site file in a private temporary directory, mode 600 (a site holding a secret that others can
/// read is refused, F8).
pub fn site(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site.toml");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    (dir, path)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub const SITE: &str = r#"
[organisation]
name = "Example University"
service_desk = "servicedesk@example.ac.uk"

[accounts]
allowed = ["svc-backup"]

[firewall]
allow = [ { port = 22, proto = "tcp", from = "10.0.0.0/8" },
          { port = 8080, proto = "tcp", from = "10.1.2.0/24", cleartext_ok = "lab instrument UI" } ]

[vpn]
name = "Uni VPN"
gateway = "vpn.example.ac.uk"
port = 443
trusted_cert = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

[lansweeper]
server = "lansweeper.example.ac.uk"
port = 9524
agent_key = "RELAY-KEY-s3cr3t-0001"

[artifacts.lsagent-linux]
url = "LsAgent-linux-x64.run"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
"#;

/// Whether `tool` is on PATH; tests that need it say so and skip when it is not.
pub fn have(tool: &str) -> bool {
    let found = which::which(tool).is_ok();
    if !found {
        eprintln!("SKIPPED: {tool} is not installed");
    }
    found
}

/// Whether the host is Debian 12 (tests that read its lifecycle need it); says why when it skips.
pub fn on_debian_12(why: &str) -> bool {
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let yes = os.contains("ID=debian") && os.contains("VERSION_ID=\"12\"");
    if !yes {
        eprintln!("SKIPPED: {why}");
    }
    yes
}

/// Render `profile` with a site of `site_text` through the binary; the files whose extension is one of
/// `exts`, sorted by name, with the directory they are in.
pub fn render_files(
    profile: &str,
    site_text: &str,
    exts: &[&str],
) -> (tempfile::TempDir, Vec<(String, String)>) {
    let (_d, path) = site(site_text);
    let out = tempfile::tempdir().unwrap();
    Handover::new(&[
        "render",
        "--profile",
        profile,
        "--site",
        s(&path),
        "--out",
        s(out.path()),
    ])
    .run()
    .expect_code(0);
    let mut files: Vec<(String, String)> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| exts.iter().any(|x| e == *x)))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    (out, files)
}

/// Every control of `profile` that names a check or apply template has its rendered script among `files`
/// (`ID.check.EXT`, `ID.apply.EXT`): a template that fails to render makes `render` exit 2 and leaves its
/// control out.
pub fn assert_every_script_rendered(profile: &str, files: &[(String, String)], ext: &str) {
    let p = handover::inputs::profile::Sources::default()
        .load(profile)
        .unwrap();
    for c in &p.controls {
        for (what, t) in [("check", &c.check), ("apply", &c.apply)] {
            if t.is_some() {
                let name = format!("{}.{what}.{ext}", c.id);
                assert!(
                    files.iter().any(|(n, _)| *n == name),
                    "{profile}: {name} not rendered"
                );
            }
        }
    }
}

/// `SHELL -n` on each file: every shell (an argv such as `["bash", "--posix"]`) must parse every one.
pub fn assert_parses_in(shells: &[Vec<&str>], files: &[PathBuf]) {
    for f in files {
        for shell in shells {
            let out = std::process::Command::new(shell[0])
                .args(&shell[1..])
                .arg("-n")
                .arg(f)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {shell:?} -n: {}",
                f.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// `shellcheck -s sh -S warning EXTRA… FILES…` finds nothing (skipped, visibly, without shellcheck).
pub fn assert_shellcheck_clean(what: &str, extra: &[&str], files: &[PathBuf]) {
    if !have("shellcheck") {
        return;
    }
    let out = std::process::Command::new("shellcheck")
        .args(["-s", "sh", "-S", "warning"])
        .args(extra)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
