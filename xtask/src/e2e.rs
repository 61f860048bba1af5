//! `cargo xtask e2e`: the end-to-end test on real Debian systems booted with
//! systemd as PID 1 (SPEC section 8). Three parts, each on its own device
//! (`--release 12|13|upgrade` runs one; the default runs all three):
//!
//! * `12`: the scenario (`scenario.rs`, `scenario_schedule.rs`) on Debian 12;
//! * `13`: the same scenario on Debian 13, then the same device relabelled as
//!   Debian 14, a release no profile was tested on (`scenario_untested.rs`);
//! * `upgrade`: a device handed over on Debian 12, upgraded in place to
//!   Debian 13 with apt from an offline repository, rebooted and re-baselined
//!   (`scenario_upgrade.rs`, repository built by `upgrade.rs`).
//!
//! Phases of a release part:
//! 1. build the release binary (`cargo build --release -p handover`, once);
//! 2. make sure the cached base image exists (`image.rs`: debootstrap +
//!    local apt repository, built once under `target/e2e/cache/`);
//! 3. copy the base to a fresh `target/e2e/run[-13]/root`;
//! 4. apply `e2e/fixture.sh` in a chroot of it (a non-compliant device);
//! 5. boot it with systemd-nspawn (private network, local repo at /srv/repo);
//! 6. copy the binary in as /usr/local/sbin/handover (with `--deb FILE`: install
//!    the package with `apt install ./FILE`, check what `dpkg -L` lists and
//!    /etc/handover's mode, and give /usr/local/sbin/handover the installed
//!    binary's inode), build the offline kit (as a connected machine of that
//!    release would) and run the scenario;
//! 7. power it off.
//!
//! At the end it prints how long each phase took and what the cache holds
//! (disk, and how long each entry took to build).
//!
//! Must run as root (debootstrap, chroot, nspawn, nsenter).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::container::{chroot_ok, chroot_run, kill_stale_nspawn, BootOptions, Container};
use crate::image::{self, Image, ImageSpec, REPO_GUEST_DIR};
use crate::upgrade::{self, UPGRADE_GUEST_DIR};

/// Packages debootstrap installs on top of minbase, on every release.
const INCLUDE: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "sudo",
    "passwd",
    "login",
    "procps",
    "iproute2",
    "ca-certificates",
    "lsb-release",
];

/// What the baseline installs, with all their dependencies the base lacks.
const REPO_PACKAGES: &[&str] = &[
    "ufw",
    "unattended-upgrades",
    "libpam-pwquality",
    "openfortivpn",
    "clamav",
    "clamav-daemon",
    "clamav-freshclam",
    "sudo",
    "iptables",
    "nftables",
    // device.lock and autorun.disabled: GNOME's settings schemas and `gsettings` for the desktop phase,
    // and dconf-cli, which apply installs there (scenario.rs, desktop_settings).
    "gsettings-desktop-schemas",
    "libglib2.0-bin",
    "dconf-cli",
    // Not the baseline's: what `cargo xtask bench` installs in its device (the Ansible check it
    // compares with, python3-apt for Ansible's apt module, GNU time for peak RSS).
    "ansible-core",
    "python3-apt",
    "time",
];

/// A Debian release the e2e run boots, and what handover calls it.
#[derive(Debug)]
pub struct Release {
    /// `VERSION_ID` in its /etc/os-release.
    pub version: &'static str,
    /// The profile handover picks on it.
    pub profile: &'static str,
    /// Its base image; `suite` is the release's codename.
    pub image: ImageSpec,
    /// A release after it that no profile has been tested on, which the device is relabelled as at the
    /// end of its part (`scenario_untested.rs`): (VERSION_ID, codename).
    pub relabel_as: Option<(&'static str, &'static str)>,
}

/// Releases are told apart by their version (`--release` takes it).
impl PartialEq for Release {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
    }
}
impl Eq for Release {}

pub const DEBIAN_12: Release = Release {
    version: "12",
    profile: "debian-12",
    image: ImageSpec {
        name: "bookworm-e2e",
        suite: "bookworm",
        include: INCLUDE,
        repo_packages: REPO_PACKAGES,
    },
    relabel_as: None,
};

pub const DEBIAN_13: Release = Release {
    version: "13",
    profile: "debian-13",
    image: ImageSpec {
        name: "trixie-e2e",
        suite: "trixie",
        include: INCLUDE,
        repo_packages: REPO_PACKAGES,
    },
    relabel_as: Some(("14", "forky")),
};

/// The device `cargo xtask bench` measures on.
pub const IMAGE: ImageSpec = DEBIAN_12.image;

pub const MACHINE: &str = "e2e-device";

/// Where the binary under test is installed in the device.
pub const GUEST_BIN: &str = "/usr/local/sbin/handover";

