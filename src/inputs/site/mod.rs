//! The site file (SPEC §4): the institution's values, kept apart from the profiles.
//!
//! Parsing is strict (unknown keys and wrong types are errors naming file, line and key) and happens before
//! anything runs. The parsed site becomes a JSON value for the templates, with SPEC §4's defaults filled
//! in and every secret replaced by a `<secret:KEY>` placeholder: secrets reach scripts only through
//! environment variables (SPEC §7), never through template text.

mod context;
mod manifest;
mod schema;
mod validate;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use manifest::{canonical_manifest, check_relpath, parse_manifest, MAX_MANIFEST};
pub use schema::*;
pub use values::{is_plain_file_name, network_of, normalize_source, parse_source, url_file_name};

use crate::inputs::textpos::{line_of, parse_toml};
use crate::support::error::InputError;

/// How `site init` marks a value the institution must give: `"<fill in: the VPN gateway>"`. A site that
/// still holds one is refused, naming file, line and key, by every command that reads it.
pub const PLACEHOLDER: &str = "<fill in";

/// The first value still holding `site init`'s placeholder, as an error naming file, line and key.
/// The value is not shown: it may stand where a secret goes.
fn placeholders(path: &Path, src: &str) -> Result<(), InputError> {
    fn find(v: &toml::Value, at: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
        match v {
            toml::Value::String(s) if s.trim_start().starts_with(PLACEHOLDER) => {
                found.push(at.clone());
            }
            toml::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    at.push(i.to_string());
                    find(v, at, found);
                    at.pop();
                }
            }
            toml::Value::Table(t) => {
                for (k, v) in t {
                    at.push(k.clone());
                    find(v, at, found);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let Ok(table) = src.parse::<toml::Table>() else {
        return Ok(());
    };
    let mut found = Vec::new();
    find(&toml::Value::Table(table), &mut Vec::new(), &mut found);
    // The first in the file, as a reader meets them; the others named too, so one run lists them all.
    let mut found: Vec<(usize, String)> = found
        .iter()
        .map(|p| {
            let parts: Vec<&str> = p.iter().map(String::as_str).collect();
            (line_of(src, &parts), parts.join("."))
        })
        .collect();
    found.sort();
    let Some((line, key)) = found.first().cloned() else {
        return Ok(());
    };
    let mut message =
        "still holds the placeholder `handover site init` wrote; give the real value".to_string();
    if found.len() > 1 {
        let rest: Vec<String> = found[1..]
            .iter()
            .map(|(l, k)| format!("{k} (line {l})"))
            .collect();
        message.push_str(&format!("; placeholders also in {}", rest.join(", ")));
    }
    Err(InputError::Value {
        file: path.to_path_buf(),
        line,
        key,
        message,
    })
}

/// A parsed and validated site, ready for the engine.
#[derive(Debug)]
pub struct Site {
    /// Where it came from, or `None` when no site file exists (every site key is then absent).
    pub path: Option<PathBuf>,
    /// The path that was looked for when there is no site file.
    pub looked_for: PathBuf,
    pub file: SiteFile,
    /// The template context: SPEC §4 defaults filled in, secrets replaced by placeholders.
    pub context: Value,
    /// Secret values by key (`lansweeper.agent_key`), for environment variables and redaction.
    pub secrets: BTreeMap<String, String>,
    /// Waivers with their expiry as `YYYY-MM-DD`.
    pub waivers: Vec<(Waiver, String)>,
}

impl Site {
    /// Load the site at `path`. A missing file is not an error when `required` is false (the default path):
    /// controls that need its keys then fail naming them (SPEC §3).
    pub fn load(path: &Path, required: bool, known_controls: &[&str]) -> Result<Site, InputError> {
        if !required {
            if let Err(e) = std::fs::symlink_metadata(path) {
                if e.kind() == std::io::ErrorKind::NotFound {
                    let mut site = Site::from_file(None, "", SiteFile::default(), known_controls)?;
                    site.looked_for = path.to_path_buf();
                    return Ok(site);
                }
            }
        }
        let as_input = |e: anyhow::Error| match e.downcast::<InputError>() {
            Ok(e) => e,
            Err(e) => {
                InputError::Refused(format!("{}: cannot read site file: {e:#}", path.display()))
            }
        };
        // Opened once, checked as opened (owner, mode, no link swapped in) and read from that file,
        // never again by name (F12).
        let mut f = crate::support::perms::open_trusted(path, "site file").map_err(as_input)?;
        let bytes =
            crate::support::perms::read_bounded(&mut f, "site file", path).map_err(as_input)?;
        let src = String::from_utf8(bytes).map_err(|_| {
            InputError::Refused(format!(
                "{}: cannot read site file: it is not UTF-8 text",
                path.display()
            ))
        })?;
        let file: SiteFile = parse_toml(path, &src)?;
        placeholders(path, &src)?;
        let site = Site::from_file(Some(path.to_path_buf()), &src, file, known_controls)?;
        if !site.secrets.is_empty()
            && crate::support::perms::readable_by_others(&f, path).map_err(as_input)?
        {
            let keys: Vec<&str> = site.secrets.keys().map(String::as_str).collect();
            return Err(InputError::Refused(format!(
                "refusing site file {}: it holds a secret ({}) and others can read it; make it readable by root only (chmod 600 {}; on Windows keep it in %ProgramData%\\handover; a kit on FAT or exFAT is mounted with fmask=077)",
                path.display(),
                keys.join(", "),
                path.display()
            )));
        }
        Ok(site)
    }

    /// Parse a site from text (tests, `profiles validate`).
    pub fn parse(path: &Path, src: &str, known_controls: &[&str]) -> Result<Site, InputError> {
        let file: SiteFile = parse_toml(path, src)?;
        placeholders(path, src)?;
        Site::from_file(Some(path.to_path_buf()), src, file, known_controls)
    }

    fn from_file(
        path: Option<PathBuf>,
        src: &str,
        file: SiteFile,
        known_controls: &[&str],
    ) -> Result<Site, InputError> {
        let shown = path
            .clone()
            .unwrap_or_else(|| PathBuf::from("<no site file>"));
        let err = |key_path: &[&str], message: String| InputError::Value {
            file: shown.clone(),
            line: line_of(src, key_path),
            key: key_path.join("."),
            message,
        };
        validate::validate(&file, known_controls, &err)?;
        let trees = manifest::directory_artifacts(&file, path.as_deref(), &err)?;
        let mut waivers = Vec::new();
        for w in &file.waiver {
            let d = w.expires.date.expect("validated");
            waivers.push((
                w.clone(),
                format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
            ));
        }
        let mut secrets = BTreeMap::new();
        if let Some(key) = file.lansweeper.as_ref().and_then(|l| l.agent_key.clone()) {
            secrets.insert("lansweeper.agent_key".to_string(), key);
        }
        let context = context::context_of(&file, path.as_deref(), &trees);
        let looked_for = path.clone().unwrap_or_default();
        Ok(Site {
            path,
            looked_for,
            file,
            context,
            secrets,
            waivers,
        })
    }

    /// The value of a dotted key in the template context (`vpn.gateway`), if the site sets it or SPEC §4
    /// gives it a default. Secrets are found too (as their placeholder).
    pub fn get(&self, key: &str) -> Option<&Value> {
        let mut v = &self.context;
        for part in key.split('.') {
            v = v.get(part)?;
        }
        (!v.is_null()).then_some(v)
    }

    /// The site's description for messages: its path, or that there is none.
    pub fn describe(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => format!(
                "the site file ({} does not exist)",
                self.looked_for.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests;
