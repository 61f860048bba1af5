//! Linux: the job as a systemd service and timer in /etc/systemd/system, and the one-shot resume as a
//! service enabled for the next boot; the unit renderers and `systemctl`.

use std::path::Path;

use anyhow::Result;

use super::{
    describe, describe_job, job_args, probe, remove_if_present, run, utf8, Every, InstallOptions,
    Scheduler,
};
use crate::support::error::InputError;
use crate::support::fsutil::{write_atomic, Perm};

/// Linux: where the units go, and their names.
pub const UNIT_DIR: &str = "/etc/systemd/system";
pub const SERVICE: &str = "handover-check.service";
pub const TIMER: &str = "handover-check.timer";
/// The one-shot resume of `apply --resume-after-reboot` (issue 5): started at the next boot, only while
/// the journal of an unfinished apply exists, and removed by the apply that finishes it.
pub const RESUME_SERVICE: &str = "handover-resume.service";

/// systemd: `systemctl` and unit files.
pub(crate) struct Systemd;

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

impl Scheduler for Systemd {
    fn install(&self, opts: &InstallOptions, exe: &Path, site: Option<&Path>) -> Result<String> {
        if !Path::new("/run/systemd/system").is_dir() {
            return Err(InputError::refused(
                "this system is not running systemd: `schedule install` sets up a systemd timer",
            ));
        }
        // Rendered (and so validated) before anything is written.
        let service = render_service(exe, site)?;
        let timer = render_timer(opts.every, opts.at);
        let dir = Path::new(UNIT_DIR);
        write_atomic(&dir.join(SERVICE), service.as_bytes(), Perm::Mode(0o644))?;
        write_atomic(&dir.join(TIMER), timer.as_bytes(), Perm::Mode(0o644))?;
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
    fn remove(&self) -> Result<String> {
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
    fn status(&self) -> (bool, String) {
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
    /// Write and enable `handover-resume.service` for the next boot.
    fn register_resume(&self, exe: &Path, state_dir: &Path) -> Result<String> {
        let unit = render_resume_service(exe, &crate::engine::journal::Journal::path(state_dir))?;
        let path = Path::new(UNIT_DIR).join(RESUME_SERVICE);
        write_atomic(&path, unit.as_bytes(), Perm::Mode(0o644))?;
        run("systemctl", &["daemon-reload"])?;
        run("systemctl", &["enable", RESUME_SERVICE])?;
        Ok(format!(
            "registered {}: apply --resume at the next boot\n",
            path.display()
        ))
    }
    fn unregister_resume(&self, _state_dir: &Path) -> Result<()> {
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
        Ok(())
    }
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

pub(super) fn value<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty() && *v != "n/a")
}

fn value_or<'a>(props: &'a [(String, String)], key: &str, default: &'a str) -> &'a str {
    value(props, key).unwrap_or(default)
}
