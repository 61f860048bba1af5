//! `handover schedule install | remove | status` (issue 5, item 4): a job that runs, as root or SYSTEM,
//!
//! 1. `handover check`: a full check and its record, the audit evidence of ITP07 §9;
//! 2. `handover apply --yes --reason drift --only endpoint.protection --only apps.lansweeper
//!    --only apps.fortinet-vpn`: security software that went missing is put back "immediately without
//!    seeking confirmation" (ITP07 §7.1.4). A partial run: its record says `"scope": "partial"`.
//!
//! Both get `--site FILE` when one was given at install. The job is a systemd service and timer on Linux,
//! a scheduled task running a small `.cmd` on Windows, a launchd daemon on macOS.
//!
//! The job runs as root, so whoever can change the binary or the site it names chooses what root runs
//! (SPEC §7): install refuses a binary, its directory or a site that anyone but root can write. Every
//! value that reaches a unit file, a batch file or a plist is escaped for that format, or refused where
//! the format has no safe escape. The renderers are pure functions, unit-tested on every OS; only
//! [`install`], [`remove`] and [`status`] touch the system.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::support::error::InputError;
use crate::support::perms;

/// How often the job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Every {
    #[default]
    Daily,
    Weekly,
}

/// What `handover schedule install` was asked for.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    pub every: Every,
    /// Hour and minute (local time). Linux without it: systemd's `daily` / `weekly` (00:00, Monday for
    /// weekly; a run missed while the device was off happens at the next boot). Windows and macOS have no
    /// such catch-up, so they default to [`DEFAULT_AT`], when a laptop is more likely to be on.
    pub at: Option<(u8, u8)>,
    /// The site file the job passes as `--site`; without it the job uses the OS's default site.
    pub site: Option<PathBuf>,
}

/// The security-software controls the scheduled apply repairs (ITP07 §7.1.4, §7.1.6).
pub const SECURITY_CONTROLS: [&str; 3] = [
    "endpoint.protection",
    "apps.lansweeper",
    "apps.fortinet-vpn",
];

/// The time of day of the Windows and macOS job when `--at` is not given.
pub const DEFAULT_AT: (u8, u8) = (12, 0);

/// Linux: where the units go, and their names.
pub const UNIT_DIR: &str = "/etc/systemd/system";
pub const SERVICE: &str = "handover-check.service";
pub const TIMER: &str = "handover-check.timer";

/// Windows: the task's name (in a `handover` folder of the Task Scheduler library) and the batch file it
/// runs, in `%ProgramData%\handover` (the protected state directory).
pub const TASK_NAME: &str = r"handover\check";
pub const CMD_FILE: &str = "schedule-check.cmd";

/// macOS: the launchd job.
pub const LAUNCHD_LABEL: &str = "uk.ac.handover.check";
pub const PLIST_PATH: &str = "/Library/LaunchDaemons/uk.ac.handover.check.plist";
/// macOS: the one-shot job that finishes an apply a restart interrupted.
pub const RESUME_LABEL: &str = "uk.ac.handover.resume";
pub const RESUME_PLIST: &str = "/Library/LaunchDaemons/uk.ac.handover.resume.plist";
pub const MACOS_LOG: &str = "/Library/Logs/handover-check.log";

/// Parse `--at HH:MM` (24-hour clock).
pub fn parse_at(s: &str) -> Result<(u8, u8)> {
    let bad = || {
        InputError::refused(format!(
            "--at {s:?}: expected HH:MM on the 24-hour clock, e.g. 12:30"
        ))
    };
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let digits = |t: &str| (1..=2).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return Err(bad());
    }
    let (h, m): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h, m))
}

fn check_at(at: Option<(u8, u8)>) -> Result<()> {
    match at {
        Some((h, m)) if h > 23 || m > 59 => Err(InputError::refused(format!(
            "--at {h:02}:{m:02}: not a time of day"
        ))),
        _ => Ok(()),
    }
}

/// "daily at 00:00", "weekly on Monday at 12:30".
pub fn describe(every: Every, at: (u8, u8)) -> String {
    let (h, m) = at;
    match every {
        Every::Daily => format!("daily at {h:02}:{m:02}"),
        Every::Weekly => format!("weekly on Monday at {h:02}:{m:02}"),
    }
}

/// The arguments (after the program) of the two commands the job runs, in order.
pub fn job_args(site: Option<&str>) -> [Vec<String>; 2] {
    let mut check = vec!["check".to_string()];
    let mut apply: Vec<String> = ["apply", "--yes", "--reason", "drift"]
        .iter()
        .map(ToString::to_string)
        .collect();
    for id in SECURITY_CONTROLS {
        apply.push("--only".into());
        apply.push(id.into());
    }
    if let Some(s) = site {
        for cmd in [&mut check, &mut apply] {
            cmd.push("--site".into());
            cmd.push(s.to_string());
        }
    }
    [check, apply]
}

// ------------------------------------------------------------------------------------------------
// Linux: systemd

/// Refuse what an `ExecStart=` word cannot carry safely. systemd unquotes a word with C escapes, so a
/// backslash or a quote would need escaping whose rules differ between versions, and it refuses an
/// executable whose name holds a quote, a backslash or a control character ("Executable name contains
/// special characters"); `$` in the executable cannot be escaped at all (`$$` is unescaped only in
/// arguments). Such paths are refused; `%` (a specifier) and `$` in arguments are escaped.
fn unit_path_ok(path: &str, what: &str, executable: bool) -> Result<()> {
    if !path.starts_with('/') {
        return Err(InputError::refused(format!(
            "{what} {path:?}: not an absolute path"
        )));
    }
    let bad = path
        .chars()
        .find(|&c| c.is_control() || matches!(c, '"' | '\'' | '\\') || (executable && c == '$'));
    if let Some(c) = bad {
        return Err(InputError::refused(format!(
            "{what} {path:?}: the character {c:?} cannot be written safely into a systemd unit; \
             move or rename the file"
        )));
    }
    Ok(())
}

/// One word of an `ExecStart=` line: `%` doubled (specifiers), `$` doubled (environment expansion), and
/// double-quoted when it holds anything but plain path characters. `prefix` (`-`) goes inside the quotes:
/// systemd strips prefixes from the first word after unquoting it, in every version.
fn systemd_word(prefix: &str, word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = escaped
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%$".contains(c));
    if plain {
        format!("{prefix}{escaped}")
    } else {
        format!("\"{prefix}{escaped}\"")
    }
}

fn exec_line(prefix: &str, exe: &str, args: &[String]) -> String {
    let mut line = format!("ExecStart={}", systemd_word(prefix, exe));
    for a in args {
        line.push(' ');
        line.push_str(&systemd_word("", a));
    }
    line
}

