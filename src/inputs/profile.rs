//! Profiles (SPEC §5): one TOML file per OS release family, with `extends` for shared parts, saying for
//! every control of SPEC §2 how it is checked and applied on that OS, or why it is not applicable.
//!
//! Profiles and templates are embedded in the binary; `--profiles-dir` and `--templates-dir` replace them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::host::facts::Os;
pub use crate::inputs::assets::Sources;
use crate::inputs::textpos::parse_toml;
use crate::support::error::InputError;

/// One control of SPEC §2: its fixed id, a title and the ITP07 section it enforces.
pub struct ControlInfo {
    pub id: &'static str,
    pub title: &'static str,
    pub policy: &'static str,
}

/// Every control, in the order `apply` changes them. The order is a safety rule (SPEC §7): the separate
/// admin account is created and verified before root is locked or the user demoted, and the firewall's
/// allow rules exist before inbound default-deny is switched on.
pub const CONTROLS: &[ControlInfo] = &[
    ControlInfo {
        id: "os.supported",
        title: "Operating system still receives security updates",
        policy: "ITP07 7.1.1",
    },
    ControlInfo {
        id: "accounts.separate-admin",
        title: "User works without admin rights; a separate admin account exists",
        policy: "ITP07 7.1.2",
    },
    ControlInfo {
        id: "accounts.admin-builtin",
        title: "Built-in administrator renamed and disabled / root locked",
        policy: "ITP07 7.1.2",
    },
    ControlInfo {
        id: "accounts.guest",
        title: "Built-in guest disabled, no guest sessions",
        policy: "ITP07 7.1.2",
    },
    ControlInfo {
        id: "accounts.password-policy",
        title: "Strong password policy, no empty passwords",
        policy: "ITP07 7.1.2",
    },
    ControlInfo {
        id: "accounts.allowed",
        title: "No interactive accounts but the user's, its admin's and the site's",
        policy: "ITP07 7.1.2",
    },
    ControlInfo {
        id: "firmware.password",
        title: "BIOS/UEFI admin password set",
        policy: "ITP07 7.1.2",
    },
    ControlInfo {
        id: "updates.automatic",
        title: "Automatic security updates installed, configured and scheduled",
        policy: "ITP07 7.1.3",
    },
    ControlInfo {
        id: "updates.pending",
        title: "No security updates waiting",
        policy: "ITP07 7.1.3",
    },
    ControlInfo {
        id: "endpoint.protection",
        title: "Endpoint protection installed, running, scanning, definitions current",
        policy: "ITP07 7.1.4, 7.1.6(3)",
    },
    ControlInfo {
        id: "device.management",
        title: "Device management (locate/disable) agent active",
        policy: "ITP07 7.1.4",
    },
    ControlInfo {
        id: "firewall.inbound",
        title: "Inbound allowed only for the site's scoped entries",
        policy: "ITP07 7.1.5",
    },
    ControlInfo {
        id: "firewall.enabled",
        title: "Host firewall on, inbound default deny",
        policy: "ITP07 7.1.5",
    },
    ControlInfo {
        id: "apps.office365",
        title: "Microsoft 365 Apps installed with updates enabled",
        policy: "ITP07 7.1.6(1)",
    },
    ControlInfo {
        id: "apps.teams",
        title: "Microsoft Teams installed",
        policy: "ITP07 7.1.6(1)",
    },
    ControlInfo {
        id: "apps.lansweeper",
        title: "Lansweeper LsAgent installed, configured and running",
        policy: "ITP07 7.1.6(2)",
    },
    ControlInfo {
        id: "apps.fortinet-vpn",
        title: "Fortinet VPN client with the site's connection",
        policy: "ITP07 7.1.6(4)",
    },
    ControlInfo {
        id: "disk.encryption",
        title: "System volume encrypted",
        policy: "ITP07 7.1",
    },
    // Added 2026-12 (issue 16): ITP07 7.1 asks for controls equivalent to those of a managed device, and
    // Cyber Essentials' "device unlocking" and "auto-run disabled" are two of them. Last in the order:
    // neither can lock anyone out of the device or depends on another control.
    ControlInfo {
        id: "device.lock",
        title: "Screen locks after the site's idle minutes; unlocking needs the password",
        policy: "ITP07 7.1",
    },
    ControlInfo {
        id: "autorun.disabled",
        title: "AutoRun/AutoPlay off for every drive type",
        policy: "ITP07 7.1",
    },
];

