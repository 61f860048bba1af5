//! Permissions (SPEC §7). handover runs as root and runs what the site file and its installers say, so
//! it refuses any of those that a standard user could have written: otherwise a user could plant an
//! installer that the next apply runs as root. Its own state is private (0700 directories, 0600 files).

use std::path::Path;

use anyhow::{Context, Result};

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

/// Principals whose access to a file or directory does not matter: SYSTEM, Administrators,
/// TrustedInstaller and CREATOR OWNER, as SDDL names them (SDDL, unlike icacls' display, is not
/// localised).
const WINDOWS_TRUSTED: &[&str] = &[
    "SY",
    "BA",
    "CO",
    "S-1-5-18",
    "S-1-5-32-544",
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
];

/// The sections of an SDDL security descriptor (`O:` owner, `G:` group, `D:` DACL, `S:` SACL), by their
/// letter. A section starts at a `:` outside the parentheses and quotes of ACEs; SIDs and SDDL
/// abbreviations never hold one.
fn sddl_sections(sddl: &str) -> Vec<(u8, &str)> {
    let b = sddl.as_bytes();
    let (mut depth, mut quoted) = (0usize, false);
    let mut marks = Vec::new();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.saturating_sub(1),
            b':' if depth == 0 && !quoted && i > 0 => marks.push(i - 1),
            _ => {}
        }
    }
    marks
        .iter()
        .enumerate()
        .map(|(k, &m)| {
            let end = marks.get(k + 1).copied().unwrap_or(b.len());
            (b[m], sddl[m + 2..end].trim())
        })
        .collect()
}

/// The owner SID of an SDDL security descriptor, when it names one.
fn sddl_owner(sddl: &str) -> Option<&str> {
    sddl_sections(sddl)
        .into_iter()
        .find(|(k, v)| *k == b'O' && !v.is_empty())
        .map(|(_, v)| v)
}

/// The ACE strings (between the outer parentheses) of a DACL section, conditional expressions kept.
fn sddl_aces(dacl: &str) -> Vec<&str> {
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    let mut out = Vec::new();
    for (i, c) in dacl.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => {
                if depth == 0 {
                    start = i + 1;
                }
                depth += 1;
            }
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(&dacl[start..i]);
                }
            }
            _ => {}
        }
    }
    out
}

/// The allow ACEs of an SDDL security descriptor's DACL that apply to the object itself (not inherit-only):
/// (rights, SID). Plain (`A`), object (`OA`) and conditional (`XA`, `ZA`) allow ACEs all count: a
/// condition may hold for the user. `None` when there is no DACL to read (a FAT or exFAT volume, or a
/// NULL DACL): then everyone has every right.
fn sddl_allow_aces(sddl: &str) -> Option<Vec<(&str, &str)>> {
    let dacl = sddl_sections(sddl)
        .into_iter()
        .find(|(k, _)| *k == b'D')
        .map(|(_, v)| v)?;
    if dacl.contains("NO_ACCESS_CONTROL") {
        return None;
    }
    Some(
        sddl_aces(dacl)
            .into_iter()
            .filter_map(|ace| {
                let fields: Vec<&str> = ace.splitn(7, ';').map(str::trim).collect();
                let allow = matches!(fields.first(), Some(&("A" | "OA" | "XA" | "ZA")));
                (fields.len() >= 6 && allow && !fields[1].contains("IO"))
                    .then(|| (fields[2], fields[5]))
            })
            .collect(),
    )
}