/// `handover-check.service`: two `ExecStart=` lines run one after the other (Type=oneshot). The check
/// is prefixed with `-`: its exit status (1 when the device is not compliant, 2 when it could not run)
/// never stops the repair, which matters more. `SuccessExitStatus=1 3`: the apply's "still not compliant"
/// and "reboot needed" are results, written in its record, not failures of the job; the unit fails only
/// when the apply itself does (exit 2), which `schedule status` and `systemctl --failed` then show.
pub fn render_service(exe: &Path, site: Option<&Path>) -> Result<String> {
    let exe = utf8(exe, "handover binary")?;
    unit_path_ok(exe, "handover binary", true)?;
    let site = match site {
        Some(s) => {
            let s = utf8(s, "site file")?;
            unit_path_ok(s, "site file", false)?;
            Some(s)
        }
        None => None,
    };
    let [check, apply] = job_args(site);
    Ok(format!(
        "# Written by `handover schedule install`; `handover schedule remove` deletes it.\n\
         [Unit]\n\
         Description=handover: scheduled baseline check and repair of security software (ITP07 9, 7.1.4)\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         User=root\n\
         # A full check and its record; \"-\": a device that is not compliant (exit 1) still gets the repair.\n\
         {}\n\
         # Security software that went missing is put back at once, without asking (ITP07 7.1.4).\n\
         {}\n\
         # 1 (still not compliant) and 3 (reboot needed) are results kept in the record, not failures of the job.\n\
         SuccessExitStatus=1 3\n\
         Nice=19\n\
         IOSchedulingClass=idle\n\
         TimeoutStartSec=3h\n",
        exec_line("-", exe, &check),
        exec_line("", exe, &apply),
    ))
}

/// The timer's `OnCalendar=` value.
pub fn on_calendar(every: Every, at: Option<(u8, u8)>) -> String {
    match (every, at) {
        (Every::Daily, None) => "daily".into(),
        (Every::Weekly, None) => "weekly".into(),
        (Every::Daily, Some((h, m))) => format!("*-*-* {h:02}:{m:02}:00"),
        (Every::Weekly, Some((h, m))) => format!("Mon *-*-* {h:02}:{m:02}:00"),
    }
}

/// `handover-check.timer`: `Persistent=true` runs a job missed while the device was off at the next
/// boot; `RandomizedDelaySec=15min` spreads a fleet's runs (and their downloads).
pub fn render_timer(every: Every, at: Option<(u8, u8)>) -> String {
    let when = describe(every, at.unwrap_or((0, 0)));
    format!(
        "# Written by `handover schedule install`; `handover schedule remove` deletes it.\n\
         [Unit]\n\
         Description=handover: check the baseline and repair security software, {when}\n\
         \n\
         [Timer]\n\
         OnCalendar={}\n\
         Persistent=true\n\
         RandomizedDelaySec=15min\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n",
        on_calendar(every, at)
    )
}

// ------------------------------------------------------------------------------------------------
// Windows: Task Scheduler

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

// ------------------------------------------------------------------------------------------------
// macOS: launchd

fn plist_path_ok(path: &str, what: &str) -> Result<()> {
    if !path.starts_with('/') {
        return Err(InputError::refused(format!(
            "{what} {path:?}: not an absolute path"
        )));
    }
    if path.chars().any(char::is_control) {
        return Err(InputError::refused(format!(
            "{what} {path:?}: a control character cannot be written into a property list"
        )));
    }
    Ok(())
}

/// The launchd job's `ProgramArguments`: `/bin/sh -c SCRIPT handover-check EXE [SITE]`. The paths reach
/// the script as positional parameters (`"$1"`, `"$2"`), never as script text, so no shell quoting is
/// involved.
pub fn launchd_program_arguments(exe: &str, site: Option<&str>) -> Vec<String> {
    let [check, apply] = job_args(site.map(|_| "$2"));
    let cmd = |args: &[String]| {
        let words: Vec<String> = args
            .iter()
            .map(|a| {
                if a == "$2" {
                    "\"$2\"".to_string()
                } else {
                    a.clone()
                }
            })
            .collect();
        format!("\"$1\" {}", words.join(" "))
    };
    let mut argv = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        format!("{}; {}", cmd(&check), cmd(&apply)),
        "handover-check".to_string(),
        exe.to_string(),
    ];
    if let Some(s) = site {
        argv.push(s.to_string());
    }
    argv
}

/// A launchd job's property list (launchd.plist(5)): `comment`, `Label`, `ProgramArguments` (each one
/// XML-escaped), then `keys` (property list text), then both output paths to [`MACOS_LOG`].
fn launchd_plist(comment: &str, label: &str, args: &[&str], keys: &str) -> String {
    let mut p = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- {comment} -->\n\
         <plist version=\"1.0\">\n<dict>\n\
         \t<key>Label</key>\n\t<string>{}</string>\n\t<key>ProgramArguments</key>\n\t<array>\n",
        crate::plan::render::xml_escape(label)
    );
    for a in args {
        p.push_str(&format!(
            "\t\t<string>{}</string>\n",
            crate::plan::render::xml_escape(a)
        ));
    }
    p.push_str("\t</array>\n");
    p.push_str(keys);
    p.push_str(&format!(
        "\t<key>StandardOutPath</key>\n\t<string>{log}</string>\n\
         \t<key>StandardErrorPath</key>\n\t<string>{log}</string>\n\
         </dict>\n</plist>\n",
        log = crate::plan::render::xml_escape(MACOS_LOG)
    ));
    p
}

/// `/Library/LaunchDaemons/uk.ac.handover.check.plist` (launchd.plist(5)): `StartCalendarInterval` at
/// the hour and minute, on Monday (`Weekday` 1) for weekly; launchd runs a job whose time passed while
/// the Mac slept when it wakes. Output goes to [`MACOS_LOG`] (handover redacts secrets from it).
pub fn render_plist(exe: &str, site: Option<&str>, every: Every, at: (u8, u8)) -> Result<String> {
    plist_path_ok(exe, "handover binary")?;
    if let Some(s) = site {
        plist_path_ok(s, "site file")?;
    }
    let mut keys = String::from("\t<key>StartCalendarInterval</key>\n\t<dict>\n");
    if every == Every::Weekly {
        keys.push_str("\t\t<key>Weekday</key>\n\t\t<integer>1</integer>\n");
    }
    keys.push_str(&format!(
        "\t\t<key>Hour</key>\n\t\t<integer>{}</integer>\n\t\t<key>Minute</key>\n\t\t<integer>{}</integer>\n\t</dict>\n\
         \t<key>RunAtLoad</key>\n\t<false/>\n\
         \t<key>Nice</key>\n\t<integer>10</integer>\n\
         \t<key>LowPriorityIO</key>\n\t<true/>\n",
        at.0, at.1
    ));
    let args = launchd_program_arguments(exe, site);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Ok(launchd_plist(
        "Written by `handover schedule install`; `handover schedule remove` deletes it.",
        LAUNCHD_LABEL,
        &args,
        &keys,
    ))
}

// ------------------------------------------------------------------------------------------------
// Doing it