/// The files under `profiles/` that are data, not profiles: the OS lifecycle table and the framework
/// mapping.
const DATA_FILES: &[&str] = &["lifecycle", "frameworks"];

pub fn control_ids() -> Vec<&'static str> {
    CONTROLS.iter().map(|c| c.id).collect()
}

pub fn control_info(id: &str) -> Option<&'static ControlInfo> {
    CONTROLS.iter().find(|c| c.id == id)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    profile: Header,
    #[serde(rename = "match")]
    os_match: Option<OsMatch>,
    #[serde(default)]
    vars: toml::Table,
    #[serde(default)]
    controls: BTreeMap<String, ControlSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: String,
    extends: Option<String>,
    description: Option<String>,
    #[serde(default, rename = "abstract")]
    is_abstract: bool,
}

/// Which devices a profile is for, read against `/etc/os-release` (or its Windows and macOS equivalents).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OsMatch {
    pub family: String,
    #[serde(default)]
    pub ids: Vec<String>,
    /// Versions matched exactly or as a prefix before a dot (`9` matches `9.4`); absent matches any.
    pub versions: Option<Vec<String>>,
}

/// How a profile says a control is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Implemented,
    NotApplicable,
    Manual,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlSpec {
    status: Option<Kind>,
    reason: Option<String>,
    check: Option<String>,
    apply: Option<String>,
    change: Option<String>,
    needs: Option<Vec<String>>,
    secrets: Option<Vec<String>>,
    artifacts: Option<Vec<String>>,
    files: Option<Vec<String>>,
    params: Option<toml::Table>,
    timeout: Option<u64>,
    apply_timeout: Option<u64>,
    removes_admin: Option<bool>,
}

impl ControlSpec {
    /// `self` over `parent`: every field the child sets wins; params merge key by key.
    fn over(self, parent: &ControlSpec) -> ControlSpec {
        let mut params = parent.params.clone().unwrap_or_default();
        params.extend(self.params.unwrap_or_default());
        ControlSpec {
            status: self.status.or(parent.status),
            reason: self.reason.or_else(|| parent.reason.clone()),
            check: self.check.or_else(|| parent.check.clone()),
            apply: self.apply.or_else(|| parent.apply.clone()),
            change: self.change.or_else(|| parent.change.clone()),
            needs: self.needs.or_else(|| parent.needs.clone()),
            secrets: self.secrets.or_else(|| parent.secrets.clone()),
            artifacts: self.artifacts.or_else(|| parent.artifacts.clone()),
            files: self.files.or_else(|| parent.files.clone()),
            params: Some(params),
            timeout: self.timeout.or(parent.timeout),
            apply_timeout: self.apply_timeout.or(parent.apply_timeout),
            removes_admin: self.removes_admin.or(parent.removes_admin),
        }
    }
}

/// A control as a resolved profile has it.
#[derive(Debug, Clone, Serialize)]
pub struct Control {
    pub id: String,
    pub kind: Kind,
    pub reason: Option<String>,
    pub check: Option<String>,
    pub apply: Option<String>,
    pub change: Option<String>,
    pub needs: Vec<String>,
    pub secrets: Vec<String>,
    /// Installers staged for the apply: a name, `site:KEY` (the name is a site value), and either
    /// with a trailing `?` when optional (staged only if the site defines it, e.g. `office-source`).
    pub artifacts: Vec<String>,
    /// Extra templates rendered for the change (the Office Deployment Tool's configuration.xml), handed
    /// to the apply script as files in a private directory.
    pub files: Vec<String>,
    pub params: Value,
    pub timeout_secs: u64,
    pub apply_timeout_secs: u64,
    pub removes_admin: bool,
    /// The framework requirements it serves (`CE:U5`), from `profiles/frameworks.toml`. Reporting
    /// metadata, not part of what runs: left out of the profile's digest.
    #[serde(skip)]
    pub frameworks: Vec<String>,
}

