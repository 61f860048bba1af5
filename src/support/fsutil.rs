//! The one way handover writes a file it must not leave half-written: a temporary file in the same
//! directory, written, given its permissions, fsynced, renamed over the target, and the directory
//! fsynced (as cargo-util's `paths::write_atomic`). The rename replaces a link planted at the target
//! rather than writing through it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// The permissions the new file gets.
#[derive(Debug, Clone, Copy)]
pub enum Perm {
    /// This mode on Unix; on Windows the directory's inherited ACL.
    Mode(u32),
    /// The replaced file's mode and (when allowed, i.e. as root) owner: for a file the user keeps, such
    /// as the site file `artifacts lock` rewrites.
    LikeExisting,
}

/// Replace `path` by `bytes` atomically, with `perm`.
pub fn write_atomic(path: &Path, bytes: &[u8], perm: Perm) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let existing = match perm {
        Perm::LikeExisting => Some(
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?,
        ),
        Perm::Mode(_) => None,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".handover-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let ctx = || format!("writing a temporary file in {}", dir.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let file = tmp.as_file();
        let mode = match (&perm, &existing) {
            (Perm::Mode(m), _) => *m,
            (Perm::LikeExisting, Some(meta)) => {
                let now = file.metadata().with_context(ctx)?;
                if now.uid() != meta.uid() || now.gid() != meta.gid() {
                    // Best effort: only root may give a file away; the mode is kept regardless.
                    let _ = std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()));
                }
                meta.mode() & 0o7777
            }
            (Perm::LikeExisting, None) => unreachable!("read above"),
        };
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(ctx)?;
    }
    #[cfg(not(unix))]
    let _ = (&perm, &existing);
    tmp.write_all(bytes).with_context(ctx)?;
    tmp.as_file().sync_all().with_context(ctx)?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        // The rename itself, on disk.
        let _ = d.sync_all();
    }
    Ok(())
}

/// [`write_atomic`] with mode 0600: keys, records, anything private.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes, Perm::Mode(0o600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_at_the_target_is_replaced_not_written_through() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let at = d.path().join("out");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&victim, &at).unwrap();
        write_private(&at, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&at).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&at).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    #[cfg(unix)]
    fn like_existing_keeps_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let at = d.path().join("site.toml");
        std::fs::write(&at, "a").unwrap();
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&at, b"b", Perm::LikeExisting).unwrap();
        assert_eq!(
            std::fs::metadata(&at).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(std::fs::read_to_string(&at).unwrap(), "b");
    }
}
