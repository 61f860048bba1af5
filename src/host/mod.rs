//! Running scripts on a device. [`Host`] is the seam: [`LocalHost`] runs them here; an SSH host could run
//! them elsewhere. Every run has a timeout that kills the script's whole process group, and a failure
//! carries the command, exit status, stdout and stderr (a [`ProcessError`]), which is what an operator
//! needs when an installer fails.

pub mod facts;
pub mod process;
pub mod reboot;

use std::path::{Path, PathBuf};
use std::time::Duration;
#[cfg(any(unix, windows))]
use std::time::Instant;

use anyhow::Result;

/// A script to run: its interpreter comes from the language, its values from the template and the
/// environment (runtime values and secrets travel only as environment variables).
#[derive(Debug, Clone)]
pub struct Script {
    /// A name for messages, e.g. `firewall.enabled check`.
    pub name: String,
    /// What runs it: POSIX sh, or Windows PowerShell.
    pub shell: Shell,
    pub text: String,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
}

/// The interpreter of a script, from its template's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Sh,
    PowerShell,
}

impl Shell {
    /// The shell of a rendered template, by its file name.
    pub fn of_template(name: &str) -> Shell {
        if name.ends_with(".ps1") {
            Shell::PowerShell
        } else {
            Shell::Sh
        }
    }
}

/// What a finished (or killed) script left behind.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit code, or `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub duration: Duration,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }
}