impl Control {
    pub fn info(&self) -> &'static ControlInfo {
        control_info(&self.id).expect("validated control id")
    }
}

/// A profile with its `extends` chain folded in and every control of SPEC §2 accounted for.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub os_match: OsMatch,
    /// The files it was read from, base first.
    pub chain: Vec<String>,
    pub vars: Value,
    pub controls: Vec<Control>,
}

/// A device whose release is newer than every profile of its distribution, and the profile it runs
/// instead: that distribution's newest (SPEC §3). Every report carries it; `apply` needs
/// `--allow-untested-release` for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UntestedRelease {
    /// The device's release, `ID VERSION` (`debian 14`, `macos 28.0`).
    pub os: String,
    /// The profile run on it.
    pub profile: String,
}

/// A version as numbers to compare (`26.04` → [26, 4], `15.1` → [15, 1]); `None` unless every part
/// is a number (Debian testing has no `VERSION_ID` at all, and a codename cannot be ordered).
fn version_key(v: &str) -> Option<Vec<u64>> {
    if v.is_empty() {
        return None;
    }
    v.split('.').map(|p| p.parse().ok()).collect()
}

impl Profile {
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// Whether the profile is for this OS.
    pub fn matches(&self, os: &Os) -> bool {
        let m = &self.os_match;
        if m.family != os.family {
            return false;
        }
        let id_ok = m.ids.is_empty() || m.ids.iter().any(|i| *i == os.id || os.id_like.contains(i));
        let version_ok = match &m.versions {
            None => true,
            Some(vs) => vs
                .iter()
                .any(|v| *v == os.version || os.version.starts_with(&format!("{v}."))),
        };
        id_ok && version_ok
    }

    /// Whether the profile is for this OS's distribution (family and `ID`, not `ID_LIKE`: Ubuntu's
    /// next release runs Ubuntu's newest profile, never Debian's), whatever the release.
    fn same_distribution(&self, os: &Os) -> bool {
        self.os_match.family == os.family && self.os_match.ids.contains(&os.id)
    }

    /// The newest release this profile was made and tested for.
    fn newest_version(&self) -> Option<Vec<u64>> {
        self.os_match
            .versions
            .as_ref()?
            .iter()
            .filter_map(|v| version_key(v))
            .max()
    }
}

impl Sources {
    /// Names of the profiles that can be selected (not abstract).
    pub fn profile_names(&self) -> Vec<String> {
        self.selectable().into_iter().map(|p| p.name).collect()
    }

    /// Every profile that can be selected (it loads and is not abstract), in name order, each file
    /// read and parsed once however many profiles extend it.
    fn selectable(&self) -> Vec<Profile> {
        let mut parsed = Parsed::default();
        self.profile_files()
            .into_iter()
            .filter_map(|f| f.strip_suffix(".toml").map(str::to_string))
            .filter(|n| !n.contains('/') && !DATA_FILES.contains(&n.as_str()))
            .filter_map(|n| {
                let p = self.load_with(&n, &mut parsed).ok()?;
                let is_abstract = parsed
                    .get(&n)
                    .and_then(Option::as_ref)
                    .is_some_and(|(_, f)| f.profile.is_abstract);
                (!is_abstract).then_some(p)
            })
            .collect()
    }

    /// The profile for `os`: the one that matches it, else, when its release is newer than every
    /// profile of its distribution, that distribution's newest profile with the [`UntestedRelease`]
    /// that every report names. `None` for an older or in-between release, or another distribution.
    pub fn select(&self, os: &Os) -> Option<(Profile, Option<UntestedRelease>)> {
        let profiles = self.selectable();
        // A profile for the device's own `ID` first: RHEL says `ID_LIKE="fedora"`, and must not get
        // Fedora's dnf5 scripts because `fedora` sorts before `rhel-9`.
        let own = Os {
            id_like: vec![],
            ..os.clone()
        };
        if let Some(p) = profiles.iter().find(|p| p.matches(&own)) {
            return Some((p.clone(), None));
        }
        if let Some(newest) = self.newest_of_distribution(&profiles, os) {
            let untested = UntestedRelease {
                os: format!("{} {}", os.id, os.version),
                profile: newest.name.clone(),
            };
            return Some((newest, Some(untested)));
        }
        // Then a derivative through `ID_LIKE`.
        let p = profiles.iter().find(|p| p.matches(os))?;
        Some((p.clone(), None))
    }

