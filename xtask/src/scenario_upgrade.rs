//! SPEC §8's OS upgrade, for real: a device handed over on Debian 12 is upgraded in place to Debian 13
//! with apt from an offline trixie repository (`upgrade.rs`), following the release notes' sequence,
//! powered off and booted again (`e2e.rs` does the boots); then:
//!
//! 1. `check` picks the `debian-13` profile by itself and shows what the upgrade changed
//!    ([`AFTER_UPGRADE`]), remembering the user and asset of the handover; the device's own tools (the
//!    scenario's step 5) agree that what handover set survived;
//! 2. `apply --reason os-upgrade` re-baselines the device ([`REBASELINED`]) and a `check` after it is
//!    the converged device of the scenario, its ClamAV updater running;
//! 3. `record verify` passes with the technician's kit key that signed the Debian 12 records at
//!    handover: the record chain is unbroken across the upgrade;
//! 4. `record diff` from the last Debian 12 full record to the re-baseline shows the change of OS and
//!    profile.

use std::time::Duration;

use anyhow::{ensure, Context, Result};

use crate::container::Container;
use crate::e2e::GUEST_BIN;
use crate::scenario::{self, handover, sh, CONVERGED, NOW};
use crate::upgrade::UPGRADE_GUEST_DIR;

/// The technician's kit on the device, here only for its signing key (`kit keygen`, `check --kit`).
const KIT: &str = "/root/upgrade-kit";
const RECORDS: &str = "/var/lib/handover/records";

/// `check` on the upgraded device, before any apply: observed, the same statuses as the converged
/// Debian 12 device ([`CONVERGED`]): what handover set survives the upgrade (its own drop-in files
/// are no package's, the package files it changed are kept by `--force-confold`, ufw keeps its rules,
/// the accounts are untouched; the device's own tools confirm each, `device_tools_agree`). What the
/// upgrade does change shows in the controls' observations, asserted in
/// [`after_upgrade`]: `os.supported` now judges Debian 13 (support until 2030-06-30, not Debian 12's
/// 2028-06-30), and trixie's clamav-freshclam adds `clamav-freshclam-once.service`, which at boot races
/// the freshclam daemon for its log file's lock: when it wins, the daemon has exited and
/// `endpoint.protection` (failing anyway: no definitions offline) names it too.
const AFTER_UPGRADE: &[(&str, &str)] = CONVERGED;

/// `apply --reason os-upgrade` on the upgraded device: nothing failing it can fix offline, so the
/// statuses stay; `endpoint.protection` is still applied (it starts the ClamAV services) and still
/// fails on the definitions only the internet brings.
const REBASELINED: &[(&str, &str)] = AFTER_UPGRADE;

/// The handover on Debian 12 as the scenario does it (site, first apply with user jdoe and asset
/// QM012345, the stray account locked), a converged `check`, and the records signed with the
/// technician's kit key. Returns the name of that check's record: the last full record of Debian 12.
pub fn hand_over(c: &Container) -> Result<String> {
    scenario::prepare_compliant_device(c)?;
    let check = handover(c, "check")?;
    check.expect("check on Debian 12 before the upgrade", CONVERGED)?;
    ensure!(
        check.json["profile"]["name"] == "debian-12",
        "profile on Debian 12: {}",
        check.json["profile"]["name"]
    );
    // The technician's kit, here only for its key: an empty manifest, and the key sealed under a
    // passphrase; a `check --kit` then signs its own record (the converged Debian 12 check).
    sh(c, &format!("mkdir -p {KIT} && : > {KIT}/MANIFEST.sha256"))?;
    scenario::keygen(c, KIT)?;
    sh(
        c,
        &format!(
            "HANDOVER_NOW={NOW} {GUEST_BIN} check --kit {KIT} --site /etc/handover/site.toml --key-passphrase-file {} >/dev/null || true",
            scenario::PASSPHRASE_FILE
        ),
    )?;
    let last = newest_record(c)?;
    let record = sh(c, &format!("cat {RECORDS}/{last}"))?;
    let record: serde_json::Value =
        serde_json::from_str(&record).with_context(|| format!("{last} is not JSON"))?;
    ensure!(
        record["report"]["mode"] == "check" && record["report"]["scope"] == "full",
        "the newest record is the full check: {last}"
    );
    println!("ok: handed over on Debian 12; last full record {last}, signed with the kit's key");
    Ok(last)
}

/// The newest record's file name.
fn newest_record(c: &Container) -> Result<String> {
    Ok(sh(c, &format!("ls {RECORDS} | grep 'json$' | tail -n 1"))?
        .trim()
        .to_string())
}