/// A failed command, with everything an operator needs to see why. Its text keeps the last 4000 bytes
/// of each stream, so a caller that holds secrets builds it from an already redacted outcome
/// ([`crate::evidence::redact::outcome`]): redacting the text afterwards would miss a secret cut in two (F7).
#[derive(Debug, thiserror::Error)]
#[error(
    "{name} {status}{}{}",
    section("stdout", stdout),
    section("stderr", stderr)
)]
pub struct ProcessError {
    pub name: String,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

fn section(label: &str, text: &str) -> String {
    let t = text.trim_end();
    if t.is_empty() {
        String::new()
    } else {
        format!("\n--- {label}\n{}", tail(t, 4000))
    }
}

/// The full path of a Windows system program (`powershell`, `icacls`, `reg`, `whoami`, `schtasks`):
/// `%SystemRoot%\System32\…`. Windows' own search looks in the directory of handover.exe before
/// System32 (rust-lang/rust#87704), and on a USB kit anyone holding the stick can write there: a
/// planted `powershell.exe` would run as SYSTEM. Elsewhere the name is returned as given.
pub fn program(name: &str) -> String {
    if cfg!(windows) {
        windows_program(std::env::var("SystemRoot").ok().as_deref(), name)
    } else {
        name.to_string()
    }
}

fn windows_program(system_root: Option<&str>, name: &str) -> String {
    let root = system_root
        .filter(|r| r.len() > 2 && r.as_bytes()[1] == b':')
        .unwrap_or(r"C:\Windows")
        .trim_end_matches('\\');
    let exe = name.strip_suffix(".exe").unwrap_or(name);
    match exe {
        // 64-bit Windows PowerShell 5.1 (handover.exe is 64-bit, so System32 is the native view).
        "powershell" => format!(r"{root}\System32\WindowsPowerShell\v1.0\powershell.exe"),
        _ => format!(r"{root}\System32\{exe}.exe"),
    }
}

/// The last `max` bytes of `s` (at a char boundary): the end of an installer's output says why it failed.
pub fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = s.len() - max;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

impl ProcessError {
    pub fn from_outcome(name: &str, o: &Outcome) -> ProcessError {
        let status = if o.timed_out {
            format!("was killed after its timeout of {} s", o.duration.as_secs())
        } else {
            match o.code {
                Some(c) => format!("exited with status {c}"),
                None => "was killed by a signal".to_string(),
            }
        };
        ProcessError {
            name: name.to_string(),
            status,
            stdout: o.stdout.clone(),
            stderr: o.stderr.clone(),
        }
    }
}

/// The device seam: everything handover does to or asks of the device goes through a `Host`, so a
/// host that reaches another device (SSH, WinRM) acts on that device and not on this one.
pub trait Host: Sync {
    /// Run a control's script.
    fn run(&self, script: &Script) -> Result<Outcome>;
    /// What the device is: OS family, release, model and serial.
    fn facts(&self) -> facts::Device;
    /// A reboot the device says is pending, and why.
    fn reboot_pending(&self) -> Option<String>;
    /// Copy an installer onto the device into a new private directory under `work_dir`, and verify the
    /// copy against the site's sha256 (SPEC §6).
    fn stage_artifact(
        &self,
        spec: &crate::artifacts::Spec,
        cache: &Path,
        work_dir: &Path,
    ) -> Result<crate::artifacts::Staged>;
    /// Write rendered files into a new private directory under `work_dir` on the device; the directory
    /// is removed when the returned value is dropped. Returns each file's path, in order.
    fn write_files(
        &self,
        work_dir: &Path,
        files: &[(String, String)],
    ) -> Result<(tempfile::TempDir, Vec<PathBuf>)>;
    /// Show `text` (a generated password) to the person at the console only: never stdout, a log or
    /// a record. An error when there is no console.
    fn show_on_console(&self, text: &str) -> Result<()>;
}

/// This machine.
#[derive(Debug, Default)]
pub struct LocalHost;

/// What does not depend on how this machine runs a script: the same on Unix and Windows.
macro_rules! local_device_methods {
    () => {
        fn facts(&self) -> facts::Device {
            facts::detect()
        }

        fn reboot_pending(&self) -> Option<String> {
            reboot::pending()
        }

        fn stage_artifact(
            &self,
            spec: &crate::artifacts::Spec,
            cache: &Path,
            work_dir: &Path,
        ) -> Result<crate::artifacts::Staged> {
            crate::artifacts::stage(spec, cache, work_dir)
        }

        fn write_files(
            &self,
            work_dir: &Path,
            files: &[(String, String)],
        ) -> Result<(tempfile::TempDir, Vec<PathBuf>)> {
            write_private_files(work_dir, files)
        }

        fn show_on_console(&self, text: &str) -> Result<()> {
            use std::io::Write;
            let mut tty = crate::support::secrets::open_console()?;
            tty.write_all(text.as_bytes())?;
            Ok(())
        }
    };
}

/// Rendered files in a new private directory under `work_dir`, each under its base name, mode 0600.
pub fn write_private_files(
    work_dir: &Path,
    files: &[(String, String)],
) -> Result<(tempfile::TempDir, Vec<PathBuf>)> {
    crate::support::perms::ensure_private_dir(work_dir)?;
    let dir = tempfile::Builder::new()
        .prefix("files-")
        .tempdir_in(work_dir)?;
    crate::support::perms::ensure_private_dir(dir.path())?;
    let mut paths = Vec::new();
    for (name, text) in files {
        let base = name.rsplit('/').next().unwrap_or(name);
        let path = dir.path().join(base);
        crate::support::perms::write_private(&path, text.as_bytes())?;
        paths.push(path);
    }
    Ok((dir, paths))
}

/// The environment every script starts from: nothing inherited, so that output is parseable (C locale)
/// and no variable of the caller's shell changes what a script does.
pub fn base_env() -> Vec<(String, String)> {
    vec![
        (
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ),
        ("LC_ALL".into(), "C".into()),
        ("LANG".into(), "C".into()),
        // root's home: /var/root on macOS.
        (
            "HOME".into(),
            if cfg!(target_os = "macos") {
                "/var/root"
            } else {
                "/root"
            }
            .into(),
        ),
        ("DEBIAN_FRONTEND".into(), "noninteractive".into()),
        ("APT_LISTCHANGES_FRONTEND".into(), "none".into()),
    ]
}

#[cfg(unix)]
impl Host for LocalHost {
    local_device_methods!();

    fn run(&self, script: &Script) -> Result<Outcome> {
        use std::os::unix::process::CommandExt;
        if script.shell == Shell::PowerShell {
            anyhow::bail!("{}: PowerShell scripts run on Windows only", script.name);
        }
        let started = Instant::now();
        let mut env = base_env();
        env.extend(script.env.iter().cloned());
        let expr = duct::cmd(
            "/bin/sh",
            ["-c", script.text.as_str(), script.name.as_str()],
        )
        .full_env(env)
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        // Its own process group, so that a timeout kills the children it started too.
        .before_spawn(|cmd| {
            cmd.process_group(0);
            Ok(())
        });
        wait_for(&expr.start()?, script.timeout, started, |handle| {
            for pid in handle.pids() {
                // SAFETY: kill(2) with a negative pid signals the process group we created above.
                unsafe {
                    libc::kill(-(pid as i32), libc::SIGKILL);
                }
            }
            Ok(())
        })
    }
}

/// Wait for a started script until `timeout`, then `kill` it; what it left behind either way.
#[cfg(any(unix, windows))]
fn wait_for(
    handle: &duct::Handle,
    timeout: Duration,
    started: Instant,
    kill: impl FnOnce(&duct::Handle) -> std::io::Result<()>,
) -> Result<Outcome> {
    let (output, timed_out) = match handle.wait_timeout(timeout)? {
        Some(o) => (o.clone(), false),
        None => {
            kill(handle)?;
            (handle.wait()?.clone(), true)
        }
    };
    Ok(Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        timed_out,
        duration: started.elapsed(),
    })
}

