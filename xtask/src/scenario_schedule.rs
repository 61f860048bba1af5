//! The scheduled re-check of issue 5 (item 4) on the booted Debian 12 or 13 device, with the real systemd
//! timer, run after the main scenario (`scenario::run`) on the same device:
//!
//! 1. refusals first, so that "nothing installed" is easy to see: not root; a handover binary or a site
//!    file that others can write (the job runs them as root, SPEC §7);
//! 2. install from a path with a space, weekly at 03:30: systemd reads the quoted `ExecStart=` as meant;
//! 3. install again, daily, from /usr/local/sbin: the units are replaced, the timer enabled and listed;
//! 4. drift (the Lansweeper agent stopped and disabled), then the job run now (`systemctl start` of the
//!    oneshot service waits for it): a full check record and a partial apply record appear, the agent is
//!    running again, and the unit's journal holds the run's output but not the site's agent key;
//! 5. `schedule status` (exit 0, the next run), `schedule remove` (units gone, status exit 1), and
//!    `schedule remove` again (nothing to remove, exit 0).

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::Value;

use crate::container::{Container, Output};
use crate::e2e::{GUEST_BIN, GUEST_LSAGENT};

/// The site's Lansweeper agent key (`scenario::write_site`): it must never reach the journal.
const AGENT_KEY: &str = "e2e-relay-key-5ecret";
const UNITS: &str = "/etc/systemd/system";
const SERVICE: &str = "handover-check.service";
const TIMER: &str = "handover-check.timer";
const RECORDS: &str = "/var/lib/handover/records";
/// A copy of the binary in a directory whose name has a space.
const SPACED_BIN: &str = "/opt/handover e2e/handover";
const APPLY_ARGS: &str = "apply --yes --reason drift --only endpoint.protection --only apps.lansweeper --only apps.fortinet-vpn";

fn sh(c: &Container, script: &str) -> Result<String> {
    c.exec_ok(script)
        .with_context(|| format!("in the device: {script}"))
}

/// `handover schedule ARGS` (as `bin`, root unless `prefix` says otherwise), echoed like `scenario::handover`.
fn schedule(c: &Container, prefix: &str, bin: &str, args: &str) -> Result<Output> {
    println!("$ {prefix}{bin} schedule {args}");
    let out = c.exec(&format!("{prefix}'{bin}' schedule {args}"))?;
    println!(
        "  [exit {} in {:.2}s]",
        out.code().unwrap_or(-1),
        out.elapsed.as_secs_f64()
    );
    Ok(out)
}

fn expect_exit(out: &Output, code: i32, what: &str) -> Result<()> {
    ensure!(
        out.code() == Some(code),
        "{what}: exit {:?}, expected {code}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.code(),
        out.stdout,
        out.stderr
    );
    Ok(())
}

fn unit_files_present(c: &Container) -> Result<usize> {
    Ok(sh(
        c,
        &format!("ls -1 {UNITS}/{SERVICE} {UNITS}/{TIMER} 2>/dev/null | wc -l"),
    )?
    .trim()
    .parse()?)
}

fn show(c: &Container, unit: &str, prop: &str) -> Result<String> {
    Ok(sh(c, &format!("systemctl show -p {prop} --value {unit}"))?
        .trim()
        .to_string())
}

/// The records directory's file names, oldest first (names sort in chain order).
fn records(c: &Container) -> Result<Vec<String>> {
    Ok(sh(c, &format!("ls -1 {RECORDS}"))?
        .lines()
        .map(str::to_string)
        .collect())
}

fn record(c: &Container, name: &str) -> Result<Value> {
    let text = sh(c, &format!("cat '{RECORDS}/{name}'"))?;
    serde_json::from_str(&text).with_context(|| format!("{name} is not JSON"))
}

