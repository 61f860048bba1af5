//! Windows ACLs read as SDDL text: who, besides SYSTEM and Administrators, may write or read an
//! object or a directory above it. Pure string work, so it is tested on every OS.

/// Principals whose access to a file or directory does not matter: SYSTEM, Administrators,
/// TrustedInstaller and CREATOR OWNER, as SDDL names them (SDDL, unlike icacls' display, is not
/// localised).
pub(super) const WINDOWS_TRUSTED: &[&str] = &[
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
pub(super) fn sddl_owner(sddl: &str) -> Option<&str> {
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
