//! The engine's decisions against a scripted host: no device is touched.
use super::*;
use crate::host::Outcome as RunOutcome;
use crate::inputs::profile::{Sources, CONTROLS};
use crate::inputs::site::Site;
use serde_json::json;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::host::Script;

/// Answers each script by its name (`ID check` / `ID apply`); checks answer from a queue so that the
/// re-check can differ from the first check. Records every script it was asked to run.
/// A script's name and the environment it ran with.
type Ran = (String, Vec<(String, String)>);

struct ScriptedHost {
    answers: Mutex<Vec<(String, i32, String, String)>>,
    ran: Mutex<Vec<Ran>>,
    texts: Mutex<Vec<String>>,
    /// Files a script run with the sh batch's directory (HANDOVER_BATCH_DIR) leaves in it, as
    /// templates/linux/_batch.sh does; and that directory as it was then: its path and mode.
    batch_files: Vec<(String, String)>,
    batch_dir: Mutex<Option<(std::path::PathBuf, u32)>>,
}

impl ScriptedHost {
    fn new(answers: &[(&str, i32, &str, &str)]) -> Self {
        ScriptedHost {
            answers: Mutex::new(
                answers
                    .iter()
                    .map(|(n, c, o, e)| (n.to_string(), *c, o.to_string(), e.to_string()))
                    .collect(),
            ),
            ran: Mutex::new(Vec::new()),
            texts: Mutex::new(Vec::new()),
            batch_files: Vec::new(),
            batch_dir: Mutex::new(None),
        }
    }
    /// Answers the sh batch with these files (`N.out`, `N.done`, …) in its directory.
    fn with_batch_files(mut self, files: &[(&str, &str)]) -> Self {
        self.batch_files = files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        self
    }
    fn ran(&self) -> Vec<String> {
        self.ran
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }
}

impl Host for ScriptedHost {
    fn run(&self, s: &Script) -> anyhow::Result<RunOutcome> {
        self.ran
            .lock()
            .unwrap()
            .push((s.name.clone(), s.env.clone()));
        self.texts.lock().unwrap().push(s.text.clone());
        if let Some((_, dir)) = s.env.iter().find(|(k, _)| k == "HANDOVER_BATCH_DIR") {
            let dir = std::path::PathBuf::from(dir);
            #[cfg(unix)]
            let mode = {
                use std::os::unix::fs::PermissionsExt;
                std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777
            };
            #[cfg(not(unix))]
            let mode = 0;
            for (name, text) in &self.batch_files {
                std::fs::write(dir.join(name), text).unwrap();
            }
            *self.batch_dir.lock().unwrap() = Some((dir, mode));
        }
        let mut answers = self.answers.lock().unwrap();
        let i = answers
            .iter()
            .position(|(n, ..)| *n == s.name)
            .unwrap_or_else(|| panic!("unexpected script {}", s.name));
        let (_, code, out, err) = answers.remove(i);
        Ok(RunOutcome {
            code: Some(code),
            stdout: out,
            stderr: err,
            timed_out: false,
            duration: Duration::from_millis(1),
        })
    }

    fn facts(&self) -> Device {
        device()
    }

    fn reboot_pending(&self) -> Option<String> {
        None
    }

    // Staging and rendered files are real file work in a test's temporary directory.
    fn stage_artifact(
        &self,
        spec: &crate::artifacts::Spec,
        cache: &std::path::Path,
        work_dir: &std::path::Path,
    ) -> anyhow::Result<crate::artifacts::Staged> {
        crate::artifacts::stage(spec, cache, work_dir)
    }

    fn write_files(
        &self,
        work_dir: &std::path::Path,
        files: &[(String, String)],
    ) -> anyhow::Result<(tempfile::TempDir, Vec<std::path::PathBuf>)> {
        crate::host::write_private_files(work_dir, files)
    }

    fn show_on_console(&self, _text: &str) -> anyhow::Result<()> {
        anyhow::bail!("no console in a test")
    }
}

const PASS: &str = r#"{"compliant":true,"reason":"ok","observed":{}}"#;
const FAIL: &str = r#"{"compliant":false,"reason":"bad","observed":{"admin_exists":true}}"#;

/// A profile where the named controls are implemented and all others manual.
fn resolved(implemented: &[&str], site: &str) -> (tempfile::TempDir, Resolved) {
    resolved_with(implemented, site, "")
}

/// [`resolved`], with `admin_extra` added to accounts.separate-admin's table.
fn resolved_with(
    implemented: &[&str],
    site: &str,
    admin_extra: &str,
) -> (tempfile::TempDir, Resolved) {
    let dir = tempfile::tempdir().unwrap();
    let (p, t) = (dir.path().join("profiles"), dir.path().join("templates"));
    std::fs::create_dir_all(&p).unwrap();
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("c.sh"), "check\n").unwrap();
    std::fs::write(t.join("a.sh"), "apply\n").unwrap();
    let mut text = String::from("[profile]\nname = \"t\"\n[match]\nfamily = \"linux\"\n");
    for c in CONTROLS {
        if implemented.contains(&c.id) {
            let guard = if c.id == "accounts.admin-builtin" {
                "removes_admin = true\n"
            } else if c.id == "accounts.separate-admin" {
                admin_extra
            } else {
                ""
            };
            let secrets = if c.id == "apps.lansweeper" {
                "secrets = [\"lansweeper.agent_key\"]\n"
            } else if c.id == "apps.office365" {
                "artifacts = [\"office-odt\", \"office-source?\"]\n"
            } else {
                ""
            };
            text.push_str(&format!(
                "[controls.\"{}\"]\ncheck = \"c.sh\"\napply = \"a.sh\"\n{guard}{secrets}",
                c.id
            ));
        } else {
            text.push_str(&format!(
                "[controls.\"{}\"]\nstatus = \"manual\"\nreason = \"m\"\n",
                c.id
            ));
        }
    }
    std::fs::write(p.join("t.toml"), text).unwrap();
    let sources = Sources {
        profiles_dir: Some(p),
        templates_dir: Some(t),
    };
    let profile = sources.load("t").unwrap();
    let site = Site::parse(
        Path::new("/t/site.toml"),
        site,
        &crate::inputs::profile::control_ids(),
    )
    .unwrap();
    let r = Resolved::new(&sources, profile, site).unwrap();
    (dir, r)
}