/// The upgrade, as Debian's release notes describe it (section 4): the apt sources switched to the new
/// release (here the offline repository, the device's only source), then `apt upgrade
/// --without-new-pkgs` (the minimal upgrade) and `apt full-upgrade`, without questions and keeping
/// the device's changed configuration files. `apt` rather than `apt-get` because that is what the
/// release notes run; it warns that its command line is not stable, which does not matter here.
pub fn upgrade(c: &Container) -> Result<()> {
    sh(
        c,
        &format!(
            "mkdir -p /root/bookworm-sources && \
             for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do \
               if [ -e \"$f\" ]; then mv \"$f\" /root/bookworm-sources/; fi; done && \
             echo 'deb [trusted=yes] file:{UPGRADE_GUEST_DIR} ./' > /etc/apt/sources.list && apt-get -q update >/dev/null"
        ),
    )?;
    let apt = "DEBIAN_FRONTEND=noninteractive apt -q -y -o Dpkg::Options::=--force-confold";
    for (n, step) in ["upgrade --without-new-pkgs", "full-upgrade"]
        .iter()
        .enumerate()
    {
        let log = format!("/root/apt-upgrade-{}.log", n + 1);
        println!("$ apt {step}  (output in {log})");
        let out = c.exec_timeout(
            &format!("{apt} {step} >{log} 2>&1; rc=$?; tail -n 3 {log}; exit $rc"),
            Duration::from_secs(1800),
        )?;
        for l in out.stdout.lines() {
            println!("  {l}");
        }
        println!(
            "  [exit {} in {:.1}s]",
            out.code().unwrap_or(-1),
            out.elapsed.as_secs_f64()
        );
        ensure!(
            out.success(),
            "apt {step} failed (see {log} in the device):\n{}{}",
            out.stdout,
            out.stderr
        );
    }
    let os = sh(
        c,
        ". /etc/os-release && echo \"$VERSION_ID $VERSION_CODENAME\"",
    )?;
    ensure!(
        os.trim() == "13 trixie",
        "after the upgrade /etc/os-release says {os}"
    );
    let audit = sh(
        c,
        "dpkg --audit; apt-get -s -q full-upgrade | grep -c '^Inst' || true",
    )?;
    ensure!(
        audit.trim() == "0",
        "packages left half-configured or not upgraded: {audit}"
    );
    println!("ok: upgraded to Debian 13 (trixie) from {UPGRADE_GUEST_DIR}; dpkg --audit clean, nothing left to upgrade");
    Ok(())
}

/// After the reboot into Debian 13: found drifted, re-baselined, records verified and compared.
pub fn after_upgrade(c: &Container, handed_over: &str) -> Result<()> {
    let check = handover(c, "check")?;
    ensure!(
        check.json["profile"]["name"] == "debian-13" && check.json["untested_release"].is_null(),
        "check after the upgrade picks debian-13: profile {}, untested_release {}",
        check.json["profile"]["name"],
        check.json["untested_release"]
    );
    check.remembers_user_and_asset("check after the upgrade")?;
    check.expect("check after the upgrade", AFTER_UPGRADE)?;
    let os = &check.control("os.supported")["observed"];
    ensure!(
        os["version"] == "13" && os["support_ends"] == "2030-06-30",
        "os.supported judges Debian 13 after the upgrade: {os}"
    );
    println!(
        "ok: after the upgrade: os.supported judges Debian 13 (support ends {}); endpoint.protection: {}",
        os["support_ends"],
        check.control("endpoint.protection")["reason"]
    );

    // sshd, ufw, sudo, PAM and apt were all replaced by their trixie versions: their own tools still
    // say what handover set.
    scenario::device_tools_agree(c, "after the upgrade, before any apply")?;

    let apply = handover(c, "apply --yes --reason os-upgrade")?;
    ensure!(
        apply.json["reason"] == "os-upgrade" && apply.json["profile"]["name"] == "debian-13",
        "apply --reason os-upgrade: reason {}, profile {}",
        apply.json["reason"],
        apply.json["profile"]["name"]
    );
    apply.remembers_user_and_asset("apply after the upgrade")?;
    apply.expect("apply --reason os-upgrade", REBASELINED)?;
    let rebaselined = newest_record(c)?;
    let converged = handover(c, "check")?;
    converged.expect("check after the re-baseline", CONVERGED)?;
    let clamav = &converged.control("endpoint.protection")["observed"];
    ensure!(
        clamav["clamav-freshclam"] == "active",
        "the re-baseline leaves the ClamAV updater running: {clamav}"
    );
    println!("ok: Debian 13 re-baselined with --reason os-upgrade: converged, the ClamAV updater running");

    records_across_the_upgrade(c, handed_over, &rebaselined)
}

/// The records of both releases: signed with the kit's key, one chain (`record verify --kit`), and
/// `record diff` between the last Debian 12 full record and the re-baseline shows OS and profile.
fn records_across_the_upgrade(c: &Container, handed_over: &str, rebaselined: &str) -> Result<()> {
    sh(c, &format!("{GUEST_BIN} record export --kit {KIT}"))?;
    let verified = sh(c, &format!("{GUEST_BIN} record verify --kit {KIT}"))?;
    ensure!(
        verified.contains(&format!("trusted key: {KIT}/keys/records.pub"))
            && verified.contains(handed_over)
            && verified.contains(rebaselined),
        "record verify across the upgrade:\n{verified}"
    );
    println!("ok: record verify --kit passes: one signed chain across the upgrade");

    let diff = sh(
        c,
        &format!("HANDOVER_NOW={NOW} {GUEST_BIN} record diff {handed_over} {rebaselined}"),
    )?;
    println!("{}", diff.trim_end());
    let line = |prefix: &str| {
        diff.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or("")
            .to_string()
    };
    let os = line("OS: ");
    let profile = line("profile: ");
    ensure!(
        os.contains("12")
            && os.contains("bookworm")
            && os.contains("→")
            && os.contains("13")
            && os.contains("trixie"),
        "record diff shows the OS change: {os}"
    );
    ensure!(
        profile.starts_with("profile: debian-12 sha256:")
            && profile.contains("→ debian-13 sha256:"),
        "record diff shows the profile change: {profile}"
    );
    // The statuses of AFTER_UPGRADE and REBASELINED equal CONVERGED's.
    ensure!(
        diff.contains("no control changed status"),
        "record diff: no control changed status between the two converged devices"
    );
    println!("ok: record diff {handed_over} {rebaselined} shows the OS and profile change");
    Ok(())
}
