//! The framework mapping (`profiles/frameworks.toml`, SPEC §2): the Cyber Essentials requirements, and
//! for every control the requirements it serves. Data, not Rust: embedded like the profiles and replaced
//! by a `frameworks.toml` in `--profiles-dir`.
//!
//! The file is checked when it loads: every control of [`CONTROLS`] is listed (an empty list says "no
//! requirement" on purpose), no unknown control, no unknown requirement; each error names file, line and
//! key (exit 2).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::inputs::assets::Sources;
use crate::inputs::profile::{control_ids, control_info, Profile, CONTROLS};
use crate::inputs::textpos::{line_of, parse_toml};
use crate::support::error::InputError;

/// The file's name under `profiles/`.
pub const FILE: &str = "frameworks.toml";

/// The prefix of Cyber Essentials requirement ids (`CE:U5`).
pub const CE: &str = "CE:";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworksFile {
    framework: Header,
    requirements: BTreeMap<String, Requirement>,
    controls: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: String,
    version: String,
}

/// One requirement of a framework.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// What it asks, in a line.
    pub text: String,
    /// The assessment question(s) where the source gives them (`A6.4, A6.5`).
    pub question: Option<String>,
    /// Whether failing it fails the assessment on its own.
    #[serde(default)]
    pub auto_fail: bool,
}

/// The loaded mapping.
#[derive(Debug, Clone, Default)]
pub struct Frameworks {
    /// The framework's name and version, as the file gives them.
    pub name: String,
    pub version: String,
    pub requirements: BTreeMap<String, Requirement>,
    /// Control id → the requirement ids it serves, in the file's order.
    pub controls: BTreeMap<String, Vec<String>>,
    /// Where it was read from (`<embedded>/frameworks.toml` or the override's path).
    pub from: String,
}

impl Frameworks {
    /// The requirements `control` serves (none for a control the file does not name).
    pub fn of(&self, control: &str) -> Vec<String> {
        self.controls.get(control).cloned().unwrap_or_default()
    }

    /// Parse and check `src`, read from `path`.
    pub fn parse(path: &str, src: &str) -> Result<Frameworks, InputError> {
        let file: FrameworksFile = parse_toml(Path::new(path), src)?;
        let err = |keys: &[&str], message: String| InputError::Value {
            file: path.into(),
            line: line_of(src, keys),
            key: keys.join("."),
            message,
        };
        for (id, r) in &file.requirements {
            let ok = id.split_once(':').is_some_and(|(fw, item)| {
                !fw.is_empty()
                    && !item.is_empty()
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'-'))
            });
            if !ok {
                return Err(err(
                    &["requirements", id],
                    format!("{id:?} is not a requirement id like \"CE:U5\""),
                ));
            }
            if r.text.trim().is_empty() {
                return Err(err(
                    &["requirements", id, "text"],
                    "a requirement needs its text".into(),
                ));
            }
        }
        for (control, reqs) in &file.controls {
            if control_info(control).is_none() {
                return Err(err(
                    &["controls", control],
                    format!(
                        "unknown control {control:?} (known: {})",
                        control_ids().join(", ")
                    ),
                ));
            }
            for (i, r) in reqs.iter().enumerate() {
                if !file.requirements.contains_key(r) {
                    return Err(err(
                        &["controls", control],
                        format!("unknown requirement {r:?} (item {}): define it under [requirements.\"{r}\"]", i + 1),
                    ));
                }
                if reqs[..i].contains(r) {
                    return Err(err(&["controls", control], format!("{r} is listed twice")));
                }
            }
        }
        if let Some(missing) = CONTROLS.iter().find(|c| !file.controls.contains_key(c.id)) {
            return Err(err(
                &["controls"],
                format!(
                    "control {:?} is not listed: give every control its requirements, or [] when it serves none",
                    missing.id
                ),
            ));
        }
        Ok(Frameworks {
            name: file.framework.name,
            version: file.framework.version,
            requirements: file.requirements,
            controls: file.controls,
            from: path.to_string(),
        })
    }
}

/// `profile` with the requirements each control serves: once per run, not in `Sources::load`, which
/// listing and selection call for every profile.
pub fn attach(sources: &Sources, mut profile: Profile) -> Result<Profile, InputError> {
    let frameworks = load(sources)?;
    for c in &mut profile.controls {
        c.frameworks = frameworks.of(&c.id);
    }
    Ok(profile)
}

