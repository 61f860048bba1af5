//! The engine: for each control, query first, then decide, then change, then re-check (SPEC §5, STYLE).
//! Checks are independent and run concurrently; changes run one at a time in the fixed order of
//! [`crate::inputs::profile::CONTROLS`], which puts the separate admin account before anything that removes admin
//! rights (SPEC §7). `plan` and `check` never change the device.

pub mod journal;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::artifacts;
use crate::evidence::report::{ControlReport, ProfileRef, Report, Status, Tool};
use crate::host::facts::Device;
use crate::host::{Host, ProcessError, Script, Shell};
use crate::inputs::profile::Kind;
use crate::plan::{Planned, Resolved};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plan,
    Check,
    Apply,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Plan => "plan",
            Mode::Check => "check",
            Mode::Apply => "apply",
        }
    }
}

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

/// What a check script prints as its last line (SPEC §5).
#[derive(Debug, Deserialize)]
struct CheckLine {
    compliant: bool,
    #[serde(default)]
    observed: Value,
    #[serde(default)]
    reason: String,
    /// A check may find that the control does not apply here, or that only a person can confirm it.
    #[serde(default)]
    status: Option<String>,
}

/// A check's verdict.
#[derive(Debug, Clone)]
struct Verdict {
    status: Status,
    reason: String,
    observed: Value,
    duration: Duration,
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

    /// The verdict of a control that needs no script run: not applicable, manual, missing site keys, a
    /// template that did not render, or a profile for another OS. `None` when its check must run.
    fn settled(&self, p: &Planned) -> Option<Verdict> {
        let started = Instant::now();
        let c = &p.control;
        let v = |status, reason: String, observed| {
            Some(Verdict {
                status,
                reason,
                observed,
                duration: started.elapsed(),
            })
        };
        match c.kind {
            Kind::NotApplicable => {
                return v(
                    Status::NotApplicable,
                    c.reason.clone().unwrap_or_default(),
                    json!({}),
                )
            }
            Kind::Manual => {
                return v(
                    Status::Manual,
                    c.reason.clone().unwrap_or_default(),
                    json!({}),
                )
            }
            Kind::Implemented => {}
        }
        if !p.missing.is_empty() {
            let keys: Vec<String> = p.missing.iter().map(|k| format!("`{k}`")).collect();
            return v(
                Status::Fail,
                format!(
                    "site key {} not set in {}",
                    keys.join(", "),
                    self.resolved.site.describe()
                ),
                json!({"missing_site_keys": p.missing}),
            );
        }
        if let Some(e) = &p.render_error {
            return v(Status::Error, format!("template: {e}"), json!({}));
        }
        if !self.opts.profile_matches_device {
            let would = c
                .change
                .clone()
                .unwrap_or_else(|| "no change: check only".into());
            return v(
                Status::Manual,
                format!(
                    "not checked: profile {} is not for this device's OS; apply would: {would}",
                    self.resolved.profile.name
                ),
                json!({}),
            );
        }
        if p.check.is_none() {
            return v(Status::Error, "no check script".into(), json!({}));
        }
        None
    }

    fn run_check(&self, p: &Planned) -> Verdict {
        let started = Instant::now();
        if let Some(done) = self.settled(p) {
            return done;
        }
        let c = &p.control;
        let v = |status, reason: String, observed| Verdict {
            status,
            reason,
            observed,
            duration: started.elapsed(),
        };
        let Some(text) = &p.check else {
            return v(Status::Error, "no check script".into(), json!({}));
        };
        let script = Script {
            name: format!("{} check", c.id),
            shell: Shell::of_template(c.check.as_deref().unwrap_or("")),
            text: text.clone(),
            env: self.env(p, false),
            timeout: Duration::from_secs(c.timeout_secs),
        };
        match self.host.run(&script) {
            Ok(out) => self.verdict_of(&script.name, &out.stdout, &out, started),
            Err(e) => v(
                Status::Error,
                format!("could not run the check: {e:#}"),
                json!({}),
            ),
        }
    }

    /// A check's verdict from its output: the last JSON line of `stdout` (SPEC §5).
    fn verdict_of(
        &self,
        name: &str,
        stdout: &str,
        out: &crate::host::Outcome,
        started: Instant,
    ) -> Verdict {
        let v = |status, reason: String, observed| Verdict {
            status,
            reason,
            observed,
            duration: started.elapsed(),
        };
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'));
        let parsed = line.and_then(|l| serde_json::from_str::<CheckLine>(l).ok());
        match parsed {
            Some(cl) if !out.timed_out => {
                let status = match cl.status.as_deref() {
                    Some("not-applicable") => Status::NotApplicable,
                    Some("manual") => Status::Manual,
                    Some("error") => Status::Error,
                    _ if cl.compliant => Status::Pass,
                    _ => Status::Fail,
                };
                let observed = if cl.observed.is_null() {
                    json!({})
                } else {
                    cl.observed
                };
                v(
                    status,
                    self.secrets.redact(&cl.reason),
                    crate::evidence::redact::value(&self.secrets, observed),
                )
            }
            _ => {
                // Redacted whole before ProcessError keeps the last 4000 bytes (F7).
                let err = ProcessError::from_outcome(
                    name,
                    &crate::evidence::redact::outcome(&self.secrets, out),
                );
                let why = if out.timed_out {
                    String::new()
                } else {
                    " printed no result line;".to_string()
                };
                v(
                    Status::Error,
                    self.secrets.redact(&format!("the check{why} {err}")),
                    json!({}),
                )
            }
        }
    }

