//! The Windows profiles: every rendered PowerShell script parses (tree-sitter-powershell) with no ERROR or
//! MISSING node, the Office Deployment Tool's configuration.xml is well-formed, snapshots pin both, and
//! hostile site values stay inside one non-expanding string literal. Nothing here runs PowerShell.

use std::path::Path;

use handover::plan::Resolved;
use handover::profile::Sources;
use handover::site::Site;

pub const WINDOWS_SITE: &str = r#"
[accounts]
admin_name = "uni-adm0"
guest_name = "uni-gst0"
allowed = ["svc-backup"]
[firewall]
allow = [ { port = 3389, proto = "tcp", from = "10.0.0.0/8" } ]
[vpn]
name = "Uni VPN"
gateway = "vpn.example.ac.uk"
port = 443
trusted_cert = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
[lansweeper]
server = "lansweeper.example.ac.uk"
agent_key = "RELAY-KEY-s3cr3t-0001"
[office]
edition = "64"
channel = "MonthlyEnterprise"
languages = ["en-gb"]
exclude_apps = ["Groove"]
[artifacts.office-odt]
url = "setup.exe"
sha256 = "0000000000000000000000000000000000000000000000000000000000000001"
[artifacts.teams-bootstrapper]
url = "teamsbootstrapper.exe"
sha256 = "0000000000000000000000000000000000000000000000000000000000000002"
[artifacts.teams-msix]
url = "MSTeams-x64.msix"
sha256 = "0000000000000000000000000000000000000000000000000000000000000003"
[artifacts.lsagent-windows]
url = "LsAgent-windows.exe"
sha256 = "0000000000000000000000000000000000000000000000000000000000000004"
[artifacts.forticlient-vpn-msi]
url = "FortiClientVPN.msi"
sha256 = "0000000000000000000000000000000000000000000000000000000000000005"
"#;

fn parse(text: &str) -> tree_sitter::Tree {
    let mut p = tree_sitter::Parser::new();
    p.set_language(&tree_sitter_powershell::LANGUAGE.into())
        .unwrap();
    p.parse(text, None).unwrap()
}

/// Every ERROR or MISSING node, as "line:column kind".
fn syntax_errors(tree: &tree_sitter::Tree) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if n.is_error() || n.is_missing() {
            let p = n.start_position();
            out.push(format!(
                "{}:{} {}",
                p.row + 1,
                p.column + 1,
                if n.is_missing() { "MISSING" } else { "ERROR" }
            ));
        }
        stack.extend(n.children(&mut cursor));
    }
    out
}

fn render(profile: &str, site_text: &str) -> (tempfile::TempDir, Vec<(String, String)>) {
    crate::support::render_files(profile, site_text, &["ps1", "xml"])
}

#[test]
fn every_rendered_powershell_script_parses() {
    for p in ["windows-11", "windows-10"] {
        let (_dir, files) = render(p, WINDOWS_SITE);
        crate::support::assert_every_script_rendered(p, &files, "ps1");
        for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".ps1")) {
            let errors = syntax_errors(&parse(text));
            assert!(errors.is_empty(), "{p}/{name}: {errors:?}");
            assert!(
                !text.contains("RELAY-KEY-s3cr3t-0001"),
                "{p}/{name} holds the agent key"
            );
        }
    }
}

#[test]
fn office_configuration_is_well_formed_xml() {
    let (_dir, files) = render("windows-11", WINDOWS_SITE);
    let (_, xml) = files
        .iter()
        .find(|(n, _)| n.ends_with("office-configuration.xml"))
        .expect("configuration.xml rendered");
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let lang = doc
        .descendants()
        .find(|n| n.has_tag_name("Language"))
        .unwrap();
    assert_eq!(lang.attribute("ID"), Some("en-gb"));
    assert_eq!(
        doc.descendants()
            .find(|n| n.has_tag_name("Updates"))
            .unwrap()
            .attribute("Enabled"),
        Some("TRUE")
    );
    // Every [office] value is a tag or a word: markup (or a newline, found by fuzzing) is refused
    // when the site loads, naming the key, before any XML is written. (xml_escape itself is
    // exercised by tests/fuzz_regressions and the fuzz target `escape`.)
    let (dir, site) =
        crate::support::site(&WINDOWS_SITE.replace("\"en-gb\"", "\"en-gb\\\"/><Evil x=\\\"&\""));
    let out = dir.path().join("out");
    let run = crate::support::Handover::new(&[
        "render",
        "--profile",
        "windows-11",
        "--site",
        crate::support::s(&site),
        "--out",
        crate::support::s(&out),
    ])
    .run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("office.languages.0"),
        "{}",
        run.stderr()
    );
    assert!(!out.exists(), "nothing rendered");
}

#[test]
fn rendered_windows_scripts_are_pinned() {
    let (_dir, files) = render("windows-11", WINDOWS_SITE);
    let all: String = files
        .iter()
        .map(|(n, t)| format!("==> {n} <==\n{t}\n"))
        .collect();
    insta::assert_snapshot!("rendered-windows-11", all);
}