/// The mapping of `sources`: `--profiles-dir`'s `frameworks.toml` when it has one, else the embedded one.
pub fn load(sources: &Sources) -> Result<Frameworks, InputError> {
    let found = sources
        .profile_file(FILE)
        .or_else(|| Sources::default().profile_file(FILE));
    match found {
        Some((path, src)) => Frameworks::parse(&path, &src),
        None => Ok(Frameworks::default()),
    }
}

/// The Cyber Essentials ids among `frameworks` (`CE:U5`).
pub fn ce_items(frameworks: &[String]) -> Vec<&str> {
    frameworks
        .iter()
        .map(String::as_str)
        .filter(|f| f.starts_with(CE))
        .collect()
}

/// What a waived control's report says when Cyber Essentials requires it (SPEC §2): a waiver is the
/// institution's risk acceptance, not CE compliance. `None` when the control serves no CE requirement.
pub fn waiver_note(frameworks: &[String]) -> Option<String> {
    let ce = ce_items(frameworks);
    (!ce.is_empty()).then(|| format!("waiver does not excuse Cyber Essentials {}", ce.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> (String, String) {
        Sources::default().profile_file(FILE).expect("embedded")
    }

    #[test]
    fn every_control_maps_or_is_explicitly_empty() {
        let (path, src) = embedded();
        let f = Frameworks::parse(&path, &src).expect("the shipped mapping loads");
        for c in CONTROLS {
            let reqs = f
                .controls
                .get(c.id)
                .unwrap_or_else(|| panic!("{} not in {FILE}", c.id));
            for r in reqs {
                assert!(f.requirements.contains_key(r), "{}: {r}", c.id);
            }
        }
        // The §7.3 table's rows, spot-checked.
        assert_eq!(f.of("updates.pending"), ["CE:U5"]);
        assert_eq!(f.of("firewall.enabled"), ["CE:F1", "CE:F2"]);
        assert_eq!(f.of("os.supported"), ["CE:U1"]);
        assert!(f.of("disk.encryption").is_empty());
        assert!(f.requirements["CE:U5"].auto_fail);
        assert_eq!(f.requirements["CE:U1"].question.as_deref(), Some("A6.1"));
        assert!(!f.requirements["CE:F1"].auto_fail);
    }

    fn with(edit: impl Fn(&str) -> String) -> Result<Frameworks, InputError> {
        let (_, src) = embedded();
        Frameworks::parse("/x/frameworks.toml", &edit(&src))
    }

    #[test]
    fn an_unknown_control_or_requirement_is_an_error_naming_file_line_and_key() {
        let e = with(|s| s.replace("\"apps.teams\" = []", "\"apps.teamz\" = []"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/x/frameworks.toml"), "{e}");
        assert!(e.contains("controls.apps.teamz"), "{e}");
        assert!(e.contains("unknown control \"apps.teamz\""), "{e}");
        let line = embedded()
            .1
            .lines()
            .position(|l| l.starts_with("\"apps.teams\""))
            .unwrap()
            + 1;
        assert!(e.contains(&format!(":{line}")), "{e}");

        let e = with(|s| {
            s.replace(
                "\"os.supported\" = [\"CE:U1\"]",
                "\"os.supported\" = [\"CE:U9\"]",
            )
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("controls.os.supported"), "{e}");
        assert!(e.contains("unknown requirement \"CE:U9\""), "{e}");

        let e = with(|s| s.replace("\"disk.encryption\" = []\n", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"disk.encryption\" is not listed"), "{e}");

        let e = with(|s| s.replace("auto_fail = true", "autofail = true"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("autofail"), "{e}");
    }

    #[test]
    fn the_waiver_note_names_only_cyber_essentials_items() {
        assert_eq!(
            waiver_note(&["CE:U5".into()]).as_deref(),
            Some("waiver does not excuse Cyber Essentials CE:U5")
        );
        assert_eq!(
            waiver_note(&["CE:F1".into(), "ISO:A.8.20".into(), "CE:F2".into()]).as_deref(),
            Some("waiver does not excuse Cyber Essentials CE:F1, CE:F2")
        );
        assert_eq!(waiver_note(&[]), None);
        assert_eq!(waiver_note(&["ISO:A.8.24".into()]), None);
    }
}