    /// Every selectable profile, with whether it is its distribution's newest (the one a newer,
    /// untested release runs), for `profiles list`.
    pub fn listing(&self) -> Result<Vec<(Profile, bool)>, InputError> {
        let profiles = self.selectable();
        Ok(profiles
            .iter()
            .map(|p| {
                let newest = p.os_match.ids.iter().any(|id| {
                    let os = Os {
                        family: p.os_match.family.clone(),
                        id: id.clone(),
                        version: "999999".into(),
                        name: String::new(),
                        id_like: vec![],
                    };
                    self.newest_of_distribution(&profiles, &os)
                        .is_some_and(|n| n.name == p.name)
                });
                (p.clone(), newest)
            })
            .collect())
    }

    /// Whether `profile`, which does not match `os`, is the profile [`Sources::select`] would run on
    /// it as an untested release (`--profile debian-13` on Debian 14).
    pub fn untested_for(&self, profile: &Profile, os: &Os) -> Option<UntestedRelease> {
        match self.select(os)? {
            (newest, Some(untested)) if newest.name == profile.name => Some(untested),
            _ => None,
        }
    }

    /// The newest profile of `os`'s distribution when `os`'s release is newer than all of them.
    fn newest_of_distribution(&self, profiles: &[Profile], os: &Os) -> Option<Profile> {
        let device = version_key(&os.version)?;
        let same: Vec<&Profile> = profiles
            .iter()
            .filter(|p| p.same_distribution(os))
            .collect();
        // A profile of the distribution with no version list matches every release (fedora): nothing
        // is untested there. Otherwise the device must be newer than every listed release.
        if same.is_empty() || same.iter().any(|p| p.os_match.versions.is_none()) {
            return None;
        }
        let newest = same
            .into_iter()
            .filter_map(|p| p.newest_version().map(|v| (v, p)))
            .max_by(|a, b| a.0.cmp(&b.0))?;
        (device > newest.0).then(|| newest.1.clone())
    }

    /// Load and resolve the profile called `name`.
    pub fn load(&self, name: &str) -> Result<Profile, InputError> {
        self.load_with(name, &mut Parsed::default())
    }

    /// [`Sources::load`], taking each file of the chain from `parsed` when an earlier load read it.
    fn load_with(&self, name: &str, parsed: &mut Parsed) -> Result<Profile, InputError> {
        let mut files = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(n) = next {
            if files
                .iter()
                .any(|(_, f): &(String, ProfileFile)| f.profile.name == n)
                || files.len() > 8
            {
                return Err(InputError::Refused(format!(
                    "profile {name}: `extends` loops through {n}"
                )));
            }
            let (path, file) = match parsed.get(&n) {
                Some(Some(done)) => done.clone(),
                // Read once; a file that failed is read again for its error (the rare path).
                _ => {
                    let read = self.parse_profile_file(&n);
                    parsed.insert(n.clone(), read.as_ref().ok().cloned());
                    read?
                }
            };
            next = file.profile.extends.clone();
            files.push((path, file));
        }
        resolve(name, files)
    }

    /// `profiles/NAME.toml` read and parsed, its `[profile] name` checked against its file name.
    fn parse_profile_file(&self, n: &str) -> Result<(String, ProfileFile), InputError> {
        let (path, src) = self.profile_file(&format!("{n}.toml")).ok_or_else(|| {
            InputError::Refused(format!(
                "no profile named {n:?} (known: {})",
                self.profile_names_raw().join(", ")
            ))
        })?;
        let file: ProfileFile = parse_toml(Path::new(&path), &src)?;
        if file.profile.name != n {
            return Err(InputError::Refused(format!(
                "{path}: [profile] name is {:?}, expected {n:?}",
                file.profile.name
            )));
        }
        Ok((path, file))
    }