/// The access mask of SDDL rights (two-letter codes or a number); `None` when a part is unknown.
fn sddl_rights_mask(rights: &str) -> Option<u32> {
    let number = rights
        .strip_prefix("0x")
        .or_else(|| rights.strip_prefix("0X"))
        .map(|h| u32::from_str_radix(h, 16))
        .or_else(|| {
            rights
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| rights.parse::<u32>())
        });
    if let Some(n) = number {
        return n.ok();
    }
    if !rights.len().is_multiple_of(2) {
        return None;
    }
    let mut mask = 0u32;
    for code in rights.as_bytes().chunks(2) {
        mask |= match code {
            b"GA" => 0x1000_0000,
            b"GR" => 0x8000_0000,
            b"GW" => 0x4000_0000,
            b"GX" => 0x2000_0000,
            b"RC" => 0x0002_0000,
            b"SD" => 0x0001_0000,
            b"WD" => 0x0004_0000,
            b"WO" => 0x0008_0000,
            b"CC" => 0x1,
            b"DC" => 0x2,
            b"LC" => 0x4,
            b"SW" => 0x8,
            b"RP" => 0x10,
            b"WP" => 0x20,
            b"DT" => 0x40,
            b"LO" => 0x80,
            b"CR" => 0x100,
            b"FA" => 0x001f_01ff,
            b"FR" => 0x0012_0089,
            b"FW" => 0x0012_0116,
            b"FX" => 0x0012_00a0,
            b"KA" => 0x000f_003f,
            b"KR" => 0x0002_0019,
            b"KW" => 0x0002_0006,
            b"KX" => 0x0002_0019,
            _ => return None,
        };
    }
    Some(mask)
}

/// Rights that change a file or directory: write data or add a file, append or add a subdirectory,
/// write EA and attributes, delete a child, delete, WRITE_DAC, WRITE_OWNER, MAXIMUM_ALLOWED,
/// GENERIC_ALL and GENERIC_WRITE.
const WRITE_MASK: u32 = 0x520d_0156;
/// Rights on a directory further up that let someone replace what is below it (not only add new
/// names, which ProgramData and C:\ grant standard users): delete a child, delete or rename the
/// directory itself, WRITE_DAC, WRITE_OWNER, MAXIMUM_ALLOWED and GENERIC_ALL.
const ANCESTOR_MASK: u32 = 0x120d_0040;

/// The SIDs that `mask`'s rights are granted to (or that own the object), other than the trusted ones.
/// Rights that cannot be read count as granted.
fn sddl_untrusted(sddl: &str, mask: u32) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(owner) = sddl_owner(sddl) {
        if !WINDOWS_TRUSTED.contains(&owner) {
            out.push(format!(
                "{owner} (the owner, who can change the permissions)"
            ));
        }
    }
    match sddl_allow_aces(sddl) {
        None => out.push("everyone (the volume keeps no access control list)".to_string()),
        Some(aces) => {
            for (rights, sid) in aces {
                let grants = sddl_rights_mask(rights).is_none_or(|m| m & mask != 0);
                let listed = out
                    .iter()
                    .any(|s| s == sid || s.strip_prefix(sid).is_some_and(|r| r.starts_with(' ')));
                if grants && !WINDOWS_TRUSTED.contains(&sid) && !listed {
                    out.push(sid.to_string());
                }
            }
        }
    }
    out
}

/// The SIDs an SDDL security descriptor lets write, delete or change permissions (or that own it),
/// other than the trusted ones. Rights are SDDL letters or a hex mask; a right that cannot be read
/// counts as a write.
pub fn sddl_untrusted_writers(sddl: &str) -> Vec<String> {
    sddl_untrusted(sddl, WRITE_MASK)
}

/// The principals an SDDL security descriptor lets read a file's data, other than SYSTEM and
/// Administrators: a password file must have none. No DACL at all (FAT, exFAT) lets everyone read.
pub fn sddl_untrusted_readers(sddl: &str) -> Vec<String> {
    // FILE_READ_DATA, MAXIMUM_ALLOWED, GENERIC_ALL, GENERIC_READ.
    match sddl_allow_aces(sddl) {
        None => vec!["everyone (the volume keeps no access control list)".to_string()],
        Some(aces) => aces
            .into_iter()
            .filter(|(rights, sid)| {
                sddl_rights_mask(rights).is_none_or(|m| m & 0x9200_0001 != 0)
                    && !WINDOWS_TRUSTED.contains(sid)
            })
            .map(|(_, sid)| sid.to_string())
            .collect(),
    }
}