/// Where the LsAgent installer stand-in is put in the device.
pub const GUEST_LSAGENT: &str = "/root/LsAgent-linux-x64.run";
/// The offline kit `handover kit build` made (on the host, or in the release's kit builder), copied
/// into the device.
pub const GUEST_KIT: &str = "/root/kit";

const LONG: Duration = Duration::from_secs(1800);

/// A part of the run, chosen with `--release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The scenario on a booted release.
    Release(&'static Release),
    /// Debian 12 handed over, upgraded to Debian 13, re-baselined.
    Upgrade,
}

struct Args {
    smoke: bool,
    rebuild_cache: bool,
    build: bool,
    bin: Option<PathBuf>,
    /// `--deb FILE`: install this package in each device instead of copying the binary in.
    deb: Option<PathBuf>,
    parts: Vec<Part>,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut parsed = Args {
        smoke: false,
        rebuild_cache: false,
        build: true,
        bin: None,
        deb: None,
        parts: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rebuild-cache" => parsed.rebuild_cache = true,
            "--smoke" => parsed.smoke = true,
            "--no-build" => parsed.build = false,
            "--bin" => {
                let Some(p) = it.next() else {
                    bail!("--bin needs a path")
                };
                parsed.bin = Some(PathBuf::from(p));
                parsed.build = false;
            }
            "--deb" => {
                let Some(p) = it.next() else {
                    bail!("--deb needs the path of a handover .deb (cargo xtask dist builds it)")
                };
                parsed.deb = Some(PathBuf::from(p));
                parsed.build = false;
            }
            "--release" => {
                let part = match it.next().map(String::as_str) {
                    Some("12") => Part::Release(&DEBIAN_12),
                    Some("13") => Part::Release(&DEBIAN_13),
                    Some("upgrade") => Part::Upgrade,
                    other => bail!("--release needs 12, 13 or upgrade, not {other:?}"),
                };
                if !parsed.parts.contains(&part) {
                    parsed.parts.push(part);
                }
            }
            other => bail!("cargo xtask e2e: unknown argument {other:?}"),
        }
    }
    ensure!(
        parsed.bin.is_none() || parsed.deb.is_none(),
        "--bin and --deb: the binary under test is the one the .deb installs"
    );
    if parsed.parts.is_empty() {
        parsed.parts = vec![
            Part::Release(&DEBIAN_12),
            Part::Release(&DEBIAN_13),
            Part::Upgrade,
        ];
    }
    if parsed.smoke {
        parsed.parts.retain(|p| *p != Part::Upgrade);
        ensure!(
            !parsed.parts.is_empty(),
            "--smoke checks the containers of releases 12 and 13; the upgrade has none of its own"
        );
    }
    Ok(parsed)
}

/// Durations of the phases of a run, printed at the end.
#[derive(Default)]
pub struct Phases(Vec<(String, Duration)>);

impl Phases {
    pub fn time<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        eprintln!("==> {name}");
        let start = Instant::now();
        let result = f();
        let elapsed = start.elapsed();
        eprintln!(
            "<== {name}: {:.1}s{}",
            elapsed.as_secs_f64(),
            if result.is_err() { " (failed)" } else { "" }
        );
        self.0.push((name.to_string(), elapsed));
        result
    }

    pub fn report(&self) -> String {
        let mut s = String::from("phase durations:\n");
        let mut total = Duration::ZERO;
        for (name, d) in &self.0 {
            let _ = writeln!(s, "  {name:<46} {:>7.1}s", d.as_secs_f64());
            total += *d;
        }
        let _ = writeln!(s, "  {:<46} {:>7.1}s", "total", total.as_secs_f64());
        s
    }
}

pub fn main(args: &[String]) -> Result<()> {
    let args = parse(args)?;
    if !is_root() {
        bail!("cargo xtask e2e must run as root (debootstrap, chroot, systemd-nspawn, nsenter)");
    }
    let mut phases = Phases::default();
    let result = run(&args, &mut phases);
    eprint!("{}", phases.report());
    match cache_costs(&crate::target_dir().join("e2e/cache")) {
        Ok(costs) => eprint!("{costs}"),
        Err(e) => eprintln!("cache sizes: {e:#}"),
    }
    result
}