/// Windows: the script goes to a file in handover's private work directory and runs with
/// `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File` (a command line would be
/// too short for the batch of all checks, and would show the script in the process list). The
/// environment is the process's own plus the script's: Windows programs need SystemRoot and friends.
#[cfg(windows)]
impl Host for LocalHost {
    local_device_methods!();

    fn run(&self, script: &Script) -> Result<Outcome> {
        use anyhow::Context;
        let started = Instant::now();
        if script.shell != Shell::PowerShell {
            anyhow::bail!("{}: only PowerShell scripts run on Windows", script.name);
        }
        let work = crate::evidence::record::default_state_dir().join("work");
        crate::support::perms::ensure_private_dir(&work)?;
        let file = tempfile::Builder::new()
            .prefix("script-")
            .suffix(".ps1")
            .tempfile_in(&work)
            .context("creating the script file")?;
        // UTF-8 with a byte order mark: Windows PowerShell 5.1 reads BOM-less files as the ANSI code page.
        std::fs::write(
            file.path(),
            [&[0xEF, 0xBB, 0xBF][..], script.text.as_bytes()].concat(),
        )?;
        let mut expr = duct::cmd(
            program("powershell"),
            [
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-File",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain([file.path().display().to_string()]),
        )
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked();
        for (k, v) in script.env.iter() {
            expr = expr.env(k, v);
        }
        // On a timeout the whole tree goes: `taskkill /T` follows parent ids from powershell.exe to the
        // installer it started (msiexec, the ODT's setup.exe), which killing powershell.exe alone would
        // leave running (learn.microsoft.com, taskkill: "/t Ends the specified process and any child
        // processes started by it").
        wait_for(&expr.start()?, script.timeout, started, |handle| {
            for pid in handle.pids() {
                let _ = std::process::Command::new(program("taskkill"))
                    .args(["/PID", &pid.to_string(), "/T", "/F"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
            handle.kill()
        })
    }
}

#[cfg(not(any(unix, windows)))]
impl Host for LocalHost {
    local_device_methods!();

    fn run(&self, script: &Script) -> Result<Outcome> {
        anyhow::bail!("{}: no script runner for this OS", script.name)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn script(text: &str, timeout_ms: u64) -> Script {
        Script {
            name: "t".into(),
            shell: Shell::Sh,
            text: text.into(),
            env: vec![("X".into(), "a b".into())],
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[test]
    fn captures_output_status_and_env() {
        let o = LocalHost
            .run(&script("echo \"$X\"; echo err >&2; exit 3", 5000))
            .unwrap();
        assert_eq!(o.code, Some(3));
        assert_eq!(o.stdout, "a b\n");
        assert_eq!(o.stderr, "err\n");
        let e = ProcessError::from_outcome("installer", &o).to_string();
        assert_eq!(
            e,
            "installer exited with status 3\n--- stdout\na b\n--- stderr\nerr"
        );
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let o = LocalHost
            .run(&script("sleep 30 & sleep 30; echo never", 300))
            .unwrap();
        assert!(o.timed_out);
        assert!(o.duration < Duration::from_secs(10), "{:?}", o.duration);
        assert!(!o.stdout.contains("never"));
    }

    #[test]
    fn environment_is_not_inherited() {
        std::env::set_var("HANDOVER_TEST_LEAK", "1");
        let o = LocalHost
            .run(&script("echo \"${HANDOVER_TEST_LEAK:-unset}\"", 5000))
            .unwrap();
        assert_eq!(o.stdout, "unset\n");
    }
}

#[cfg(test)]
mod program_tests {
    #[test]
    fn windows_programs_come_from_system32_never_from_the_kit() {
        let w = |root, name| super::windows_program(root, name);
        assert_eq!(
            w(Some(r"C:\WINDOWS"), "powershell.exe"),
            r"C:\WINDOWS\System32\WindowsPowerShell\v1.0\powershell.exe"
        );
        assert_eq!(w(Some(r"D:\Win\"), "icacls"), r"D:\Win\System32\icacls.exe");
        // An unset or relative SystemRoot (the environment is the caller's) falls back to C:\Windows.
        assert_eq!(w(None, "reg"), r"C:\Windows\System32\reg.exe");
        assert_eq!(
            w(Some(r".\kit"), "whoami"),
            r"C:\Windows\System32\whoami.exe"
        );
    }
}