    /// Every check of the selection in one process (the profile's `batch` template: on Windows, starting
    /// PowerShell costs about a second, SPEC §5). Each check runs with its own timeout inside that process
    /// and prints one line tagged with its control id: `{"id": …, "result": "<the check's JSON line>",
    /// "errors": […], "timed_out": bool}`. A check whose line is missing is an `error`; the others keep theirs.
    fn check_batch(&self, selected: &[&Planned], template: &str) -> Vec<Verdict> {
        use base64::Engine as _;
        let started = Instant::now();
        let mut verdicts: Vec<Option<Verdict>> = selected.iter().map(|p| self.settled(p)).collect();
        let to_run: Vec<usize> = (0..selected.len())
            .filter(|&i| verdicts[i].is_none())
            .collect();
        if to_run.is_empty() {
            return verdicts.into_iter().map(|v| v.expect("settled")).collect();
        }
        let checks: Vec<Value> = to_run
            .iter()
            .map(|&i| {
                let p = selected[i];
                json!({
                    "id": p.control.id,
                    "timeout": p.control.timeout_secs,
                    "script": base64::engine::general_purpose::STANDARD.encode(p.check.as_deref().unwrap_or("")),
                })
            })
            .collect();
        let error_all = |verdicts: &mut Vec<Option<Verdict>>, why: String| {
            for &i in &to_run {
                verdicts[i] = Some(Verdict {
                    status: Status::Error,
                    reason: why.clone(),
                    observed: json!({}),
                    duration: started.elapsed(),
                });
            }
        };
        let text = match self
            .resolved
            .renderer
            .render(template, &json!({"checks": checks}))
        {
            Ok(t) => t,
            Err(e) => {
                error_all(&mut verdicts, format!("template: {e:#}"));
                return verdicts.into_iter().map(|v| v.expect("set")).collect();
            }
        };
        // One environment for the process: the run's values and the secrets any of its checks declares.
        let mut env = self.env(selected[to_run[0]], false);
        env.retain(|(k, _)| k != "HANDOVER_CONTROL" && !k.starts_with("HANDOVER_SECRET_"));
        for &i in &to_run {
            for key in &selected[i].control.secrets {
                if let Some(v) = self.secrets.get(key) {
                    env.push((Secrets::env_name(key), v.to_string()));
                }
            }
        }
        let timeouts: Vec<u64> = to_run
            .iter()
            .map(|&i| selected[i].control.timeout_secs)
            .collect();
        let script = Script {
            name: "checks (one process)".into(),
            shell: Shell::of_template(template),
            text,
            env,
            timeout: Duration::from_secs(batch_timeout(&timeouts)),
        };
        let out = match self.host.run(&script) {
            Ok(o) => o,
            Err(e) => {
                error_all(&mut verdicts, format!("could not run the checks: {e:#}"));
                return verdicts.into_iter().map(|v| v.expect("set")).collect();
            }
        };
        let mut lines: BTreeMap<String, Value> = BTreeMap::new();
        for l in out
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with('{'))
        {
            if let Ok(j) = serde_json::from_str::<Value>(l) {
                if let Some(id) = j["id"].as_str() {
                    lines.insert(id.to_string(), j);
                }
            }
        }
        for &i in &to_run {
            let p = selected[i];
            let name = format!("{} check", p.control.id);
            verdicts[i] = Some(match lines.get(&p.control.id) {
                Some(j) => {
                    let own = crate::host::Outcome {
                        code: Some(0),
                        stdout: j["result"].as_str().unwrap_or("").to_string(),
                        stderr: j["errors"]
                            .as_array()
                            .map(|e| {
                                e.iter()
                                    .filter_map(Value::as_str)
                                    .collect::<Vec<_>>()
                                    .join("\n")
                            })
                            .unwrap_or_default(),
                        timed_out: j["timed_out"].as_bool().unwrap_or(false),
                        duration: Duration::from_secs(p.control.timeout_secs),
                    };
                    self.verdict_of(&name, &own.stdout, &own, started)
                }
                None => {
                    let err = ProcessError::from_outcome(
                        &script.name,
                        &crate::evidence::redact::outcome(&self.secrets, &out),
                    );
                    Verdict {
                        status: Status::Error,
                        reason: self.secrets.redact(&format!(
                            "no result for {} from the batch of checks: {err}",
                            p.control.id
                        )),
                        observed: json!({}),
                        duration: started.elapsed(),
                    }
                }
            });
        }
        verdicts
            .into_iter()
            .map(|v| v.expect("every check has a verdict"))
            .collect()
    }

    /// Run every selected check, concurrently, in a stable result order.
    fn check_all(&self, selected: &[&Planned]) -> Vec<Verdict> {
        if let Some(template) = self
            .resolved
            .profile
            .vars
            .get("batch")
            .and_then(Value::as_str)
        {
            if self.opts.profile_matches_device {
                return self.check_batch(selected, template);
            }
        }
        let results: Vec<Mutex<Option<Verdict>>> =
            selected.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let bar = progress_bar(self.opts.progress, selected.len() as u64, "checking");
        let workers = selected.len().clamp(1, 8);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(p) = selected.get(i) else { break };
                    let verdict = self.run_check(p);
                    *results[i].lock().expect("no poisoned lock") = Some(verdict);
                    bar.inc(1);
                });
            }
        });
        bar.finish_and_clear();
        results
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .expect("no poisoned lock")
                    .expect("every check ran")
            })
            .collect()
    }

    fn base_report(&self, started: SystemTime, controls: Vec<ControlReport>) -> Report {
        let partial = !self.opts.only.is_empty();
        let summary = Report::summarise(&controls, partial);
        let warnings = controls
            .iter()
            .filter(|c| c.id == "os.supported")
            .filter_map(|c| crate::inputs::lifecycle::support_warning(&c.observed, self.opts.now))
            .collect();
        Report {
            tool: Tool {
                name: "handover".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            mode: self.opts.mode.as_str().into(),
            scope: if partial { "partial" } else { "full" }.into(),
            profile: ProfileRef {
                name: self.resolved.profile.name.clone(),
                digest: self.resolved.digest.clone(),
            },
            device: self.device.clone(),
            user: self.opts.user.clone(),
            asset: self.opts.asset.clone(),
            ticket: self.opts.ticket.clone(),
            technician: self.opts.technician.clone(),
            reason: self.opts.reason.clone(),
            started_at: clock::rfc3339(started),
            finished_at: clock::rfc3339(clock::now().unwrap_or(started).max(started)),
            controls,
            summary,
            reboot_required: false,
            warnings,
            untested_release: None,
        }
    }

    fn control_report(&self, p: &Planned, v: &Verdict) -> ControlReport {
        let info = p.control.info();
        ControlReport {
            id: p.control.id.clone(),
            title: info.title.into(),
            policy: info.policy.into(),
            status: v.status,
            changed: false,
            reason: v.reason.clone(),
            observed: v.observed.clone(),
            duration_ms: v.duration.as_millis() as u64,
            plan: None,
            waiver: None,
            output: None,
            attestation: None,
        }
    }

    /// A `manual` control the technician attested (and whose attestation still holds) passes.
    fn apply_attestation(&self, cr: &mut ControlReport) {
        if cr.status != Status::Manual {
            return;
        }
        if let Some(a) = self.opts.attestations.iter().find(|a| a.control == cr.id) {
            cr.status = Status::Pass;
            cr.reason = format!("attested by {} on {}: {}", a.by, a.at, a.text);
            cr.attestation = Some(json!({"by": a.by, "at": a.at, "text": a.text}));
        }
    }

    /// A valid waiver turns a failing control into `waived`; an expired one is named in the reason.
    fn apply_waiver(&self, cr: &mut ControlReport) {
        if !matches!(cr.status, Status::Fail | Status::Manual) {
            return;
        }
        let today = clock::date(self.opts.now);
        for (w, expires) in &self.resolved.site.waivers {
            if w.control != cr.id {
                continue;
            }
            let for_device = w.devices.as_ref().is_none_or(|ds| {
                ds.iter()
                    .any(|d| *d == self.device.serial || *d == self.device.hostname)
            });
            if !for_device {
                continue;
            }
            let waiver = json!({"reason": w.reason, "approved_by": w.approved_by, "ticket": w.ticket, "expires": expires});
            if *expires >= today {
                cr.status = Status::Waived;
                cr.reason = format!(
                    "waived until {expires} ({}, approved by {}, {}): {}",
                    w.reason, w.approved_by, w.ticket, cr.reason
                );
            } else {
                cr.reason = format!("{}; waiver expired on {expires}", cr.reason);
            }
            cr.waiver = Some(waiver);
            return;
        }
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
                cr.plan = Some(match (&p.apply, &p.control.change) {
                    _ if !p.missing.is_empty() => format!(
                        "nothing until the site sets {}: apply refuses to start without them",
                        p.missing.join(", ")
                    ),
                    (Some(_), Some(change)) => change.clone(),
                    (Some(_), None) => "apply the profile's change".into(),
                    (None, _) => "nothing: handover does not change this; a person must".into(),
                });
            }
            controls.push(cr);
        }
        self.base_report(started, controls)
    }

    /// Whether this profile's separate admin is made by a person, not by handover (see [`sets_password`]).
    fn separate_admin_made_by_a_person(&self) -> bool {
        self.resolved
            .controls
            .iter()
            .find(|p| p.control.id == "accounts.separate-admin")
            .is_some_and(|p| !sets_password(&p.control))
    }

    /// Whether the technician attested that the separate admin's password is known and works
    /// (`--attest accounts.separate-admin`): SPEC §7's alternative to a password handover set itself.
    fn separate_admin_attested(&self) -> bool {
        self.opts
            .attestations
            .iter()
            .any(|a| a.control == "accounts.separate-admin")
    }

    /// Whether an admin-removing change may go ahead (SPEC §7): another enabled admin account exists,
    /// verified in this run, with a password set by handover in this run or an earlier one (or, where a
    /// person makes that account, verified by its check alone).
    fn admin_guard(&self, reports: &[ControlReport], set_now: &[String]) -> Result<(), String> {
        let Some(admin) = self.admin_user() else {
            return Err(
                "no user named (give --user NAME): the separate admin account cannot be verified"
                    .into(),
            );
        };
        let sep = reports.iter().find(|r| r.id == "accounts.separate-admin");
        match sep.map(|r| r.status) {
            Some(Status::Pass | Status::Fixed) => {}
            Some(s) => return Err(format!("the separate admin account {admin} is not verified (accounts.separate-admin is {})", s.as_str())),
            None => return Err("accounts.separate-admin did not run".into()),
        }
        // A profile whose separate admin is made by a person (macOS: only a Secure Token holder can make
        // one that unlocks FileVault) has a check that verifies the account itself, token included.
        if self.separate_admin_made_by_a_person() {
            return Ok(());
        }
        if set_now.contains(&admin)
            || self.opts.admin_passwords_set.contains(&admin)
            || self.separate_admin_attested()
        {
            Ok(())
        } else {
            Err(format!(
                "handover has not set the password of {admin} in this or an earlier run, so it cannot know that the account works; give --admin-password-file to set it"
            ))
        }
    }

    /// Copy and verify the control's installers, and name each one to the script in an environment
    /// variable. `site:KEY` names the artifact through a site key (the site's own EDR or agent); its
    /// installer then arrives as HANDOVER_ARTIFACT_<first part of KEY>, and an unset key stages nothing.
    fn stage_artifacts(
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
    fn write_files(
        &self,
        p: &Planned,
        env: &mut Vec<(String, String)>,
    ) -> anyhow::Result<Option<tempfile::TempDir>> {
        if p.files.is_empty() {
            return Ok(None);
        }
        let (dir, paths) = self
            .host
            .write_files(&self.opts.state_dir.join("work"), &p.files)?;
        for ((name, _), path) in p.files.iter().zip(paths) {
            let base = name.rsplit('/').next().unwrap_or(name);
            let var = base.replace(['-', '.'], "_").to_ascii_uppercase();
            env.push((format!("HANDOVER_FILE_{var}"), path.display().to_string()));
        }
        Ok(Some(dir))
    }

    /// Whether switching on inbound default deny would cut the SSH session handover runs over.
    fn cuts_remote_session(&self) -> Option<String> {
        let conn = self.opts.ssh_connection.as_ref()?;
        let mut parts = conn.split_whitespace();
        let client: std::net::IpAddr = parts.next()?.parse().ok()?;
        let port: u16 = parts.nth(2)?.parse().ok()?;
        let covered = self.resolved.site.file.firewall.allow.iter().any(|e| {
            e.port == port
                && e.proto == crate::inputs::site::Proto::Tcp
                && crate::inputs::site::parse_source(&e.from)
                    .is_some_and(|(net, len)| in_network(client, net, len))
        });
        (!covered).then(|| {
            format!(
                "refusing to change the firewall: inbound default deny would cut this SSH session from {client} to port {port}, which no [firewall] allow entry of the site covers; add one, or give --force-remote"
            )
        })
    }

    /// `apply`: check everything, change what failed (in order, one at a time), re-check what changed.
    pub fn apply(&self) -> Outcome {
        let started = self.opts.now;
        let selected = self.selected();
        // The guard of admin-removing controls needs the separate admin's status even in `--only` runs.
        let guard_needed = selected.iter().any(|p| p.control.removes_admin);
        let mut to_check: Vec<&Planned> = selected.clone();
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
        let verdicts = self.check_all(&to_check);
        let mut reports: Vec<ControlReport> = to_check
            .iter()
            .zip(&verdicts)
            .map(|(p, v)| self.control_report(p, v))
            .collect();
        let mut outcome = Outcome::default();
        let mut reboot = false;
        let mut restarting = false;
        let mut journal_error: Option<String> = None;
        let mut password: Option<String> = match &self.opts.admin_password {
            AdminPassword::Given(p) => Some(p.clone()),
            _ => None,
        };
        for (i, p) in to_check.iter().enumerate() {
            if i >= selected.len() {
                break; // only there for the guard
            }
            let mut cr = reports[i].clone();
            self.apply_attestation(&mut cr);
            self.apply_waiver(&mut cr);
            let admin = self.admin_user();
            // A given password that handover has not yet set on the separate admin account is a change too.
            // So is one handover can generate on the terminal: a password from a run that died before
            // it was recorded (and perhaps before it was shown) is replaced (SPEC §7).
            let can_set = password.is_some()
                || matches!(self.opts.admin_password, AdminPassword::GenerateOnTty);
            let set_password = p.control.id == "accounts.separate-admin"
                && sets_password(&p.control)
                && can_set
                && admin
                    .as_ref()
                    .is_some_and(|a| !self.opts.admin_passwords_set.contains(a));
            let wants_change =
                cr.status == Status::Fail || (set_password && cr.status == Status::Pass);
            if !wants_change || p.apply.is_none() {
                reports[i] = cr;
                continue;
            }
            let mut env = self.env(p, true);
            if p.control.removes_admin {
                if let Err(why) = self.admin_guard(&reports, &outcome.admin_passwords_set) {
                    cr.status = Status::Error;
                    cr.reason = format!("{}; not changed: {why}", cr.reason);
                    reports[i] = cr;
                    continue;
                }
            }
            // Never cut the session handover runs over (SPEC §7): both firewall changes can, the inbound one
            // by removing the rule that lets it in, the other by switching on default deny; and default deny
            // waits until the site's rules are in place.
            if p.control.id.starts_with("firewall.")
                && !self.opts.force_remote
                && self.opts.ssh_connection.is_some()
            {
                let inbound = reports
                    .iter()
                    .find(|r| r.id == "firewall.inbound")
                    .map(|r| r.status);
                let why = self.cuts_remote_session().or_else(|| {
                    (p.control.id == "firewall.enabled" && !matches!(inbound, Some(Status::Pass | Status::Fixed))).then(|| {
                        "refusing to switch on inbound default deny over SSH before firewall.inbound has put the site's rules in place; \
                         fix that first, or give --force-remote"
                            .to_string()
                    })
                });
                if let Some(why) = why {
                    cr.status = Status::Error;
                    cr.reason = why;
                    reports[i] = cr;
                    continue;
                }
            }
            let mut secrets = self.secrets.clone();
            let mut password_exported = false;
            if p.control.id == "accounts.separate-admin" && sets_password(&p.control) {
                let needs_new = cr.observed.get("admin_exists").and_then(Value::as_bool)
                    == Some(false)
                    || cr
                        .observed
                        .get("admin_password_set")
                        .and_then(Value::as_bool)
                        == Some(false);
                if password.is_none() && (needs_new || set_password) {
                    if let AdminPassword::GenerateOnTty = self.opts.admin_password {
                        password = generate_and_show(
                            self.host,
                            admin.as_deref().unwrap_or("the admin account"),
                        );
                    }
                }
                // The password goes to the script only when it is to be set: a drift repair must not
                // reset the password the user has chosen since.
                let exported = (needs_new || set_password)
                    .then_some(())
                    .and(password.as_ref());
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
                    cr.status = Status::Error;
                    cr.reason = format!(
                        "{}; not changed: {}",
                        cr.reason,
                        password_unknown(admin.as_deref().unwrap_or("the separate admin account"))
                    );
                    reports[i] = cr;
                    continue;
                }
                match exported {
                    Some(pw) => {
                        env.push((Secrets::env_name("admin.password"), pw.clone()));
                        crate::evidence::redact::add_secret(&mut secrets, "admin.password", pw);
                        password_exported = true;
                    }
                    None if needs_new => {
                        cr.status = Status::Error;
                        cr.reason = format!(
                            "{}; not changed: {} needs a password: give --admin-password-file FILE (root-owned, mode 600) or run on a terminal",
                            cr.reason,
                            admin.as_deref().unwrap_or("the separate admin account")
                        );
                        reports[i] = cr;
                        continue;
                    }
                    None => {}
                }
            }
            // A separate admin made by a person (macOS): its password is known only if the technician
            // attests it; without that the script verifies the account but demotes no one.
            if p.control.id == "accounts.separate-admin"
                && !sets_password(&p.control)
                && self.separate_admin_attested()
            {
                env.push(("HANDOVER_ADMIN_PASSWORD_KNOWN".into(), "1".into()));
            }
            // Installers: a private, verified copy, every time.
            let staged = match self.stage_artifacts(p, &mut env) {
                Ok(staged) => staged,
                Err(e) => {
                    cr.status = Status::Error;
                    cr.reason = format!("{}; not changed: {e}", cr.reason);
                    reports[i] = cr;
                    continue;
                }
            };
            for s in &staged {
                outcome.artifacts.insert(s.name.clone(), s.sha256.clone());
            }
            let files = match self.write_files(p, &mut env) {
                Ok(dir) => dir,
                Err(e) => {
                    cr.status = Status::Error;
                    cr.reason = format!("{}; not changed: {e:#}", cr.reason);
                    reports[i] = cr;
                    continue;
                }
            };
            let apply_started = Instant::now();
            let script = Script {
                name: format!("{} apply", p.control.id),
                shell: Shell::of_template(p.control.apply.as_deref().unwrap_or("")),
                text: p.apply.clone().expect("checked above"),
                env,
                timeout: Duration::from_secs(p.control.apply_timeout_secs),
            };
            let result = self.host.run(&script);
            drop(staged);
            drop(files);
            match result {
                Err(e) => {
                    cr.status = Status::Error;
                    cr.reason = format!("could not run the change: {e:#}");
                }
                Ok(out) => {
                    let log = secrets.redact(&format!("{}{}", out.stdout, out.stderr));
                    cr.output = Some(crate::host::tail(&log, 8000).to_string());
                    cr.changed = true;
                    if out.code == Some(REBOOT_EXIT) && !out.timed_out {
                        cr.status = Status::Fail;
                        cr.reason = "changed; reboot required to finish".into();
                        reboot = true;
                    } else if out.code == Some(RESTARTING_EXIT) && !out.timed_out {
                        cr.status = Status::Fail;
                        cr.reason = "changed; the installer is restarting the device: run `handover apply --resume` after it".into();
                        reboot = true;
                        restarting = true;
                    } else if out.code == Some(MANUAL_EXIT) && !out.timed_out {
                        cr.status = Status::Manual;
                        cr.changed = false;
                        let why = out
                            .stderr
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("the change needs a person");
                        cr.reason = secrets.redact(&format!(
                            "{}; needs a person: {}",
                            cr.reason,
                            why.trim()
                        ));
                    } else if !out.success() {
                        cr.status = Status::Error;
                        cr.reason = secrets.redact(&format!(
                            "the change failed: {}",
                            ProcessError::from_outcome(
                                &script.name,
                                &crate::evidence::redact::outcome(&secrets, &out)
                            )
                        ));
                    } else {
                        if password_exported {
                            if let Some(a) = &admin {
                                outcome.admin_passwords_set.push(a.clone());
                            }
                        }
                        let v = self.run_check(p);
                        cr.observed = v.observed;
                        if v.status == Status::Pass {
                            cr.status = Status::Fixed;
                            cr.reason = v.reason;
                        } else if v.status == Status::Manual {
                            // Installed, and what is left needs a person (macOS: the FortiClient VPN
                            // connection): an attestation given for it now counts.
                            cr.status = Status::Manual;
                            cr.reason = format!("changed; {}", v.reason);
                            self.apply_attestation(&mut cr);
                        } else {
                            cr.status = if v.status == Status::Error {
                                Status::Error
                            } else {
                                Status::Fail
                            };
                            cr.reason =
                                format!("changed, but the re-check still fails: {}", v.reason);
                        }
                    }
                }
            }
            cr.duration_ms += apply_started.elapsed().as_millis() as u64;
            if self.opts.detect_reboot && !reboot {
                if let Some(why) = self.host.reboot_pending() {
                    reboot = true;
                    cr.reason = format!("{}; a reboot is now pending ({why})", cr.reason);
                }
            }
            if let Some(dir) = &self.opts.journal_dir {
                if let Err(e) =
                    crate::engine::journal::Journal::mark(dir, &p.control.id, cr.status.as_str())
                {
                    journal_error = Some(format!("{e:#}"));
                }
            }
            reports[i] = cr;
            if restarting {
                // Windows 1641: the machine is going down; nothing else may start.
                if let Some(dir) = &self.opts.journal_dir {
                    let _ = crate::engine::journal::Journal::set_state(dir, "restarting");
                }
                break;
            }
        }
        reports.truncate(selected.len());
        if restarting {
            let mut report = self.base_report(started, reports);
            report.reboot_required = true;
            outcome.report = Some(report);
            return outcome;
        }
        // A change can settle a check-only control too (locking the guest account takes it off
        // accounts.allowed's list): re-check those that failed, so the report says how the device is now.
        if reports.iter().any(|r| r.changed) {
            let stale: Vec<usize> = (0..reports.len())
                .filter(|&i| {
                    reports[i].status == Status::Fail
                        && !reports[i].changed
                        && selected[i].apply.is_none()
                })
                .collect();
            let again: Vec<&Planned> = stale.iter().map(|&i| selected[i]).collect();
            for (i, v) in stale.into_iter().zip(self.check_all(&again)) {
                let cr = &mut reports[i];
                cr.status = v.status;
                cr.reason = v.reason;
                cr.observed = v.observed;
                self.apply_attestation(cr);
                self.apply_waiver(cr);
            }
        }
        let mut report = self.base_report(started, reports);
        report.reboot_required = reboot;
        if self.separate_admin_made_by_a_person()
            && matches!(self.opts.admin_password, AdminPassword::Given(_))
        {
            report.warnings.push(format!(
                "--admin-password-file was not used: profile {} never sets the separate admin's password (a person creates that account)",
                self.resolved.profile.name
            ));
        }
        if let Some(e) = journal_error {
            report
                .warnings
                .push(format!("the journal could not be updated: {e}"));
        }
        outcome.report = Some(report);
        outcome
    }
}

