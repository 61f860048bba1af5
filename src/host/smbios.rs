//! The maker, model and serial from the firmware's SMBIOS table, read in-process: on Windows this replaces
//! a PowerShell start (about half a second) that asked CIM for the same strings.
//!
//! Where the fields are (DMTF DSP0134, the SMBIOS Reference Specification, §6.1.2 and §7.2; Microsoft's
//! "SMBIOS" page for Windows hardware, <https://learn.microsoft.com/en-us/windows-hardware/drivers/bringup/smbios>,
//! gives the same offsets): the table is a run of structures, each a header (type u8, length u8, handle
//! u16), the rest of its formatted area (`length` bytes in all), then its strings, each NUL-terminated,
//! the set ending with a double NUL. A string field holds a 1-based index into that set; 0 means none.
//! System Information is type 1: Manufacturer at 04h, Product Name at 05h, Serial Number at 07h (all
//! SMBIOS 2.0+, so a type 1 of the minimum length 08h has them). Type 127 ends the table.
//!
//! Which SMBIOS fields Windows' CIM answered with (the PowerShell this replaces read
//! Win32_BIOS.SerialNumber and Win32_ComputerSystem's Manufacturer and Model) is not documented.
//! Microsoft's class pages name SMBIOS only for some properties: Win32_ComputerSystemProduct's UUID says
//! "SMBIOS|Type 1|UUID"
//! (<https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-computersystemproduct>), but
//! Win32_BIOS.SerialNumber is only the "assigned serial number of the software element", inherited from
//! CIM_SoftwareElement (<https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-bios>), and no
//! page found says where Win32_ComputerSystem's Manufacturer and Model come from. Chosen here: System
//! Information's Manufacturer, Product Name and Serial Number, because DSP0134 makes type 1 the one
//! structure of the whole system (one and only one per system) and Microsoft's SMBIOS page tells firmware
//! makers to put there the values system administrators identify the device by. That the two agree on real
//! Windows devices is not verified here (no Windows device): a device whose Win32_BIOS.SerialNumber differs
//! from its type 1 serial would get a different serial in its records after this change. Wine, for what it
//! is worth, answers Win32_BIOS.SerialNumber with a constant and Win32_ComputerSystemProduct's
//! IdentifyingNumber from the type 1 serial.

/// The SMBIOS structure table inside what `GetSystemFirmwareTable('RSMB', 0, …)` returns: the
/// RawSMBIOSData header (u8 Used20CallingMethod, u8 SMBIOSMajorVersion, u8 SMBIOSMinorVersion,
/// u8 DmiRevision, u32 Length, little-endian) taken off, and the table cut to `Length`
/// (<https://learn.microsoft.com/en-us/windows/win32/api/sysinfoapi/nf-sysinfoapi-getsystemfirmwaretable>,
/// Remarks). `None` when the buffer is shorter than its header says.
pub fn raw_smbios_table(raw: &[u8]) -> Option<&[u8]> {
    let len = u32::from_le_bytes(raw.get(4..8)?.try_into().ok()?);
    raw.get(8..8usize.checked_add(usize::try_from(len).ok()?)?)
}

/// Manufacturer, product name and serial number of the first System Information (type 1) structure of an
/// SMBIOS structure table (the same bytes as Linux's `/sys/firmware/dmi/tables/DMI`), each trimmed, empty
/// when the field is absent or its index is 0. `None` when the table has no whole type 1 structure before
/// its end or a malformed structure. Never reads out of bounds, whatever the bytes.
pub fn smbios_system(table: &[u8]) -> Option<(String, String, String)> {
    let mut at = 0usize;
    while let Some(header) = table.get(at..at.checked_add(4)?) {
        let (kind, len) = (header[0], usize::from(header[1]));
        // A structure is at least its 4-byte header; a shorter length would loop or overlap.
        if len < 4 {
            return None;
        }
        let formatted = table.get(at..at + len)?;
        let rest = &table[at + len..];
        // The string set runs to the first double NUL (a structure without strings has just that).
        let end = rest.windows(2).position(|w| w == [0, 0])?;
        let strings = &rest[..end];
        if kind == 1 {
            let field = |offset: usize| {
                formatted
                    .get(offset)
                    .and_then(|&index| string(strings, index))
                    .unwrap_or_default()
            };
            return Some((field(0x04), field(0x05), field(0x07)));
        }
        if kind == 127 {
            return None;
        }
        at = at + len + end + 2;
    }
    None
}

