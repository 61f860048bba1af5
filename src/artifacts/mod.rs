//! Installers at install time (SPEC §6): the site names each one with a sha256; it is copied into a
//! private directory, hashed there and run from there, so nothing can swap it between the check and the
//! run. A mismatch refuses the install and changes nothing. (Downloading and the kit: installers issue.)

pub mod fetch;
pub mod kit;
pub mod kitkey;
pub mod lock;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::par::par_map;
use anyhow::{bail, Context, Result};

use crate::support::perms;

/// An installer ready to run: a private copy whose hash was checked after copying.
#[derive(Debug)]
pub struct Staged {
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
    _dir: tempfile::TempDir,
}

/// An artifact as the site defines it (SPEC §6): one file, or a directory whose every file is pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    /// An https URL, a `file://` URL or a path (already resolved against the site file's directory).
    pub url: String,
    /// A file's sha256, or a directory's canonical-manifest sha256 (its identity in records).
    pub sha256: String,
    /// A directory artifact's files: `/`-separated path → sha256.
    pub files: Option<BTreeMap<String, String>>,
    /// The name a file artifact is staged under: the site's `file_name`, else the URL's file name
    /// (never its query: `?linkid=…` is no name NTFS takes), else the artifact's own name.
    pub file_name: String,
    /// Installer arguments the site gives (`args`), handed to scripts as a JSON array.
    pub args: Vec<String>,
}