fn in_network(addr: std::net::IpAddr, net: std::net::IpAddr, len: u8) -> bool {
    use crate::inputs::site::network_of;
    addr.is_ipv4() == net.is_ipv4() && network_of(addr, len) == network_of(net, len)
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

/// Generate the separate admin's password and write it to the terminal only (never stdout or a log).
/// How many checks the Windows batch runs at once (`$slots` in templates/windows/_batch.ps1): a freshly
/// imaged laptop busy with Windows Update cannot start all of them together.
const BATCH_SLOTS: u64 = 5;

/// How long the whole batch may take before it is killed: every check may wait for a slot, so the bound
/// is what greedy scheduling on [`BATCH_SLOTS`] guarantees (the sum over the slots, plus the longest),
/// plus 30 s to start PowerShell and print.
fn batch_timeout(timeouts: &[u64]) -> u64 {
    let longest = timeouts.iter().copied().max().unwrap_or(30);
    let sum: u64 = timeouts.iter().sum();
    sum.div_ceil(BATCH_SLOTS) + longest + 30
}

/// Why a demotion waits: nobody is known to hold the separate admin's password.
fn password_unknown(admin: &str) -> String {
    format!(
        "the user would be demoted, but no one is known to hold the password of {admin}: handover has not set it in this or an earlier run and it is not attested; give --admin-password-file FILE or run on a terminal to set it, or confirm it works and give --attest accounts.separate-admin --technician NAME"
    )
}

fn generate_and_show(host: &dyn Host, account: &str) -> Option<String> {
    let pw = crate::support::secrets::generate_password().ok()?;
    host.show_on_console(&format!(
        "\nPassword for {account}: {pw}\nWrite it down now and give it to the user in person; it is not stored or shown again.\nIt must be changed at first login.\n"
    ))
    .ok()?;
    Some(pw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_waits_for_checks_queued_behind_the_five_slots() {
        // 18 checks of 30 s and two of 120 s: with five at a time the last may start after 156 s.
        let mut t = vec![30; 18];
        t.extend([120, 120]);
        assert_eq!(batch_timeout(&t), 156 + 120 + 30);
        assert_eq!(batch_timeout(&[30]), 6 + 30 + 30);
        let batch = include_str!("../../templates/windows/_batch.ps1");
        assert!(
            batch.contains(&format!("$slots = {BATCH_SLOTS}")),
            "BATCH_SLOTS differs from _batch.ps1's $slots"
        );
    }

    #[test]
    fn networks() {
        let a = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(in_network(a("10.1.2.3"), a("10.0.0.0"), 8));
        assert!(!in_network(a("11.1.2.3"), a("10.0.0.0"), 8));
        assert!(in_network(a("2001:db8::1"), a("2001:db8::"), 32));
        assert!(!in_network(a("10.1.2.3"), a("2001:db8::"), 32));
    }
}

#[cfg(test)]
mod engine_tests {
    //! The engine's decisions against a scripted host: no device is touched.
    use super::*;
    use crate::host::Outcome as RunOutcome;
    use crate::inputs::profile::{Sources, CONTROLS};
    use crate::inputs::site::Site;
    use std::path::Path;

    /// Answers each script by its name (`ID check` / `ID apply`); checks answer from a queue so that the
    /// re-check can differ from the first check. Records every script it was asked to run.
    /// A script's name and the environment it ran with.
    type Ran = (String, Vec<(String, String)>);

    struct ScriptedHost {
        answers: Mutex<Vec<(String, i32, String, String)>>,
        ran: Mutex<Vec<Ran>>,
        texts: Mutex<Vec<String>>,
    }

    impl ScriptedHost {
        fn new(answers: &[(&str, i32, &str, &str)]) -> Self {
            ScriptedHost {
                answers: Mutex::new(
                    answers
                        .iter()
                        .map(|(n, c, o, e)| (n.to_string(), *c, o.to_string(), e.to_string()))
                        .collect(),
                ),
                ran: Mutex::new(Vec::new()),
                texts: Mutex::new(Vec::new()),
            }
        }
        fn ran(&self) -> Vec<String> {
            self.ran
                .lock()
                .unwrap()
                .iter()
                .map(|(n, _)| n.clone())
                .collect()
        }
    }

    impl Host for ScriptedHost {
        fn run(&self, s: &Script) -> anyhow::Result<RunOutcome> {
            self.ran
                .lock()
                .unwrap()
                .push((s.name.clone(), s.env.clone()));
            self.texts.lock().unwrap().push(s.text.clone());
            let mut answers = self.answers.lock().unwrap();
            let i = answers
                .iter()
                .position(|(n, ..)| *n == s.name)
                .unwrap_or_else(|| panic!("unexpected script {}", s.name));
            let (_, code, out, err) = answers.remove(i);
            Ok(RunOutcome {
                code: Some(code),
                stdout: out,
                stderr: err,
                timed_out: false,
                duration: Duration::from_millis(1),
            })
        }

        fn facts(&self) -> Device {
            device()
        }

        fn reboot_pending(&self) -> Option<String> {
            None
        }

        // Staging and rendered files are real file work in a test's temporary directory.
        fn stage_artifact(
            &self,
            spec: &crate::artifacts::Spec,
            cache: &std::path::Path,
            work_dir: &std::path::Path,
        ) -> anyhow::Result<crate::artifacts::Staged> {
            crate::artifacts::stage(spec, cache, work_dir)
        }

        fn write_files(
            &self,
            work_dir: &std::path::Path,
            files: &[(String, String)],
        ) -> anyhow::Result<(tempfile::TempDir, Vec<std::path::PathBuf>)> {
            crate::host::write_private_files(work_dir, files)
        }

        fn show_on_console(&self, _text: &str) -> anyhow::Result<()> {
            anyhow::bail!("no console in a test")
        }
    }

    const PASS: &str = r#"{"compliant":true,"reason":"ok","observed":{}}"#;
    const FAIL: &str = r#"{"compliant":false,"reason":"bad","observed":{"admin_exists":true}}"#;

    /// A profile where the named controls are implemented and all others manual.
    fn resolved(implemented: &[&str], site: &str) -> (tempfile::TempDir, Resolved) {
        resolved_with(implemented, site, "")
    }

    /// [`resolved`], with `admin_extra` added to accounts.separate-admin's table.
    fn resolved_with(
        implemented: &[&str],
        site: &str,
        admin_extra: &str,
    ) -> (tempfile::TempDir, Resolved) {
        let dir = tempfile::tempdir().unwrap();
        let (p, t) = (dir.path().join("profiles"), dir.path().join("templates"));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("c.sh"), "check\n").unwrap();
        std::fs::write(t.join("a.sh"), "apply\n").unwrap();
        let mut text = String::from("[profile]\nname = \"t\"\n[match]\nfamily = \"linux\"\n");
        for c in CONTROLS {
            if implemented.contains(&c.id) {
                let guard = if c.id == "accounts.admin-builtin" {
                    "removes_admin = true\n"
                } else if c.id == "accounts.separate-admin" {
                    admin_extra
                } else {
                    ""
                };
                let secrets = if c.id == "apps.lansweeper" {
                    "secrets = [\"lansweeper.agent_key\"]\n"
                } else if c.id == "apps.office365" {
                    "artifacts = [\"office-odt\", \"office-source?\"]\n"
                } else {
                    ""
                };
                text.push_str(&format!(
                    "[controls.\"{}\"]\ncheck = \"c.sh\"\napply = \"a.sh\"\n{guard}{secrets}",
                    c.id
                ));
            } else {
                text.push_str(&format!(
                    "[controls.\"{}\"]\nstatus = \"manual\"\nreason = \"m\"\n",
                    c.id
                ));
            }
        }
        std::fs::write(p.join("t.toml"), text).unwrap();
        let sources = Sources {
            profiles_dir: Some(p),
            templates_dir: Some(t),
        };
        let profile = sources.load("t").unwrap();
        let site = Site::parse(
            Path::new("/t/site.toml"),
            site,
            &crate::inputs::profile::control_ids(),
        )
        .unwrap();
        let r = Resolved::new(&sources, profile, site).unwrap();
        (dir, r)
    }

    fn engine<'a>(
        r: &'a Resolved,
        device: &'a Device,
        host: &'a ScriptedHost,
        only: &[&str],
    ) -> Engine<'a> {
        let mut secrets = Secrets::default();
        for (k, v) in &r.site.secrets {
            crate::evidence::redact::add_secret(&mut secrets, k, v);
        }
        Engine {
            resolved: r,
            device,
            host,
            secrets,
            opts: RunOptions {
                mode: Mode::Apply,
                only: only.iter().map(|s| s.to_string()).collect(),
                user: Some("jdoe".into()),
                asset: None,
                ticket: None,
                technician: None,
                reason: None,
                force_remote: false,
                admin_password: AdminPassword::None,
                ssh_connection: None,
                now: humantime::parse_rfc3339("2026-11-25T10:00:00Z").unwrap(),
                state_dir: std::env::temp_dir(),
                cache_dir: std::env::temp_dir().join("handover-test-cache"),
                apply_env: vec![],
                attestations: vec![],
                journal_dir: None,
                detect_reboot: false,
                admin_passwords_set: vec!["jdoe-admin".into()],
                profile_matches_device: true,
                progress: false,
            },
        }
    }

    fn device() -> Device {
        serde_json::from_value(json!({"hostname": "h", "serial": "s", "model": "m", "os": {"family": "linux", "id": "debian", "version": "12", "name": "Debian"}})).unwrap()
    }

    fn status(r: &Report, id: &str) -> (Status, String, bool) {
        let c = r.controls.iter().find(|c| c.id == id).unwrap();
        (c.status, c.reason.clone(), c.changed)
    }

    #[test]
    fn fixed_only_when_the_recheck_passes() {
        let (_d, r) = resolved(&["accounts.guest", "accounts.password-policy"], "");
        let host = ScriptedHost::new(&[
            ("accounts.guest check", 0, FAIL, ""),
            ("accounts.guest apply", 0, "locked guest\n", ""),
            ("accounts.guest check", 0, PASS, ""),
            ("accounts.password-policy check", 0, FAIL, ""),
            ("accounts.password-policy apply", 0, "", ""),
            ("accounts.password-policy check", 0, FAIL, ""),
        ]);
        let d = device();
        let rep = engine(
            &r,
            &d,
            &host,
            &["accounts.guest", "accounts.password-policy"],
        )
        .apply()
        .report
        .unwrap();
        assert_eq!(
            status(&rep, "accounts.guest"),
            (Status::Fixed, "ok".into(), true)
        );
        let (st, why, changed) = status(&rep, "accounts.password-policy");
        assert_eq!((st, changed), (Status::Fail, true));
        assert!(why.contains("re-check still fails: bad"), "{why}");
    }

    #[test]
    fn manual_exit_makes_the_control_manual_and_unchanged() {
        let (_d, r) = resolved(&["updates.pending", "accounts.guest"], "");
        let host = ScriptedHost::new(&[
            ("updates.pending check", 0, FAIL, ""),
            (
                "updates.pending apply",
                MANUAL_EXIT,
                "",
                "softwareupdate: 2 waiting\ninstalling needs a volume owner's password\n\n",
            ),
            ("accounts.guest check", 0, FAIL, ""),
            ("accounts.guest apply", 0, "", ""),
            ("accounts.guest check", 0, PASS, ""),
        ]);
        let d = device();
        let rep = engine(&r, &d, &host, &["updates.pending", "accounts.guest"])
            .apply()
            .report
            .unwrap();
        let (st, why, changed) = status(&rep, "updates.pending");
        assert_eq!((st, changed), (Status::Manual, false));
        assert_eq!(
            why,
            "bad; needs a person: installing needs a volume owner's password"
        );
        // The others go on, and the device is not compliant.
        assert_eq!(status(&rep, "accounts.guest").0, Status::Fixed);
        assert_eq!(rep.summary.compliant, None);
        assert_eq!(rep.summary.manual, 1);
    }

    #[test]
    fn a_recheck_that_needs_a_person_is_manual_and_can_be_attested() {
        const MANUAL: &str = r#"{"compliant":false,"status":"manual","reason":"connection not verifiable","observed":{}}"#;
        let (_d, r) = resolved(&["apps.fortinet-vpn"], "");
        let run = |attest: bool| {
            let host = ScriptedHost::new(&[
                ("apps.fortinet-vpn check", 0, FAIL, ""),
                ("apps.fortinet-vpn apply", 0, "", ""),
                ("apps.fortinet-vpn check", 0, MANUAL, ""),
            ]);
            let d = device();
            let mut e = engine(&r, &d, &host, &[]);
            if attest {
                e.opts
                    .attestations
                    .push(crate::evidence::record::Attestation {
                        control: "apps.fortinet-vpn".into(),
                        by: "A. Tech".into(),
                        at: "2026-11-25T10:00:00Z".into(),
                        text: "connection made".into(),
                        install_id: "i".into(),
                    });
            }
            let rep = e.apply().report.unwrap();
            status(&rep, "apps.fortinet-vpn")
        };
        let (st, why, changed) = run(false);
        assert_eq!((st, changed), (Status::Manual, true));
        assert_eq!(why, "changed; connection not verifiable");
        assert_eq!(run(true).0, Status::Pass);
    }

    fn attest_separate_admin(e: &mut Engine) {
        e.opts
            .attestations
            .push(crate::evidence::record::Attestation {
                control: "accounts.separate-admin".into(),
                by: "A. Tech".into(),
                at: "2026-11-25T10:00:00Z".into(),
                text: "jdoe-admin's password tried at the login window".into(),
                install_id: "i".into(),
            });
    }

    fn env_of(host: &ScriptedHost, script: &str) -> Option<Vec<(String, String)>> {
        let ran = host.ran.lock().unwrap();
        ran.iter()
            .find(|(n, _)| n == script)
            .map(|(_, e)| e.clone())
    }

    #[test]
    fn nobody_is_demoted_while_no_one_is_known_to_hold_the_admins_password() {
        // Windows and Linux: jdoe-admin exists already (made by someone else, or by an older build),
        // handover never set its password, and there is no password file and no terminal.
        let (_d, r) = resolved(&["accounts.separate-admin", "accounts.admin-builtin"], "");
        let d = device();
        let host = ScriptedHost::new(&[
            ("accounts.separate-admin check", 0, FAIL, ""),
            ("accounts.admin-builtin check", 0, FAIL, ""),
        ]);
        let mut e = engine(&r, &d, &host, &[]);
        e.opts.admin_passwords_set.clear();
        e.opts.admin_password = AdminPassword::None;
        let rep = e.apply().report.unwrap();
        let (st, why, changed) = status(&rep, "accounts.separate-admin");
        assert_eq!((st, changed), (Status::Error, false));
        assert!(
            why.contains("no one is known to hold the password of jdoe-admin")
                && why.contains("--attest accounts.separate-admin"),
            "{why}"
        );
        assert!(
            env_of(&host, "accounts.separate-admin apply").is_none(),
            "the script ran"
        );
        assert_eq!(status(&rep, "accounts.admin-builtin").0, Status::Error);
        // Attested: the script runs, told that the password is known, and the guard of root lets go.
        let host = ScriptedHost::new(&[
            ("accounts.separate-admin check", 0, FAIL, ""),
            ("accounts.admin-builtin check", 0, FAIL, ""),
            ("accounts.separate-admin apply", 0, "", ""),
            ("accounts.separate-admin check", 0, PASS, ""),
            ("accounts.admin-builtin apply", 0, "", ""),
            ("accounts.admin-builtin check", 0, PASS, ""),
        ]);
        let mut e = engine(&r, &d, &host, &[]);
        e.opts.admin_passwords_set.clear();
        e.opts.admin_password = AdminPassword::None;
        attest_separate_admin(&mut e);
        let rep = e.apply().report.unwrap();
        assert_eq!(status(&rep, "accounts.separate-admin").0, Status::Fixed);
        assert_eq!(status(&rep, "accounts.admin-builtin").0, Status::Fixed);
        let env = env_of(&host, "accounts.separate-admin apply").unwrap();
        assert!(env.contains(&("HANDOVER_ADMIN_PASSWORD_KNOWN".into(), "1".into())));
        assert!(!env
            .iter()
            .any(|(k, _)| k == "HANDOVER_SECRET_ADMIN_PASSWORD"));
    }

    #[test]
    fn a_person_made_admin_is_demoted_to_only_once_its_password_is_attested() {
        // macOS: the script decides, and it is told that the password is known only when attested.
        let (_d, r) = resolved_with(
            &["accounts.separate-admin"],
            "",
            "params = { sets_password = false }\n",
        );
        let d = device();
        for attested in [false, true] {
            let host = ScriptedHost::new(&[
                ("accounts.separate-admin check", 0, FAIL, ""),
                (
                    "accounts.separate-admin apply",
                    MANUAL_EXIT,
                    "",
                    "attest it\n",
                ),
            ]);
            let mut e = engine(&r, &d, &host, &[]);
            if attested {
                attest_separate_admin(&mut e);
            }
            e.apply();
            let env = env_of(&host, "accounts.separate-admin apply").unwrap();
            assert_eq!(
                env.iter()
                    .any(|(k, v)| k == "HANDOVER_ADMIN_PASSWORD_KNOWN" && v == "1"),
                attested
            );
        }
    }

    #[test]
    fn a_separate_admin_made_by_a_person_needs_no_password_and_guards_root() {
        // macOS: the check verifies the person-made, token-holding admin; handover sets no password, so
        // neither a missing --admin-password-file nor an unrecorded password stops the demotion or root.
        let (_d, r) = resolved_with(
            &["accounts.separate-admin", "accounts.admin-builtin"],
            "",
            "params = { sets_password = false }\n",
        );
        let host = ScriptedHost::new(&[
            ("accounts.separate-admin check", 0, FAIL, ""),
            ("accounts.admin-builtin check", 0, FAIL, ""),
            ("accounts.separate-admin apply", 0, "", ""),
            ("accounts.separate-admin check", 0, PASS, ""),
            ("accounts.admin-builtin apply", 0, "", ""),
            ("accounts.admin-builtin check", 0, PASS, ""),
        ]);
        let d = device();
        let mut e = engine(&r, &d, &host, &[]);
        e.opts.admin_passwords_set.clear();
        e.opts.admin_password = AdminPassword::Given("pw-never-used".into());
        let out = e.apply();
        let rep = out.report.unwrap();
        assert!(
            rep.warnings
                .iter()
                .any(|w| w.contains("--admin-password-file was not used")),
            "{:?}",
            rep.warnings
        );
        assert_eq!(status(&rep, "accounts.separate-admin").0, Status::Fixed);
        assert_eq!(status(&rep, "accounts.admin-builtin").0, Status::Fixed);
        assert!(out.admin_passwords_set.is_empty());
        // The guard still holds while that admin is not verified.
        let host = ScriptedHost::new(&[
            ("accounts.separate-admin check", 0, FAIL, ""),
            ("accounts.admin-builtin check", 0, FAIL, ""),
            (
                "accounts.separate-admin apply",
                MANUAL_EXIT,
                "",
                "create jdoe-admin in System Settings\n",
            ),
        ]);
        let mut e = engine(&r, &d, &host, &[]);
        e.opts.admin_passwords_set.clear();
        let rep = e.apply().report.unwrap();
        assert_eq!(status(&rep, "accounts.separate-admin").0, Status::Manual);
        let (st, why, _) = status(&rep, "accounts.admin-builtin");
        assert_eq!(st, Status::Error);
        assert!(why.contains("not verified"), "{why}");
    }

    #[test]
    fn reboot_exit_stays_fail_and_flags_the_report() {
        let (_d, r) = resolved(&["updates.pending"], "");
        let host = ScriptedHost::new(&[
            ("updates.pending check", 0, FAIL, ""),
            ("updates.pending apply", REBOOT_EXIT, "", ""),
        ]);
        let d = device();
        let rep = engine(&r, &d, &host, &["updates.pending"])
            .apply()
            .report
            .unwrap();
        let (st, why, _) = status(&rep, "updates.pending");
        assert_eq!(st, Status::Fail);
        assert!(why.contains("reboot required"), "{why}");
        assert!(rep.reboot_required);
    }

    #[test]
    fn root_is_not_locked_without_a_verified_separate_admin() {
        let (_d, r) = resolved(&["accounts.separate-admin", "accounts.admin-builtin"], "");
        // The separate admin cannot be fixed (its apply fails): root must keep its password.
        let host = ScriptedHost::new(&[
            ("accounts.separate-admin check", 0, FAIL, ""),
            ("accounts.separate-admin apply", 1, "", "useradd: failure"),
            ("accounts.admin-builtin check", 0, FAIL, ""),
        ]);
        let d = device();
        let rep = engine(&r, &d, &host, &[]).apply().report.unwrap();
        let (st, why, changed) = status(&rep, "accounts.admin-builtin");
        assert_eq!((st, changed), (Status::Error, false));
        assert!(
            why.contains("separate admin account jdoe-admin is not verified"),
            "{why}"
        );
        assert!(!host
            .ran()
            .contains(&"accounts.admin-builtin apply".to_string()));
    }

    #[test]
    fn the_guard_runs_the_separate_admin_check_in_partial_runs() {
        let (_d, r) = resolved(&["accounts.separate-admin", "accounts.admin-builtin"], "");
        let host = ScriptedHost::new(&[
            ("accounts.admin-builtin check", 0, FAIL, ""),
            ("accounts.separate-admin check", 0, PASS, ""),
            ("accounts.admin-builtin apply", 0, "", ""),
            ("accounts.admin-builtin check", 0, PASS, ""),
        ]);
        let d = device();
        let rep = engine(&r, &d, &host, &["accounts.admin-builtin"])
            .apply()
            .report
            .unwrap();
        assert_eq!(rep.controls.len(), 1);
        assert_eq!(status(&rep, "accounts.admin-builtin").0, Status::Fixed);
        assert_eq!(rep.scope, "partial");
        assert_eq!(rep.summary.compliant, None);
    }

    #[test]
    fn a_failed_change_is_an_error_with_its_output_and_no_secret() {
        let site = "[lansweeper]\nserver = \"ls.example\"\nagent_key = \"TOPSECRET-KEY\"\n";
        let (_d, r) = resolved(&["apps.lansweeper"], site);
        let host = ScriptedHost::new(&[
            ("apps.lansweeper check", 0, FAIL, ""),
            (
                "apps.lansweeper apply",
                3,
                "installer said TOPSECRET-KEY\n",
                "E: bad key TOPSECRET-KEY",
            ),
        ]);
        let d = device();
        let rep = engine(&r, &d, &host, &["apps.lansweeper"])
            .apply()
            .report
            .unwrap();
        let (st, why, _) = status(&rep, "apps.lansweeper");
        assert_eq!(st, Status::Error);
        assert!(
            why.contains("apps.lansweeper apply exited with status 3")
                && why.contains("E: bad key <secret:lansweeper.agent_key>"),
            "{why}"
        );
        let text = serde_json::to_string(&rep).unwrap();
        assert!(!text.contains("TOPSECRET-KEY"), "{text}");
        // The key reached the script through its environment.
        let env = host
            .ran
            .lock()
            .unwrap()
            .iter()
            .find(|(n, _)| n == "apps.lansweeper apply")
            .unwrap()
            .1
            .clone();
        assert!(env.contains(&(
            "HANDOVER_SECRET_LANSWEEPER_AGENT_KEY".into(),
            "TOPSECRET-KEY".into()
        )));
    }

    #[test]
    fn a_check_without_a_result_line_is_an_error() {
        let (_d, r) = resolved(&["accounts.guest"], "");
        let host =
            ScriptedHost::new(&[("accounts.guest check", 2, "garbage\n", "awk: syntax error")]);
        let d = device();
        let e = engine(&r, &d, &host, &["accounts.guest"]);
        let rep = e.check();
        let (st, why, _) = status(&rep, "accounts.guest");
        assert_eq!(st, Status::Error);
        assert!(
            why.contains("printed no result line") && why.contains("awk: syntax error"),
            "{why}"
        );
    }

    #[test]
    fn default_deny_is_refused_when_it_would_cut_the_ssh_session() {
        let (_d, r) = resolved(
            &["firewall.enabled"],
            "[firewall]\nallow = [ { port = 22, proto = \"tcp\", from = \"10.0.0.0/8\" } ]\n",
        );
        let host = ScriptedHost::new(&[("firewall.enabled check", 0, FAIL, "")]);
        let d = device();
        let mut e = engine(&r, &d, &host, &["firewall.enabled"]);
        e.opts.ssh_connection = Some("192.0.2.9 50000 192.0.2.1 22".into());
        let rep = e.apply().report.unwrap();
        let (st, why, _) = status(&rep, "firewall.enabled");
        assert_eq!(st, Status::Error);
        assert!(
            why.contains("would cut this SSH session from 192.0.2.9")
                && why.contains("--force-remote"),
            "{why}"
        );
        // From inside the allowed range it goes ahead, once the site's rules are in place.
        let (_d2, r) = resolved(
            &["firewall.enabled", "firewall.inbound"],
            "[firewall]\nallow = [ { port = 22, proto = \"tcp\", from = \"10.0.0.0/8\" } ]\n",
        );
        let host = ScriptedHost::new(&[
            ("firewall.inbound check", 0, PASS, ""),
            ("firewall.enabled check", 0, FAIL, ""),
            ("firewall.enabled apply", 0, "", ""),
            ("firewall.enabled check", 0, PASS, ""),
        ]);
        let mut e = engine(&r, &d, &host, &[]);
        e.opts.ssh_connection = Some("10.9.9.9 50000 10.0.0.1 22".into());
        assert_eq!(
            status(&e.apply().report.unwrap(), "firewall.enabled").0,
            Status::Fixed
        );
    }

    #[test]
    fn a_valid_waiver_skips_the_change() {
        let site = "[[waiver]]\ncontrol = \"accounts.guest\"\nreason = \"kiosk\"\napproved_by = \"FDO\"\nticket = \"RITM1\"\nexpires = 2027-01-31\n";
        let (_d, r) = resolved(&["accounts.guest"], site);
        let host = ScriptedHost::new(&[("accounts.guest check", 0, FAIL, "")]);
        let d = device();
        let rep = engine(&r, &d, &host, &["accounts.guest"])
            .apply()
            .report
            .unwrap();
        assert_eq!(status(&rep, "accounts.guest").0, Status::Waived);
        assert_eq!(host.ran(), vec!["accounts.guest check"]);
    }

    #[test]
    fn windows_checks_run_in_one_process() {
        let sources = Sources::default();
        let profile = sources.load("windows-11").unwrap();
        let site = Site::parse(
            Path::new("/t/site.toml"),
            "[accounts]\nadmin_name = \"uni-adm0\"\nguest_name = \"uni-gst0\"\n",
            &crate::inputs::profile::control_ids(),
        )
        .unwrap();
        let r = Resolved::new(&sources, profile, site).unwrap();
        let pass = serde_json::to_string(PASS).unwrap();
        let fail = serde_json::to_string(FAIL).unwrap();
        let lines = format!(
            "{{\"id\":\"os.supported\",\"result\":{pass},\"errors\":[],\"timed_out\":false}}\n\
             {{\"id\":\"firewall.enabled\",\"result\":{fail},\"errors\":[],\"timed_out\":false}}\n\
             {{\"id\":\"updates.pending\",\"result\":null,\"errors\":[\"killed after its timeout of 600 s\"],\"timed_out\":true}}\n"
        );
        let host = ScriptedHost::new(&[("checks (one process)", 0, &lines, "")]);
        let d: Device = serde_json::from_value(json!({"hostname": "w", "serial": "s", "model": "m", "os": {"family": "windows", "id": "windows", "version": "11", "name": "Windows 11"}})).unwrap();
        let mut e = engine(&r, &d, &host, &[]);
        e.opts.mode = Mode::Check;
        let rep = e.check();
        assert_eq!(
            host.ran(),
            vec!["checks (one process)"],
            "one process for every check"
        );
        assert_eq!(status(&rep, "os.supported").0, Status::Pass);
        assert_eq!(status(&rep, "firewall.enabled").0, Status::Fail);
        let (st, why, _) = status(&rep, "updates.pending");
        assert_eq!(st, Status::Error);
        assert!(why.contains("timeout"), "{why}");
        // A check the batch did not answer for is an error; the others keep their lines.
        let (st, why, _) = status(&rep, "accounts.guest");
        assert_eq!(st, Status::Error);
        assert!(why.contains("no result for accounts.guest"), "{why}");
        // Controls that need site keys never reach the batch.
        assert_eq!(status(&rep, "apps.lansweeper").0, Status::Fail);
        // The batch script itself is valid PowerShell.
        let text = host.texts.lock().unwrap()[0].clone();
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_powershell::LANGUAGE.into())
            .unwrap();
        let tree = parser.parse(&text, None).unwrap();
        assert!(
            !tree.root_node().has_error(),
            "the batch does not parse:\n{text}"
        );
        assert!(text.contains("FromBase64String"));
    }

    #[test]
    fn an_installer_gets_the_sites_file_name_and_its_arguments_as_data() {
        let dir = tempfile::tempdir().unwrap();
        // A download saved under a name with no extension, as a browser saves an fwlink.
        std::fs::write(dir.path().join("download"), b"odt").unwrap();
        let site = format!(
            "[artifacts.office-odt]\nurl = \"{}\"\nsha256 = \"{}\"\nfile_name = \"setup.exe\"\nargs = [\"/quiet\", \"C:\\\\Program Files\\\\a \\\"b\\\".xml\"]\n",
            dir.path().join("download").display(),
            crate::support::hashing::sha256_bytes(b"odt")
        );
        let (_d, r) = resolved(&["apps.office365"], &site);
        let host = ScriptedHost::new(&[
            ("apps.office365 check", 0, FAIL, ""),
            ("apps.office365 apply", 0, "", ""),
            ("apps.office365 check", 0, PASS, ""),
        ]);
        let d = device();
        engine(&r, &d, &host, &["apps.office365"]).apply();
        let ran = host.ran.lock().unwrap();
        let env = &ran
            .iter()
            .find(|(n, _)| n == "apps.office365 apply")
            .unwrap()
            .1;
        let get = |k: &str| {
            env.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        };
        assert!(get("HANDOVER_ARTIFACT_OFFICE_ODT")
            .unwrap()
            .ends_with("/setup.exe"));
        let args: Vec<String> =
            serde_json::from_str(&get("HANDOVER_ARTIFACT_ARGS_OFFICE_ODT").unwrap()).unwrap();
        assert_eq!(args, ["/quiet", "C:\\Program Files\\a \"b\".xml"]);
    }

    #[test]
    fn an_optional_artifact_is_staged_only_when_the_site_defines_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("setup.exe"), b"odt").unwrap();
        std::fs::create_dir_all(dir.path().join("src/Office/Data")).unwrap();
        std::fs::write(dir.path().join("src/Office/Data/v64.cab"), b"cab").unwrap();
        let odt = format!(
            "[artifacts.office-odt]\nurl = \"{}\"\nsha256 = \"{}\"\n",
            dir.path().join("setup.exe").display(),
            crate::support::hashing::sha256_bytes(b"odt")
        );
        let source = format!(
            "[artifacts.office-source]\nurl = \"{}\"\n[artifacts.office-source.files]\n\"Office/Data/v64.cab\" = \"{}\"\n",
            dir.path().join("src").display(),
            crate::support::hashing::sha256_bytes(b"cab")
        );
        for (site, with_source) in [(odt.clone(), false), (format!("{odt}{source}"), true)] {
            let (_d, r) = resolved(&["apps.office365"], &site);
            let host = ScriptedHost::new(&[
                ("apps.office365 check", 0, FAIL, ""),
                ("apps.office365 apply", 0, "", ""),
                ("apps.office365 check", 0, PASS, ""),
            ]);
            let d = device();
            let out = engine(&r, &d, &host, &["apps.office365"]).apply();
            let rep = out.report.unwrap();
            assert_eq!(status(&rep, "apps.office365").0, Status::Fixed);
            let ran = host.ran.lock().unwrap();
            let env = &ran
                .iter()
                .find(|(n, _)| n == "apps.office365 apply")
                .unwrap()
                .1;
            let has = |k: &str| env.iter().any(|(name, _)| name == k);
            assert!(has("HANDOVER_ARTIFACT_OFFICE_ODT"));
            assert_eq!(has("HANDOVER_ARTIFACT_OFFICE_SOURCE"), with_source);
        }
        // Defined but tampered: the optional artifact is verified like any other, and refused.
        std::fs::write(dir.path().join("src/Office/Data/v64.cab"), b"cab!").unwrap();
        let (_d, r) = resolved(&["apps.office365"], &format!("{odt}{source}"));
        let host = ScriptedHost::new(&[("apps.office365 check", 0, FAIL, "")]);
        let d = device();
        let rep = engine(&r, &d, &host, &["apps.office365"])
            .apply()
            .report
            .unwrap();
        let (st, why, _) = status(&rep, "apps.office365");
        assert_eq!(st, Status::Error);
        assert!(
            why.contains("office-source: Office/Data/v64.cab: sha256 mismatch"),
            "{why}"
        );
    }

    #[test]
    fn an_installer_restarting_the_device_stops_the_apply_at_once() {
        let (_d, r) = resolved(&["accounts.guest", "firewall.enabled"], "");
        let host = ScriptedHost::new(&[
            ("accounts.guest check", 0, FAIL, ""),
            ("firewall.enabled check", 0, FAIL, ""),
            ("accounts.guest apply", RESTARTING_EXIT, "", ""),
        ]);
        let d = device();
        let state = tempfile::tempdir().unwrap();
        crate::engine::journal::Journal {
            state: "running".into(),
            ..Default::default()
        }
        .save(state.path())
        .unwrap();
        let mut e = engine(&r, &d, &host, &["accounts.guest", "firewall.enabled"]);
        e.opts.journal_dir = Some(state.path().to_path_buf());
        let rep = e.apply().report.unwrap();
        assert!(rep.reboot_required);
        let (st, why, changed) = status(&rep, "accounts.guest");
        assert_eq!((st, changed), (Status::Fail, true));
        assert!(why.contains("apply --resume"), "{why}");
        // Nothing after it started; it is not reported fixed.
        assert!(!host.ran().iter().any(|n| n == "firewall.enabled apply"));
        assert_eq!(status(&rep, "firewall.enabled").0, Status::Fail);
        let j = crate::engine::journal::Journal::load(state.path())
            .unwrap()
            .unwrap();
        assert_eq!(j.state, "restarting");
        assert_eq!(j.controls["accounts.guest"], "fail");
    }

    #[test]
    fn an_attested_manual_control_passes_with_who_and_when() {
        let (_d, r) = resolved(&[], "");
        let host = ScriptedHost::new(&[]);
        let d = device();
        let mut e = engine(&r, &d, &host, &[]);
        e.opts.mode = Mode::Check;
        e.opts.attestations = vec![crate::evidence::record::Attestation {
            control: "firmware.password".into(),
            by: "A. Tech".into(),
            at: "2026-11-20T09:00:00Z".into(),
            text: "confirmed by the technician: firmware password".into(),
            install_id: "x".into(),
        }];
        let rep = e.check();
        let (st, why, _) = status(&rep, "firmware.password");
        assert_eq!(st, Status::Pass);
        assert!(
            why.starts_with("attested by A. Tech on 2026-11-20T09:00:00Z"),
            "{why}"
        );
        let c = rep
            .controls
            .iter()
            .find(|c| c.id == "firmware.password")
            .unwrap();
        assert_eq!(c.attestation.as_ref().unwrap()["by"], "A. Tech");
        // Only that one: other manual controls stay manual.
        assert_eq!(status(&rep, "device.management").0, Status::Manual);
    }

    #[test]
    fn exit_precedence() {
        assert_eq!(
            crate::support::error::Exit::NotCompliant.worst(crate::support::error::Exit::Reboot),
            crate::support::error::Exit::Reboot
        );
        assert_eq!(
            crate::support::error::Exit::Reboot.worst(crate::support::error::Exit::Error),
            crate::support::error::Exit::Error
        );
        assert_eq!(
            crate::support::error::Exit::Error.worst(crate::support::error::Exit::Ok),
            crate::support::error::Exit::Error
        );
    }
}
