//! `check`, `plan` and `apply`: the engine run as a short pipeline of named steps: stage 2, the run
//! lock, the state read under it, the questions, the journal, the engine, the record, the output.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::args::{ApplyArgs, CheckFormat, Common, Format};
use crate::cli::invocation::{
    refuse_unless_root, refuse_untested_apply, resume_from, setup, sources, Invocation, Setup,
    Surroundings, Target,
};
use crate::cli::prompt;
use crate::commands::passphrase;
use crate::engine::journal::{Journal, RunLock};
use crate::engine::{AdminPassword, Engine, Mode, Outcome, RunOptions};
use crate::evidence::record::{self, State};
use crate::evidence::report::{self, Report};
use crate::evidence::signing;
use crate::host::{facts, LocalHost};
use crate::support::error::{Exit, InputError};
use crate::support::secrets::Secrets;
use crate::support::{clock, perms};

pub(crate) fn run_engine(
    mode: Mode,
    common: &Common,
    apply: Option<&ApplyArgs>,
    format: Format,
    out: Option<PathBuf>,
) -> Result<Exit> {
    run_engine_as(mode, common, apply, format, None, out)
}

/// The run: stage 2 up to the lock, the state read under the lock, then question, engine, evidence.
pub(crate) fn run_engine_as(
    mode: Mode,
    common: &Common,
    apply: Option<&ApplyArgs>,
    format: Format,
    export: Option<CheckFormat>,
    out: Option<PathBuf>,
) -> Result<Exit> {
    let setup = setup(common, Some(mode))?;
    refuse_untested_apply(&setup, apply)?;
    if apply.is_some() {
        refuse_unless_root(perms::is_root())?;
    }
    let state_dir = crate::support::dirs::state_dir();
    let (_lock, lock_warning) = take_run_lock(mode, &state_dir)?;
    let mut state = State::load(&state_dir).unwrap_or_default();
    let surroundings = surroundings(common, &state_dir, &state)?;
    let target = Target::of(&setup, &common.only);
    let mut inv = Invocation::new(mode, format, common, apply, &target, &state, surroundings)?;
    if !confirm_apply(&inv, &setup)? {
        eprintln!("nothing changed");
        return Ok(Exit::Error);
    }
    // The kit's package repository, through a private apt configuration that lives for this run
    // (made only when a kit is given for this device).
    let kit_work = match &common.kit {
        Some(_) if setup.matches_device => {
            Some(tempfile::Builder::new().prefix("handover-kit-").tempdir()?)
        }
        _ => None,
    };
    let opts = run_options(
        &mut inv,
        common,
        &setup,
        &state,
        &state_dir,
        kit_work.as_ref().map(tempfile::TempDir::path),
    )?;
    let before = start_journal(&inv, common, &setup, &opts, &state_dir)?;
    let now = opts.now;
    let (mut report, outcome) = run_the_engine(&setup, opts);
    attest_on_terminal(&mut inv, &mut report)?;
    add_warnings(&setup, &mut report, before, lock_warning);
    finish_journal(&inv, &state_dir, &mut report);
    warn_without_site(&setup, &mut report);
    // Time in state, from the newest record (read under the run lock), once every status is final.
    crate::evidence::timeline::stamp_from(&mut report, &state_dir, state.last_record.as_deref());
    if mode != Mode::Plan {
        remember(&inv, &mut state, &report, outcome.as_ref(), now);
        write_record(&inv, common, &mut state, &state_dir, &mut report, outcome)?;
    }
    output(common, &report, export, format, out.as_deref())?;
    Ok(exit_of(&report, mode))
}

/// One run at a time: a second check or apply refuses rather than interleaving (held until exit).
/// Taken before the state is read, so that the record chain continues from the newest record.
fn take_run_lock(mode: Mode, state_dir: &Path) -> Result<(Option<RunLock>, Option<String>)> {
    Ok(match mode {
        Mode::Plan => (None, None),
        Mode::Apply => (Some(RunLock::acquire(state_dir, "apply")?), None),
        // A check by a user who cannot write the state directory still checks (no record then).
        Mode::Check => match RunLock::acquire(state_dir, "check") {
            Ok(l) => (Some(l), None),
            Err(e) if e.downcast_ref::<InputError>().is_some() => return Err(e),
            Err(e) => (None, Some(format!("{e:#}"))),
        },
    })
}

