//! Stage 2 of the command line: the parsed arguments, checked against this device, its profile and
//! site, before any prompt, lock or write.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Result;
use clap::ValueEnum;

use crate::cli::args::*;
use crate::engine::{AdminPassword, Mode};
use crate::evidence::record::{self, State};
use crate::host::facts::Device;
use crate::host::LocalHost;
use crate::inputs::profile::{self, Sources, UntestedRelease};
use crate::inputs::site::Site;
use crate::plan::{Purpose, Resolved};
use crate::support::error::InputError;
use crate::support::secrets;
use crate::support::{clock, perms};

pub(crate) fn sources(
    profiles_dir: Option<PathBuf>,
    templates_dir: Option<PathBuf>,
) -> Result<Sources> {
    for (d, what) in [
        (&profiles_dir, "profiles directory"),
        (&templates_dir, "templates directory"),
    ] {
        if let Some(d) = d {
            if !d.is_dir() {
                return Err(InputError::refused(format!(
                    "{what} {}: not a directory",
                    d.display()
                )));
            }
            perms::require_trusted_tree(d, what)?;
        }
    }
    Ok(Sources {
        profiles_dir,
        templates_dir,
    })
}

pub(crate) fn load_site(path: Option<&Path>) -> Result<Site> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (crate::support::dirs::site_file(), false),
    };
    if path.exists() {
        perms::require_trusted(&path, "site file")?;
    } else if required {
        return Err(InputError::refused(format!(
            "{}: site file not found",
            path.display()
        )));
    }
    Ok(Site::load(&path, required, &profile::control_ids())?)
}

/// The validated setup of `plan`, `check`, `apply` and `render`.
pub(crate) struct Setup {
    pub(crate) device: Device,
    pub(crate) resolved: Resolved,
    pub(crate) matches_device: bool,
    /// Set when this device's release is newer than every profile of its distribution.
    pub(crate) untested: Option<UntestedRelease>,
}

pub(crate) fn setup(common: &Common, mode: Option<Mode>) -> Result<Setup> {
    let sources = sources(common.profiles_dir.clone(), common.templates_dir.clone())?;
    let device = crate::host::Host::facts(&LocalHost);
    let (profile, untested) = match &common.profile {
        Some(name) => {
            let profile = sources.load(name)?;
            let untested = if profile.matches(&device.os) {
                None
            } else {
                sources.untested_for(&profile, &device.os)
            };
            (profile, untested)
        }
        None => sources.select(&device.os).ok_or_else(|| {
            InputError::Refused(format!(
                "no profile matches this device ({} {}, {}); choose one with --profile (see `handover profiles list`)",
                device.os.id, device.os.version, device.os.family
            ))
        })?,
    };
    // An untested release runs its distribution's newest profile against this device (SPEC §3).
    let matches_device = profile.matches(&device.os) || untested.is_some();
    if !matches_device && matches!(mode, Some(Mode::Check | Mode::Apply)) {
        return Err(InputError::refused(format!(
            "profile {} is for {} {}, but this device runs {} {}: refusing to {}",
            profile.name,
            profile.os_match.family,
            profile.os_match.ids.join("/"),
            device.os.id,
            device.os.version,
            mode.map_or("", Mode::as_str)
        )));
    }
    for id in &common.only {
        if profile::control_info(id).is_none() {
            return Err(InputError::refused(format!(
                "--only {id}: unknown control (known: {})",
                profile::control_ids().join(", ")
            )));
        }
    }
    let site_path = match (&common.site, &common.kit) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(kit)) => Some(kit.join(crate::artifacts::kit::SITE)),
        (None, None) => None,
    };
    if let Some(kit) = &common.kit {
        // Every byte, every time: a kit that changed since it was built is refused before anything runs.
        perms::require_trusted(kit, "kit")?;
        let v = crate::artifacts::kit::verify(kit)?;
        if !v.problems.is_empty() {
            let list: Vec<String> = v.problems.iter().map(ToString::to_string).collect();
            return Err(InputError::refused(format!(
                "the kit {} does not match its MANIFEST.sha256 ({}); run `handover kit verify {}`; nothing was changed",
                kit.display(),
                list.join("; "),
                kit.display()
            )));
        }
    }
    let site = load_site(site_path.as_deref())?;
    let resolved = Resolved::for_purpose(&sources, profile, site, purpose_of(mode))?;
    Ok(Setup {
        device,
        resolved,
        matches_device,
        untested,
    })
}

