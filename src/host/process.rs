//! Every process handover starts other than a control's script goes through [`Cmd`] (clippy.toml forbids
//! `std::process::Command::new` and `duct::cmd` elsewhere): a Windows system program is started from
//! System32 by its full path ([`super::program`]), stdin is closed unless given, both streams are
//! captured, and a failure is one [`ProcessError`] carrying the command, its status, stdout and stderr
//! (as cargo-util's `ProcessError`).

use std::ffi::OsString;
use std::path::PathBuf;

use super::ProcessError;

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
}

impl Cmd {
    /// `program` (a Windows system program by its System32 path, see [`super::program`]).
    pub fn new(program: &str) -> Cmd {
        Cmd {
            program: super::program(program),
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
    use super::Cmd;

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