/// What stage 2 reads from the device: root, terminals, the installation, the clock, and the
/// attestations still remembered here.
fn surroundings(common: &Common, state_dir: &Path, state: &State) -> Result<Surroundings> {
    let install_id = facts::install_id();
    let now = clock::now()?;
    // Once records are signed (a kit key is known: the kit's, else the one the device was given), an
    // attestation counts only from a signed record: one added to state.json alone is not honoured (F2).
    let record_key = signing::default_pubkey(common.kit.as_deref())
        .or_else(|| Some(signing::device_pubkey_path(state_dir)).filter(|p| p.is_file()));
    let remembered = match &record_key {
        Some(key) => signing::signed_attestations(&state_dir.join("records"), key, &install_id)
            .unwrap_or_default(),
        None => state.attestations.clone(),
    };
    Ok(Surroundings {
        is_root: perms::is_root(),
        stdin_tty: std::io::stdin().is_terminal(),
        stderr_tty: std::io::stderr().is_terminal(),
        install_id,
        now,
        remembered,
    })
}

/// The apply's `[y/N]`, unless `--yes`; true when the run goes on.
fn confirm_apply(inv: &Invocation, setup: &Setup) -> Result<bool> {
    match &inv.apply {
        Some(a) if a.confirm => prompt::confirm_apply(
            &setup.resolved.profile.name,
            &setup.device.hostname,
            inv.user.as_deref(),
        ),
        _ => Ok(true),
    }
}

/// The engine's options: the invocation, the kit's package environment and the remembered state.
fn run_options(
    inv: &mut Invocation,
    common: &Common,
    setup: &Setup,
    state: &State,
    state_dir: &Path,
    kit_work: Option<&Path>,
) -> Result<RunOptions> {
    let apply_env = match (&common.kit, kit_work) {
        (Some(kit), Some(work)) if setup.matches_device => {
            crate::artifacts::kit::package_env(kit, &setup.resolved.profile, work)?
        }
        _ => vec![],
    };
    let now = clock::now()?;
    let admin_password = inv.apply.as_mut().map_or(AdminPassword::None, |a| {
        std::mem::replace(&mut a.admin_password, AdminPassword::None)
    });
    Ok(RunOptions {
        mode: inv.mode,
        only: inv.only.clone(),
        user: inv.user.clone(),
        asset: inv.asset.clone(),
        ticket: inv.ticket.clone(),
        technician: inv.technician.clone(),
        reason: inv.apply.as_ref().map(|a| a.reason.clone()),
        force_remote: inv.apply.as_ref().is_some_and(|a| a.force_remote),
        admin_password,
        ssh_connection: facts::ssh_connection(),
        now,
        state_dir: state_dir.to_path_buf(),
        cache_dir: common
            .kit
            .as_ref()
            .map_or_else(crate::support::dirs::cache_dir, |k| k.join("artifacts")),
        apply_env,
        attestations: inv.attestations.clone(),
        journal_dir: (inv.mode == Mode::Apply).then(|| state_dir.to_path_buf()),
        detect_reboot: setup.matches_device,
        admin_passwords_set: state
            .admin_passwords_set
            .iter()
            .map(|a| a.account.clone())
            .collect(),
        profile_matches_device: setup.matches_device,
        progress: inv.format == Format::Text,
    })
}

/// What the apply found before it started: an unfinished earlier apply, a reboot already pending.
#[derive(Default)]
struct Before {
    warnings: Vec<String>,
    reboot_pending: Option<String>,
}

/// The apply's journal, written before any change: a read-only or full state directory stops here.
fn start_journal(
    inv: &Invocation,
    common: &Common,
    setup: &Setup,
    opts: &RunOptions,
    state_dir: &Path,
) -> Result<Before> {
    let mut before = Before::default();
    if inv.mode != Mode::Apply {
        return Ok(before);
    }
    let previous = Journal::load(state_dir)?;
    let resume_registered = previous.as_ref().is_some_and(|j| j.resume_registered);
    if let Some(j) = previous {
        if !inv.apply.as_ref().is_some_and(|a| a.resume) {
            before.warnings.push(format!(
                "an earlier apply (started {}) did not finish ({}); this run checks every control again",
                j.started_at,
                j.progress()
            ));
        }
    }
    if setup.matches_device {
        before.reboot_pending = crate::host::Host::reboot_pending(&LocalHost);
    }
    let only = &inv.only;
    let journal = Journal {
        started_at: clock::rfc3339(opts.now),
        profile: setup.resolved.profile.name.clone(),
        site: setup.resolved.site.path.clone(),
        kit: common.kit.clone(),
        only: only.clone(),
        user: opts.user.clone(),
        asset: opts.asset.clone(),
        ticket: opts.ticket.clone(),
        technician: opts.technician.clone(),
        reason: opts.reason.clone(),
        state: crate::engine::journal::RunState::Running,
        controls: setup
            .resolved
            .controls
            .iter()
            .filter(|p| only.is_empty() || only.contains(&p.control.id))
            .map(|p| (p.control.id.clone(), crate::engine::journal::Phase::Pending))
            .collect(),
        resume_registered,
    };
    journal
        .save(state_dir)
        .map_err(|e| InputError::Refused(format!("{e:#}; nothing was changed")))?;
    Ok(before)
}