fn run(args: &Args, phases: &mut Phases) -> Result<()> {
    let root_dir = crate::workspace_root();
    let e2e_dir = crate::target_dir().join("e2e");

    let bin = match (&args.bin, &args.deb) {
        (Some(bin), _) => bin.clone(),
        // The kit is built on the host with the package's own binary.
        (None, Some(deb)) => phases.time("extract the .deb's binary", || {
            extract_deb_binary(deb, &e2e_dir.join("deb-extract"))
        })?,
        (None, None) => crate::target_dir().join("release/handover"),
    };
    if args.build {
        phases.time("cargo build --release", || build_release(&root_dir))?;
    }
    if !bin.is_file() {
        bail!("no handover binary at {}", bin.display());
    }
    for part in &args.parts {
        match part {
            Part::Release(release) => {
                // Debian 12's run directory keeps its name from before there were others.
                let run_dir = match release.version {
                    "12" => e2e_dir.join("run"),
                    v => e2e_dir.join(format!("run-{v}")),
                };
                release_part(args, release, &bin, &run_dir, phases)?;
            }
            Part::Upgrade => upgrade_part(args, &bin, &e2e_dir.join("run-upgrade"), phases)?,
        }
    }
    Ok(())
}

/// The scenario on a fresh device of `release` (or the smoke test), then, for a release with a
/// successor no profile was tested on, the same device relabelled as it.
fn release_part(
    args: &Args,
    release: &Release,
    bin: &Path,
    run_dir: &Path,
    phases: &mut Phases,
) -> Result<()> {
    let phase = |name: &str| format!("debian-{}: {name}", release.version);
    let guest_root = run_dir.join("root");
    let image = phases.time(&phase("base image (cache)"), || {
        image::ensure(
            &crate::target_dir().join("e2e/cache"),
            &release.image,
            args.rebuild_cache,
        )
    })?;
    eprintln!("base image: {}", image.dir.display());

    phases.time(&phase("fresh root from cache"), || {
        fs::create_dir_all(run_dir)?;
        fresh_root(&image, &guest_root)
    })?;
    phases.time(&phase("fixture"), || apply_fixture(&guest_root, release))?;
    let container = phases.time(&phase("boot"), || {
        boot_device(&image, &guest_root, MACHINE, &run_dir.join("nspawn.log"))
    })?;
    eprintln!(
        "container booted: systemd is pid {} (console log: {})",
        container.pid(),
        container.log_path().display()
    );
    phases.time(&phase(handover_phase(args)), || {
        put_handover(&container, bin, args.deb.as_deref(), release)
    })?;
    if args.smoke {
        phases.time(&phase("smoke"), || smoke(&container))?;
        return phases.time(&phase("shutdown"), || container.shutdown());
    }
    phases.time(&phase("kit build and copy in"), || {
        build_kit(bin, run_dir, &container, release, &image)
    })?;
    phases.time(&phase("scenario"), || {
        crate::scenario::run(&container, release)
    })?;
    phases.time(&phase("scenario: schedule"), || {
        crate::scenario_schedule::run(&container)
    })?;
    if let Some(next) = release.relabel_as {
        phases.time(&phase(&format!("relabelled as Debian {}", next.0)), || {
            crate::scenario_untested::run(&container, release, next)
        })?;
    }
    phases.time(&phase("shutdown"), || container.shutdown())
}

/// SPEC §8's OS upgrade: a Debian 12 device handed over, upgraded in place to Debian 13 from the
/// cached offline repository, powered off and booted again, then found drifted and re-baselined.
fn upgrade_part(args: &Args, bin: &Path, run_dir: &Path, phases: &mut Phases) -> Result<()> {
    let phase = |name: &str| format!("upgrade: {name}");
    let cache = crate::target_dir().join("e2e/cache");
    let guest_root = run_dir.join("root");
    let log = run_dir.join("nspawn.log");
    // --rebuild-cache rebuilds each entry once: the Debian 12 part may have rebuilt this image already.
    let rebuilt = args.parts.contains(&Part::Release(&DEBIAN_12));
    let from = phases.time(&phase("Debian 12 image (cache)"), || {
        image::ensure(&cache, &DEBIAN_12.image, args.rebuild_cache && !rebuilt)
    })?;
    let repo = phases.time(&phase("Debian 13 upgrade repository (cache)"), || {
        upgrade::ensure(
            &cache,
            &from,
            &DEBIAN_12.image,
            DEBIAN_13.image.suite,
            args.rebuild_cache,
        )
    })?;
    eprintln!("upgrade repository: {}", repo.display());
    phases.time(&phase("fresh Debian 12 root and fixture"), || {
        fs::create_dir_all(run_dir)?;
        fresh_root(&from, &guest_root)?;
        apply_fixture(&guest_root, &DEBIAN_12)
    })?;
    let binds = [
        (from.repo.clone(), REPO_GUEST_DIR),
        (repo.clone(), UPGRADE_GUEST_DIR),
    ];
    let c = phases.time(&phase("boot Debian 12"), || {
        boot_with(&guest_root, MACHINE, &log, &binds)
    })?;
    phases.time(&phase(handover_phase(args)), || {
        put_handover(&c, bin, args.deb.as_deref(), &DEBIAN_12)
    })?;
    let handed_over = phases.time(&phase("handover on Debian 12"), || {
        crate::scenario_upgrade::hand_over(&c)
    })?;
    phases.time(&phase("apt upgrade to Debian 13"), || {
        crate::scenario_upgrade::upgrade(&c)
    })?;
    // The Debian 12 repository is not there after the reboot: the device's only source is now the
    // Debian 13 one. The boot takes about 40 s: trixie's clamav-freshclam-once.service, a oneshot the
    // boot waits for, retries its download before it gives up (no network).
    let c = phases.time(&phase("power off, boot Debian 13"), || {
        c.exec_ok("systemctl poweroff --no-block")?;
        c.wait_poweroff(Duration::from_secs(60))?;
        boot_with(&guest_root, MACHINE, &log, &binds[1..])
    })?;
    phases.time(&phase("re-baseline on Debian 13"), || {
        crate::scenario_upgrade::after_upgrade(&c, &handed_over)
    })?;
    phases.time(&phase("shutdown"), || c.shutdown())
}

