//! A Debian system booted with systemd as PID 1 in `systemd-nspawn`, driven
//! from the host with `nsenter`.
//!
//! Used by `cargo xtask e2e` and `cargo xtask bench`. The API is small:
//!
//! * [`Container::boot`] starts `systemd-nspawn --boot` on a root directory in
//!   the background and waits until the container's systemd reports `running`
//!   or `degraded`;
//! * [`Container::exec`] / [`Container::exec_ok`] run a shell script inside
//!   (all namespaces of the container's PID 1, clean environment, timeout);
//! * [`Container::copy_in`] copies a host file or directory into the container;
//! * [`Container::shutdown`] (or `Drop`) powers the container off and waits for
//!   `systemd-nspawn` to exit, so no container is left behind even when the
//!   caller returns an error or panics.
//!
//! [`chroot_run`] runs a script in a chroot of a root directory that is *not*
//! booted (used to build the base system and to apply fixtures before boot).
//!
//! # No process left behind
//!
//! * `Drop` stops the container (SIGTERM to nspawn = orderly halt; after
//!   `shutdown_timeout` the container's PID 1 and nspawn are SIGKILLed), so an
//!   error or a panic (with unwinding) leaves nothing running.
//! * If this process dies without unwinding (SIGKILL, Ctrl-C), every helper
//!   it started goes too: nspawn runs under `setpriv --pdeathsig TERM` (it
//!   then halts the container, or kills it at a second signal), nsenter and
//!   the chroot's unshare under `setpriv --pdeathsig KILL` (unshare with
//!   `--kill-child`, taking its PID namespace along). Checked by killing
//!   `cargo xtask e2e` with SIGKILL and with SIGINT mid-scenario.
//! * [`Container::boot`] first ends any nspawn still running on the same root
//!   (left by a run killed in a way none of the above covers).
//!
//! # Host notes (measured on the project's machines, Debian 12, systemd 252)
//!
//! * The host does not run systemd (PID 1 is the sandbox's own init) and mounts
//!   cgroups in the *hybrid* layout: cgroup v1 controllers plus the v1
//!   `name=systemd` hierarchy under `/sys/fs/cgroup` (a tmpfs), and cgroup2 at
//!   `/sys/fs/cgroup/unified`. `systemd-nspawn` detects that layout and gives
//!   the container the same hybrid layout; systemd 252 inside boots fine in it
//!   (`systemctl is-system-running` says `running`, no failed unit, in about
//!   0.3 s). So no `SYSTEMD_NSPAWN_UNIFIED_HIERARCHY`, `--private-users` or
//!   other override is set. `SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1` (a cgroup2
//!   `/sys/fs/cgroup` in the container, as on a real Debian 12 device) was
//!   tried and boots to `running` too; nspawn inherits the environment, so it
//!   can be set when running xtask if a test ever needs the unified layout.
//!   Debian 13's systemd 257 (which deprecates cgroup v1) boots to `running` in
//!   the same hybrid layout, from a fresh trixie base and after an in-place
//!   upgrade from bookworm alike.
//! * The host's capability bounding set lacks `CAP_SYS_RESOURCE`, so nspawn
//!   prints "Some capabilities will not be set because they are not in the
//!   current bounding set"; nothing the tests use needs it.
//! * Inside, systemd prints "Failed to create symlink /sys/fs/cgroup/cpu...":
//!   harmless, the v1 controller directories already exist.
//! * With `--register=no` and no systemd on the host, nspawn prints at exit
//!   "Attempted to remove disk file system under /run/systemd/nspawn/propagate/
//!   ..., and we can't allow that" because the host's /run is not a tmpfs:
//!   harmless, it only means the (empty) propagation directory stays.
//! * Netfilter (nf_tables, xtables, conntrack) is built into the host kernel, so
//!   `ufw`/`iptables`/`nft` work inside the container's private network
//!   namespace without loading modules, and never touch the host's rules.

#![allow(dead_code)] // A reusable API: not every command uses all of it.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// PATH given to every command run inside the container or the chroot.
pub const GUEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Default timeout of [`Container::exec`] and [`Container::exec_ok`].
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(300);

