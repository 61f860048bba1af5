//! Unit tests of the deterministic parts of `cargo xtask dist`: versions, the control file, the
//! changelog, the checks of dpkg-deb, lintian and msiinfo output, the .wxs and wixl's arguments.

use super::*;

const CARGO_TOML: &str = include_str!("../../../Cargo.toml");
const WXS: &str = include_str!("../../../contrib/packaging/handover.wxs");

#[test]
fn the_version_is_cargo_tomls() {
    let v = package_version(CARGO_TOML).unwrap();
    assert!(v.split('.').count() >= 3, "{v}");
    assert_eq!(
        package_version(
            "[package]\nname = \"x\"\nversion = \"1.2.3-rc.1\"\n[dependencies]\nversion = \"9\"\n"
        )
        .unwrap(),
        "1.2.3-rc.1"
    );
    // A version elsewhere than in [package] is not the package's.
    assert!(package_version("[dependencies]\nversion = \"9\"\n").is_err());
    assert!(package_version("[package]\nversion = \"1 2\"\n").is_err());
    assert_eq!(deb_version("1.2.3-rc.1"), "1.2.3~rc.1");
    assert_eq!(msi_version("1.2.3-rc.1+git").unwrap(), "1.2.3");
    assert!(msi_version("1.2").is_err());
    assert!(msi_version("256.0.0").is_err());
}

#[test]
fn the_control_file_names_the_version_depends_and_a_long_description() {
    let v = package_version(CARGO_TOML).unwrap();
    let c = control(&v, "libc6 (>= 2.34), libssl3 (>= 3.0.0)", 12345, MAINTAINER);
    assert!(c.starts_with("Package: handover\n"), "{c}");
    assert!(
        c.contains(&format!("\nVersion: {}\n", deb_version(&v))),
        "{c}"
    );
    assert!(c.contains("\nArchitecture: amd64\n"), "{c}");
    assert!(
        c.contains("\nDepends: libc6 (>= 2.34), libssl3 (>= 3.0.0)\n"),
        "{c}"
    );
    assert!(c.contains("\nInstalled-Size: 12345\n"), "{c}");
    // deb-control(5): continuation lines start with a space, an empty one is " ."; no blank line
    // (it would end the stanza) and one trailing newline.
    let desc: Vec<&str> = c
        .lines()
        .skip_while(|l| !l.starts_with("Description:"))
        .collect();
    assert!(desc.len() > 3, "{c}");
    assert!(
        desc[1..]
            .iter()
            .all(|l| l.starts_with(' ') && l.len() <= 80),
        "{desc:?}"
    );
    assert!(desc.contains(&" ."), "{desc:?}");
    assert!(c.ends_with(".\n") && !c.contains("\n\n"), "{c:?}");
}

#[test]
fn the_changelog_is_a_debian_changelog_entry() {
    let c = changelog("0.1.0", MAINTAINER, "Sun, 6 Dec 2026 09:17:06 +0000");
    let lines: Vec<&str> = c.lines().collect();
    assert_eq!(lines[0], "handover (0.1.0) unstable; urgency=medium");
    assert!(lines[2].starts_with("  * "), "{c}");
    assert_eq!(
        *lines.last().unwrap(),
        format!(" -- {MAINTAINER}  Sun, 6 Dec 2026 09:17:06 +0000")
    );
}

#[test]
fn shlibdeps_output_is_parsed_and_an_empty_one_refused() {
    assert_eq!(
        parse_shlibdeps(
            "dpkg-shlibdeps: warning: …\nshlibs:Depends=libc6 (>= 2.34), libgcc-s1 (>= 4.2)\n"
        )
        .unwrap(),
        "libc6 (>= 2.34), libgcc-s1 (>= 4.2)"
    );
    assert!(parse_shlibdeps("shlibs:Depends=\n").is_err());
    assert!(parse_shlibdeps("shlibs:Depends=libssl3\n").is_err());
    assert!(parse_shlibdeps("").is_err());
}

