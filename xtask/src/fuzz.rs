//! `cargo xtask fuzz`: runs each cargo-fuzz target of `fuzz/` for a bounded time and keeps every crash as a
//! regression input.
//!
//! 1. checks that the nightly toolchain and cargo-fuzz are there; it does not install them, it says how
//!    (`rustup toolchain install nightly`, `cargo install cargo-fuzz --locked`: CI installs them first);
//! 2. `cargo +nightly fuzz build` of every target (`fuzz/` is its own workspace and builds into
//!    `fuzz/target`, never into the main workspace's target directory);
//! 3. runs each target's binary as `cargo fuzz run` would (`-max_total_time=SECS`, crash inputs in
//!    `fuzz/artifacts/TARGET/`), `--jobs N` at a time, its output in `fuzz/target/fuzz-logs/TARGET.log`.
//!    The binary built in step 2 is run directly, so that a source file edited meanwhile does not
//!    rebuild in the middle. The corpus starts from the committed `seed-*` files and grows in
//!    `fuzz/corpus/TARGET` (ignored by git); the kept regression inputs are read as corpus too;
//! 4. a crash (a panic, a failed property, a timeout of one input, running out of memory) is copied
//!    from `fuzz/artifacts/TARGET/` to `tests/fuzz_regressions/TARGET/`, where `cargo test` replays it
//!    through the same properties (`tests/fuzz_regressions.rs`, `tests/fuzz_regressions/props.rs`), and
//!    the command fails naming it, after running the other targets.
//!
//! The targets are built without a sanitizer (`--sanitizer none`): they test safe Rust for panics and
//! properties, and AddressSanitizer would halve the executions per second; `--asan` turns it on.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::workspace_root;

const USAGE: &str = "\
usage: cargo xtask fuzz [options] [TARGET...]

Runs each fuzz target of fuzz/fuzz_targets/ (default: all) for a bounded time with
`cargo +nightly fuzz run`, and copies any crash to tests/fuzz_regressions/TARGET/,
which `cargo test` replays. Needs the nightly toolchain and cargo-fuzz.

options:
  --secs N     fuzz each target for N seconds (default 30)
  --jobs N     run N targets at once (default 1; each uses one core)
  --timeout N  one input running longer than N seconds is a crash (default 10)
  --asan       build with AddressSanitizer (default: no sanitizer)
  --no-build   do not run `cargo fuzz build` first (use the built targets)
";

/// Targets whose inputs are TOML, fuzzed with fuzz/toml.dict (keys and syntax of handover's files).
const TOML_TARGETS: &[&str] = &["site", "profile", "textpos"];

struct Args {
    secs: u64,
    jobs: usize,
    timeout: u64,
    asan: bool,
    build: bool,
    targets: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Option<Args>> {
    let mut a = Args {
        secs: 30,
        jobs: 1,
        timeout: 10,
        asan: false,
        build: true,
        targets: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64> {
            let v = it.next().with_context(|| format!("{name} needs a value"))?;
            match v.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => bail!("{name}: {v:?} is not a positive number"),
            }
        };
        match arg.as_str() {
            "--secs" => a.secs = number("--secs")?,
            "--jobs" => a.jobs = number("--jobs")? as usize,
            "--timeout" => a.timeout = number("--timeout")?,
            "--asan" => a.asan = true,
            "--no-build" => a.build = false,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            s if s.starts_with('-') => bail!("unknown option {s}\n{USAGE}"),
            s => a.targets.push(s.to_string()),
        }
    }
    Ok(Some(a))
}

