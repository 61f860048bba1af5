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

/// Copy artifact `name` from `url` (a path or `file://` URL) into a new private directory under
/// `work_dir`, hash the copy and compare with `sha256`.
pub fn stage(name: &str, url: &str, sha256: &str, work_dir: &Path) -> Result<Staged> {
    let src = match url.strip_prefix("file://") {
        Some(p) => PathBuf::from(p),
        None if url.contains("://") => bail!(
            "artifact {name}: {url} is not in the local cache; download it first (`handover artifacts fetch` comes with the installers issue) or name a local path"
        ),
        None => PathBuf::from(url),
    };
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
            &dir.path().join("work"),
        )
        .unwrap();
        assert_ne!(s.path, f);
        assert_eq!(std::fs::read(&s.path).unwrap(), b"#!/bin/sh\necho hi\n");
        let e = stage(
            "lsagent-linux",
            f.to_str().unwrap(),
            &"0".repeat(64),
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
            &dir.path().join("w"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("writable by group or others"), "{e}");
    }

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            sha256_bytes(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
