//! The engine: for each control, query first, then decide, then change, then re-check (SPEC §5, STYLE).
//! Checks are independent and run concurrently; changes run one at a time in the fixed order of
//! [`crate::inputs::profile::CONTROLS`], which puts the separate admin account before anything that removes admin
//! rights (SPEC §7). `plan` and `check` never change the device.

mod change;
mod check;
pub use check::render_batch;
mod guards;
pub mod journal;
mod verdict;

use change::ApplyRun;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::SystemTime;

use serde_json::Value;

use crate::evidence::report::{ControlReport, Report, Status};
use crate::host::facts::Device;
use crate::host::Host;
use crate::plan::{Planned, Resolved, Scripts};
use crate::support::clock;
use crate::support::secrets::Secrets;

/// The exit status by which an apply script says "done, but a reboot is needed to finish".
pub const REBOOT_EXIT: i32 = 194;
/// The exit status by which an apply script says "the installer is restarting the device now"
/// (Windows 1641): the apply writes its journal and stops at once.
pub const RESTARTING_EXIT: i32 = 195;
/// What an apply script exits with when the change needs a person (a macOS volume owner's password, an
/// approval only the user or an MDM can give): the control is then `manual`, with the script's last
/// stderr line as the reason, and nothing counts as changed.
pub const MANUAL_EXIT: i32 = 196;

/// Whether a profile's `accounts.separate-admin` apply sets the account's password (`sets_password =
/// false` in its params says it never does: on macOS a person creates that account).
fn sets_password(c: &crate::inputs::profile::Control) -> bool {
    c.params.get("sets_password").and_then(Value::as_bool) != Some(false)
}

pub use crate::evidence::report::Mode;

/// Where the admin password of the separate admin account comes from (SPEC §7).
#[derive(Debug, Clone)]
pub enum AdminPassword {
    /// Read from `--admin-password-file`.
    Given(String),
    /// Generated on demand and written to the terminal only, once.
    GenerateOnTty,
    None,
}

/// Everything about one run that is not in the profile or the site.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub mode: Mode,
    pub only: Vec<String>,
    pub user: Option<String>,
    pub asset: Option<String>,
    pub ticket: Option<String>,
    pub technician: Option<String>,
    pub reason: Option<String>,
    pub force_remote: bool,
    pub admin_password: AdminPassword,
    /// `SSH_CONNECTION` of the session handover runs over, if any.
    pub ssh_connection: Option<String>,
    pub now: SystemTime,
    pub state_dir: PathBuf,
    /// Where downloaded installers are found by their sha256 (the cache, or a kit's `artifacts/`).
    pub cache_dir: PathBuf,
    /// Extra environment for every apply script (`apply --kit`: the kit's package repository).
    pub apply_env: Vec<(String, String)>,
    /// Attestations still honoured on this installation (the caller filters by age and install).
    pub attestations: Vec<crate::evidence::record::Attestation>,
    /// The state directory whose journal records each control's outcome as the apply goes.
    pub journal_dir: Option<PathBuf>,
    /// Ask the OS after each change whether a reboot became pending (off in unit tests).
    pub detect_reboot: bool,
    /// Separate admin accounts handover set a password for in an earlier run.
    pub admin_passwords_set: Vec<String>,
    /// Whether the profile is for this device's OS; when not, `plan` describes without running checks.
    pub profile_matches_device: bool,
    pub progress: bool,
}

/// What an apply produced, besides the report.
#[derive(Debug, Default)]
pub struct Outcome {
    pub report: Option<Report>,
    pub artifacts: BTreeMap<String, String>,
    /// Separate admin accounts whose password this run set.
    pub admin_passwords_set: Vec<String>,
}

pub struct Engine<'a> {
    pub resolved: &'a Resolved,
    pub device: &'a Device,
    pub host: &'a dyn Host,
    pub opts: RunOptions,
    pub secrets: Secrets,
}

