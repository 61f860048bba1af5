//! Stage 2 of the command line: the parsed arguments, checked against this device, its profile and
//! site, before any prompt, lock or write.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::ValueEnum;

use crate::cli::args::*;
use crate::engine::Mode;
use crate::host::facts::Device;
use crate::host::LocalHost;
use crate::inputs::profile::{self, Sources, UntestedRelease};
use crate::inputs::site::Site;
use crate::plan::Resolved;
use crate::support::error::InputError;
use crate::support::perms;

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
    let resolved = Resolved::new(&sources, profile, site)?;
    Ok(Setup {
        device,
        resolved,
        matches_device,
        untested,
    })
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
}
