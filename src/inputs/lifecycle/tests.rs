//! Unit tests of the module beside this file.

use super::*;

fn at(t: &str) -> SystemTime {
    humantime::parse_rfc3339(t).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lifecycle")
        .join(name)
}

fn debian12(ends: &str) -> Value {
    serde_json::json!({"id": "debian", "version": "12", "name": "Debian 12",
                           "regular_end": "2026-06-10", "extended_end": "2028-06-30",
                           "support_ends": ends})
}

#[test]
fn warns_from_90_days_before_support_ends() {
    let obs = debian12("2028-06-30");
    assert_eq!(
        support_warning(&obs, at("2028-03-31T23:59:59Z")),
        None,
        "91 days"
    );
    assert_eq!(
        support_warning(&obs, at("2028-04-01T00:00:00Z")).as_deref(),
        Some("Debian 12: security support ends on 2028-06-30 (in 90 days); plan the upgrade")
    );
    assert_eq!(
        support_warning(&obs, at("2028-05-16T10:00:00Z")).as_deref(),
        Some("Debian 12: security support ends on 2028-06-30 (in 45 days); plan the upgrade")
    );
    assert_eq!(
        support_warning(&obs, at("2028-06-30T23:00:00Z")).as_deref(),
        Some("Debian 12: security support ends on 2028-06-30 (today); plan the upgrade")
    );
    assert_eq!(
        support_warning(&obs, at("2028-07-01T00:00:00Z")),
        None,
        "past the end"
    );
}

#[test]
fn no_warning_without_a_support_end() {
    let now = at("2028-06-01T00:00:00Z");
    assert_eq!(support_warning(&Value::Null, now), None);
    assert_eq!(support_warning(&serde_json::json!({}), now), None);
    assert_eq!(
        support_warning(&serde_json::json!({"support_ends": ""}), now),
        None
    );
    assert_eq!(
        support_warning(&serde_json::json!({"support_ends": "2028-6-30"}), now),
        None
    );
    assert_eq!(
        support_warning(&serde_json::json!({"support_ends": 20280630}), now),
        None
    );
    // Without a name: the id and version (an older check), else a plain subject.
    let w = support_warning(
        &serde_json::json!({"id": "debian", "version": "12", "support_ends": "2028-06-30"}),
        now,
    );
    assert!(w
        .unwrap()
        .starts_with("debian 12: security support ends on 2028-06-30 (in 29 days)"));
}

#[test]
fn dates_are_strict() {
    assert!(is_date("2028-06-30"));
    for bad in [
        "2028-6-30",
        "2028-02-30",
        "2028-13-01",
        "2028-06-30T00:00:00Z",
        "30/06/2028",
        "",
    ] {
        assert!(!is_date(bad), "{bad}");
    }
}

/// Import `fixture` into a fresh table (a copy of the embedded one) on 2026-09-01.
fn import_fixture(
    name: &str,
    product: Option<&str>,
) -> (tempfile::TempDir, PathBuf, ImportSummary) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lifecycle.toml");
    let s = import_at(&fixture(name), product, &out, at("2026-09-01T08:00:00Z")).unwrap();
    (dir, out, s)
}

/// The text of the row `[[release]]` for id and version, up to the next row.
fn row(table: &str, id: &str, version: &str) -> String {
    let head = format!("id = \"{id}\"\nversion = \"{version}\"\n");
    let start = table
        .find(&head)
        .unwrap_or_else(|| panic!("no {id} {version} row in\n{table}"));
    let rest = &table[start..];
    rest[..rest.find("[[release]]").unwrap_or(rest.len())].to_string()
}