fn engine<'a>(
    r: &'a Resolved,
    device: &'a Device,
    host: &'a ScriptedHost,
    only: &[&str],
) -> Engine<'a> {
    let mut secrets = Secrets::default();
    for (k, v) in &r.site.secrets {
        crate::evidence::redact::add_secret(&mut secrets, k, v);
    }
    Engine {
        resolved: r,
        device,
        host,
        secrets,
        opts: RunOptions {
            mode: Mode::Apply,
            only: only.iter().map(|s| s.to_string()).collect(),
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
    }
}

fn device() -> Device {
    serde_json::from_value(json!({"hostname": "h", "serial": "s", "model": "m", "os": {"family": "linux", "id": "debian", "version": "12", "name": "Debian"}})).unwrap()
}

fn status(r: &Report, id: &str) -> (Status, String, bool) {
    let c = r.controls.iter().find(|c| c.id == id).unwrap();
    (c.status, c.reason.clone(), c.changed)
}

#[test]
fn fixed_only_when_the_recheck_passes() {
    let (_d, r) = resolved(&["accounts.guest", "accounts.password-policy"], "");
    let host = ScriptedHost::new(&[
        ("accounts.guest check", 0, FAIL, ""),
        ("accounts.guest apply", 0, "locked guest\n", ""),
        ("accounts.guest check", 0, PASS, ""),
        ("accounts.password-policy check", 0, FAIL, ""),
        ("accounts.password-policy apply", 0, "", ""),
        ("accounts.password-policy check", 0, FAIL, ""),
    ]);
    let d = device();
    let rep = engine(
        &r,
        &d,
        &host,
        &["accounts.guest", "accounts.password-policy"],
    )
    .apply()
    .report
    .unwrap();
    assert_eq!(
        status(&rep, "accounts.guest"),
        (Status::Fixed, "ok".into(), true)
    );
    let (st, why, changed) = status(&rep, "accounts.password-policy");
    assert_eq!((st, changed), (Status::Fail, true));
    assert!(why.contains("re-check still fails: bad"), "{why}");
}

#[test]
fn manual_exit_makes_the_control_manual_and_unchanged() {
    let (_d, r) = resolved(&["updates.pending", "accounts.guest"], "");
    let host = ScriptedHost::new(&[
        ("updates.pending check", 0, FAIL, ""),
        (
            "updates.pending apply",
            MANUAL_EXIT,
            "",
            "softwareupdate: 2 waiting\ninstalling needs a volume owner's password\n\n",
        ),
        ("accounts.guest check", 0, FAIL, ""),
        ("accounts.guest apply", 0, "", ""),
        ("accounts.guest check", 0, PASS, ""),
    ]);
    let d = device();
    let rep = engine(&r, &d, &host, &["updates.pending", "accounts.guest"])
        .apply()
        .report
        .unwrap();
    let (st, why, changed) = status(&rep, "updates.pending");
    assert_eq!((st, changed), (Status::Manual, false));
    assert_eq!(
        why,
        "bad; needs a person: installing needs a volume owner's password"
    );
    // The others go on, and the device is not compliant.
    assert_eq!(status(&rep, "accounts.guest").0, Status::Fixed);
    assert_eq!(rep.summary.compliant, None);
    assert_eq!(rep.summary.manual, 1);
}

#[test]
fn a_recheck_that_needs_a_person_is_manual_and_can_be_attested() {
    const MANUAL: &str = r#"{"compliant":false,"status":"manual","reason":"connection not verifiable","observed":{}}"#;
    let (_d, r) = resolved(&["apps.fortinet-vpn"], "");
    let run = |attest: bool| {
        let host = ScriptedHost::new(&[
            ("apps.fortinet-vpn check", 0, FAIL, ""),
            ("apps.fortinet-vpn apply", 0, "", ""),
            ("apps.fortinet-vpn check", 0, MANUAL, ""),
        ]);
        let d = device();
        let mut e = engine(&r, &d, &host, &[]);
        if attest {
            e.opts
                .attestations
                .push(crate::evidence::record::Attestation {
                    control: "apps.fortinet-vpn".into(),
                    by: "A. Tech".into(),
                    at: "2026-11-25T10:00:00Z".into(),
                    text: "connection made".into(),
                    install_id: "i".into(),
                });
        }
        let rep = e.apply().report.unwrap();
        status(&rep, "apps.fortinet-vpn")
    };
    let (st, why, changed) = run(false);
    assert_eq!((st, changed), (Status::Manual, true));
    assert_eq!(why, "changed; connection not verifiable");
    assert_eq!(run(true).0, Status::Pass);
}

fn attest_separate_admin(e: &mut Engine) {
    e.opts
        .attestations
        .push(crate::evidence::record::Attestation {
            control: "accounts.separate-admin".into(),
            by: "A. Tech".into(),
            at: "2026-11-25T10:00:00Z".into(),
            text: "jdoe-admin's password tried at the login window".into(),
            install_id: "i".into(),
        });
}

fn env_of(host: &ScriptedHost, script: &str) -> Option<Vec<(String, String)>> {
    let ran = host.ran.lock().unwrap();
    ran.iter()
        .find(|(n, _)| n == script)
        .map(|(_, e)| e.clone())
}

#[test]
fn nobody_is_demoted_while_no_one_is_known_to_hold_the_admins_password() {
    // Windows and Linux: jdoe-admin exists already (made by someone else, or by an older build),
    // handover never set its password, and there is no password file and no terminal.
    let (_d, r) = resolved(&["accounts.separate-admin", "accounts.admin-builtin"], "");
    let d = device();
    let host = ScriptedHost::new(&[
        ("accounts.separate-admin check", 0, FAIL, ""),
        ("accounts.admin-builtin check", 0, FAIL, ""),
    ]);
    let mut e = engine(&r, &d, &host, &[]);
    e.opts.admin_passwords_set.clear();
    e.opts.admin_password = AdminPassword::None;
    let rep = e.apply().report.unwrap();
    let (st, why, changed) = status(&rep, "accounts.separate-admin");
    assert_eq!((st, changed), (Status::Error, false));
    assert!(
        why.contains("no one is known to hold the password of jdoe-admin")
            && why.contains("--attest accounts.separate-admin"),
        "{why}"
    );
    assert!(
        env_of(&host, "accounts.separate-admin apply").is_none(),
        "the script ran"
    );
    assert_eq!(status(&rep, "accounts.admin-builtin").0, Status::Error);
    // Attested: the script runs, told that the password is known, and the guard of root lets go.
    let host = ScriptedHost::new(&[
        ("accounts.separate-admin check", 0, FAIL, ""),
        ("accounts.admin-builtin check", 0, FAIL, ""),
        ("accounts.separate-admin apply", 0, "", ""),
        ("accounts.separate-admin check", 0, PASS, ""),
        ("accounts.admin-builtin apply", 0, "", ""),
        ("accounts.admin-builtin check", 0, PASS, ""),
    ]);
    let mut e = engine(&r, &d, &host, &[]);
    e.opts.admin_passwords_set.clear();
    e.opts.admin_password = AdminPassword::None;
    attest_separate_admin(&mut e);
    let rep = e.apply().report.unwrap();
    assert_eq!(status(&rep, "accounts.separate-admin").0, Status::Fixed);
    assert_eq!(status(&rep, "accounts.admin-builtin").0, Status::Fixed);
    let env = env_of(&host, "accounts.separate-admin apply").unwrap();
    assert!(env.contains(&("HANDOVER_ADMIN_PASSWORD_KNOWN".into(), "1".into())));
    assert!(!env
        .iter()
        .any(|(k, _)| k == "HANDOVER_SECRET_ADMIN_PASSWORD"));
}

