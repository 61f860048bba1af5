//! The content lock writes for an entry: a file's sha256, or a directory's every file by path.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

pub(super) enum Content {
    File(String),
    Dir(BTreeMap<String, String>),
}

/// Every file under `dir`, by `/`-separated path → sha256. Symbolic links and names a site cannot
/// hold are errors: a directory artifact is pinned whole or not at all.
pub(super) fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) -> Result<()> {
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            bail!("{}: the name is not valid UTF-8", path.display());
        };
        if name.contains(['\\', ':']) || name.chars().any(char::is_control) {
            bail!(
                "{}: a site cannot name this file (\\, : and control characters are refused in artifact paths); rename it",
                path.display()
            );
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ft = e
            .file_type()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if ft.is_symlink() {
            bail!(
                "{}: a symbolic link; a directory artifact holds real files only",
                path.display()
            );
        } else if ft.is_dir() {
            walk(&path, &rel, out)?;
        } else if ft.is_file() {
            out.insert(rel, sha256_file(&path)?);
        } else {
            bail!("{}: neither a regular file nor a directory", path.display());
        }
    }
    Ok(())
}

/// Lower-case hex sha256 of a file ([`crate::support::hashing`]), with the file named in the error.
pub(super) fn sha256_file(path: &Path) -> Result<String> {
    crate::support::hashing::sha256_file(path)
        .with_context(|| format!("cannot read {}", path.display()))
}