impl Spec {
    /// The artifact `name` from a site's template context (`artifacts.NAME`), if the site defines it.
    pub fn from_site(site: &crate::inputs::site::Site, name: &str) -> Option<Spec> {
        let a = site.get("artifacts")?.get(name)?;
        Some(Spec {
            name: name.to_string(),
            url: a["url"].as_str()?.to_string(),
            sha256: a["sha256"].as_str()?.to_ascii_lowercase(),
            files: a["files"].as_object().map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            }),
            file_name: a["file_name"]
                .as_str()
                .filter(|f| crate::inputs::site::is_plain_file_name(f))
                .map_or_else(|| name.to_string(), str::to_string),
            args: a["args"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The local path the URL names, if it is a path or a `file://` URL.
    pub fn local(&self) -> Option<PathBuf> {
        match self.url.strip_prefix("file://") {
            Some(p) => Some(PathBuf::from(p)),
            None if self.url.contains("://") => None,
            None => Some(PathBuf::from(&self.url)),
        }
    }

    /// Every file of the artifact: (path inside a directory artifact or "", sha256).
    pub fn parts(&self) -> Vec<(String, String)> {
        match &self.files {
            Some(f) => f.iter().map(|(p, h)| (p.clone(), h.clone())).collect(),
            None => vec![(String::new(), self.sha256.clone())],
        }
    }

    /// Where one part's bytes are: the local file when the URL is a path and it exists there, else its
    /// place in the cache. The cache is addressed by content (`CACHE/sha256/<hex>`): a cached file is
    /// valid exactly when its hash is its name, whatever URL it came from, so a kit's cache serves a
    /// site whose local paths do not exist on the device.
    pub fn source(&self, rel: &str, sha256: &str, cache: &Path) -> PathBuf {
        if let Some(base) = self.local() {
            let p = if rel.is_empty() { base } else { base.join(rel) };
            if p.exists() {
                return p;
            }
        }
        cache_path(cache, sha256)
    }

    /// The download URL of one part (a directory artifact's files lie under its base URL).
    pub fn part_url(&self, rel: &str) -> String {
        if rel.is_empty() {
            return self.url.clone();
        }
        let encoded: Vec<String> = rel.split('/').map(percent_encode).collect();
        format!("{}/{}", self.url.trim_end_matches('/'), encoded.join("/"))
    }
}

/// `CACHE/sha256/<hex>`.
pub fn cache_path(cache: &Path, sha256: &str) -> PathBuf {
    cache.join("sha256").join(sha256.to_ascii_lowercase())
}

fn percent_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What `artifacts verify` found for one artifact (for a directory: its first file that is not ok).
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    Ok(PathBuf),
    Missing(PathBuf),
    Mismatch {
        path: PathBuf,
        expected: String,
        got: String,
    },
    Refused(String),
}

/// Re-hash one file where it is expected.
pub fn verify_file(path: &Path, sha256: &str, what: &str) -> Verified {
    if !path.exists() {
        return Verified::Missing(path.to_path_buf());
    }
    if let Err(e) = perms::require_trusted(path, what) {
        return Verified::Refused(format!("{e:#}"));
    }
    match crate::support::hashing::sha256_file(path) {
        Ok(got) if got.eq_ignore_ascii_case(sha256) => Verified::Ok(path.to_path_buf()),
        Ok(got) => Verified::Mismatch {
            path: path.to_path_buf(),
            expected: sha256.to_ascii_lowercase(),
            got,
        },
        Err(e) => Verified::Refused(format!("{}: {e}", path.display())),
    }
}

/// Re-hash every file of an artifact where it is expected (its path, or the cache), `jobs` at a time.
pub fn verify(spec: &Spec, cache: &Path, jobs: usize) -> Verified {
    let parts = spec.parts();
    let results = par_map(&parts, jobs, |(rel, sha)| {
        verify_file(
            &spec.source(rel, sha, cache),
            sha,
            &format!("artifact {}", spec.name),
        )
    });
    for r in results {
        if !matches!(r, Verified::Ok(_)) {
            return r;
        }
    }
    match (&spec.files, spec.local()) {
        (Some(_), Some(base)) if base.exists() => Verified::Ok(base),
        (Some(_), _) => Verified::Ok(cache.join("sha256")),
        (None, _) => Verified::Ok(spec.source("", &spec.sha256, cache)),
    }
}

/// Copy the artifact (a path, a `file://` URL, or a download already in `cache`) into a new private
/// directory under `work_dir`, hash the copy and compare with the site's sha256; for a directory
/// artifact every file, into the same relative place.
pub fn stage(spec: &Spec, cache: &Path, work_dir: &Path) -> Result<Staged> {
    let name = &spec.name;
    // F19: every name the copy is made under stays one plain name inside the private directory, on
    // every OS (a `\` is a separator on Windows, `C:x` names another drive, `CON` a device).
    let staged_name = if spec.files.is_some() {
        name
    } else {
        &spec.file_name
    };
    if !crate::inputs::site::is_plain_file_name(staged_name) {
        return Err(crate::support::error::InputError::refused(format!(
            "artifact {name}: {staged_name:?} is not a plain file name to stage the installer under (letters, digits, . _ + -; no path, no leading dot, no device name)"
        )));
    }
    for (rel, _) in spec.parts().iter().filter(|_| spec.files.is_some()) {
        if let Some(bad) = rel.split('/').find(|c| !plain_path_part(c)) {
            return Err(crate::support::error::InputError::refused(format!(
                "artifact {name}: {rel:?} has {bad:?}, which could leave the private directory it is staged in; refusing it"
            )));
        }
    }
    perms::ensure_private_dir(work_dir)?;
    let dir = tempfile::Builder::new()
        .prefix("artifact-")
        .tempdir_in(work_dir)
        .context("creating a private directory for the installer")?;
    perms::ensure_private_dir(dir.path())?;
    let root = match &spec.files {
        Some(_) => dir.path().join(name),
        None => dir.path().join(&spec.file_name),
    };
    for (rel, sha) in spec.parts() {
        let src = spec.source(&rel, &sha, cache);
        let what = if rel.is_empty() {
            format!("artifact {name}")
        } else {
            format!("artifact {name}: {rel}")
        };
        if !src.exists() {
            match spec.local() {
                None => bail!(
                    "{what}: {} is not in the cache ({}); run `handover artifacts fetch` first, or use a kit (`apply --kit DIR`)",
                    spec.part_url(&rel),
                    src.display()
                ),
                Some(_) => bail!("{what}: {} does not exist", src.display()),
            }
        }
        // The hash is checked on the private copy below; refusing a source a standard user could
        // write still matters, so that the record never names an installer someone could have swapped.
        perms::require_trusted(&src, &what)?;
        let dest = if rel.is_empty() {
            root.clone()
        } else {
            root.join(&rel)
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&src, &dest).with_context(|| format!("{what}: copying {}", src.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o700))?;
        }
        let got = crate::support::hashing::sha256_file(&dest)?;
        if !got.eq_ignore_ascii_case(&sha) {
            bail!("{what}: sha256 mismatch for {}: the site expects {sha}, the file has {got}; refusing to run it", src.display());
        }
    }
    Ok(Staged {
        name: name.to_string(),
        path: root,
        sha256: spec.sha256.clone(),
        _dir: dir,
    })
}