fn listing(skip: &str, owner: &str) -> String {
    let mut l = String::from("drwxr-xr-x root/root 0 2026-12-06 09:23 ./\n");
    for p in DEB_PATHS.iter().filter(|p| **p != skip) {
        let mode = if *p == "/usr/bin/handover" {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        let _ = writeln!(l, "{mode} {owner} 10 2026-12-06 09:23 .{p}");
    }
    l
}

#[test]
fn the_deb_listing_check_finds_a_missing_path_a_wrong_owner_and_an_installed_unit() {
    assert_eq!(
        check_deb_listing(&listing("", "root/root")),
        Vec::<String>::new()
    );
    let missing = check_deb_listing(&listing(
        "/usr/share/zsh/vendor-completions/_handover",
        "root/root",
    ));
    assert_eq!(
        missing,
        vec!["/usr/share/zsh/vendor-completions/_handover is missing"]
    );
    assert!(!check_deb_listing(&listing("", "build/build")).is_empty());
    let mut enabled = listing("", "root/root");
    enabled.push_str(
        "-rw-r--r-- root/root 10 2026-12-06 09:23 ./lib/systemd/system/handover-check.timer\n",
    );
    assert_eq!(check_deb_listing(&enabled).len(), 1, "{enabled}");
    let not_exec = listing("", "root/root").replace(
        "-rwxr-xr-x root/root 10 2026-12-06 09:23 ./usr/bin",
        "-rw-r--r-- root/root 10 2026-12-06 09:23 ./usr/bin",
    );
    assert_eq!(check_deb_listing(&not_exec).len(), 1);
}

#[test]
fn lintian_errors_and_warnings_are_told_apart() {
    let (e, w) = lintian_findings(
        "E: handover: no-copyright-file\nW: handover: manpage-has-bad-whatis-entry x\nI: handover: info\nN: note\n",
    );
    assert_eq!(e, vec!["E: handover: no-copyright-file"]);
    assert_eq!(w, vec!["W: handover: manpage-has-bad-whatis-entry x"]);
}

#[test]
fn the_systemd_examples_are_the_crates_units_for_usr_bin() {
    let units = systemd_examples().unwrap();
    let get = |n: &str| &units.iter().find(|(name, _)| *name == n).unwrap().1;
    assert!(get("handover-check.service").contains("ExecStart=-/usr/bin/handover check"));
    assert!(get("handover-check.timer").contains("OnCalendar=daily"));
    assert!(get("README").contains("does not install\nor enable them"));
}

#[test]
fn wixl_gets_the_version_and_sources() {
    let v = package_version(CARGO_TOML).unwrap();
    let args = wixl_args(
        &v,
        Path::new("/d"),
        "handover.exe",
        "handover.ps1",
        Path::new("/r/handover.wxs"),
        Path::new("/d/x.msi"),
    )
    .unwrap();
    assert_eq!(args[..2], ["-a", "x64"]);
    assert!(args.contains(&format!("Version={}", msi_version(&v).unwrap())));
    assert!(args.contains(&"ExeSource=handover.exe".to_string()));
    assert!(args.contains(&"CompletionSource=handover.ps1".to_string()));
    let path = wixl_args(
        &v,
        Path::new("/d"),
        "/d/handover.exe",
        "handover.ps1",
        Path::new("/r/w.wxs"),
        Path::new("/d/x.msi"),
    );
    assert!(
        path.is_err(),
        "wixl cannot find a Source by an absolute path"
    );
    assert_eq!(args[args.len() - 2..], ["/d/x.msi", "/r/handover.wxs"]);
}

#[test]
fn the_wxs_uses_every_variable_wixl_is_given_and_the_acl_of_ensure_private_dir() {
    for var in [
        "$(var.Version)",
        "$(var.ExeSource)",
        "$(var.CompletionSource)",
    ] {
        assert!(WXS.contains(var), "{var}");
    }
    assert!(WXS.contains("*S-1-5-18:(OI)(CI)F") && WXS.contains("*S-1-5-32-544:(OI)(CI)F"));
    check_wxs_tree(WXS);
}

#[test]
fn the_man_pages_go_into_the_wxs_as_files_of_one_component_in_man1() {
    let pages: Vec<String> = ["handover.1", "handover-site-init.1", "handover-check.1"]
        .map(String::from)
        .to_vec();
    let xml = wxs_with_man_pages(WXS, &pages).unwrap();
    assert!(!xml.contains("<!--@MANPAGES"));
    check_wxs_tree(&xml);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let files: Vec<_> = doc
        .descendants()
        .filter(|n| {
            n.attribute("Source")
                .is_some_and(|s| s.starts_with("man1/"))
        })
        .collect();
    assert_eq!(files.len(), 3);
    for f in &files {
        let component = f.parent().unwrap();
        assert_eq!(component.attribute("Id"), Some("ManPages"));
        assert_eq!(component.parent().unwrap().attribute("Id"), Some("MAN1DIR"));
        assert_eq!(
            format!("man1/{}", f.attribute("Name").unwrap()),
            f.attribute("Source").unwrap()
        );
    }
    // No handover.1, a name that is not a page, or a .wxs without the places: refused.
    assert!(wxs_with_man_pages(WXS, &pages[1..]).is_err());
    let mut odd = pages.clone();
    odd.push("x\"/>.1".into());
    assert!(wxs_with_man_pages(WXS, &odd).is_err());
    assert!(wxs_with_man_pages(&WXS.replace("<!--@MANPAGES@-->", ""), &pages).is_err());
}

/// The .wxs parsed: wixl needs an explicit Sequence on every custom action; the files are in
/// Program Files\handover (64-bit components), and the folder the ACL action names is the one
/// CreateFolder makes.
fn check_wxs_tree(xml: &str) {
    let doc = roxmltree::Document::parse(xml).expect("handover.wxs is well-formed XML");
    let elems = |name: &str| -> Vec<roxmltree::Node<'_, '_>> {
        doc.descendants()
            .filter(|n| n.tag_name().name() == name)
            .collect()
    };
    let customs = elems("Custom");
    assert_eq!(customs.len(), 2);
    assert!(customs.iter().all(|c| c.attribute("Sequence").is_some()));
    let dir_of = |n: roxmltree::Node<'_, '_>| -> Vec<String> {
        n.ancestors()
            .filter(|a| a.tag_name().name() == "Directory")
            .map(|a| a.attribute("Id").unwrap_or_default().to_string())
            .collect()
    };
    for file in elems("File") {
        let dirs = dir_of(file);
        assert_eq!(
            dirs[dirs.len() - 3..],
            ["INSTALLDIR", "ProgramFiles64Folder", "TARGETDIR"]
        );
        let component = file.parent().unwrap();
        assert_eq!(component.attribute("Win64"), Some("yes"));
    }
    let create = elems("CreateFolder");
    assert_eq!(create.len(), 1);
    assert_eq!(dir_of(create[0])[..2], ["DATADIR", "CommonAppDataFolder"]);
    let data = elems("Directory")
        .into_iter()
        .find(|d| d.attribute("Id") == Some("DATADIR"))
        .unwrap();
    let protect = elems("CustomAction")
        .into_iter()
        .find(|a| a.attribute("Id") == Some("ProtectDataDir"))
        .unwrap();
    let folder = format!("[CommonAppDataFolder]{}", data.attribute("Name").unwrap());
    assert!(protect
        .attribute("ExeCommand")
        .unwrap()
        .contains(&format!("\"{folder}\"")));
    assert_eq!(protect.attribute("Execute"), Some("deferred"));
    assert_eq!(protect.attribute("Impersonate"), Some("no"));
    // Every component is in the one feature.
    let refs: Vec<&str> = elems("ComponentRef")
        .iter()
        .filter_map(|r| r.attribute("Id"))
        .collect();
    for c in elems("Component") {
        assert!(refs.contains(&c.attribute("Id").unwrap()), "{c:?}");
    }
}

/// `msiinfo export` of the .msi `cargo xtask dist` built (wixl 0.101).
fn good_tables() -> BTreeMap<&'static str, String> {
    let h = |cols: &str| format!("{cols}\nx\tx\nT\tT\n");
    BTreeMap::from([
        ("File", h("File\tComponent_\tFileName\tFileSize\tVersion\tLanguage\tAttributes\tSequence")
            + "HandoverExe\tHandoverExe\thandover.exe\t12798649\t\t\t512\t1\n\
               CompletionPs1\tCompletion\thandover.ps1\t62585\t\t\t512\t2\n\
               ManPage0\tManPages\thandover.1\t2000\t\t\t512\t3\n\
               ManPage1\tManPages\tHANDOV~1.1|handover-site-init.1\t2000\t\t\t512\t4\n"),
        ("Component", h("Component\tComponentId\tDirectory_\tAttributes\tCondition\tKeyPath")
            + "HandoverExe\t{798B}\tINSTALLDIR\t256\t\tHandoverExe\n\
               Completion\t{9BC4}\tINSTALLDIR\t256\t\tCompletionPs1\n\
               ManPages\t{168C}\tMAN1DIR\t256\t\tManPage0\n\
               DataDir\t{DB05}\tDATADIR\t256\t\t\n"),
        ("CreateFolder", h("Directory_\tComponent_") + "DATADIR\tDataDir\n"),
        ("CustomAction", h("Action\tType\tSource\tTarget\tExtendedType")
            + "SetIcaclsPath\t2099\tHANDOVER_ICACLS\t[System64Folder]icacls.exe\t\n\
               ProtectDataDir\t3122\tHANDOVER_ICACLS\t\"[CommonAppDataFolder]handover\" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F /grant:r *S-1-5-32-544:(OI)(CI)F /q\t\n"),
        ("InstallExecuteSequence", h("Action\tCondition\tSequence")
            + "CostFinalize\t\t1000\nSetIcaclsPath\tNOT REMOVE\t1001\nCreateFolders\t\t3700\n\
               ProtectDataDir\tNOT REMOVE\t3701\nInstallFiles\t\t4000\n"),
        ("Directory", h("Directory\tDirectory_Parent\tDefaultDir")
            + "INSTALLDIR\tProgramFiles64Folder\thandover\nDATADIR\tCommonAppDataFolder\thandover\n\
               MANDIR\tINSTALLDIR\tman\nMAN1DIR\tMANDIR\tman1\n\
               ProgramFiles64Folder\tTARGETDIR\t.\nTARGETDIR\t\tSourceDir\nCommonAppDataFolder\tTARGETDIR\t.\n"),
    ])
}

