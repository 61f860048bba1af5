//! Windows: the security descriptor of a file or directory, as SDDL, from the Win32 API, and `icacls`
//! to protect a directory.

use std::path::Path;

use anyhow::{Context, Result};

/// The SDDL (owner and DACL) of a file or directory, from GetNamedSecurityInfoW: SIDs, never
/// localised names.
pub(super) fn windows_sddl(p: &Path) -> Result<String> {
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

/// Run `icacls DIR ARGS…`; a failure names the command, its exit code and what icacls said (its
/// own message went to the console when it inherited stderr: it travels in the error now).
pub(super) fn icacls(dir: &Path, args: &[&str]) -> Result<()> {
    let out = crate::host::process::Cmd::new("icacls")
        .arg(dir)
        .args(args)
        .output()?;
    if out.success() {
        return Ok(());
    }
    let status = match out.code {
        Some(c) => format!("exit code: {c}"),
        None => "killed".to_string(),
    };
    let said = [out.stderr.trim(), out.stdout.trim()].join("\n");
    let said = said.trim();
    anyhow::bail!(
        "icacls {} {} failed ({status}): cannot protect handover's directory{}",
        dir.display(),
        args.join(" "),
        if said.is_empty() {
            String::new()
        } else {
            format!("\n{said}")
        }
    )
}