/// What the cache holds: each complete entry's subdirectories with `du -sh`, and how long the entry
/// took to build (from its `image.json`).
fn cache_costs(cache: &Path) -> Result<String> {
    let mut out = String::from("cache (target/e2e/cache):\n");
    let mut entries: Vec<PathBuf> = fs::read_dir(cache)
        .with_context(|| format!("reading {}", cache.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("image.json").is_file())
        .collect();
    entries.sort();
    for dir in entries {
        let mut parts = Vec::new();
        for sub in ["rootfs", "repo", "kit-builder"] {
            if dir.join(sub).is_dir() {
                parts.push(format!("{sub} {}", du(&dir.join(sub))?));
            }
        }
        let built =
            image::build_seconds(&dir).map_or(String::new(), |s| format!(", built in {s} s"));
        let _ = writeln!(
            out,
            "  {}: {} ({}{built})",
            dir.file_name().unwrap_or_default().to_string_lossy(),
            du(&dir)?,
            parts.join(", "),
        );
    }
    Ok(out)
}

/// `du -sh PATH`'s size.
fn du(path: &Path) -> Result<String> {
    let out = Command::new("du").arg("-sh").arg(path).output()?;
    ensure!(out.status.success(), "du -sh {}", path.display());
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string())
}

/// Replaces `guest_root` with a fresh copy of the image's base system (after
/// ending any container a killed run left booted on it).
pub fn fresh_root(image: &Image, guest_root: &Path) -> Result<()> {
    kill_stale_nspawn(guest_root)?;
    image::remove_tree(guest_root)?;
    image::copy_tree(&image.rootfs, guest_root)
}

