//! Reading files safely: a trusted input opened once and checked through the open file, and bounded
//! reads of files that need not be trusted (F12, F14, F15, F17).

use std::path::Path;

use anyhow::{Context, Result};

#[cfg(any(unix, windows))]
use crate::support::error::InputError;

#[cfg(not(unix))]
use super::require_trusted;
#[cfg(unix)]
use super::unix_trust;
#[cfg(windows)]
use super::{sddl_untrusted_readers, windows_sddl};

/// The largest trusted input handover reads whole (a site, a manifest, a lifecycle table).
pub const MAX_TRUSTED_READ: u64 = 16 << 20;

/// Open a trusted input once and check what was opened: the path is walked as [`require_trusted`]
/// walks it, its real path is opened without following a symbolic link (a link swapped in after the
/// walk makes the open fail), and the open file must be a regular file owned by root (or the user
/// running handover) that group and others cannot write. Read from the returned file, never the path
/// again (F12).
pub fn open_trusted(path: &Path, what: &str) -> Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let real = unix_trust::resolve(path, what, path, true, 0)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            // No FIFO or device may block the open.
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&real)
            .with_context(|| {
                format!("{what} {}: cannot open {}", path.display(), real.display())
            })?;
        let md = file.metadata()?;
        if !md.is_file() {
            return Err(InputError::refused(format!(
                "refusing {what} {}: not a regular file",
                path.display()
            )));
        }
        if let Some(why) = unix_trust::problem(&md, true) {
            return Err(unix_trust::refusal(what, path, &real, &md, why));
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        require_trusted(path, what)?;
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(windows)]
        {
            use std::os::windows::fs::OpenOptionsExt;
            // FILE_FLAG_OPEN_REPARSE_POINT: a link swapped in after the check is opened as itself.
            options.custom_flags(0x0020_0000);
        }
        let file = options
            .open(path)
            .with_context(|| format!("{what} {}", path.display()))?;
        let md = file.metadata()?;
        if !md.is_file() || md.file_type().is_symlink() {
            return Err(InputError::refused(format!(
                "refusing {what} {}: not a regular file",
                path.display()
            )));
        }
        Ok(file)
    }
}

/// Read a file that need not be trusted but must be a regular file of at most `max` bytes (a record,
/// a signature, a kit key, a collected report): never through a symbolic link at its last component,
/// never blocking on a FIFO, never reading a device, and checked again through the opened file, so a
/// file swapped after the first look is caught too (F14, F15, F17).
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let refuse = |why: String| anyhow::anyhow!("{}: refused: {why}", path.display());
    let meta =
        std::fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Err(refuse(
            "a symbolic link (give the file it points to)".into(),
        ));
    }
    if !meta.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    if meta.len() > max {
        return Err(refuse(format!(
            "{} bytes, more than the {max} allowed",
            meta.len()
        )));
    }
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = o
        .open(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let meta = f
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() || meta.len() > max {
        return Err(refuse(format!("not a regular file of at most {max} bytes")));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    f.take(max + 1)
        .read_to_end(&mut out)
        .with_context(|| format!("reading {}", path.display()))?;
    if out.len() as u64 > max {
        return Err(refuse(format!(
            "it grew past {max} bytes while it was read"
        )));
    }
    Ok(out)
}

/// Read at most [`MAX_TRUSTED_READ`] bytes of an open file; more is an input error.
pub fn read_bounded(file: &mut std::fs::File, what: &str, path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    file.take(MAX_TRUSTED_READ + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    if bytes.len() as u64 > MAX_TRUSTED_READ {
        return Err(InputError::refused(format!(
            "refusing {what} {}: larger than {} MiB",
            path.display(),
            MAX_TRUSTED_READ >> 20
        )));
    }
    Ok(bytes)
}

/// [`open_trusted`] and read the file (at most [`MAX_TRUSTED_READ`] bytes) from what was opened.
pub fn read_trusted(path: &Path, what: &str) -> Result<Vec<u8>> {
    let mut file = open_trusted(path, what)?;
    read_bounded(&mut file, what, path)
}

/// Whether an open file can be read by others than its owner (and root or Administrators).
pub fn readable_by_others(file: &std::fs::File, path: &Path) -> Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = path;
        Ok(file.metadata()?.mode() & 0o044 != 0)
    }
    #[cfg(windows)]
    {
        let _ = file;
        Ok(!sddl_untrusted_readers(&windows_sddl(path)?).is_empty())
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (file, path);
        Ok(false)
    }
}
