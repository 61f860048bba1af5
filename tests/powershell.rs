//! The Windows profiles: every rendered PowerShell script parses (tree-sitter-powershell) with no ERROR or
//! MISSING node, the Office Deployment Tool's configuration.xml is well-formed, snapshots pin both, and
//! hostile site values stay inside one non-expanding string literal. Nothing here runs PowerShell.

use std::path::Path;

use handover::inputs::profile::Sources;
use handover::inputs::site::Site;
use handover::plan::Resolved;

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
        &handover::inputs::profile::control_ids(),
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
                    &handover::inputs::profile::control_ids(),
                )
                .unwrap()
            },
        )
        .unwrap();
        for p in &resolved.controls {
            for text in p.scripts.check().into_iter().chain(p.scripts.apply()) {
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

// Issue 13: what the expert review of December 2026 found, pinned on the rendered text. Nothing here runs
// PowerShell, so each test asserts the shape of the logic that a real device would exercise.

fn rendered_map() -> (
    tempfile::TempDir,
    std::collections::BTreeMap<String, String>,
) {
    let (dir, files) = render("windows-11", WINDOWS_SITE);
    (dir, files.into_iter().collect())
}

fn at(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found in:\n{text}"))
}

/// The line of `text` that holds `needle`.
fn line_of<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line holds {needle:?}"))
}

#[test]
fn installers_get_no_empty_argument_list_and_are_waited_for_alone() {
    let (_dir, files) = rendered_map();
    let mut callers = 0;
    for (name, text) in &files {
        assert!(!text.contains("-ArgumentList @()"), "{name}");
        for l in text.lines().filter(|l| l.contains("Start-Process")) {
            assert!(
                !l.contains("-Wait"),
                "{name}: -Wait waits for the installer's descendants: {l}"
            );
        }
        // Paths are quoted by Join-CommandLine, never by hand (a hand-made quote would be escaped again).
        assert!(!text.contains("\"`\"$env:HANDOVER_ARTIFACT"), "{name}");
        if !name.ends_with(".apply.ps1") {
            continue;
        }
        // Windows PowerShell 5.1 refuses an empty -ArgumentList: it is splatted only when there is a line.
        assert!(text.contains("if ($line) { $start['ArgumentList'] = $line }"));
        assert!(text.contains("$p = Start-Process @start"));
        assert!(at(text, "$p.WaitForExit()") > at(text, "$p = Start-Process @start"));
        assert!(text.contains("if ($code -eq 1618) { throw"), "{name}");
        // A 3010 is remembered and reported as 194 only at the end of the script.
        let calls: Vec<usize> = text
            .match_indices("Invoke-Installer ")
            .map(|(i, _)| i)
            .filter(|&i| !text[..i].ends_with("function "))
            .collect();
        if let Some(&last) = calls.last() {
            callers += 1;
            assert!(
                text[last..].contains("\nComplete-Apply\n")
                    || text[last..].ends_with("\nComplete-Apply"),
                "{name}: no Complete-Apply after its last installer"
            );
            assert!(!text.contains("if ($p.ExitCode -eq 3010) { exit 194 }"));
        }
    }
    assert!(callers >= 4, "only {callers} applies run an installer");
    // The site's silent-install switches arrive as a JSON array, read with ConvertFrom-Json.
    let lib = &files["apps.lansweeper.apply.ps1"];
    assert!(lib.contains("[Environment]::GetEnvironmentVariable(\"HANDOVER_ARTIFACT_ARGS_$Name\")"));
    assert!(lib.contains("$parsed = ConvertFrom-Json -InputObject $json"));
    assert!(lib.contains("(Get-ArtifactArguments 'LSAGENT_WINDOWS')"));
}

#[test]
fn the_user_is_demoted_only_when_the_admin_password_is_known() {
    let (_dir, files) = rendered_map();
    let apply = &files["accounts.separate-admin.apply.ps1"];
    let guard = at(apply, "if ($env:HANDOVER_ADMIN_PASSWORD_KNOWN -ne '1') {");
    let demote = at(
        apply,
        "Remove-LocalGroupMember -SID 'S-1-5-32-544' -Member $u",
    );
    assert!(guard < demote, "the guard comes after the demotion");
    // The guard stops the script: the next statement throws.
    let after = apply[guard..].lines().nth(1).unwrap();
    assert!(
        after
            .trim_start()
            .starts_with("throw \"not removing $u from Administrators"),
        "{after}"
    );
    assert_eq!(apply.matches("Remove-LocalGroupMember").count(), 1);
}

#[test]
fn passwords_expire_once_and_never_the_admin_the_technician_or_service_accounts() {
    let (_dir, files) = rendered_map();
    let apply = &files["accounts.password-policy.apply.ps1"];
    let expire = at(apply, "& net.exe user $u.Name /logonpasswordchg:yes");
    // Only when this run changed the policy, and only passwords set before that change.
    let older = line_of(apply, "$older = ");
    assert!(
        older.contains("$changed -and") && older.contains("$u.PasswordLastSet -lt $changedAt"),
        "{older}"
    );
    assert!(at(apply, "$changedAt = Get-Date") < at(apply, "& secedit.exe /configure"));
    assert!(at(apply, "if ($len -lt $want -or -not $complex) {") < at(apply, "$changed = $true"));
    // Spared: the separate admin (site suffix), the account running handover, the site's allowlist, built-ins.
    let keep = line_of(apply, "$keep = ");
    assert!(
        keep.contains("$admin") && keep.contains("'svc-backup'"),
        "{keep}"
    );
    assert!(line_of(apply, "$admin = ").contains("$env:HANDOVER_USER + '-admin'"));
    assert!(apply.contains("$me = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value"));
    let skip = line_of(apply, "if ($keep -contains $u.Name");
    assert!(
        skip.contains("$u.SID.Value -eq $me") && skip.contains("continue"),
        "{skip}"
    );
    assert!(at(apply, "if ($keep -contains $u.Name") < expire);
    // Above 14 characters Windows needs RelaxMinimumPasswordLengthLimits; the length goes through secedit.
    assert!(apply.contains("if ($want -gt 14) {"));
    assert!(apply.contains("-Name RelaxMinimumPasswordLengthLimits -Value 1 -Type DWord"));
    assert!(!apply.contains("\"/minpwlen:"));
    // Blank passwords: detected by LogonUser (1327 for an empty password, 1326 for a wrong one).
    let check = &files["accounts.password-policy.check.ps1"];
    assert!(check.contains("$state = Test-BlankPassword $u.Name"));
    assert!(check.contains("if (@(1327, 1907, 1330) -contains $err) { return 'blank' }"));
    assert!(check.contains("if ($err -eq 1326) { return 'set' }"));
    assert!(check.contains("Obs 'enabled_with_empty_password' $blank"));
}

#[test]
fn every_native_command_has_its_exit_code_checked() {
    let (_dir, files) = rendered_map();
    let mut seen = 0;
    for (name, text) in &files {
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if !(l.contains("& net.exe") || l.contains("& secedit.exe")) {
                continue;
            }
            seen += 1;
            let next = lines.get(i + 1).copied().unwrap_or("");
            assert!(
                l.contains("$LASTEXITCODE") || next.contains("if ($LASTEXITCODE -ne 0) { throw"),
                "{name}:{}: {l}",
                i + 1
            );
        }
    }
    assert!(seen >= 6, "only {seen} net/secedit calls");
}