/// The first level of a chain (the object first, then each directory above it up to the volume's
/// root) that someone other than SYSTEM and Administrators can change, with who. The object and its
/// directory must grant no write right at all to others; a directory further up must not let them
/// replace or rename what is below it (adding new names, as ProgramData and C:\ let standard users,
/// is fine: they cannot take a name that exists). Every level's owner must be trusted.
pub fn sddl_chain_untrusted<P: Clone>(chain: &[(P, String)]) -> Option<(P, Vec<String>)> {
    chain.iter().enumerate().find_map(|(level, (p, sddl))| {
        let mask = if level < 2 { WRITE_MASK } else { ANCESTOR_MASK };
        let who = sddl_untrusted(sddl, mask);
        (!who.is_empty()).then(|| (p.clone(), who))
    })
}

/// The SDDL (owner and DACL) of a file or directory, from GetNamedSecurityInfoW: SIDs, never
/// localised names.
#[cfg(windows)]
fn windows_sddl(p: &Path) -> Result<String> {
    use std::ffi::c_void;
    use std::os::windows::ffi::OsStrExt;
    #[link(name = "advapi32")]
    extern "system" {
        fn GetNamedSecurityInfoW(
            name: *const u16,
            object_type: u32,
            info: u32,
            owner: *mut *mut c_void,
            group: *mut *mut c_void,
            dacl: *mut *mut c_void,
            sacl: *mut *mut c_void,
            sd: *mut *mut c_void,
        ) -> u32;
        fn ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd: *mut c_void,
            revision: u32,
            info: u32,
            out: *mut *mut u16,
            len: *mut u32,
        ) -> i32;
    }
    #[link(name = "kernel32")]
    extern "system" {
        fn LocalFree(mem: *mut c_void) -> *mut c_void;
    }
    const SE_FILE_OBJECT: u32 = 1;
    const OWNER_AND_DACL: u32 = 0x1 | 0x4;
    let wide: Vec<u16> = p.as_os_str().encode_wide().chain(Some(0)).collect();
    let mut sd: *mut c_void = std::ptr::null_mut();
    // SAFETY: `wide` is NUL-terminated; the out pointers are valid; `sd` is freed with LocalFree.
    let rc = unsafe {
        GetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_AND_DACL,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc as i32))
            .with_context(|| format!("reading the permissions of {}", p.display()));
    }
    let mut text: *mut u16 = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: `sd` came from GetNamedSecurityInfoW; `text` is freed with LocalFree.
    let ok = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            1,
            OWNER_AND_DACL,
            &mut text,
            &mut len,
        )
    };
    let result = if ok == 0 || text.is_null() {
        Err(anyhow::anyhow!(
            "cannot read the permissions of {}: {}",
            p.display(),
            std::io::Error::last_os_error()
        ))
    } else {
        // SAFETY: the API returned a NUL-terminated string of `len` characters (with the NUL).
        let units = unsafe { std::slice::from_raw_parts(text, len as usize) };
        let units = units.split(|u| *u == 0).next().unwrap_or_default();
        Ok(String::from_utf16_lossy(units))
    };
    // SAFETY: both were allocated by the APIs above with LocalAlloc.
    unsafe {
        if !text.is_null() {
            LocalFree(text.cast());
        }
        LocalFree(sd);
    }
    result
}

#[cfg(unix)]
mod unix_trust {
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
            let md =
                std::fs::symlink_metadata(p).with_context(|| format!("{what} {}", p.display()))?;
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
        let icacls = |args: &[&str]| -> Result<()> {
            let out = crate::host::process::Cmd::new("icacls")
                .arg(dir)
                .args(args)
                .output()?;
            if !out.success() {
                let status = match out.code {
                    Some(c) => format!("exit code: {c}"),
                    None => "killed".to_string(),
                };
                // icacls's own message went to the console when it inherited stderr: it travels
                // in the error now.
                let said = [out.stderr.trim(), out.stdout.trim()].join("\n");
                anyhow::bail!(
                    "icacls {} {} failed ({status}): cannot protect handover's directory{}",
                    dir.display(),
                    args.join(" "),
                    if said.trim().is_empty() {
                        String::new()
                    } else {
                        format!("\n{}", said.trim())
                    }
                );
            }
            Ok(())
        };
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

/// Write `bytes` to `path` atomically (temporary file, fsync, rename) with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::support::fsutil::write_private(path, bytes)
}

