//! `cargo xtask e2e`: the end-to-end test on a real Debian 12 system booted
//! with systemd as PID 1 (SPEC section 8).
//!
//! Phases:
//! 1. build the release binary (`cargo build --release -p handover`);
//! 2. make sure the cached base image exists (`image.rs`: debootstrap +
//!    local apt repository, built once under `target/e2e/cache/`);
//! 3. copy the base to a fresh `target/e2e/run/root`;
//! 4. apply `e2e/fixture.sh` in a chroot of it (a non-compliant device);
//! 5. boot it with systemd-nspawn (private network, local repo at /srv/repo);
//! 6. copy the binary in as /usr/local/sbin/handover and run the scenario;
//! 7. power it off.
//!
//! Must run as root (debootstrap, chroot, nspawn, nsenter).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::container::{chroot_run, kill_stale_nspawn, BootOptions, Container};
use crate::image::{self, Image, ImageSpec, REPO_GUEST_DIR};

/// The device under test.
pub const IMAGE: ImageSpec = ImageSpec {
    name: "bookworm-e2e",
    suite: "bookworm",
    include: &[
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
    ],
    // What the baseline installs, with all their dependencies the base lacks.
    repo_packages: &[
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
        // Not the baseline's: what `cargo xtask bench` installs in its device (the Ansible check it
        // compares with, python3-apt for Ansible's apt module, GNU time for peak RSS).
        "ansible-core",
        "python3-apt",
        "time",
    ],
};

pub const MACHINE: &str = "e2e-device";

/// Where the binary under test is installed in the device.
pub const GUEST_BIN: &str = "/usr/local/sbin/handover";

/// Where the LsAgent installer stand-in is put in the device.
pub const GUEST_LSAGENT: &str = "/root/LsAgent-linux-x64.run";
/// The offline kit `handover kit build` made on the host, copied into the device.
pub const GUEST_KIT: &str = "/root/kit";

struct Args {
    smoke: bool,
    rebuild_cache: bool,
    build: bool,
    bin: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut parsed = Args {
        smoke: false,
        rebuild_cache: false,
        build: true,
        bin: None,
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
            other => bail!("cargo xtask e2e: unknown argument {other:?}"),
        }
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
            let _ = writeln!(s, "  {name:<28} {:>7.1}s", d.as_secs_f64());
            total += *d;
        }
        let _ = writeln!(s, "  {:<28} {:>7.1}s", "total", total.as_secs_f64());
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
    result
}

fn run(args: &Args, phases: &mut Phases) -> Result<()> {
    let root_dir = crate::workspace_root();
    let e2e_dir = crate::target_dir().join("e2e");
    let run_dir = e2e_dir.join("run");
    let guest_root = run_dir.join("root");

    let bin = match &args.bin {
        Some(bin) => bin.clone(),
        None => crate::target_dir().join("release/handover"),
    };
    if args.build {
        phases.time("cargo build --release", || build_release(&root_dir))?;
    }
    if !bin.is_file() {
        bail!("no handover binary at {}", bin.display());
    }

    let image = phases.time("base image (cache)", || {
        image::ensure(&e2e_dir.join("cache"), &IMAGE, args.rebuild_cache)
    })?;

    eprintln!("base image: {}", image.dir.display());

    phases.time("fresh root from cache", || {
        fs::create_dir_all(&run_dir)?;
        fresh_root(&image, &guest_root)
    })?;

    phases.time("fixture", || apply_fixture(&guest_root))?;

    let container = phases.time("boot", || {
        boot_device(&image, &guest_root, MACHINE, &run_dir.join("nspawn.log"))
    })?;
    eprintln!(
        "container booted: systemd is pid {} (console log: {})",
        container.pid(),
        container.log_path().display()
    );

    phases.time("copy in", || install_handover(&container, &bin))?;
    if !args.smoke {
        phases.time("kit build (host) and copy in", || {
            build_kit(&bin, &run_dir, &container)
        })?;
    }

    phases.time("scenario", || {
        if args.smoke {
            smoke(&container)
        } else {
            crate::scenario::run(&container)
        }
    })?;
    if !args.smoke {
        phases.time("scenario: schedule", || {
            crate::scenario_schedule::run(&container)
        })?;
    }

    phases.time("shutdown", || container.shutdown())?;
    Ok(())
}