/// The main scenario leaves the LsAgent installer tampered (one line appended) and the agent removed:
/// put the installer back as the site pins it and install the agent, so the drift below is the only one.
fn agent_installed_and_running(c: &Container) -> Result<()> {
    sh(c, &format!("sed -i '/^# tampered$/d' {GUEST_LSAGENT}"))?;
    let pinned = sh(
        c,
        "sed -n 's/^sha256 = \"\\([0-9a-f]*\\)\"$/\\1/p' /etc/handover/site.toml",
    )?;
    let actual = sh(c, &format!("sha256sum {GUEST_LSAGENT} | cut -d' ' -f1"))?;
    ensure!(
        !pinned.trim().is_empty() && pinned.trim() == actual.trim(),
        "the LsAgent stand-in does not match the site's sha256 ({} vs {})",
        actual.trim(),
        pinned.trim()
    );
    let run = crate::scenario::handover(c, "apply --yes --only apps.lansweeper")?;
    let st = run.control("apps.lansweeper")["status"].clone();
    ensure!(
        st == "fixed" || st == "pass",
        "apps.lansweeper before the schedule: {}\n{}",
        run.control("apps.lansweeper"),
        run.stderr
    );
    ensure!(
        sh(c, "systemctl is-active LansweeperAgent.service")?.trim() == "active",
        "the agent runs before the drift"
    );
    Ok(())
}