/// What a command does with its plan: `check` runs only the checks, so only they are compiled and
/// rendered; `apply` needs the changes, and `plan` and `render` (no mode) show them.
fn purpose_of(mode: Option<Mode>) -> Purpose {
    match mode {
        Some(Mode::Check) => Purpose::Check,
        Some(Mode::Plan | Mode::Apply) | None => Purpose::Everything,
    }
}

/// Windows takes local account names of at most 20 characters (learn.microsoft.com, "User Name"
/// policy and `net user`; New-LocalUser fails beyond it): the separate admin USER + suffix must fit.
pub(crate) fn windows_name_fits(user: &str, family: &str, suffix: &str) -> Result<()> {
    let admin = format!("{user}{suffix}");
    if family == "windows" && admin.chars().count() > 20 {
        return Err(InputError::refused(format!(
            "--user {user:?}: the separate admin would be {admin:?}, {} characters; Windows account names take at most 20 (shorten the user name or the site's accounts.admin_suffix); nothing was changed",
            admin.chars().count()
        )));
    }
    Ok(())
}

pub(crate) fn valid_account_name(name: &str, flag: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(InputError::refused(format!(
            "{flag} {name:?}: not a valid account name (lower-case letters, digits, . _ -)"
        )))
    }
}

pub(crate) fn one_line(value: &Option<String>, flag: &str) -> Result<()> {
    if let Some(v) = value {
        if v.chars().any(char::is_control) || v.len() > 200 {
            return Err(InputError::refused(format!(
                "{flag}: must be one line of at most 200 characters"
            )));
        }
    }
    Ok(())
}

/// `apply --resume`: the interrupted run's options, where the command line does not give them.
pub(crate) fn resume_from(args: &mut ApplyArgs, j: crate::engine::journal::Journal) {
    let c = &mut args.common;
    c.profile = c.profile.take().or(Some(j.profile));
    c.site = c.site.take().or(j.site);
    c.kit = c.kit.take().or(j.kit);
    if c.only.is_empty() {
        c.only = j.only;
    }
    c.user = c.user.take().or(j.user);
    args.asset = args.asset.take().or(j.asset);
    args.ticket = args.ticket.take().or(j.ticket);
    args.technician = args.technician.take().or(j.technician);
    if args.reason.is_none() {
        args.reason = j
            .reason
            .as_deref()
            .and_then(|r| Reason::from_str(r, true).ok());
    }
}

/// What the device and the clock say that stage 2 needs, read once by the caller so that
/// [`Invocation::new`] stays pure.
pub(crate) struct Surroundings {
    pub(crate) is_root: bool,
    pub(crate) stdin_tty: bool,
    pub(crate) stderr_tty: bool,
    pub(crate) install_id: String,
    pub(crate) now: SystemTime,
    /// The attestations this device remembers (from signed records once records are signed, F2).
    pub(crate) remembered: Vec<record::Attestation>,
}

/// What the profile and the site need from the command line: the OS family, the admin suffix and
/// the site keys the selected controls lack.
pub(crate) struct Target {
    pub(crate) family: String,
    pub(crate) admin_suffix: String,
    /// `CONTROL needs `KEY``, for the selected controls only (SPEC §3).
    pub(crate) missing_keys: Vec<String>,
    pub(crate) site: String,
}

impl Target {
    pub(crate) fn of(setup: &Setup, only: &[String]) -> Target {
        let resolved = &setup.resolved;
        Target {
            family: resolved.profile.os_match.family.clone(),
            admin_suffix: resolved
                .site
                .get("accounts.admin_suffix")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("-admin")
                .to_string(),
            missing_keys: resolved
                .controls
                .iter()
                .filter(|p| only.is_empty() || only.contains(&p.control.id))
                .flat_map(|p| {
                    crate::plan::missing_site_keys(&p.control, &resolved.site)
                        .into_iter()
                        .map(move |k| format!("{} needs `{k}`", p.control.id))
                })
                .collect(),
            site: resolved.site.describe(),
        }
    }
}