#[test]
fn v0_import_updates_a_row_keeping_its_comments_and_adds_a_new_cycle() {
    let (_d, out, s) = import_fixture("debian-v0.json", Some("debian"));
    assert!(s.written, "{s}");
    assert_eq!(s.from, "<embedded>/lifecycle.toml");
    assert_eq!(
            s.updated,
            ["Debian 12: regular_end 2026-07-11 -> 2026-07-01, extended_end 2028-06-30 -> 2028-07-31"]
        );
    assert_eq!(s.unchanged, ["Debian 13"]);
    assert_eq!(s.added.len(), 1, "{s}");
    assert!(
        s.added[0].starts_with(
            "Debian 14: regular_end 2030-08-14, extended_end 2032-06-30, extended = \"lts\""
        ),
        "{s}"
    );
    assert_eq!(s.skipped, ["Debian 11: support ended 2026-08-31"]);

    let t = std::fs::read_to_string(&out).unwrap();
    let d12 = row(&t, "debian", "12");
    assert!(d12.contains("# (debian.org/News/2026/2026051602): the security team's last day for bookworm.\nregular_end = 2026-07-01\n"), "{d12}");
    assert!(
        d12.contains("extended_end = 2028-07-31   # Debian LTS\n"),
        "{d12}"
    );
    // The row says when its dates were read.
    assert!(d12.contains("read = 2026-09-01\n"), "{d12}");
    assert!(d12.contains("extended = \"lts\""), "{d12}");
    let d14 = row(&t, "debian", "14");
    assert!(d14.contains("name = \"Debian 14\"\nregular_end = 2030-08-14\nextended_end = 2032-06-30\nextended = \"lts\"\nread = 2026-09-01\n"), "{d14}");
    // The new row follows Debian 13, with a comment saying where it came from.
    assert!(t.find("version = \"13\"").unwrap() < t.find("version = \"14\"").unwrap());
    assert!(t.find("version = \"14\"").unwrap() < t.find("id = \"ubuntu\"").unwrap());
    assert!(t.contains("# Added by `handover lifecycle import` (endoflife.date debian, 2026-09-01).\n[[release]]\nid = \"debian\"\nversion = \"14\""), "{t}");
    // The header comments and the other products' rows are as they were; the source says what happened.
    let embedded = Sources::default().profile_file("lifecycle.toml").unwrap().1;
    assert!(t.starts_with(&embedded[..embedded.find("source =").unwrap()]));
    assert!(
        t.contains("\nsource = \"endoflife.date import of debian, 2026-09-01\"\n"),
        "{t}"
    );
    assert_eq!(
        t.matches("[[release]]").count(),
        embedded.matches("[[release]]").count() + 1
    );
    let tail = |x: &str| x[x.find("id = \"ubuntu\"").unwrap()..].to_string();
    assert_eq!(tail(&t), tail(&embedded));
    // And the table loads as `os.supported` reads it.
    let file: LifecycleFile = parse_toml(&out, &t).unwrap();
    let r = file
        .release
        .iter()
        .find(|r| r.id == "debian" && r.version == "14")
        .unwrap();
    assert_eq!(r.extended.as_deref(), Some("lts"));
    assert_eq!(r.extended_end.unwrap().to_string(), "2032-06-30");
}

