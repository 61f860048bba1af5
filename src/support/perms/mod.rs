//! Permissions (SPEC §7). handover runs as root and runs what the site file and its installers say, so
//! it refuses any of those that a standard user could have written: otherwise a user could plant an
//! installer that the next apply runs as root. Its own state is private (0700 directories, 0600 files).

use std::path::Path;

use anyhow::{Context, Result};

mod read;
mod sddl;
#[cfg(all(test, unix))]
mod tests;
#[cfg(unix)]
mod unix_trust;
#[cfg(windows)]
mod windows;

pub use read::{
    open_trusted, read_bounded, read_regular, read_trusted, readable_by_others, MAX_TRUSTED_READ,
};
pub use sddl::{sddl_chain_untrusted, sddl_untrusted_readers, sddl_untrusted_writers};
#[cfg(windows)]
use sddl::{sddl_owner, WINDOWS_TRUSTED};
#[cfg(windows)]
use windows::windows_sddl;

#[cfg(any(unix, windows))]
use crate::support::error::InputError;

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
    #[cfg(windows)]
    {
        // Elevated (High) or SYSTEM integrity: the mandatory-label SIDs are the same in every language.
        crate::host::process::Cmd::new("whoami")
            .args(["/groups", "/fo", "csv"])
            .output()
            .map(|o| o.stdout.contains("S-1-16-12288") || o.stdout.contains("S-1-16-16384"))
            .unwrap_or(false)
    }
    #[cfg(not(any(unix, windows)))]
    {
        false
    }
}

/// Refuse `path` (a file or directory) if anyone but root or the user running handover could change it:
/// the path itself, every directory above it and every symbolic link on the way (the path as given,
/// and the targets of its links) must be owned by one of them and not writable by group or others (a
/// sticky directory such as /tmp is fine: others cannot replace what they do not own). On Windows,
/// the object, its directory and every directory above (owner and DACL, conditional ACEs included).
pub fn require_trusted(path: &Path, what: &str) -> Result<()> {
    #[cfg(unix)]
    {
        unix_trust::resolve(path, what, path, true, 0)?;
    }
    #[cfg(windows)]
    {
        let full =
            std::fs::canonicalize(path).with_context(|| format!("{what} {}", path.display()))?;
        let mut chain = Vec::new();
        for p in std::iter::successors(Some(full.as_path()), |p| p.parent()) {
            chain.push((p.to_path_buf(), windows_sddl(p)?));
        }
        if let Some((p, who)) = sddl_chain_untrusted(&chain) {
            return Err(InputError::refused(format!(
                "refusing {what} {}: {} can be changed by {} (not only SYSTEM and Administrators); a standard user could change what handover runs as SYSTEM",
                path.display(),
                p.display().to_string().trim_start_matches(r"\\?\"),
                who.join(", ")
            )));
        }
    }
    #[cfg(not(any(unix, windows)))]
    let _ = (path, what);
    Ok(())
}

/// Refuse a directory given to override what handover runs (`--templates-dir`, `--profiles-dir`)
/// unless the directory, every directory above it, and every file and subdirectory in it (at any
/// depth) pass [`require_trusted`]'s rules. Symbolic links inside are refused, as is anything that is
/// neither a file nor a directory (F6).
pub fn require_trusted_tree(dir: &Path, what: &str) -> Result<()> {
    require_trusted(dir, what)?;
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .with_context(|| format!("{what} {}: reading {}", dir.display(), d.display()))?;
        for e in entries {
            let p = e
                .with_context(|| format!("{what} {}: reading {}", dir.display(), d.display()))?
                .path();
            seen += 1;
            if seen > 100_000 {
                return Err(InputError::refused(format!(
                    "refusing {what} {}: more than 100000 entries",
                    dir.display()
                )));
            }
            let md = std::fs::symlink_metadata(&p)
                .with_context(|| format!("{what} {}: {}", dir.display(), p.display()))?;
            let kind = md.file_type();
            if kind.is_symlink() || !(kind.is_dir() || kind.is_file()) {
                return Err(InputError::refused(format!(
                    "refusing {what} {}: {} is {}; it may hold only files and directories",
                    dir.display(),
                    p.display(),
                    if kind.is_symlink() {
                        "a symbolic link"
                    } else {
                        "neither a file nor a directory"
                    }
                )));
            }
            #[cfg(unix)]
            if let Some(why) = unix_trust::problem(&md, true) {
                return Err(unix_trust::refusal(what, dir, &p, &md, why));
            }
            #[cfg(windows)]
            {
                let who = sddl_untrusted_writers(&windows_sddl(&p)?);
                if !who.is_empty() {
                    return Err(InputError::refused(format!(
                        "refusing {what} {}: {} can be changed by {} (not only SYSTEM and Administrators); a standard user could change what handover runs as SYSTEM",
                        dir.display(),
                        p.display(),
                        who.join(", ")
                    )));
                }
            }
            if kind.is_dir() {
                stack.push(p);
            }
        }
    }
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
    #[cfg(windows)]
    {
        // Only SYSTEM and Administrators may read it (README: `icacls FILE /inheritance:r /grant:r
        // *S-1-5-32-544:F *S-1-5-18:F`); a file in a user's profile also grants that user.
        let text = windows_sddl(path)?;
        let line = text.lines().find(|l| l.contains("D:")).unwrap_or("");
        let readers = sddl_untrusted_readers(line);
        if !readers.is_empty() {
            return Err(InputError::refused(format!(
                "refusing {}: it can be read by {} (not only SYSTEM and Administrators); run `icacls FILE /inheritance:r /grant:r *S-1-5-32-544:F *S-1-5-18:F` and keep it in a folder only Administrators can change",
                path.display(),
                readers.join(", ")
            )));
        }
    }
    require_trusted(path, "password file")
}