#[test]
fn a_person_made_admin_is_demoted_to_only_once_its_password_is_attested() {
    // macOS: the script decides, and it is told that the password is known only when attested.
    let (_d, r) = resolved_with(
        &["accounts.separate-admin"],
        "",
        "params = { sets_password = false }\n",
    );
    let d = device();
    for attested in [false, true] {
        let host = ScriptedHost::new(&[
            ("accounts.separate-admin check", 0, FAIL, ""),
            (
                "accounts.separate-admin apply",
                MANUAL_EXIT,
                "",
                "attest it\n",
            ),
        ]);
        let mut e = engine(&r, &d, &host, &[]);
        if attested {
            attest_separate_admin(&mut e);
        }
        e.apply();
        let env = env_of(&host, "accounts.separate-admin apply").unwrap();
        assert_eq!(
            env.iter()
                .any(|(k, v)| k == "HANDOVER_ADMIN_PASSWORD_KNOWN" && v == "1"),
            attested
        );
    }
}

#[test]
fn a_separate_admin_made_by_a_person_needs_no_password_and_guards_root() {
    // macOS: the check verifies the person-made, token-holding admin; handover sets no password, so
    // neither a missing --admin-password-file nor an unrecorded password stops the demotion or root.
    let (_d, r) = resolved_with(
        &["accounts.separate-admin", "accounts.admin-builtin"],
        "",
        "params = { sets_password = false }\n",
    );
    let host = ScriptedHost::new(&[
        ("accounts.separate-admin check", 0, FAIL, ""),
        ("accounts.admin-builtin check", 0, FAIL, ""),
        ("accounts.separate-admin apply", 0, "", ""),
        ("accounts.separate-admin check", 0, PASS, ""),
        ("accounts.admin-builtin apply", 0, "", ""),
        ("accounts.admin-builtin check", 0, PASS, ""),
    ]);
    let d = device();
    let mut e = engine(&r, &d, &host, &[]);
    e.opts.admin_passwords_set.clear();
    e.opts.admin_password = AdminPassword::Given("pw-never-used".into());
    let out = e.apply();
    let rep = out.report.unwrap();
    assert!(
        rep.warnings
            .iter()
            .any(|w| w.contains("--admin-password-file was not used")),
        "{:?}",
        rep.warnings
    );
    assert_eq!(status(&rep, "accounts.separate-admin").0, Status::Fixed);
    assert_eq!(status(&rep, "accounts.admin-builtin").0, Status::Fixed);
    assert!(out.admin_passwords_set.is_empty());
    // The guard still holds while that admin is not verified.
    let host = ScriptedHost::new(&[
        ("accounts.separate-admin check", 0, FAIL, ""),
        ("accounts.admin-builtin check", 0, FAIL, ""),
        (
            "accounts.separate-admin apply",
            MANUAL_EXIT,
            "",
            "create jdoe-admin in System Settings\n",
        ),
    ]);
    let mut e = engine(&r, &d, &host, &[]);
    e.opts.admin_passwords_set.clear();
    let rep = e.apply().report.unwrap();
    assert_eq!(status(&rep, "accounts.separate-admin").0, Status::Manual);
    let (st, why, _) = status(&rep, "accounts.admin-builtin");
    assert_eq!(st, Status::Error);
    assert!(why.contains("not verified"), "{why}");
}

#[test]
fn reboot_exit_stays_fail_and_flags_the_report() {
    let (_d, r) = resolved(&["updates.pending"], "");
    let host = ScriptedHost::new(&[
        ("updates.pending check", 0, FAIL, ""),
        ("updates.pending apply", REBOOT_EXIT, "", ""),
    ]);
    let d = device();
    let rep = engine(&r, &d, &host, &["updates.pending"])
        .apply()
        .report
        .unwrap();
    let (st, why, _) = status(&rep, "updates.pending");
    assert_eq!(st, Status::Fail);
    assert!(why.contains("reboot required"), "{why}");
    assert!(rep.reboot_required);
}

#[test]
fn root_is_not_locked_without_a_verified_separate_admin() {
    let (_d, r) = resolved(&["accounts.separate-admin", "accounts.admin-builtin"], "");
    // The separate admin cannot be fixed (its apply fails): root must keep its password.
    let host = ScriptedHost::new(&[
        ("accounts.separate-admin check", 0, FAIL, ""),
        ("accounts.separate-admin apply", 1, "", "useradd: failure"),
        ("accounts.admin-builtin check", 0, FAIL, ""),
    ]);
    let d = device();
    let rep = engine(&r, &d, &host, &[]).apply().report.unwrap();
    let (st, why, changed) = status(&rep, "accounts.admin-builtin");
    assert_eq!((st, changed), (Status::Error, false));
    assert!(
        why.contains("separate admin account jdoe-admin is not verified"),
        "{why}"
    );
    assert!(!host
        .ran()
        .contains(&"accounts.admin-builtin apply".to_string()));
}

#[test]
fn the_guard_runs_the_separate_admin_check_in_partial_runs() {
    let (_d, r) = resolved(&["accounts.separate-admin", "accounts.admin-builtin"], "");
    let host = ScriptedHost::new(&[
        ("accounts.admin-builtin check", 0, FAIL, ""),
        ("accounts.separate-admin check", 0, PASS, ""),
        ("accounts.admin-builtin apply", 0, "", ""),
        ("accounts.admin-builtin check", 0, PASS, ""),
    ]);
    let d = device();
    let rep = engine(&r, &d, &host, &["accounts.admin-builtin"])
        .apply()
        .report
        .unwrap();
    assert_eq!(rep.controls.len(), 1);
    assert_eq!(status(&rep, "accounts.admin-builtin").0, Status::Fixed);
    assert_eq!(rep.scope, crate::evidence::report::Scope::Partial);
    assert_eq!(rep.summary.compliant, None);
}