#[test]
fn reimport_is_a_no_op() {
    let (_d, out, _) = import_fixture("debian-v0.json", Some("debian"));
    let before = std::fs::read(&out).unwrap();
    let mtime = std::fs::metadata(&out).unwrap().modified().unwrap();
    let s = import_at(
        &fixture("debian-v0.json"),
        Some("debian"),
        &out,
        at("2026-10-01T08:00:00Z"),
    )
    .unwrap();
    assert!(!s.written && !s.changed(), "{s}");
    assert_eq!(s.from, out.display().to_string());
    assert_eq!(s.unchanged, ["Debian 14", "Debian 13", "Debian 12"]);
    assert!(s.to_string().contains("nothing changed"), "{s}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(std::fs::metadata(&out).unwrap().modified().unwrap(), mtime);
}

#[test]
fn v1_import_names_its_product_and_adds_lts_rows() {
    let (_d, out, s) = import_fixture("ubuntu-v1.json", None);
    assert_eq!(s.product, "ubuntu");
    assert_eq!(s.unchanged, ["Ubuntu 24.04 LTS", "Ubuntu 22.04 LTS"]);
    assert_eq!(
            s.updated,
            ["Ubuntu 26.04 LTS: regular_end 2031-04-30 -> 2031-05-29, extended_end 2036-04-30 -> 2036-04-23"]
        );
    assert_eq!(s.skipped, ["Ubuntu 25.10: support ended 2026-07-09"]);
    let t = std::fs::read_to_string(&out).unwrap();
    let r = row(&t, "ubuntu", "26.04");
    assert!(r.contains("regular_end = 2031-05-29"), "{r}");
    assert!(r.contains("extended_end = 2036-04-23"), "{r}");
    assert!(
        r.contains("extended = \"ubuntu-pro\"\nread = 2026-09-01\n"),
        "{r}"
    );
    // --product agrees with the document, by either name.
    let dir = tempfile::tempdir().unwrap();
    import_at(
        &fixture("ubuntu-v1.json"),
        Some("ubuntu"),
        &dir.path().join("l.toml"),
        at("2026-09-01T00:00:00Z"),
    )
    .unwrap();
    let e = import_at(
        &fixture("ubuntu-v1.json"),
        Some("debian"),
        &dir.path().join("l.toml"),
        at("2026-09-01T00:00:00Z"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("ubuntu-v1.json: this is the export of ubuntu, not of debian"),
        "{e}"
    );
}

#[test]
fn v0_false_extended_support_means_none() {
    // A table without its Rocky Linux 10 row, for the import to add it.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lifecycle.toml");
    let embedded = Sources::default().profile_file("lifecycle.toml").unwrap().1;
    let r10 = row(&embedded, "rocky", "10");
    let r10 = format!("[[release]]\n{r10}");
    assert!(embedded.contains(&r10));
    crate::support::fsutil::write_private(&out, embedded.replacen(&r10, "", 1).as_bytes()).unwrap();
    let s = import_at(
        &fixture("rocky-linux-v0.json"),
        Some("rocky-linux"),
        &out,
        at("2026-09-01T08:00:00Z"),
    )
    .unwrap();
    assert_eq!(s.unchanged, ["Rocky Linux 9"]);
    assert_eq!(s.added.len(), 1, "{s}");
    let t = std::fs::read_to_string(&out).unwrap();
    let r = row(&t, "rocky", "10");
    assert!(
        r.contains("name = \"Rocky Linux 10\"\nregular_end = 2035-05-31"),
        "{r}"
    );
    assert!(!r.contains("extended"), "{r}");
    // An existing row's extended end goes when the export says there is none.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("debian.json");
    std::fs::write(
        &file,
        r#"[{"cycle": "13", "eol": "2028-08-09", "extendedSupport": false}]"#,
    )
    .unwrap();
    let out = dir.path().join("lifecycle.toml");
    let s = import_at(&file, Some("debian"), &out, at("2026-09-01T00:00:00Z")).unwrap();
    assert_eq!(s.updated, ["Debian 13: extended_end 2030-06-30 removed (the export says there is no extended support)"]);
    let r = row(&std::fs::read_to_string(&out).unwrap(), "debian", "13");
    assert!(
        !r.contains("extended_end") && r.contains("extended = \"lts\""),
        "{r}"
    );
    // `true` or no key says nothing: the table's date stays.
    std::fs::write(&file, r#"[{"cycle": "12", "eol": "2026-07-11", "extendedSupport": true}, {"cycle": "13", "eol": "2028-08-09"}]"#).unwrap();
    let out = dir.path().join("again.toml");
    let s = import_at(&file, Some("debian"), &out, at("2026-09-01T00:00:00Z")).unwrap();
    assert_eq!(s.unchanged, ["Debian 12", "Debian 13"]);
    assert!(!out.exists());
}

#[test]
fn an_extended_end_is_added_where_it_belongs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rocky.json");
    std::fs::write(
        &file,
        r#"[{"cycle": "9", "eol": "2032-05-31", "extendedSupport": "2034-05-31"}]"#,
    )
    .unwrap();
    let out = dir.path().join("lifecycle.toml");
    let s = import_at(&file, Some("rocky"), &out, at("2026-09-01T00:00:00Z")).unwrap();
    assert_eq!(
        s.updated,
        ["Rocky Linux 9: extended_end none -> 2034-05-31"]
    );
    let r = row(&std::fs::read_to_string(&out).unwrap(), "rocky", "9");
    assert!(
        r.contains("regular_end = 2032-05-31\nextended_end = 2034-05-31\n"),
        "{r}"
    );
}

#[test]
fn bad_input_names_the_file_and_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lifecycle.toml");
    let err = |name: &str, product: Option<&str>| {
        format!(
            "{:#}",
            import_at(&fixture(name), product, &out, at("2026-09-01T00:00:00Z")).unwrap_err()
        )
    };
    let e = err("bad-date-v0.json", Some("debian"));
    assert!(
        e.contains("bad-date-v0.json: [3].eol: \"2024-8-14\" is not a date (YYYY-MM-DD)"),
        "{e}"
    );
    let e = err("not-json.html", Some("debian"));
    assert!(e.contains("not-json.html: not JSON"), "{e}");
    let e = err("debian-v0.json", None);
    assert!(
        e.contains(
            "debian-v0.json: an endoflife.date v0 export does not name its product: give --product"
        ),
        "{e}"
    );
    let e = err("debian-v0.json", Some("gentoo"));
    assert!(
        e.contains("debian-v0.json: unknown product \"gentoo\""),
        "{e}"
    );
    let file = dir.path().join("v1.json");
    std::fs::write(&file, r#"{"result": {"name": "debian", "releases": [{"name": "12", "eolFrom": "2026-06-10", "eoesFrom": "June 2028"}]}}"#).unwrap();
    let e = format!(
        "{:#}",
        import_at(&file, None, &out, at("2026-09-01T00:00:00Z")).unwrap_err()
    );
    assert!(
        e.contains("v1.json: result.releases[0].eoesFrom: \"June 2028\" is not a date"),
        "{e}"
    );
    std::fs::write(&file, r#"[{"cycle": "12; rm -rf /", "eol": "2026-06-10"}]"#).unwrap();
    let e = format!(
        "{:#}",
        import_at(&file, Some("debian"), &out, at("2026-09-01T00:00:00Z")).unwrap_err()
    );
    assert!(
        e.contains("[0].cycle: \"12; rm -rf /\" is not a release cycle name"),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn windows_is_imported_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("windows.json");
    std::fs::write(&file, r#"[{"cycle": "11-25h2-e", "eol": "2028-10-10"}]"#).unwrap();
    let out = dir.path().join("lifecycle.toml");
    let s = import_at(&file, Some("windows"), &out, at("2026-09-01T00:00:00Z")).unwrap();
    assert!(s.id.is_none() && !s.written);
    assert!(s.to_string().contains("import them by hand"), "{s}");
    assert!(!out.exists());
}

#[cfg(unix)]
#[test]
fn an_imported_table_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lifecycle.toml");
    assert!(override_text(&out).unwrap().is_none());
    import_at(
        &fixture("debian-v0.json"),
        Some("debian"),
        &out,
        at("2026-09-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (path, text) = override_text(&out).unwrap().unwrap();
    assert_eq!(path, out.display().to_string());
    assert!(text.contains("endoflife.date import of debian"));
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = override_text(&out).unwrap_err().to_string();
    assert!(
        e.contains("refusing lifecycle table") && e.contains("writable by group or others"),
        "{e}"
    );
    // Nor is it imported into.
    assert!(import_at(
        &fixture("debian-v0.json"),
        Some("debian"),
        &out,
        at("2026-09-01T00:00:00Z")
    )
    .is_err());
}

#[test]
fn a_release_named_twice_is_an_input_error_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let row = |v: &str| {
        format!("\n[[release]]\nid = \"debian\"\nversion = \"{v}\"\nname = \"Debian\"\nregular_end = 2028-08-09\n")
    };
    let text = format!("source = \"test\"\n{}{}{}", row("12"), row("13"), row("13"));
    std::fs::write(dir.path().join("lifecycle.toml"), text).unwrap();
    let sources = Sources {
        profiles_dir: Some(dir.path().to_path_buf()),
        templates_dir: None,
    };
    let e = load(&sources).unwrap_err().to_string();
    let file = dir.path().join("lifecycle.toml");
    assert!(
        e.contains(&format!("{}:17", file.display()))
            && e.contains("release.2.version")
            && e.contains("debian 13 is named twice (first at line 11)"),
        "{e}"
    );
}

#[test]
fn the_shipped_table_loads() {
    let t = load(&Sources::default()).unwrap();
    assert!(t["releases"].as_array().unwrap().len() > 10);
}