/// Applies `e2e/fixture.sh` in a chroot of `guest_root` (not booted): a
/// non-compliant device of `release`.
pub fn apply_fixture(guest_root: &Path, release: &Release) -> Result<()> {
    security_update(guest_root, release)?;
    let fixture = crate::workspace_root().join("e2e/fixture.sh");
    let script = fs::read(&fixture).with_context(|| format!("reading {}", fixture.display()))?;
    let out = chroot_run(
        guest_root,
        "/bin/sh -s",
        &[],
        &script,
        Duration::from_secs(300),
    )?;
    if !out.success() {
        bail!(
            "e2e/fixture.sh failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }
    Ok(())
}

/// The package that plays a pending security update.
pub const PROBE: &str = "handover-e2e-probe";

/// Puts a pending security update on the device: `PROBE` 1.0 in `/srv/e2e` for the fixture to install, and
/// 1.1 in a flat repository at `/srv/security` whose Release file is labelled as the release's security
/// archive (`Debian-Security`, `stable-security`, `<codename>-security`), which is how `apt-get -s` shows
/// a security update.
fn security_update(guest_root: &Path, release: &Release) -> Result<()> {
    let work = crate::target_dir().join("e2e/probe");
    image::remove_tree(&work)?;
    let srv_e2e = guest_root.join("srv/e2e");
    let srv_security = guest_root.join("srv/security");
    fs::create_dir_all(&srv_e2e)?;
    fs::create_dir_all(&srv_security)?;
    for (version, dest) in [("1.0", &srv_e2e), ("1.1", &srv_security)] {
        build_probe(&work.join(version), version, dest)?;
    }
    let packages = Command::new("dpkg-scanpackages")
        .args(["--multiversion", "."])
        .current_dir(&srv_security)
        .output()?;
    if !packages.status.success() {
        bail!(
            "dpkg-scanpackages: {}",
            String::from_utf8_lossy(&packages.stderr)
        );
    }
    fs::write(srv_security.join("Packages"), &packages.stdout)?;
    let sum = Command::new("sha256sum")
        .arg("Packages")
        .current_dir(&srv_security)
        .output()?;
    let sum = String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    fs::write(
        srv_security.join("Release"),
        format!(
            "Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\nCodename: {}-security\nVersion: {}\n\
             Architectures: all amd64\nSHA256:\n {sum} {} Packages\n",
            release.image.suite,
            release.version,
            packages.stdout.len()
        ),
    )?;
    Ok(())
}

/// Builds `PROBE` at `version` in `work` into `dest`.
fn build_probe(work: &Path, version: &str, dest: &Path) -> Result<()> {
    fs::create_dir_all(work.join("DEBIAN"))?;
    fs::create_dir_all(work.join(format!("usr/share/doc/{PROBE}")))?;
    fs::write(
        work.join("DEBIAN/control"),
        format!(
            "Package: {PROBE}\nVersion: {version}\nArchitecture: all\nMaintainer: handover e2e <e2e@localhost>\n\
             Description: plays a package with a security update waiting\n"
        ),
    )?;
    fs::write(work.join(format!("usr/share/doc/{PROBE}/version")), version)?;
    let deb = dest.join(format!("{PROBE}_{version}_all.deb"));
    let out = Command::new("dpkg-deb")
        .arg("--root-owner-group")
        .arg("--build")
        .arg(work)
        .arg(&deb)
        .output()?;
    if !out.status.success() {
        bail!(
            "dpkg-deb --build {}: {}",
            work.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Boots `guest_root` as `machine` with the image's local repository at
/// [`REPO_GUEST_DIR`] (read-only), the console going to `log`.
pub fn boot_device(
    image: &Image,
    guest_root: &Path,
    machine: &str,
    log: &Path,
) -> Result<Container> {
    boot_with(
        guest_root,
        machine,
        log,
        &[(image.repo.clone(), REPO_GUEST_DIR)],
    )
}

/// Boots `guest_root` as `machine` with `binds` (host directory, guest path) read-only, the console
/// going to `log`.
pub fn boot_with(
    guest_root: &Path,
    machine: &str,
    log: &Path,
    binds: &[(PathBuf, &str)],
) -> Result<Container> {
    let mut opts = BootOptions::new(guest_root, machine);
    for (host, guest) in binds {
        opts.bind_ro.push((host.clone(), (*guest).to_string()));
    }
    opts.log = log.to_path_buf();
    Container::boot(&opts)
}

fn handover_phase(args: &Args) -> &'static str {
    if args.deb.is_some() {
        "apt install the .deb"
    } else {
        "copy in"
    }
}

/// The binary under test in the device: copied in ([`install_handover`]) or installed from the
/// package ([`install_deb`]).
fn put_handover(c: &Container, bin: &Path, deb: Option<&Path>, release: &Release) -> Result<()> {
    match deb {
        None => install_handover(c, bin),
        Some(deb) => install_deb(c, deb, release),
    }
}

/// `dpkg-deb -x` of the package into `dir` (fresh); its /usr/bin/handover.
fn extract_deb_binary(deb: &Path, dir: &Path) -> Result<PathBuf> {
    image::remove_tree(dir)?;
    fs::create_dir_all(dir)?;
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(dir)
        .output()
        .context("running dpkg-deb -x")?;
    ensure!(
        out.status.success(),
        "dpkg-deb -x {}: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = dir.join("usr/bin/handover");
    ensure!(bin.is_file(), "{} has no /usr/bin/handover", deb.display());
    Ok(bin)
}

/// Installs the .deb as a technician would (`apt install ./FILE`, offline: what it depends on must
/// already be on the device, which apt's simulation shows first), then
/// checks the package: every path `cargo xtask dist` ships listed by `dpkg -L`, /etc/handover 0700
/// root's, no unit installed or enabled, the installed binary, man page, completion and example site.
/// The scenarios name the binary under test [`GUEST_BIN`] (/usr/local/sbin/handover; the schedule
/// scenario asserts the units name that path), so it becomes a hard link to /usr/bin/handover: the
/// same inode, the package's file, asserted.
pub fn install_deb(c: &Container, deb: &Path, release: &Release) -> Result<()> {
    let name = deb
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.ends_with(".deb") && !n.contains(['\'', ' ']))
        .with_context(|| format!("{}: not a plainly named .deb", deb.display()))?;
    let guest_deb = format!("/tmp/{name}");
    c.copy_in(deb, &guest_deb)?;
    // Offline, as on a device without a mirror: apt may install the package and nothing else.
    // (`--no-download` cannot be used: apt then refuses the local file.)
    let plan = step(c, &format!("cd /tmp && {APT} --simulate install ./{name}"))?;
    let installs: Vec<&str> = plan.lines().filter(|l| l.starts_with("Inst ")).collect();
    ensure!(
        installs.len() == 1 && installs[0].starts_with("Inst handover "),
        "apt install ./{name} would install more than the package (its Depends are not on the device): {installs:?}"
    );
    step(c, &format!("cd /tmp && {APT} install ./{name}"))?;
    let listed = step(c, "dpkg -L handover")?;
    let listed: Vec<&str> = listed.lines().collect();
    let missing: Vec<&&str> = crate::dist::DEB_PATHS
        .iter()
        .filter(|p| !listed.contains(p))
        .collect();
    ensure!(
        missing.is_empty(),
        "dpkg -L handover does not list {missing:?}"
    );
    let mode = step(c, "stat -c '%a %U %G %F' /etc/handover")?;
    ensure!(
        mode.trim() == "700 root root directory",
        "/etc/handover after apt install: {mode}"
    );
    step(
        c,
        "test \"$(command -v handover)\" = /usr/bin/handover && handover --version \
         && zcat /usr/share/man/man1/handover.1.gz | grep -q '^.TH handover 1' \
         && bash -c '. /usr/share/bash-completion/completions/handover && complete -p handover'",
    )?;
    // Shipped disabled: nothing in /etc/systemd or /lib/systemd, no timer known to systemd.
    step(
        c,
        "! ls /etc/systemd/system/handover-* /lib/systemd/system/handover-* 2>/dev/null \
         && ! systemctl is-enabled handover-check.timer 2>/dev/null",
    )?;
    // The example is `site init`'s output: refused (exit 2) until its placeholders are filled in.
    let example = c.exec(&format!(
        "handover site validate /usr/share/doc/handover/examples/site.toml.example --profile {}",
        release.profile
    ))?;
    ensure!(
        example.status.code() == Some(2) && example.stderr.contains("still holds the placeholder"),
        "site validate of the example site: {:?}\n{}{}",
        example.status,
        example.stdout,
        example.stderr
    );
    step(
        c,
        &format!(
            "rm -f {guest_deb} && ln -f /usr/bin/handover {GUEST_BIN} && test /usr/bin/handover -ef {GUEST_BIN}"
        ),
    )?;
    test_hooks_and_standin(c)
}

/// Copies the handover binary in as [`GUEST_BIN`] and the LsAgent stand-in as
/// [`GUEST_LSAGENT`].
pub fn install_handover(c: &Container, bin: &Path) -> Result<()> {
    c.copy_in(bin, GUEST_BIN)?;
    test_hooks_and_standin(c)
}

/// The test-hooks marker and the LsAgent stand-in as [`GUEST_LSAGENT`].
fn test_hooks_and_standin(c: &Container) -> Result<()> {
    // The release binary honours HANDOVER_NOW (the scenarios pin the clock) only where root made this
    // marker: a device's own environment cannot switch the test hooks on (F13).
    let marker = c.exec(
        "mkdir -p /etc/handover && install -o root -m 0644 /dev/null /etc/handover/test-hooks",
    )?;
    ensure!(
        marker.success(),
        "creating the test-hooks marker: {}",
        marker.stderr
    );
    c.copy_in(
        &crate::workspace_root().join("e2e/lsagent-standin.sh"),
        GUEST_LSAGENT,
    )
}

/// `handover kit build` as a technician would run it on a connected machine of the device's release:
/// the LsAgent stand-in as the kit's installer and the release's package repository (the baseline's
/// packages and their dependencies, downloaded by that machine's apt). A release the host runs is built
/// on the host; another one in a chroot of the release's kit builder (`image::ensure_kit_builder`),
/// since apt resolves against its own release's archive. Then `kit verify` on the host, and the kit is
/// copied into the device as [`GUEST_KIT`], where the scenario installs from it with no package source.
fn build_kit(
    bin: &Path,
    run_dir: &Path,
    c: &Container,
    release: &Release,
    image: &Image,
) -> Result<()> {
    let work = run_dir.join("kit-build");
    let kit = work.join("kit");
    image::remove_tree(&kit)?;
    kit_inputs(bin, &work)?;
    // Absolute paths: handover gives `--out` to apt as its archive directory, which apt takes
    // relative to /var/cache/apt.
    let args = |dir: &str| -> Vec<String> {
        let mut args: Vec<String> = ["kit", "build", "--profile", release.profile]
            .map(String::from)
            .into();
        for (flag, name) in [
            ("--out", "kit"),
            ("--site", "kit-site.toml"),
            ("--cache", "kit-cache"),
        ] {
            args.push(flag.to_string());
            args.push(format!("{dir}/{name}"));
        }
        args
    };
    if image::host_codename().as_deref() == Some(release.image.suite) {
        println!("kit build on the host (it runs {})", release.image.suite);
        let work = fs::canonicalize(&work)?;
        let out = Command::new(work.join("handover"))
            .args(args(&work.to_string_lossy()))
            .output()
            .context("handover kit build")?;
        print!("{}", String::from_utf8_lossy(&out.stdout));
        ensure!(
            out.status.success(),
            "handover kit build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        println!(
            "kit build in a chroot of a connected {} machine (the host runs {})",
            release.image.suite,
            image::host_codename().unwrap_or_default()
        );
        let builder = image::ensure_kit_builder(image, &release.image)?;
        let out = chroot_ok(
            &builder,
            &format!(
                "set -e; apt-get -q update >/dev/null; /e2e-kit/handover {}; rm -f /var/cache/apt/*.bin",
                args("/e2e-kit").join(" ")
            ),
            &[(&work, "/e2e-kit", false)],
            LONG,
        )?;
        print!("{out}");
    }
    let out = Command::new(bin)
        .arg("kit")
        .arg("verify")
        .arg(&kit)
        .output()?;
    ensure!(
        out.status.success(),
        "kit verify on the host: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    ensure!(
        kit.join(format!("repo/{}/Packages.gz", release.profile))
            .is_file(),
        "the kit has no {} package repository",
        release.profile
    );
    c.copy_in(&kit, GUEST_KIT)
}

/// What `kit build` reads, in `work`: the binary, the LsAgent stand-in and a site that pins it by its
/// sha256 (its url relative to the site, so that the same site serves on the host and in a chroot).
fn kit_inputs(bin: &Path, work: &Path) -> Result<()> {
    fs::create_dir_all(work)?;
    fs::copy(bin, work.join("handover")).with_context(|| format!("copying {}", bin.display()))?;
    let standin = work.join("lsagent-standin.sh");
    fs::copy(
        crate::workspace_root().join("e2e/lsagent-standin.sh"),
        &standin,
    )?;
    let out = Command::new("sha256sum")
        .arg(&standin)
        .output()
        .context("sha256sum")?;
    ensure!(out.status.success(), "sha256sum {}", standin.display());
    let sha = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    fs::write(
        work.join("kit-site.toml"),
        format!("[artifacts.lsagent-linux]\nurl = \"lsagent-standin.sh\"\nsha256 = \"{sha}\"\n"),
    )?;
    Ok(())
}

pub fn build_release(root: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "handover"])
        .current_dir(root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p handover failed ({status})");
    }
    Ok(())
}

pub fn is_root() -> bool {
    // /proc/self/status: "Uid:\treal\teffective\t..."
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Runs `script`, prints it and the last lines of its output, fails unless it
/// exits 0.
fn step(c: &Container, script: &str) -> Result<String> {
    println!("$ {script}");
    let out = c.exec(script)?;
    let text = format!("{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() > 20 {
        println!("  ... ({} lines)", lines.len() - 20);
    }
    for line in &lines[lines.len().saturating_sub(20)..] {
        println!("  {line}");
    }
    println!(
        "  [exit {} in {:.1}s]",
        out.status.code().map_or("signal".into(), |c| c.to_string()),
        out.elapsed.as_secs_f64()
    );
    if !out.success() {
        bail!(
            "step failed ({}): {script}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }
    Ok(out.stdout)
}

const APT: &str = "DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=120";

/// A smoke test of the container infrastructure (kept for `cargo xtask e2e --smoke`): the fixture took, the local repository serves every
/// package offline, netfilter works in the private network namespace, the
/// LsAgent stand-in works.
pub fn smoke(c: &Container) -> Result<()> {
    step(
        c,
        "systemctl is-system-running; hostname; cat /etc/machine-id",
    )?;
    let root = step(c, "passwd -S root")?;
    if root.split_whitespace().nth(1) != Some("P") {
        bail!("the fixture should give root a password: {root}");
    }
    let prl = step(c, "sshd -T | grep -i permitrootlogin")?;
    if prl.trim() != "permitrootlogin yes" {
        bail!("the fixture should permit root login: {prl}");
    }
    step(c, "id jdoe; id mallory; id guest; passwd -S guest")?;
    step(c, "cat /etc/apt/sources.list; apt-cache policy ufw")?;
    step(c, &format!("{APT} install ufw"))?;
    step(
        c,
        "ufw --force enable && ufw status verbose && iptables -S INPUT",
    )?;
    step(
        c,
        &format!("{APT} install clamav-daemon openfortivpn unattended-upgrades libpam-pwquality"),
    )?;
    step(c, "dpkg-query -W ufw clamav clamav-daemon clamav-freshclam openfortivpn unattended-upgrades libpam-pwquality iptables nftables sudo")?;
    step(c, "systemctl is-active ssh")?;
    step(
        c,
        &format!(
            "{GUEST_LSAGENT} --server lansweeper.example --port 9524 --agentkey e2e-key --mode unattended \
             && stat -c '%a %n' /opt/LansweeperAgent/LsAgent.ini && cat /opt/LansweeperAgent/LsAgent.ini \
             && systemctl is-active LansweeperAgent.service && cat /var/log/lsagent-standin.runs"
        ),
    )?;
    step(
        c,
        &format!("ls -l {GUEST_BIN}; {GUEST_BIN} --version || true"),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    /// Boots a copy of the cached base (built if missing) in
    /// target/e2e/test-NAME, apart from the e2e run's root and the other
    /// tests' (they run in parallel).
    fn boot_test_container(name: &str) -> Container {
        let e2e_dir = crate::target_dir().join("e2e");
        // One build at a time: builds in one process share a temp dir name.
        static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let image = {
            let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
            image::ensure(&e2e_dir.join("cache"), &IMAGE, false).unwrap()
        };
        let root = e2e_dir.join(format!("test-{name}"));
        kill_stale_nspawn(&root).unwrap();
        image::remove_tree(&root).unwrap();
        image::copy_tree(&image.rootfs, &root).unwrap();
        let mut opts = BootOptions::new(&root, &format!("xtask-{name}"));
        opts.bind_ro
            .push((image.repo.clone(), REPO_GUEST_DIR.to_string()));
        Container::boot(&opts).unwrap()
    }

    fn alive(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    #[ignore = "needs root, debootstrap and systemd-nspawn: cargo test -p xtask -- --ignored"]
    fn container_api() {
        let c = boot_test_container("api");
        let nspawn = c.nspawn_pid().unwrap();

        // A clean environment, in the container's namespaces.
        let env = c.exec_ok("env | sort").unwrap();
        assert!(
            env.contains("HOME=/root\n") && env.contains("LANG=C.UTF-8\n"),
            "{env}"
        );
        assert!(!env.contains("CARGO"), "{env}");
        assert_eq!(c.exec_ok("hostname").unwrap(), "xtask-api\n");
        assert_eq!(
            c.exec_ok("ip -o link | wc -l").unwrap().trim(),
            "1",
            "only lo"
        );
        assert!(c
            .exec_ok("test -f /srv/repo/Packages && ! touch /srv/repo/x")
            .is_ok());

        // Failures tell what failed.
        let err = format!(
            "{:#}",
            c.exec_ok("echo out; echo err >&2; exit 4").unwrap_err()
        );
        assert!(
            err.contains("exit status: 4") && err.contains("out") && err.contains("err"),
            "{err}"
        );

        // A timeout kills the command inside the container.
        let err = c
            .exec_timeout("sleep 60; echo never", Duration::from_secs(1))
            .unwrap_err();
        assert!(format!("{err:#}").contains("timed out"), "{err:#}");
        assert!(
            c.exec_ok("! pgrep -x sleep").is_ok(),
            "sleep survived the timeout"
        );

        // copy_in: a file keeps its mode, a directory its contents.
        let tmp = crate::target_dir().join("e2e/test-copy");
        image::remove_tree(&tmp).unwrap();
        fs::create_dir_all(tmp.join("dir/sub")).unwrap();
        fs::write(tmp.join("dir/sub/a"), "A").unwrap();
        fs::write(tmp.join("tool"), "#!/bin/sh\necho tool ran\n").unwrap();
        Command::new("chmod")
            .arg("750")
            .arg(tmp.join("tool"))
            .status()
            .unwrap();
        c.copy_in(&tmp.join("tool"), "/usr/local/bin/my tool")
            .unwrap();
        c.copy_in(&tmp.join("dir"), "/opt/d").unwrap();
        assert_eq!(
            c.exec_ok("stat -c %a '/usr/local/bin/my tool' && 'my tool'")
                .unwrap(),
            "750\ntool ran\n"
        );
        assert_eq!(c.exec_ok("cat /opt/d/sub/a").unwrap(), "A");

        // A panic while the container runs powers it off (Drop).
        let result = catch_unwind(AssertUnwindSafe(move || {
            let _c = c;
            panic!("test panic");
        }));
        assert!(result.is_err());
        assert!(!alive(nspawn), "nspawn {nspawn} outlived the panic");
    }

    #[test]
    #[ignore = "needs root, debootstrap and systemd-nspawn: cargo test -p xtask -- --ignored"]
    fn shutdown_after_poweroff_from_inside() {
        let c = boot_test_container("poweroff");
        let nspawn = c.nspawn_pid().unwrap();
        c.exec_ok("systemctl poweroff --no-block").unwrap();
        c.wait_poweroff(Duration::from_secs(30)).unwrap();
        assert!(!alive(nspawn));
    }
}