#[test]
fn a_failed_change_is_an_error_with_its_output_and_no_secret() {
    let site = "[lansweeper]\nserver = \"ls.example\"\nagent_key = \"TOPSECRET-KEY\"\n";
    let (_d, r) = resolved(&["apps.lansweeper"], site);
    let host = ScriptedHost::new(&[
        ("apps.lansweeper check", 0, FAIL, ""),
        (
            "apps.lansweeper apply",
            3,
            "installer said TOPSECRET-KEY\n",
            "E: bad key TOPSECRET-KEY",
        ),
    ]);
    let d = device();
    let rep = engine(&r, &d, &host, &["apps.lansweeper"])
        .apply()
        .report
        .unwrap();
    let (st, why, _) = status(&rep, "apps.lansweeper");
    assert_eq!(st, Status::Error);
    assert!(
        why.contains("apps.lansweeper apply exited with status 3")
            && why.contains("E: bad key <secret:lansweeper.agent_key>"),
        "{why}"
    );
    let text = serde_json::to_string(&rep).unwrap();
    assert!(!text.contains("TOPSECRET-KEY"), "{text}");
    // The key reached the script through its environment.
    let env = host
        .ran
        .lock()
        .unwrap()
        .iter()
        .find(|(n, _)| n == "apps.lansweeper apply")
        .unwrap()
        .1
        .clone();
    assert!(env.contains(&(
        "HANDOVER_SECRET_LANSWEEPER_AGENT_KEY".into(),
        "TOPSECRET-KEY".into()
    )));
}

#[test]
fn a_check_without_a_result_line_is_an_error() {
    let (_d, r) = resolved(&["accounts.guest"], "");
    let host = ScriptedHost::new(&[("accounts.guest check", 2, "garbage\n", "awk: syntax error")]);
    let d = device();
    let e = engine(&r, &d, &host, &["accounts.guest"]);
    let rep = e.check();
    let (st, why, _) = status(&rep, "accounts.guest");
    assert_eq!(st, Status::Error);
    assert!(
        why.contains("printed no result line") && why.contains("awk: syntax error"),
        "{why}"
    );
}

#[test]
fn default_deny_is_refused_when_it_would_cut_the_ssh_session() {
    let (_d, r) = resolved(
        &["firewall.enabled"],
        "[firewall]\nallow = [ { port = 22, proto = \"tcp\", from = \"10.0.0.0/8\" } ]\n",
    );
    let host = ScriptedHost::new(&[("firewall.enabled check", 0, FAIL, "")]);
    let d = device();
    let mut e = engine(&r, &d, &host, &["firewall.enabled"]);
    e.opts.ssh_connection = Some("192.0.2.9 50000 192.0.2.1 22".into());
    let rep = e.apply().report.unwrap();
    let (st, why, _) = status(&rep, "firewall.enabled");
    assert_eq!(st, Status::Error);
    assert!(
        why.contains("would cut this SSH session from 192.0.2.9") && why.contains("--force-remote"),
        "{why}"
    );
    // From inside the allowed range it goes ahead, once the site's rules are in place.
    let (_d2, r) = resolved(
        &["firewall.enabled", "firewall.inbound"],
        "[firewall]\nallow = [ { port = 22, proto = \"tcp\", from = \"10.0.0.0/8\" } ]\n",
    );
    let host = ScriptedHost::new(&[
        ("firewall.inbound check", 0, PASS, ""),
        ("firewall.enabled check", 0, FAIL, ""),
        ("firewall.enabled apply", 0, "", ""),
        ("firewall.enabled check", 0, PASS, ""),
    ]);
    let mut e = engine(&r, &d, &host, &[]);
    e.opts.ssh_connection = Some("10.9.9.9 50000 10.0.0.1 22".into());
    assert_eq!(
        status(&e.apply().report.unwrap(), "firewall.enabled").0,
        Status::Fixed
    );
}

#[test]
fn a_valid_waiver_skips_the_change() {
    let site = "[[waiver]]\ncontrol = \"accounts.guest\"\nreason = \"kiosk\"\napproved_by = \"FDO\"\nticket = \"RITM1\"\nexpires = 2027-01-31\n";
    let (_d, r) = resolved(&["accounts.guest"], site);
    let host = ScriptedHost::new(&[("accounts.guest check", 0, FAIL, "")]);
    let d = device();
    let rep = engine(&r, &d, &host, &["accounts.guest"])
        .apply()
        .report
        .unwrap();
    assert_eq!(status(&rep, "accounts.guest").0, Status::Waived);
    assert_eq!(host.ran(), vec!["accounts.guest check"]);
}

#[test]
fn windows_checks_run_in_one_process() {
    let sources = Sources::default();
    let profile = sources.load("windows-11").unwrap();
    let site = Site::parse(
        Path::new("/t/site.toml"),
        "[accounts]\nadmin_name = \"uni-adm0\"\nguest_name = \"uni-gst0\"\n",
        &crate::inputs::profile::control_ids(),
    )
    .unwrap();
    let r = Resolved::new(&sources, profile, site).unwrap();
    let pass = serde_json::to_string(PASS).unwrap();
    let fail = serde_json::to_string(FAIL).unwrap();
    let lines = format!(
        "{{\"id\":\"os.supported\",\"result\":{pass},\"errors\":[],\"timed_out\":false}}\n\
         {{\"id\":\"firewall.enabled\",\"result\":{fail},\"errors\":[],\"timed_out\":false}}\n\
         {{\"id\":\"updates.pending\",\"result\":null,\"errors\":[\"killed after its timeout of 600 s\"],\"timed_out\":true}}\n"
    );
    let host = ScriptedHost::new(&[("checks (one process)", 0, &lines, "")]);
    let d: Device = serde_json::from_value(json!({"hostname": "w", "serial": "s", "model": "m", "os": {"family": "windows", "id": "windows", "version": "11", "name": "Windows 11"}})).unwrap();
    let mut e = engine(&r, &d, &host, &[]);
    e.opts.mode = Mode::Check;
    let rep = e.check();
    assert_eq!(
        host.ran(),
        vec!["checks (one process)"],
        "one process for every check"
    );
    assert_eq!(status(&rep, "os.supported").0, Status::Pass);
    assert_eq!(status(&rep, "firewall.enabled").0, Status::Fail);
    let (st, why, _) = status(&rep, "updates.pending");
    assert_eq!(st, Status::Error);
    assert!(why.contains("timeout"), "{why}");
    // A check the batch did not answer for is an error; the others keep their lines.
    let (st, why, _) = status(&rep, "accounts.guest");
    assert_eq!(st, Status::Error);
    assert!(why.contains("no result for accounts.guest"), "{why}");
    // Controls that need site keys never reach the batch.
    assert_eq!(status(&rep, "apps.lansweeper").0, Status::Fail);
    // The batch script itself is valid PowerShell.
    let text = host.texts.lock().unwrap()[0].clone();
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .unwrap();
    let tree = parser.parse(&text, None).unwrap();
    assert!(
        !tree.root_node().has_error(),
        "the batch does not parse:\n{text}"
    );
    assert!(text.contains("FromBase64String"));
}