#[test]
fn firewall_sources_compare_as_networks_in_one_store_and_app_rules_do_not_flap() {
    let (_dir, files) = rendered_map();
    let check = &files["firewall.inbound.check.ps1"];
    let apply = &files["firewall.inbound.apply.ps1"];
    for text in [check, apply] {
        // Both sides through ConvertTo-Network: the site's 10.0.0.0/8 and Windows' 10.0.0.0/255.0.0.0.
        assert!(text.contains("Net = ConvertTo-Network ([string]'10.0.0.0/8')"));
        assert!(text.contains("function ConvertTo-Network([string]$Text) {"));
    }
    assert!(check.contains(
        "$addr = @(($rule | Get-NetFirewallAddressFilter).RemoteAddress | ForEach-Object { ConvertTo-Network ([string]$_) })"
    ));
    assert!(check.contains("if ($addr.Count -ne 1 -or $addr[0] -ne $w.Net)"));
    assert!(!check.contains("-notcontains $w.From"));
    // Port and protocol of an existing handover rule are compared too.
    assert!(check.contains("$pf = $rule | Get-NetFirewallPortFilter"));
    assert!(check.contains("if ([string]$pf.Protocol -ne $w.Proto)"));
    assert!(check.contains("if ($ports -ne $w.Port)"));
    // handover's rules: read and written in the same store.
    assert!(check.contains("Get-NetFirewallRule -Name $name -PolicyStore PersistentStore"));
    assert!(apply.contains("Get-NetFirewallRule -Name $name -PolicyStore PersistentStore"));
    assert!(apply.contains("Set-NetFirewallRule -Name $name -PolicyStore PersistentStore"));
    assert!(
        apply.contains("-PolicyStore PersistentStore -Direction Inbound -Action Allow -Protocol")
    );
    assert!(apply.contains("Disable-NetFirewallRule -Name $r.Name -PolicyStore PersistentStore"));
    // App-container rules: listed, not judged; never disabled.
    assert!(check.contains("if (Test-AppContainerRule $r $packaged) { $appContainer += $label }"));
    assert!(check.contains("Obs 'app_container_allow_rules' $appContainer"));
    let verdict = line_of(check, "if ($local.Count -gt 0) { Problem");
    assert!(!verdict.contains("appContainer"), "{verdict}");
    let disable = line_of(apply, "Where-Object { $_.Group -ne $coreGroup");
    assert!(
        disable.contains("-not (Test-AppContainerRule $_ $packaged)"),
        "{disable}"
    );
    // Rules only policy or Windows itself can change do not fail the check forever.
    assert!(check.contains("elseif ($source -match 'GroupPolicy|MDM') { $policy +="));
    assert!(check.contains("'error'"));
    // Remote sessions: the whole ancestor chain, WinRM and SSH, and RDP; firewall.enabled asks too.
    assert!(apply.contains("if ($names -contains 'wsmprovhost.exe') { $ports += ,@(5985, 5986) }"));
    assert!(apply.contains("if ($names -contains 'sshd.exe') { $ports += ,@(22) }"));
    assert!(apply.contains("for ($depth = 0; $cur -and $depth -lt 32; $depth++) {"));
    assert!(files["firewall.enabled.apply.ps1"].contains("\nAssert-SessionKept @([int]'3389', 0)"));
    assert!(at(apply, "\nAssert-SessionKept @(") < at(apply, "Disable-NetFirewallRule -Name"));
}