/// One `/`-separated part of a directory artifact's file path, safe to create on every OS: not empty,
/// not `.` or `..`, no leading dot, no trailing dot or space (Windows drops them), no `\ / : * ? " < > |`
/// or control character, and no DOS device name (`CON`, `NUL`, `COM1`, `LPT1`, with any extension).
fn plain_path_part(part: &str) -> bool {
    let stem = part
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_ascii_uppercase();
    let device = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"].contains(&stem.as_str())
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit())
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && ["¹", "²", "³"].iter().any(|d| stem.ends_with(d)));
    !part.is_empty()
        && part.len() <= 255
        && !part.starts_with('.')
        && !part.ends_with(['.', ' '])
        && !part
            .chars()
            .any(|c| c.is_control() || "\\/:*?\"<>|".contains(c))
        && !device
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::hashing::sha256_bytes;

    fn file_spec(url: &str, sha256: &str) -> Spec {
        Spec {
            name: "lsagent-linux".into(),
            url: url.into(),
            sha256: sha256.into(),
            files: None,
            file_name: crate::inputs::site::url_file_name(url)
                .unwrap_or_else(|| "lsagent-linux".into()),
            args: vec![],
        }
    }

    #[test]
    fn verified_copy_and_refused_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("LsAgent.run");
        std::fs::write(&f, b"#!/bin/sh\necho hi\n").unwrap();
        let sum = sha256_bytes(b"#!/bin/sh\necho hi\n");
        let cache = dir.path().join("cache");
        let work = dir.path().join("work");
        let s = stage(&file_spec(f.to_str().unwrap(), &sum), &cache, &work).unwrap();
        assert_ne!(s.path, f);
        assert_eq!(s.path.file_name().unwrap(), "LsAgent.run");
        assert_eq!(std::fs::read(&s.path).unwrap(), b"#!/bin/sh\necho hi\n");
        let e = stage(
            &file_spec(f.to_str().unwrap(), &"0".repeat(64)),
            &cache,
            &work,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("sha256 mismatch") && e.contains("refusing to run it"),
            "{e}"
        );
    }

    #[test]
    fn writable_source_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("agent.run");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = stage(
            &file_spec(f.to_str().unwrap(), &sha256_bytes(b"x")),
            &dir.path().join("c"),
            &dir.path().join("w"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("writable by group or others"), "{e}");
    }

    #[test]
    fn downloads_are_found_in_the_cache_by_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let sum = sha256_bytes(b"installer");
        let spec = file_spec("https://example.ac.uk/LsAgent.run", &sum);
        assert_eq!(
            verify(&spec, &cache, 2),
            Verified::Missing(cache.join("sha256").join(&sum))
        );
        std::fs::create_dir_all(cache.join("sha256")).unwrap();
        std::fs::write(cache.join("sha256").join(&sum), b"installer").unwrap();
        assert_eq!(
            verify(&spec, &cache, 2),
            Verified::Ok(cache.join("sha256").join(&sum))
        );
        let s = stage(&spec, &cache, &dir.path().join("work")).unwrap();
        assert_eq!(std::fs::read(&s.path).unwrap(), b"installer");
        assert_eq!(s.path.file_name().unwrap(), "LsAgent.run");
        std::fs::write(cache.join("sha256").join(&sum), b"swapped").unwrap();
        assert!(matches!(
            verify(&spec, &cache, 1),
            Verified::Mismatch { .. }
        ));
        let e = stage(
            &file_spec("https://example.ac.uk/x", &"1".repeat(64)),
            &cache,
            &dir.path().join("work"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("is not in the cache"), "{e}");
    }

    #[test]
    fn a_local_path_that_is_gone_is_served_from_the_cache_by_hash() {
        // A kit carries the site beside a content-addressed cache: the site's local paths (the
        // preparing machine's) do not exist on the device.
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let sum = sha256_bytes(b"agent");
        std::fs::create_dir_all(cache.join("sha256")).unwrap();
        std::fs::write(cache.join("sha256").join(&sum), b"agent").unwrap();
        let spec = file_spec("/nonexistent/LsAgent.run", &sum);
        assert!(matches!(verify(&spec, &cache, 1), Verified::Ok(_)));
        let s = stage(&spec, &cache, &dir.path().join("work")).unwrap();
        assert_eq!(std::fs::read(&s.path).unwrap(), b"agent");
    }

    #[test]
    fn directory_artifacts_are_staged_and_verified_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("office-source");
        std::fs::create_dir_all(src.join("Office/Data/16.0.1")).unwrap();
        std::fs::write(src.join("Office/Data/v64.cab"), b"v64").unwrap();
        std::fs::write(src.join("Office/Data/16.0.1/s641033.cab"), b"s64").unwrap();
        let files: BTreeMap<String, String> = [
            ("Office/Data/v64.cab", sha256_bytes(b"v64")),
            ("Office/Data/16.0.1/s641033.cab", sha256_bytes(b"s64")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let spec = Spec {
            name: "office-source".into(),
            url: src.display().to_string(),
            sha256: "f".repeat(64),
            files: Some(files.clone()),
            file_name: "office-source".into(),
            args: vec![],
        };
        let cache = dir.path().join("cache");
        assert_eq!(verify(&spec, &cache, 2), Verified::Ok(src.clone()));
        let s = stage(&spec, &cache, &dir.path().join("work")).unwrap();
        assert_eq!(s.path.file_name().unwrap(), "office-source");
        assert_eq!(
            std::fs::read(s.path.join("Office/Data/16.0.1/s641033.cab")).unwrap(),
            b"s64"
        );
        std::fs::write(src.join("Office/Data/v64.cab"), b"v65").unwrap();
        match verify(&spec, &cache, 2) {
            Verified::Mismatch { path, .. } => assert!(path.ends_with("Office/Data/v64.cab")),
            other => panic!("{other:?}"),
        }
        let e = stage(&spec, &cache, &dir.path().join("work"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("office-source: Office/Data/v64.cab: sha256 mismatch"),
            "{e}"
        );
        let remote = Spec {
            url: "https://files.example.ac.uk/office source/".into(),
            ..spec
        };
        assert_eq!(
            remote.part_url("Office/Data/16.0.1/s641033.cab"),
            "https://files.example.ac.uk/office source/Office/Data/16.0.1/s641033.cab"
        );
        assert_eq!(file_spec("https://x/a", "0").part_url(""), "https://x/a");
        assert_eq!(percent_encode("a b+c"), "a%20b%2Bc");
    }

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            sha256_bytes(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    /// F19 (../shared/reviews/security-2026-12.md): the staged name came from the URL's last `/` part,
    /// so `a\..\..\Windows\System32\x.dll` left the private directory when SYSTEM copied it on Windows.
    /// Now a name that is not one plain file name is refused before anything is created or copied.
    #[test]
    fn f19_a_staged_file_name_cannot_leave_the_private_directory() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("agent.bin");
        std::fs::write(&f, b"agent").unwrap();
        let work = dir.path().join("work");
        for bad in [
            r"a\..\..\Windows\System32\x.dll",
            "../x.dll",
            "..",
            ".hidden.exe",
            "C:x.exe",
            "CON",
            "nul.txt",
            "COM1.exe",
            "a\u{1b}]0;x.exe",
            "x.exe.",
            "",
        ] {
            let spec = Spec {
                file_name: bad.into(),
                ..file_spec(f.to_str().unwrap(), &sha256_bytes(b"agent"))
            };
            let e = stage(&spec, &dir.path().join("c"), &work)
                .unwrap_err()
                .to_string();
            assert!(e.contains("not a plain file name"), "{bad:?}: {e}");
        }
        // Nothing was made: not even the private directory.
        assert!(!work.exists());
        // A directory artifact's file paths are held to the same rule, part by part.
        for bad in [
            r"Office\..\..\x.dll",
            "Office/../x",
            "Office/C:x",
            "Office/.x",
            "AUX/x",
        ] {
            let spec = Spec {
                name: "office-source".into(),
                files: Some(BTreeMap::from([(bad.to_string(), sha256_bytes(b"x"))])),
                ..file_spec(dir.path().to_str().unwrap(), &"f".repeat(64))
            };
            let e = stage(&spec, &dir.path().join("c"), &work)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("could leave the private directory"),
                "{bad:?}: {e}"
            );
        }
        // The name a site gives through its URL is the last part after any `/` or `\`.
        let spec = file_spec(
            r"https://files.example.ac.uk/a\..\..\Windows\System32\x.dll",
            &sha256_bytes(b"agent"),
        );
        assert_eq!(spec.file_name, "x.dll");
        // Plain names still stage.
        assert!(plain_path_part("16.0.1") && plain_path_part("s641033.cab"));
        let s = stage(
            &file_spec(f.to_str().unwrap(), &sha256_bytes(b"agent")),
            &dir.path().join("c"),
            &work,
        )
        .unwrap();
        assert!(s.path.starts_with(&work));
    }
}