#[test]
fn an_installer_gets_the_sites_file_name_and_its_arguments_as_data() {
    let dir = tempfile::tempdir().unwrap();
    // A download saved under a name with no extension, as a browser saves an fwlink.
    std::fs::write(dir.path().join("download"), b"odt").unwrap();
    let site = format!(
        "[artifacts.office-odt]\nurl = \"{}\"\nsha256 = \"{}\"\nfile_name = \"setup.exe\"\nargs = [\"/quiet\", \"C:\\\\Program Files\\\\a \\\"b\\\".xml\"]\n",
        dir.path().join("download").display(),
        crate::support::hashing::sha256_bytes(b"odt")
    );
    let (_d, r) = resolved(&["apps.office365"], &site);
    let host = ScriptedHost::new(&[
        ("apps.office365 check", 0, FAIL, ""),
        ("apps.office365 apply", 0, "", ""),
        ("apps.office365 check", 0, PASS, ""),
    ]);
    let d = device();
    engine(&r, &d, &host, &["apps.office365"]).apply();
    let ran = host.ran.lock().unwrap();
    let env = &ran
        .iter()
        .find(|(n, _)| n == "apps.office365 apply")
        .unwrap()
        .1;
    let get = |k: &str| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    };
    assert!(get("HANDOVER_ARTIFACT_OFFICE_ODT")
        .unwrap()
        .ends_with("/setup.exe"));
    let args: Vec<String> =
        serde_json::from_str(&get("HANDOVER_ARTIFACT_ARGS_OFFICE_ODT").unwrap()).unwrap();
    assert_eq!(args, ["/quiet", "C:\\Program Files\\a \"b\".xml"]);
}

#[test]
fn an_optional_artifact_is_staged_only_when_the_site_defines_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("setup.exe"), b"odt").unwrap();
    std::fs::create_dir_all(dir.path().join("src/Office/Data")).unwrap();
    std::fs::write(dir.path().join("src/Office/Data/v64.cab"), b"cab").unwrap();
    let odt = format!(
        "[artifacts.office-odt]\nurl = \"{}\"\nsha256 = \"{}\"\n",
        dir.path().join("setup.exe").display(),
        crate::support::hashing::sha256_bytes(b"odt")
    );
    let source = format!(
        "[artifacts.office-source]\nurl = \"{}\"\n[artifacts.office-source.files]\n\"Office/Data/v64.cab\" = \"{}\"\n",
        dir.path().join("src").display(),
        crate::support::hashing::sha256_bytes(b"cab")
    );
    for (site, with_source) in [(odt.clone(), false), (format!("{odt}{source}"), true)] {
        let (_d, r) = resolved(&["apps.office365"], &site);
        let host = ScriptedHost::new(&[
            ("apps.office365 check", 0, FAIL, ""),
            ("apps.office365 apply", 0, "", ""),
            ("apps.office365 check", 0, PASS, ""),
        ]);
        let d = device();
        let out = engine(&r, &d, &host, &["apps.office365"]).apply();
        let rep = out.report.unwrap();
        assert_eq!(status(&rep, "apps.office365").0, Status::Fixed);
        let ran = host.ran.lock().unwrap();
        let env = &ran
            .iter()
            .find(|(n, _)| n == "apps.office365 apply")
            .unwrap()
            .1;
        let has = |k: &str| env.iter().any(|(name, _)| name == k);
        assert!(has("HANDOVER_ARTIFACT_OFFICE_ODT"));
        assert_eq!(has("HANDOVER_ARTIFACT_OFFICE_SOURCE"), with_source);
    }
    // Defined but tampered: the optional artifact is verified like any other, and refused.
    std::fs::write(dir.path().join("src/Office/Data/v64.cab"), b"cab!").unwrap();
    let (_d, r) = resolved(&["apps.office365"], &format!("{odt}{source}"));
    let host = ScriptedHost::new(&[("apps.office365 check", 0, FAIL, "")]);
    let d = device();
    let rep = engine(&r, &d, &host, &["apps.office365"])
        .apply()
        .report
        .unwrap();
    let (st, why, _) = status(&rep, "apps.office365");
    assert_eq!(st, Status::Error);
    assert!(
        why.contains("office-source: Office/Data/v64.cab: sha256 mismatch"),
        "{why}"
    );
}

#[test]
fn an_installer_restarting_the_device_stops_the_apply_at_once() {
    let (_d, r) = resolved(&["accounts.guest", "firewall.enabled"], "");
    let host = ScriptedHost::new(&[
        ("accounts.guest check", 0, FAIL, ""),
        ("firewall.enabled check", 0, FAIL, ""),
        ("accounts.guest apply", RESTARTING_EXIT, "", ""),
    ]);
    let d = device();
    let state = tempfile::tempdir().unwrap();
    crate::engine::journal::Journal {
        state: journal::RunState::Running,
        ..Default::default()
    }
    .save(state.path())
    .unwrap();
    let mut e = engine(&r, &d, &host, &["accounts.guest", "firewall.enabled"]);
    e.opts.journal_dir = Some(state.path().to_path_buf());
    let rep = e.apply().report.unwrap();
    assert!(rep.reboot_required);
    let (st, why, changed) = status(&rep, "accounts.guest");
    assert_eq!((st, changed), (Status::Fail, true));
    assert!(why.contains("apply --resume"), "{why}");
    // Nothing after it started; it is not reported fixed.
    assert!(!host.ran().iter().any(|n| n == "firewall.enabled apply"));
    assert_eq!(status(&rep, "firewall.enabled").0, Status::Fail);
    let j = crate::engine::journal::Journal::load(state.path())
        .unwrap()
        .unwrap();
    assert_eq!(j.state, journal::RunState::Restarting);
    assert_eq!(
        j.controls["accounts.guest"],
        journal::Phase::Done(Status::Fail)
    );
}