/// Check (plan, check) or check-change-verify (apply).
fn run_the_engine(setup: &Setup, opts: RunOptions) -> (Report, Option<Outcome>) {
    let mut secrets = Secrets::default();
    for (k, v) in &setup.resolved.site.secrets {
        crate::evidence::redact::add_secret(&mut secrets, k, v);
    }
    let mode = opts.mode;
    let engine = Engine {
        resolved: &setup.resolved,
        device: &setup.device,
        host: &LocalHost,
        opts,
        secrets,
    };
    match mode {
        Mode::Apply => {
            let o = engine.apply();
            (o.report.clone().expect("apply reports"), Some(o))
        }
        _ => (engine.check(), None),
    }
}

/// On a terminal, the technician confirms each control handover could not read.
fn attest_on_terminal(inv: &mut Invocation, report: &mut Report) -> Result<()> {
    if !inv.apply.as_ref().is_some_and(|a| a.ask_attest) {
        return Ok(());
    }
    let manual: Vec<usize> = (0..report.controls.len())
        .filter(|&i| report.controls[i].status == report::Status::Manual)
        .collect();
    if manual.is_empty() {
        return Ok(());
    }
    let Some(by) = inv.technician.clone() else {
        report
            .warnings
            .push("give --technician NAME to confirm the controls handover cannot read".into());
        return Ok(());
    };
    for i in manual {
        let c = &mut report.controls[i];
        if !prompt::confirm_in_place(&c.id, &c.title, &c.reason, &by)? {
            continue;
        }
        let att = record::Attestation {
            control: c.id.clone(),
            by: by.clone(),
            at: clock::rfc3339(inv.attest_now),
            text: format!("confirmed by the technician: {}", c.title),
            install_id: inv.install_id.clone(),
        };
        c.status = report::Status::Pass;
        c.reason = format!("attested by {} on {}: {}", att.by, att.at, att.text);
        c.attestation = Some(serde_json::json!({"by": att.by, "at": att.at, "text": att.text}));
        inv.attestations.retain(|x| x.control != att.control);
        inv.attestations.push(att);
    }
    report.summary = report::Report::summarise(
        &report.controls,
        report.scope == crate::evidence::report::Scope::Partial,
    );
    Ok(())
}

/// The warnings of the run itself: untested release, earlier apply, lock, pending reboot, no site.
fn add_warnings(setup: &Setup, report: &mut Report, before: Before, lock_warning: Option<String>) {
    if let Some(u) = &setup.untested {
        report.warnings.push(format!(
            "untested release: this device runs {}, newer than every profile; profile {} (its distribution's newest) was used",
            u.os, u.profile
        ));
        report.untested_release = Some(u.clone());
    }
    report.warnings.extend(before.warnings);
    report.warnings.extend(lock_warning);
    if let Some(why) = &before.reboot_pending {
        report.reboot_required = true;
        report.warnings.push(format!(
            "a reboot was already pending before this apply ({why}): restart, then run check"
        ));
    }
}

/// The apply's journal at the end: kept (and a resume registered) across a restart, else removed.
fn finish_journal(inv: &Invocation, state_dir: &Path, report: &mut Report) {
    if inv.mode == Mode::Apply {
        let journal = Journal::load(state_dir).ok().flatten();
        let restarting = journal
            .as_ref()
            .is_some_and(|j| j.state == crate::engine::journal::RunState::Restarting);
        let wants_resume =
            inv.apply.as_ref().is_some_and(|a| a.resume_after_reboot) && report.reboot_required;
        if restarting || wants_resume {
            // The journal stays for `apply --resume`; with --resume-after-reboot the boot runs it.
            if let (true, Some(j)) = (wants_resume, journal) {
                register_resume(state_dir, j, restarting, report);
            }
        } else {
            remove_journal(state_dir, journal.as_ref(), report);
        }
    }
}