fn utf8<'a>(p: &'a Path, what: &str) -> Result<&'a str> {
    p.to_str().ok_or_else(|| {
        InputError::refused(format!(
            "{what} {}: not valid UTF-8, cannot be written into the job",
            p.display()
        ))
    })
}

/// An absolute path for a file that must exist: symlinks resolved on Unix; on Windows without the
/// `\\?\` prefix that `canonicalize` adds (cmd.exe cannot run from it).
fn absolute_existing(p: &Path, what: &str) -> Result<PathBuf> {
    if !p.exists() {
        return Err(InputError::refused(format!(
            "{what} {}: not found",
            p.display()
        )));
    }
    if cfg!(windows) {
        Ok(std::path::absolute(p)?)
    } else {
        std::fs::canonicalize(p).with_context(|| format!("{what} {}", p.display()))
    }
}

/// The binary the job runs (this one) and the site it passes, both checked: root's job must not run
/// anything a standard user could have written (SPEC §7).
fn trusted_inputs(opts: &InstallOptions) -> Result<(PathBuf, Option<PathBuf>, Vec<String>)> {
    let exe = std::env::current_exe().context("finding the running handover binary")?;
    let exe = absolute_existing(&exe, "handover binary")?;
    let hint = "the scheduled job runs it as root/SYSTEM: install handover where only administrators \
                can write (e.g. `install -m 0755 handover /usr/local/sbin/`, or C:\\Program Files\\handover) \
                and run `schedule install` from there";
    let with_hint = |e: anyhow::Error| InputError::refused(format!("{e:#}; {hint}"));
    perms::require_trusted(&exe, "handover binary").map_err(with_hint)?;
    if let Some(dir) = exe.parent() {
        perms::require_trusted(dir, "the directory of the handover binary").map_err(with_hint)?;
    }
    let mut notes = Vec::new();
    let known = crate::inputs::profile::control_ids();
    let site = match &opts.site {
        Some(s) => {
            let s = absolute_existing(s, "site file")?;
            perms::require_trusted(&s, "site file")?;
            crate::inputs::site::Site::load(&s, true, &known)?;
            Some(s)
        }
        None => {
            let d = crate::support::dirs::site_file();
            if d.exists() {
                perms::require_trusted(&d, "site file")?;
                crate::inputs::site::Site::load(&d, true, &known)?;
            } else {
                notes.push(format!(
                    "note: there is no site file at {} yet; the scheduled apply needs one (its \
                     [lansweeper] and [vpn] keys) and refuses to run until it exists",
                    d.display()
                ));
            }
            None
        }
    };
    Ok((exe, site, notes))
}

fn require_admin(what: &str) -> Result<()> {
    if perms::is_root() {
        return Ok(());
    }
    Err(InputError::refused(if cfg!(windows) {
        format!("schedule {what} must run as Administrator (an elevated prompt): the job runs as SYSTEM")
    } else {
        format!("schedule {what} must run as root (sudo handover schedule {what}): the job runs as root")
    }))
}

/// Run a command; its stdout, or an error with its stderr.
fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = duct::cmd(crate::host::program(program), args.iter().copied())
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let msg = String::from_utf8_lossy(&out.stdout);
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            if err.trim().is_empty() {
                msg.trim()
            } else {
                err.trim()
            }
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Run a command whose failure is an answer (not installed, not loaded): (success, stdout + stderr).
fn probe(program: &str, args: &[&str]) -> (bool, String) {
    match duct::cmd(crate::host::program(program), args.iter().copied())
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
    {
        Ok(out) => (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ),
        Err(e) => (false, format!("cannot run {program}: {e}")),
    }
}

/// Write `bytes` to `path` atomically (temporary file in the same directory, fsync, rename), mode `mode`
/// on Unix (the directory's ACL on Windows).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    crate::support::fsutil::write_atomic(path, bytes, crate::support::fsutil::Perm::Mode(mode))
}