/// The unit's journal once it holds the apply's output (journald reads the service's stdout stream
/// asynchronously: wait for it a little).
fn unit_journal(c: &Container) -> Result<String> {
    let mut text = String::new();
    for _ in 0..20 {
        let _ = c.exec("journalctl --sync");
        text = sh(c, &format!("journalctl -u {SERVICE} --no-pager -o cat"))?;
        if text.contains("PARTIAL") && text.contains("apps.lansweeper") {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(text)
}

pub fn run(c: &Container) -> Result<()> {
    agent_installed_and_running(c)?;

    // 0. Nothing installed yet: status says so (exit 1), remove has nothing to do.
    let status = schedule(c, "", GUEST_BIN, "status")?;
    expect_exit(&status, 1, "schedule status before install")?;
    ensure!(
        status.stdout.contains("not installed"),
        "status before install: {}",
        status.stdout
    );

    // 1. Refusals; each installs nothing.
    let not_root = schedule(
        c,
        "setpriv --reuid=65534 --regid=65534 --clear-groups ",
        GUEST_BIN,
        "install --daily",
    )?;
    expect_exit(&not_root, 2, "schedule install as nobody")?;
    ensure!(
        not_root.stderr.contains("must run as root"),
        "not root: {}",
        not_root.stderr
    );
    sh(
        c,
        "umask 077; cp /etc/handover/site.toml /root/site-open.toml && chmod o+w /root/site-open.toml",
    )?;
    let open_site = schedule(
        c,
        "",
        GUEST_BIN,
        "install --daily --site /root/site-open.toml",
    )?;
    expect_exit(
        &open_site,
        2,
        "schedule install with a site others can write",
    )?;
    ensure!(
        open_site.stderr.contains("/root/site-open.toml")
            && open_site.stderr.contains("writable by group or others"),
        "a site others can write: {}",
        open_site.stderr
    );
    sh(
        c,
        &format!("install -m 0757 {GUEST_BIN} /root/handover-open"),
    )?;
    let open_bin = schedule(c, "", "/root/handover-open", "install --daily")?;
    expect_exit(
        &open_bin,
        2,
        "schedule install from a binary others can write",
    )?;
    ensure!(
        open_bin.stderr.contains("handover binary")
            && open_bin.stderr.contains("writable by group or others"),
        "a binary others can write: {}",
        open_bin.stderr
    );
    sh(c, "rm -f /root/site-open.toml /root/handover-open")?;
    ensure!(
        unit_files_present(c)? == 0,
        "a refused install wrote unit files"
    );
    ensure!(
        c.exec(&format!("systemctl cat {TIMER}"))?.code() != Some(0),
        "a refused install left a timer systemd knows"
    );
    println!("ok: schedule install refused (exit 2) as nobody, with a site or a binary others can write; nothing installed");

    // 2. From a path with a space, weekly at 03:30: systemd reads the quoted ExecStart= as meant.
    sh(
        c,
        &format!(
            "mkdir -p \"$(dirname '{SPACED_BIN}')\" && install -m 0755 {GUEST_BIN} '{SPACED_BIN}'"
        ),
    )?;
    let spaced = schedule(c, "", SPACED_BIN, "install --weekly --at 03:30")?;
    expect_exit(&spaced, 0, "schedule install from a path with a space")?;
    let exec = show(c, SERVICE, "ExecStart")?;
    ensure!(
        exec.matches(&format!("path={SPACED_BIN} ;")).count() == 2
            && exec.contains(&format!("argv[]={SPACED_BIN} check ;"))
            && exec.contains(&format!("argv[]={SPACED_BIN} {APPLY_ARGS} ;")),
        "ExecStart of a binary in a directory with a space: {exec}"
    );
    let cal = show(c, TIMER, "TimersCalendar")?;
    ensure!(
        cal.contains("OnCalendar=Mon *-*-* 03:30:00"),
        "weekly at 03:30: {cal}"
    );
    println!(
        "ok: installed from {SPACED_BIN:?}: systemd runs that path; weekly on Monday at 03:30"
    );

    // 3. Again, daily, from /usr/local/sbin: the units are replaced, the timer is enabled and listed.
    let install = schedule(c, "", GUEST_BIN, "install --daily")?;
    expect_exit(&install, 0, "schedule install --daily")?;
    sh(c, &format!("rm -rf \"$(dirname '{SPACED_BIN}')\""))?;
    ensure!(
        sh(c, &format!("systemctl is-enabled {TIMER}"))?.trim() == "enabled"
            && sh(c, &format!("systemctl is-active {TIMER}"))?.trim() == "active",
        "the timer is enabled and active"
    );
    let timers = sh(c, "systemctl list-timers --all --no-pager")?;
    ensure!(
        timers.contains(TIMER),
        "list-timers shows the timer:\n{timers}"
    );
    let exec = show(c, SERVICE, "ExecStart")?;
    ensure!(
        exec.contains(&format!("argv[]={GUEST_BIN} check ;"))
            && exec.contains(&format!("argv[]={GUEST_BIN} {APPLY_ARGS} ;"))
            && !exec.contains("handover e2e"),
        "the service now runs {GUEST_BIN}: {exec}"
    );
    let cal = show(c, TIMER, "TimersCalendar")?;
    ensure!(cal.contains("OnCalendar=*-*-* 00:00:00"), "daily: {cal}");
    ensure!(
        sh(
            c,
            &format!("stat -c '%a %U' {UNITS}/{SERVICE} {UNITS}/{TIMER} | sort -u")
        )?
        .trim()
            == "644 root",
        "unit files are root's, mode 0644"
    );
    println!(
        "ok: schedule install --daily: {TIMER} enabled, active, listed; units replaced, 0644 root"
    );

    // 4. Drift, then the job, now.
    sh(c, "systemctl disable --now LansweeperAgent.service")?;
    ensure!(
        c.exec("systemctl is-active LansweeperAgent.service")?
            .stdout
            .trim()
            == "inactive",
        "the agent is stopped"
    );
    let before = records(c)?;
    let runs_before = sh(c, "wc -l < /var/log/lsagent-standin.runs")?;
    println!("$ systemctl start {SERVICE}");
    let started = c.exec_timeout(
        &format!("systemctl start {SERVICE}"),
        Duration::from_secs(900),
    )?;
    println!(
        "  [exit {} in {:.2}s]",
        started.code().unwrap_or(-1),
        started.elapsed.as_secs_f64()
    );
    if !started.success() {
        let journal = c
            .exec(&format!(
                "journalctl -u {SERVICE} --no-pager -o cat | tail -n 60"
            ))
            .map(|o| o.stdout)
            .unwrap_or_default();
        anyhow::bail!(
            "systemctl start {SERVICE} failed: {}\n--- journal ---\n{journal}",
            started.stderr
        );
    }
    ensure!(show(c, SERVICE, "Result")? == "success", "the job's result");
    let status_code = show(c, SERVICE, "ExecMainStatus")?;
    ensure!(
        ["0", "1", "3"].contains(&status_code.as_str()),
        "the apply's exit status: {status_code}"
    );

    let after = records(c)?;
    ensure!(
        after.len() >= before.len() + 2,
        "the job wrote {} records, expected 2 (a check and an apply)",
        after.len().saturating_sub(before.len())
    );
    let check = record(c, &after[after.len() - 2])?;
    let apply = record(c, &after[after.len() - 1])?;
    ensure!(
        check["report"]["mode"] == "check" && check["report"]["scope"] == "full",
        "the first record of the job is a full check: mode {} scope {}",
        check["report"]["mode"],
        check["report"]["scope"]
    );
    ensure!(
        apply["report"]["mode"] == "apply"
            && apply["report"]["scope"] == "partial"
            && apply["report"]["reason"] == "drift"
            && apply["report"]["summary"]["compliant"].is_null(),
        "the second record is a partial apply for drift: mode {} scope {} reason {}",
        apply["report"]["mode"],
        apply["report"]["scope"],
        apply["report"]["reason"]
    );
    let controls: Vec<(String, String)> = apply["report"]["controls"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["id"].as_str().unwrap_or("").to_string(),
                        c["status"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ids: Vec<&str> = controls.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ensure!(
        ids == [
            "apps.fortinet-vpn",
            "apps.lansweeper",
            "endpoint.protection"
        ],
        "the scheduled apply ran exactly the security-software controls: {ids:?}"
    );
    ensure!(
        controls
            .iter()
            .any(|(id, st)| id == "apps.lansweeper" && st == "fixed"),
        "the scheduled apply repaired apps.lansweeper: {controls:?}"
    );
    println!(
        "ok: the job wrote {} (check, full) and {} (apply, partial, drift; apps.lansweeper fixed)",
        after[after.len() - 2],
        after[after.len() - 1]
    );

    ensure!(
        sh(c, "systemctl is-active LansweeperAgent.service")?.trim() == "active"
            && sh(c, "systemctl is-enabled LansweeperAgent.service")?.trim() == "enabled",
        "the agent runs again"
    );
    let runs_after = sh(c, "wc -l < /var/log/lsagent-standin.runs")?;
    ensure!(
        runs_after.trim().parse::<u32>()? == runs_before.trim().parse::<u32>()? + 1,
        "the verified installer ran once ({} -> {})",
        runs_before.trim(),
        runs_after.trim()
    );
    println!("ok: LansweeperAgent.service active and enabled again, put back without asking");

    let journal = unit_journal(c)?;
    ensure!(
        journal.contains("PARTIAL") && journal.contains("apps.lansweeper"),
        "the unit's journal holds the run's output:\n{journal}"
    );
    ensure!(
        !journal.contains(AGENT_KEY),
        "the agent key is in the unit's journal"
    );
    let anywhere = c.exec(&format!(
        "journalctl --no-pager -o cat | grep -F -c '{AGENT_KEY}'"
    ))?;
    ensure!(
        anywhere.stdout.trim() == "0",
        "the agent key is in the journal ({} lines)",
        anywhere.stdout.trim()
    );
    println!("ok: the unit's journal has the run's output and no agent key");

    // 5. status, remove, remove again.
    let status = schedule(c, "", GUEST_BIN, "status")?;
    expect_exit(&status, 0, "schedule status")?;
    let next = status
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("next run: "))
        .unwrap_or("");
    ensure!(
        !next.is_empty() && next != "none scheduled",
        "status names the next run:\n{}",
        status.stdout
    );
    ensure!(
        status.stdout.contains("schedule: installed")
            && status.stdout.contains("last run: finished")
            && status.stdout.contains("latest record: "),
        "status:\n{}",
        status.stdout
    );
    println!("ok: schedule status exit 0, next run {next}");

    let removed = schedule(c, "", GUEST_BIN, "remove")?;
    expect_exit(&removed, 0, "schedule remove")?;
    ensure!(unit_files_present(c)? == 0, "the unit files are gone");
    ensure!(
        c.exec(&format!("systemctl is-enabled {TIMER}"))?.code() != Some(0),
        "the timer is not enabled"
    );
    ensure!(
        !sh(c, "systemctl list-timers --all --no-pager")?.contains(TIMER),
        "the timer is not listed"
    );
    let status = schedule(c, "", GUEST_BIN, "status")?;
    expect_exit(&status, 1, "schedule status after remove")?;
    let again = schedule(c, "", GUEST_BIN, "remove")?;
    expect_exit(&again, 0, "schedule remove again")?;
    ensure!(
        again.stdout.contains("nothing to remove"),
        "remove again: {}",
        again.stdout
    );
    println!(
        "ok: schedule remove deleted the units (status exit 1); a second remove has nothing to do"
    );
    Ok(())
}
