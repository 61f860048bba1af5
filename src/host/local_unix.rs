//! The script runner on Unix: `/bin/sh` from an empty environment, in its own process group that a
//! timeout kills whole.

// The script runner is the device seam: starting processes is its job.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

use anyhow::Result;

use super::process::{base_env, wait_for, Outcome, Script, Shell};

/// The longest script passed to `sh -c` as an argument (Linux's MAX_ARG_STRLEN is 128 KiB refuses longer
/// ones anyway). A longer one costs less from a file: duct formats every argument with `{:?}` when it
/// spawns (its command string for errors), escaping the whole text a character at a time, and the kernel
/// copies the arguments into the new process; sh reads a file in blocks.
const MAX_INLINE: usize = 16 * 1024;

/// `text` in a new private temporary file (tempfile creates it 0600, with O_EXCL).
fn script_file(text: &str) -> Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let mut f = tempfile::Builder::new()
        .prefix("handover-")
        .suffix(".sh")
        .tempfile()?;
    f.write_all(text.as_bytes())?;
    f.flush()?;
    Ok(f)
}

/// Run `script` with `/bin/sh -c` from [`base_env`], in its own process group; on a timeout the whole
/// group is killed (SIGKILL), so no child it started outlives it.
pub(crate) fn run(script: &Script) -> Result<Outcome> {
    use std::os::unix::process::CommandExt;
    if script.shell == Shell::PowerShell {
        anyhow::bail!("{}: PowerShell scripts run on Windows only", script.name);
    }
    let started = Instant::now();
    let mut env = base_env();
    env.extend(script.env.iter().cloned());
    // A script longer than MAX_INLINE (the batch of every check) is read by sh from a private temporary
    // file (0600), removed when it ends.
    let file;
    let args: Vec<&str> = if script.text.len() > MAX_INLINE {
        file = script_file(&script.text)?;
        vec![
            file.path().to_str().unwrap_or_default(),
            script.name.as_str(),
        ]
    } else {
        vec!["-c", script.text.as_str(), script.name.as_str()]
    };
    let expr = duct::cmd("/bin/sh", args)
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::host::{Host, LocalHost, ProcessError, Script, Shell};

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

    /// A script longer than MAX_INLINE runs from a private file the same as a short one runs from its
    /// argument ($0 is the script's name either way), and the file is gone afterwards.
    #[test]
    fn a_long_script_runs_from_a_private_file() {
        let pad = format!("# {}\n", "x".repeat(super::MAX_INLINE));
        let text =
            format!("{pad}echo \"$X\" \"$0\"; ls -l \"$0\" 2>/dev/null | cut -c1-10; exit 4");
        let o = LocalHost.run(&script(&text, 5000)).unwrap();
        assert_eq!(o.code, Some(4), "{o:?}");
        let mut lines = o.stdout.lines();
        let first = lines.next().unwrap_or_default();
        let (x, path) = first.rsplit_once(' ').unwrap();
        assert_eq!(x, "a b");
        assert!(
            path.contains("handover-") && path.ends_with(".sh"),
            "{path}"
        );
        assert_eq!(lines.next(), Some("-rw-------"), "{o:?}");
        assert!(!std::path::Path::new(path).exists(), "{path} left behind");
        let short = LocalHost.run(&script("echo \"$X\" \"$0\"", 5000)).unwrap();
        assert_eq!(short.stdout, "a b t\n");
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