fn remove_if_present(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// A command line for people to read: words with spaces quoted.
fn shown(exe: &str, args: &[String]) -> String {
    std::iter::once(exe)
        .chain(args.iter().map(String::as_str))
        .map(|w| {
            if w.contains(char::is_whitespace) {
                format!("'{w}'")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Install (or replace) the scheduled job. Returns what was done, for stdout.
pub fn install(opts: &InstallOptions) -> Result<String> {
    require_admin("install")?;
    check_at(opts.at)?;
    let (exe, site, notes) = trusted_inputs(opts)?;
    let mut out = if cfg!(windows) {
        windows_install(opts, &exe, site.as_deref())?
    } else if cfg!(target_os = "macos") {
        macos_install(opts, &exe, site.as_deref())?
    } else {
        linux_install(opts, &exe, site.as_deref())?
    };
    for n in notes {
        out.push_str(&n);
        out.push('\n');
    }
    Ok(out)
}

/// Remove the scheduled job; fine when there is none.
pub fn remove() -> Result<String> {
    require_admin("remove")?;
    if cfg!(windows) {
        windows_remove()
    } else if cfg!(target_os = "macos") {
        macos_remove()
    } else {
        linux_remove()
    }
}

/// Whether the job is installed (and in effect), with a description: its schedule, next and last run,
/// and the newest record in the state directory.
pub fn status() -> Result<(bool, String)> {
    let (installed, mut text) = if cfg!(windows) {
        windows_status()
    } else if cfg!(target_os = "macos") {
        macos_status()
    } else {
        linux_status()
    };
    text.push_str(&latest_record_line(
        &crate::evidence::record::default_state_dir(),
    ));
    Ok((installed, text))
}

fn describe_job(exe: &str, site: Option<&str>) -> String {
    let [check, apply] = job_args(site);
    format!("    {}\n    {}\n", shown(exe, &check), shown(exe, &apply))
}

fn linux_install(opts: &InstallOptions, exe: &Path, site: Option<&Path>) -> Result<String> {
    if !Path::new("/run/systemd/system").is_dir() {
        return Err(InputError::refused(
            "this system is not running systemd: `schedule install` sets up a systemd timer",
        ));
    }
    // Rendered (and so validated) before anything is written.
    let service = render_service(exe, site)?;
    let timer = render_timer(opts.every, opts.at);
    let dir = Path::new(UNIT_DIR);
    write_atomic(&dir.join(SERVICE), service.as_bytes(), 0o644)?;
    write_atomic(&dir.join(TIMER), timer.as_bytes(), 0o644)?;
    run("systemctl", &["daemon-reload"])?;
    run("systemctl", &["enable", TIMER])?;
    // Started, or restarted when it ran already, so that a changed schedule takes effect now.
    run("systemctl", &["restart", TIMER])?;
    let props = systemctl_show(TIMER, &["NextElapseUSecRealtime"]);
    let when = describe(opts.every, opts.at.unwrap_or((0, 0)));
    Ok(format!(
        "installed {dir}/{TIMER} ({when}, up to 15 min later at random; a run missed while the device \
         was off happens at the next boot) and {dir}/{SERVICE}, which runs as root:\n{}next run: {}\n",
        describe_job(utf8(exe, "handover binary")?, site.and_then(Path::to_str)),
        value_or(&props, "NextElapseUSecRealtime", "unknown"),
        dir = UNIT_DIR,
    ))
}

fn linux_remove() -> Result<String> {
    let dir = Path::new(UNIT_DIR);
    let timer = dir.join(TIMER);
    let service = dir.join(SERVICE);
    let systemd = Path::new("/run/systemd/system").is_dir();
    if !timer.exists() && !service.exists() {
        return Ok(format!(
            "no schedule installed ({} is absent); nothing to remove\n",
            timer.display()
        ));
    }
    if systemd && timer.exists() {
        // A run in progress is left to finish: killing an apply midway helps no one.
        run("systemctl", &["disable", "--now", TIMER])?;
    }
    remove_if_present(&timer)?;
    remove_if_present(&service)?;
    remove_if_present(&dir.join("timers.target.wants").join(TIMER))?;
    if systemd {
        run("systemctl", &["daemon-reload"])?;
        let _ = probe("systemctl", &["reset-failed", SERVICE, TIMER]);
    }
    Ok(format!(
        "removed the schedule: disabled and deleted {} and {}\n",
        timer.display(),
        service.display()
    ))
}

/// `systemctl show UNIT -p A -p B`: the properties as (name, value) pairs; empty when it cannot run.
fn systemctl_show(unit: &str, props: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["show", unit];
    for p in props {
        args.push("-p");
        args.push(p);
    }
    let (ok, out) = probe("systemctl", &args);
    if !ok {
        return Vec::new();
    }
    parse_properties(&out)
}

/// `KEY=VALUE` lines.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn value<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty() && *v != "n/a")
}

fn value_or<'a>(props: &'a [(String, String)], key: &str, default: &'a str) -> &'a str {
    value(props, key).unwrap_or(default)
}

fn linux_status() -> (bool, String) {
    let timer_path = Path::new(UNIT_DIR).join(TIMER);
    let service_path = Path::new(UNIT_DIR).join(SERVICE);
    if !timer_path.exists() {
        let mut t = format!(
            "schedule: not installed ({} is absent); `handover schedule install` sets it up\n",
            timer_path.display()
        );
        if service_path.exists() {
            t.push_str(&format!(
                "warning: {} is left without its timer; `handover schedule remove` deletes it\n",
                service_path.display()
            ));
        }
        return (false, t);
    }
    let timer = systemctl_show(
        TIMER,
        &[
            "UnitFileState",
            "ActiveState",
            "NextElapseUSecRealtime",
            "LastTriggerUSec",
        ],
    );
    let service = systemctl_show(
        SERVICE,
        &[
            "ActiveState",
            "Result",
            "ExecMainStatus",
            "ExecMainExitTimestamp",
        ],
    );
    let enabled = value(&timer, "UnitFileState") == Some("enabled");
    let active = value(&timer, "ActiveState") == Some("active");
    let mut t = format!(
        "schedule: {} ({}: {}, {})\n",
        if enabled && active {
            "installed"
        } else {
            "installed but NOT in effect"
        },
        timer_path.display(),
        value_or(&timer, "UnitFileState", "unknown"),
        value_or(&timer, "ActiveState", "unknown"),
    );
    let unit_text = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    for l in unit_text(&timer_path).lines() {
        if let Some(v) = l.strip_prefix("OnCalendar=") {
            t.push_str(&format!(
                "when: OnCalendar={v}, up to 15 min later at random; runs missed while off happen at boot\n"
            ));
        }
    }
    for l in unit_text(&service_path).lines() {
        if let Some(v) = l.strip_prefix("ExecStart=") {
            t.push_str(&format!("runs: {v}\n"));
        }
    }
    t.push_str(&format!(
        "next run: {}\n",
        value_or(&timer, "NextElapseUSecRealtime", "none scheduled")
    ));
    match value(&service, "ExecMainExitTimestamp") {
        Some(at) => t.push_str(&format!(
            "last run: finished {at} (result {}, apply exit status {})\n",
            value_or(&service, "Result", "unknown"),
            value_or(&service, "ExecMainStatus", "unknown")
        )),
        None if value(&service, "ActiveState") == Some("activating") => {
            t.push_str("last run: running now\n")
        }
        None => t.push_str(&format!(
            "last run: {}\n",
            value(&timer, "LastTriggerUSec")
                .map_or("never".to_string(), |v| format!("triggered {v}"))
        )),
    }
    (enabled && active, t)
}

fn windows_cmd_path() -> PathBuf {
    crate::evidence::record::default_state_dir().join(CMD_FILE)
}

fn windows_install(opts: &InstallOptions, exe: &Path, site: Option<&Path>) -> Result<String> {
    let exe = utf8(exe, "handover binary")?;
    let site = site.map(|s| utf8(s, "site file")).transpose()?;
    let at = opts.at.unwrap_or(DEFAULT_AT);
    let cmd_path = windows_cmd_path();
    let cmd_str = utf8(&cmd_path, "scheduled task script")?.to_string();
    let script = render_cmd(exe, site)?;
    let args = schtasks_create_args(opts.every, at, &cmd_str)?;
    let dir = cmd_path.parent().context("the script has a directory")?;
    perms::ensure_private_dir(dir)?;
    write_atomic(&cmd_path, script.as_bytes(), 0o644)?;
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    run("schtasks.exe", &argv)?;
    Ok(format!(
        "installed the scheduled task \\{TASK_NAME} ({}, as SYSTEM), which runs {cmd_str}:\n{}",
        describe(opts.every, at),
        describe_job(exe, site)
    ))
}

fn windows_remove() -> Result<String> {
    let (present, _) = probe("schtasks.exe", &["/Query", "/TN", TASK_NAME]);
    if present {
        run("schtasks.exe", &["/Delete", "/F", "/TN", TASK_NAME])?;
    }
    let cmd_path = windows_cmd_path();
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

fn windows_status() -> (bool, String) {
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

fn macos_install(opts: &InstallOptions, exe: &Path, site: Option<&Path>) -> Result<String> {
    let exe = utf8(exe, "handover binary")?;
    let site = site.map(|s| utf8(s, "site file")).transpose()?;
    let at = opts.at.unwrap_or(DEFAULT_AT);
    let plist = render_plist(exe, site, opts.every, at)?;
    write_atomic(Path::new(PLIST_PATH), plist.as_bytes(), 0o644)?;
    let target = format!("system/{LAUNCHD_LABEL}");
    // Replace a loaded job: bootstrap refuses a label that is loaded already.
    let _ = probe("launchctl", &["bootout", &target]);
    run("launchctl", &["bootstrap", "system", PLIST_PATH])?;
    Ok(format!(
        "installed {PLIST_PATH} ({}; a run due while the Mac slept happens when it wakes), which runs as root:\n{}output: {MACOS_LOG}\n",
        describe(opts.every, at),
        describe_job(exe, site)
    ))
}

fn macos_remove() -> Result<String> {
    let target = format!("system/{LAUNCHD_LABEL}");
    let (loaded, _) = probe("launchctl", &["print", &target]);
    if loaded {
        run("launchctl", &["bootout", &target])?;
    }
    let removed = remove_if_present(Path::new(PLIST_PATH))?;
    Ok(if loaded || removed {
        format!("removed the schedule: unloaded {target} and deleted {PLIST_PATH}\n")
    } else {
        format!("no schedule installed ({PLIST_PATH} is absent); nothing to remove\n")
    })
}

fn macos_status() -> (bool, String) {
    let target = format!("system/{LAUNCHD_LABEL}");
    if !Path::new(PLIST_PATH).exists() {
        return (
            false,
            format!(
                "schedule: not installed ({PLIST_PATH} is absent); `handover schedule install` sets it up\n"
            ),
        );
    }
    let (loaded, out) = probe("launchctl", &["print", &target]);
    let mut t = format!(
        "schedule: {} ({PLIST_PATH})\n",
        if loaded {
            "installed"
        } else {
            "installed but NOT loaded (launchctl bootstrap system it, or install again)"
        }
    );
    // launchd does not report the next run: say when it is due from the plist itself.
    let plist = std::fs::read_to_string(PLIST_PATH).unwrap_or_default();
    let int_after = |key: &str| -> Option<u8> {
        let rest = plist.split(&format!("<key>{key}</key>")).nth(1)?;
        rest.split("<integer>")
            .nth(1)?
            .split("</integer>")
            .next()?
            .trim()
            .parse()
            .ok()
    };
    if let (Some(h), Some(m)) = (int_after("Hour"), int_after("Minute")) {
        let every = if int_after("Weekday").is_some() {
            Every::Weekly
        } else {
            Every::Daily
        };
        t.push_str(&format!(
            "next run: {} (launchd does not report the next date)\n",
            describe(every, (h, m))
        ));
    }
    for l in out.lines() {
        let l = l.trim();
        for key in ["state =", "runs =", "last exit code ="] {
            if l.starts_with(key) {
                t.push_str(&format!("{l}\n"));
            }
        }
    }
    (loaded, t)
}

/// The newest record (names sort in the order of the chain, see `record::write`), or why there is none.
pub fn latest_record(state_dir: &Path) -> Result<Option<PathBuf>> {
    let dir = state_dir.join("records");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    Ok(entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max_by(|a, b| a.file_name().cmp(&b.file_name())))
}

fn latest_record_line(state_dir: &Path) -> String {
    match latest_record(state_dir) {
        Ok(None) => format!(
            "latest record: none in {}\n",
            state_dir.join("records").display()
        ),
        Err(e) => format!("latest record: {e:#} (run as root to see it)\n"),
        Ok(Some(p)) => {
            let v: serde_json::Value = std::fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let r = &v["report"];
            match (
                r["finished_at"].as_str(),
                r["mode"].as_str(),
                r["scope"].as_str(),
            ) {
                (Some(at), Some(mode), Some(scope)) => {
                    format!("latest record: {at} ({mode}, {scope}) {}\n", p.display())
                }
                _ => format!("latest record: {}\n", p.display()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// systemd's reading of an `ExecStart=` line, for the cases these units produce: words split on
    /// whitespace, double quotes removed, then `%%` → `%` and `$$` → `$`; the `-` prefix taken off the
    /// unquoted first word (config_parse_exec, extract_first_word).
    fn systemd_argv(line: &str) -> (bool, Vec<String>) {
        let rvalue = line.strip_prefix("ExecStart=").expect("an ExecStart line");
        let mut words = Vec::new();
        let mut cur: Option<String> = None;
        let mut quoted = false;
        for c in rvalue.chars() {
            match c {
                '"' => {
                    quoted = !quoted;
                    cur.get_or_insert_with(String::new);
                }
                c if c.is_whitespace() && !quoted => {
                    if let Some(w) = cur.take() {
                        words.push(w);
                    }
                }
                '\\' => panic!("no backslash escapes expected: {line}"),
                c => cur.get_or_insert_with(String::new).push(c),
            }
        }
        assert!(!quoted, "unbalanced quotes: {line}");
        words.extend(cur);
        let ignore = words[0].starts_with('-');
        if ignore {
            words[0].remove(0);
        }
        let words = words
            .into_iter()
            .map(|w| w.replace("%%", "%").replace("$$", "$"))
            .collect();
        (ignore, words)
    }

    fn exec_lines(unit: &str) -> Vec<&str> {
        unit.lines()
            .filter(|l| l.starts_with("ExecStart="))
            .collect()
    }

    const APPLY: &str = "apply --yes --reason drift --only endpoint.protection --only apps.lansweeper --only apps.fortinet-vpn";

    #[test]
    fn service_runs_check_then_apply_of_the_security_controls() {
        let unit = render_service(Path::new("/usr/local/sbin/handover"), None).unwrap();
        assert_eq!(
            exec_lines(&unit),
            [
                "ExecStart=-/usr/local/sbin/handover check",
                &format!("ExecStart=/usr/local/sbin/handover {APPLY}")
            ]
        );
        for want in [
            "Type=oneshot",
            "SuccessExitStatus=1 3",
            "Nice=19",
            "IOSchedulingClass=idle",
            "After=network-online.target",
        ] {
            assert!(unit.lines().any(|l| l == want), "{want} missing:\n{unit}");
        }
    }

    #[test]
    fn service_passes_the_site_to_both_commands() {
        let unit = render_service(
            Path::new("/usr/local/sbin/handover"),
            Some(Path::new("/etc/handover/site.toml")),
        )
        .unwrap();
        assert_eq!(
            exec_lines(&unit),
            [
                "ExecStart=-/usr/local/sbin/handover check --site /etc/handover/site.toml",
                &format!(
                    "ExecStart=/usr/local/sbin/handover {APPLY} --site /etc/handover/site.toml"
                )
            ]
        );
    }

    #[test]
    fn paths_with_spaces_are_quoted_for_systemd() {
        let unit = render_service(
            Path::new("/opt/handover tools/handover"),
            Some(Path::new("/etc/handover/my site.toml")),
        )
        .unwrap();
        let lines = exec_lines(&unit);
        assert_eq!(
            lines[0],
            "ExecStart=\"-/opt/handover tools/handover\" check --site \"/etc/handover/my site.toml\""
        );
        let (ignore, argv) = systemd_argv(lines[0]);
        assert!(ignore);
        assert_eq!(
            argv,
            [
                "/opt/handover tools/handover",
                "check",
                "--site",
                "/etc/handover/my site.toml"
            ]
        );
        let (ignore, argv) = systemd_argv(lines[1]);
        assert!(!ignore);
        assert_eq!(argv[0], "/opt/handover tools/handover");
        assert_eq!(argv.last().unwrap(), "/etc/handover/my site.toml");
    }

    #[test]
    fn percent_and_dollar_are_escaped_for_systemd() {
        let unit = render_service(
            Path::new("/opt/100%/handover"),
            Some(Path::new("/etc/handover/$HOME%n.toml")),
        )
        .unwrap();
        let lines = exec_lines(&unit);
        assert_eq!(
            lines[0],
            "ExecStart=-/opt/100%%/handover check --site /etc/handover/$$HOME%%n.toml"
        );
        assert_eq!(
            systemd_argv(lines[0]).1,
            [
                "/opt/100%/handover",
                "check",
                "--site",
                "/etc/handover/$HOME%n.toml"
            ]
        );
    }

    #[test]
    fn unit_refuses_what_systemd_cannot_carry() {
        for (exe, site) in [
            ("/opt/a\nExecStart=/bin/sh/handover", None),
            ("/opt/\"q\"/handover", None),
            ("/opt/back\\slash/handover", None),
            ("/opt/$x/handover", None),
            ("relative/handover", None),
            ("/usr/local/sbin/handover", Some("/etc/site\t.toml")),
            ("/usr/local/sbin/handover", Some("/etc/it's.toml")),
        ] {
            let e = render_service(Path::new(exe), site.map(Path::new))
                .expect_err(&format!("{exe:?} {site:?} accepted"));
            assert!(
                e.downcast_ref::<InputError>().is_some(),
                "a refusal (exit 2): {e:#}"
            );
        }
    }

    #[test]
    fn timer_daily_weekly_and_at() {
        assert_eq!(on_calendar(Every::Daily, None), "daily");
        assert_eq!(on_calendar(Every::Weekly, None), "weekly");
        assert_eq!(on_calendar(Every::Daily, Some((7, 5))), "*-*-* 07:05:00");
        assert_eq!(
            on_calendar(Every::Weekly, Some((23, 59))),
            "Mon *-*-* 23:59:00"
        );
        let t = render_timer(Every::Daily, None);
        assert_eq!(
            t,
            "# Written by `handover schedule install`; `handover schedule remove` deletes it.\n\
             [Unit]\n\
             Description=handover: check the baseline and repair security software, daily at 00:00\n\
             \n\
             [Timer]\n\
             OnCalendar=daily\n\
             Persistent=true\n\
             RandomizedDelaySec=15min\n\
             \n\
             [Install]\n\
             WantedBy=timers.target\n"
        );
        let t = render_timer(Every::Weekly, Some((3, 30)));
        assert!(t.contains("\nOnCalendar=Mon *-*-* 03:30:00\n"), "{t}");
        assert!(t.contains("weekly on Monday at 03:30"), "{t}");
    }

    #[test]
    fn at_is_parsed_and_checked() {
        assert_eq!(parse_at("00:00").unwrap(), (0, 0));
        assert_eq!(parse_at("7:05").unwrap(), (7, 5));
        assert_eq!(parse_at("23:59").unwrap(), (23, 59));
        for bad in [
            "24:00", "12:60", "12", "12:5", "1230", "-1:00", "12:30:00", " 12:30", "",
        ] {
            assert!(parse_at(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_at(Some((24, 0))).is_err());
        assert!(check_at(Some((0, 0))).is_ok());
    }

    #[test]
    fn windows_cmd_runs_check_then_apply() {
        let cmd = render_cmd(
            r"C:\Program Files\handover\handover.exe",
            Some(r"C:\ProgramData\handover\site.toml"),
        )
        .unwrap();
        assert_eq!(
            cmd,
            "@echo off\r\n\
             rem Written by `handover schedule install`; `handover schedule remove` deletes it.\r\n\
             rem Runs as SYSTEM: a full check and its record (ITP07 9), then security software put back\r\n\
             rem at once, without asking (ITP07 7.1.4).\r\n\
             setlocal DisableDelayedExpansion\r\n\
             \"C:\\Program Files\\handover\\handover.exe\" check --site \"C:\\ProgramData\\handover\\site.toml\"\r\n\
             \"C:\\Program Files\\handover\\handover.exe\" apply --yes --reason drift --only endpoint.protection --only apps.lansweeper --only apps.fortinet-vpn --site \"C:\\ProgramData\\handover\\site.toml\"\r\n\
             exit /b %ERRORLEVEL%\r\n"
        );
        let plain = render_cmd(r"C:\handover\handover.exe", None).unwrap();
        assert!(
            plain.contains("\r\n\"C:\\handover\\handover.exe\" check\r\n"),
            "{plain}"
        );
        assert!(!plain.contains("--site"));
    }

    #[test]
    fn windows_cmd_refuses_batch_metacharacters() {
        for c in ['%', '^', '&', '|', '<', '>', '"', '!', '\n', '\r'] {
            let exe = format!(r"C:\tools{c}x\handover.exe");
            assert!(
                render_cmd(&exe, None).is_err(),
                "{c:?} in the binary's path"
            );
            let site = format!(r"C:\ProgramData\handover\site{c}.toml");
            assert!(
                render_cmd(r"C:\handover\handover.exe", Some(&site)).is_err(),
                "{c:?} in the site's path"
            );
        }
        for not_local in [
            r"\\server\share\handover.exe",
            "handover.exe",
            r"C:handover.exe",
        ] {
            assert!(render_cmd(not_local, None).is_err(), "{not_local}");
        }
    }

    #[test]
    fn schtasks_argv_daily_and_weekly() {
        let cmd = r"C:\ProgramData\handover\schedule-check.cmd";
        assert_eq!(
            schtasks_create_args(Every::Daily, (12, 0), cmd).unwrap(),
            [
                "/Create",
                "/F",
                "/RU",
                "SYSTEM",
                "/RL",
                "HIGHEST",
                "/SC",
                "DAILY",
                "/ST",
                "12:00",
                "/TN",
                r"handover\check",
                "/TR",
                r#""C:\ProgramData\handover\schedule-check.cmd""#
            ]
        );
        let weekly = schtasks_create_args(Every::Weekly, (7, 5), cmd).unwrap();
        assert_eq!(
            weekly[6..12],
            ["/SC", "WEEKLY", "/D", "MON", "/ST", "07:05"]
        );
        let long = format!(r"C:\{}\schedule-check.cmd", "d".repeat(250));
        assert!(schtasks_create_args(Every::Daily, (12, 0), &long).is_err());
        assert!(schtasks_create_args(Every::Daily, (12, 0), r"C:\100%\x.cmd").is_err());
    }

    fn plist_doc(text: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse_with_options(
            text,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("not well-formed: {e}\n{text}"))
    }

    /// The values of a plist `<dict>`, by key.
    fn dict_get<'a, 'i>(dict: roxmltree::Node<'a, 'i>, key: &str) -> roxmltree::Node<'a, 'i> {
        let mut children = dict.children().filter(roxmltree::Node::is_element);
        while let Some(k) = children.next() {
            let v = children.next().expect("a value after each key");
            assert_eq!(k.tag_name().name(), "key");
            if k.text() == Some(key) {
                return v;
            }
        }
        panic!("no key {key}");
    }

    #[test]
    fn plist_is_well_formed_and_escaped() {
        let exe = "/Applications/R&D <tools>/handover";
        let site = "/Library/Application Support/handover/site \"a\".toml";
        let text = render_plist(exe, Some(site), Every::Weekly, (9, 30)).unwrap();
        let doc = plist_doc(&text);
        let dict = doc
            .root_element()
            .children()
            .find(|n| n.has_tag_name("dict"))
            .unwrap();
        assert_eq!(dict_get(dict, "Label").text(), Some(LAUNCHD_LABEL));
        let argv: Vec<&str> = dict_get(dict, "ProgramArguments")
            .children()
            .filter(roxmltree::Node::is_element)
            .map(|n| n.text().unwrap_or(""))
            .collect();
        assert_eq!(
            argv,
            [
                "/bin/sh",
                "-c",
                &format!("\"$1\" check --site \"$2\"; \"$1\" {APPLY} --site \"$2\""),
                "handover-check",
                exe,
                site
            ]
        );
        let cal = dict_get(dict, "StartCalendarInterval");
        assert_eq!(dict_get(cal, "Weekday").text(), Some("1"));
        assert_eq!(dict_get(cal, "Hour").text(), Some("9"));
        assert_eq!(dict_get(cal, "Minute").text(), Some("30"));
        assert_eq!(dict_get(dict, "RunAtLoad").tag_name().name(), "false");

        let daily = render_plist("/usr/local/bin/handover", None, Every::Daily, (12, 0)).unwrap();
        let doc = plist_doc(&daily);
        let dict = doc
            .root_element()
            .children()
            .find(|n| n.has_tag_name("dict"))
            .unwrap();
        let cal = dict_get(dict, "StartCalendarInterval");
        assert_eq!(
            cal.children().filter(|n| n.has_tag_name("key")).count(),
            2,
            "daily: Hour and Minute only"
        );
        assert!(!daily.contains("--site"));
        assert!(render_plist("/usr/local/bin/x\u{1}", None, Every::Daily, (12, 0)).is_err());
    }

    /// The sh script of the launchd job, run for real: the paths arrive as literal arguments.
    #[cfg(unix)]
    #[test]
    fn launchd_script_passes_paths_literally() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("fake handover $(x)");
        let log = dir.path().join("log");
        std::fs::write(
            &exe,
            format!(
                "#!/bin/sh\nprintf '%s|' \"$@\" >> '{}'\necho >> '{}'\n",
                log.display(),
                log.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let site = "/tmp/it's a \"site\";.toml";
        let argv = launchd_program_arguments(exe.to_str().unwrap(), Some(site));
        let status = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .status()
            .unwrap();
        assert!(status.success());
        let got = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            got,
            format!(
                "check|--site|{site}|\n{}|--site|{site}|\n",
                APPLY.replace(' ', "|")
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn unit_files_are_written_atomically_with_mode_0644() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(TIMER);
        write_atomic(&p, b"old", 0o644).unwrap();
        write_atomic(&p, b"new", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [TIMER], "no temporary file left behind");
    }

    #[test]
    fn latest_record_is_the_last_in_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        assert!(latest_record(dir.path()).unwrap().is_none());
        let records = dir.path().join("records");
        std::fs::create_dir(&records).unwrap();
        for name in [
            "000009-20261125T120000Z-check-full.json",
            "000010-20261101T000000Z-apply-partial.json",
            "000002-20261201T000000Z-check-full.json",
            "notes.txt",
        ] {
            std::fs::write(records.join(name), "{}").unwrap();
        }
        assert_eq!(
            latest_record(dir.path())
                .unwrap()
                .unwrap()
                .file_name()
                .unwrap(),
            "000010-20261101T000000Z-apply-partial.json"
        );
        std::fs::write(
            records.join("000011-x-check-full.json"),
            r#"{"report": {"finished_at": "2026-11-25T12:00:03Z", "mode": "check", "scope": "full"}}"#,
        )
        .unwrap();
        let line = latest_record_line(dir.path());
        assert!(
            line.starts_with("latest record: 2026-11-25T12:00:03Z (check, full) "),
            "{line}"
        );
    }

    #[test]
    fn systemctl_show_output_is_parsed() {
        let props = parse_properties(
            "NextElapseUSecRealtime=Thu 2026-11-26 00:07:12 UTC\nLastTriggerUSec=n/a\nUnitFileState=enabled\n",
        );
        assert_eq!(
            value(&props, "NextElapseUSecRealtime"),
            Some("Thu 2026-11-26 00:07:12 UTC")
        );
        assert_eq!(value(&props, "LastTriggerUSec"), None, "n/a is no value");
        assert_eq!(value(&props, "UnitFileState"), Some("enabled"));
        assert_eq!(value(&props, "Missing"), None);
    }
}

/// The one-shot resume of `apply --resume-after-reboot` (issue 5): started at the next boot, only while
/// the journal of an unfinished apply exists, and removed by the apply that finishes it.
pub const RESUME_SERVICE: &str = "handover-resume.service";
/// Windows: a SYSTEM task at startup, deleted by the apply that finishes the journal.
pub const RESUME_TASK: &str = r"handover\resume";

/// `handover-resume.service`: `apply --resume --yes` once at boot while `journal` exists.
pub fn render_resume_service(exe: &Path, journal: &Path) -> Result<String> {
    let exe = utf8(exe, "handover binary")?;
    unit_path_ok(exe, "handover binary", true)?;
    let journal = utf8(journal, "journal")?;
    unit_path_ok(journal, "journal", false)?;
    Ok(format!(
        "# Written by `handover apply --resume-after-reboot`; the apply that finishes the journal removes it.\n\
         [Unit]\n\
         Description=handover: finish the apply a restart interrupted\n\
         ConditionPathExists={}\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         User=root\n\
         # The apply removes this unit when it finishes; it must not reload systemd under itself.\n\
         Environment=HANDOVER_RESUME_UNIT=1\n\
         {}\n\
         SuccessExitStatus=1 3\n\
         TimeoutStartSec=3h\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        journal.replace('%', "%%"),
        exec_line("", exe, &["apply".into(), "--resume".into(), "--yes".into()]),
    ))
}

/// `/Library/LaunchDaemons/uk.ac.handover.resume.plist`: launchd loads it at boot and runs it once
/// (`RunAtLoad`, `LaunchOnlyOnce`). Like the systemd unit's `ConditionPathExists`, it does nothing when the
/// journal is gone; the binary and the journal reach the script as positional parameters, never as text.
pub fn render_resume_plist(exe: &Path, journal: &Path) -> Result<String> {
    let exe = utf8(exe, "handover binary")?;
    plist_path_ok(exe, "handover binary")?;
    let journal = utf8(journal, "journal")?;
    plist_path_ok(journal, "journal")?;
    let args = [
        "/bin/sh",
        "-c",
        "[ -f \"$2\" ] || exit 0; exec \"$1\" apply --resume --yes",
        "handover-resume",
        exe,
        journal,
    ];
    Ok(launchd_plist(
        "Written by handover apply (resume after reboot); the apply that finishes the journal deletes it.",
        RESUME_LABEL,
        &args,
        "\t<key>RunAtLoad</key>\n\t<true/>\n\t<key>LaunchOnlyOnce</key>\n\t<true/>\n\
         \t<key>EnvironmentVariables</key>\n\t<dict>\n\t\t<key>HANDOVER_RESUME_UNIT</key>\n\t\t<string>1</string>\n\t</dict>\n",
    ))
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

/// Register the one-shot resume at the next boot. Returns what was done.
pub fn register_resume(state_dir: &Path) -> Result<String> {
    require_admin("register a resume")?;
    let exe = std::env::current_exe().context("finding this binary")?;
    crate::support::perms::require_trusted(&exe, "handover binary")?;
    if cfg!(windows) {
        let cmd = state_dir.join("resume.cmd");
        let exe_s = utf8(&exe, "handover binary")?;
        cmd_path_ok(exe_s, "handover binary")?;
        let text = format!("@echo off\r\n\"{exe_s}\" apply --resume --yes\r\n");
        write_atomic(&cmd, text.as_bytes(), 0o600)?;
        let args = schtasks_resume_args(utf8(&cmd, "resume command file")?)?;
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        run("schtasks.exe", &argv)?;
        Ok(format!(
            "registered the startup task {RESUME_TASK}: apply --resume at the next boot\n"
        ))
    } else if cfg!(target_os = "macos") {
        // Loaded by launchd at the next boot, as every job in /Library/LaunchDaemons is.
        let plist = render_resume_plist(&exe, &crate::engine::journal::Journal::path(state_dir))?;
        write_atomic(Path::new(RESUME_PLIST), plist.as_bytes(), 0o644)?;
        Ok(format!(
            "registered {RESUME_PLIST}: apply --resume at the next boot\n"
        ))
    } else {
        let unit = render_resume_service(&exe, &crate::engine::journal::Journal::path(state_dir))?;
        let path = Path::new(UNIT_DIR).join(RESUME_SERVICE);
        write_atomic(&path, unit.as_bytes(), 0o644)?;
        run("systemctl", &["daemon-reload"])?;
        run("systemctl", &["enable", RESUME_SERVICE])?;
        Ok(format!(
            "registered {}: apply --resume at the next boot\n",
            path.display()
        ))
    }
}

/// Remove the one-shot resume (the journal it was for is finished). Fine when there is none.
pub fn unregister_resume(state_dir: &Path) -> Result<()> {
    if cfg!(windows) {
        let _ = probe("schtasks.exe", &["/Delete", "/F", "/TN", RESUME_TASK]);
        remove_if_present(&state_dir.join("resume.cmd"))?;
    } else if cfg!(target_os = "macos") {
        // Deleting the file is enough: launchd reads /Library/LaunchDaemons at boot, and a job that is
        // running this apply must not be booted out from under it.
        remove_if_present(Path::new(RESUME_PLIST))?;
    } else {
        let path = Path::new(UNIT_DIR).join(RESUME_SERVICE);
        if path.exists() {
            // Run by the unit itself: a reload now would swap the running unit's settings for those
            // of a unit that no longer exists (its SuccessExitStatus lost). The next boot reads the
            // removal; ConditionPathExists keeps it from running meanwhile anyway.
            let inside = std::env::var_os("HANDOVER_RESUME_UNIT").is_some();
            let _ = probe("systemctl", &["disable", "--no-reload", RESUME_SERVICE]);
            remove_if_present(&path)?;
            if !inside {
                let _ = probe("systemctl", &["daemon-reload"]);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod resume_tests {
    use super::*;

    #[test]
    fn the_macos_resume_job_runs_once_at_boot_while_the_journal_exists() {
        let p = render_resume_plist(
            Path::new("/opt/hand over/handover"),
            Path::new("/Library/Application Support/handover/journal.json"),
        )
        .unwrap();
        roxmltree::Document::parse_with_options(
            &p,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .unwrap();
        for want in [
            "<key>RunAtLoad</key>\n\t<true/>",
            "<key>LaunchOnlyOnce</key>\n\t<true/>",
            "<string>uk.ac.handover.resume</string>",
            "<string>/opt/hand over/handover</string>",
            "<string>/Library/Application Support/handover/journal.json</string>",
        ] {
            assert!(p.contains(want), "{want}\n{p}");
        }
        // The script: nothing without the journal, else the resumed apply with the binary as given.
        let script = "[ -f \"$2\" ] || exit 0; exec \"$1\" apply --resume --yes";
        assert!(p.contains(&crate::plan::render::xml_escape(script)));
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("hand over");
        std::fs::write(&fake, "#!/bin/sh\necho \"ran $*\"\n").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let journal = dir.path().join("journal.json");
        let run = || {
            let out = std::process::Command::new("/bin/sh")
                .args(["-c", script, "handover-resume"])
                .arg(&fake)
                .arg(&journal)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert_eq!(run(), "");
        std::fs::write(&journal, "{}").unwrap();
        assert_eq!(run(), "ran apply --resume --yes\n");
        // A control character cannot go into a property list.
        assert!(render_resume_plist(Path::new("/a\nb"), Path::new("/j")).is_err());
    }

    #[test]
    fn the_resume_unit_runs_once_while_the_journal_exists() {
        let unit = render_resume_service(
            Path::new("/usr/local/sbin/handover"),
            Path::new("/var/lib/handover/journal.json"),
        )
        .unwrap();
        assert!(unit.contains("ConditionPathExists=/var/lib/handover/journal.json\n"));
        assert!(unit.contains("ExecStart=/usr/local/sbin/handover apply --resume --yes\n"));
        assert!(unit.contains("WantedBy=multi-user.target"));
        assert!(unit.contains("Environment=HANDOVER_RESUME_UNIT=1\n"));
        let spaced = render_resume_service(
            Path::new("/opt/handover e2e/handover"),
            Path::new("/var/lib/handover/journal.json"),
        )
        .unwrap();
        assert!(
            spaced.contains("ExecStart=\"/opt/handover e2e/handover\" apply"),
            "{spaced}"
        );
    }

    #[test]
    fn the_windows_resume_task_starts_at_boot_as_system() {
        let a = schtasks_resume_args(r"C:\ProgramData\handover\resume.cmd").unwrap();
        assert_eq!(
            a.join(" "),
            r#"/Create /F /RU SYSTEM /RL HIGHEST /SC ONSTART /TN handover\resume /TR "C:\ProgramData\handover\resume.cmd""#
        );
        assert!(schtasks_resume_args(r"C:\a&b\resume.cmd").is_err());
    }
}
