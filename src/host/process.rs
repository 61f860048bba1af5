//! Processes on this machine: a control's [`Script`] and what it left behind ([`Outcome`]), the
//! [`ProcessError`] every failed process becomes, and [`Cmd`] for every other process.
//!
//! Every process handover starts other than a control's script goes through [`Cmd`] (clippy.toml forbids
//! `std::process::Command::new` and `duct::cmd` elsewhere): a Windows system program is started from
//! System32 by its full path ([`program`]), stdin is closed unless given, both streams are
//! captured, and a failure is one [`ProcessError`] carrying the command, its status, stdout and stderr
//! (as cargo-util's `ProcessError`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;
#[cfg(any(unix, windows))]
use std::time::Instant;

#[cfg(any(unix, windows))]
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

/// Wait for a started script until `timeout`, then `kill` it; what it left behind either way.
#[cfg(any(unix, windows))]
pub(crate) fn wait_for(
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

/// A command to run to completion with its output captured.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: String,
    args: Vec<OsString>,
    dir: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
}

/// What a finished command printed, and how it ended.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code, `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// What it printed, for a message: stdout then stderr, each trimmed, on lines of their own (no
    /// empty line when one of them is empty).
    pub fn text(&self) -> String {
        format!("{}\n{}", self.stdout.trim(), self.stderr.trim())
            .trim()
            .to_string()
    }
}

impl Cmd {
    /// `program` (a Windows system program by its System32 path, see [`program`]).
    pub fn new(program: &str) -> Cmd {
        Cmd {
            program: self::program(program),
            args: Vec::new(),
            dir: None,
            env: Vec::new(),
            stdin: None,
        }
    }

    /// `program` exactly as given, not looked up in System32: a path the caller resolved itself.
    pub fn exact(program: impl Into<String>) -> Cmd {
        Cmd {
            program: program.into(),
            ..Cmd::new("")
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Cmd {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn dir(mut self, d: impl Into<PathBuf>) -> Cmd {
        self.dir = Some(d.into());
        self
    }

    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Cmd {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Bytes for its stdin (closed otherwise).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(bytes.into());
        self
    }

    /// The command line for messages: the program and its arguments, each quoted when it has a space.
    pub fn describe(&self) -> String {
        std::iter::once(self.program.clone())
            .chain(self.args.iter().map(|a| a.to_string_lossy().into_owned()))
            .map(|a| {
                if a.contains(' ') || a.is_empty() {
                    format!("{a:?}")
                } else {
                    a
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Run it and return what it printed, whatever its exit status; an error only when it could not be
    /// started.
    pub fn output(&self) -> Result<Output, ProcessError> {
        use std::io::Write;
        use std::process::Stdio;
        #[allow(clippy::disallowed_methods)]
        // the one place outside the script runner that starts processes
        let mut c = std::process::Command::new(&self.program);
        c.args(&self.args)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(d) = &self.dir {
            c.current_dir(d);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        let not_started = |e: std::io::Error| ProcessError {
            name: self.describe(),
            status: format!("could not be started: {e}"),
            stdout: String::new(),
            stderr: String::new(),
        };
        let mut child = c.spawn().map_err(not_started)?;
        if let (Some(bytes), Some(mut stdin)) = (&self.stdin, child.stdin.take()) {
            // A command that exits without reading all of its input is judged by its status below.
            let _ = stdin.write_all(bytes);
        }
        let out = child.wait_with_output().map_err(not_started)?;
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Run it; a non-zero exit is a [`ProcessError`] with both streams.
    pub fn run(&self) -> Result<Output, ProcessError> {
        let out = self.output()?;
        if out.success() {
            Ok(out)
        } else {
            Err(ProcessError {
                name: self.describe(),
                status: match out.code {
                    Some(c) => format!("exited with status {c}"),
                    None => "was killed by a signal".to_string(),
                },
                stdout: out.stdout,
                stderr: out.stderr,
            })
        }
    }

    /// Run it and return its stdout; a non-zero exit is a [`ProcessError`].
    pub fn stdout(&self) -> Result<String, ProcessError> {
        self.run().map(|o| o.stdout)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_failure_carries_the_command_status_and_both_streams() {
        let e = Cmd::exact("/bin/sh")
            .args(["-c", "echo out; echo err >&2; exit 3", "x y"])
            .run()
            .unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("/bin/sh -c"), "{text}");
        assert!(text.contains("\"x y\""), "{text}");
        assert!(text.contains("exited with status 3"), "{text}");
        assert!(text.contains("--- stdout\nout"), "{text}");
        assert!(text.contains("--- stderr\nerr"), "{text}");
    }

    #[test]
    fn stdin_is_given_and_a_missing_program_is_an_error_not_a_panic() {
        let out = Cmd::exact("/bin/cat")
            .stdin(b"hi".to_vec())
            .stdout()
            .unwrap();
        assert_eq!(out, "hi");
        let e = Cmd::exact("/nonexistent/prog").output().unwrap_err();
        assert!(e.to_string().contains("could not be started"), "{e}");
    }
}

#[cfg(test)]
mod program_tests {
    use super::*;

    #[test]
    fn text_is_stdout_then_stderr_trimmed() {
        let o = |stdout: &str, stderr: &str| Output {
            code: Some(1),
            stdout: stdout.into(),
            stderr: stderr.into(),
        };
        assert_eq!(o(" out\n", "\nerr \n").text(), "out\nerr");
        assert_eq!(o("out\n", "").text(), "out");
        assert_eq!(o("", " err\n").text(), "err");
        assert_eq!(o("\n", "\n").text(), "");
    }

    #[test]
    fn windows_programs_come_from_system32_never_from_the_kit() {
        let w = |root, name| windows_program(root, name);
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
