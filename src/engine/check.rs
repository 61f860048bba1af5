//! Check: run each control's check script (or the Windows batch) and read its verdict (SPEC §5).
//! Controls that need no script (not applicable, manual, missing site keys) are settled without one.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{progress_bar, Engine};
use crate::evidence::report::Status;
use crate::host::{Outcome, ProcessError, Script, Shell};
use crate::plan::{Planned, Resolved, Scripts};
use crate::support::secrets::Secrets;

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
pub(crate) struct Verdict {
    pub(crate) status: Status,
    pub(crate) reason: String,
    pub(crate) observed: Value,
    pub(crate) duration: Duration,
}

impl Engine<'_> {
    /// The verdict of a control that needs no script run: not applicable, manual, missing site keys, a
    /// template that did not render, a profile for another OS, or no check script. `None` when its check
    /// must run.
    pub(crate) fn settled(&self, p: &Planned) -> Option<Verdict> {
        let started = Instant::now();
        let v = |status, reason: String, observed| {
            Some(Verdict {
                status,
                reason,
                observed,
                duration: started.elapsed(),
            })
        };
        match &p.scripts {
            Scripts::NotApplicable(why) => v(Status::NotApplicable, why.clone(), json!({})),
            Scripts::Manual(why) => v(Status::Manual, why.clone(), json!({})),
            Scripts::MissingKeys(missing) => {
                let keys: Vec<String> = missing.iter().map(|k| format!("`{k}`")).collect();
                v(
                    Status::Fail,
                    format!(
                        "site key {} not set in {}",
                        keys.join(", "),
                        self.resolved.site.describe()
                    ),
                    json!({"missing_site_keys": missing}),
                )
            }
            Scripts::RenderFailed(e) => v(Status::Error, format!("template: {e}"), json!({})),
            _ if !self.opts.profile_matches_device => {
                let would = p
                    .control
                    .change
                    .clone()
                    .unwrap_or_else(|| "no change: check only".into());
                v(
                    Status::Manual,
                    format!(
                        "not checked: profile {} is not for this device's OS; apply would: {would}",
                        self.resolved.profile.name
                    ),
                    json!({}),
                )
            }
            Scripts::NoCheck => v(Status::Error, "no check script".into(), json!({})),
            Scripts::Ready { .. } => None,
        }
    }

    /// One control's check (or its settled verdict), with the firewall rules' reviews on top.
    pub(crate) fn run_check(&self, p: &Planned) -> Verdict {
        let mut v = self.run_one_check(p);
        self.firewall_reviews(p, &mut v);
        v
    }

    fn run_one_check(&self, p: &Planned) -> Verdict {
        let started = Instant::now();
        if let Some(done) = self.settled(p) {
            return done;
        }
        let Some(text) = p.scripts.check() else {
            unreachable!("settled() answers every state but Ready")
        };
        let c = &p.control;
        let v = |status, reason: String, observed| Verdict {
            status,
            reason,
            observed,
            duration: started.elapsed(),
        };
        let script = Script {
            name: format!("{} check", c.id),
            shell: Shell::of_template(c.check.as_deref().unwrap_or("")),
            text: text.to_string(),
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
    pub(crate) fn verdict_of(
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
    /// PowerShell costs about a second, SPEC §5). Each check runs with its own timeout inside that process.
    /// The PowerShell batch prints one line per check, tagged with its control id: `{"id": …, "result":
    /// "<the check's JSON line>", "errors": […], "timed_out": bool}`. The sh batch leaves each check's
    /// output in files of a private directory made here ([`sh_answer`]). A check with no answer is an
    /// `error`; the others keep theirs.
    pub(crate) fn check_batch(&self, selected: &[&Planned], template: &str) -> Vec<Verdict> {
        let started = Instant::now();
        let mut verdicts: Vec<Option<Verdict>> = selected.iter().map(|p| self.settled(p)).collect();
        let to_run: Vec<usize> = (0..selected.len())
            .filter(|&i| verdicts[i].is_none())
            .collect();
        if to_run.is_empty() {
            return verdicts.into_iter().map(|v| v.expect("settled")).collect();
        }
        let error_all = |verdicts: &mut Vec<Option<Verdict>>, why: String| {
            for &i in &to_run {
                verdicts[i] = Some(Verdict {
                    status: Status::Error,
                    reason: why.clone(),
                    observed: json!({}),
                    duration: started.elapsed(),
                });
            }
            verdicts.drain(..).map(|v| v.expect("set")).collect()
        };
        let checks: Vec<&Planned> = to_run.iter().map(|&i| selected[i]).collect();
        let text = match render_batch(self.resolved, template, &checks) {
            Ok(t) => t,
            Err(e) => return error_all(&mut verdicts, format!("template: {e:#}")),
        };
        let shell = Shell::of_template(template);
        // The sh batch's private directory, made here rather than by the batch (no mktemp, no rm, and the
        // files are read here rather than joined by an awk): 0700, removed when `dir` is dropped.
        let dir = if shell == Shell::Sh {
            match private_batch_dir() {
                Ok(d) => Some(d),
                Err(e) => {
                    return error_all(
                        &mut verdicts,
                        format!("could not make the checks' private directory: {e}"),
                    )
                }
            }
        } else {
            None
        };
        let script = Script {
            name: "checks (one process)".into(),
            shell,
            text,
            env: self.batch_env(selected, &to_run, dir.as_ref().map(tempfile::TempDir::path)),
            timeout: Duration::from_secs(batch_timeout(
                &to_run
                    .iter()
                    .map(|&i| selected[i].control.timeout_secs)
                    .collect::<Vec<_>>(),
                shell,
            )),
        };
        let out = match self.host.run(&script) {
            Ok(o) => o,
            Err(e) => return error_all(&mut verdicts, format!("could not run the checks: {e:#}")),
        };
        let answers: Vec<Option<Answer>> = match &dir {
            Some(d) => (0..to_run.len())
                .map(|n| sh_answer(d.path(), n, selected[to_run[n]].control.timeout_secs))
                .collect(),
            None => {
                let lines = tagged_lines(&out.stdout);
                to_run
                    .iter()
                    .map(|&i| {
                        let p = selected[i];
                        lines
                            .get(&p.control.id)
                            .map(|j| line_answer(j, p.control.timeout_secs))
                    })
                    .collect()
            }
        };
        drop(dir);
        for (&i, answer) in to_run.iter().zip(answers) {
            let p = selected[i];
            verdicts[i] = Some(match answer {
                Some(a) => {
                    let name = format!("{} check", p.control.id);
                    let mut v = self.verdict_of(&name, &a.out.stdout, &a.out, started);
                    // The sh batch times each check itself; otherwise the batch's time is each one's.
                    if let Some(d) = a.duration {
                        v.duration = d;
                    }
                    v
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

    /// One environment for the batch process: the run's values, the secrets any of its checks declares,
    /// and the sh batch's private directory.
    fn batch_env(
        &self,
        selected: &[&Planned],
        to_run: &[usize],
        dir: Option<&Path>,
    ) -> Vec<(String, String)> {
        let mut env = self.env(selected[to_run[0]], false);
        env.retain(|(k, _)| k != "HANDOVER_CONTROL" && !k.starts_with("HANDOVER_SECRET_"));
        for &i in to_run {
            for key in &selected[i].control.secrets {
                if let Some(v) = self.secrets.get(key) {
                    env.push((Secrets::env_name(key), v.to_string()));
                }
            }
        }
        if let Some(dir) = dir {
            env.push((BATCH_DIR_ENV.into(), dir.display().to_string()));
        }
        env
    }

    /// `firewall.inbound` fails for an allow entry past its `review_by` (the run's clock, as waivers),
    /// whatever the OS; the entries' approvals go into its observed for the record. Only a check that
    /// ran and answered (pass or fail) is changed: an error, or a control not checked, keeps its own.
    /// Every check goes through here, the recheck after a change too, so a change never makes a late
    /// review `fixed`.
    fn firewall_reviews(&self, p: &Planned, v: &mut Verdict) {
        if p.control.id != "firewall.inbound" || !matches!(v.status, Status::Pass | Status::Fail) {
            return;
        }
        let site = &self.resolved.site;
        let approvals = crate::plan::firewall_approvals(site);
        if !approvals.is_empty() {
            if let Some(o) = v.observed.as_object_mut() {
                o.insert("approvals".into(), json!(approvals));
            }
        }
        let overdue = crate::plan::overdue_firewall_reviews(
            site,
            &crate::support::clock::date(self.opts.now),
        );
        if overdue.is_empty() {
            return;
        }
        let overdue = overdue.join("; ");
        v.reason = match v.status {
            Status::Pass => overdue,
            _ => format!("{}; {overdue}", v.reason),
        };
        v.status = Status::Fail;
    }

    /// Run every selected check, concurrently, in a stable result order.
    pub(crate) fn check_all(&self, selected: &[&Planned]) -> Vec<Verdict> {
        if let Some(template) = self
            .resolved
            .profile
            .vars
            .get("batch")
            .and_then(Value::as_str)
        {
            if self.opts.profile_matches_device {
                let mut verdicts = self.check_batch(selected, template);
                for (p, v) in selected.iter().zip(&mut verdicts) {
                    self.firewall_reviews(p, v);
                }
                return verdicts;
            }
        }
        let bar = progress_bar(self.opts.progress, selected.len() as u64, "checking");
        let verdicts = crate::support::par::par_map(selected, 8, |p| {
            let verdict = self.run_check(p);
            bar.inc(1);
            verdict
        });
        bar.finish_and_clear();
        verdicts
    }
}

/// The variable that names the sh batch's private directory to it (templates/linux/_batch.sh).
const BATCH_DIR_ENV: &str = "HANDOVER_BATCH_DIR";

/// The sh batch's private directory, 0700 from its mkdir on (tempfile's default is 0777 less the umask):
/// what the checks write there is read before any redaction, as a script's captured output is.
fn private_batch_dir() -> std::io::Result<tempfile::TempDir> {
    let mut b = tempfile::Builder::new();
    b.prefix("handover-batch-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o700));
    }
    b.tempdir()
}

/// What one check of a batch answered: its output as if it had run alone, and its own time when the batch
/// measured it.
struct Answer {
    out: Outcome,
    duration: Option<Duration>,
}

/// The PowerShell batch's lines, by control id.
fn tagged_lines(stdout: &str) -> BTreeMap<String, Value> {
    let mut lines = BTreeMap::new();
    for l in stdout.lines().filter(|l| l.trim_start().starts_with('{')) {
        if let Ok(j) = serde_json::from_str::<Value>(l) {
            if let Some(id) = j["id"].as_str() {
                lines.insert(id.to_string(), j);
            }
        }
    }
    lines
}

/// A check's answer from its line of the PowerShell batch.
fn line_answer(j: &Value, timeout_secs: u64) -> Answer {
    Answer {
        out: Outcome {
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
            // What a timeout message names (ProcessError).
            duration: Duration::from_secs(timeout_secs),
        },
        duration: j["duration_ms"].as_u64().map(Duration::from_millis),
    }
}

/// Check `n`'s answer from the files the sh batch left in `dir` (templates/linux/_batch.sh): its stdout
/// (N.out) and stderr (N.err) whole, as a check run alone gives them, so that its verdict is read the
/// same way; N.timeout when the watchdog killed it; N.done ("STATUS T0 T1") once it ended. `None` when it
/// did not end inside the batch (the batch was killed, or failed, before or while it ran): the batch's
/// own outcome then says why.
fn sh_answer(dir: &Path, n: usize, timeout_secs: u64) -> Option<Answer> {
    let read = |ext: &str| {
        std::fs::read(dir.join(format!("{n}.{ext}")))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let done = read("done")?;
    let mut fields = done.split_whitespace();
    let code = fields.next().and_then(|c| c.parse::<i32>().ok());
    let duration = match (fields.next(), fields.next()) {
        (Some(t0), Some(t1)) => uptime_ms(t0)
            .zip(uptime_ms(t1))
            .map(|(a, b)| Duration::from_millis(b.saturating_sub(a))),
        _ => None,
    };
    Some(Answer {
        out: Outcome {
            code,
            stdout: read("out").unwrap_or_default(),
            stderr: read("err").unwrap_or_default(),
            timed_out: dir.join(format!("{n}.timeout")).exists(),
            // What a timeout message names (ProcessError): the watchdog kills at the check's own timeout.
            duration: Duration::from_secs(timeout_secs),
        },
        duration,
    })
}

/// Milliseconds from a /proc/uptime reading (`12345.67`, seconds with two decimals), in whole numbers
/// so that a difference of two readings is exact.
pub(super) fn uptime_ms(s: &str) -> Option<u64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_ms: u64 = format!("{frac:0<3}").parse().ok()?;
    secs.parse::<u64>()
        .ok()?
        .checked_mul(1000)?
        .checked_add(frac_ms)
}

/// The batch script (the profile's `batch` template) that runs the check of each of `checks`, in order.
/// Public so that the rendered batch is linted like every other script (tests/render.rs).
pub fn render_batch(resolved: &Resolved, template: &str, checks: &[&Planned]) -> Result<String> {
    use base64::Engine as _;
    let shell = Shell::of_template(template);
    let lib = if shell == Shell::Sh {
        shared_lib(resolved, template)
    } else {
        None
    };
    let mut lib_used = false;
    // Each check carries its script in the one form its batch reads: PowerShell decodes base64 (no quoting
    // of script text inside script text); sh takes the text itself, which the sh escaper makes one
    // single-quoted word, without the helpers the batch defines once for all.
    let checks: Vec<Value> = checks
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let text = p.scripts.check().unwrap_or("");
            let mut c = json!({"n": n, "id": p.control.id, "timeout": p.control.timeout_secs});
            if shell == Shell::PowerShell {
                c["script"] = json!(base64::engine::general_purpose::STANDARD.encode(text));
            } else {
                let own = lib.as_deref().and_then(|l| text.strip_prefix(l));
                lib_used |= own.is_some();
                c["text"] = json!(own.unwrap_or(text));
            }
            c
        })
        .collect();
    // The PowerShell batch takes the checks as one list and schedules them itself; the sh batch runs them in
    // lanes, each lane one after another: check n in lane n % SH_BATCH_LANES.
    let context = if shell == Shell::PowerShell {
        json!({"checks": checks, "vars": resolved.profile.vars})
    } else {
        let mut lanes: Vec<Vec<Value>> = vec![Vec::new(); SH_BATCH_LANES.min(checks.len()).max(1)];
        for (n, c) in checks.into_iter().enumerate() {
            lanes[n % SH_BATCH_LANES].push(c);
        }
        json!({"lanes": lanes, "lib": lib_used, "vars": resolved.profile.vars})
    };
    resolved.renderer.render(template, &context)
}

/// The helpers the sh checks begin with (`_lib.sh` beside the batch template: `{{> linux/_lib.sh}}` at the
/// top of every Linux check), rendered as the batch renders them. dash parses a check's whole text when
/// the batch evals it, and these helpers are most of each text (measured: 60% of the time spent parsing
/// the checks): the batch defines them once, before the checks, and a check whose text begins with exactly
/// these bytes is given the rest only. Defining them in the batch's shell rather than in each check's
/// subshell changes nothing a check sees: they define functions and set their own variables only, which
/// the batch does not touch, and each subshell starts from the batch's state as it would after running
/// them itself. A check whose text begins otherwise (another helper, a value the batch renders
/// differently) keeps its whole text. `None` when there is no such template.
fn shared_lib(resolved: &Resolved, template: &str) -> Option<String> {
    let (dir, _) = template.rsplit_once('/')?;
    let lib = resolved
        .renderer
        .render(
            &format!("{dir}/_lib.sh"),
            &json!({"vars": resolved.profile.vars}),
        )
        .ok()?;
    (!lib.is_empty()).then_some(lib)
}

/// How many checks the Windows batch runs at once (`$slots` in templates/windows/_batch.ps1): a freshly
/// imaged laptop busy with Windows Update cannot start all of them together.
const BATCH_SLOTS: u64 = 5;

/// How many lanes of checks the sh batch (templates/linux/_batch.sh) runs side by side. Measured on 2 cores
/// (BENCHMARKS.md): most checks wait on the tools they start, so two lanes finish sooner than one; three
/// measured no faster (within the run-to-run noise, same CPU).
const SH_BATCH_LANES: usize = 2;

/// How long the whole batch may take before it is killed, plus 30 s to start the shell and print. In
/// PowerShell every check may wait for a slot, so the bound is what greedy scheduling on [`BATCH_SLOTS`]
/// guarantees (the sum over the slots, plus the longest). The sh batch's lanes are fixed (check n in lane
/// n % [`SH_BATCH_LANES`]) and its watchdog looks once a second: the bound is its longest lane, each check a
/// second late.
fn batch_timeout(timeouts: &[u64], shell: Shell) -> u64 {
    if shell == Shell::PowerShell {
        let longest = timeouts.iter().copied().max().unwrap_or(30);
        let sum: u64 = timeouts.iter().sum();
        return sum.div_ceil(BATCH_SLOTS) + longest + 30;
    }
    let lane = |k: usize| -> u64 {
        timeouts
            .iter()
            .skip(k)
            .step_by(SH_BATCH_LANES)
            .map(|t| t + 1)
            .sum()
    };
    (0..SH_BATCH_LANES).map(lane).max().unwrap_or(0) + 30
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_waits_for_checks_queued_behind_the_five_slots() {
        // 18 checks of 30 s and two of 120 s: with five at a time the last may start after 156 s.
        let mut t = vec![30; 18];
        t.extend([120, 120]);
        assert_eq!(batch_timeout(&t, Shell::PowerShell), 156 + 120 + 30);
        assert_eq!(batch_timeout(&[30], Shell::PowerShell), 6 + 30 + 30);
        let batch = include_str!("../../templates/windows/_batch.ps1");
        assert!(
            batch.contains(&format!("$slots = {BATCH_SLOTS}")),
            "BATCH_SLOTS differs from _batch.ps1's $slots"
        );
    }
}