#[test]
fn the_msi_tables_check_accepts_the_built_msi_and_finds_each_fault() {
    assert_eq!(check_msi_tables(&good_tables()), Vec::<String>::new());
    let broken = |table: &'static str, from: &str, to: &str| {
        let mut t = good_tables();
        let text = t[table].replace(from, to);
        assert_ne!(text, t[table], "{from}");
        t.insert(table, text);
        let problems = check_msi_tables(&t);
        assert!(!problems.is_empty(), "{table}: {from} -> {to} not found");
        problems
    };
    broken("File", "handover.ps1", "other.ps1");
    broken("File", "|handover-site-init.1", "|other.1");
    broken("Directory", "MAN1DIR\tMANDIR", "MAN1DIR\tINSTALLDIR");
    broken(
        "Component",
        "INSTALLDIR\t256\t\tHandoverExe",
        "INSTALLDIR\t0\t\tHandoverExe",
    );
    broken("CreateFolder", "DATADIR\tDataDir", "INSTALLDIR\tDataDir");
    broken("CustomAction", " /grant:r *S-1-5-32-544:(OI)(CI)F", "");
    broken("CustomAction", "/inheritance:r", "/inheritance:e");
    // Immediate (no 1024): it would run before the folder exists, as the installing user.
    broken("CustomAction", "3122", "50");
    broken(
        "CustomAction",
        "[System64Folder]icacls.exe",
        "[System64Folder]cmd.exe",
    );
    broken(
        "InstallExecuteSequence",
        "ProtectDataDir\tNOT REMOVE\t3701",
        "ProtectDataDir\tNOT REMOVE\t3600",
    );
    broken(
        "Directory",
        "ProgramFiles64Folder\thandover",
        "ProgramFilesFolder\thandover",
    );
    let mut none = good_tables();
    none.remove("CustomAction");
    assert!(!check_msi_tables(&none).is_empty());
}