#[cfg(test)]
mod sddl_tests {
    use super::{sddl_untrusted_readers, sddl_untrusted_writers};

    #[test]
    fn a_password_file_held_by_administrators_passes() {
        // `icacls pw.txt /inheritance:r /grant:r *S-1-5-32-544:F *S-1-5-18:F`, as `icacls /save` writes it.
        let held = "D:PAI(A;;FA;;;BA)(A;;FA;;;SY)";
        assert!(sddl_untrusted_readers(held).is_empty());
        assert!(sddl_untrusted_writers(held).is_empty());
        // The same with the owner-rights and hex forms Windows also writes.
        assert!(
            sddl_untrusted_readers("D:P(A;;0x1f01ff;;;S-1-5-32-544)(A;;0x1f01ff;;;S-1-5-18)")
                .is_empty()
        );
        // A file saved in the technician's profile inherits an ACE for that user.
        let profile = "D:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;S-1-5-21-1-2-3-1001)";
        assert_eq!(sddl_untrusted_readers(profile), vec!["S-1-5-21-1-2-3-1001"]);
        // Users may read (0x1200a9 is read and execute), or a FAT/exFAT stick keeps no ACL at all.
        assert_eq!(
            sddl_untrusted_readers("D:PAI(A;;FA;;;BA)(A;;0x1200a9;;;BU)"),
            vec!["BU"]
        );
        assert_eq!(sddl_untrusted_readers("D:(A;;CCLCRPRC;;;AU)"), vec!["AU"]);
        assert_eq!(sddl_untrusted_readers("").len(), 1);
        assert_eq!(sddl_untrusted_readers("D:NO_ACCESS_CONTROL").len(), 1);
        // Traverse only (FX without read data) is no reader.
        assert!(sddl_untrusted_readers("D:(A;;FA;;;BA)(A;;0x100020;;;WD)").is_empty());
    }

    #[test]
    fn protected_directory_has_no_untrusted_writer() {
        assert!(sddl_untrusted_writers("D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)").is_empty());
    }

    #[test]
    fn users_with_modify_or_write_are_found() {
        // ProgramData's default: Users may create files (0x100116 includes write data and append).
        let sddl = "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;CI;0x100116;;;BU)(A;OICIIO;GA;;;CO)";
        assert_eq!(sddl_untrusted_writers(sddl), vec!["BU"]);
        assert_eq!(sddl_untrusted_writers("D:(A;;0x1301bf;;;AU)"), vec!["AU"]);
        assert_eq!(
            sddl_untrusted_writers("D:(A;;FRFX;;;WD)"),
            Vec::<String>::new()
        );
        assert_eq!(
            sddl_untrusted_writers("D:(D;;FA;;;WD)(A;;GW;;;S-1-5-21-1-2-3-1001)"),
            vec!["S-1-5-21-1-2-3-1001"]
        );
    }
}

#[cfg(test)]
mod f9_tests {
    use super::{sddl_chain_untrusted, sddl_untrusted_readers, sddl_untrusted_writers};

    const USER: &str = "S-1-5-21-1-2-3-1001";