impl Engine<'_> {
    fn admin_user(&self) -> Option<String> {
        let suffix = self
            .resolved
            .site
            .get("accounts.admin_suffix")
            .and_then(Value::as_str)
            .unwrap_or("-admin");
        self.opts.user.as_ref().map(|u| format!("{u}{suffix}"))
    }

    fn selected(&self) -> Vec<&Planned> {
        self.resolved
            .controls
            .iter()
            .filter(|p| self.opts.only.is_empty() || self.opts.only.contains(&p.control.id))
            .collect()
    }

    /// The environment of every script of this run: runtime values, never template text.
    fn env(&self, p: &Planned, applying: bool) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "HANDOVER_MODE".to_string(),
                if applying { "apply" } else { "check" }.to_string(),
            ),
            ("HANDOVER_CONTROL".into(), p.control.id.clone()),
            (
                "HANDOVER_TODAY".into(),
                clock::date(self.opts.now).replace('-', ""),
            ),
            (
                "HANDOVER_NOW_EPOCH".into(),
                clock::epoch(self.opts.now).to_string(),
            ),
            (
                "HANDOVER_STATE_DIR".into(),
                self.opts.state_dir.display().to_string(),
            ),
        ];
        if self.opts.force_remote {
            env.push(("HANDOVER_FORCE_REMOTE".into(), "1".into()));
        }
        if let Some(u) = &self.opts.user {
            env.push(("HANDOVER_USER".into(), u.clone()));
        }
        if let Some(a) = self.admin_user() {
            env.push(("HANDOVER_ADMIN_USER".into(), a));
        }
        for key in &p.control.secrets {
            if let Some(v) = self.secrets.get(key) {
                env.push((Secrets::env_name(key), v.to_string()));
            }
        }
        // The kit's package repository reaches checks too: a check that asks apt what is installed
        // must see the same sources the apply will install from.
        env.extend(self.opts.apply_env.iter().cloned());
        let _ = applying;
        env
    }

    /// `check` and `plan`: query only.
    pub fn check(&self) -> Report {
        let started = self.opts.now;
        let selected = self.selected();
        let verdicts = self.check_all(&selected);
        let mut controls = Vec::new();
        for (p, v) in selected.iter().zip(&verdicts) {
            let mut cr = self.control_report(p, v);
            self.apply_attestation(&mut cr);
            self.apply_waiver(&mut cr);
            if self.opts.mode == Mode::Plan && cr.status == Status::Fail {
                cr.plan = Some(plan_of(p));
            }
            controls.push(cr);
        }
        self.base_report(started, controls)
    }

    /// `apply`: check everything, change what failed (in order, one at a time), re-check what changed.
    pub fn apply(&self) -> Outcome {
        let selected = self.selected();
        let to_check = self.with_guard_control(&selected);
        let verdicts = self.check_all(&to_check);
        let mut reports: Vec<ControlReport> = to_check
            .iter()
            .zip(&verdicts)
            .map(|(p, v)| self.control_report(p, v))
            .collect();
        let mut run = ApplyRun::new(&self.opts.admin_password);
        for (i, p) in selected.iter().enumerate() {
            let mut cr = reports[i].clone();
            self.apply_attestation(&mut cr);
            self.apply_waiver(&mut cr);
            if let Some(step) = self.change(p, &cr, &reports, &mut run) {
                if self.settle(&mut cr, step, &mut run) {
                    self.after_change(p, &mut cr, &mut run);
                }
            }
            reports[i] = cr;
            if run.restarting {
                // Windows 1641: the machine is going down; nothing else may start.
                if let Some(dir) = &self.opts.journal_dir {
                    let _ = journal::Journal::set_state(dir, journal::RunState::Restarting);
                }
                break;
            }
        }
        reports.truncate(selected.len());
        self.finish_apply(reports, &selected, run)
    }

    /// The selection, plus `accounts.separate-admin` when an admin-removing control is selected without
    /// it: the guard needs the separate admin's status even in `--only` runs.
    fn with_guard_control<'p>(&'p self, selected: &[&'p Planned]) -> Vec<&'p Planned> {
        let mut to_check = selected.to_vec();
        let guard_needed = selected.iter().any(|p| p.control.removes_admin);
        if guard_needed
            && !to_check
                .iter()
                .any(|p| p.control.id == "accounts.separate-admin")
        {
            if let Some(sep) = self
                .resolved
                .controls
                .iter()
                .find(|p| p.control.id == "accounts.separate-admin")
            {
                to_check.push(sep);
            }
        }
        to_check
    }

    /// After a change ran: ask whether a reboot became pending, and record the control in the journal.
    fn after_change(&self, p: &Planned, cr: &mut ControlReport, run: &mut ApplyRun) {
        if self.opts.detect_reboot && !run.reboot {
            if let Some(why) = self.host.reboot_pending() {
                run.reboot = true;
                cr.reason = format!("{}; a reboot is now pending ({why})", cr.reason);
            }
        }
        if let Some(dir) = &self.opts.journal_dir {
            if let Err(e) = journal::Journal::mark(dir, &p.control.id, cr.status) {
                run.journal_error = Some(format!("{e:#}"));
            }
        }
    }

    /// The apply's report: stopped at once when the device is restarting, otherwise with the check-only
    /// controls re-checked and the run's warnings.
    fn finish_apply(
        &self,
        mut reports: Vec<ControlReport>,
        selected: &[&Planned],
        mut run: ApplyRun,
    ) -> Outcome {
        let started = self.opts.now;
        if run.restarting {
            let mut report = self.base_report(started, reports);
            report.reboot_required = true;
            run.outcome.report = Some(report);
            return run.outcome;
        }
        self.recheck_check_only(&mut reports, selected);
        let mut report = self.base_report(started, reports);
        report.reboot_required = run.reboot;
        if self.separate_admin_made_by_a_person()
            && matches!(self.opts.admin_password, AdminPassword::Given(_))
        {
            report.warnings.push(format!(
                "--admin-password-file was not used: profile {} never sets the separate admin's password (a person creates that account)",
                self.resolved.profile.name
            ));
        }
        if let Some(e) = run.journal_error {
            report
                .warnings
                .push(format!("the journal could not be updated: {e}"));
        }
        run.outcome.report = Some(report);
        run.outcome
    }
}

/// What `plan` says apply would do for a failing control.
fn plan_of(p: &Planned) -> String {
    match (&p.scripts, &p.control.change) {
        (Scripts::MissingKeys(keys), _) => format!(
            "nothing until the site sets {}: apply refuses to start without them",
            keys.join(", ")
        ),
        (Scripts::Ready { apply: Some(_), .. }, Some(change)) => change.clone(),
        (Scripts::Ready { apply: Some(_), .. }, None) => "apply the profile's change".into(),
        _ => "nothing: handover does not change this; a person must".into(),
    }
}

fn progress_bar(enabled: bool, len: u64, what: &str) -> indicatif::ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} controls {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

#[cfg(test)]
mod tests;