#[test]
fn an_attested_manual_control_passes_with_who_and_when() {
    let (_d, r) = resolved(&[], "");
    let host = ScriptedHost::new(&[]);
    let d = device();
    let mut e = engine(&r, &d, &host, &[]);
    e.opts.mode = Mode::Check;
    e.opts.attestations = vec![crate::evidence::record::Attestation {
        control: "firmware.password".into(),
        by: "A. Tech".into(),
        at: "2026-11-20T09:00:00Z".into(),
        text: "confirmed by the technician: firmware password".into(),
        install_id: "x".into(),
    }];
    let rep = e.check();
    let (st, why, _) = status(&rep, "firmware.password");
    assert_eq!(st, Status::Pass);
    assert!(
        why.starts_with("attested by A. Tech on 2026-11-20T09:00:00Z"),
        "{why}"
    );
    let c = rep
        .controls
        .iter()
        .find(|c| c.id == "firmware.password")
        .unwrap();
    assert_eq!(c.attestation.as_ref().unwrap()["by"], "A. Tech");
    // Only that one: other manual controls stay manual.
    assert_eq!(status(&rep, "device.management").0, Status::Manual);
}

#[test]
fn exit_precedence() {
    assert_eq!(
        crate::support::error::Exit::NotCompliant.worst(crate::support::error::Exit::Reboot),
        crate::support::error::Exit::Reboot
    );
    assert_eq!(
        crate::support::error::Exit::Reboot.worst(crate::support::error::Exit::Error),
        crate::support::error::Exit::Error
    );
    assert_eq!(
        crate::support::error::Exit::Error.worst(crate::support::error::Exit::Ok),
        crate::support::error::Exit::Error
    );
}

#[test]
fn firewall_inbound_fails_for_a_rule_past_its_review_on_the_runs_clock() {
    let site = "[firewall]\nallow = [ { port = 443, proto = \"tcp\", from = \"10.0.0.0/8\", approved_by = \"Head of IT\", review_by = 2026-10-01 } ]\n";
    let (_d, r) = resolved(&["firewall.inbound"], site);
    let d = device();
    // A passing check fails, naming the entry, who approved it and what to do.
    let host = ScriptedHost::new(&[("firewall.inbound check", 0, PASS, "")]);
    let rep = engine(&r, &d, &host, &["firewall.inbound"]).check();
    let (st, why, _) = status(&rep, "firewall.inbound");
    assert_eq!(st, Status::Fail);
    assert_eq!(why, "443/tcp from 10.0.0.0/8: review was due 2026-10-01 (approved by Head of IT); review the rule and move its review_by");
    let c = rep
        .controls
        .iter()
        .find(|c| c.id == "firewall.inbound")
        .unwrap();
    assert_eq!(c.observed["approvals"][0]["approved_by"], "Head of IT");
    // A failing check keeps its own reason too; an error stays an error.
    let host = ScriptedHost::new(&[("firewall.inbound check", 0, FAIL, "")]);
    let rep = engine(&r, &d, &host, &["firewall.inbound"]).check();
    let (st, why, _) = status(&rep, "firewall.inbound");
    assert_eq!(st, Status::Fail);
    assert!(
        why.starts_with("bad; 443/tcp from 10.0.0.0/8: review was due"),
        "{why}"
    );
    let host = ScriptedHost::new(&[("firewall.inbound check", 2, "garbage\n", "")]);
    let rep = engine(&r, &d, &host, &["firewall.inbound"]).check();
    assert_eq!(status(&rep, "firewall.inbound").0, Status::Error);
    // apply: the rules are put in place and the recheck passes, but the review is still late: not fixed.
    let host = ScriptedHost::new(&[
        ("firewall.inbound check", 0, FAIL, ""),
        ("firewall.inbound apply", 0, "", ""),
        ("firewall.inbound check", 0, PASS, ""),
    ]);
    let rep = engine(&r, &d, &host, &["firewall.inbound"])
        .apply()
        .report
        .unwrap();
    let (st, why, changed) = status(&rep, "firewall.inbound");
    assert_eq!((st, changed), (Status::Fail, true), "{why}");
    assert!(why.contains("review was due 2026-10-01"), "{why}");
    // Due today (the run's clock is 2026-11-25) or later: the check's own verdict, approvals observed.
    for due in ["2026-11-25", "2027-01-01"] {
        let (_d, r) = resolved(&["firewall.inbound"], &site.replace("2026-10-01", due));
        let host = ScriptedHost::new(&[("firewall.inbound check", 0, PASS, "")]);
        let rep = engine(&r, &d, &host, &["firewall.inbound"]).check();
        assert_eq!(status(&rep, "firewall.inbound").0, Status::Pass, "{due}");
        let c = rep
            .controls
            .iter()
            .find(|c| c.id == "firewall.inbound")
            .unwrap();
        assert_eq!(c.observed["approvals"][0]["review_by"], due);
    }
}

/// A profile whose `batch` is the real templates/linux/_batch.sh (with the helpers it and the checks use)
/// and whose only checks are `checks`: (control id, check template text, timeout in seconds).
#[cfg(target_os = "linux")]
fn linux_batch_profile(checks: &[(&str, String, u64)]) -> (tempfile::TempDir, Resolved) {
    let dir = tempfile::tempdir().unwrap();
    let (p, t) = (dir.path().join("profiles"), dir.path().join("templates"));
    std::fs::create_dir_all(&p).unwrap();
    std::fs::create_dir_all(t.join("t")).unwrap();
    // A templates directory replaces the embedded ones: the batch and the helpers it and the checks use.
    for (name, text) in [
        (
            "linux/_batch.sh",
            include_str!("../../templates/linux/_batch.sh"),
        ),
        (
            "linux/_facts.sh",
            include_str!("../../templates/linux/_facts.sh"),
        ),
        (
            "linux/_lib.sh",
            include_str!("../../templates/linux/_lib.sh"),
        ),
        (
            "linux/_pwstatus.sh",
            include_str!("../../templates/linux/_pwstatus.sh"),
        ),
        ("sh/_json.sh", include_str!("../../templates/sh/_json.sh")),
        ("sh/_files.sh", include_str!("../../templates/sh/_files.sh")),
        ("sh/_need.sh", include_str!("../../templates/sh/_need.sh")),
    ] {
        std::fs::create_dir_all(t.join(name).parent().unwrap()).unwrap();
        std::fs::write(t.join(name), text).unwrap();
    }
    let mut text = String::from(
        "[profile]\nname = \"t\"\n[match]\nfamily = \"linux\"\n[vars]\nbatch = \"linux/_batch.sh\"\npkg = \"apt\"\nclamav_services = []\nssh_service = \"ssh\"\npam_password_files = []\n",
    );
    for c in CONTROLS {
        match checks.iter().find(|(id, ..)| *id == c.id) {
            Some((id, script, timeout)) => {
                std::fs::write(t.join(format!("t/{id}.sh")), script).unwrap();
                text.push_str(&format!(
                    "[controls.\"{id}\"]\ncheck = \"t/{id}.sh\"\ntimeout = {timeout}\n"
                ));
            }
            None => text.push_str(&format!(
                "[controls.\"{}\"]\nstatus = \"manual\"\nreason = \"m\"\n",
                c.id
            )),
        }
    }
    std::fs::write(p.join("t.toml"), text).unwrap();
    let sources = Sources {
        profiles_dir: Some(p),
        templates_dir: Some(t),
    };
    let profile = sources.load("t").unwrap();
    let site = Site::parse(
        Path::new("/t/site.toml"),
        "",
        &crate::inputs::profile::control_ids(),
    )
    .unwrap();
    let r = Resolved::new(&sources, profile, site).unwrap();
    (dir, r)
}

