//! `check`, `plan` and `apply`: the engine run as a short pipeline of named steps.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::cli::args::*;
use crate::cli::invocation::{one_line, setup, sources, valid_account_name, windows_name_fits};
use crate::commands::passphrase;
use crate::engine::{AdminPassword, Engine, Mode, RunOptions};
use crate::evidence::record::{self, State};
use crate::evidence::report::{self, Report};
use crate::host::facts::{self};
use crate::host::LocalHost;
use crate::inputs::profile::{self};
use crate::support::error::{Exit, InputError};
use crate::support::secrets::{self, Secrets};
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

pub(crate) fn run_engine_as(
    mode: Mode,
    common: &Common,
    apply: Option<&ApplyArgs>,
    format: Format,
    export: Option<CheckFormat>,
    out: Option<PathBuf>,
) -> Result<Exit> {
    let setup = setup(common, Some(mode))?;
    if let (Some(u), Some(a)) = (&setup.untested, apply) {
        if !a.allow_untested_release {
            return Err(InputError::refused(format!(
                "this device runs {}, newer than every profile of its distribution; the newest, {}, has not \
                 been tested on it. Check the plan, then rerun with --allow-untested-release to apply {}; \
                 nothing was changed",
                u.os, u.profile, u.profile
            )));
        }
    }
    let state_dir = record::default_state_dir();
    let mut state = State::load(&state_dir).unwrap_or_default();
    let user = common.user.clone().or_else(|| state.user.clone());
    if let Some(u) = &user {
        valid_account_name(u, "--user")?;
        windows_name_fits(
            u,
            &setup.resolved.profile.os_match.family,
            setup
                .resolved
                .site
                .get("accounts.admin_suffix")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("-admin"),
        )?;
    }
    let (asset, ticket, technician) = match apply {
        Some(a) => (a.asset.clone(), a.ticket.clone(), a.technician.clone()),
        None => (None, None, None),
    };
    for (v, flag) in [
        (&asset, "--asset"),
        (&ticket, "--ticket"),
        (&technician, "--technician"),
    ] {
        one_line(v, flag)?;
    }
    let asset = asset.or_else(|| state.asset.clone());
    let ticket = ticket.or_else(|| state.ticket.clone());
    let technician = technician.or_else(|| state.technician.clone());

    // Attestations: those still honoured on this installation, and the ones given now.
    let install_id = facts::install_id();
    let attest_now = clock::now()?;
    // Once records are signed (a kit key is known: the kit's, else the one the device was given), an
    // attestation counts only from a signed record: one added to state.json alone is not honoured (F2).
    let record_key =
        crate::evidence::signing::default_pubkey(common.kit.as_deref()).or_else(|| {
            Some(crate::evidence::signing::device_pubkey_path(&state_dir)).filter(|p| p.is_file())
        });
    let remembered = match &record_key {
        Some(key) => crate::evidence::signing::signed_attestations(
            &state_dir.join("records"),
            key,
            &install_id,
        )
        .unwrap_or_default(),
        None => state.attestations.clone(),
    };
    let mut attestations: Vec<record::Attestation> = remembered
        .into_iter()
        .filter(|a| a.valid(attest_now, &install_id))
        .collect();
    if let Some(a) = apply {
        for id in &a.attest {
            let Some(info) = profile::control_info(id) else {
                return Err(InputError::refused(format!(
                    "--attest {id}: unknown control (known: {})",
                    profile::control_ids().join(", ")
                )));
            };
            let Some(by) = &technician else {
                return Err(InputError::refused(
                    "--attest needs --technician NAME: an attestation says who confirmed it",
                ));
            };
            attestations.retain(|x| &x.control != id);
            attestations.push(record::Attestation {
                control: id.clone(),
                by: by.clone(),
                at: clock::rfc3339(attest_now),
                text: format!("confirmed by the technician: {}", info.title),
                install_id: install_id.clone(),
            });
        }
    }

    let mut admin_password = AdminPassword::None;
    if let Some(a) = apply {
        if !perms::is_root() {
            return Err(InputError::refused(
                "apply changes the system and must run as root (sudo handover apply …)",
            ));
        }
        let selected = |id: &str| common.only.is_empty() || common.only.iter().any(|o| o == id);
        if user.is_none()
            && (selected("accounts.separate-admin") || selected("accounts.admin-builtin"))
        {
            return Err(InputError::refused(
                "apply needs --user NAME, the device's named user, at handover (later runs remember it); nothing changed",
            ));
        }
        // SPEC §3: a key that a selected control needs and the site lacks stops apply before any change.
        let missing: Vec<String> = setup
            .resolved
            .controls
            .iter()
            .filter(|p| common.only.is_empty() || common.only.contains(&p.control.id))
            .flat_map(|p| {
                p.missing
                    .iter()
                    .map(move |k| format!("{} needs `{k}`", p.control.id))
            })
            .collect();
        if !missing.is_empty() {
            return Err(InputError::refused(format!(
                "{}: site keys missing, nothing changed: {}",
                setup.resolved.site.describe(),
                missing.join("; ")
            )));
        }
        admin_password = match &a.admin_password_file {
            Some(f) => AdminPassword::Given(
                secrets::read_password_file(f)
                    .map_err(|e| InputError::Refused(format!("{e:#}")))?,
            ),
            None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
                AdminPassword::GenerateOnTty
            }
            None => AdminPassword::None,
        };
        if !a.yes {
            if !std::io::stdin().is_terminal() {
                return Err(InputError::refused(
                    "apply needs --yes when it is not run on a terminal",
                ));
            }
            eprint!(
                "Apply profile {} to {} (user {})? Only controls that fail are changed. [y/N] ",
                setup.resolved.profile.name,
                setup.device.hostname,
                user.as_deref().unwrap_or("not named")
            );
            std::io::stderr().flush().ok();
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                eprintln!("nothing changed");
                return Ok(Exit::Error);
            }
        }
    }

    // The kit's package repository, through a private apt configuration that lives for this run.
    let kit_work = tempfile::Builder::new().prefix("handover-kit-").tempdir()?;
    let apply_env = match &common.kit {
        Some(kit) if setup.matches_device => {
            crate::artifacts::kit::package_env(kit, &setup.resolved.profile, kit_work.path())?
        }
        _ => vec![],
    };
    let now = clock::now()?;
    let mut secrets = Secrets::default();
    for (k, v) in &setup.resolved.site.secrets {
        crate::evidence::redact::add_secret(&mut secrets, k, v);
    }
    let opts = RunOptions {
        mode,
        only: common.only.clone(),
        user: user.clone(),
        asset: asset.clone(),
        ticket: ticket.clone(),
        technician: technician.clone(),
        // The first apply on a device is its handover; later ones repair drift, unless told otherwise.
        reason: apply.map(|a| {
            a.reason.map_or_else(
                || {
                    if state.last_apply.is_some() {
                        "drift"
                    } else {
                        "handover"
                    }
                    .to_string()
                },
                |r| r.as_str().to_string(),
            )
        }),
        force_remote: apply.is_some_and(|a| a.force_remote),
        admin_password,
        ssh_connection: facts::ssh_connection(),
        now,
        state_dir: state_dir.clone(),
        cache_dir: common
            .kit
            .as_ref()
            .map_or_else(crate::artifacts::default_cache_dir, |k| k.join("artifacts")),
        apply_env,
        attestations: attestations.clone(),
        journal_dir: (mode == Mode::Apply).then(|| state_dir.clone()),
        detect_reboot: setup.matches_device,
        admin_passwords_set: state
            .admin_passwords_set
            .iter()
            .map(|a| a.account.clone())
            .collect(),
        profile_matches_device: setup.matches_device,
        progress: format == Format::Text,
    };
    // One run at a time: a second check or apply refuses rather than interleaving (held until exit).
    let mut lock_warning = None;
    let _lock = match mode {
        Mode::Plan => None,
        Mode::Apply => Some(crate::engine::journal::RunLock::acquire(
            &state_dir, "apply",
        )?),
        // A check by a user who cannot write the state directory still checks (no record then).
        Mode::Check => match crate::engine::journal::RunLock::acquire(&state_dir, "check") {
            Ok(l) => Some(l),
            Err(e) if e.downcast_ref::<InputError>().is_some() => return Err(e),
            Err(e) => {
                lock_warning = Some(format!("{e:#}"));
                None
            }
        },
    };
    let mut early_warnings = Vec::new();
    let mut reboot_before = None;
    if mode == Mode::Apply {
        let previous = crate::engine::journal::Journal::load(&state_dir)?;
        let resume_registered = previous.as_ref().is_some_and(|j| j.resume_registered);
        if let Some(j) = previous {
            if !apply.is_some_and(|a| a.resume) {
                early_warnings.push(format!(
                    "an earlier apply (started {}) did not finish ({}); this run checks every control again",
                    j.started_at,
                    j.progress()
                ));
            }
        }
        if setup.matches_device {
            reboot_before = crate::host::Host::reboot_pending(&LocalHost);
        }
        // The pre-flight write: a read-only or full state directory stops here, before any change.
        let only: Vec<String> = common.only.clone();
        let journal = crate::engine::journal::Journal {
            started_at: clock::rfc3339(now),
            profile: setup.resolved.profile.name.clone(),
            site: setup.resolved.site.path.clone(),
            kit: common.kit.clone(),
            only: only.clone(),
            user: opts.user.clone(),
            asset: opts.asset.clone(),
            ticket: opts.ticket.clone(),
            technician: opts.technician.clone(),
            reason: opts.reason.clone(),
            state: "running".into(),
            controls: setup
                .resolved
                .controls
                .iter()
                .filter(|p| only.is_empty() || only.contains(&p.control.id))
                .map(|p| (p.control.id.clone(), "pending".to_string()))
                .collect(),
            resume_registered,
        };
        journal
            .save(&state_dir)
            .map_err(|e| InputError::Refused(format!("{e:#}; nothing was changed")))?;
    }
    let engine = Engine {
        resolved: &setup.resolved,
        device: &setup.device,
        host: &LocalHost,
        opts,
        secrets,
    };
    let (mut report, outcome) = match mode {
        Mode::Apply => {
            let o = engine.apply();
            (o.report.clone().expect("apply reports"), Some(o))
        }
        _ => (engine.check(), None),
    };
    // On a terminal, the technician confirms each control handover could not read.
    if let Some(a) = apply {
        let ask = !a.yes
            && format == Format::Text
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal();
        let manual: Vec<usize> = (0..report.controls.len())
            .filter(|&i| report.controls[i].status == report::Status::Manual)
            .collect();
        if ask && !manual.is_empty() {
            match &technician {
                None => report.warnings.push(
                    "give --technician NAME to confirm the controls handover cannot read".into(),
                ),
                Some(by) => {
                    for i in manual {
                        let c = &mut report.controls[i];
                        eprint!(
                            "{} ({}): {}\nConfirm, as {by}, that this is in place? [y/N] ",
                            c.id,
                            c.title,
                            crate::support::textsafe::one_line(&c.reason)
                        );
                        let mut answer = String::new();
                        std::io::stdin().read_line(&mut answer)?;
                        if matches!(answer.trim(), "y" | "Y" | "yes") {
                            let at = attest_now;
                            let att = record::Attestation {
                                control: c.id.clone(),
                                by: by.clone(),
                                at: clock::rfc3339(at),
                                text: format!("confirmed by the technician: {}", c.title),
                                install_id: install_id.clone(),
                            };
                            c.status = report::Status::Pass;
                            c.reason =
                                format!("attested by {} on {}: {}", att.by, att.at, att.text);
                            c.attestation = Some(
                                serde_json::json!({"by": att.by, "at": att.at, "text": att.text}),
                            );
                            attestations.retain(|x| x.control != att.control);
                            attestations.push(att);
                        }
                    }
                    report.summary =
                        report::Report::summarise(&report.controls, report.scope == "partial");
                }
            }
        }
    }
    if let Some(u) = &setup.untested {
        report.warnings.push(format!(
            "untested release: this device runs {}, newer than every profile; profile {} (its distribution's newest) was used",
            u.os, u.profile
        ));
        report.untested_release = Some(u.clone());
    }
    report.warnings.extend(early_warnings);
    report.warnings.extend(lock_warning);
    if let Some(why) = &reboot_before {
        report.reboot_required = true;
        report.warnings.push(format!(
            "a reboot was already pending before this apply ({why}): restart, then run check"
        ));
    }
    if mode == Mode::Apply {
        let journal = crate::engine::journal::Journal::load(&state_dir)
            .ok()
            .flatten();
        let restarting = journal.as_ref().is_some_and(|j| j.state == "restarting");
        let wants_resume = apply.is_some_and(|a| a.resume_after_reboot) && report.reboot_required;
        if restarting || wants_resume {
            // The journal stays for `apply --resume`; with --resume-after-reboot the boot runs it.
            if let (true, Some(mut j)) = (wants_resume, journal) {
                match crate::schedule::register_resume(&state_dir) {
                    Ok(msg) => {
                        j.resume_registered = true;
                        if !restarting {
                            j.state = "awaiting-reboot".into();
                        }
                        if let Err(e) = j.save(&state_dir) {
                            report.warnings.push(format!("{e:#}"));
                        }
                        report.warnings.push(format!("restart the device: {}", msg.trim()));
                    }
                    Err(e) => report.warnings.push(format!(
                        "no resume at the next boot: {e:#}; after the restart run `handover apply --resume`"
                    )),
                }
            }
        } else {
            if journal.as_ref().is_some_and(|j| j.resume_registered) {
                if let Err(e) = crate::schedule::unregister_resume(&state_dir) {
                    report
                        .warnings
                        .push(format!("the one-shot resume could not be removed: {e:#}"));
                }
            }
            if let Err(e) = crate::engine::journal::Journal::remove(&state_dir) {
                report
                    .warnings
                    .push(format!("the journal could not be removed: {e:#}"));
            }
        }
    }
    if setup.resolved.site.path.is_none() {
        report.warnings.push(format!(
            "no site file at {}: controls that need site values fail naming them",
            crate::support::dirs::site_file().display()
        ));
    }

    // Remember what was said at handover, and write the record.
    if mode != Mode::Plan {
        if let Some(a) = apply {
            if common.user.is_some() {
                state.user = user.clone();
            }
            if a.asset.is_some() {
                state.asset = asset.clone();
            }
            if a.ticket.is_some() {
                state.ticket = ticket.clone();
            }
            if a.technician.is_some() {
                state.technician = technician.clone();
            }
        }
        if mode == Mode::Apply {
            state.last_apply = Some(report.finished_at.clone());
            // Keep what is honoured (old and new); expired ones and other installations' go.
            state.attestations = attestations.clone();
        }
        if let Some(o) = &outcome {
            for account in &o.admin_passwords_set {
                state.admin_passwords_set.retain(|x| &x.account != account);
                state.admin_passwords_set.push(record::AdminPasswordSet {
                    account: account.clone(),
                    at: clock::rfc3339(now),
                });
            }
        }
        let artifacts = outcome
            .as_ref()
            .map(|o| o.artifacts.clone())
            .unwrap_or_default();
        // The chain continues from the newest record on disk (read under the run lock), not from the
        // state loaded before the lock was taken.
        if let Ok(now_on_disk) = State::load(&state_dir) {
            state.last_record = now_on_disk.last_record;
        }
        let provenance = record::Provenance {
            kit_key: common
                .kit
                .as_deref()
                .and_then(|k| {
                    crate::evidence::signing::read_pubkeys(
                        &crate::evidence::signing::kit_pubkey_path(k),
                    )
                    .ok()
                })
                .filter(|_| {
                    common
                        .kit
                        .as_deref()
                        .is_some_and(|k| crate::evidence::signing::kit_key_path(k).exists())
                })
                .and_then(|keys| {
                    keys.first()
                        .map(|k| crate::support::hashing::hex(k.as_bytes()))
                }),
            attestations: attestations.clone(),
        };
        match record::write_with(&state_dir, &mut state, &report, artifacts, provenance)
            .and_then(|p| state.save(&state_dir).map(|_| p))
        {
            Ok(present) => {
                if let Some(kit) = &common.kit {
                    let pass = passphrase(common.key_passphrase_file.clone());
                    match crate::evidence::signing::after_record(
                        &state_dir,
                        kit,
                        &present,
                        &report.device.serial,
                        &pass,
                    ) {
                        Ok(Some(f)) => {
                            if f.pubkey == crate::evidence::signing::PubkeyInstall::Differs {
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
            }
            Err(e) => {
                let msg = format!("no record written: {e:#}");
                if mode == Mode::Apply {
                    bail!(msg);
                }
                report.warnings.push(msg);
            }
        }
    }

    let rendered = match (export, format) {
        (Some(CheckFormat::Junit), _) => crate::evidence::export::junit(&report),
        (Some(CheckFormat::Html), _) => crate::evidence::export::html(
            &report,
            &sources(common.profiles_dir.clone(), common.templates_dir.clone())?,
        )?,
        (_, Format::Json) => serde_json::to_string_pretty(&report)? + "\n",
        (_, Format::Text) => report::text(&report),
    };
    match &out {
        Some(path) => {
            std::fs::write(path, &rendered)
                .with_context(|| format!("writing {}", path.display()))?;
            eprint!("{}", report::text_with(&report, false));
        }
        None => print!("{rendered}"),
    }
    Ok(exit_of(&report, mode))
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