#[test]
fn the_batch_says_constrained_language_mode_before_it_needs_full_language() {
    let sources = Sources::default();
    let profile = sources.load("windows-11").unwrap();
    let site = Site::parse(
        Path::new("/t/site.toml"),
        WINDOWS_SITE,
        &handover::inputs::profile::control_ids(),
    )
    .unwrap();
    let resolved = Resolved::new(&sources, profile, site).unwrap();
    let batch = resolved
        .renderer
        .render(
            "windows/_batch.ps1",
            &serde_json::json!({"checks": [
                {"id": "os.supported", "timeout": 90, "script": "UmVzdWx0ICR0cnVlICdvayc="},
                {"id": "firewall.inbound", "timeout": 120, "script": "UmVzdWx0ICR0cnVlICdvayc="},
            ]}),
        )
        .unwrap();
    assert!(syntax_errors(&parse(&batch)).is_empty(), "{batch}");
    assert!(batch.contains("$ids = @('os.supported', 'firewall.inbound', $null)"));
    let mode = at(&batch, "if ($mode -ne 'FullLanguage') {");
    // Everything Constrained Language Mode refuses comes after the test: .NET decoding, runspaces.
    assert!(mode < at(&batch, "[Convert]::FromBase64String"));
    assert!(mode < at(&batch, "$ps = [powershell]::Create()"));
    let clm = &batch[mode..at(&batch, "$checks = @(")];
    assert!(clm.contains("foreach ($id in $ids) {") && clm.contains("status = 'error'"));
    assert!(
        clm.contains("Constrained Language Mode")
            && clm.contains("AppLocker, WDAC / App Control for Business or Smart App Control")
    );
    assert!(clm.contains("exit 0"));
    // UTF-8 before anything is printed.
    assert!(
        at(
            &batch,
            "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false"
        ) < mode
    );
    // At most 5 checks at once, each timed from its own start, stopped without blocking.
    assert!(batch.contains("$slots = 5"));
    assert!(batch.contains("while ($waiting.Count -gt 0 -and $running.Count -lt $slots) {"));
    assert!(batch.contains("$null = $r.PS.BeginStop($null, $null)"));
    assert!(!batch.contains("$r.PS.Stop()"));
}

#[test]
fn every_script_writes_utf8_and_names_constrained_language_mode() {
    let (_dir, files) = rendered_map();
    for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".ps1")) {
        let utf8 = at(
            text,
            "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false",
        );
        let clm = at(
            text,
            "if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {",
        );
        assert!(
            utf8 < clm && clm < at(text, "Set-StrictMode -Version 1.0"),
            "{name}"
        );
        assert!(text.contains("(Constrained Language Mode)"), "{name}");
    }
}

#[test]
fn slow_checks_get_two_minutes() {
    let p = Sources::default().load("windows-11").unwrap();
    for id in ["apps.teams", "firewall.inbound", "accounts.password-policy"] {
        let c = p.controls.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.timeout_secs, 120, "{id}");
    }
}