/// A validated `plan`, `check` or `apply`: who, what and how, with the remembered values filled in.
pub(crate) struct Invocation {
    pub(crate) mode: Mode,
    pub(crate) format: Format,
    pub(crate) only: Vec<String>,
    pub(crate) user: Option<String>,
    pub(crate) asset: Option<String>,
    pub(crate) ticket: Option<String>,
    pub(crate) technician: Option<String>,
    /// Those still honoured on this installation, and the ones given now with `--attest`.
    pub(crate) attestations: Vec<record::Attestation>,
    pub(crate) install_id: String,
    /// When an attestation given in this run is dated.
    pub(crate) attest_now: SystemTime,
    pub(crate) apply: Option<ApplyInvocation>,
}

/// What only `apply` has.
pub(crate) struct ApplyInvocation {
    /// Ask `[y/N]` before changing anything (no `--yes`).
    pub(crate) confirm: bool,
    /// On a terminal, ask the technician about each control handover could not read.
    pub(crate) ask_attest: bool,
    pub(crate) reason: String,
    pub(crate) force_remote: bool,
    pub(crate) admin_password: AdminPassword,
    pub(crate) resume: bool,
    pub(crate) resume_after_reboot: bool,
    /// Which of user, asset, ticket and technician the command line gave (they replace state.json's).
    pub(crate) gave: [bool; 4],
}

