//! Change: what one control's apply script needs (its installers staged, its files written, the
//! admin password shown once) and what its exit status means.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::check::Verdict;
use super::guards::password_unknown;
use super::{
    sets_password, AdminPassword, Engine, Outcome, MANUAL_EXIT, REBOOT_EXIT, RESTARTING_EXIT,
};
use crate::artifacts;
use crate::evidence::report::{ControlReport, Status};
use crate::host::{Host, ProcessError, Script, Shell};
use crate::plan::Planned;
use crate::support::secrets::Secrets;

impl Engine<'_> {
    /// Copy and verify the control's installers, and name each one to the script in an environment
    /// variable. `site:KEY` names the artifact through a site key (the site's own EDR or agent); its
    /// installer then arrives as HANDOVER_ARTIFACT_<first part of KEY>, and an unset key stages nothing.
    pub(crate) fn stage_artifacts(
        &self,
        p: &Planned,
        env: &mut Vec<(String, String)>,
    ) -> Result<Vec<artifacts::Staged>, String> {
        let mut staged = Vec::new();
        for entry in &p.control.artifacts {
            let (entry, optional) = match entry.strip_suffix('?') {
                Some(e) => (e, true),
                None => (entry.as_str(), false),
            };
            let (name, env_name) = match entry.strip_prefix("site:") {
                Some(key) => match self.resolved.site.get(key).and_then(Value::as_str) {
                    Some(n) => (
                        n.to_string(),
                        key.split('.').next().unwrap_or(key).to_string(),
                    ),
                    None => continue,
                },
                None => (entry.to_string(), entry.to_string()),
            };
            let Some(spec) = artifacts::Spec::from_site(&self.resolved.site, &name) else {
                if optional {
                    continue;
                }
                return Err(format!(
                    "site has no [artifacts.{name}] with url and sha256"
                ));
            };
            let s = self
                .host
                .stage_artifact(
                    &spec,
                    &self.opts.cache_dir,
                    &self.opts.state_dir.join("work"),
                )
                .map_err(|e| format!("{e:#}"))?;
            let var = format!(
                "HANDOVER_ARTIFACT_{}",
                env_name.replace('-', "_").to_ascii_uppercase()
            );
            // Installer arguments travel as data (a JSON array), never as script text.
            if !spec.args.is_empty() {
                env.push((
                    var.replacen("ARTIFACT_", "ARTIFACT_ARGS_", 1),
                    serde_json::to_string(&spec.args).expect("strings serialise"),
                ));
            }
            env.push((var, s.path.display().to_string()));
            staged.push(s);
        }
        Ok(staged)
    }

    /// Write the control's rendered files into a private directory and name each to the script as
    /// HANDOVER_FILE_<FILE NAME> (`windows/office-configuration.xml` → HANDOVER_FILE_OFFICE_CONFIGURATION_XML).
    pub(crate) fn write_files(
        &self,
        p: &Planned,
        env: &mut Vec<(String, String)>,
    ) -> anyhow::Result<Option<tempfile::TempDir>> {
        let files = p.scripts.files();
        if files.is_empty() {
            return Ok(None);
        }
        let (dir, paths) = self
            .host
            .write_files(&self.opts.state_dir.join("work"), files)?;
        for ((name, _), path) in files.iter().zip(paths) {
            let base = name.rsplit('/').next().unwrap_or(name);
            let var = base.replace(['-', '.'], "_").to_ascii_uppercase();
            env.push((format!("HANDOVER_FILE_{var}"), path.display().to_string()));
        }
        Ok(Some(dir))
    }
}

/// Generate the separate admin's password and write it to the terminal only (never stdout or a log).
pub(crate) fn generate_and_show(host: &dyn Host, account: &str) -> Option<String> {
    let pw = crate::support::secrets::generate_password().ok()?;
    host.show_on_console(&format!(
        "\nPassword for {account}: {pw}\nWrite it down now and give it to the user in person; it is not stored or shown again.\nIt must be changed at first login.\n"
    ))
    .ok()?;
    Some(pw)
}

/// Why a control's change did not start. The control is then an `error`.
pub(crate) enum Refusal {
    /// A precondition failed: the check's reason is kept, followed by "not changed: …".
    NotChanged(String),
    /// A guard refused: its reason replaces the check's.
    Refused(String),
}

/// How a change that started ended.
pub(crate) struct Changed {
    pub(crate) ended: Ended,
    /// The apply script's output (redacted, tail), when it ran.
    pub(crate) output: Option<String>,
    /// How long the change and its re-check took.
    pub(crate) took: Duration,
}

/// What the apply script's exit says, and the re-check after a success.
pub(crate) enum Ended {
    /// The script could not be started.
    NotRun(String),
    /// [`REBOOT_EXIT`]: done, but a reboot is needed to finish.
    RebootNeeded,
    /// [`RESTARTING_EXIT`]: the installer is restarting the device now.
    Restarting,
    /// [`MANUAL_EXIT`]: the change needs a person; the whole reason.
    NeedsPerson(String),
    /// Any other failure; the whole reason.
    Failed(String),
    /// The script succeeded; the verdict of the re-check.
    Rechecked(Verdict),
}

