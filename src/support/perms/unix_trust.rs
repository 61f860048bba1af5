//! Unix: walk a path as the kernel would and refuse what a user other than root (or the one running
//! handover) could change.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use crate::support::error::InputError;

/// What is wrong with a file or directory someone other than root (or the user running handover)
/// could change, if anything. A sticky directory above the object (such as /tmp) is fine: others
/// cannot replace what they do not own, and what is in it is checked for its own owner.
pub(super) fn problem(md: &std::fs::Metadata, object: bool) -> Option<&'static str> {
    let me = super::euid();
    let sticky = md.mode() & 0o1000 != 0 && md.is_dir() && !object;
    if md.uid() != 0 && md.uid() != me {
        Some("owned by another user")
    } else if md.mode() & 0o022 != 0 && !sticky {
        Some("writable by group or others")
    } else {
        None
    }
}

pub(super) fn refusal(
    what: &str,
    shown: &Path,
    p: &Path,
    md: &std::fs::Metadata,
    why: &str,
) -> anyhow::Error {
    InputError::refused(format!(
        "refusing {what} {}: {} is {why} (mode {:o}, owner uid {}); a non-admin could change what handover runs as root",
        shown.display(),
        p.display(),
        md.mode() & 0o7777,
        md.uid()
    ))
}

/// Walk `path` as the kernel would, checking every directory looked in (from `/`), every symbolic
/// link met (its owner; its target is walked the same way) and the object itself; the real path of
/// the object. `object` says whether the last component is the object (else a directory passed
/// through, where a sticky bit is allowed).
pub(super) fn resolve(
    path: &Path,
    what: &str,
    shown: &Path,
    object: bool,
    depth: u32,
) -> Result<PathBuf> {
    if depth > 32 {
        return Err(InputError::refused(format!(
            "refusing {what} {}: too many levels of symbolic links",
            shown.display()
        )));
    }
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .context("the current directory")?
            .join(path)
    };
    let comps: Vec<Component> = abs.components().collect();
    let last = comps
        .iter()
        .rposition(|c| matches!(c, Component::Normal(_)));
    let mut cur = PathBuf::from("/");
    let check = |p: &Path, is_object: bool| -> Result<std::fs::Metadata> {
        let md = std::fs::symlink_metadata(p).with_context(|| format!("{what} {}", p.display()))?;
        if let Some(why) = problem(&md, is_object) {
            return Err(refusal(what, shown, p, &md, why));
        }
        Ok(md)
    };
    check(&cur, object && last.is_none())?;
    for (i, c) in comps.iter().enumerate() {
        let is_object = object && Some(i) == last;
        match c {
            Component::Normal(name) => {
                let p = cur.join(name);
                let md = std::fs::symlink_metadata(&p)
                    .with_context(|| format!("{what} {}", p.display()))?;
                if md.file_type().is_symlink() {
                    if md.uid() != 0 && md.uid() != super::euid() {
                        return Err(refusal(
                            what,
                            shown,
                            &p,
                            &md,
                            "a symbolic link owned by another user",
                        ));
                    }
                    let target = std::fs::read_link(&p)
                        .with_context(|| format!("{what} {}", p.display()))?;
                    cur = resolve(&cur.join(target), what, shown, is_object, depth + 1)?;
                } else {
                    if Some(i) != last && !md.is_dir() {
                        anyhow::bail!(
                            "{what} {}: {} is not a directory",
                            shown.display(),
                            p.display()
                        );
                    }
                    check(&p, is_object)?;
                    cur = p;
                }
            }
            Component::ParentDir => {
                cur.pop();
            }
            _ => {}
        }
    }
    Ok(cur)
}