#[test]
fn windows_update_gives_reasons_for_remote_busy_and_partial_installs() {
    let (_dir, files) = rendered_map();
    let apply = &files["updates.pending.apply.ps1"];
    let remote = at(apply, "if (Test-NetworkLogon) {");
    let busy = at(apply, "if ($inst.IsBusy) { throw");
    let install = at(apply, "$r = $inst.Install()");
    assert!(remote < busy && busy < install);
    assert!(apply.contains(
        "'80240009' = 'another Windows Update operation is running (WU_E_OPERATIONINPROGRESS)"
    ));
    assert!(apply.contains("'80070005' = 'access denied (E_ACCESSDENIED)"));
    // Partly failed is an error naming the failures, even when a restart is also wanted.
    let failed = at(apply, "if ($r.ResultCode -ne 2 -or $failed.Count -gt 0) {");
    assert!(failed < at(apply, "\nComplete-Apply"));
    assert!(!apply.contains("if ($r.RebootRequired) { exit 194 }"));
    let check = &files["updates.pending.check.ps1"];
    assert!(check.contains("Result $false (Get-WuaReason $err) 'error'"));
    // The network-logon probe (a CIM query of every process) runs only when the search failed.
    assert!(at(check, "} catch {") < at(check, "Obs 'network_logon' (Test-NetworkLogon)"));
    assert!(check.contains("$me.Groups | Where-Object { $_.Value -eq 'S-1-5-2' }"));
    // Patch age: the oldest LastDeploymentChangeTime of the waiting security updates, against the site's window
    // (an integer in the JSON line), "past the N-day window" only beyond it; unknown said, never a number.
    assert!(check.contains("$maxAge = [int]'14'"));
    let oldest = at(
        check,
        "($null -eq $oldest -or $t -lt $oldest.LastDeploymentChangeTime)) { $oldest = $u }",
    );
    let age = at(check, "$age = [int][math]::Max(0, [math]::Floor(($now - $oldest.LastDeploymentChangeTime).TotalDays))");
    let past = at(check, "if ($age -gt $maxAge) {");
    assert!(oldest < age && age < past);
    assert!(line_of(check, "past the {2}-day window")
        .contains("-f $security.Count, $age, $maxAge, $names"));
    assert!(check.contains("Obs 'oldest_pending_days' $null"));
    assert!(check.contains(
        "[DateTimeOffset]::FromUnixTimeSeconds([long]$env:HANDOVER_NOW_EPOCH).UtcDateTime"
    ));
    let (_d, custom) = render(
        "windows-11",
        &format!("{WINDOWS_SITE}\n[updates]\nmax_age_days = 30\n"),
    );
    let custom = &custom
        .iter()
        .find(|(n, _)| n == "updates.pending.check.ps1")
        .unwrap()
        .1;
    assert!(custom.contains("$maxAge = [int]'30'"));
    // updates.automatic: Windows' own default is automatic; MDM read; no restart under a signed-in user.
    let auto = &files["updates.automatic.check.ps1"];
    assert!(auto.contains("'HKLM:\\SOFTWARE\\Microsoft\\PolicyManager\\current\\device\\Update'"));
    assert!(
        auto.contains("Result $true 'Windows default: updates download and install automatically")
    );
    assert!(at(auto, "if ($no -eq 1) { Problem") < at(auto, "Result $true 'Windows default"));
    assert!(files["updates.automatic.apply.ps1"]
        .contains("-Name NoAutoRebootWithLoggedOnUsers -Value 1 -Type DWord"));
}

#[test]
fn os_supported_knows_ltsc_iot_and_both_kinds_of_esu() {
    let (_dir, files) = rendered_map();
    let check = &files["os.supported.check.ps1"];
    assert!(check.contains("if ($edition -match '^IoTEnterpriseS') { 'iot-ltsc' } elseif ($edition -match '^EnterpriseS') { 'ltsc' } elseif ($edition -match '^(Enterprise|Education|IoTEnterprise)') { 'enterprise-education' }"));
    assert!(check.contains("if (-not $row -and $class -like '*ltsc') { Result $false"));
    // The table's LTSC rows reach the script: Windows 11 LTSC 2024 and its IoT twin share build 26100.
    assert!(check.contains("Build = [int]'26100'; Editions = 'ltsc'; Name = 'Windows 11 Enterprise LTSC 2024'; Regular = [int]'20291009'"), "LTSC 2024 row");
    assert!(check.contains("Build = [int]'26100'; Editions = 'iot-ltsc'; Name = 'Windows 11 IoT Enterprise LTSC 2024'; Regular = [int]'20341010'"), "IoT LTSC 2024 row");
    for id in [
        "f520e45e-7413-4a34-a497-d2765967d094",
        "1043add5-23b1-4afb-9a0f-64343c8f3f8d",
        "83d49986-add3-41d7-ba33-87c7bfb5c0fb",
    ] {
        assert!(check.contains(id), "{id}");
    }
    assert!(!check.contains("-like '*ESU*'"));
    assert!(check.contains("Registry::HKEY_USERS\\$($hive.PSChildName)\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Windows\\ConsumerESU"));
    assert!(check.contains(
        "@(3, 5, 11, 12) -contains [int]$c.ESUEligibility -and [int]$c.ESUEligibilityResult -eq 1"
    ));
}