    /// Load a profile from a file path (`profiles validate FILE`), its `extends` from these sources.
    pub fn load_file(&self, path: &Path) -> Result<Profile, InputError> {
        let src = std::fs::read_to_string(path)
            .map_err(|e| InputError::Refused(format!("{}: {e}", path.display())))?;
        let file: ProfileFile = parse_toml(path, &src)?;
        let name = file.profile.name.clone();
        let mut files = vec![(path.display().to_string(), file)];
        if let Some(parent) = files[0].1.profile.extends.clone() {
            // Loading the parent first proves the chain exists and does not loop.
            self.load(&parent)?;
            let mut next = Some(parent);
            while let Some(n) = next {
                let (p, s) = self
                    .profile_file(&format!("{n}.toml"))
                    .expect("the chain loaded above");
                let f: ProfileFile = parse_toml(Path::new(&p), &s)?;
                next = f.profile.extends.clone();
                files.push((p, f));
            }
        }
        resolve(&name, files)
    }

    fn profile_names_raw(&self) -> Vec<String> {
        self.profile_files()
            .into_iter()
            .filter_map(|f| f.strip_suffix(".toml").map(str::to_string))
            .filter(|n| !DATA_FILES.contains(&n.as_str()))
            .collect()
    }
}
/// Profile files already read in one listing, by profile name (`None`: it did not parse).
type Parsed = std::collections::HashMap<String, Option<(String, ProfileFile)>>;

