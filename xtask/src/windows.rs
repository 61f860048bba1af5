//! `cargo xtask windows`: builds handover.exe for x86_64-pc-windows-gnu and runs it under Wine,
//! then proves that the Windows binary renders exactly what the Linux binary renders.
//!
//! Phases (each timed):
//! 1. `cargo build --release -p handover --target x86_64-pc-windows-gnu` (linked with mingw-w64's
//!    gcc) and `cargo build --release -p handover` for the Linux reference binary;
//! 2. build the test-only `bcryptprimitives.dll` shim from `e2e/wine/` (see the comment in
//!    `e2e/wine/bcryptprimitives.c`: Rust's std imports `ProcessPrng` from it, Debian 12's Wine 8
//!    lacks it) and put it beside a copy of the .exe in `target/windows/bin/`;
//! 3. create the private Wine prefix `target/wine-prefix` if needed (`wineboot --init`, once);
//! 4. under Wine: `handover.exe --version`, `handover.exe profiles list`, and
//!    `handover.exe render --profile P --out DIR` (P is `windows-11` when `profiles list` shows it,
//!    else `debian-12`);
//! 5. `target/release/handover render` of the same profile, and a file-by-file comparison: the two
//!    directories must be byte-identical, except for the `"site"` line of index.json (it names the
//!    site file's default path, which is OS-specific).
//!
//! Every Wine invocation has a timeout, and `wineserver -k` (same WINEPREFIX) runs after each one,
//! so no Wine process outlives it. Needs the packages gcc-mingw-w64-x86-64 and wine64 and the
//! rustup target x86_64-pc-windows-gnu; does not need root or a display.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{target_dir, workspace_root};

pub(crate) const TARGET: &str = "x86_64-pc-windows-gnu";
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";
/// The 64-bit loader: plain `wine` looks for the 32-bit parts (package wine32), which are not needed.
pub(crate) const WINE64: &str = "/usr/lib/wine/wine64";
const WINESERVER: &str = "/usr/lib/wine/wineserver";
/// Written into the prefix once `wineboot --init` succeeded; holds `wine64 --version`, so a prefix
/// that was interrupted while being created, or made by another Wine, is made again.
const PREFIX_MARKER: &str = ".xtask-windows-ready";
const PREFIX_TIMEOUT: Duration = Duration::from_secs(600);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
const WINESERVER_KILL_TIMEOUT: Duration = Duration::from_secs(30);

const USAGE: &str = "\
usage: cargo xtask windows [options]

Builds handover.exe (x86_64-pc-windows-gnu), runs it under Wine (private prefix
target/wine-prefix) and compares what it renders with the Linux binary's output.

options:
  --profile P      render this profile (default: windows-11 if the binary has it, else debian-12)
  --site FILE      pass this site file to both renders
  --no-build       use the existing target/{x86_64-pc-windows-gnu/,}release binaries
  --timeout SECS   timeout of each Wine run of handover.exe (default 120)
  --fresh-prefix   delete and recreate target/wine-prefix first
";

struct Args {
    profile: Option<String>,
    site: Option<PathBuf>,
    build: bool,
    timeout: Duration,
    fresh_prefix: bool,
}