#[test]
fn hostile_values_stay_inside_one_verbatim_string() {
    let hostile = [
        "King's College $(Remove-Item -Recurse C:\\Users) `whoami` ; calc.exe",
        "x'; Stop-Computer -Force; '",
        "line1\nStart-Process evil.exe\n",
        "‘curly’; Stop-Service wuauserv",
    ];
    let sources = Sources::default();
    let profile = sources.load("windows-11").unwrap();
    let mut site = Site::parse(
        Path::new("/t/site.toml"),
        WINDOWS_SITE,
        &handover::profile::control_ids(),
    )
    .unwrap();
    let mut examined = 0;
    for (i, h) in hostile.iter().enumerate() {
        site.context["vpn"]["name"] = serde_json::json!(h);
        site.context["accounts"]["allowed"] = serde_json::json!([h]);
        let resolved = Resolved::new(
            &sources,
            profile.clone(),
            Site {
                context: site.context.clone(),
                ..Site::parse(
                    Path::new("/t/site.toml"),
                    WINDOWS_SITE,
                    &handover::profile::control_ids(),
                )
                .unwrap()
            },
        )
        .unwrap();
        for p in &resolved.controls {
            for text in p.check.iter().chain(p.apply.iter()) {
                if !text.contains("Start-Process evil")
                    && !text.contains("Stop-Computer")
                    && !text.contains("Remove-Item -Recurse C:")
                    && !text.contains("Stop-Service wuauserv")
                {
                    continue;
                }
                examined += 1;
                let tree = parse(text);
                assert!(
                    syntax_errors(&tree).is_empty(),
                    "value {i} in {}: {:?}",
                    p.control.id,
                    syntax_errors(&tree)
                );
                // Every place the hostile text appears lies inside a verbatim (single-quoted) string.
                let strings: Vec<std::ops::Range<usize>> = {
                    let mut v = Vec::new();
                    let mut cursor = tree.walk();
                    let mut stack = vec![tree.root_node()];
                    while let Some(n) = stack.pop() {
                        if n.kind() == "verbatim_string_characters" {
                            v.push(n.byte_range());
                        }
                        stack.extend(n.children(&mut cursor));
                    }
                    v
                };
                for marker in [
                    "Remove-Item -Recurse C:",
                    "whoami",
                    "Stop-Computer",
                    "Start-Process evil",
                    "Stop-Service wuauserv",
                ] {
                    for (at, _) in text.match_indices(marker) {
                        assert!(
                            strings
                                .iter()
                                .any(|r| r.start <= at && at + marker.len() <= r.end),
                            "value {i}: {marker:?} at byte {at} of {} is outside a verbatim string",
                            p.control.id
                        );
                    }
                }
            }
        }
    }
    // The values reach the VPN tunnel and the allowed accounts: at least those scripts were looked at.
    assert!(
        examined >= 4 * 3,
        "only {examined} scripts carried the hostile values"
    );
}

#[test]
fn the_parser_does_find_broken_powershell() {
    assert!(!syntax_errors(&parse("if ($x -eq { Write-Output 'a'\n")).is_empty());
    assert!(!syntax_errors(&parse("$a = 'unterminated\n")).is_empty());
    assert!(syntax_errors(&parse("$a = 'fine'\nWrite-Output $a\n")).is_empty());
}

/// The committed table: command → the parameters it may take.
fn known_commands() -> std::collections::BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/powershell_commands.txt"),
    )
    .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, params) = l.split_once(':').unwrap();
            (
                name.trim().to_string(),
                params.split_whitespace().map(str::to_string).collect(),
            )
        })
        .collect()
}

#[test]
fn every_command_and_parameter_is_known() {
    let known = known_commands();
    let (_dir, files) = render("windows-11", WINDOWS_SITE);
    let mut seen = 0;
    for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".ps1")) {
        let tree = parse(text);
        let mut functions = std::collections::BTreeSet::new();
        let mut commands = Vec::new();
        let mut cursor = tree.walk();
        let mut stack = vec![tree.root_node()];
        while let Some(n) = stack.pop() {
            match n.kind() {
                "function_statement" => {
                    if let Some(f) = n
                        .children(&mut n.walk())
                        .find(|c| c.kind() == "function_name")
                    {
                        functions.insert(f.utf8_text(text.as_bytes()).unwrap().to_string());
                    }
                }
                "command" => {
                    if let Some(cmd) = n.child_by_field_name("command_name") {
                        let params: Vec<String> = n
                            .child_by_field_name("command_elements")
                            .map(|el| {
                                el.children(&mut el.walk())
                                    .filter(|c| c.kind() == "command_parameter")
                                    .map(|c| {
                                        c.utf8_text(text.as_bytes())
                                            .unwrap()
                                            .trim_end_matches(':')
                                            .to_string()
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        commands.push((
                            cmd.utf8_text(text.as_bytes()).unwrap().to_string(),
                            params,
                            cmd.start_position().row + 1,
                        ));
                    }
                }
                _ => {}
            }
            stack.extend(n.children(&mut cursor));
        }
        for (cmd, params, line) in commands {
            seen += 1;
            if functions.contains(&cmd) {
                continue;
            }
            let allowed = known.get(&cmd).unwrap_or_else(|| {
                panic!("{name}:{line}: {cmd} is not in tests/powershell_commands.txt")
            });
            for p in params {
                assert!(
                    allowed.iter().any(|a| a.eq_ignore_ascii_case(&p)),
                    "{name}:{line}: {cmd} has no parameter {p} in tests/powershell_commands.txt"
                );
            }
        }
    }
    assert!(seen > 100, "only {seen} commands found");
}

#[test]
fn an_invented_parameter_is_caught() {
    let known = known_commands();
    let allowed = &known["Set-NetFirewallProfile"];
    assert!(!allowed.iter().any(|a| a == "-DefaultInbound"));
}
