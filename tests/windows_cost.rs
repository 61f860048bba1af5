//! Issue 18, item 3: a Windows `check` starts PowerShell once for all its checks. The engine runs the
//! Windows 11 profile against a host that records every script it is asked to run (nothing runs
//! PowerShell here): exactly one script, the batch, must be run; and neither the batch nor any check
//! it carries may start another PowerShell process (runspaces are threads of that process and are
//! counted apart). The counting is xtask/src/bench_windows.rs's, included below, so that the figures
//! `cargo xtask bench --windows-only` writes for BENCHMARKS.md are the ones proved here.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use handover::engine::{AdminPassword, Engine, Mode, RunOptions};
use handover::evidence::report::Status;
use handover::host::facts::{Device, Os};
use handover::host::{Host, Outcome, Script, Shell};
use handover::inputs::profile::{control_ids, Sources};
use handover::inputs::site::Site;
use handover::plan::{Resolved, Scripts};
use handover::support::secrets::Secrets;

#[path = "../xtask/src/bench_windows.rs"]
#[allow(dead_code)]
mod bench_windows;

use bench_windows::{analyse, powershell_processes, Cost};

/// Records each script it is asked to run and answers the batch with a passing line for every check in
/// it (the ids it finds in the batch's text); anything else is answered with a failure.
#[derive(Default)]
struct RecordingHost {
    ran: Mutex<Vec<Script>>,
}

const PASS: &str = r#"{"compliant":true,"reason":"ok","observed":{}}"#;

impl Host for RecordingHost {
    fn run(&self, script: &Script) -> anyhow::Result<Outcome> {
        self.ran.lock().unwrap().push(script.clone());
        let stdout: String = batch_checks(&script.text)
            .iter()
            .map(|(id, _)| {
                serde_json::json!({"id": id, "result": PASS, "errors": [], "timed_out": false})
                    .to_string()
                    + "\n"
            })
            .collect();
        Ok(Outcome {
            code: Some(0),
            stdout,
            stderr: String::new(),
            timed_out: false,
            duration: Duration::from_millis(1),
        })
    }
    fn facts(&self) -> Device {
        windows_11()
    }
    fn reboot_pending(&self) -> Option<String> {
        None
    }
    fn stage_artifact(
        &self,
        _spec: &handover::artifacts::Spec,
        _cache: &Path,
        _work_dir: &Path,
    ) -> anyhow::Result<handover::artifacts::Staged> {
        anyhow::bail!("nothing is staged in a check")
    }
    fn write_files(
        &self,
        _work_dir: &Path,
        _files: &[(String, String)],
    ) -> anyhow::Result<(tempfile::TempDir, Vec<std::path::PathBuf>)> {
        anyhow::bail!("nothing is written in a check")
    }
    fn show_on_console(&self, _text: &str) -> anyhow::Result<()> {
        anyhow::bail!("no console in a test")
    }
}

fn windows_11() -> Device {
    Device {
        hostname: "pc-0001".into(),
        serial: "SN0001".into(),
        model: "Example Laptop".into(),
        os: Os {
            family: "windows".into(),
            id: "windows".into(),
            version: "11".into(),
            name: "Windows 11 Pro".into(),
            id_like: vec![],
        },
    }
}

/// The checks a rendered batch carries: `@{ Id = '...'; ...; Script = ...FromBase64String('...')) }`,
/// decoded.
fn batch_checks(batch: &str) -> Vec<(String, String)> {
    batch
        .lines()
        .filter_map(|l| {
            let id = l.split_once("@{ Id = '")?.1.split_once('\'')?.0;
            let b64 = l.split_once("FromBase64String('")?.1.split_once('\'')?.0;
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
            Some((id.to_string(), String::from_utf8(bytes).ok()?))
        })
        .collect()
}

fn resolved() -> Resolved {
    let sources = Sources::default();
    let profile = sources.load(bench_windows::PROFILE).unwrap();
    let site = Site::parse(
        Path::new("/t/site.toml"),
        bench_windows::SITE,
        &control_ids(),
    )
    .unwrap();
    Resolved::new(&sources, profile, site).unwrap()
}

fn engine<'a>(
    resolved: &'a Resolved,
    device: &'a Device,
    host: &'a RecordingHost,
    mode: Mode,
) -> Engine<'a> {
    Engine {
        resolved,
        device,
        host,
        opts: RunOptions {
            mode,
            only: vec![],
            user: Some("jdoe".into()),
            asset: None,
            ticket: None,
            technician: None,
            reason: None,
            force_remote: false,
            admin_password: AdminPassword::None,
            ssh_connection: None,
            now: humantime::parse_rfc3339("2026-11-25T10:00:00Z").unwrap(),
            state_dir: std::env::temp_dir(),
            cache_dir: std::env::temp_dir().join("handover-test-cache"),
            apply_env: vec![],
            attestations: vec![],
            journal_dir: None,
            detect_reboot: false,
            admin_passwords_set: vec!["jdoe-admin".into()],
            profile_matches_device: true,
            progress: false,
        },
        secrets: Secrets::default(),
    }
}

