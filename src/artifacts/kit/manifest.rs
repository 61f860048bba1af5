//! `MANIFEST.sha256`: written by `kit build` over every file of the kit, read back by `kit verify`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::regular::{not_regular, open_regular};
use super::MANIFEST;
use crate::support::par::par_map;

/// Every file under `dir` (relative, `/`-separated, sorted), except the manifest itself.
pub(super) fn files_under(dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) -> Result<()> {
        for e in std::fs::read_dir(d).with_context(|| format!("reading {}", d.display()))? {
            let e = e?;
            let t = e.file_type()?;
            let p = e.path();
            if t.is_dir() {
                walk(root, &p, out)?;
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(rel.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    // `keys/` (the record-signing key, `kit keygen`) and `records/` (devices' signed records) change
    // after the kit is built and prove themselves by signature, so the manifest does not cover them.
    out.retain(|p| p != MANIFEST && !p.starts_with("keys/") && !p.starts_with("records/"));
    out.sort();
    Ok(out)
}

pub(super) fn write_manifest(dir: &Path) -> Result<(usize, u64)> {
    let files = files_under(dir)?;
    let hashes = par_map(&files, crate::support::par::cores(), |rel| {
        crate::support::hashing::sha256_file(&dir.join(rel)).map(|h| {
            let len = std::fs::metadata(dir.join(rel)).map_or(0, |m| m.len());
            (h, len)
        })
    });
    let mut text = String::new();
    let mut bytes = 0;
    for (rel, h) in files.iter().zip(hashes) {
        let (h, len) = h.with_context(|| format!("hashing {rel}"))?;
        bytes += len;
        let _ = writeln!(text, "{h}  {rel}");
    }
    std::fs::write(dir.join(MANIFEST), text)?;
    Ok((files.len(), bytes))
}

/// The largest `MANIFEST.sha256` read (F15): about 170,000 lines; a kit carries a few thousand files.
pub const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

/// The kit's manifest: a regular file of at most [`MAX_MANIFEST`] bytes, refused before more is read.
pub(super) fn read_manifest(dir: &Path) -> Result<String> {
    use std::io::Read;
    let mpath = dir.join(MANIFEST);
    let f = open_regular(dir, MANIFEST).map_err(|e| {
        if not_regular(&e) {
            crate::support::error::InputError::refused(format!(
                "{}: not a regular file (a symbolic link, a device or a FIFO): not read",
                mpath.display()
            ))
        } else {
            anyhow::Error::from(e)
                .context(format!("{}: not a kit (cannot read it)", mpath.display()))
        }
    })?;
    let len = f.metadata()?.len();
    if len > MAX_MANIFEST {
        return Err(crate::support::error::InputError::refused(format!(
            "{}: {len} bytes, more than a kit's manifest ever holds ({MAX_MANIFEST}): not read",
            mpath.display()
        )));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(MAX_MANIFEST + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(crate::support::error::InputError::refused(format!(
            "{}: grew past {MAX_MANIFEST} bytes while being read: not read",
            mpath.display()
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        crate::support::error::InputError::refused(format!("{}: not text", mpath.display()))
    })
}
