//! `kit verify`: every byte against the manifest, and what may change after a kit is built (`keys/`,
//! `records/`); the manifests found to match, for [`super::package_env`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::manifest::{files_under, read_manifest};
use super::regular::{not_regular, open_regular};
use super::MANIFEST;
use crate::artifacts::Spec;
use crate::inputs::site::Site;
use crate::support::par::par_map;

/// One thing `kit verify` found wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    Missing(String),
    Mismatch {
        path: String,
        expected: String,
        got: String,
    },
    /// A file the manifest does not list: the kit is no longer what was built.
    Extra(String),
    /// Listed (or under `keys/` or `records/`), but a symbolic link, a directory, a device or a FIFO:
    /// never read, so a link to a root-only file reveals nothing and a FIFO hangs nothing (F15).
    NotRegular(String),
    /// Something under `keys/` or `records/` that handover never puts there (F15).
    Unexpected(String),
    /// `keys/records.pub` is not the key this device already trusts (`kit verify` on a device, F15).
    DeviceKey(String),
}

impl Problem {
    /// The word `kit verify` starts its line with.
    pub fn tag(&self) -> &'static str {
        match self {
            Problem::Missing(_) => "MISSING",
            Problem::Mismatch { .. } => "MISMATCH",
            Problem::Extra(_) => "EXTRA",
            Problem::NotRegular(_) => "REFUSED",
            Problem::Unexpected(_) => "PLANTED",
            Problem::DeviceKey(_) => "KEY",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing(p) => write!(f, "{p} is missing"),
            Problem::Mismatch {
                path,
                expected,
                got,
            } => write!(f, "{path} has sha256 {got}, the manifest says {expected}"),
            Problem::Extra(p) => write!(f, "{p} is not in {MANIFEST}"),
            Problem::NotRegular(p) => write!(
                f,
                "{p} is not a regular file (a symbolic link, a device or a FIFO): not read"
            ),
            Problem::Unexpected(p) => write!(
                f,
                "{p} is not a file handover puts there (keys/: {}; records/: DEVICE/NNNNNN-….json, its .sig, {})",
                KEY_FILES.join(", "),
                crate::evidence::signing::PENDING
            ),
            Problem::DeviceKey(m) => write!(f, "keys/records.pub: {m}"),
        }
    }
}

/// What `kit verify` checked.
#[derive(Debug)]
pub struct Verified {
    pub files: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

/// The files handover puts under `KIT/keys/` (`kit keygen`).
const KEY_FILES: &[&str] = &["records.key", "records.pub"];

/// Manifests that [`verify`] found every file of its kit to match, by the kit's canonical path: what
/// [`package_env`](super::package_env) copies is checked against these, never against a manifest read later (F4).
fn verified_manifests() -> &'static std::sync::Mutex<BTreeMap<PathBuf, BTreeMap<String, String>>> {
    static V: std::sync::OnceLock<std::sync::Mutex<BTreeMap<PathBuf, BTreeMap<String, String>>>> =
        std::sync::OnceLock::new();
    V.get_or_init(Default::default)
}

/// Re-hash every file the kit's manifest lists (regular files only, never following a link), look for
/// files it does not list, and for anything under `keys/` and `records/` that handover never puts there.
pub fn verify(dir: &Path) -> Result<Verified> {
    let mpath = dir.join(MANIFEST);
    let text = read_manifest(dir)?;
    let listed = crate::inputs::site::parse_manifest(&text).map_err(|(line, e)| {
        crate::support::error::InputError::Value {
            file: mpath.clone(),
            line,
            key: MANIFEST.into(),
            message: e,
        }
    })?;
    let entries: Vec<(&String, &String)> = listed.iter().collect();
    let results = par_map(&entries, crate::support::par::cores(), |(rel, want)| {
        let f = match open_regular(dir, rel) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Some(Problem::Missing((*rel).clone())), 0)
            }
            Err(e) if not_regular(&e) => return (Some(Problem::NotRegular((*rel).clone())), 0),
            Err(e) => {
                return (
                    Some(Problem::Mismatch {
                        path: (*rel).clone(),
                        expected: (*want).clone(),
                        got: format!("unreadable: {e}"),
                    }),
                    0,
                )
            }
        };
        let len = f.metadata().map_or(0, |m| m.len());
        match crate::support::hashing::sha256_reader(f) {
            Ok(got) if got == **want => (None, len),
            Ok(got) => (
                Some(Problem::Mismatch {
                    path: (*rel).clone(),
                    expected: (*want).clone(),
                    got,
                }),
                len,
            ),
            Err(e) => (
                Some(Problem::Mismatch {
                    path: (*rel).clone(),
                    expected: (*want).clone(),
                    got: format!("unreadable: {e}"),
                }),
                0,
            ),
        }
    });
    let mut problems: Vec<Problem> = Vec::new();
    let mut bytes = 0;
    for (p, n) in results {
        bytes += n;
        problems.extend(p);
    }
    for rel in files_under(dir)? {
        if !listed.contains_key(&rel) {
            problems.push(Problem::Extra(rel));
        }
    }
    problems.extend(watch_keys_and_records(dir)?);
    if let Ok(canon) = dir.canonicalize() {
        let mut v = verified_manifests()
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if problems.is_empty() {
            v.insert(canon, listed.clone());
        } else {
            v.remove(&canon);
        }
    }
    Ok(Verified {
        files: listed.len(),
        bytes,
        problems,
    })
}

