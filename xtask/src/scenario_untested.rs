//! A device newer than every profile (SPEC §3), on the booted Debian 13 device at the end of its
//! scenario: /etc/os-release is rewritten to say Debian 14 (forky), a release handover has no profile
//! for. Then:
//!
//! 1. `check` runs Debian's newest profile, `debian-13`, says so in `untested_release`, and judges the
//!    device as before except `os.supported`, which is `error` (the lifecycle table has no Debian 14);
//! 2. with the firewall drifted off, `apply --yes` refuses (exit 2) naming `--allow-untested-release`
//!    and the profile, and changes nothing (no record either);
//! 3. `apply --yes --allow-untested-release` repairs the drift, and a `check` after it is the converged
//!    device again, with `os.supported` still `error` naming `handover lifecycle import`.

use anyhow::{ensure, Result};
use serde_json::json;

use crate::container::Container;
use crate::e2e::{Release, GUEST_BIN};
use crate::scenario::{fingerprint, handover, sh, with_statuses, Run, CONVERGED, NOW};

/// The converged device of the scenario's end as a release the lifecycle table does not know:
/// `os.supported` cannot be judged (error, not fail); `firmware.password` passes on the attestation
/// the scenario gave with the kit present, carried by a signed record (same machine-id: the
/// relabelling is no reinstall).
fn relabelled() -> Vec<(&'static str, &'static str)> {
    with_statuses(
        CONVERGED,
        &[("os.supported", "error"), ("firmware.password", "pass")],
    )
}

/// Rewrites /etc/os-release (a symlink to /usr/lib/os-release, replaced by a file) and
/// /etc/debian_version to say Debian `version` (`codename`).
fn relabel(c: &Container, version: &str, codename: &str) -> Result<()> {
    sh(
        c,
        &format!(
            "sed -E -e 's/^VERSION_ID=.*/VERSION_ID=\"{version}\"/' \
             -e 's/^VERSION=.*/VERSION=\"{version} ({codename})\"/' \
             -e 's/^VERSION_CODENAME=.*/VERSION_CODENAME={codename}/' \
             -e 's|^PRETTY_NAME=.*|PRETTY_NAME=\"Debian GNU/Linux {version} ({codename})\"|' \
             -e '/^DEBIAN_VERSION_FULL=/d' /usr/lib/os-release > /root/os-release.new && \
             rm -f /etc/os-release && mv /root/os-release.new /etc/os-release && \
             echo {version}.0 > /etc/debian_version"
        ),
    )?;
    let id = sh(
        c,
        ". /etc/os-release && echo \"$ID $VERSION_ID $VERSION_CODENAME\"",
    )?;
    ensure!(
        id.trim() == format!("debian {version} {codename}"),
        "relabelled: {id}"
    );
    Ok(())
}

/// `untested_release` of a run: the device's release and the profile run on it.
fn expect_untested(run: &Run, what: &str, version: &str, profile: &str) -> Result<()> {
    let want = json!({"os": format!("debian {version}"), "profile": profile});
    ensure!(
        run.json["untested_release"] == want && run.json["profile"]["name"] == profile,
        "{what}: untested_release {} and profile {}, expected {want} and {profile}",
        run.json["untested_release"],
        run.json["profile"]["name"]
    );
    Ok(())
}

pub fn run(c: &Container, release: &Release, (version, codename): (&str, &str)) -> Result<()> {
    let profile = release.profile;
    relabel(c, version, codename)?;

    // 1. check: the newest profile, named as untested; only os.supported differs.
    let check = handover(c, "check")?;
    ensure!(
        check.code == 0 || check.code == 1,
        "check on Debian {version}: exit {}\n{}",
        check.code,
        check.stderr
    );
    expect_untested(&check, "check", version, profile)?;
    check.expect(&format!("check on Debian {version}"), &relabelled())?;
    let why = check.control("os.supported")["reason"]
        .as_str()
        .unwrap_or("");
    ensure!(
        why.contains("handover lifecycle import"),
        "os.supported names the way to teach the lifecycle table: {why}"
    );
    println!("ok: Debian {version} runs {profile} as untested_release; os.supported error naming handover lifecycle import");

    // 2. Drift, then apply without the flag: refused, nothing changed, no record.
    sh(c, "ufw --force disable >/dev/null")?;
    let fp = fingerprint(c)?;
    let records = sh(c, "ls /var/lib/handover/records | wc -l")?;
    let refused = c.exec(&format!("HANDOVER_NOW={NOW} {GUEST_BIN} apply --yes"))?;
    ensure!(
        refused.code() == Some(2)
            && refused.stderr.contains("--allow-untested-release")
            && refused.stderr.contains(profile),
        "apply on Debian {version} without --allow-untested-release: exit {:?}\n{}",
        refused.code(),
        refused.stderr
    );
    ensure!(fingerprint(c)? == fp, "a refused apply changed the device");
    ensure!(
        sh(c, "ls /var/lib/handover/records | wc -l")? == records,
        "a refused apply wrote a record"
    );
    println!("ok: apply without --allow-untested-release exits 2 naming the flag and {profile}; nothing changed, no record");

    // 3. With the flag: the drift is repaired, and the device is as converged as before.
    let apply = handover(c, "apply --yes --allow-untested-release")?;
    expect_untested(&apply, "apply --allow-untested-release", version, profile)?;
    apply.expect(
        &format!("apply --allow-untested-release on Debian {version}"),
        &with_statuses(&relabelled(), &[("firewall.enabled", "fixed")]),
    )?;
    ensure!(
        apply.code == 1,
        "apply --allow-untested-release: exit {} (os.supported error, endpoint definitions)\n{}",
        apply.code,
        apply.stderr
    );
    ensure!(
        sh(c, "ufw status | head -n 1")?.trim() == "Status: active",
        "ufw is back on"
    );
    let after = handover(c, "check")?;
    after.expect(
        &format!("check after apply on Debian {version}"),
        &relabelled(),
    )?;
    println!("ok: apply --allow-untested-release repaired the drift; the device converged as Debian {version}");
    Ok(())
}