/// What an apply carries from one control to the next.
pub(crate) struct ApplyRun {
    /// The separate admin's password: given, or generated once on the terminal.
    pub(crate) password: Option<String>,
    pub(crate) outcome: Outcome,
    pub(crate) reboot: bool,
    pub(crate) restarting: bool,
    pub(crate) journal_error: Option<String>,
}

impl ApplyRun {
    pub(crate) fn new(admin_password: &AdminPassword) -> Self {
        ApplyRun {
            password: match admin_password {
                AdminPassword::Given(p) => Some(p.clone()),
                _ => None,
            },
            outcome: Outcome::default(),
            reboot: false,
            restarting: false,
            journal_error: None,
        }
    }
}

impl Engine<'_> {
    /// One control's change, or `None` when it wants none (it passes, is waived, or the profile has no
    /// apply for it).
    pub(crate) fn change(
        &self,
        p: &Planned,
        cr: &ControlReport,
        reports: &[ControlReport],
        run: &mut ApplyRun,
    ) -> Option<Result<Changed, Refusal>> {
        let set_password = self.sets_new_password(p, run);
        let wants_change = cr.status == Status::Fail || (set_password && cr.status == Status::Pass);
        let apply = p.scripts.apply().filter(|_| wants_change)?;
        Some(self.change_steps(p, apply, cr, reports, run, set_password))
    }

    /// A given password that handover has not yet set on the separate admin account is a change too.
    /// So is one handover can generate on the terminal: a password from a run that died before
    /// it was recorded (and perhaps before it was shown) is replaced (SPEC §7).
    fn sets_new_password(&self, p: &Planned, run: &ApplyRun) -> bool {
        let can_set = run.password.is_some()
            || matches!(self.opts.admin_password, AdminPassword::GenerateOnTty);
        p.control.id == "accounts.separate-admin"
            && sets_password(&p.control)
            && can_set
            && self
                .admin_user()
                .as_ref()
                .is_some_and(|a| !self.opts.admin_passwords_set.contains(a))
    }

    /// The guards, the password, the installers and files, then the apply script and what it means.
    fn change_steps(
        &self,
        p: &Planned,
        apply: &str,
        cr: &ControlReport,
        reports: &[ControlReport],
        run: &mut ApplyRun,
        set_password: bool,
    ) -> Result<Changed, Refusal> {
        let mut env = self.env(p, true);
        if p.control.removes_admin {
            self.admin_guard(reports, &run.outcome.admin_passwords_set)
                .map_err(Refusal::NotChanged)?;
        }
        self.session_guard(p, reports).map_err(Refusal::Refused)?;
        let mut secrets = self.secrets.clone();
        let password_exported =
            self.password_env(p, cr, set_password, run, &mut env, &mut secrets)?;
        // Installers: a private, verified copy, every time.
        let staged = self
            .stage_artifacts(p, &mut env)
            .map_err(Refusal::NotChanged)?;
        for s in &staged {
            run.outcome
                .artifacts
                .insert(s.name.clone(), s.sha256.clone());
        }
        let files = self
            .write_files(p, &mut env)
            .map_err(|e| Refusal::NotChanged(format!("{e:#}")))?;
        let started = Instant::now();
        let script = Script {
            name: format!("{} apply", p.control.id),
            shell: Shell::of_template(p.control.apply.as_deref().unwrap_or("")),
            text: apply.to_string(),
            env,
            timeout: Duration::from_secs(p.control.apply_timeout_secs),
        };
        let result = self.host.run(&script);
        drop(staged);
        drop(files);
        let (ended, output) = match result {
            Err(e) => (
                Ended::NotRun(format!("could not run the change: {e:#}")),
                None,
            ),
            Ok(out) => {
                let log = secrets.redact(&format!("{}{}", out.stdout, out.stderr));
                let output = crate::host::tail(&log, 8000).to_string();
                let ended = self.ended(p, cr, &script.name, &out, &secrets);
                if matches!(ended, Ended::Rechecked(_)) && password_exported {
                    if let Some(a) = self.admin_user() {
                        run.outcome.admin_passwords_set.push(a);
                    }
                }
                (ended, Some(output))
            }
        };
        Ok(Changed {
            ended,
            output,
            took: started.elapsed(),
        })
    }

    /// The separate admin's password for its apply script: `Ok(true)` when it is exported to the script.
    fn password_env(
        &self,
        p: &Planned,
        cr: &ControlReport,
        set_password: bool,
        run: &mut ApplyRun,
        env: &mut Vec<(String, String)>,
        secrets: &mut Secrets,
    ) -> Result<bool, Refusal> {
        if p.control.id != "accounts.separate-admin" {
            return Ok(false);
        }
        if !sets_password(&p.control) {
            // A separate admin made by a person (macOS): its password is known only if the technician
            // attests it; without that the script verifies the account but demotes no one.
            if self.separate_admin_attested() {
                env.push(("HANDOVER_ADMIN_PASSWORD_KNOWN".into(), "1".into()));
            }
            return Ok(false);
        }
        let admin = self.admin_user();
        let needs_new = cr.observed.get("admin_exists").and_then(Value::as_bool) == Some(false)
            || cr
                .observed
                .get("admin_password_set")
                .and_then(Value::as_bool)
                == Some(false);
        if run.password.is_none() && (needs_new || set_password) {
            if let AdminPassword::GenerateOnTty = self.opts.admin_password {
                run.password =
                    generate_and_show(self.host, admin.as_deref().unwrap_or("the admin account"));
            }
        }
        // The password goes to the script only when it is to be set: a drift repair must not
        // reset the password the user has chosen since.
        let exported = (needs_new || set_password)
            .then_some(())
            .and(run.password.as_ref());
        // SPEC §7: the user is demoted only once the separate admin has a password set by
        // handover, now or in an earlier run, or attested by the technician.
        let known = exported.is_some()
            || admin
                .as_ref()
                .is_some_and(|a| self.opts.admin_passwords_set.contains(a))
            || self.separate_admin_attested();
        if known {
            env.push(("HANDOVER_ADMIN_PASSWORD_KNOWN".into(), "1".into()));
        } else if !needs_new {
            // The guard in Rust, whatever the profile's script does: an existing admin account
            // whose password no one is known to hold is no way back in once the user is demoted.
            return Err(Refusal::NotChanged(password_unknown(
                admin.as_deref().unwrap_or("the separate admin account"),
            )));
        }
        match exported {
            Some(pw) => {
                env.push((Secrets::env_name("admin.password"), pw.clone()));
                crate::evidence::redact::add_secret(secrets, "admin.password", pw);
                Ok(true)
            }
            None if needs_new => Err(Refusal::NotChanged(format!(
                "{} needs a password: give --admin-password-file FILE (root-owned, mode 600) or run on a terminal",
                admin.as_deref().unwrap_or("the separate admin account")
            ))),
            None => Ok(false),
        }
    }

    /// What the apply script's exit status means (SPEC §5); a success is re-checked at once.
    fn ended(
        &self,
        p: &Planned,
        cr: &ControlReport,
        name: &str,
        out: &crate::host::Outcome,
        secrets: &Secrets,
    ) -> Ended {
        let code = if out.timed_out { None } else { out.code };
        match code {
            Some(REBOOT_EXIT) => Ended::RebootNeeded,
            Some(RESTARTING_EXIT) => Ended::Restarting,
            Some(MANUAL_EXIT) => {
                let why = out
                    .stderr
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("the change needs a person");
                Ended::NeedsPerson(secrets.redact(&format!(
                    "{}; needs a person: {}",
                    cr.reason,
                    why.trim()
                )))
            }
            _ if !out.success() => Ended::Failed(secrets.redact(&format!(
                "the change failed: {}",
                ProcessError::from_outcome(name, &crate::evidence::redact::outcome(secrets, out))
            ))),
            _ => Ended::Rechecked(self.run_check(p)),
        }
    }

    /// The one place where a change decides its control's status and reason. `true` when the change
    /// ran (then the reboot question and the journal follow).
    pub(crate) fn settle(
        &self,
        cr: &mut ControlReport,
        step: Result<Changed, Refusal>,
        run: &mut ApplyRun,
    ) -> bool {
        let changed = match step {
            Err(Refusal::NotChanged(why)) => {
                cr.status = Status::Error;
                cr.reason = format!("{}; not changed: {why}", cr.reason);
                return false;
            }
            Err(Refusal::Refused(why)) => {
                cr.status = Status::Error;
                cr.reason = why;
                return false;
            }
            Ok(changed) => changed,
        };
        if let Some(output) = changed.output {
            cr.output = Some(output);
            cr.changed = true;
        }
        let (status, reason) = match changed.ended {
            Ended::NotRun(why) | Ended::Failed(why) => (Status::Error, why),
            Ended::RebootNeeded => {
                run.reboot = true;
                (Status::Fail, "changed; reboot required to finish".into())
            }
            Ended::Restarting => {
                run.reboot = true;
                run.restarting = true;
                (Status::Fail, "changed; the installer is restarting the device: run `handover apply --resume` after it".into())
            }
            Ended::NeedsPerson(why) => {
                cr.changed = false;
                (Status::Manual, why)
            }
            Ended::Rechecked(v) => {
                cr.observed = v.observed;
                match v.status {
                    Status::Pass => (Status::Fixed, v.reason),
                    // Installed, and what is left needs a person (macOS: the FortiClient VPN
                    // connection): an attestation given for it now counts.
                    Status::Manual => (Status::Manual, format!("changed; {}", v.reason)),
                    s => (
                        if s == Status::Error {
                            Status::Error
                        } else {
                            Status::Fail
                        },
                        format!("changed, but the re-check still fails: {}", v.reason),
                    ),
                }
            }
        };
        cr.status = status;
        cr.reason = reason;
        if cr.changed && cr.status == Status::Manual {
            self.apply_attestation(cr);
        }
        cr.duration_ms += changed.took.as_millis() as u64;
        true
    }
}