fn parse(args: &[String]) -> Result<Option<Args>> {
    let mut parsed = Args {
        profile: None,
        site: None,
        build: true,
        timeout: DEFAULT_TIMEOUT,
        fresh_prefix: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--no-build" => parsed.build = false,
            "--fresh-prefix" => parsed.fresh_prefix = true,
            "--profile" => {
                let Some(p) = it.next() else {
                    bail!("--profile needs a profile name")
                };
                parsed.profile = Some(p.clone());
            }
            "--site" => {
                let Some(p) = it.next() else {
                    bail!("--site needs a file")
                };
                let path = fs::canonicalize(p).with_context(|| format!("--site {p}"))?;
                parsed.site = Some(path);
            }
            "--timeout" => {
                let secs = it
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
                    .filter(|&s| s > 0)
                    .context("--timeout needs a positive number of seconds")?;
                parsed.timeout = Duration::from_secs(secs);
            }
            other => bail!("cargo xtask windows: unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(Some(parsed))
}

pub fn main(args: &[String]) -> Result<()> {
    let Some(args) = parse(args)? else {
        return Ok(());
    };
    let mut phases = Phases::default();
    let result = run(&args, &mut phases);
    eprint!("{}", phases.report());
    result
}

fn run(args: &Args, phases: &mut Phases) -> Result<()> {
    let root = workspace_root();
    let target = target_dir();
    let scratch = target.join("windows");
    let bin_dir = scratch.join("bin");
    let wine = Wine {
        prefix: target.join("wine-prefix"),
        logs: scratch.join("logs"),
    };

    phases.time("tools", preflight)?;

    if args.build {
        phases.time("cargo build (windows)", || cargo_build(&root, Some(TARGET)))?;
        phases.time("cargo build (linux)", || cargo_build(&root, None))?;
    }
    let exe_built = target.join(TARGET).join("release").join("handover.exe");
    let linux_bin = target.join("release").join("handover");
    for bin in [&exe_built, &linux_bin] {
        if !bin.is_file() {
            bail!(
                "{} does not exist (run without --no-build to build it)",
                bin.display()
            );
        }
    }

    // A fresh scratch directory: nothing left over from an earlier run can make the comparison pass.
    if scratch.exists() {
        fs::remove_dir_all(&scratch).with_context(|| format!("removing {}", scratch.display()))?;
    }
    for dir in [&bin_dir, &wine.logs] {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let exe = bin_dir.join("handover.exe");
    fs::copy(&exe_built, &exe)
        .with_context(|| format!("copying {} to {}", exe_built.display(), exe.display()))?;
    phases.time("shim bcryptprimitives.dll", || {
        build_shim(&root.join("e2e").join("wine"), &bin_dir)
    })?;

    phases.time("wine prefix", || wine.ensure_prefix(args.fresh_prefix))?;

    let version = phases.time("wine: handover.exe --version", || {
        wine.run_exe(&exe, &scratch, &["--version"], "version", args.timeout)
    })?;
    println!("handover.exe --version: {}", version.trim_end());
    let linux_version = run_linux(&linux_bin, &scratch, &["--version"])?;
    if version != linux_version {
        bail!(
            "handover.exe --version printed {version:?}, the Linux binary {linux_version:?}: \
             they were not built from the same sources"
        );
    }

    let list = phases.time("wine: handover.exe profiles list", || {
        wine.run_exe(
            &exe,
            &scratch,
            &["profiles", "list"],
            "profiles-list",
            args.timeout,
        )
    })?;
    println!("handover.exe profiles list:\n{}", indent(&list));
    let names: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    if names.is_empty() {
        bail!("handover.exe profiles list printed no profiles");
    }
    let profile = match &args.profile {
        Some(p) => p.clone(),
        None if names.contains(&"windows-11") => "windows-11".to_string(),
        None => {
            println!("(no windows-11 profile in this build: rendering debian-12 instead)");
            "debian-12".to_string()
        }
    };
    if !names.contains(&profile.as_str()) {
        bail!("handover.exe profiles list does not show profile {profile:?}: {names:?}");
    }

    let win_out = "render-windows";
    let linux_out = "render-linux";
    let mut win_args: Vec<String> = vec!["render".into(), "--profile".into(), profile.clone()];
    let mut linux_args = win_args.clone();
    if let Some(site) = &args.site {
        win_args.extend(["--site".into(), windows_path(site)?]);
        linux_args.extend(["--site".into(), path_str(site)?.to_string()]);
    }
    win_args.extend(["--out".into(), win_out.into()]);
    linux_args.extend(["--out".into(), linux_out.into()]);

    let rendered = phases.time(&format!("wine: handover.exe render {profile}"), || {
        let a: Vec<&str> = win_args.iter().map(String::as_str).collect();
        wine.run_exe(&exe, &scratch, &a, "render", args.timeout)
    })?;
    println!(
        "handover.exe {}:\n{}",
        win_args.join(" "),
        indent(&rendered)
    );
    phases.time(&format!("linux: handover render {profile}"), || {
        let a: Vec<&str> = linux_args.iter().map(String::as_str).collect();
        run_linux(&linux_bin, &scratch, &a).map(drop)
    })?;

    let summary = phases.time("compare renders", || {
        compare_dirs(&scratch.join(win_out), &scratch.join(linux_out))
    })?;
    println!("{summary}");
    println!(
        "ok: handover.exe runs under Wine and renders {profile} exactly as the Linux binary does \
         (scratch directory {})",
        scratch.display()
    );
    Ok(())
}

/// Checks that the tools exist, with the command that installs what is missing.
fn preflight() -> Result<()> {
    let mut missing = Vec::new();
    if !on_path(MINGW_GCC) {
        missing.push(format!(
            "{MINGW_GCC} not found: apt-get install -y gcc-mingw-w64-x86-64"
        ));
    }
    for tool in [WINE64, WINESERVER] {
        if !Path::new(tool).exists() {
            missing.push(format!("{tool} not found: apt-get install -y wine64"));
        }
    }
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("running rustc --print sysroot")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if !sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        missing.push(format!(
            "the Rust standard library for {TARGET} is not installed: rustup target add {TARGET}"
        ));
    }
    if !missing.is_empty() {
        bail!("missing tools:\n  {}", missing.join("\n  "));
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

pub(crate) fn cargo_build(root: &Path, target: Option<&str>) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "-p", "handover"])
        .current_dir(root);
    if let Some(target) = target {
        cmd.args(["--target", target]);
        // The linker (mingw-w64's gcc) is set in .cargo/config.toml, not here: a different
        // setting per invocation would make cargo rebuild for each.
    }
    let shown = format!(
        "cargo build --release -p handover{}",
        target.map(|t| format!(" --target {t}")).unwrap_or_default()
    );
    let status = cmd.status().with_context(|| format!("running {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Builds `bcryptprimitives.dll` from `src_dir` into `out_dir` (beside the .exe: Windows, and Wine,
/// load a DLL from the application's directory first).
pub(crate) fn build_shim(src_dir: &Path, out_dir: &Path) -> Result<()> {
    let c = src_dir.join("bcryptprimitives.c");
    let def = src_dir.join("bcryptprimitives.def");
    let dll = out_dir.join("bcryptprimitives.dll");
    let out = Command::new(MINGW_GCC)
        .args([
            "-shared",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-s",
            "-static-libgcc",
        ])
        .arg("-o")
        .arg(&dll)
        .arg(&c)
        .arg(&def)
        .arg("-ladvapi32")
        .output()
        .with_context(|| format!("running {MINGW_GCC}"))?;
    if !out.status.success() {
        bail!(
            "{MINGW_GCC} -shared {} failed ({}):\n{}",
            c.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(())
}

/// Runs the Linux binary with `args` in `cwd`; its stdout, or an error with its output.
fn run_linux(bin: &Path, cwd: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "{} {} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            bin.display(),
            args.join(" "),
            out.status,
            stdout.trim_end(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(stdout)
}

/// The private Wine prefix and where the output of its runs is kept.
pub(crate) struct Wine {
    pub(crate) prefix: PathBuf,
    pub(crate) logs: PathBuf,
}

impl Wine {
    /// `cmd` with the environment every Wine invocation gets.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("WINEPREFIX", &self.prefix)
            .env("WINEARCH", "win64")
            // Quiet, except the loader's errors (a missing DLL says which one here).
            .env("WINEDEBUG", "-all,err+module")
            // No Mono and Gecko installers (and their prompts) when the prefix is created.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            // Headless: no window may open, and none is needed.
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null());
        cmd
    }

    /// `wineserver -k`: ends every Wine process of the prefix (the server outlives its clients by a
    /// few seconds otherwise, and a timed-out program leaves its services behind).
    fn kill_server(&self) {
        let mut cmd = self.command(WINESERVER);
        cmd.arg("-k");
        // Exits 1 when no server runs: not an error.
        if let Err(e) = run_with_timeout(
            cmd,
            &self.logs.join("wineserver-k"),
            WINESERVER_KILL_TIMEOUT,
        ) {
            eprintln!(
                "warning: {WINESERVER} -k (WINEPREFIX={}): {e:#}",
                self.prefix.display()
            );
        }
    }

    /// Runs one Wine command with a timeout, then kills the prefix's wineserver.
    pub(crate) fn run(&self, cmd: Command, log: &str, timeout: Duration) -> Result<Run> {
        let result = run_with_timeout(cmd, &self.logs.join(log), timeout);
        self.kill_server();
        result
    }

    pub(crate) fn ensure_prefix(&self, fresh: bool) -> Result<()> {
        // A server left running by an interrupted run would serve a prefix being deleted.
        self.kill_server();
        let version = Command::new(WINE64)
            .arg("--version")
            .output()
            .with_context(|| format!("running {WINE64} --version"))?;
        let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        let marker = self.prefix.join(PREFIX_MARKER);
        let ready = fs::read_to_string(&marker).is_ok_and(|m| m.trim() == version);
        if ready && !fresh {
            println!(
                "wine prefix {} ({version}) exists: reused",
                self.prefix.display()
            );
            return Ok(());
        }
        if self.prefix.exists() {
            fs::remove_dir_all(&self.prefix)
                .with_context(|| format!("removing {}", self.prefix.display()))?;
        }
        println!(
            "creating wine prefix {} ({version}), once; takes a while",
            self.prefix.display()
        );
        let mut cmd = self.command(WINE64);
        cmd.args(["wineboot", "--init"]);
        let run = self
            .run(cmd, "wineboot", PREFIX_TIMEOUT)
            .context("creating the wine prefix (wineboot --init)")?;
        if !run.status.success() || !self.prefix.join("system.reg").is_file() {
            bail!(
                "creating the wine prefix {} failed ({}):\n{}",
                self.prefix.display(),
                run.status,
                run.output_text()
            );
        }
        fs::write(&marker, format!("{version}\n"))
            .with_context(|| format!("writing {}", marker.display()))?;
        Ok(())
    }

    /// Runs `exe args` under Wine in `cwd`; its stdout, or an error with its output.
    pub(crate) fn run_exe(
        &self,
        exe: &Path,
        cwd: &Path,
        args: &[&str],
        log: &str,
        timeout: Duration,
    ) -> Result<String> {
        let mut cmd = self.command(WINE64);
        cmd.arg(exe).args(args).current_dir(cwd);
        let shown = format!("wine64 handover.exe {}", args.join(" "));
        let run = self
            .run(cmd, log, timeout)
            .with_context(|| format!("{shown} (WINEPREFIX={})", self.prefix.display()))?;
        if !run.status.success() {
            let hint = if run.stderr.contains("err:module") {
                "\n(a DLL the .exe imports is missing: see the err:module lines above; \
                 bcryptprimitives.dll is the shim from e2e/wine/, which must be beside the .exe)"
            } else {
                ""
            };
            bail!(
                "{shown} failed ({}):\n{}{hint}",
                run.status,
                run.output_text()
            );
        }
        Ok(run.stdout)
    }
}

#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn output_text(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// Runs `cmd` in its own process group with stdout and stderr in files `<log>.stdout` and
/// `<log>.stderr` (not pipes: wineserver and Wine's services, started by the first Wine program,
/// would inherit a pipe and keep it open after the program exits). After `timeout` the process
/// group is killed and an error returned.
fn run_with_timeout(mut cmd: Command, log: &Path, timeout: Duration) -> Result<Run> {
    use std::os::unix::process::CommandExt;

    let with_ext = |ext: &str| {
        let mut p = OsString::from(log.as_os_str());
        p.push(ext);
        PathBuf::from(p)
    };
    let (out_path, err_path) = (with_ext(".stdout"), with_ext(".stderr"));
    let out =
        fs::File::create(&out_path).with_context(|| format!("creating {}", out_path.display()))?;
    let err =
        fs::File::create(&err_path).with_context(|| format!("creating {}", err_path.display()))?;
    cmd.process_group(0).stdout(out).stderr(err);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("spawning {:?}", cmd.get_program()))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the command")? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
    let Some(status) = status else {
        // The whole group (std has no killpg; kill(1) does it), then the child itself.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = child.kill();
        let _ = child.wait();
        bail!(
            "timed out after {}s (killed)\n--- stdout ---\n{}\n--- stderr ---\n{}",
            timeout.as_secs(),
            read(&out_path).trim_end(),
            read(&err_path).trim_end()
        );
    };
    Ok(Run {
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
    })
}

/// Every file under `dir`, by its path relative to `dir` (with `/`).
fn read_tree(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    fn walk(base: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
        for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                walk(base, &path, files)?;
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                let bytes =
                    fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                files.insert(rel, bytes);
            }
        }
        Ok(())
    }
    if !dir.is_dir() {
        bail!("{} was not created", dir.display());
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files)?;
    Ok(files)
}

/// Compares the Windows render `win` with the Linux render `linux`: the same files, byte for byte,
/// except for the `"site"` line of index.json. A summary, or an error listing every difference.
fn compare_dirs(win: &Path, linux: &Path) -> Result<String> {
    let w = read_tree(win)?;
    let l = read_tree(linux)?;
    let mut problems = Vec::new();
    let mut site_lines = None;
    if !l.contains_key("index.json") {
        problems.push("the Linux render has no index.json".to_string());
    }
    for name in l.keys().filter(|k| !w.contains_key(*k)) {
        problems.push(format!("{name}: rendered on Linux only"));
    }
    for name in w.keys().filter(|k| !l.contains_key(*k)) {
        problems.push(format!("{name}: rendered on Windows only"));
    }
    for (name, wb) in &w {
        let Some(lb) = l.get(name) else { continue };
        if wb == lb {
            continue;
        }
        if name == "index.json" {
            match diff_except_site(wb, lb) {
                Ok(site) => site_lines = site,
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        } else {
            problems.push(format!("{name}: {}", first_difference(wb, lb)));
        }
    }
    if !problems.is_empty() {
        bail!(
            "the Windows render ({}) differs from the Linux render ({}):\n  {}\n\
             (if profiles/ or templates/ changed while the two binaries were built, run again)",
            win.display(),
            linux.display(),
            problems.join("\n  ")
        );
    }
    let mut summary = format!("{} files byte-identical", l.len());
    match site_lines {
        Some((ws, ls)) => {
            let _ = write!(
                summary,
                " except index.json's site line:\n  windows: {ws}\n  linux:   {ls}"
            );
        }
        None => summary.push_str(" (index.json included)"),
    }
    Ok(summary)
}

/// Index.json of both renders, which differ: Ok when only the `"site"` line differs (then both
/// lines), else what differs.
fn diff_except_site(win: &[u8], linux: &[u8]) -> Result<Option<(String, String)>, String> {
    let (w, l) = (String::from_utf8_lossy(win), String::from_utf8_lossy(linux));
    let (wl, ll): (Vec<&str>, Vec<&str>) = (w.split('\n').collect(), l.split('\n').collect());
    if wl.len() != ll.len() {
        return Err(format!(
            "{} lines on Windows, {} on Linux; {}",
            wl.len(),
            ll.len(),
            first_difference(win, linux)
        ));
    }
    let mut site = None;
    for (i, (a, b)) in wl.iter().zip(&ll).enumerate() {
        if a == b {
            continue;
        }
        let is_site = |s: &str| s.trim_start().starts_with("\"site\":");
        if is_site(a) && is_site(b) {
            site = Some((a.trim().to_string(), b.trim().to_string()));
        } else {
            return Err(format!(
                "line {} differs (only the \"site\" line may):\n    windows: {a:?}\n    linux:   {b:?}",
                i + 1
            ));
        }
    }
    Ok(site)
}

/// Where two different byte strings first differ, in words.
fn first_difference(win: &[u8], linux: &[u8]) -> String {
    let at = win
        .iter()
        .zip(linux)
        .position(|(a, b)| a != b)
        .unwrap_or(win.len().min(linux.len()));
    let line = linux[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let around = |b: &[u8]| {
        let end = (at + 40).min(b.len());
        format!("{:?}", String::from_utf8_lossy(&b[at.min(end)..end]))
    };
    let crlf = if win.windows(2).any(|p| p == b"\r\n") && !linux.windows(2).any(|p| p == b"\r\n") {
        " (the Windows file has CRLF line endings)"
    } else {
        ""
    };
    format!(
        "{} bytes on Windows, {} on Linux; first difference at byte {at} (line {line}): \
         windows {} vs linux {}{crlf}",
        win.len(),
        linux.len(),
        around(win),
        around(linux)
    )
}

/// `path` as Wine sees it: on drive Z:, which Wine maps to `/`.
fn windows_path(path: &Path) -> Result<String> {
    Ok(format!("Z:{}", path_str(path)?.replace('/', "\\")))
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Durations of the phases, printed as they end and together at the end.
#[derive(Default)]
struct Phases(Vec<(String, Duration, bool)>);

impl Phases {
    fn time<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        eprintln!("==> {name}");
        let start = Instant::now();
        let result = f();
        let elapsed = start.elapsed();
        let failed = result.is_err();
        eprintln!(
            "<== {name}: {:.2}s{}",
            elapsed.as_secs_f64(),
            if failed { " (failed)" } else { "" }
        );
        self.0.push((name.to_string(), elapsed, failed));
        result
    }

    fn report(&self) -> String {
        let mut s = String::from("phase durations:\n");
        let mut total = Duration::ZERO;
        for (name, d, failed) in &self.0 {
            let mark = if *failed { "  (failed)" } else { "" };
            let _ = writeln!(s, "  {name:<40} {:>8.2}s{mark}", d.as_secs_f64());
            total += *d;
        }
        let _ = writeln!(s, "  {:<40} {:>8.2}s", "total", total.as_secs_f64());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_site_line_of_index_json_may_differ() {
        let linux =
            b"{\n  \"profile\": \"p\",\n  \"site\": \"/etc/handover/site.toml\",\n  \"x\": 1\n}\n";
        let win = b"{\n  \"profile\": \"p\",\n  \"site\": \"C:\\\\ProgramData\\\\site.toml\",\n  \"x\": 1\n}\n";
        let site = diff_except_site(win, linux).unwrap().unwrap();
        assert!(site.0.starts_with("\"site\": \"C:"), "{site:?}");

        let other =
            b"{\n  \"profile\": \"q\",\n  \"site\": \"/etc/handover/site.toml\",\n  \"x\": 1\n}\n";
        let err = diff_except_site(other, linux).unwrap_err();
        assert!(err.contains("line 2"), "{err}");

        let crlf = b"{\r\n  \"profile\": \"p\",\r\n  \"site\": \"/etc/handover/site.toml\",\r\n  \"x\": 1\r\n}\r\n";
        assert!(diff_except_site(crlf, linux).is_err());
        assert!(first_difference(crlf, linux).contains("CRLF"));
    }

    #[test]
    fn compare_dirs_reports_missing_extra_and_different_files() {
        let base = target_dir()
            .join("tmp")
            .join(format!("xtask-windows-test-{}", std::process::id()));
        let (w, l) = (base.join("w"), base.join("l"));
        fs::create_dir_all(&w).unwrap();
        fs::create_dir_all(&l).unwrap();
        let index = |site: &str| format!("{{\n  \"profile\": \"p\",\n  \"site\": \"{site}\"\n}}\n");
        fs::write(w.join("index.json"), index("C:")).unwrap();
        fs::write(l.join("index.json"), index("/etc")).unwrap();
        fs::write(w.join("a.sh"), "echo a\n").unwrap();
        fs::write(l.join("a.sh"), "echo a\n").unwrap();
        assert!(compare_dirs(&w, &l)
            .unwrap()
            .contains("2 files byte-identical"));

        fs::write(w.join("a.sh"), "echo b\n").unwrap();
        fs::write(w.join("extra.sh"), "").unwrap();
        fs::write(l.join("missing.sh"), "").unwrap();
        let err = compare_dirs(&w, &l).unwrap_err().to_string();
        assert!(err.contains("a.sh: 7 bytes on Windows"), "{err}");
        assert!(err.contains("extra.sh: rendered on Windows only"), "{err}");
        assert!(err.contains("missing.sh: rendered on Linux only"), "{err}");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    #[ignore = "needs wine64 and target/wine-prefix (cargo xtask windows): cargo test -p xtask -- --ignored"]
    fn a_wine_run_that_times_out_is_killed_with_its_wineserver() {
        let scratch = target_dir()
            .join("tmp")
            .join(format!("xtask-windows-wine-{}", std::process::id()));
        let wine = Wine {
            prefix: target_dir().join("wine-prefix"),
            logs: scratch.clone(),
        };
        fs::create_dir_all(&wine.logs).unwrap();
        wine.ensure_prefix(false).unwrap();
        let mut cmd = wine.command(WINE64);
        cmd.args(["ping", "-n", "60", "127.0.0.1"]);
        let start = Instant::now();
        let err = wine.run(cmd, "ping", Duration::from_secs(3)).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(30));
        // No process of the prefix is left (wineserver -k ran).
        let ps = Command::new("ps")
            .args(["-eo", "stat=,args="])
            .output()
            .unwrap();
        let ps = String::from_utf8_lossy(&ps.stdout);
        let left: Vec<&str> = ps
            .lines()
            .filter(|l| !l.starts_with('Z') && (l.contains("ping") || l.contains("wineserver")))
            .filter(|l| l.contains(".exe") || l.contains("wine"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        fs::remove_dir_all(&scratch).unwrap();
    }

    #[test]
    fn timeout_kills_the_process_group() {
        let base = target_dir()
            .join("tmp")
            .join(format!("xtask-windows-timeout-{}", std::process::id()));
        fs::create_dir_all(&base).unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30; echo never"]);
        let start = Instant::now();
        let err = run_with_timeout(cmd, &base.join("t"), Duration::from_millis(300)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(err.to_string().contains("timed out"), "{err}");
        fs::remove_dir_all(&base).unwrap();
    }
}
