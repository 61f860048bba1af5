//! Permissions (SPEC §7). handover runs as root and runs what the site file and its installers say, so
//! it refuses any of those that a standard user could have written: otherwise a user could plant an
//! installer that the next apply runs as root. Its own state is private (0700 directories, 0600 files).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

#[cfg(any(unix, windows))]
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
    #[cfg(windows)]
    {
        // Elevated (High) or SYSTEM integrity: the mandatory-label SIDs are the same in every language.
        std::process::Command::new(crate::runner::program("whoami"))
            .args(["/groups", "/fo", "csv"])
            .output()
            .map(|o| {
                let t = String::from_utf8_lossy(&o.stdout);
                t.contains("S-1-16-12288") || t.contains("S-1-16-16384")
            })
            .unwrap_or(false)
    }
    #[cfg(not(any(unix, windows)))]
    {
        false
    }
}

/// Principals whose access to a file or directory does not matter: SYSTEM, Administrators,
/// TrustedInstaller and CREATOR OWNER, as SDDL names them (`icacls /save` writes SDDL, which unlike
/// icacls' display is not localised).
const WINDOWS_TRUSTED: &[&str] = &[
    "SY",
    "BA",
    "CO",
    "S-1-5-18",
    "S-1-5-32-544",
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
];

/// The allow ACEs of an SDDL security descriptor's DACL that apply to the object itself (not inherit-only):
/// (rights, SID). `None` when there is no DACL to read (a FAT or exFAT volume, or a NULL DACL): then
/// everyone has every right.
fn sddl_allow_aces(sddl: &str) -> Option<Vec<(&str, &str)>> {
    let dacl = sddl.split("D:").nth(1)?;
    let dacl = dacl.split("S:").next().unwrap_or(dacl);
    if dacl.starts_with("NO_ACCESS_CONTROL") {
        return None;
    }
    Some(
        dacl.split('(')
            .skip(1)
            .filter_map(|ace| {
                let fields: Vec<&str> = ace.trim_end_matches(')').split(';').collect();
                (fields.len() >= 6 && fields[0] == "A" && !fields[1].contains("IO"))
                    .then(|| (fields[2], fields[5]))
            })
            .collect(),
    )
}

/// Whether SDDL rights (letters or a hex mask) include any of `mask`'s bits or `letters`.
fn sddl_rights_have(rights: &str, mask: u32, letters: &[&[u8]]) -> bool {
    match rights.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).is_ok_and(|m| m & mask != 0),
        None => rights.as_bytes().chunks(2).any(|r| letters.contains(&r)),
    }
}

/// The SIDs an SDDL security descriptor lets write, delete or change permissions, other than the trusted
/// ones. Rights are SDDL letters (FA, GA, GW, FW, WD, WO, SD) or a hex mask.
pub fn sddl_untrusted_writers(sddl: &str) -> Vec<String> {
    // write data, append, write attributes/EA, delete, WRITE_DAC, WRITE_OWNER, GENERIC_WRITE/ALL
    const LETTERS: &[&[u8]] = &[
        b"FA", b"GA", b"GW", b"FW", b"WD", b"WO", b"SD", b"DC", b"WP",
    ];
    sddl_allow_aces(sddl)
        .unwrap_or_default()
        .into_iter()
        .filter(|(rights, sid)| {
            sddl_rights_have(rights, 0x500d_0116, LETTERS) && !WINDOWS_TRUSTED.contains(sid)
        })
        .map(|(_, sid)| sid.to_string())
        .collect()
}

/// The principals an SDDL security descriptor lets read a file's data, other than SYSTEM and
/// Administrators: a password file must have none. No DACL at all (FAT, exFAT) lets everyone read.
pub fn sddl_untrusted_readers(sddl: &str) -> Vec<String> {
    // FILE_READ_DATA (SDDL "CC" on a file), GENERIC_READ, GENERIC_ALL; FA and FR include read data.
    const LETTERS: &[&[u8]] = &[b"FA", b"FR", b"GA", b"GR", b"CC"];
    match sddl_allow_aces(sddl) {
        None => vec!["everyone (the volume keeps no access control list)".to_string()],
        Some(aces) => aces
            .into_iter()
            .filter(|(rights, sid)| {
                sddl_rights_have(rights, 0x9000_0001, LETTERS) && !WINDOWS_TRUSTED.contains(sid)
            })
            .map(|(_, sid)| sid.to_string())
            .collect(),
    }
}

/// The SDDL of a file or directory, as `icacls PATH /save` writes it (UTF-16; SIDs, not localised names).
#[cfg(windows)]
fn windows_sddl(p: &Path) -> Result<String> {
    let tmp = tempfile::NamedTempFile::new().context("creating a temporary file")?;
    let status = std::process::Command::new(crate::runner::program("icacls"))
        .arg(p)
        .arg("/save")
        .arg(tmp.path())
        .arg("/q")
        .status()?;
    if !status.success() {
        anyhow::bail!("icacls {} /save failed ({status})", p.display());
    }
    let raw = std::fs::read(tmp.path())?;
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok(String::from_utf16_lossy(&units))
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
    #[cfg(windows)]
    {
        // The path and its parent.
        let mut cur = Some(path.to_path_buf());
        for _ in 0..2 {
            let Some(p) = cur.take() else { break };
            let text = windows_sddl(&p)?;
            let writers: Vec<String> = text.lines().flat_map(sddl_untrusted_writers).collect();
            if !writers.is_empty() {
                return Err(InputError::refused(format!(
                    "refusing {what} {}: {} can be changed by {} (not only SYSTEM and Administrators); a standard user could change what handover runs as SYSTEM",
                    path.display(),
                    p.display(),
                    writers.join(", ")
                )));
            }
            cur = p.parent().map(Path::to_path_buf);
        }
    }
    #[cfg(not(any(unix, windows)))]
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

/// Create `dir` (and parents) readable by its owner only.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("chmod 700 {}", dir.display()))?;
    }
    #[cfg(windows)]
    {
        // A protected ACL: SYSTEM and Administrators only, nothing inherited (SIDs, not localised names).
        let status = std::process::Command::new(crate::runner::program("icacls"))
            .arg(dir)
            .args([
                "/inheritance:r",
                "/grant:r",
                "*S-1-5-18:(OI)(CI)F",
                "/grant:r",
                "*S-1-5-32-544:(OI)(CI)F",
                "/q",
            ])
            .status()?;
        if !status.success() {
            anyhow::bail!(
                "icacls {} failed ({status}): cannot protect handover's directory",
                dir.display()
            );
        }
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