/// The Linux batch (templates/linux/_batch.sh) run for real by /bin/sh: every check in one process, a check
/// that hangs is killed at its own timeout with what it started and is an `error`, and the others keep
/// their verdicts.
#[cfg(target_os = "linux")]
#[test]
fn linux_checks_run_in_one_shell_and_a_hung_check_is_killed_alone() {
    // A marker no other process has: the hung check's child is found by it.
    let marker = format!("31.{}", std::process::id());
    let (_dir, r) = linux_batch_profile(&[
        (
            "os.supported",
            "{{> linux/_lib.sh}}\nobs who \"$HANDOVER_CONTROL\"\nfinish \"fine\"\n".to_string(),
            30,
        ),
        (
            "accounts.guest",
            format!("{{{{> linux/_lib.sh}}}}\nsleep {marker}\nresult true never\n"),
            1,
        ),
        (
            "accounts.allowed",
            "echo 'went wrong' >&2\nexit 3\n".to_string(),
            30,
        ),
        (
            "firmware.password",
            "{{> linux/_lib.sh}}\nproblem 'a \"quoted\" reason'\nfinish x\n".to_string(),
            30,
        ),
        // Prints nothing, says nothing, and ends well: still no verdict.
        ("firewall.enabled", ":\n".to_string(), 30),
    ]);
    let d = device();
    let scripted = ScriptedHost::new(&[]);
    let mut e = engine(&r, &d, &scripted, &[]);
    e.host = &crate::host::LocalHost;
    e.opts.mode = Mode::Check;
    let started = std::time::Instant::now();
    let rep = e.check();
    let took = started.elapsed();
    let c = |id: &str| rep.controls.iter().find(|c| c.id == id).unwrap();
    assert_eq!(
        c("os.supported").status,
        Status::Pass,
        "{:?}",
        c("os.supported")
    );
    assert_eq!(c("os.supported").observed["who"], "os.supported");
    let hung = c("accounts.guest");
    assert_eq!(hung.status, Status::Error, "{hung:?}");
    assert!(
        hung.reason.contains("killed after its timeout of 1 s"),
        "{}",
        hung.reason
    );
    let failed = c("accounts.allowed");
    assert_eq!(failed.status, Status::Error);
    assert!(
        failed
            .reason
            .contains("printed no result line; accounts.allowed check exited with status 3")
            && failed.reason.contains("went wrong"),
        "{}",
        failed.reason
    );
    let silent = c("firewall.enabled");
    assert_eq!(silent.status, Status::Error);
    assert_eq!(
        silent.reason,
        "the check printed no result line; firewall.enabled check exited with status 0"
    );
    let fw = c("firmware.password");
    assert_eq!(fw.status, Status::Fail);
    assert_eq!(fw.reason, "a \"quoted\" reason");
    // Each check's own time, from the batch (10 ms steps): the hung one ran for its timeout, the rest not.
    assert!(hung.duration_ms >= 900, "{}", hung.duration_ms);
    assert!(
        c("os.supported").duration_ms < hung.duration_ms,
        "{}",
        c("os.supported").duration_ms
    );
    // Killed at its own timeout (the watchdog looks once a second), not at the batch's.
    assert!(took < Duration::from_secs(8), "{took:?}");
    // The hung check's child went with it.
    let left = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmd| String::from_utf8_lossy(cmd).contains(&marker))
        .count();
    assert_eq!(left, 0, "the hung check's sleep {marker} is still running");
}

/// The batch defines the checks' shared helpers (_lib.sh) once and gives each check its text without them
/// (render_batch): a check answers the same in the batch as alone, where its text defines them itself.
/// The checks below use the helpers' state (observations, problems, escaping), read a file, see the
/// environment, and one begins otherwise (its full text runs, redefining helpers the batch defined).
#[cfg(target_os = "linux")]
#[test]
fn a_check_answers_the_same_in_the_batch_as_alone() {
    let lib = "{{> linux/_lib.sh}}\n";
    let (_dir, r) = linux_batch_profile(&[
        (
            "os.supported",
            format!("{lib}obs tab \"$(printf 'a\\tb')\"\nobsn n 007\nobsb b true\nproblem p1\nproblem 'p2 \"q\"'\nfinish ok\n"),
            30,
        ),
        (
            "accounts.guest",
            format!("{lib}conf_value /proc/self/status Name ':'\nobs control \"$HANDOVER_CONTROL\"\nobs user \"${{HANDOVER_USER-unset}}\"\nobs dir \"${{HANDOVER_BATCH_DIR-unset}}\"\nobs obs_before \"${{_fails:-none}}\"\nobs words \"$(words ' x   y ')\"\nobs umask \"$(umask)\"\nfinish fine\n"),
            30,
        ),
        (
            "accounts.allowed",
            format!("{lib}echo 'to stderr' >&2\nresult false \"cannot tell\" error\n"),
            30,
        ),
        (
            "firmware.password",
            "{{> sh/_json.sh}}\nobs own yes\nresult true \"not the batch's helpers\" manual\n".to_string(),
            30,
        ),
    ]);
    let d = device();
    let scripted = ScriptedHost::new(&[]);
    let mut e = engine(&r, &d, &scripted, &[]);
    e.host = &crate::host::LocalHost;
    e.opts.mode = Mode::Check;
    let rep = e.check();
    let ran: Vec<&Planned> = r
        .controls
        .iter()
        .filter(|p| p.scripts.check().is_some())
        .collect();
    assert_eq!(ran.len(), 4);
    let batch = render_batch(&r, "linux/_batch.sh", &ran).unwrap();
    assert_eq!(
        batch.matches("\nlogin_def() {").count(),
        1,
        "the helpers are defined once, by the batch"
    );
    for p in ran {
        let alone = e.run_check(p);
        let c = rep.controls.iter().find(|c| c.id == p.control.id).unwrap();
        assert_eq!(
            (c.status, &c.reason, &c.observed),
            (alone.status, &alone.reason, &alone.observed),
            "{}",
            p.control.id
        );
        // Every one of them printed its result line (a broken helper would not have).
        assert!(!c.reason.contains("no result"), "{c:?}");
    }
    let c = |id: &str| rep.controls.iter().find(|c| c.id == id).unwrap();
    assert_eq!(c("os.supported").reason, "p1; p2 \"q\"");
    assert_eq!(c("os.supported").observed["tab"], "a b");
    assert_eq!(c("accounts.guest").observed["dir"], "unset");
    assert_eq!(c("accounts.guest").observed["user"], "jdoe");
    assert_eq!(c("accounts.guest").observed["umask"], "0077");
    assert_eq!(c("accounts.allowed").status, Status::Error);
    assert_eq!(c("firmware.password").status, Status::Manual);
}

