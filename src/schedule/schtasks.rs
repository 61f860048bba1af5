//! Windows: the job as a Task Scheduler task (`schtasks.exe`) running a small `.cmd` in the protected
//! state directory, and the one-shot resume as a SYSTEM task at startup.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{
    describe, describe_job, job_args, probe, remove_if_present, run, utf8, Every, InstallOptions,
    Scheduler, DEFAULT_AT,
};
use crate::support::error::InputError;
use crate::support::fsutil::{write_atomic, Perm};
use crate::support::perms;

/// Windows: the task's name (in a `handover` folder of the Task Scheduler library) and the batch file it
/// runs, in `%ProgramData%\handover` (the protected state directory).
pub const TASK_NAME: &str = r"handover\check";
pub const CMD_FILE: &str = "schedule-check.cmd";
/// Windows: a SYSTEM task at startup, deleted by the apply that finishes the journal.
pub const RESUME_TASK: &str = r"handover\resume";

/// The Windows Task Scheduler: `schtasks.exe`.
pub(crate) struct Schtasks;

/// Refuse a path that cmd.exe could read as anything but one literal, quoted word: `%` (variable
/// expansion happens even inside quotes), `"` (would end the quoting), and `^ & | < >` (cmd.exe
/// metacharacters, refused too so that no path relies on the quoting alone); a network path, too (the
/// job runs as SYSTEM).
fn cmd_path_ok(path: &str, what: &str) -> Result<()> {
    let b = path.as_bytes();
    let absolute = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\';
    if !absolute {
        return Err(InputError::refused(format!(
            "{what} {path:?}: not an absolute path on a local drive (like C:\\...)"
        )));
    }
    if let Some(c) = path
        .chars()
        .find(|&c| c.is_control() || matches!(c, '%' | '^' | '&' | '|' | '<' | '>' | '"' | '!'))
    {
        return Err(InputError::refused(format!(
            "{what} {path:?}: the character {c:?} cannot be written safely into a batch file; move or \
             rename the file"
        )));
    }
    Ok(())
}

/// The `.cmd` the task runs (CRLF line ends): the check, then the apply; the apply's exit status is the
/// task's "Last Run Result".
pub fn render_cmd(exe: &str, site: Option<&str>) -> Result<String> {
    cmd_path_ok(exe, "handover binary")?;
    if let Some(s) = site {
        cmd_path_ok(s, "site file")?;
    }
    let word = |w: &str| {
        if w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
        {
            w.to_string()
        } else {
            format!("\"{w}\"")
        }
    };
    let [check, apply] = job_args(site);
    let line = |args: &[String]| {
        let mut l = format!("\"{exe}\"");
        for a in args {
            l.push(' ');
            l.push_str(&word(a));
        }
        l
    };
    let lines = [
        "@echo off".to_string(),
        "rem Written by `handover schedule install`; `handover schedule remove` deletes it.".into(),
        "rem Runs as SYSTEM: a full check and its record (ITP07 9), then security software put back"
            .into(),
        "rem at once, without asking (ITP07 7.1.4).".into(),
        "setlocal DisableDelayedExpansion".into(),
        line(&check),
        line(&apply),
        "exit /b %ERRORLEVEL%".into(),
    ];
    Ok(lines.join("\r\n") + "\r\n")
}

/// The arguments of `schtasks.exe` that create the task (see
/// <https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/schtasks-create>):
/// `/F` replaces an existing task without asking, `/RU SYSTEM` runs it as LocalSystem whether or not
/// anyone is logged on, `/RL HIGHEST` with the full token, `/SC DAILY|WEEKLY` (`/D MON` for weekly)
/// at `/ST HH:MM`, `/TN` names it in a `handover` folder, `/TR` is the one command line it runs (at
/// most 261 characters), here the quoted path of the `.cmd`.
pub fn schtasks_create_args(every: Every, at: (u8, u8), cmd_path: &str) -> Result<Vec<String>> {
    cmd_path_ok(cmd_path, "scheduled task script")?;
    let tr = format!("\"{cmd_path}\"");
    if tr.chars().count() > 261 {
        return Err(InputError::refused(format!(
            "{cmd_path}: too long for schtasks /TR (at most 261 characters)"
        )));
    }
    let mut args: Vec<String> = ["/Create", "/F", "/RU", "SYSTEM", "/RL", "HIGHEST", "/SC"]
        .iter()
        .map(ToString::to_string)
        .collect();
    match every {
        Every::Daily => args.push("DAILY".into()),
        Every::Weekly => args.extend(["WEEKLY".into(), "/D".into(), "MON".into()]),
    }
    args.extend([
        "/ST".into(),
        format!("{:02}:{:02}", at.0, at.1),
        "/TN".into(),
        TASK_NAME.into(),
        "/TR".into(),
        tr,
    ]);
    Ok(args)
}

