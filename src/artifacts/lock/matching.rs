//! Which table an entry of DIR belongs to: the site's existing artifact tables, the three matching
//! rules of the module doc (url's last segment, then the name), and why an entry cannot be used.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path};

use anyhow::{anyhow, bail, Context, Result};
use toml_edit::{DocumentMut, Item};

/// An artifact table already in the site.
#[derive(Debug)]
pub(super) struct Existing {
    pub(super) name: String,
    /// `url` when it is a string.
    pub(super) url: Option<String>,
    pub(super) has_url: bool,
    pub(super) has_sha256: bool,
    pub(super) has_files: bool,
    pub(super) manifest: Option<String>,
}

pub(super) fn existing_artifacts(
    doc: &DocumentMut,
    site_path: &Path,
    text: &str,
) -> Result<Vec<Existing>> {
    let Some(item) = doc.get("artifacts") else {
        return Ok(Vec::new());
    };
    let Some(arts) = item.as_table_like() else {
        bail!(
            "{}:{}: `artifacts` must be a table of [artifacts.NAME] tables",
            site_path.display(),
            crate::inputs::textpos::line_of(text, &["artifacts"])
        );
    };
    let mut out = Vec::new();
    for (name, item) in arts.iter() {
        let Some(t) = item.as_table_like() else {
            bail!(
                "{}:{}: artifacts.{name} must be a table (url and sha256, or url and files)",
                site_path.display(),
                crate::inputs::textpos::line_of(text, &["artifacts", name])
            );
        };
        out.push(Existing {
            name: name.to_string(),
            url: t.get("url").and_then(Item::as_str).map(str::to_string),
            has_url: t.contains_key("url"),
            has_sha256: t.contains_key("sha256"),
            has_files: t.contains_key("files"),
            manifest: t
                .get("manifest")
                .map(|m| m.as_str().unwrap_or("…").to_string()),
        });
    }
    Ok(out)
}

pub(super) enum Target<'a> {
    /// Rule 1: its url names the entry.
    Refresh(&'a Existing),
    /// Rule 2: a table with no url yet.
    Complete(&'a Existing),
    /// Rule 2: a name the profiles use, not yet in the site.
    Create(String),
}

impl Target<'_> {
    pub(super) fn name(&self) -> &str {
        match self {
            Target::Refresh(a) | Target::Complete(a) => &a.name,
            Target::Create(n) => n,
        }
    }
    pub(super) fn existing(&self) -> Option<&Existing> {
        match self {
            Target::Refresh(a) | Target::Complete(a) => Some(a),
            Target::Create(_) => None,
        }
    }
}

pub(super) enum ByName<'a> {
    Complete(&'a Existing),
    Create(String),
    HasOtherUrl(&'a Existing),
    None,
}

/// Rule 2: the entry's name, then the name with its last extension stripped, and so on.
pub(super) fn by_name<'a>(name: &str, existing: &'a [Existing], known: &[String]) -> ByName<'a> {
    let mut candidates = vec![name];
    let mut stem = name;
    while let Some((s, _)) = stem.rsplit_once('.') {
        if s.is_empty() {
            break;
        }
        candidates.push(s);
        stem = s;
    }
    for c in candidates {
        if let Some(a) = existing.iter().find(|a| a.name == c) {
            return if a.has_url {
                ByName::HasOtherUrl(a)
            } else {
                ByName::Complete(a)
            };
        }
        if known.iter().any(|k| k == c) {
            return ByName::Create(c.to_string());
        }
    }
    ByName::None
}

pub(super) fn hint_names(existing: &[Existing], known: &[String]) -> String {
    let names: BTreeSet<&str> = known
        .iter()
        .map(String::as_str)
        .chain(
            existing
                .iter()
                .filter(|a| !a.has_url)
                .map(|a| a.name.as_str()),
        )
        .collect();
    if names.is_empty() {
        "(the profiles name none)".to_string()
    } else {
        names.into_iter().collect::<Vec<_>>().join(", ")
    }
}

/// Why an entry of this kind (directory or file) cannot go into this table, if it cannot.
pub(super) fn kind_conflict(a: &Existing, is_dir: bool) -> Option<String> {
    let n = &a.name;
    if is_dir {
        if let Some(m) = &a.manifest {
            return Some(format!(
                "[artifacts.{n}] pins its files by a manifest file ({m}); lock writes an inline `files` table only: update that manifest and its sha256 by hand, or replace `manifest` and `sha256` by a `files` table and rerun"
            ));
        }
        if a.has_sha256 && !a.has_files {
            return Some(format!(
                "a directory, but [artifacts.{n}] is a file artifact (it has a sha256)"
            ));
        }
    } else if a.has_files || a.manifest.is_some() {
        return Some(format!(
            "a file, but [artifacts.{n}] is a directory artifact (it has {})",
            if a.has_files { "files" } else { "a manifest" }
        ));
    }
    None
}

/// The last path segment a url names: for a URL (`scheme://`), the part after the last `/` (a trailing
/// `/` trimmed first, query and fragment dropped), percent-decoded; for a path, its file name.
pub(super) fn url_basename(url: &str) -> Option<String> {
    let base = if let Some((_, rest)) = url.split_once("://") {
        let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
        // The path after the host: `https://host` and `https://host/` name no file.
        let (_, path) = rest.split_once('/')?;
        percent_decode(path.trim_end_matches('/').rsplit('/').next()?)
    } else {
        let p = url.trim_end_matches(['/', '\\']);
        p.rsplit(['/', '\\']).next()?.to_string()
    };
    (!base.is_empty() && base != "." && base != "..").then_some(base)
}

/// `%XX` decoded; anything else (a `%` without two hex digits) kept as written. Bytes that are not
/// UTF-8 become U+FFFD, as before: the result is only compared with a file name that is UTF-8.
pub(super) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The `url` for an entry: its path relative to the site file's directory when it lies under it
/// (`/`-separated), else its absolute path.
pub(super) fn url_for(entry: &Path, site_dir_canon: Option<&Path>) -> Result<String> {
    let canon =
        fs::canonicalize(entry).with_context(|| format!("cannot read {}", entry.display()))?;
    if let Some(rel) = site_dir_canon.and_then(|d| canon.strip_prefix(d).ok()) {
        let parts: Option<Vec<&str>> = rel
            .components()
            .map(|c| match c {
                Component::Normal(s) => s.to_str(),
                _ => None,
            })
            .collect();
        if let Some(parts) = parts.filter(|p| !p.is_empty()) {
            return Ok(parts.join("/"));
        }
    }
    let abs = std::path::absolute(entry).unwrap_or(canon);
    abs.to_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{}: the path is not valid UTF-8", abs.display()))
}