/// Replaces `guest_root` with a fresh copy of the image's base system (after
/// ending any container a killed run left booted on it).
pub fn fresh_root(image: &Image, guest_root: &Path) -> Result<()> {
    kill_stale_nspawn(guest_root)?;
    image::remove_tree(guest_root)?;
    image::copy_tree(&image.rootfs, guest_root)
}

/// Applies `e2e/fixture.sh` in a chroot of `guest_root` (not booted): a
/// non-compliant device.
pub fn apply_fixture(guest_root: &Path) -> Result<()> {
    security_update(guest_root)?;
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
/// 1.1 in a flat repository at `/srv/security` whose Release file is labelled as Debian's security archive
/// (`Debian-Security`, `stable-security`), which is how `apt-get -s` shows a security update.
fn security_update(guest_root: &Path) -> Result<()> {
    let work = crate::target_dir().join("e2e/probe");
    image::remove_tree(&work)?;
    let srv_e2e = guest_root.join("srv/e2e");
    let srv_security = guest_root.join("srv/security");
    fs::create_dir_all(&srv_e2e)?;
    fs::create_dir_all(&srv_security)?;
    for (version, dest) in [("1.0", &srv_e2e), ("1.1", &srv_security)] {
        let pkg = work.join(version);
        fs::create_dir_all(pkg.join("DEBIAN"))?;
        fs::create_dir_all(pkg.join(format!("usr/share/doc/{PROBE}")))?;
        fs::write(
            pkg.join("DEBIAN/control"),
            format!(
                "Package: {PROBE}\nVersion: {version}\nArchitecture: all\nMaintainer: handover e2e <e2e@localhost>\n\
                 Description: plays a package with a security update waiting\n"
            ),
        )?;
        fs::write(pkg.join(format!("usr/share/doc/{PROBE}/version")), version)?;
        let deb = dest.join(format!("{PROBE}_{version}_all.deb"));
        let out = Command::new("dpkg-deb")
            .arg("--root-owner-group")
            .arg("--build")
            .arg(&pkg)
            .arg(&deb)
            .output()?;
        if !out.status.success() {
            bail!(
                "dpkg-deb --build {}: {}",
                pkg.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
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
            "Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\nCodename: bookworm-security\nVersion: 12\n\
             Architectures: all amd64\nSHA256:\n {sum} {} Packages\n",
            packages.stdout.len()
        ),
    )?;
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
    let mut opts = BootOptions::new(guest_root, machine);
    opts.bind_ro
        .push((image.repo.clone(), REPO_GUEST_DIR.to_string()));
    opts.log = log.to_path_buf();
    Container::boot(&opts)
}

/// Copies the handover binary in as [`GUEST_BIN`] and the LsAgent stand-in as
/// [`GUEST_LSAGENT`].
pub fn install_handover(c: &Container, bin: &Path) -> Result<()> {
    c.copy_in(bin, GUEST_BIN)?;
    c.copy_in(
        &crate::workspace_root().join("e2e/lsagent-standin.sh"),
        GUEST_LSAGENT,
    )
}

/// `handover kit build` on the host, as a technician would on a connected machine: the LsAgent stand-in
/// as the kit's installer and the debian-12 package repository (the baseline's packages and their
/// dependencies, downloaded by the host's apt); then `kit verify` on the host and the kit copied into
/// the device as [`GUEST_KIT`], where the scenario installs from it with no package source.
fn build_kit(bin: &Path, run_dir: &Path, c: &Container) -> Result<()> {
    let kit = run_dir.join("kit");
    if kit.exists() {
        fs::remove_dir_all(&kit)?;
    }
    let standin = crate::workspace_root().join("e2e/lsagent-standin.sh");
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
    let site = run_dir.join("kit-site.toml");
    fs::write(
        &site,
        format!(
            "[artifacts.lsagent-linux]\nurl = \"{}\"\nsha256 = \"{sha}\"\n",
            standin.display()
        ),
    )?;
    let out = Command::new(bin)
        .args(["kit", "build", "--profile", "debian-12", "--out"])
        .arg(&kit)
        .arg("--site")
        .arg(&site)
        .arg("--cache")
        .arg(run_dir.join("kit-cache"))
        .output()
        .context("handover kit build")?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    ensure!(
        out.status.success(),
        "handover kit build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        kit.join("repo/debian-12/Packages.gz").is_file(),
        "the kit has no debian-12 package repository"
    );
    c.copy_in(&kit, GUEST_KIT)
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
