//! Permissions (SPEC §7). handover runs as root and runs what the site file and its installers say, so
//! it refuses any of those that a standard user could have written: otherwise a user could plant an
//! installer that the next apply runs as root. Its own state is private (0700 directories, 0600 files).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

#[cfg(unix)]
use crate::error::InputError;

#[cfg(unix)]
fn euid() -> u32 {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether handover runs with root (Unix) rights.
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        euid() == 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Refuse `path` (a file or directory) if anyone but root or the user running handover could change it:
/// the path itself and every directory above it must be owned by one of them and not writable by group
/// or others (a sticky directory such as /tmp is fine: others cannot replace what they do not own).
pub fn require_trusted(path: &Path, what: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = euid();
        let full =
            std::fs::canonicalize(path).with_context(|| format!("{what} {}", path.display()))?;
        let mut cur = Some(full.as_path());
        let mut first = true;
        while let Some(p) = cur {
            let md = std::fs::metadata(p).with_context(|| format!("{what} {}", p.display()))?;
            let sticky = md.mode() & 0o1000 != 0 && !first;
            let owner_ok = md.uid() == 0 || md.uid() == me;
            let writable_by_others = md.mode() & 0o022 != 0 && !sticky;
            if !owner_ok || writable_by_others {
                return Err(InputError::refused(format!(
                    "refusing {what} {}: {} is {} (mode {:o}, owner uid {}); a non-admin could change what handover runs as root",
                    path.display(),
                    p.display(),
                    if owner_ok { "writable by group or others" } else { "owned by another user" },
                    md.mode() & 0o7777,
                    md.uid()
                )));
            }
            first = false;
            cur = p.parent();
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
    Ok(())
}

/// Refuse a secret file that others can read (the admin password file).
pub fn require_private_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let md = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        if md.mode() & 0o077 != 0 || (md.uid() != 0 && md.uid() != euid()) {
            return Err(InputError::refused(format!(
                "refusing {}: mode {:o}, owner uid {}; a password file must be owned by root and readable by no one else (chmod 600)",
                path.display(),
                md.mode() & 0o7777,
                md.uid()
            )));
        }
    }
    require_trusted(path, "password file")
}

/// Create `dir` (and parents) readable by its owner only.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("chmod 700 {}", dir.display()))?;
    }
    Ok(())
}

/// Write `bytes` to `path` atomically (temporary file, fsync, rename) with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("a file path has a parent")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn group_writable_site_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("site.toml");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = require_trusted(&f, "site file").unwrap_err().to_string();
        assert!(e.contains("writable by group or others"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        require_trusted(&f, "site file").unwrap();
    }

    #[test]
    fn world_writable_directory_above_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("open");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
        let f = sub.join("site.toml");
        std::fs::write(&f, "").unwrap();
        assert!(require_trusted(&f, "site file").is_err());
    }

    #[test]
    fn readable_password_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "Correct-horse-42\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(require_private_file(&f).is_err());
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        require_private_file(&f).unwrap();
    }

    #[test]
    fn private_writes_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("state.json");
        write_private(&f, b"{}").unwrap();
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