impl Invocation {
    /// Stage 2: the arguments checked, in the order the technician reads the refusals, before any
    /// prompt, change or record.
    pub(crate) fn new(
        mode: Mode,
        format: Format,
        common: &Common,
        apply: Option<&ApplyArgs>,
        target: &Target,
        state: &State,
        s: Surroundings,
    ) -> Result<Invocation> {
        let user = common.user.clone().or_else(|| state.user.clone());
        if let Some(u) = &user {
            valid_account_name(u, "--user")?;
            windows_name_fits(u, &target.family, &target.admin_suffix)?;
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
        let attestations = attestations(apply, technician.as_deref(), &s)?;
        let apply = match apply {
            Some(a) => Some(ApplyInvocation::new(
                a,
                common,
                format,
                target,
                state,
                user.is_some(),
                &s,
            )?),
            None => None,
        };
        Ok(Invocation {
            mode,
            format,
            only: common.only.clone(),
            user,
            asset,
            ticket,
            technician,
            attestations,
            install_id: s.install_id,
            attest_now: s.now,
            apply,
        })
    }
}

/// The remembered attestations still valid here, plus those of `--attest` (each needs a technician).
fn attestations(
    apply: Option<&ApplyArgs>,
    technician: Option<&str>,
    s: &Surroundings,
) -> Result<Vec<record::Attestation>> {
    let mut attestations: Vec<record::Attestation> = s
        .remembered
        .iter()
        .filter(|a| a.valid(s.now, &s.install_id))
        .cloned()
        .collect();
    for id in apply.map_or(&[][..], |a| &a.attest[..]) {
        let Some(info) = profile::control_info(id) else {
            return Err(InputError::refused(format!(
                "--attest {id}: unknown control (known: {})",
                profile::control_ids().join(", ")
            )));
        };
        let Some(by) = technician else {
            return Err(InputError::refused(
                "--attest needs --technician NAME: an attestation says who confirmed it",
            ));
        };
        attestations.retain(|x| &x.control != id);
        attestations.push(record::Attestation {
            control: id.clone(),
            by: by.to_string(),
            at: clock::rfc3339(s.now),
            text: format!("confirmed by the technician: {}", info.title),
            install_id: s.install_id.clone(),
        });
    }
    Ok(attestations)
}

/// `apply` changes the system: it runs as root (checked before the run lock is taken, too).
pub(crate) fn refuse_unless_root(is_root: bool) -> Result<()> {
    if is_root {
        Ok(())
    } else {
        Err(InputError::refused(
            "apply changes the system and must run as root (sudo handover apply …)",
        ))
    }
}

/// An untested release is applied only with `--allow-untested-release` (SPEC §3).
pub(crate) fn refuse_untested_apply(setup: &Setup, apply: Option<&ApplyArgs>) -> Result<()> {
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
    Ok(())
}

impl ApplyInvocation {
    fn new(
        a: &ApplyArgs,
        common: &Common,
        format: Format,
        target: &Target,
        state: &State,
        has_user: bool,
        s: &Surroundings,
    ) -> Result<ApplyInvocation> {
        refuse_unless_root(s.is_root)?;
        let selected = |id: &str| common.only.is_empty() || common.only.iter().any(|o| o == id);
        if !has_user && (selected("accounts.separate-admin") || selected("accounts.admin-builtin"))
        {
            return Err(InputError::refused(
                "apply needs --user NAME, the device's named user, at handover (later runs remember it); nothing changed",
            ));
        }
        // SPEC §3: a key that a selected control needs and the site lacks stops apply before any change.
        if !target.missing_keys.is_empty() {
            return Err(InputError::refused(format!(
                "{}: site keys missing, nothing changed: {}",
                target.site,
                target.missing_keys.join("; ")
            )));
        }
        let admin_password = match &a.admin_password_file {
            Some(f) => AdminPassword::Given(
                secrets::read_password_file(f)
                    .map_err(|e| InputError::Refused(format!("{e:#}")))?,
            ),
            None if s.stdin_tty && s.stderr_tty => AdminPassword::GenerateOnTty,
            None => AdminPassword::None,
        };
        if !a.yes && !s.stdin_tty {
            return Err(InputError::refused(
                "apply needs --yes when it is not run on a terminal",
            ));
        }
        // The first apply on a device is its handover; later ones repair drift, unless told otherwise.
        let reason = match a.reason {
            Some(r) => r.as_str(),
            None if state.last_apply.is_some() => "drift",
            None => "handover",
        };
        Ok(ApplyInvocation {
            confirm: !a.yes,
            ask_attest: !a.yes && format == Format::Text && s.stdin_tty && s.stderr_tty,
            reason: reason.to_string(),
            force_remote: a.force_remote,
            admin_password,
            resume: a.resume,
            resume_after_reboot: a.resume_after_reboot,
            gave: [
                common.user.is_some(),
                a.asset.is_some(),
                a.ticket.is_some(),
                a.technician.is_some(),
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_windows_separate_admin_name_fits_in_20_characters() {
        let fits = |u: &str, fam: &str, suf: &str| super::windows_name_fits(u, fam, suf).is_ok();
        assert!(fits("jdoe", "windows", "-admin"));
        assert!(fits("abcdefghijklmn", "windows", "-admin")); // exactly 20
        assert!(!fits("abcdefghijklmno", "windows", "-admin"));
        // Linux and macOS take longer names.
        assert!(fits("jane.longname-smith", "linux", "-admin"));
        let e = super::windows_name_fits("jane.longname-smith", "windows", "-admin")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"jane.longname-smith-admin\", 25 characters") && e.contains("at most 20"),
            "{e}"
        );
    }

    #[test]
    fn only_check_plans_for_checking_alone() {
        use crate::plan::Purpose;
        // An apply planned for checking would find no apply script anywhere and change nothing.
        assert_eq!(super::purpose_of(Some(Mode::Check)), Purpose::Check);
        for mode in [Some(Mode::Apply), Some(Mode::Plan), None] {
            assert_eq!(super::purpose_of(mode), Purpose::Everything, "{mode:?}");
        }
    }

    use super::{Invocation, Surroundings, Target};
    use crate::cli::args::{Cli, Command};
    use crate::engine::Mode;
    use crate::evidence::record::State;
    use clap::Parser;

    fn surroundings(is_root: bool, tty: bool) -> Surroundings {
        Surroundings {
            is_root,
            stdin_tty: tty,
            stderr_tty: tty,
            install_id: "install-1".into(),
            now: humantime::parse_rfc3339("2026-12-06T10:00:00Z").unwrap(),
            remembered: vec![],
        }
    }

    fn target(family: &str, missing: &[&str]) -> Target {
        Target {
            family: family.into(),
            admin_suffix: "-admin".into(),
            missing_keys: missing.iter().map(ToString::to_string).collect(),
            site: "site.toml".into(),
        }
    }

    /// Stage 2 of `handover ARGS…` on a device with this state, as root (or not), on a terminal (or not).
    fn stage2(
        args: &str,
        state: &State,
        root: bool,
        tty: bool,
        t: &Target,
    ) -> Result<Invocation, String> {
        let argv = std::iter::once("handover").chain(args.split_whitespace());
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        let r = match &cli.command {
            Command::Apply(a) => Invocation::new(
                Mode::Apply,
                a.format,
                &a.common,
                Some(a),
                t,
                state,
                surroundings(root, tty),
            ),
            Command::Check { common, .. } => Invocation::new(
                Mode::Check,
                crate::cli::args::Format::Text,
                common,
                None,
                t,
                state,
                surroundings(root, tty),
            ),
            _ => panic!("not a run: {args}"),
        };
        r.map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn stage_two_refuses_each_bad_argument_set_with_its_message() {
        let none = State::default();
        let linux = target("linux", &[]);
        let refused = [
            ("check --user Bad", "--user \"Bad\": not a valid account name (lower-case letters, digits, . _ -)"),
            ("apply --yes --user jdoe --asset a\u{7}b", "--asset: must be one line of at most 200 characters"),
            ("apply --yes --user jdoe --attest nope.nope", "--attest nope.nope: unknown control (known: "),
            ("apply --yes --user jdoe --attest accounts.separate-admin", "--attest needs --technician NAME: an attestation says who confirmed it"),
            ("apply --yes", "apply needs --user NAME, the device's named user, at handover (later runs remember it); nothing changed"),
            ("apply --user jdoe", "apply needs --yes when it is not run on a terminal"),
        ];
        for (args, want) in refused {
            let e = stage2(args, &none, true, false, &linux)
                .err()
                .unwrap_or_default();
            assert!(e.starts_with(want), "{args}: {e}");
        }
        let e = stage2("apply --yes --user jdoe", &none, false, false, &linux)
            .err()
            .unwrap_or_default();
        assert_eq!(
            e,
            "apply changes the system and must run as root (sudo handover apply …)"
        );
        let e = stage2(
            "apply --yes --user jdoe",
            &none,
            true,
            false,
            &target("linux", &["a needs `k`"]),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            e,
            "site.toml: site keys missing, nothing changed: a needs `k`"
        );
        let e = stage2(
            "check --user abcdefghijklmno",
            &none,
            false,
            false,
            &target("windows", &[]),
        )
        .err()
        .unwrap_or_default();
        assert!(e.contains("at most 20"), "{e}");
    }

    #[test]
    fn stage_two_fills_in_what_state_remembers_and_dates_attestations() {
        let state = State {
            user: Some("jdoe".into()),
            technician: Some("ann".into()),
            last_apply: Some("2026-01-01T00:00:00Z".into()),
            ..State::default()
        };
        let linux = target("linux", &[]);
        let inv = stage2(
            "apply --yes --attest accounts.separate-admin",
            &state,
            true,
            false,
            &linux,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inv.user.as_deref(), Some("jdoe"));
        assert_eq!(inv.technician.as_deref(), Some("ann"));
        let a = inv.apply.as_ref().unwrap();
        assert_eq!(a.reason, "drift");
        assert!(!a.confirm && !a.ask_attest);
        assert_eq!(a.gave, [false, false, false, false]);
        assert_eq!(inv.attestations.len(), 1);
        assert_eq!(inv.attestations[0].by, "ann");
        assert_eq!(inv.attestations[0].at, "2026-12-06T10:00:00Z");
        // The first apply is the handover; on a terminal without --yes it asks.
        let inv = stage2(
            "apply --user jdoe --reason reinstall",
            &State::default(),
            true,
            true,
            &linux,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let a = inv.apply.as_ref().unwrap();
        assert_eq!(a.reason, "reinstall");
        assert!(a.confirm && a.ask_attest);
        assert_eq!(a.gave, [true, false, false, false]);
        // A check is neither root nor a terminal matter.
        assert!(stage2("check", &state, false, false, &linux).is_ok());
    }
}