/// String `index` (1-based) of a structure's string set, trimmed; SMBIOS 3 strings are UTF-8 (earlier
/// ones ASCII), anything else is replaced rather than refused.
fn string(strings: &[u8], index: u8) -> Option<String> {
    let index = usize::from(index).checked_sub(1)?;
    let s = strings.split(|b| *b == 0).nth(index)?;
    Some(String::from_utf8_lossy(s).trim().to_string())
}

/// The raw SMBIOS firmware table from kernel32's GetSystemFirmwareTable('RSMB', 0): called once for the
/// size and once for the data. `None` when Windows cannot give it (the caller falls back to CIM).
#[cfg(windows)]
pub fn read_firmware_table() -> Option<Vec<u8>> {
    use std::ffi::c_void;
    #[link(name = "kernel32")]
    extern "system" {
        fn GetSystemFirmwareTable(provider: u32, id: u32, buf: *mut c_void, size: u32) -> u32;
    }
    // The C multi-character constant 'RSMB': 'R' in the most significant byte.
    const RSMB: u32 = u32::from_be_bytes(*b"RSMB");
    // SAFETY: a null buffer of size 0 asks only for the size needed.
    let size = unsafe { GetSystemFirmwareTable(RSMB, 0, std::ptr::null_mut(), 0) };
    if size == 0 {
        return None;
    }
    let mut buf = vec![0u8; size as usize];
    // SAFETY: `buf` is writable for `size` bytes, the size passed.
    let got = unsafe { GetSystemFirmwareTable(RSMB, 0, buf.as_mut_ptr().cast(), size) };
    // 0 is a failure; more than `size` means the table grew between the calls: not read.
    if got == 0 || got > size {
        return None;
    }
    buf.truncate(got as usize);
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A structure: header (type, length, handle), the formatted bytes after the header, its strings.
    fn structure(kind: u8, handle: u16, formatted: &[u8], strings: &[&str]) -> Vec<u8> {
        let mut s = vec![kind, u8::try_from(4 + formatted.len()).unwrap()];
        s.extend(handle.to_le_bytes());
        s.extend(formatted);
        for t in strings {
            s.extend(t.as_bytes());
            s.push(0);
        }
        if strings.is_empty() {
            s.push(0);
        }
        s.push(0);
        s
    }

    /// A table like a laptop's: BIOS (type 0), System Information (type 1, SMBIOS 2.4 length 1Bh),
    /// End-of-Table (type 127).
    fn laptop() -> Vec<u8> {
        let mut t = structure(
            0,
            0,
            &[
                1, 2, 0, 0xe0, 3, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            &["Dell Inc.", "1.21.0", "05/14/2024"],
        );
        let mut system = vec![1, 2, 0, 3]; // manufacturer, product, no version, serial
        system.extend([0x11; 16]); // UUID
        system.extend([6, 0, 4]); // wake-up type, no SKU, family
        t.extend(structure(
            1,
            1,
            &system,
            &["  Dell Inc. ", "Latitude 7440", "5CG1234XYZ", "Latitude"],
        ));
        t.extend(structure(127, 2, &[], &[]));
        t
    }

    #[test]
    fn the_system_information_of_a_hand_built_table() {
        let t = laptop();
        assert_eq!(
            smbios_system(&t),
            Some((
                "Dell Inc.".to_string(),
                "Latitude 7440".to_string(),
                "5CG1234XYZ".to_string()
            ))
        );
        // The RawSMBIOSData header of GetSystemFirmwareTable comes off, and its Length bounds the table.
        let mut raw = vec![0, 3, 4, 0];
        raw.extend(u32::try_from(t.len()).unwrap().to_le_bytes());
        raw.extend(&t);
        raw.extend([0xAA; 5]);
        assert_eq!(raw_smbios_table(&raw), Some(&t[..]));
        assert_eq!(raw_smbios_table(&raw[..raw.len() - 6]), None);
        assert_eq!(raw_smbios_table(&raw[..7]), None);
    }

    #[test]
    fn absent_fields_and_missing_structures() {
        // A 2.0 type 1 (length 08h) whose product index is 0 and whose serial points past its strings.
        let mut t = structure(1, 1, &[1, 0, 0, 9], &["LENOVO"]);
        t.extend(structure(127, 2, &[], &[]));
        assert_eq!(
            smbios_system(&t),
            Some(("LENOVO".to_string(), String::new(), String::new()))
        );
        // A type 1 too short to hold the serial field: the rest is still read.
        let t = structure(1, 1, &[1, 2], &["HP", "EliteBook"]);
        assert_eq!(
            smbios_system(&t),
            Some(("HP".into(), "EliteBook".into(), String::new()))
        );
        // No type 1 before End-of-Table, none at all, a length under 4: no answer.
        let mut t = structure(0, 0, &[1], &["x"]);
        t.extend(structure(127, 1, &[], &[]));
        t.extend(structure(1, 2, &[1, 1, 1, 1], &["after the end"]));
        assert_eq!(smbios_system(&t), None);
        assert_eq!(smbios_system(&[]), None);
        assert_eq!(smbios_system(&[1, 2, 0, 0, 0, 0]), None);
    }

    #[test]
    fn every_truncation_and_corruption_of_a_table_returns() {
        let t = laptop();
        let whole = smbios_system(&t);
        for n in 0..t.len() {
            // A cut table answers the whole type 1 or nothing: never a string cut short.
            let got = smbios_system(&t[..n]);
            assert!(got.is_none() || got == whole, "{n}: {got:?}");
            let _ = raw_smbios_table(&t[..n]);
        }
        // Each byte set to each of a few hostile values: lengths 0..4, 255, indexes past the strings.
        for i in 0..t.len() {
            for v in [0u8, 1, 3, 4, 7, 127, 255] {
                let mut bad = t.clone();
                bad[i] = v;
                let _ = smbios_system(&bad);
            }
        }
        // A type 1 cut before its strings end is not answered with half a string set.
        let end = t.len() - 6; // before type 127
        assert_eq!(smbios_system(&t[..end - 1]), None);
    }

    /// The Linux host's own table against what the kernel says in /sys/class/dmi/id: the same parser
    /// Windows uses, on real firmware. The table is readable by root only, and absent in some VMs and
    /// containers: then the test says why it checked nothing.
    #[test]
    fn this_hosts_table_agrees_with_the_kernel() {
        let table = match std::fs::read("/sys/firmware/dmi/tables/DMI") {
            Ok(t) => t,
            Err(e) => {
                println!("skipped: /sys/firmware/dmi/tables/DMI: {e}");
                return;
            }
        };
        let id = |f: &str| {
            std::fs::read_to_string(format!("/sys/class/dmi/id/{f}"))
                .map(|s| s.trim().to_string())
                .ok()
        };
        let (maker, product, serial) = smbios_system(&table).expect("a type 1 structure");
        if let Some(v) = id("sys_vendor") {
            assert_eq!(maker, v);
        }
        if let Some(v) = id("product_name") {
            assert_eq!(product, v);
        }
        match id("product_serial") {
            Some(v) => assert_eq!(serial, v),
            None => println!("product_serial not readable: serial {serial:?} not compared"),
        }
    }
}