/// A no-change apply costs one check: every check in the one batch process, no re-check and no other
/// script (issue 18).
#[test]
fn a_no_change_apply_runs_the_batch_of_checks_and_nothing_else() {
    let ids = ["accounts.guest", "accounts.password-policy", "os.supported"];
    let (_d, mut r) = resolved(&ids, "");
    r.profile.vars["batch"] = json!("c.sh");
    let files: Vec<(String, String)> = (0..ids.len())
        .flat_map(|n| {
            [
                (format!("{n}.out"), format!("{PASS}\n")),
                (format!("{n}.done"), "0 5.00 5.01\n".to_string()),
            ]
        })
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (&**a, &**b)).collect();
    let host = ScriptedHost::new(&[("checks (one process)", 0, "", "")]).with_batch_files(&files);
    let d = device();
    let rep = engine(&r, &d, &host, &ids).apply().report.unwrap();
    assert_eq!(host.ran(), vec!["checks (one process)"]);
    for id in ids {
        assert_eq!(status(&rep, id), (Status::Pass, "ok".into(), false), "{id}");
    }
}

/// The sh batch leaves each check's output in files of a private directory that the engine makes,
/// names to the batch (HANDOVER_BATCH_DIR), reads when the batch ends, and removes: the batch starts no
/// mktemp, awk or rm (issue 18). Each check's verdict is read from its files as from a check run alone.
#[test]
fn the_sh_batch_answers_through_files_in_a_private_directory_of_the_engine() {
    // In the profile's order, which is the batch's (check n is the nth of these).
    let ids = [
        "os.supported",
        "accounts.guest",
        "accounts.allowed",
        "updates.pending",
        "apps.lansweeper",
    ];
    let site = "[lansweeper]\nserver = \"ls.example\"\nagent_key = \"TOPSECRET-KEY\"\n";
    let (_d, mut r) = resolved(&ids, site);
    r.profile.vars["batch"] = json!("c.sh");
    let host = ScriptedHost::new(&[("checks (one process)", 0, "", "")]).with_batch_files(&[
        // Passes, after other output; its own time from /proc/uptime, 10 ms steps.
        ("0.out", &format!("working\n{PASS}\n")),
        ("0.err", ""),
        ("0.done", "0 100.25 100.5\n"),
        // Prints nothing and fails: an error with its status and stderr, as a check run alone.
        ("1.out", ""),
        ("1.err", "went wrong\n\tindented\n"),
        ("1.done", "3 100.25 100.25\n"),
        // Killed by the watchdog at its timeout (30 s here) after printing a result line.
        ("2.out", &format!("{PASS}\n")),
        ("2.timeout", "30\n"),
        ("2.done", "137 100.00 130.00\n"),
        // 3 never finished: the batch ended first (killed, or crashed), so there is no 3.done.
        ("3.out", "partial"),
        // A secret on stderr is redacted.
        ("4.out", ""),
        ("4.err", "E: bad key TOPSECRET-KEY\n"),
        ("4.done", "1 1.00 1.00\n"),
    ]);
    let d = device();
    let mut e = engine(&r, &d, &host, &ids);
    e.opts.mode = Mode::Check;
    let rep = e.check();
    assert_eq!(host.ran(), vec!["checks (one process)"]);
    let c = |id: &str| rep.controls.iter().find(|c| c.id == id).unwrap();
    assert_eq!(c("os.supported").status, Status::Pass);
    assert_eq!(c("os.supported").duration_ms, 250);
    let failed = c("accounts.guest");
    assert_eq!(failed.status, Status::Error);
    assert!(
        failed
            .reason
            .contains("printed no result line; accounts.guest check exited with status 3")
            && failed.reason.contains("went wrong\n\tindented"),
        "{}",
        failed.reason
    );
    assert_eq!(failed.duration_ms, 0);
    let hung = c("accounts.allowed");
    assert_eq!(hung.status, Status::Error);
    assert!(
        hung.reason
            .contains("accounts.allowed check was killed after its timeout of 30 s"),
        "{}",
        hung.reason
    );
    assert_eq!(hung.duration_ms, 30_000);
    let secret = c("apps.lansweeper");
    assert_eq!(secret.status, Status::Error);
    assert!(
        secret
            .reason
            .contains("E: bad key <secret:lansweeper.agent_key>"),
        "{}",
        secret.reason
    );
    assert!(!serde_json::to_string(&rep)
        .unwrap()
        .contains("TOPSECRET-KEY"));
    let unfinished = c("updates.pending");
    assert_eq!(unfinished.status, Status::Error);
    assert!(
        unfinished
            .reason
            .contains("no result for updates.pending from the batch of checks"),
        "{}",
        unfinished.reason
    );
    // The directory was private while the batch ran, and is gone after.
    let (dir, mode) = host.batch_dir.lock().unwrap().clone().unwrap();
    assert_eq!(mode, 0o700, "{dir:?}");
    assert!(!dir.exists(), "{dir:?} is left behind");
}

#[test]
fn uptime_readings_become_whole_milliseconds() {
    use super::check::uptime_ms;
    assert_eq!(uptime_ms("12345.67"), Some(12_345_670));
    assert_eq!(uptime_ms("0.5"), Some(500));
    assert_eq!(uptime_ms("7"), Some(7000));
    assert_eq!(uptime_ms("1.2345"), None);
    assert_eq!(uptime_ms(""), None);
    assert_eq!(uptime_ms("1.-2"), None);
}