/// The schtasks.exe arguments of the Windows resume task (runs `cmd_path` as SYSTEM at startup).
pub fn schtasks_resume_args(cmd_path: &str) -> Result<Vec<String>> {
    cmd_path_ok(cmd_path, "resume command file")?;
    Ok([
        "/Create",
        "/F",
        "/RU",
        "SYSTEM",
        "/RL",
        "HIGHEST",
        "/SC",
        "ONSTART",
        "/TN",
        RESUME_TASK,
        "/TR",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(std::iter::once(format!("\"{cmd_path}\"")))
    .collect())
}

fn check_cmd_path() -> PathBuf {
    crate::support::dirs::state_dir().join(CMD_FILE)
}

impl Scheduler for Schtasks {
    fn install(&self, opts: &InstallOptions, exe: &Path, site: Option<&Path>) -> Result<String> {
        let exe = utf8(exe, "handover binary")?;
        let site = site.map(|s| utf8(s, "site file")).transpose()?;
        let at = opts.at.unwrap_or(DEFAULT_AT);
        let cmd_path = check_cmd_path();
        let cmd_str = utf8(&cmd_path, "scheduled task script")?.to_string();
        let script = render_cmd(exe, site)?;
        let args = schtasks_create_args(opts.every, at, &cmd_str)?;
        let dir = cmd_path.parent().context("the script has a directory")?;
        perms::ensure_private_dir(dir)?;
        write_atomic(&cmd_path, script.as_bytes(), Perm::Mode(0o644))?;
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        run("schtasks.exe", &argv)?;
        Ok(format!(
            "installed the scheduled task \\{TASK_NAME} ({}, as SYSTEM), which runs {cmd_str}:\n{}",
            describe(opts.every, at),
            describe_job(exe, site)
        ))
    }
    fn remove(&self) -> Result<String> {
        let (present, _) = probe("schtasks.exe", &["/Query", "/TN", TASK_NAME]);
        if present {
            run("schtasks.exe", &["/Delete", "/F", "/TN", TASK_NAME])?;
        }
        let cmd_path = check_cmd_path();
        let removed_cmd = remove_if_present(&cmd_path)?;
        Ok(if present || removed_cmd {
            format!(
                "removed the schedule: deleted the scheduled task \\{TASK_NAME} and {}\n",
                cmd_path.display()
            )
        } else {
            format!("no schedule installed (no task \\{TASK_NAME}); nothing to remove\n")
        })
    }
    fn status(&self) -> (bool, String) {
        let (present, out) = probe(
            "schtasks.exe",
            &["/Query", "/TN", TASK_NAME, "/FO", "LIST", "/V"],
        );
        if !present {
            return (
                false,
                format!(
                    "schedule: not installed (no task \\{TASK_NAME}); `handover schedule install` sets it up\n"
                ),
            );
        }
        const KEYS: &[(&str, &str)] = &[
            ("Status", "state"),
            ("Schedule Type", "when"),
            ("Start Time", "at"),
            ("Task To Run", "runs"),
            ("Run As User", "as"),
            ("Next Run Time", "next run"),
            ("Last Run Time", "last run"),
            ("Last Result", "last result"),
        ];
        let mut t = format!("schedule: installed (task \\{TASK_NAME})\n");
        let mut found = false;
        for l in out.lines() {
            if let Some((k, v)) = l.split_once(':') {
                if let Some((_, label)) = KEYS.iter().find(|(key, _)| *key == k.trim()) {
                    t.push_str(&format!("{label}: {}\n", v.trim()));
                    found = true;
                }
            }
        }
        if !found {
            // A Windows in another language names the fields in it: show them all.
            t.push_str(&out);
        }
        (true, t)
    }
    /// Write `resume.cmd` into the state directory and create the startup task that runs it.
    fn register_resume(&self, exe: &Path, state_dir: &Path) -> Result<String> {
        let cmd = state_dir.join("resume.cmd");
        let exe_s = utf8(exe, "handover binary")?;
        cmd_path_ok(exe_s, "handover binary")?;
        let text = format!("@echo off\r\n\"{exe_s}\" apply --resume --yes\r\n");
        write_atomic(&cmd, text.as_bytes(), Perm::Mode(0o600))?;
        let args = schtasks_resume_args(utf8(&cmd, "resume command file")?)?;
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        run("schtasks.exe", &argv)?;
        Ok(format!(
            "registered the startup task {RESUME_TASK}: apply --resume at the next boot\n"
        ))
    }
    fn unregister_resume(&self, state_dir: &Path) -> Result<()> {
        let _ = probe("schtasks.exe", &["/Delete", "/F", "/TN", RESUME_TASK]);
        remove_if_present(&state_dir.join("resume.cmd"))?;
        Ok(())
    }
}