#[test]
fn lansweeper_reads_lsagent_ini_and_reinstalls_only_when_missing_or_elsewhere() {
    let (_dir, files) = rendered_map();
    let check = &files["apps.lansweeper.check.ps1"];
    assert!(check.contains("(Join-Path ${env:ProgramFiles(x86)} 'LansweeperAgent\\LsAgent.ini')"));
    assert!(check.contains("if ($cfg['server'] -ne $server) { Problem"));
    assert!(check.contains("if ($days -gt 7) { Problem"));
    // What cannot be read goes to observed, not to the verdict.
    assert!(check.contains("if (-not $last) { Obs 'last_upload' \"unreadable: $lastText\" }"));
    assert!(check
        .contains("Obs 'agent_key' 'differs from the site''s, or is stored encoded: not judged'"));
    let apply = &files["apps.lansweeper.apply.ps1"];
    let install = at(
        apply,
        "Invoke-Installer $env:HANDOVER_ARTIFACT_LSAGENT_WINDOWS",
    );
    assert!(at(apply, "if (-not $svc -or $elsewhere) {") < install);
    assert!(apply.contains(
        "if ((Get-Service -Name 'LansweeperAgentService').Status -ne 'Running') { Start-Service"
    ));
}

#[test]
fn office_removes_an_msi_office_and_dsregcmd_has_a_registry_twin() {
    let (_dir, files) = rendered_map();
    let xml = &files["apps.office365.office-configuration.xml"];
    let doc = roxmltree::Document::parse(xml).unwrap();
    let root = doc.root_element();
    assert!(
        root.children().any(|n| n.has_tag_name("RemoveMSI")),
        "{xml}"
    );
    let dm = &files["device.management.check.ps1"];
    assert!(dm.contains("'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\CloudDomainJoin\\JoinInfo'"));
    assert!(dm.contains("if ($joinInfo.Count -gt 0) { $joined = $true }"));
}

/// device.lock and autorun.disabled (issue 16): the site's minutes reach the scripts as one verbatim string
/// cast to an integer; a wrong value is "managed by" only when a GPO or MDM owns it (looked up after the
/// value is found wrong), and apply writes exactly the values the check reads.
#[test]
fn device_lock_and_autorun_read_and_write_the_same_machine_policy_values() {
    let (_dir, files) = rendered_map();
    let check = &files["device.lock.check.ps1"];
    let apply = &files["device.lock.apply.ps1"];
    assert!(check.contains("$wantMin = [int]'15'"), "{check}");
    assert!(apply.contains("$wantSecs = [int]'15' * 60"), "{apply}");
    let pass = at(
        check,
        "if ($null -ne $secs -and $secs -ge 1 -and $secs -le $wantSecs)",
    );
    let mdm = at(check, "Result $false \"managed by MDM");
    let gpo = at(check, "$gpo = Get-GpoOwner 'Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System' 'InactivityTimeoutSecs'");
    assert!(pass < mdm && mdm < gpo);
    assert!(line_of(apply, "Set-ItemProperty")
        .contains("-Name InactivityTimeoutSecs -Value $wantSecs -Type DWord"));
    // After _lib.ps1's own definition of Complete-Apply: the call at the end.
    assert!(at(apply, "$script:RebootRequired = $true") < apply.rfind("\nComplete-Apply").unwrap());
    let check = &files["autorun.disabled.check.ps1"];
    let apply = &files["autorun.disabled.apply.ps1"];
    for (name, value) in [("NoDriveTypeAutoRun", 255), ("NoAutorun", 1)] {
        assert!(
            check.contains(&format!("Get-DwordValue $key '{name}'")),
            "{name}"
        );
        assert!(
            apply.contains(&format!("-Name {name} -Value {value} -Type DWord")),
            "{name}"
        );
    }
    assert!(at(check, "Result $true 'AutoRun and AutoPlay") < at(check, "Get-GpoOwner 'Software"));
}
