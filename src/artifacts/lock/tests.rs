//! Unit tests of `artifacts lock`: plans on real directories, the kept layout, and the prompt.

use super::*;

fn sha(b: &[u8]) -> String {
    crate::support::hashing::sha256_bytes(b)
}

fn known() -> Vec<String> {
    ["lsagent-linux", "office-source", "teams-msix", "office-odt"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A kit: `site.toml` with `site` as its text, and `downloads/` beside it.
fn kit(site: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let site_path = d.path().join("site.toml");
    fs::write(&site_path, site).unwrap();
    let from = d.path().join("downloads");
    fs::create_dir(&from).unwrap();
    (d, site_path, from)
}

fn plan_of(site_path: &Path, from: &Path) -> LockPlan {
    let src = fs::read_to_string(site_path).unwrap();
    plan(site_path, &src, from, &known()).unwrap()
}

const OLD: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn comments_and_layout_survive_except_the_changed_sha256_line() {
    let site = format!(
        "# Example University site\n\n[organisation]\nname = \"Example\"   # trailing comment\n\n\
         # The Lansweeper agent for Linux.\n# Downloaded from the portal.\n\
         [artifacts.lsagent-linux]   # header comment\n\
         # the vendor's URL\nurl   =   \"https://files.example.ac.uk/LsAgent-linux-x64.run\"\n\
         sha256 = \"{OLD}\"  # pinned 2025-01-01\n# after sha\n\n\
         [artifacts.untouched]\nurl = \"https://x/other.run\"\nsha256 = \"{OLD}\"\n\n\
         [[waiver]]\ncontrol = \"os.supported\"\n"
    );
    let (_d, site_path, from) = kit(&site);
    fs::write(from.join("LsAgent-linux-x64.run"), b"agent v2").unwrap();
    let p = plan_of(&site_path, &from);
    let new = sha(b"agent v2");
    assert_eq!(
        p.changes,
        vec![Change {
            name: "lsagent-linux".into(),
            what: format!("sha256 00000000… → {}", short(&new)),
        }]
    );
    assert!(p.unmatched.is_empty(), "{:?}", p.unmatched);
    let expected = site.replace(
        &format!("sha256 = \"{OLD}\"  # pinned"),
        &format!("sha256 = \"{new}\"  # pinned"),
    );
    assert_ne!(expected, site);
    assert_eq!(p.new_text, expected);
}

#[test]
fn new_table_appended_for_known_name() {
    let site = "[organisation]\nname = \"Example\"\n# end of organisation\n";
    let (_d, site_path, from) = kit(site);
    fs::write(from.join("lsagent-linux.run"), b"agent").unwrap();
    fs::write(from.join("teams-msix.x64.msix"), b"teams").unwrap();
    let p = plan_of(&site_path, &from);
    let (a, t) = (sha(b"agent"), sha(b"teams"));
    assert_eq!(
        p.changes
            .iter()
            .map(|c| c.what.as_str())
            .collect::<Vec<_>>(),
        [
            format!(
                "new [artifacts.lsagent-linux] url = \"downloads/lsagent-linux.run\", sha256 {}",
                short(&a)
            ),
            format!(
                "new [artifacts.teams-msix] url = \"downloads/teams-msix.x64.msix\", sha256 {}",
                short(&t)
            ),
        ]
    );
    assert!(
        p.new_text.starts_with(site),
        "the original text is kept: {}",
        p.new_text
    );
    assert_eq!(
        &p.new_text[site.len()..],
        format!(
            "\n[artifacts.lsagent-linux]\nurl = \"downloads/lsagent-linux.run\"\nsha256 = \"{a}\"\n\n\
             [artifacts.teams-msix]\nurl = \"downloads/teams-msix.x64.msix\"\nsha256 = \"{t}\"\n"
        )
    );
}

#[test]
fn new_table_follows_the_last_artifact_and_outside_paths_are_absolute() {
    let site = format!(
        "[artifacts.office-odt]\nurl = \"https://x/setup.exe\"\nsha256 = \"{OLD}\"\n\n[[waiver]]\ncontrol = \"c\"\n"
    );
    let (_d, site_path, _) = kit(&site);
    let elsewhere = tempfile::tempdir().unwrap();
    fs::write(elsewhere.path().join("lsagent-linux"), b"a").unwrap();
    let p = plan_of(&site_path, elsewhere.path());
    let abs = std::path::absolute(elsewhere.path().join("lsagent-linux")).unwrap();
    let abs = toml_edit::value(abs.to_str().unwrap()).to_string();
    assert_eq!(
        p.new_text,
        format!(
            "[artifacts.office-odt]\nurl = \"https://x/setup.exe\"\nsha256 = \"{OLD}\"\n\n\
             [artifacts.lsagent-linux]\nurl = {}\nsha256 = \"{}\"\n\n[[waiver]]\ncontrol = \"c\"\n",
            abs.trim(),
            sha(b"a")
        )
    );
}

#[test]
fn directory_artifact_gets_files_subtable() {
    let site = "# site\n[artifacts.office-source]\n# the ODT offline source\nurl = \"https://files.example.ac.uk/office-source/\"\n";
    let (_d, site_path, from) = kit(site);
    let root = from.join("office-source");
    fs::create_dir_all(root.join("Office/Data/16.0.1234.5678")).unwrap();
    fs::write(root.join("Office/Data/v64.cab"), b"v64").unwrap();
    fs::write(
        root.join("Office/Data/16.0.1234.5678/s641033.cab"),
        b"s641033",
    )
    .unwrap();
    fs::write(root.join("setup.exe"), b"setup").unwrap();
    let p = plan_of(&site_path, &from);
    assert_eq!(
        p.changes,
        vec![Change {
            name: "office-source".into(),
            what: "files: 3 added, 0 changed, 0 removed".into()
        }]
    );
    assert_eq!(
        p.new_text,
        format!(
            "{site}\n[artifacts.office-source.files]\n\
             \"Office/Data/16.0.1234.5678/s641033.cab\" = \"{}\"\n\
             \"Office/Data/v64.cab\" = \"{}\"\n\"setup.exe\" = \"{}\"\n",
            sha(b"s641033"),
            sha(b"v64"),
            sha(b"setup")
        )
    );
    // The result is a site the parser reads back as the same tree.
    let back: toml::Value = toml::from_str(&p.new_text).unwrap();
    let files = back["artifacts"]["office-source"]["files"]
        .as_table()
        .unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(
        files["Office/Data/v64.cab"].as_str(),
        Some(sha(b"v64").as_str())
    );
}

#[test]
fn directory_refresh_counts_and_keeps_unchanged_lines() {
    let site = format!(
        "[artifacts.office-source]\nurl = \"/srv/office-source\"\n[artifacts.office-source.files]\n\
         \"a.cab\" = \"{}\"   # kept\n\"gone.cab\" = \"{OLD}\"\n\"z.cab\" = \"{OLD}\"\n",
        sha(b"a")
    );
    let (_d, site_path, from) = kit(&site);
    let root = from.join("office-source");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("a.cab"), b"a").unwrap();
    fs::write(root.join("b.cab"), b"b").unwrap();
    fs::write(root.join("z.cab"), b"z").unwrap();
    let p = plan_of(&site_path, &from);
    assert_eq!(p.changes[0].what, "files: 1 added, 1 changed, 1 removed");
    assert_eq!(
        p.new_text,
        format!(
            "[artifacts.office-source]\nurl = \"/srv/office-source\"\n[artifacts.office-source.files]\n\
             \"a.cab\" = \"{}\"   # kept\n\"b.cab\" = \"{}\"\n\"z.cab\" = \"{}\"\n",
            sha(b"a"),
            sha(b"b"),
            sha(b"z")
        )
    );
}

#[test]
fn rerun_yields_no_changes() {
    let site =
        format!("[artifacts.lsagent-linux]\nurl = \"https://x/LsAgent.run\"\nsha256 = \"{OLD}\"\n");
    let (_d, site_path, from) = kit(&site);
    fs::write(from.join("LsAgent.run"), b"agent").unwrap();
    fs::write(from.join("teams-msix.msix"), b"teams").unwrap();
    fs::create_dir_all(from.join("office-source/sub/deeper")).unwrap();
    fs::write(from.join("office-source/sub/deeper/x.cab"), b"x").unwrap();
    fs::write(from.join("office-source/.hidden-inside"), b"h").unwrap();
    let first = plan_of(&site_path, &from);
    assert_eq!(first.changes.len(), 3, "{:?}", first.changes);
    fs::write(&site_path, &first.new_text).unwrap();
    let second = plan_of(&site_path, &from);
    assert!(second.changes.is_empty(), "{:?}", second.changes);
    assert_eq!(second.new_text, first.new_text);
    // And the hidden file inside the tree is pinned: only top-level dot-files are skipped.
    assert!(first.new_text.contains("\".hidden-inside\""));
}

#[test]
fn unmatched_file_reported() {
    let (_d, site_path, from) = kit("[organisation]\nname = \"x\"\n");
    fs::write(from.join("random-tool.zip"), b"z").unwrap();
    fs::write(from.join(".DS_Store"), b"junk").unwrap();
    let p = plan_of(&site_path, &from);
    assert!(p.changes.is_empty());
    assert_eq!(p.unmatched.len(), 1, "{:?}", p.unmatched);
    let u = &p.unmatched[0];
    assert!(u.starts_with("random-tool.zip: "), "{u}");
    assert!(
        u.contains("name it by an [artifacts.NAME] url, or rename it to an artifact name: lsagent-linux, office-odt, office-source, teams-msix"),
        "{u}"
    );
    assert_eq!(p.new_text, "[organisation]\nname = \"x\"\n");
}

#[test]
fn url_basename_percent_decoded() {
    let site = "[artifacts.lsagent-linux]\nurl = \"https://x/dl/LsAgent%20Setup.run?token=1\"\n";
    let (_d, site_path, from) = kit(site);
    fs::write(from.join("LsAgent Setup.run"), b"agent").unwrap();
    let p = plan_of(&site_path, &from);
    assert_eq!(
        p.changes[0].what,
        format!("sha256 (none) → {}", short(&sha(b"agent")))
    );
    assert_eq!(
        p.new_text,
        format!("{site}sha256 = \"{}\"\n", sha(b"agent"))
    );
    assert_eq!(
        url_basename("https://x/office-source/").as_deref(),
        Some("office-source")
    );
    assert_eq!(
        url_basename("file:///k/a%2Bb.exe").as_deref(),
        Some("a+b.exe")
    );
    assert_eq!(url_basename("dl/a%20b.exe").as_deref(), Some("a%20b.exe"));
    assert_eq!(url_basename(r"C:\kit\x.msi").as_deref(), Some("x.msi"));
    assert_eq!(url_basename("https://host/").as_deref(), None);
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%4"), "%4");
    assert_eq!(percent_decode("%41%zz"), "A%zz");
}

#[test]
fn table_without_url_is_completed_and_conflicts_are_reported() {
    let site = format!(
        "[artifacts.edr-agent]\n# fill in\n\n[artifacts.lsagent-linux]\nurl = \"https://x/LsAgent-linux-x64.run\"\nsha256 = \"{OLD}\"\n\n\
         [artifacts.office-source]\nurl = \"https://x/office/\"\nsha256 = \"{OLD}\"\nmanifest = \"office.sha256\"\n"
    );
    let (_d, site_path, from) = kit(&site);
    fs::write(from.join("edr-agent.deb"), b"edr").unwrap();
    fs::write(from.join("lsagent-linux.run"), b"agent").unwrap();
    fs::create_dir(from.join("office")).unwrap();
    fs::write(from.join("office/x"), b"x").unwrap();
    let p = plan_of(&site_path, &from);
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    assert_eq!(
        p.changes[0].what,
        format!(
            "url = \"downloads/edr-agent.deb\", sha256 (none) → {}",
            short(&sha(b"edr"))
        )
    );
    assert!(p.new_text.starts_with(&format!(
        "[artifacts.edr-agent]\nurl = \"downloads/edr-agent.deb\"\nsha256 = \"{}\"\n# fill in\n\n[artifacts.lsagent-linux]",
        sha(b"edr")
    )), "{}", p.new_text);
    assert_eq!(p.unmatched.len(), 2, "{:?}", p.unmatched);
    assert!(
        p.unmatched[0].starts_with("lsagent-linux.run: [artifacts.lsagent-linux] already has url")
            && p.unmatched[0].contains("rename lsagent-linux.run to \"LsAgent-linux-x64.run\""),
        "{}",
        p.unmatched[0]
    );
    assert!(
        p.unmatched[1]
            .starts_with("office: [artifacts.office-source] pins its files by a manifest file"),
        "{}",
        p.unmatched[1]
    );
}

#[test]
fn two_entries_for_one_artifact_and_ambiguous_urls() {
    let site = "[artifacts.a]\nurl = \"https://x/1/setup.exe\"\n[artifacts.b]\nurl = \"https://x/2/setup.exe\"\n";
    let (_d, site_path, from) = kit(site);
    fs::write(from.join("setup.exe"), b"s").unwrap();
    fs::write(from.join("lsagent-linux.bin"), b"1").unwrap();
    fs::write(from.join("lsagent-linux.run"), b"2").unwrap();
    let p = plan_of(&site_path, &from);
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].name, "lsagent-linux");
    assert!(p.new_text.contains("lsagent-linux.bin"));
    assert_eq!(p.unmatched.len(), 2, "{:?}", p.unmatched);
    assert!(p.unmatched[0].starts_with(
        "lsagent-linux.run: [artifacts.lsagent-linux] is already locked from lsagent-linux.bin"
    ));
    assert!(p.unmatched[1].starts_with("setup.exe: the url of several artifacts ends in it (a, b)"));
}