/// `keys/` and `records/` change after a kit is built, so the manifest does not cover them; what may be
/// there is known, though: the key pair, and per device its records, their signatures and the
/// pending-signature marker. Anything else, and any link, is reported (F15).
fn watch_keys_and_records(dir: &Path) -> Result<Vec<Problem>> {
    let mut out = Vec::new();
    let kind = |p: &Path| std::fs::symlink_metadata(p).map(|m| m.file_type());
    let entries = |d: &Path| -> Result<Vec<(String, std::fs::FileType)>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(d).with_context(|| format!("reading {}", d.display()))? {
            let e = e?;
            v.push((e.file_name().to_string_lossy().into_owned(), e.file_type()?));
        }
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    };
    match kind(&dir.join("keys")) {
        Err(_) => {}
        Ok(t) if !t.is_dir() => out.push(Problem::NotRegular("keys".into())),
        Ok(_) => {
            for (name, t) in entries(&dir.join("keys"))? {
                let rel = format!("keys/{name}");
                if !KEY_FILES.contains(&name.as_str()) {
                    out.push(Problem::Unexpected(rel));
                } else if !t.is_file() {
                    out.push(Problem::NotRegular(rel));
                }
            }
        }
    }
    match kind(&dir.join("records")) {
        Err(_) => {}
        Ok(t) if !t.is_dir() => out.push(Problem::NotRegular("records".into())),
        Ok(_) => {
            for (device, t) in entries(&dir.join("records"))? {
                let rel = format!("records/{device}");
                if t.is_symlink() {
                    out.push(Problem::NotRegular(rel));
                    continue;
                }
                if !t.is_dir() {
                    out.push(Problem::Unexpected(rel));
                    continue;
                }
                for (name, t) in entries(&dir.join("records").join(&device))? {
                    let rel = format!("records/{device}/{name}");
                    let known = crate::evidence::store::record_seq(&name).is_some()
                        || name
                            .strip_suffix(".sig")
                            .is_some_and(|r| crate::evidence::store::record_seq(r).is_some())
                        || name == crate::evidence::signing::PENDING;
                    if !known {
                        out.push(Problem::Unexpected(rel));
                    } else if !t.is_file() {
                        out.push(Problem::NotRegular(rel));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// [`verify`], and on a device that already trusts a records key (`STATE/records.pub`), whether the
/// kit's `keys/records.pub` is that key: a kit whose key was replaced is reported (`kit verify`).
pub fn verify_on_device(dir: &Path, state_dir: &Path) -> Result<Verified> {
    let mut v = verify(dir)?;
    v.problems.extend(device_key_problem(dir, state_dir));
    Ok(v)
}

/// The difference between the kit's public key and the one the device holds, if both exist.
pub fn device_key_problem(dir: &Path, state_dir: &Path) -> Option<Problem> {
    let device = crate::evidence::signing::device_pubkey_path(state_dir);
    // Both read as regular files only, bounded: a link or a FIFO planted as `keys/records.pub` is
    // reported by [`verify`] and never read here, even if it is swapped in after that look.
    let read = |root: &Path, rel: &str| -> Option<std::io::Result<BTreeSet<String>>> {
        let f = match open_regular(root, rel) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound || not_regular(&e) => return None,
            Err(e) => return Some(Err(e)),
            Ok(f) => f,
        };
        let mut text = String::new();
        Some(
            std::io::Read::read_to_string(&mut std::io::Read::take(f, 64 * 1024), &mut text)
                .map(|_| key_words(&text)),
        )
    };
    let have = match read(state_dir, "records.pub")? {
        Ok(k) => k,
        Err(e) => {
            return Some(Problem::DeviceKey(format!(
                "the device's key {} is unreadable ({e}), so the kit's cannot be compared with it",
                device.display()
            )))
        }
    };
    match read(dir, "keys/records.pub")? {
        Ok(keys) if keys.is_empty() => Some(Problem::DeviceKey("holds no key".into())),
        Ok(keys) if keys.is_subset(&have) => None,
        Ok(_) => Some(Problem::DeviceKey(format!(
            "differs from the key this device trusts ({}): this kit's key was replaced, or it is another technician's kit; records it signs will not verify on this device",
            device.display()
        ))),
        Err(e) => Some(Problem::DeviceKey(format!("unreadable: {e}"))),
    }
}

/// The keys of a public key file as written by `kit keygen`: the first word of each line that is not
/// empty or a `#` comment, in lower case (compared as text; `record verify` checks they are keys).
fn key_words(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Which artifact a kit path holds (`artifacts/sha256/<hex>` → `lsagent-linux`), from the kit's site.
pub fn artifact_names(site: &Site) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in site.file.artifacts.keys() {
        if let Some(spec) = Spec::from_site(site, name) {
            for (rel, sha) in spec.parts() {
                let label = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{name}: {rel}")
                };
                out.insert(format!("artifacts/sha256/{sha}"), label);
            }
        }
    }
    out
}

/// The manifest [`verify`] found this kit to match in this run; the kit is verified now if it was not.
pub(super) fn verified_manifest(kit: &Path) -> Result<BTreeMap<String, String>> {
    let canon = kit
        .canonicalize()
        .with_context(|| format!("{}", kit.display()))?;
    let known = |c: &Path| {
        verified_manifests()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(c)
            .cloned()
    };
    if let Some(m) = known(&canon) {
        return Ok(m);
    }
    let v = verify(kit)?;
    if !v.problems.is_empty() {
        let list: Vec<String> = v.problems.iter().map(ToString::to_string).collect();
        return Err(crate::support::error::InputError::refused(format!(
            "the kit {} does not match its {MANIFEST} ({}); nothing is installed from it",
            kit.display(),
            list.join("; ")
        )));
    }
    known(&canon).context("the kit's manifest was verified but not kept")
}