/// How to boot a container.
#[derive(Debug, Clone)]
pub struct BootOptions {
    /// Root directory of the container (a full Debian system with systemd).
    pub root: PathBuf,
    /// Machine name given to nspawn (`--machine`), also the hostname it sets.
    pub machine: String,
    /// Read-only bind mounts: (host path, guest path).
    pub bind_ro: Vec<(PathBuf, String)>,
    /// Read-write bind mounts: (host path, guest path).
    pub bind_rw: Vec<(PathBuf, String)>,
    /// File that receives nspawn's stdout and stderr (the container console).
    pub log: PathBuf,
    /// How long to wait for `systemctl is-system-running` to say `running` or
    /// `degraded`.
    pub boot_timeout: Duration,
    /// How long [`Container::shutdown`] waits for an orderly poweroff before it
    /// kills the container.
    pub shutdown_timeout: Duration,
}

impl BootOptions {
    /// Options with the defaults used by the e2e run: private network, 90 s boot
    /// timeout, 30 s shutdown timeout, log next to the root directory.
    pub fn new(root: impl Into<PathBuf>, machine: &str) -> Self {
        let root = root.into();
        let log = root.with_extension("nspawn.log");
        BootOptions {
            root,
            machine: machine.to_string(),
            bind_ro: Vec::new(),
            bind_rw: Vec::new(),
            log,
            boot_timeout: Duration::from_secs(90),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Result of a command run in the container (or a chroot).
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Exit code, or `None` if the command was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// A booted container. Powered off on [`Container::shutdown`] or on drop.
#[derive(Debug)]
pub struct Container {
    nspawn: Option<Child>,
    pid: u32,
    root: PathBuf,
    log: PathBuf,
    shutdown_timeout: Duration,
}

impl Container {
    /// Boots `opts.root` with `systemd-nspawn --boot --private-network
    /// --register=no --keep-unit` in the background and waits until the
    /// container's systemd is `running` or `degraded`.
    ///
    /// nspawn is started under `setpriv --pdeathsig TERM`: if this process dies
    /// without running `Drop` (SIGKILL, ...), nspawn gets SIGTERM, which it turns
    /// into an orderly shutdown of the container. The death signal fires when
    /// the *thread* that called `boot` exits, so boot from a thread that
    /// outlives the container (the main thread, or the test's own thread).
    pub fn boot(opts: &BootOptions) -> Result<Container> {
        let root = fs::canonicalize(&opts.root)
            .with_context(|| format!("container root {}", opts.root.display()))?;
        if !root.join("sbin/init").exists() && !root.join("usr/lib/systemd/systemd").exists() {
            bail!(
                "{} does not look like a system with systemd",
                root.display()
            );
        }
        kill_stale_nspawn(&root)?;

        if let Some(dir) = opts.log.parent() {
            fs::create_dir_all(dir)?;
        }
        let log = fs::File::create(&opts.log)
            .with_context(|| format!("creating {}", opts.log.display()))?;
        let log_err = log.try_clone()?;

        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "TERM", "--", "systemd-nspawn"])
            .args([
                "--boot",
                "--private-network",
                "--register=no",
                "--keep-unit",
            ])
            // The console goes to the log file; nspawn would pick read-only on
            // its own since stdin is not a TTY, say it to be explicit.
            .arg("--console=read-only")
            .arg("-D")
            .arg(&root)
            .arg(format!("--machine={}", opts.machine));
        for (host, guest) in &opts.bind_ro {
            cmd.arg(format!("--bind-ro={}:{guest}", canonical(host)?.display()));
        }
        for (host, guest) in &opts.bind_rw {
            cmd.arg(format!("--bind={}:{guest}", canonical(host)?.display()));
        }
        cmd.stdin(Stdio::null()).stdout(log).stderr(log_err);
        let child = cmd
            .spawn()
            .context("starting systemd-nspawn (is systemd-container installed?)")?;

        let mut container = Container {
            pid: 0,
            nspawn: Some(child),
            root,
            log: opts.log.clone(),
            shutdown_timeout: opts.shutdown_timeout,
        };
        // From here on, an error drops `container`, which stops nspawn.
        container.wait_booted(opts.boot_timeout)?;
        Ok(container)
    }

    fn wait_booted(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let nspawn_pid = self.nspawn.as_ref().map(Child::id).unwrap_or_default();
        // 1. nspawn forks the container's init, which execs systemd: find that
        //    child of the nspawn process once its comm is `systemd`.
        loop {
            self.check_nspawn_alive()?;
            if let Some(pid) = find_child(nspawn_pid, "systemd") {
                self.pid = pid;
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "the container's systemd did not start within {timeout:?}\n{}",
                    self.log_tail(40)
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
        // 2. Ask systemd until it answers: the first calls fail while its bus
        //    socket does not exist yet.
        let mut last = String::new();
        loop {
            self.check_nspawn_alive()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!(
                    "the container did not finish booting within {timeout:?} \
                     (last answer of systemctl is-system-running: {last:?})\n{}",
                    self.log_tail(40)
                );
            }
            match self.exec_timeout("systemctl is-system-running --wait", left) {
                Ok(out) => {
                    let state = out.stdout.trim().to_string();
                    match state.as_str() {
                        "running" => return Ok(()),
                        "degraded" => {
                            let failed = self
                                .exec("systemctl --failed --no-legend --plain --no-pager")
                                .map(|o| o.stdout)
                                .unwrap_or_default();
                            eprintln!("container booted degraded; failed units:\n{failed}");
                            return Ok(());
                        }
                        _ => last = format!("{state} {}", out.stderr.trim()),
                    }
                }
                Err(e) => last = format!("{e:#}"),
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    fn check_nspawn_alive(&mut self) -> Result<()> {
        let child = self
            .nspawn
            .as_mut()
            .ok_or_else(|| anyhow!("the container was shut down"))?;
        if let Some(status) = child.try_wait()? {
            self.nspawn = None;
            bail!("systemd-nspawn exited ({status})\n{}", self.log_tail(40));
        }
        Ok(())
    }

    /// PID (in the host's PID namespace) of the container's systemd.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// PID of the systemd-nspawn process, while it runs.
    pub fn nspawn_pid(&self) -> Option<u32> {
        self.nspawn.as_ref().map(Child::id)
    }

    /// Root directory of the container on the host.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds the container's console output.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the console log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Runs `script` with `/bin/sh -c` in all namespaces of the container's
    /// PID 1, with a clean environment (PATH, HOME=/root, LANG=C.UTF-8) and
    /// [`DEFAULT_EXEC_TIMEOUT`]. A non-zero exit is not an error here.
    pub fn exec(&self, script: &str) -> Result<Output> {
        self.exec_timeout(script, DEFAULT_EXEC_TIMEOUT)
    }

    /// [`Container::exec`] with an explicit timeout. On timeout the command and
    /// everything it started in its process group is killed and an error is
    /// returned.
    pub fn exec_timeout(&self, script: &str, timeout: Duration) -> Result<Output> {
        self.exec_input(script, &[], timeout)
    }

    /// [`Container::exec_timeout`] with `input` fed to the script's stdin.
    pub fn exec_input(&self, script: &str, input: &[u8], timeout: Duration) -> Result<Output> {
        if self.pid == 0 || self.nspawn.is_none() {
            bail!("the container is not running");
        }
        // setpriv --pdeathsig KILL: if this process dies mid-command, nsenter
        // must not outlive it. nsenter forks into the container's PID
        // namespace and, when that child is stopped, stops itself too (to
        // pass job control on); systemd-shutdown SIGSTOPs every process
        // before it SIGTERMs them, so an orphaned nsenter would stay stopped
        // forever, holding its zombie child and the container's shutdown.
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--", "nsenter", "-t"])
            .arg(self.pid.to_string())
            .arg("-a");
        cmd.args(["/bin/sh", "-c", script]);
        guest_env(&mut cmd);
        run_with_timeout(cmd, input, timeout).with_context(|| format!("in container: {script}"))
    }

    /// Runs `script` like [`Container::exec`] and fails unless it exits 0; the
    /// error shows the script, its status, stdout and stderr. Returns stdout.
    pub fn exec_ok(&self, script: &str) -> Result<String> {
        self.exec_ok_timeout(script, DEFAULT_EXEC_TIMEOUT)
    }

    /// [`Container::exec_ok`] with an explicit timeout.
    pub fn exec_ok_timeout(&self, script: &str, timeout: Duration) -> Result<String> {
        let out = self.exec_timeout(script, timeout)?;
        check_ok(script, out)
    }

    /// Copies a host file or directory to `guest` (an absolute path inside the
    /// container). A file keeps its permission bits; parent directories are
    /// created. A directory's contents are copied into `guest` with tar. The
    /// copy goes through `nsenter`, so the guest path is resolved in the
    /// container's own view of the file system (symlinks included).
    pub fn copy_in(&self, host: &Path, guest: &str) -> Result<()> {
        if !guest.starts_with('/') {
            bail!("copy_in: guest path {guest:?} is not absolute");
        }
        let meta = fs::metadata(host).with_context(|| format!("copy_in: {}", host.display()))?;
        let q = shell_quote(guest);
        if meta.is_dir() {
            let tar = Command::new("tar")
                .arg("-C")
                .arg(host)
                .args(["-cf", "-", "."])
                .output()
                .context("tar")?;
            if !tar.status.success() {
                bail!(
                    "tar of {} failed: {}",
                    host.display(),
                    String::from_utf8_lossy(&tar.stderr)
                );
            }
            let script = format!("set -e; mkdir -p {q}; tar -C {q} -xf -");
            let out = self.exec_input(&script, &tar.stdout, DEFAULT_EXEC_TIMEOUT)?;
            check_ok(&script, out)?;
        } else {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            let data = fs::read(host).with_context(|| format!("reading {}", host.display()))?;
            let tmp = shell_quote(&format!("{guest}.xtask-copy"));
            let script = format!(
                "set -e; mkdir -p \"$(dirname {q})\"; cat > {tmp}; chmod {mode:o} {tmp}; mv -f {tmp} {q}"
            );
            let out = self.exec_input(&script, &data, DEFAULT_EXEC_TIMEOUT)?;
            check_ok(&script, out)?;
        }
        Ok(())
    }

    /// Waits up to `timeout` for the container to stop by itself (after a
    /// `systemctl poweroff` run inside), then powers it off like
    /// [`Container::shutdown`]. Fails if it had to be stopped from outside.
    pub fn wait_poweroff(mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let Some(child) = self.nspawn.as_mut() else {
                return Ok(());
            };
            if child.try_wait()?.is_some() {
                return self.stop();
            }
            thread::sleep(Duration::from_millis(50));
        }
        self.stop()?;
        bail!("the container did not power off by itself within {timeout:?}")
    }

    /// Powers the container off and waits for nspawn to exit. Returns an error
    /// if the container had to be killed or nspawn failed.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop()
    }

    /// SIGTERM to nspawn makes it ask the container's systemd for an orderly
    /// halt (SIGRTMIN+3); if that takes longer than `shutdown_timeout`, the
    /// container's PID 1 (which takes its whole PID namespace with it) and
    /// nspawn are killed.
    fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.nspawn.take() else {
            return Ok(());
        };
        if let Some(status) = child.try_wait()? {
            if status.success() {
                // Powered off from inside.
                return Ok(());
            }
            bail!(
                "systemd-nspawn had already exited ({status})\n{}",
                self.log_tail(20)
            );
        }
        signal(child.id(), "TERM");
        let deadline = Instant::now() + self.shutdown_timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                // nspawn exits 0 after the container halted (or 133 when it
                // was powered off from inside with `reboot`).
                if status.success() {
                    return Ok(());
                }
                bail!("systemd-nspawn exited with {status}\n{}", self.log_tail(20));
            }
            if Instant::now() > deadline {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        if self.pid != 0 {
            signal(self.pid, "KILL");
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!(
            "the container did not power off within {:?} and was killed\n{}",
            self.shutdown_timeout,
            self.log_tail(20)
        )
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.nspawn.is_some() {
            if let Err(e) = self.stop() {
                eprintln!("warning: stopping the container: {e:#}");
            }
        }
    }
}

/// Runs `script` with `/bin/sh -c` chrooted into `root`, which is not booted.
///
/// The chroot runs in new mount and PID namespaces (`unshare --mount --pid
/// --fork`): /proc and /dev are mounted for it, `binds` (host path, guest
/// path, read_only) are bind-mounted, and all of that disappears with every
/// process it started (a daemon that a maintainer script starts included)
/// when the script ends. The environment is clean (as in the container) plus
/// `DEBIAN_FRONTEND=noninteractive`. `input` is fed to stdin.
pub fn chroot_run(
    root: &Path,
    script: &str,
    binds: &[(&Path, &str, bool)],
    input: &[u8],
    timeout: Duration,
) -> Result<Output> {
    let root = canonical(root)?;
    let r = shell_quote(&root.to_string_lossy());
    let mut setup = format!(
        "set -e; mount -t proc proc {r}/proc; mount --rbind /dev {r}/dev; \
         mount -t tmpfs tmpfs {r}/run; "
    );
    for (host, guest, read_only) in binds {
        let host = shell_quote(&canonical(host)?.to_string_lossy());
        let target = shell_quote(&format!("{}{}", root.display(), guest));
        setup.push_str(&format!(
            "mkdir -p {target}; mount --bind {host} {target}; "
        ));
        if *read_only {
            setup.push_str(&format!("mount -o remount,bind,ro {target}; "));
        }
    }
    setup.push_str(&format!("exec chroot {r} /bin/sh -c \"$1\""));
    // --kill-child and setpriv --pdeathsig: if this process dies, unshare and
    // the chroot's PID namespace (everything the script started) die too.
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--pdeathsig",
        "KILL",
        "--",
        "unshare",
        "--mount",
        "--pid",
        "--fork",
    ])
    .args(["--kill-child", "--propagation", "private", "--"])
    .args(["/bin/sh", "-c", &setup, "sh", script]);
    guest_env(&mut cmd);
    cmd.env("DEBIAN_FRONTEND", "noninteractive");
    run_with_timeout(cmd, input, timeout)
        .with_context(|| format!("in chroot {}: {script}", root.display()))
}

/// [`chroot_run`] that fails unless the script exits 0. Returns stdout.
pub fn chroot_ok(
    root: &Path,
    script: &str,
    binds: &[(&Path, &str, bool)],
    timeout: Duration,
) -> Result<String> {
    let out = chroot_run(root, script, binds, &[], timeout)?;
    check_ok(script, out).with_context(|| format!("in chroot {}", root.display()))
}

/// Quotes `s` for a POSIX shell (single quotes).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Kills nspawn processes left by an earlier, killed run that still boot a
/// container from `root` (so that the root can be removed and booted again).
pub fn kill_stale_nspawn(root: &Path) -> Result<()> {
    let root = root.to_string_lossy().into_owned();
    for pid in processes_with_cmdline(|args| {
        args.first().is_some_and(|a| a.ends_with("systemd-nspawn"))
            && args.windows(2).any(|w| {
                (w[0] == "-D" || w[0] == "--directory") && w[1].trim_end_matches('/') == root
            })
    }) {
        eprintln!("killing a stale systemd-nspawn (pid {pid}) on {root}");
        signal(pid, "TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
        }
        if Path::new(&format!("/proc/{pid}")).exists() {
            signal(pid, "KILL");
            thread::sleep(Duration::from_millis(500));
        }
    }
    Ok(())
}

fn check_ok(script: &str, out: Output) -> Result<String> {
    if out.success() {
        return Ok(out.stdout);
    }
    bail!(
        "command failed ({}): {script}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        out.stdout.trim_end(),
        out.stderr.trim_end()
    )
}

fn guest_env(cmd: &mut Command) {
    cmd.env_clear()
        .env("PATH", GUEST_PATH)
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8");
}

fn canonical(p: &Path) -> Result<PathBuf> {
    fs::canonicalize(p).with_context(|| format!("{}", p.display()))
}

/// Runs `cmd` in its own process group, feeds it `input`, collects its output
/// and kills the whole group if it runs longer than `timeout` (nsenter and
/// unshare fork, so killing just the direct child would leave the command).
/// The deadline also covers the end of its output: a background process that
/// the command left holding stdout (`daemon &`) is killed with the group
/// rather than making the call hang.
fn run_with_timeout(mut cmd: Command, input: &[u8], timeout: Duration) -> Result<Output> {
    use std::os::unix::process::CommandExt;
    let start = Instant::now();
    let deadline = start + timeout;
    cmd.process_group(0)
        .stdin(if input.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("spawning {:?}", cmd.get_program()))?;
    let pgid = child.id();
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        // Not joined: a command that exits without reading all its input is
        // not an error here (its status tells), and the write ends then.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let (tx, status) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });

    let mut timed_out = false;
    let status = recv_or_kill(&status, deadline, pgid, &mut timed_out)
        .context("the command could not be killed")?
        .context("waiting for the command")?;
    let stdout = recv_or_kill(&stdout, deadline, pgid, &mut timed_out).unwrap_or_default();
    let stderr = recv_or_kill(&stderr, deadline, pgid, &mut timed_out).unwrap_or_default();
    if timed_out {
        bail!(
            "timed out after {timeout:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            stdout.trim_end(),
            stderr.trim_end()
        );
    }
    Ok(Output {
        status,
        stdout,
        stderr,
        elapsed: start.elapsed(),
    })
}

/// Receives from `rx` until `deadline`; past it, kills the process group
/// `pgid`, notes the timeout, and waits a grace period for whatever escaped
/// the group (setsid) and still holds a pipe.
fn recv_or_kill<T>(
    rx: &mpsc::Receiver<T>,
    deadline: Instant,
    pgid: u32,
    timed_out: &mut bool,
) -> Result<T, mpsc::RecvTimeoutError> {
    let left = deadline.saturating_duration_since(Instant::now());
    rx.recv_timeout(left).or_else(|_| {
        *timed_out = true;
        signal_group(pgid, "KILL");
        rx.recv_timeout(Duration::from_secs(5))
    })
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
    });
    rx
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args(["-s", sig, "--", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

fn signal_group(pgid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args(["-s", sig, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// The pids of every process this namespace sees (the numeric entries of /proc).
fn all_pids() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
}

/// A child process of `parent` whose comm is `comm`.
fn find_child(parent: u32, comm: &str) -> Option<u32> {
    for pid in all_pids() {
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ..."; comm may contain spaces and parens.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u32>().ok());
        if name == comm && ppid == Some(parent) {
            return Some(pid);
        }
    }
    None
}

fn processes_with_cmdline(pred: impl Fn(&[String]) -> bool) -> Vec<u32> {
    let mut found = Vec::new();
    for pid in all_pids() {
        let Ok(raw) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if pred(&args) {
            found.push(pid);
        }
    }
    found
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    format!("--- last {lines} lines of {} ---\n{tail}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        let out = Command::new("sh")
            .args(["-c", &format!("printf %s {}", shell_quote("$x 'y' `z`"))])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "$x 'y' `z`");
    }

    #[test]
    fn kills_a_command_that_times_out_with_its_children() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & echo started; wait"]);
        let start = Instant::now();
        let err = run_with_timeout(cmd, &[], Duration::from_millis(500)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        let msg = format!("{err:#}");
        assert!(
            msg.contains("timed out") && msg.contains("started"),
            "{msg}"
        );
    }

    #[test]
    fn does_not_hang_on_a_background_process_holding_stdout() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & echo started"]);
        let start = Instant::now();
        let err = run_with_timeout(cmd, &[], Duration::from_millis(500)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(format!("{err:#}").contains("started"), "{err:#}");
    }

    #[test]
    fn feeds_input_and_collects_output() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "tr a-z A-Z; echo err >&2; exit 3"]);
        let out = run_with_timeout(cmd, b"hello", Duration::from_secs(10)).unwrap();
        assert_eq!(
            (out.code(), out.stdout.as_str(), out.stderr.as_str()),
            (Some(3), "HELLO", "err\n")
        );
    }
}
