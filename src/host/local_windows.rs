//! The script runner on Windows: the script in a BOM-marked `.ps1` in handover's private work
//! directory, run by Windows PowerShell; a timeout kills its whole process tree (`taskkill /T`).

// The script runner is the device seam: starting processes is its job.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

use anyhow::Result;

use super::process::{program, wait_for, Cmd, Outcome, Script, Shell};

/// Windows: the script goes to a file in handover's private work directory and runs with
/// `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File` (a command line would be
/// too short for the batch of all checks, and would show the script in the process list). The
/// environment is the process's own plus the script's: Windows programs need SystemRoot and friends.
pub(crate) fn run(script: &Script) -> Result<Outcome> {
    use anyhow::Context;
    let started = Instant::now();
    if script.shell != Shell::PowerShell {
        anyhow::bail!("{}: only PowerShell scripts run on Windows", script.name);
    }
    let work = crate::support::dirs::state_dir().join("work");
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
            let _ = Cmd::new("taskkill")
                .args(["/PID", &pid.to_string(), "/T", "/F"])
                .output();
        }
        handle.kill()
    })
}
