//! Installers at install time (SPEC §6): the site names each one with a sha256; it is copied into a
//! private directory, hashed there and run from there, so nothing can swap it between the check and the
//! run. A mismatch refuses the install and changes nothing. (Downloading and the kit: installers issue.)

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::perms;

/// Hex sha256 of a reader.
pub fn sha256_reader(mut r: impl Read) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

pub fn sha256_bytes(b: &[u8]) -> String {
    hex(&Sha256::digest(b))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// An installer ready to run: a private copy whose hash was checked after copying.
#[derive(Debug)]
pub struct Staged {
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
    _dir: tempfile::TempDir,
}

/// The download cache of this OS (SPEC §6); `HANDOVER_CACHE_DIR` overrides it.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HANDOVER_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if cfg!(windows) {
        PathBuf::from(std::env::var("ProgramData").unwrap_or_else(|_| r"C:\ProgramData".into()))
            .join(r"handover\cache")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Caches/handover")
    } else {
        PathBuf::from("/var/cache/handover")
    }
}

/// Where an artifact's bytes are expected: its local path, or for a download its place in the cache.
/// The cache is addressed by content (`CACHE/sha256/<hex>`): a cached file is valid exactly when its
/// hash is its name, whatever URL it came from.
pub fn location(url: &str, sha256: &str, cache: &Path) -> PathBuf {
    match url.strip_prefix("file://") {
        Some(p) => PathBuf::from(p),
        None if url.contains("://") => cache.join("sha256").join(sha256.to_ascii_lowercase()),
        None => PathBuf::from(url),
    }
}

/// What `artifacts verify` found for one artifact.
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

/// Re-hash an artifact where it is expected (its path, or its place in the cache).
pub fn verify(name: &str, url: &str, sha256: &str, cache: &Path) -> Verified {
    let path = location(url, sha256, cache);
    if !path.exists() {
        return Verified::Missing(path);
    }
    if let Err(e) = perms::require_trusted(&path, &format!("artifact {name}")) {
        return Verified::Refused(format!("{e:#}"));
    }
    match std::fs::File::open(&path).and_then(sha256_reader) {
        Ok(got) if got.eq_ignore_ascii_case(sha256) => Verified::Ok(path),
        Ok(got) => Verified::Mismatch {
            path,
            expected: sha256.to_ascii_lowercase(),
            got,
        },
        Err(e) => Verified::Refused(format!("{}: {e}", path.display())),
    }
}

/// Copy artifact `name` from `url` (a path, a `file://` URL, or a download already in `cache`) into a
/// new private directory under `work_dir`, hash the copy and compare with `sha256`.
pub fn stage(name: &str, url: &str, sha256: &str, cache: &Path, work_dir: &Path) -> Result<Staged> {
    let src = location(url, sha256, cache);
    if url.contains("://") && !url.starts_with("file://") && !src.exists() {
        bail!(
            "artifact {name}: {url} is not in the cache ({}); download it first (`handover artifacts fetch` comes with the installers issue) or name a local path",
            src.display()
        );
    }
    // The hash is checked on the private copy below; refusing a source a standard user could write
    // still matters, so that the record never names an installer someone else could have swapped.
    perms::require_trusted(&src, &format!("artifact {name}"))?;
    perms::ensure_private_dir(work_dir)?;
    let dir = tempfile::Builder::new()
        .prefix("artifact-")
        .tempdir_in(work_dir)
        .context("creating a private directory for the installer")?;
    perms::ensure_private_dir(dir.path())?;
    let file_name = src
        .file_name()
        .map_or_else(|| name.into(), |f| f.to_os_string());
    let dest = dir.path().join(file_name);
    std::fs::copy(&src, &dest)
        .with_context(|| format!("artifact {name}: copying {}", src.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o700))?;
    }
    let got = sha256_reader(std::fs::File::open(&dest)?)?;
    if !got.eq_ignore_ascii_case(sha256) {
        bail!("artifact {name}: sha256 mismatch for {}: the site expects {sha256}, the file has {got}; refusing to run it", src.display());
    }
    Ok(Staged {
        name: name.to_string(),
        path: dest,
        sha256: got,
        _dir: dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_copy_and_refused_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("LsAgent.run");
        std::fs::write(&f, b"#!/bin/sh\necho hi\n").unwrap();
        let sum = sha256_bytes(b"#!/bin/sh\necho hi\n");
        let s = stage(
            "lsagent-linux",
            f.to_str().unwrap(),
            &sum,
            &dir.path().join("cache"),
            &dir.path().join("work"),
        )
        .unwrap();
        assert_ne!(s.path, f);
        assert_eq!(std::fs::read(&s.path).unwrap(), b"#!/bin/sh\necho hi\n");
        let e = stage(
            "lsagent-linux",
            f.to_str().unwrap(),
            &"0".repeat(64),
            &dir.path().join("cache"),
            &dir.path().join("work"),
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
            "a",
            f.to_str().unwrap(),
            &sha256_bytes(b"x"),
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
        let url = "https://example.ac.uk/LsAgent.run";
        assert_eq!(
            verify("a", url, &sum, &cache),
            Verified::Missing(cache.join("sha256").join(&sum))
        );
        std::fs::create_dir_all(cache.join("sha256")).unwrap();
        std::fs::write(cache.join("sha256").join(&sum), b"installer").unwrap();
        assert_eq!(
            verify("a", url, &sum, &cache),
            Verified::Ok(cache.join("sha256").join(&sum))
        );
        let s = stage("a", url, &sum, &cache, &dir.path().join("work")).unwrap();
        assert_eq!(std::fs::read(&s.path).unwrap(), b"installer");
        std::fs::write(cache.join("sha256").join(&sum), b"swapped").unwrap();
        assert!(matches!(
            verify("a", url, &sum, &cache),
            Verified::Mismatch { .. }
        ));
        let e = stage(
            "b",
            "https://example.ac.uk/x",
            &"1".repeat(64),
            &cache,
            &dir.path().join("work"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("is not in the cache"), "{e}");
    }

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            sha256_bytes(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
