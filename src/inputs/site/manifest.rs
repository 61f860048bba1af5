//! Directory artifacts: `sha256sum`-format manifests, inline or read from a pinned file beside the site.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::schema::SiteFile;
use super::values::resolve_url;
use crate::support::error::InputError;

pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// A path inside a directory artifact: relative, `/`-separated, no `.`/`..`/empty parts, no `\`, so
/// that staging and downloading can never leave the artifact's own directory.
pub fn check_relpath(p: &str) -> Result<(), String> {
    if p.is_empty() || p.starts_with('/') || p.contains('\\') || p.contains(':') {
        return Err(format!("{p:?} must be a relative path with / separators"));
    }
    if p.split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(format!("{p:?} must not contain empty, . or .. parts"));
    }
    if let Some(c) = p.chars().find(|c| c.is_control()) {
        return Err(format!("{p:?} contains the control character {c:?}"));
    }
    Ok(())
}

/// Parse a `sha256sum`-format manifest (`HEX  PATH` or `HEX *PATH` per line; blank lines and `#`
/// comments skipped). Errors carry the 1-based line.
pub fn parse_manifest(text: &str) -> Result<BTreeMap<String, String>, (usize, String)> {
    let mut files = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || (i + 1, format!("expected `SHA256  PATH`, found {line:?}"));
        let (hash, rest) = line.split_once(' ').ok_or_else(bad)?;
        let path = rest
            .strip_prefix(' ')
            .or_else(|| rest.strip_prefix('*'))
            .ok_or_else(bad)?;
        if !is_sha256(hash) {
            return Err(bad());
        }
        check_relpath(path).map_err(|e| (i + 1, e))?;
        if files
            .insert(path.to_string(), hash.to_ascii_lowercase())
            .is_some()
        {
            return Err((i + 1, format!("{path:?} is listed twice")));
        }
    }
    if files.is_empty() {
        return Err((1, "lists no files".into()));
    }
    Ok(files)
}

/// The canonical manifest of a directory artifact (sorted, `sha256sum` format); its sha256 is the
/// artifact's identity in reports and records.
pub fn canonical_manifest(files: &BTreeMap<String, String>) -> String {
    files.iter().map(|(p, h)| format!("{h}  {p}\n")).collect()
}

/// The files of each directory artifact: inline, or read from its manifest file, which must have the
/// sha256 the site pins (errors name the manifest's own file and line).
pub(crate) fn directory_artifacts(
    file: &SiteFile,
    site_path: Option<&Path>,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, InputError> {
    let mut trees = BTreeMap::new();
    for (name, art) in &file.artifacts {
        if let Some(files) = &art.files {
            let files = files
                .iter()
                .map(|(p, h)| (p.clone(), h.to_ascii_lowercase()))
                .collect();
            trees.insert(name.clone(), files);
            continue;
        }
        let (Some(manifest), Some(pinned)) = (&art.manifest, &art.sha256) else {
            continue;
        };
        let base = site_path.and_then(Path::parent);
        let mpath = PathBuf::from(resolve_url(manifest, base));
        let key = ["artifacts", name.as_str(), "manifest"];
        let bytes = read_manifest_file(base.unwrap_or(Path::new(".")), manifest)
            .map_err(|e| err(&key, format!("cannot read {}: {e}", mpath.display())))?;
        let got = crate::support::hashing::sha256_bytes(&bytes);
        if !got.eq_ignore_ascii_case(pinned) {
            // Not the sha256 it has: that would tell anyone who can edit a site the hash of a file.
            return Err(err(
                &key,
                format!(
                    "{} does not have the sha256 the site pins ({}); refusing a manifest that changed",
                    mpath.display(),
                    pinned.to_ascii_lowercase()
                ),
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| err(&key, format!("{} is not UTF-8 text", mpath.display())))?;
        let files = parse_manifest(&text).map_err(|(line, message)| InputError::Value {
            file: mpath.clone(),
            line,
            key: key.join("."),
            message,
        })?;
        trees.insert(name.clone(), files);
    }
    Ok(trees)
}

/// The largest manifest file a site may name.
pub const MAX_MANIFEST: u64 = 16 << 20;

/// Read the manifest `rel` (a checked relative path) below `base`: no component may be a symbolic
/// link, and it must be a regular file of at most [`MAX_MANIFEST`] bytes (F16).
pub(crate) fn read_manifest_file(base: &Path, rel: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    check_relpath(rel)?;
    let mut p = base.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        p.push(part);
        let md = std::fs::symlink_metadata(&p).map_err(|e| e.to_string())?;
        if md.file_type().is_symlink() {
            return Err(format!("{} is a symbolic link", p.display()));
        }
        if i + 1 < parts.len() && !md.is_dir() {
            return Err(format!("{} is not a directory", p.display()));
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        options.custom_flags(0x0020_0000); // FILE_FLAG_OPEN_REPARSE_POINT
    }
    let f = options.open(&p).map_err(|e| e.to_string())?;
    let md = f.metadata().map_err(|e| e.to_string())?;
    if !md.is_file() || md.file_type().is_symlink() {
        return Err("not a regular file".into());
    }
    if md.len() > MAX_MANIFEST {
        return Err(format!("larger than {} MiB", MAX_MANIFEST >> 20));
    }
    let mut bytes = Vec::new();
    f.take(MAX_MANIFEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(format!("larger than {} MiB", MAX_MANIFEST >> 20));
    }
    Ok(bytes)
}
