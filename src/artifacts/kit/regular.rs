//! Opening a kit's file as a regular file only, following no link (F15).

use std::path::Path;

/// Open `root/rel` (`rel` `/`-separated) for reading, following no symbolic link below `root`, never
/// opening anything but a regular file (so a FIFO or a device is neither waited on nor read), and
/// checking the opened file itself. The error of a link, a directory, a device or a FIFO is
/// [`not_regular`].
pub fn open_regular(root: &Path, rel: &str) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::ffi::CString;
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let cname = |name: &str| {
            CString::new(name).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL byte in a name")
            })
        };
        let parts: Vec<&str> = rel.split('/').collect();
        let (last, dirs) = parts.split_last().expect("split yields one part");
        let mut dir: OwnedFd = std::fs::File::open(root)?.into();
        for d in dirs {
            let c = cname(d)?;
            // SAFETY: `dir` is an open descriptor and `c` a NUL-terminated name; the result is checked.
            let fd = unsafe {
                libc::openat(
                    dir.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                let e = std::io::Error::last_os_error();
                return Err(match e.raw_os_error() {
                    Some(libc::ELOOP) | Some(libc::ENOTDIR) => not_regular_error(),
                    _ => e,
                });
            }
            // SAFETY: `fd` was just opened and is owned by nothing else.
            dir = unsafe { OwnedFd::from_raw_fd(fd) };
        }
        let c = cname(last)?;
        // Look before opening: a device or a FIFO is never opened at all.
        // SAFETY: a zeroed `stat` is a valid out-parameter; the name is NUL-terminated.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::fstatat(
                dir.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(not_regular_error());
        }
        // SAFETY: as above; O_NONBLOCK so that a FIFO swapped in since the look cannot block the open.
        let fd = unsafe {
            libc::openat(
                dir.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ELOOP) => not_regular_error(),
                _ => e,
            });
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let f = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        if !f.metadata()?.is_file() {
            return Err(not_regular_error());
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        let mut p = root.to_path_buf();
        for part in rel.split('/') {
            p.push(part);
            if std::fs::symlink_metadata(&p)?.file_type().is_symlink() {
                return Err(not_regular_error());
            }
        }
        if !std::fs::symlink_metadata(&p)?.is_file() {
            return Err(not_regular_error());
        }
        let f = std::fs::File::open(&p)?;
        if !f.metadata()?.is_file() {
            return Err(not_regular_error());
        }
        Ok(f)
    }
}

const NOT_REGULAR: &str = "not a regular file";

fn not_regular_error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, NOT_REGULAR)
}

/// Whether an error of [`open_regular`] says the path is no regular file (a link, a device, a FIFO).
pub fn not_regular(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::InvalidData && e.to_string() == NOT_REGULAR
}