/// What one `check` of `resolved` costs in PowerShell processes, from what the engine really ran:
/// `Err` names what breaks "one PowerShell for all checks".
fn one_powershell_for_all_checks(
    resolved: &Resolved,
    mode: Mode,
) -> Result<(Cost, Vec<(String, Cost)>), String> {
    let device = windows_11();
    let host = RecordingHost::default();
    let e = engine(resolved, &device, &host, mode);
    let statuses: Vec<(String, Status)> = match mode {
        Mode::Apply => e.apply().report.unwrap().controls,
        _ => e.check().controls,
    }
    .into_iter()
    .map(|c| (c.id, c.status))
    .collect();
    let ran = host.ran.into_inner().unwrap();
    let names: Vec<&str> = ran.iter().map(|s| s.name.as_str()).collect();
    if ran.len() != 1 || ran[0].shell != Shell::PowerShell {
        return Err(format!(
            "the engine ran {} scripts, not one PowerShell batch: {names:?}",
            ran.len()
        ));
    }
    // Every check that must run is in that one batch, byte for byte, and got its verdict from it.
    let carried = batch_checks(&ran[0].text);
    for p in &resolved.controls {
        if let Some(text) = p.scripts.check() {
            if !carried
                .iter()
                .any(|(id, t)| *id == p.control.id && t == text)
            {
                return Err(format!("{} is not in the batch", p.control.id));
            }
            let status = statuses
                .iter()
                .find(|(id, _)| *id == p.control.id)
                .map(|(_, s)| *s);
            if status != Some(Status::Pass) {
                return Err(format!("{} got {status:?} from the batch", p.control.id));
            }
        }
    }
    let batch = analyse(&ran[0].text);
    let checks: Vec<(String, Cost)> = carried
        .iter()
        .map(|(id, t)| (id.clone(), analyse(t)))
        .collect();
    let mut starts: Vec<String> = batch
        .powershell_starts
        .iter()
        .map(|s| format!("batch: {s}"))
        .collect();
    for (id, c) in &checks {
        starts.extend(c.powershell_starts.iter().map(|s| format!("{id}: {s}")));
    }
    if powershell_processes(&batch, &checks) != 1 {
        return Err(format!("PowerShell is started again by: {starts:?}"));
    }
    Ok((batch, checks))
}

#[test]
fn a_windows_check_starts_powershell_once_for_all_checks() {
    let resolved = resolved();
    let (batch, checks) = one_powershell_for_all_checks(&resolved, Mode::Check).unwrap();
    assert!(
        checks.len() >= 18,
        "only {} checks in the batch",
        checks.len()
    );
    // The batch runs each check in a runspace of its own: one place, in-process, not a process.
    assert_eq!(batch.runspaces, ["[powershell]::Create()"]);
    for (id, c) in &checks {
        assert!(c.runspaces.is_empty(), "{id}: {:?}", c.runspaces);
        assert!(
            !c.programs.iter().any(|p| p.contains("run time")),
            "{id} starts a program only known at run time: {:?}",
            c.programs
        );
    }
    // A no-change apply runs the same one batch and nothing else.
    one_powershell_for_all_checks(&resolved, Mode::Apply).unwrap();
    // xtask counts from the batch template with its tags taken out: the same as the rendered batch.
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/windows/_batch.ps1"),
    )
    .unwrap();
    assert_eq!(analyse(&bench_windows::strip_handlebars(&template)), batch);
}