pub fn main(args: &[String]) -> Result<()> {
    let Some(args) = parse_args(args)? else {
        return Ok(());
    };
    let root = workspace_root();
    let fuzz = root.join("fuzz");
    let all = targets(&fuzz)?;
    let targets = if args.targets.is_empty() {
        all
    } else {
        for t in &args.targets {
            if !all.contains(t) {
                bail!("no fuzz target {t:?} (known: {})", all.join(", "));
            }
        }
        args.targets.clone()
    };
    let host = check_tools()?;
    let bin_dir = fuzz.join("target").join(&host).join("release");
    let started = Instant::now();
    let sanitizer = if args.asan { "address" } else { "none" };
    if args.build {
        eprintln!("== cargo +nightly fuzz build --sanitizer {sanitizer} (fuzz/target)");
        let t = Instant::now();
        let status = cargo_fuzz(&fuzz)
            .args(["build", "--sanitizer", sanitizer])
            .status()
            .context("running cargo +nightly fuzz build")?;
        if !status.success() {
            bail!("cargo +nightly fuzz build failed ({status})");
        }
        eprintln!("   built in {:.0?}", t.elapsed());
    }

    for t in &targets {
        if !bin_dir.join(t).is_file() {
            bail!(
                "{} is not built: run without --no-build",
                bin_dir.join(t).display()
            );
        }
    }

    let logs = fuzz.join("target/fuzz-logs");
    let tmp = fuzz.join("target/fuzz-tmp");
    std::fs::create_dir_all(&logs).with_context(|| logs.display().to_string())?;
    eprintln!(
        "== fuzzing {} target(s), {} s each, {} at a time (logs in {})",
        targets.len(),
        args.secs,
        args.jobs,
        logs.display()
    );
    // Popped from the end: reversed, so that they run in order.
    let queue = Arc::new(Mutex::new(
        targets.iter().rev().cloned().collect::<Vec<_>>(),
    ));
    let results = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..args.jobs.min(targets.len()))
        .map(|_| {
            let (queue, results) = (queue.clone(), results.clone());
            let (root, logs, tmp) = (root.clone(), logs.clone(), tmp.clone());
            let bin_dir = bin_dir.clone();
            let (secs, timeout) = (args.secs, args.timeout);
            std::thread::spawn(move || loop {
                let Some(target) = queue.lock().unwrap().pop() else {
                    break;
                };
                let bin = bin_dir.join(&target);
                let r = run_target(&root, &target, &bin, secs, timeout, &logs, &tmp);
                if let Ok(run) = &r {
                    eprintln!("{}", run.summary());
                }
                results.lock().unwrap().push((target, r));
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a fuzzing thread panicked");
    }
    let _ = std::fs::remove_dir_all(&tmp);

    let mut results = std::mem::take(&mut *results.lock().unwrap());
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept = Vec::new();
    let mut errors = Vec::new();
    for (target, r) in results {
        match r {
            Ok(run) => kept.extend(run.kept),
            Err(e) => errors.push(format!("{target}: {e:#}")),
        }
    }
    eprintln!("== fuzzing took {:.0?} in all", started.elapsed());
    let mut failure = Vec::new();
    if !kept.is_empty() {
        let shown: Vec<String> = kept
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
            .collect();
        failure.push(format!(
            "the fuzzers found {} crash(es), kept as regression inputs:\n  {}\n\
             `cargo test --test integration fuzz_regressions` replays them; fix the crate (or, for a known \
             gap, the property in tests/fuzz_regressions/props.rs) and commit the inputs",
            kept.len(),
            shown.join("\n  ")
        ));
    }
    if !errors.is_empty() {
        failure.push(format!("fuzzing could not run:\n  {}", errors.join("\n  ")));
    }
    if !failure.is_empty() {
        bail!("{}", failure.join("\n"));
    }
    Ok(())
}

/// The targets: `fuzz/fuzz_targets/*.rs`, sorted.
fn targets(fuzz: &Path) -> Result<Vec<String>> {
    let dir = fuzz.join("fuzz_targets");
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| dir.display().to_string())?
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    out.sort();
    if out.is_empty() {
        bail!("no fuzz targets in {}", dir.display());
    }
    Ok(out)
}

/// `cargo +nightly fuzz` in `fuzz/`, building into `fuzz/target` whatever CARGO_TARGET_DIR says, and
/// without the variables of the `cargo run` that started xtask (they name the stable toolchain).
fn cargo_fuzz(fuzz: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .arg("fuzz")
        .current_dir(fuzz)
        .env("CARGO_TARGET_DIR", fuzz.join("target"))
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO");
    cmd
}

/// Checks for the nightly toolchain and cargo-fuzz; gives nightly's host triple (cargo fuzz builds for it,
/// into `fuzz/target/HOST/release/`).
fn check_tools() -> Result<String> {
    let ok = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .env_remove("RUSTUP_TOOLCHAIN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ok("cargo", &["+nightly", "--version"]) {
        bail!(
            "the nightly toolchain is needed (libFuzzer's instrumentation): \
             rustup toolchain install nightly --profile minimal"
        );
    }
    if !ok("cargo", &["+nightly", "fuzz", "--version"]) {
        bail!(
            "cargo-fuzz is not installed: cargo install cargo-fuzz --locked \
             (builds it from crates.io, about a minute, once)"
        );
    }
    let out = Command::new("rustc")
        .args(["+nightly", "-vV"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .context("running rustc +nightly -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_string())
        .context("rustc +nightly -vV names no host")
}

/// One target's run.
struct Run {
    target: String,
    took: Duration,
    log: PathBuf,
    stats: Vec<(String, String)>,
    corpus: usize,
    /// Crash inputs copied to tests/fuzz_regressions/TARGET/.
    kept: Vec<PathBuf>,
    /// What the crash was (the panic message), from the log.
    why: Vec<String>,
}

impl Run {
    fn stat(&self, name: &str) -> &str {
        self.stats
            .iter()
            .find(|(k, _)| k == name)
            .map_or("?", |(_, v)| v.as_str())
    }

    fn summary(&self) -> String {
        let mut s = format!(
            "   {:<9} {:>4.0?}  {:>10} execs  {:>6} exec/s  corpus {:>5}  peak {} MB",
            self.target,
            self.took,
            self.stat("number_of_executed_units"),
            self.stat("average_exec_per_sec"),
            self.corpus,
            self.stat("peak_rss_mb"),
        );
        if !self.kept.is_empty() {
            s.push_str(&format!("  CRASH (log: {})", self.log.display()));
            for line in &self.why {
                s.push_str(&format!("\n     | {line}"));
            }
            for k in &self.kept {
                s.push_str(&format!("\n     kept {}", k.display()));
                // The input itself, so that a crash in CI can be reproduced from its log alone.
                if let Ok(bytes) = std::fs::read(k) {
                    s.push_str(&format!(
                        "\n     input ({} bytes): {}",
                        bytes.len(),
                        escaped(&bytes)
                    ));
                }
            }
        }
        s
    }
}

fn run_target(
    root: &Path,
    target: &str,
    bin: &Path,
    secs: u64,
    timeout: u64,
    logs: &Path,
    tmp: &Path,
) -> Result<Run> {
    let fuzz = root.join("fuzz");
    let corpus = fuzz.join("corpus").join(target);
    let kept_dir = root.join("tests/fuzz_regressions").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    // Each target's temporary files (the profile target's scratch directory) go where they are removed.
    let tmp = tmp.join(target);
    for d in [&corpus, &kept_dir, &tmp] {
        std::fs::create_dir_all(d).with_context(|| d.display().to_string())?;
    }
    // Only this run's crashes are copied.
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).with_context(|| artifacts.display().to_string())?;
    let log = logs.join(format!("{target}.log"));
    let out = std::fs::File::create(&log).with_context(|| log.display().to_string())?;

    // What `cargo fuzz run TARGET CORPUS... -- FLAGS` runs, without its build step.
    let mut cmd = Command::new(bin);
    cmd.current_dir(&fuzz)
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(format!("-max_total_time={secs}"))
        .arg(format!("-timeout={timeout}"))
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1");
    if TOML_TARGETS.contains(&target) {
        cmd.arg(format!("-dict={}", fuzz.join("toml.dict").display()));
    }
    cmd.arg(&corpus)
        .arg(&kept_dir)
        .env("TMPDIR", &tmp)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let started = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("running {}", bin.display()))?;
    let took = started.elapsed();
    let text = std::fs::read_to_string(&log).unwrap_or_default();

    let mut crashes: Vec<PathBuf> = std::fs::read_dir(&artifacts)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy();
                    ["crash-", "oom-", "timeout-", "leak-"]
                        .iter()
                        .any(|k| name.starts_with(k))
                })
                .collect()
        })
        .unwrap_or_default();
    crashes.sort();
    if !status.success() && crashes.is_empty() {
        bail!(
            "{target} failed ({status}) without a crash input; the end of {}:\n{}",
            log.display(),
            tail(&text, 25)
        );
    }
    let mut kept = Vec::new();
    for c in crashes {
        let dest = kept_dir.join(c.file_name().expect("a file name"));
        std::fs::copy(&c, &dest)
            .with_context(|| format!("copying {} to {}", c.display(), dest.display()))?;
        kept.push(dest);
    }
    let why = if kept.is_empty() {
        Vec::new()
    } else {
        crash_reason(&text)
    };
    let stats = text
        .lines()
        .filter_map(|l| l.strip_prefix("stat::"))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let corpus = std::fs::read_dir(&corpus).map_or(0, |rd| rd.count());
    Ok(Run {
        target: target.to_string(),
        took,
        log,
        stats,
        corpus,
        kept,
        why,
    })
}

/// The panic message (from "panicked at" to the backtrace), or libFuzzer's own report (timeout, OOM).
fn crash_reason(log: &str) -> Vec<String> {
    let lines: Vec<&str> = log.lines().collect();
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        return lines[i..]
            .iter()
            .take_while(|l| !l.starts_with("stack backtrace:"))
            .take(12)
            .map(|l| l.to_string())
            .collect();
    }
    lines
        .iter()
        .filter(|l| l.starts_with("==") && l.contains("ERROR: libFuzzer"))
        .take(3)
        .map(|l| l.to_string())
        .collect()
}

/// `b"..."` with Rust's byte escapes, the first 2 KiB.
fn escaped(bytes: &[u8]) -> String {
    let shown: String = bytes
        .iter()
        .take(2048)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    let more = if bytes.len() > 2048 { "..." } else { "" };
    format!("b\"{shown}\"{more}")
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