#[test]
fn errors_name_the_file_and_line() {
    let (_d, site_path, from) = kit("");
    let e = plan(&site_path, "[a]\nx = 1\ny = = 2\n", &from, &known()).unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.starts_with(&format!("{}:3:", site_path.display())),
        "{msg}"
    );
    let e = plan(&site_path, "x = 1\nartifacts = 3\n", &from, &known()).unwrap_err();
    assert!(
        format!("{e:#}").contains("site.toml:2: `artifacts` must be a table"),
        "{e:#}"
    );
    let e = plan(&site_path, "", &from.join("nope"), &known()).unwrap_err();
    assert!(format!("{e:#}").contains("nope"), "{e:#}");
}

#[cfg(unix)]
#[test]
fn symlink_inside_a_directory_artifact_is_an_error() {
    let (_d, site_path, from) = kit("");
    fs::create_dir_all(from.join("office-source")).unwrap();
    fs::write(from.join("office-source/a"), b"a").unwrap();
    std::os::unix::fs::symlink("a", from.join("office-source/link")).unwrap();
    let e = plan(&site_path, "", &from, &known()).unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("office-source/link") && msg.contains("symbolic link"),
        "{msg}"
    );
}

#[test]
fn crlf_files_keep_their_line_ends() {
    let site = format!(
        "# c\r\n[artifacts.lsagent-linux]\r\nurl = \"https://x/a.run\"\r\nsha256 = \"{OLD}\"\r\n"
    );
    let (_d, site_path, from) = kit(&site);
    fs::write(from.join("a.run"), b"a").unwrap();
    let p = plan_of(&site_path, &from);
    assert_eq!(p.new_text, site.replace(OLD, &sha(b"a")));
}