    #[test]
    fn f9_an_object_owned_by_a_standard_user_is_untrusted() {
        // The DACL grants only SYSTEM and Administrators, but the owner can rewrite it at will.
        let sddl = format!("O:{USER}G:{USER}D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
        let who = sddl_untrusted_writers(&sddl);
        assert_eq!(who.len(), 1, "{who:?}");
        assert!(who[0].starts_with(USER), "{who:?}");
        // Named once when it also has an ACE.
        let sddl = format!("O:{USER}D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;{USER})");
        assert_eq!(sddl_untrusted_writers(&sddl).len(), 1);
        // Owned by Administrators, SYSTEM or TrustedInstaller: fine.
        for owner in [
            "BA",
            "SY",
            "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
        ] {
            let sddl = format!("O:{owner}G:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
            assert!(sddl_untrusted_writers(&sddl).is_empty(), "{sddl}");
        }
        // An abbreviation that ends in a section letter (G:DD) does not confuse the sections.
        assert_eq!(sddl_untrusted_writers("O:BAG:DDD:(A;;FA;;;BU)"), vec!["BU"]);
    }

    #[test]
    fn f9_a_conditional_allow_ace_for_users_with_write_is_untrusted() {
        let sddl =
            r#"O:BAD:PAI(A;;FA;;;SY)(A;;FA;;;BA)(XA;;FA;;;BU;(@User.Department == "IT (desk)"))"#;
        assert_eq!(sddl_untrusted_writers(sddl), vec!["BU"]);
        assert_eq!(sddl_untrusted_readers(sddl), vec!["BU"]);
        // Object and callback-object allow ACEs count too; deny ACEs grant nothing.
        assert_eq!(
            sddl_untrusted_writers("D:(OA;;WP;;;AU)"),
            Vec::<String>::new()
        );
        assert_eq!(
            sddl_untrusted_writers("D:(ZA;;GW;;;AU;(Member_of {SID(BA)}))"),
            vec!["AU"]
        );
        assert!(sddl_untrusted_writers("D:(D;;FA;;;BU)(A;;FA;;;BA)").is_empty());
    }

    #[test]
    fn f9_lc_rp_cr_dt_and_every_write_right_are_writes() {
        for rights in [
            "LC",
            "RP",
            "CR",
            "DT",
            "DC",
            "SD",
            "WD",
            "WO",
            "GA",
            "GW",
            "FA",
            "FW",
            "KA",
            "KW",
            "0x2",
            "0x4",
            "0x10",
            "0x40",
            "0x100",
            "0x10000",
            "0x2000000",
            "CCLC",
            "0x1301bf",
        ] {
            let sddl = format!("D:PAI(A;;FA;;;SY)(A;;{rights};;;BU)");
            assert_eq!(sddl_untrusted_writers(&sddl), vec!["BU"], "{rights}");
        }
        // Read, execute and traverse rights are no writes.
        for rights in [
            "FR", "FX", "FRFX", "GR", "GX", "RC", "CCSWLORC", "0x1200a9", "0x100020",
        ] {
            let sddl = format!("D:PAI(A;;FA;;;SY)(A;;{rights};;;BU)");
            assert!(sddl_untrusted_writers(&sddl).is_empty(), "{rights}");
        }
        // A right that cannot be read counts as a write, from an untrusted SID only.
        assert_eq!(sddl_untrusted_writers("D:(A;;ZZ;;;BU)"), vec!["BU"]);
        assert_eq!(sddl_untrusted_writers("D:(A;;0xnothex;;;BU)"), vec!["BU"]);
        assert!(sddl_untrusted_writers("D:(A;;ZZ;;;BA)").is_empty());
        // No DACL at all (FAT, exFAT, a NULL DACL): everyone writes.
        assert_eq!(sddl_untrusted_writers("D:NO_ACCESS_CONTROL").len(), 1);
    }

    #[test]
    fn f9_an_ancestor_writable_by_users_is_refused_at_every_level() {
        let protected = "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)".to_string();
        // C:\ and ProgramData as Windows ships them: standard users may add names, not replace them.
        let drive = "O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464D:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)(A;OICIIO;SDGXGWGR;;;AU)(A;;LC;;;AU)".to_string();
        let program_data = "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;0x100116;;;BU)".to_string();
        let chain = |above: &[String]| {
            let mut c = vec![
                ("site.toml", protected.clone()),
                ("handover", protected.clone()),
            ];
            for (i, s) in above.iter().enumerate() {
                c.push((["level2", "level3", "level4", "level5"][i], s.clone()));
            }
            c
        };
        assert_eq!(
            sddl_chain_untrusted(&chain(&[program_data.clone(), drive.clone()])),
            None
        );
        // A directory three levels up that lets Users delete children, or change its ACL, or that a
        // user owns, is found wherever it is.
        for bad in [
            "O:BAD:PAI(A;;FA;;;BA)(A;;DT;;;BU)".to_string(),
            "O:BAD:PAI(A;;FA;;;BA)(A;OICI;FA;;;BU)".to_string(),
            "O:BAD:PAI(A;;FA;;;BA)(A;;WD;;;BU)".to_string(),
            format!("O:{}D:PAI(A;;FA;;;BA)", super::f9_tests::USER),
        ] {
            let found =
                sddl_chain_untrusted(&chain(&[program_data.clone(), drive.clone(), bad.clone()]));
            assert_eq!(found.map(|(p, _)| p), Some("level4"), "{bad}");
        }
        // The object's own directory may not even let Users add a file.
        let mut c = chain(std::slice::from_ref(&drive));
        c[1].1 = program_data.clone();
        assert_eq!(
            sddl_chain_untrusted(&c),
            Some(("handover", vec!["BU".to_string()]))
        );
    }
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
    fn f12_read_trusted_reads_what_it_checked_and_refuses_what_it_cannot_trust() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site.toml");
        std::fs::write(&site, "x = 1\n").unwrap();
        std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_trusted(&site, "site file").unwrap(), b"x = 1\n");
        // Through a link of ours, in a directory of ours: the same file.
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&site, &link).unwrap();
        assert_eq!(read_trusted(&link, "site file").unwrap(), b"x = 1\n");
        // A FIFO neither blocks nor is read; a directory is no file.
        let fifo = dir.path().join("fifo.toml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_trusted(&fifo, "site file").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        assert!(read_trusted(dir.path(), "site file").is_err());
        // A link through a directory others can write is refused, wherever it points.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::symlink(&site, open.join("site.toml")).unwrap();
        let e = read_trusted(&open.join("site.toml"), "site file")
            .unwrap_err()
            .to_string();
        assert!(e.contains("writable by group or others"), "{e}");
        // A link into such a directory too (its target's directory is looked in).
        std::fs::rename(&site, open.join("real.toml")).unwrap();
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(open.join("real.toml"), &link).unwrap();
        assert!(read_trusted(&link, "site file").is_err());
        if is_root() {
            let mine = dir.path().join("mine.toml");
            std::fs::write(&mine, "").unwrap();
            let theirs = dir.path().join("theirs.toml");
            std::os::unix::fs::symlink(&mine, &theirs).unwrap();
            std::os::unix::fs::lchown(&theirs, Some(65534), Some(65534)).unwrap();
            let e = read_trusted(&theirs, "site file").unwrap_err().to_string();
            assert!(e.contains("symbolic link owned by another user"), "{e}");
            std::os::unix::fs::chown(&mine, Some(65534), Some(65534)).unwrap();
            let e = read_trusted(&mine, "site file").unwrap_err().to_string();
            assert!(e.contains("owned by another user"), "{e}");
        }
    }

    #[test]
    fn f6_a_tree_is_checked_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("t.sh"), "").unwrap();
        std::fs::set_permissions(deep.join("t.sh"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        require_trusted_tree(dir.path(), "templates directory").unwrap();
        std::fs::set_permissions(deep.join("t.sh"), std::fs::Permissions::from_mode(0o664))
            .unwrap();
        let e = require_trusted_tree(dir.path(), "templates directory")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a/b/c/t.sh") && e.contains("writable by group or others"),
            "{e}"
        );
        std::fs::set_permissions(deep.join("t.sh"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        std::os::unix::fs::symlink("/etc", deep.join("etc")).unwrap();
        let e = require_trusted_tree(dir.path(), "templates directory")
            .unwrap_err()
            .to_string();
        assert!(e.contains("symbolic link"), "{e}");
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
