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

use anyhow::{Context, Result};

use crate::host::process::Cmd;
use crate::support::error::InputError;
use crate::support::perms;

mod launchd;
mod resume;
mod schtasks;
mod systemd;
#[cfg(test)]
mod tests;

pub use launchd::{
    launchd_program_arguments, render_plist, render_resume_plist, LAUNCHD_LABEL, MACOS_LOG,
    PLIST_PATH, RESUME_LABEL, RESUME_PLIST,
};
pub use resume::{register_resume, unregister_resume};
pub use schtasks::{
    render_cmd, schtasks_create_args, schtasks_resume_args, CMD_FILE, RESUME_TASK, TASK_NAME,
};
pub use systemd::{
    on_calendar, parse_properties, render_resume_service, render_service, render_timer,
    RESUME_SERVICE, SERVICE, TIMER, UNIT_DIR,
};

/// One OS's way of running the job and the resume: its renderers and the commands that load them
/// (just's `PlatformInterface`). [`this_os`] picks one; every other function here is the same on all.
pub(crate) trait Scheduler {
    /// Write the job for the checked `exe` and `site` and load it. Returns what was done, for stdout.
    fn install(&self, opts: &InstallOptions, exe: &Path, site: Option<&Path>) -> Result<String>;
    /// Unload and delete the job; fine when there is none.
    fn remove(&self) -> Result<String>;
    /// Whether the job is installed and in effect, with its schedule, next and last run.
    fn status(&self) -> (bool, String);
    /// Register the one-shot `apply --resume --yes` of the trusted `exe` at the next boot.
    fn register_resume(&self, exe: &Path, state_dir: &Path) -> Result<String>;
    /// Remove the one-shot resume; fine when there is none.
    fn unregister_resume(&self, state_dir: &Path) -> Result<()>;
}

/// The scheduler of the OS this binary was built for, chosen here once. All three are compiled (and
/// their renderers unit-tested) on every OS.
fn this_os() -> &'static dyn Scheduler {
    if cfg!(windows) {
        &schtasks::Schtasks
    } else if cfg!(target_os = "macos") {
        &launchd::Launchd
    } else {
        &systemd::Systemd
    }
}

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

/// Run a command; its stdout, or a [`crate::host::ProcessError`] with its status, stdout and stderr.
fn run(program: &str, args: &[&str]) -> Result<String> {
    Ok(Cmd::new(program).args(args).stdout()?)
}

/// Run a command whose failure is an answer (not installed, not loaded): (success, stdout + stderr).
fn probe(program: &str, args: &[&str]) -> (bool, String) {
    match Cmd::new(program).args(args).output() {
        Ok(out) => (out.success(), format!("{}{}", out.stdout, out.stderr)),
        Err(e) => (false, format!("cannot run {program}: {e}")),
    }
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
    let mut out = this_os().install(opts, &exe, site.as_deref())?;
    for n in notes {
        out.push_str(&n);
        out.push('\n');
    }
    Ok(out)
}

/// Remove the scheduled job; fine when there is none.
pub fn remove() -> Result<String> {
    require_admin("remove")?;
    this_os().remove()
}

/// Whether the job is installed (and in effect), with a description: its schedule, next and last run,
/// and the newest record in the state directory.
pub fn status() -> Result<(bool, String)> {
    let (installed, mut text) = this_os().status();
    text.push_str(&latest_record_line(&crate::support::dirs::state_dir()));
    Ok((installed, text))
}

fn describe_job(exe: &str, site: Option<&str>) -> String {
    let [check, apply] = job_args(site);
    format!("    {}\n    {}\n", shown(exe, &check), shown(exe, &apply))
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