#[test]
fn run_writes_when_told_and_not_when_it_cannot_ask() {
    let site = format!("# keep\n[artifacts.x]\nurl = \"https://h/x.run\"\nsha256 = \"{OLD}\"\n");
    let (_d, site_path, from) = kit(&site);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&site_path, fs::Permissions::from_mode(0o640)).unwrap();
    }
    fs::write(from.join("x.run"), b"x").unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());

    // No terminal, no --yes: nothing written, exit 1.
    let code = run_io(&site_path, &from, false, &known(), None, &mut out, &mut err).unwrap();
    assert_eq!(code, 1);
    assert_eq!(fs::read_to_string(&site_path).unwrap(), site);
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(text.contains("Rerun with --yes"), "{text}");

    // Asked, answered no.
    let mut no: &[u8] = b"n\n";
    let code = run_io(
        &site_path,
        &from,
        false,
        &known(),
        Some(&mut no),
        &mut out,
        &mut err,
    )
    .unwrap();
    assert_eq!(code, 1);
    assert_eq!(fs::read_to_string(&site_path).unwrap(), site);
    assert!(String::from_utf8_lossy(&err)
        .contains(&format!("Write 1 change to {}? [y/N]", site_path.display())));

    // Asked, answered yes: written, mode kept, no temporary file left.
    let mut yes: &[u8] = b"y\n";
    let code = run_io(
        &site_path,
        &from,
        false,
        &known(),
        Some(&mut yes),
        &mut out,
        &mut err,
    )
    .unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        fs::read_to_string(&site_path).unwrap(),
        site.replace(OLD, &sha(b"x"))
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&site_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o640);
    }
    let leftovers: Vec<_> = fs::read_dir(site_path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("handover-lock"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Nothing left to change: exit 0 with --yes too.
    let code = run_io(&site_path, &from, true, &known(), None, &mut out, &mut err).unwrap();
    assert_eq!(code, 0);
}

#[test]
fn placement_follows_header_order_and_inline_tables_are_edited_in_place() {
    // Root keys in first-appearance order (a, b) differ from header order (a, b, a.sub): the new
    // table still goes at the very end, below the file's last comment.
    let site = "[a]\nx = 1\n[b]\ny = 2\n[a.sub]\nz = 3\n# last words\n";
    let (_d, site_path, from) = kit(site);
    fs::write(from.join("lsagent-linux.run"), b"l").unwrap();
    let p = plan_of(&site_path, &from);
    assert_eq!(
        p.new_text,
        format!(
            "{site}\n[artifacts.lsagent-linux]\nurl = \"downloads/lsagent-linux.run\"\nsha256 = \"{}\"\n",
            sha(b"l")
        )
    );

    let site = format!(
        "[artifacts]\nx = {{ url = \"https://h/x.run\", sha256 = \"{OLD}\" }} # inline\n\
         o = {{ url = \"https://h/o/\" }}\n\n[[waiver]]\ncontrol = \"c\"\n# tail\n"
    );
    let (_d, site_path, from) = kit(&site);
    fs::write(from.join("x.run"), b"x").unwrap();
    fs::create_dir(from.join("o")).unwrap();
    fs::write(from.join("o/f"), b"f").unwrap();
    fs::write(from.join("teams-msix"), b"t").unwrap();
    let p = plan_of(&site_path, &from);
    assert_eq!(
        p.new_text,
        format!(
            "[artifacts]\nx = {{ url = \"https://h/x.run\", sha256 = \"{}\" }} # inline\n\
             o = {{ url = \"https://h/o/\", files = {{ f = \"{}\" }} }}\n\n\
             [artifacts.teams-msix]\nurl = \"downloads/teams-msix\"\nsha256 = \"{}\"\n\n\
             [[waiver]]\ncontrol = \"c\"\n# tail\n",
            sha(b"x"),
            sha(b"f"),
            sha(b"t")
        )
    );
    assert_eq!(plan_of_text(&site_path, &p.new_text, &from).changes, vec![]);
}

fn plan_of_text(site_path: &Path, text: &str, from: &Path) -> LockPlan {
    plan(site_path, text, from, &known()).unwrap()
}