/// Create `dir` (and parents) readable by its owner only. A directory that already exists must be a
/// directory (not a link) owned by the user running handover (root): one a standard user created
/// beforehand (they can create folders in ProgramData or wherever they can write) is refused, since
/// its owner could change it back (F9, F13).
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let md = std::fs::symlink_metadata(dir).with_context(|| format!("{}", dir.display()))?;
    if !md.is_dir() {
        return Err(InputError::refused(format!(
            "refusing {}: not a directory (a symbolic link or a file is there); handover keeps its state and work files only in a directory of its own",
            dir.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if md.uid() != euid() {
            return Err(InputError::refused(format!(
                "refusing {}: owned by uid {}, not by uid {} that runs handover; another user could change what it holds (remove it, or `chown {} {}`, and run again)",
                dir.display(),
                md.uid(),
                euid(),
                euid(),
                dir.display()
            )));
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("chmod 700 {}", dir.display()))?;
    }
    #[cfg(windows)]
    {
        let before = windows_sddl(dir)?;
        if let Some(owner) = sddl_owner(&before).filter(|o| !WINDOWS_TRUSTED.contains(o)) {
            return Err(InputError::refused(format!(
                "refusing {}: it is owned by {owner}, not SYSTEM or Administrators (a standard user may have created it to change what handover writes there); delete it (`rmdir /s /q \"{}\"`) and run again",
                dir.display(),
                dir.display()
            )));
        }
        // A protected ACL: SYSTEM and Administrators only, nothing inherited (SIDs, not localised
        // names). `/reset` first removes any other explicit ACE (`/grant:r` replaces only the grants
        // of the SIDs it names).
        let icacls = |args: &[&str]| windows::icacls(dir, args);
        // Only when needed: a directory already protected stays so, without a moment of inherited
        // access.
        let open = !sddl_untrusted_writers(&before).is_empty()
            || !sddl_untrusted_readers(&before).is_empty();
        if open {
            icacls(&["/reset", "/q"])?;
        }
        icacls(&[
            "/inheritance:r",
            "/grant:r",
            "*S-1-5-18:(OI)(CI)F",
            "/grant:r",
            "*S-1-5-32-544:(OI)(CI)F",
            "/q",
        ])?;
        let after = windows_sddl(dir)?;
        let who: Vec<String> = sddl_untrusted_writers(&after)
            .into_iter()
            .chain(sddl_untrusted_readers(&after))
            .collect();
        if !who.is_empty() {
            return Err(InputError::refused(format!(
                "refusing {}: after protecting it, {} can still use it (not only SYSTEM and Administrators)",
                dir.display(),
                who.join(", ")
            )));
        }
    }
    Ok(())
}
