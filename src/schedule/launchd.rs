//! macOS: the job as a launchd daemon in /Library/LaunchDaemons, and the one-shot resume as a daemon
//! launchd runs once at the next boot; the plist renderer and `launchctl`.

use std::path::Path;

use anyhow::Result;

use super::{
    describe, describe_job, job_args, probe, remove_if_present, run, utf8, Every, InstallOptions,
    Scheduler, DEFAULT_AT,
};
use crate::support::error::InputError;
use crate::support::fsutil::{write_atomic, Perm};

/// macOS: the launchd job.
pub const LAUNCHD_LABEL: &str = "uk.ac.handover.check";
pub const PLIST_PATH: &str = "/Library/LaunchDaemons/uk.ac.handover.check.plist";
/// macOS: the one-shot job that finishes an apply a restart interrupted.
pub const RESUME_LABEL: &str = "uk.ac.handover.resume";
pub const RESUME_PLIST: &str = "/Library/LaunchDaemons/uk.ac.handover.resume.plist";
pub const MACOS_LOG: &str = "/Library/Logs/handover-check.log";

/// launchd: `launchctl` and property lists.
pub(crate) struct Launchd;

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
    // The shell line of one command: the binary as $1, the site as "$2".
    let shell_line = |args: &[String]| {
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
        format!("{}; {}", shell_line(&check), shell_line(&apply)),
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

impl Scheduler for Launchd {
    fn install(&self, opts: &InstallOptions, exe: &Path, site: Option<&Path>) -> Result<String> {
        let exe = utf8(exe, "handover binary")?;
        let site = site.map(|s| utf8(s, "site file")).transpose()?;
        let at = opts.at.unwrap_or(DEFAULT_AT);
        let plist = render_plist(exe, site, opts.every, at)?;
        write_atomic(Path::new(PLIST_PATH), plist.as_bytes(), Perm::Mode(0o644))?;
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
    fn remove(&self) -> Result<String> {
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
    fn status(&self) -> (bool, String) {
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
    fn register_resume(&self, exe: &Path, state_dir: &Path) -> Result<String> {
        // Loaded by launchd at the next boot, as every job in /Library/LaunchDaemons is.
        let plist = render_resume_plist(exe, &crate::engine::journal::Journal::path(state_dir))?;
        write_atomic(Path::new(RESUME_PLIST), plist.as_bytes(), Perm::Mode(0o644))?;
        Ok(format!(
            "registered {RESUME_PLIST}: apply --resume at the next boot\n"
        ))
    }
    fn unregister_resume(&self, _state_dir: &Path) -> Result<()> {
        // Deleting the file is enough: launchd reads /Library/LaunchDaemons at boot, and a job that is
        // running this apply must not be booted out from under it.
        remove_if_present(Path::new(RESUME_PLIST))?;
        Ok(())
    }
}