/// `--resume-after-reboot`: the one-shot `apply --resume` at the next boot, marked in the journal.
fn register_resume(state_dir: &Path, mut j: Journal, restarting: bool, report: &mut Report) {
    match crate::schedule::register_resume(state_dir) {
        Ok(msg) => {
            j.resume_registered = true;
            if !restarting {
                j.state = crate::engine::journal::RunState::AwaitingReboot;
            }
            if let Err(e) = j.save(state_dir) {
                report.warnings.push(format!("{e:#}"));
            }
            report
                .warnings
                .push(format!("restart the device: {}", msg.trim()));
        }
        Err(e) => report.warnings.push(format!(
            "no resume at the next boot: {e:#}; after the restart run `handover apply --resume`"
        )),
    }
}

/// A finished apply: its journal and any one-shot resume go.
fn remove_journal(state_dir: &Path, journal: Option<&Journal>, report: &mut Report) {
    if journal.is_some_and(|j| j.resume_registered) {
        if let Err(e) = crate::schedule::unregister_resume(state_dir) {
            report
                .warnings
                .push(format!("the one-shot resume could not be removed: {e:#}"));
        }
    }
    if let Err(e) = Journal::remove(state_dir) {
        report
            .warnings
            .push(format!("the journal could not be removed: {e:#}"));
    }
}

fn warn_without_site(setup: &Setup, report: &mut Report) {
    if setup.resolved.site.path.is_none() {
        report.warnings.push(format!(
            "no site file at {}: controls that need site values fail naming them",
            crate::support::dirs::site_file().display()
        ));
    }
}

/// Remember what was said at handover (only what the command line gave replaces state.json's).
fn remember(
    inv: &Invocation,
    state: &mut State,
    report: &Report,
    outcome: Option<&Outcome>,
    now: std::time::SystemTime,
) {
    if let Some(a) = &inv.apply {
        let [user, asset, ticket, technician] = a.gave;
        if user {
            state.user = inv.user.clone();
        }
        if asset {
            state.asset = inv.asset.clone();
        }
        if ticket {
            state.ticket = inv.ticket.clone();
        }
        if technician {
            state.technician = inv.technician.clone();
        }
    }
    if inv.mode == Mode::Apply {
        state.last_apply = Some(report.finished_at.clone());
        // Keep what is honoured (old and new); expired ones and other installations' go.
        state.attestations = inv.attestations.clone();
    }
    if let Some(o) = outcome {
        for account in &o.admin_passwords_set {
            state.admin_passwords_set.retain(|x| &x.account != account);
            state.admin_passwords_set.push(record::AdminPasswordSet {
                account: account.clone(),
                at: clock::rfc3339(now),
            });
        }
    }
}

/// The record, chained from the newest one on disk (the state was read under the run lock), then
/// signed and copied to the kit. An apply without its record is an error; a check only warns.
fn write_record(
    inv: &Invocation,
    common: &Common,
    state: &mut State,
    state_dir: &Path,
    report: &mut Report,
    outcome: Option<Outcome>,
) -> Result<()> {
    let artifacts = outcome.map(|o| o.artifacts).unwrap_or_default();
    let provenance = record::Provenance {
        kit_key: kit_key(common.kit.as_deref()),
        attestations: inv.attestations.clone(),
    };
    match record::write_with(state_dir, state, report, artifacts, provenance)
        .and_then(|p| state.save(state_dir).map(|_| p))
    {
        Ok(present) => {
            if let Some(kit) = &common.kit {
                sign_to_kit(common, kit, state_dir, &present, report);
            }
            Ok(())
        }
        Err(e) => {
            let msg = format!("no record written: {e:#}");
            if inv.mode == Mode::Apply {
                bail!(msg);
            }
            report.warnings.push(msg);
            Ok(())
        }
    }
}

/// The hex of the kit's records key, when the kit holds its private half.
fn kit_key(kit: Option<&Path>) -> Option<String> {
    kit.and_then(|k| signing::read_pubkeys(&signing::kit_pubkey_path(k)).ok())
        .filter(|_| kit.is_some_and(|k| signing::kit_key_path(k).exists()))
        .and_then(|keys| {
            keys.first()
                .map(|k| crate::support::hashing::hex(k.as_bytes()))
        })
}