#[test]
fn a_check_that_starts_powershell_again_is_caught_and_a_runspace_is_not() {
    let clean = resolved();
    let i = clean
        .controls
        .iter()
        .position(|p| p.control.id == "firewall.enabled")
        .unwrap();
    let with = |line: &str| {
        let mut r = resolved();
        let Scripts::Ready { check, .. } = &mut r.controls[i].scripts else {
            panic!("firewall.enabled has no check")
        };
        check.push_str(line);
        r
    };
    for start in [
        "\nStart-Process powershell -ArgumentList '-NoProfile' -Wait\n",
        "\n$out = & powershell.exe -NoProfile -Command 'Get-NetFirewallProfile'\n",
        "\n$j = Start-Job -ScriptBlock { Get-NetFirewallProfile }\n",
        "\n$o = & \"$PSHOME\\powershell.exe\" -NoProfile -Command x\n",
        "\n$r = [runspacefactory]::CreateOutOfProcessRunspace($null)\n",
    ] {
        let err = one_powershell_for_all_checks(&with(start), Mode::Check).unwrap_err();
        assert!(err.contains("firewall.enabled: "), "{start}: {err}");
    }
    // A profile without the batch runs one PowerShell per check: caught too.
    let mut unbatched = resolved();
    unbatched
        .profile
        .vars
        .as_object_mut()
        .unwrap()
        .remove("batch");
    let err = one_powershell_for_all_checks(&unbatched, Mode::Check).unwrap_err();
    assert!(err.contains("not one PowerShell batch"), "{err}");
    // A runspace is a thread of the same process: still one PowerShell.
    let (_, checks) =
        one_powershell_for_all_checks(&with("\n$ps = [powershell]::Create()\n"), Mode::Check)
            .unwrap();
    let fw = &checks
        .iter()
        .find(|(id, _)| id == "firewall.enabled")
        .unwrap()
        .1;
    assert_eq!(fw.runspaces, ["[powershell]::Create()"]);
}

#[test]
fn every_windows_check_maps_its_cmdlets_to_modules() {
    let resolved = resolved();
    let mut seen = std::collections::BTreeMap::new();
    for p in &resolved.controls {
        let Some(text) = p.scripts.check() else {
            continue;
        };
        let c = analyse(text);
        assert!(
            c.unknown_cmdlets().is_empty(),
            "{}: cmdlets missing from bench_windows::MODULES: {:?}",
            p.control.id,
            c.unknown_cmdlets()
        );
        seen.insert(p.control.id.clone(), c);
    }
    let loaded = |id: &str| seen[id].loaded_modules().into_iter().collect::<Vec<_>>();
    let programs = |id: &str| seen[id].programs.iter().cloned().collect::<Vec<_>>();
    assert!(loaded("firewall.enabled").contains(&"NetSecurity".to_string()));
    assert!(loaded("accounts.guest").contains(&"Microsoft.PowerShell.LocalAccounts".to_string()));
    assert!(loaded("endpoint.protection").contains(&"Defender".to_string()));
    assert!(loaded("disk.encryption").contains(&"BitLocker".to_string()));
    assert!(loaded("apps.teams").contains(&"Dism".to_string()));
    assert!(loaded("firmware.password").contains(&"CimCmdlets".to_string()));
    assert_eq!(
        programs("accounts.password-policy"),
        ["csc.exe", "secedit.exe"]
    );
    assert_eq!(programs("device.management"), ["dsregcmd.exe"]);
    assert_eq!(programs("apps.lansweeper"), Vec::<String>::new());
    // updates.pending asks whether the session is a network logon (a CIM query of every process) only
    // when the Windows Update search failed: a working check loads no CimCmdlets for it.
    let pending = &seen["updates.pending"];
    assert!(
        pending.on_error_modules().contains("CimCmdlets"),
        "{pending:?}"
    );
    assert_eq!((pending.cim_queries, pending.on_error_cim_queries), (0, 1));
    assert!(
        !loaded("updates.pending").contains(&"CimCmdlets".to_string()),
        "{:?}",
        loaded("updates.pending")
    );
    // Functions of _lib.ps1 a check never calls cost it nothing: Invoke-Installer starts processes, but
    // no check calls it.
    for (id, c) in &seen {
        assert!(!c.cmdlets.contains("Start-Process"), "{id}");
    }
}

#[test]
fn handover_starts_powershell_only_in_the_runner_and_as_the_device_facts_fallback() {
    // Besides the batch, PowerShell is started only by the CIM fallback of the serial and model
    // (src/host/facts.rs), when the firmware's SMBIOS table cannot be read: counted apart in the Windows
    // section. A new place that starts PowerShell fails here until it is counted there too.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sites = bench_windows::rust_powershell_sites(root).unwrap();
    assert_eq!(
        sites,
        [
            (
                "src/host/facts.rs".to_string(),
                "windows_hardware_fallback".to_string()
            ),
            ("src/host/local_windows.rs".to_string(), "run".to_string())
        ]
    );
    // And the fallback is a fallback: called once, where the SMBIOS table gave no System Information.
    let facts = std::fs::read_to_string(root.join("src/host/facts.rs")).unwrap();
    let calls: Vec<&str> = facts
        .lines()
        .filter(|l| l.contains("windows_hardware_fallback()") && !l.contains("fn "))
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].trim().starts_with("None =>"), "{calls:?}");
    let section = bench_windows::build_section("$ps = [powershell]::Create()\n", &[], &sites);
    assert!(
        section.contains(
            "**1 PowerShell process(es) per `check` run; 1 more only when the firmware table cannot \
             be read**"
        ),
        "{section}"
    );
}