fn toml_to_json(t: &toml::Table) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// Fold the chain (child first) into one profile and check that it covers SPEC §2.
fn resolve(name: &str, files: Vec<(String, ProfileFile)>) -> Result<Profile, InputError> {
    let leaf_path = files[0].0.clone();
    let leaf_abstract = files[0].1.profile.is_abstract;
    let description = files
        .iter()
        .find_map(|(_, f)| f.profile.description.clone())
        .unwrap_or_default();
    let os_match = files.iter().find_map(|(_, f)| f.os_match.clone());
    let mut vars = toml::Table::new();
    let mut specs: BTreeMap<String, ControlSpec> = BTreeMap::new();
    let mut chain = Vec::new();
    for (path, file) in files.into_iter().rev() {
        for id in file.controls.keys() {
            if control_info(id).is_none() {
                return Err(InputError::Refused(format!(
                    "{path}: [controls.\"{id}\"]: unknown control (known: {})",
                    control_ids().join(", ")
                )));
            }
        }
        vars.extend(file.vars);
        for (id, spec) in file.controls {
            let merged = match specs.get(&id) {
                Some(parent) => spec.over(parent),
                None => spec,
            };
            specs.insert(id, merged);
        }
        chain.push(path);
    }
    let os_match = os_match.ok_or_else(|| {
        InputError::Refused(format!(
            "{leaf_path}: no [match] table in the profile or its parents"
        ))
    })?;
    let mut controls = Vec::new();
    for info in CONTROLS {
        let Some(spec) = specs.remove(info.id) else {
            if leaf_abstract {
                continue;
            }
            return Err(InputError::Refused(format!(
                "{leaf_path}: control {} is not covered: a profile says for every control how it is checked, or why it is not applicable",
                info.id
            )));
        };
        let kind = spec.status.unwrap_or(Kind::Implemented);
        let here = |what: &str| format!("{leaf_path}: [controls.\"{}\"]: {what}", info.id);
        match kind {
            Kind::Implemented if spec.check.is_none() => {
                return Err(InputError::Refused(here(
                    "implemented but has no `check` template",
                )))
            }
            Kind::NotApplicable | Kind::Manual
                if spec.reason.as_deref().is_none_or(|r| r.trim().is_empty()) =>
            {
                return Err(InputError::Refused(here(
                    "not-applicable and manual controls need a `reason`",
                )))
            }
            _ => {}
        }
        controls.push(Control {
            id: info.id.to_string(),
            kind,
            reason: spec.reason,
            check: if kind == Kind::Implemented {
                spec.check
            } else {
                None
            },
            apply: if kind == Kind::Implemented {
                spec.apply
            } else {
                None
            },
            change: spec.change,
            needs: spec.needs.unwrap_or_default(),
            secrets: spec.secrets.unwrap_or_default(),
            artifacts: spec.artifacts.unwrap_or_default(),
            files: spec.files.unwrap_or_default(),
            params: toml_to_json(&spec.params.unwrap_or_default()),
            timeout_secs: spec.timeout.unwrap_or(30),
            apply_timeout_secs: spec.apply_timeout.unwrap_or(900),
            removes_admin: spec.removes_admin.unwrap_or(false),
            frameworks: Vec::new(),
        });
    }
    for secret in controls.iter().flat_map(|c| &c.secrets) {
        if !crate::inputs::site::SECRET_KEYS.contains(&secret.as_str()) {
            return Err(InputError::Refused(format!(
                "{leaf_path}: {secret} is not a secret site key"
            )));
        }
    }
    Ok(Profile {
        name: name.to_string(),
        description,
        os_match,
        chain,
        vars: toml_to_json(&vars),
        controls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(family: &str, id: &str, version: &str, id_like: &[&str]) -> Os {
        Os {
            family: family.into(),
            id: id.into(),
            version: version.into(),
            name: String::new(),
            id_like: id_like.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The profile `select` picks and the untested release it names, for a device.
    fn picked(o: &Os) -> Option<(String, Option<String>)> {
        Sources::default()
            .select(o)
            .map(|(p, u)| (p.name, u.map(|u| format!("{} -> {}", u.os, u.profile))))
    }

    #[test]
    fn todays_releases_each_match_their_own_profile() {
        for (family, id, version, like, want) in [
            ("linux", "debian", "12", &[][..], "debian-12"),
            ("linux", "debian", "13", &[], "debian-13"),
            ("linux", "ubuntu", "22.04", &["debian"], "ubuntu-22.04"),
            ("linux", "ubuntu", "24.04", &["debian"], "ubuntu-24.04"),
            ("linux", "ubuntu", "26.04", &["debian"], "ubuntu-26.04"),
            ("linux", "rhel", "9.6", &["fedora"], "rhel-9"),
            ("linux", "rhel", "10.1", &["fedora"], "rhel-10"),
            (
                "linux",
                "rocky",
                "10.0",
                &["rhel", "centos", "fedora"],
                "rhel-10",
            ),
            (
                "linux",
                "almalinux",
                "10.1",
                &["rhel", "centos", "fedora"],
                "rhel-10",
            ),
            ("linux", "fedora", "43", &[], "fedora"),
            ("linux", "fedora", "45", &[], "fedora"),
            ("macos", "macos", "13.7.8", &[], "macos"),
            ("macos", "macos", "15.7", &[], "macos"),
            ("macos", "macos", "26.1", &[], "macos-26"),
            ("macos", "macos", "27.0", &[], "macos-26"),
            ("windows", "windows", "10", &[], "windows-10"),
            ("windows", "windows", "11", &[], "windows-11"),
        ] {
            let o = os(family, id, version, like);
            assert_eq!(picked(&o), Some((want.to_string(), None)), "{id} {version}");
        }
    }

    #[test]
    fn a_release_newer_than_every_profile_runs_its_distributions_newest_as_untested() {
        for (family, id, version, like, want) in [
            ("linux", "debian", "14", &[][..], "debian-13"),
            ("linux", "ubuntu", "26.10", &["debian"][..], "ubuntu-26.04"),
            ("linux", "ubuntu", "28.04", &["debian"][..], "ubuntu-26.04"),
            (
                "linux",
                "rocky",
                "11.0",
                &["rhel", "centos", "fedora"][..],
                "rhel-10",
            ),
            ("macos", "macos", "28.0", &[][..], "macos-26"),
            ("windows", "windows", "12", &[][..], "windows-11"),
        ] {
            let o = os(family, id, version, like);
            assert_eq!(
                picked(&o),
                Some((want.to_string(), Some(format!("{id} {version} -> {want}")))),
                "{id} {version}"
            );
            let newest = Sources::default().load(want).unwrap();
            assert!(Sources::default().untested_for(&newest, &o).is_some());
        }
    }

    #[test]
    fn older_in_between_unversioned_and_other_distributions_are_still_refused() {
        for (family, id, version, like) in [
            ("linux", "debian", "11", &[][..]),
            // An interim Ubuntu between two LTS profiles is not newer than every profile.
            ("linux", "ubuntu", "25.10", &["debian"][..]),
            // Debian testing has no VERSION_ID: it cannot be ordered.
            ("linux", "debian", "", &[][..]),
            ("linux", "linuxmint", "23", &["ubuntu", "debian"][..]),
            ("linux", "arch", "", &[][..]),
            ("linux", "opensuse-leap", "16.0", &[][..]),
            ("macos", "macos", "12.7", &[][..]),
            ("freebsd", "freebsd", "15.0", &[][..]),
        ] {
            let o = os(family, id, version, like);
            assert_eq!(picked(&o), None, "{id} {version}");
        }
        let s = Sources::default();
        let d14 = os("linux", "debian", "14", &[]);
        // Only the newest profile of the distribution stands in, never an older one or another's.
        for other in ["debian-12", "ubuntu-26.04", "rhel-10"] {
            let p = s.load(other).unwrap();
            assert!(s.untested_for(&p, &d14).is_none(), "{other}");
        }
        // A release a profile matches is never untested.
        let d13 = os("linux", "debian", "13", &[]);
        assert!(s
            .untested_for(&s.load("debian-13").unwrap(), &d13)
            .is_none());
    }

    #[test]
    fn profiles_list_marks_each_distributions_newest() {
        let newest: Vec<String> = Sources::default()
            .listing()
            .unwrap()
            .into_iter()
            .filter(|(_, n)| *n)
            .map(|(p, _)| p.name)
            .collect();
        assert_eq!(
            newest,
            [
                "debian-13",
                "macos-26",
                "rhel-10",
                "ubuntu-26.04",
                "windows-11"
            ]
        );
    }

    #[test]
    fn every_shipped_profile_resolves_and_covers_all_controls() {
        let s = Sources::default();
        let names = s.profile_names();
        for expected in [
            "debian-12",
            "debian-13",
            "ubuntu-22.04",
            "ubuntu-24.04",
            "ubuntu-26.04",
            "rhel-9",
            "rhel-10",
            "fedora",
            "macos",
            "macos-26",
            "windows-10",
            "windows-11",
        ] {
            assert!(
                names.contains(&expected.to_string()),
                "{expected} missing from {names:?}"
            );
        }
        for n in names {
            let p = s.load(&n).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(p.controls.len(), CONTROLS.len(), "{n}");
            for c in &p.controls {
                for t in c.check.iter().chain(c.apply.iter()).chain(c.files.iter()) {
                    assert!(
                        s.template(t).is_some(),
                        "{n}: {}: template {t} missing",
                        c.id
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_key_in_a_profile_names_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("x.toml"),
            "[profile]\nname = \"x\"\n[controls.\"os.supported\"]\nchek = \"a\"\n",
        )
        .unwrap();
        let s = Sources {
            profiles_dir: Some(dir.path().into()),
            templates_dir: None,
        };
        let e = s.load("x").unwrap_err().to_string();
        assert!(
            e.contains("x.toml:4:1: key `controls.os.supported.chek`: unknown field `chek`"),
            "{e}"
        );
    }

    #[test]
    fn extends_merges_control_fields() {
        let dir = tempfile::tempdir().unwrap();
        let mut base = String::from(
            "[profile]\nname = \"base\"\nabstract = true\n[match]\nfamily = \"linux\"\n",
        );
        for c in CONTROLS {
            base.push_str(&format!(
                "[controls.\"{}\"]\nstatus = \"manual\"\nreason = \"r\"\n",
                c.id
            ));
        }
        std::fs::write(dir.path().join("base.toml"), base).unwrap();
        std::fs::write(
            dir.path().join("leaf.toml"),
            "[profile]\nname = \"leaf\"\nextends = \"base\"\n[controls.\"os.supported\"]\nstatus = \"implemented\"\ncheck = \"c.sh\"\n",
        )
        .unwrap();
        let s = Sources {
            profiles_dir: Some(dir.path().into()),
            templates_dir: None,
        };
        let p = s.load("leaf").unwrap();
        assert_eq!(p.control("os.supported").unwrap().kind, Kind::Implemented);
        assert_eq!(
            p.control("os.supported").unwrap().check.as_deref(),
            Some("c.sh")
        );
        assert_eq!(p.control("disk.encryption").unwrap().kind, Kind::Manual);
        assert_eq!(s.profile_names(), vec!["leaf".to_string()]);
    }
}