/// `--kit`: sign this run's record and copy the device's records to the kit, saying what was not.
fn sign_to_kit(common: &Common, kit: &Path, state_dir: &Path, present: &Path, report: &mut Report) {
    let pass = passphrase(common.key_passphrase_file.clone());
    match signing::after_record(state_dir, kit, present, &report.device.serial, &pass) {
        Ok(Some(f)) => {
            if f.pubkey == signing::PubkeyInstall::Differs {
                report.warnings.push(format!(
                    "this device trusts another record key than {}'s: its records do not verify against the kit",
                    kit.display()
                ));
            }
            if let Some(why) = &f.not_signed {
                report.warnings.push(format!(
                    "this run's record is copied to {} unsigned ({why}): sign it on your own machine with `handover kit sign {}`",
                    f.kit_dir.display(),
                    kit.display()
                ));
            }
            if !f.unsigned.is_empty() {
                report.warnings.push(format!(
                    "{} record(s) written while the kit was away are copied unsigned, as the device's word only: {}",
                    f.unsigned.len(),
                    f.unsigned.join(", ")
                ));
            }
        }
        Ok(None) => {}
        Err(e) => report
            .warnings
            .push(format!("records not signed or copied to the kit: {e:#}")),
    }
}

/// The report as text, JSON, JUnit or HTML, on stdout or into `--out` (then the text on stderr).
fn output(
    common: &Common,
    report: &Report,
    export: Option<CheckFormat>,
    format: Format,
    out: Option<&Path>,
) -> Result<()> {
    let rendered = match (export, format) {
        (Some(CheckFormat::Junit), _) => crate::evidence::export::junit(report),
        (Some(CheckFormat::Html), _) => crate::evidence::export::html(
            report,
            &sources(common.profiles_dir.clone(), common.templates_dir.clone())?,
        )?,
        (_, Format::Json) => serde_json::to_string_pretty(report)? + "\n",
        (_, Format::Text) => report::text(report),
    };
    match out {
        Some(path) => {
            std::fs::write(path, &rendered)
                .with_context(|| format!("writing {}", path.display()))?;
            eprint!("{}", report::text_with(report, false));
        }
        None => print!("{rendered}"),
    }
    Ok(())
}

/// SPEC §3's exit code for a report.
pub(crate) fn exit_of(report: &Report, mode: Mode) -> Exit {
    let mut exit = Exit::Ok;
    if report.any_blocking() {
        exit = exit.worst(Exit::NotCompliant);
    }
    if mode == Mode::Plan && report.controls.iter().any(|c| c.plan.is_some()) {
        exit = exit.worst(Exit::NotCompliant);
    }
    if report.reboot_required {
        exit = exit.worst(Exit::Reboot);
    }
    exit
}

/// `handover plan`.
pub(crate) fn plan(common: &Common, format: Format) -> Result<Exit> {
    run_engine(Mode::Plan, common, None, format, None)
}

/// `handover check`: JUnit and HTML are JSON runs exported at the end.
pub(crate) fn check(common: &Common, format: CheckFormat, out: Option<PathBuf>) -> Result<Exit> {
    let (base, export) = match format {
        CheckFormat::Text => (Format::Text, None),
        CheckFormat::Json => (Format::Json, None),
        // Documents for machines and browsers: no progress bars, like JSON.
        other => (Format::Json, Some(other)),
    };
    if export == Some(CheckFormat::Html) {
        let s = sources(common.profiles_dir.clone(), common.templates_dir.clone())?;
        if s.template(crate::evidence::export::HTML_TEMPLATE).is_none() {
            return Err(InputError::refused(format!(
                "--format html: template {} not found (--templates-dir)",
                crate::evidence::export::HTML_TEMPLATE
            )));
        }
    }
    run_engine_as(Mode::Check, common, None, base, export, out)
}

/// `handover apply`, and `apply --resume` with the interrupted run's options.
pub(crate) fn apply(mut args: ApplyArgs) -> Result<Exit> {
    if args.resume {
        let state_dir = crate::support::dirs::state_dir();
        let Some(j) = Journal::load(&state_dir)? else {
            println!(
                "nothing to resume: no unfinished apply in {}",
                state_dir.display()
            );
            return Ok(Exit::Ok);
        };
        eprintln!(
            "resuming the apply started {} ({}); every control is checked again",
            j.started_at,
            j.progress()
        );
        resume_from(&mut args, j);
    }
    let format = args.format;
    run_engine(Mode::Apply, &args.common.clone(), Some(&args), format, None)
}
