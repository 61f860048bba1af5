//! `cargo xtask bench`: how long `handover check` and a no-change `handover apply` take on a realistic,
//! compliant device, next to the Ansible check a technician would otherwise run, all in the same booted
//! Debian 12 container and the same run. Writes BENCHMARKS.md (generated: rewritten on every run) and
//! prints the same text on stdout.
//!
//! 1. build the release binary (unless `--no-build` / `--bin`), make sure the cached base image exists
//!    (shared with `cargo xtask e2e`: `target/e2e/cache`);
//! 2. a fresh copy of the base in `target/e2e/bench/root` (never the e2e run's root), `e2e/fixture.sh`,
//!    boot (systemd-nspawn, private network, local repository at /srv/repo);
//! 3. the compliant device: the e2e scenario's site, first apply and `usermod -L mallory`
//!    ([`scenario::prepare_compliant_device`]);
//! 4. what the benchmark needs, from the local repository: ansible-core, python3-apt, GNU time; and
//!    from the benchmark's own cached .debs (`bench/oscap.rs`: downloaded once from the host's mirror,
//!    the e2e image unchanged): OpenSCAP's scanner, SSG's Debian content and strace;
//!    `e2e/bench/measure.sh` and `e2e/bench/playbook.yml` copied in;
//! 5. the full package index of a real device: the host's apt lists of bookworm, bookworm-updates and
//!    bookworm-security copied in with matching sources entries (the local repository stays; no
//!    `apt-get update`, the container has no network), apt's binary cache built as `apt update` would,
//!    `apt-cache stats` to prove the index is loaded, `apt-get -s dist-upgrade` timed;
//! 6. measurements, each timed inside the device by `measure.sh` (bash's `$EPOCHREALTIME` around GNU
//!    `time -f '%M %U %S'`), so nsenter's cost is not counted: the harness floor (`true`); with
//!    `endpoint.protection` waived in the site ([`WAIVER`]: freshclam cannot download definitions
//!    offline), `handover check` with `updates.pending` not cached, then cached, `handover apply --yes`
//!    (no change), the profile of one check (`bench/profile.rs`: strace's execs and system calls inside
//!    the device, `perf stat` from the host), `ansible-playbook --check` of `e2e/bench/playbook.yml`
//!    and `oscap xccdf eval` of SSG's standard profile; last, the site restored,
//!    `handover apply --yes` on the device exactly as the scenario leaves it, where `endpoint.protection`
//!    fails and every apply re-runs its change;
//! 7. power off (also on error: [`Container`]'s `Drop`), write BENCHMARKS.md, with issue 18's goals
//!    and the "before" figures of [`profile::BEFORE`] (or `--before FILE`) beside this run's;
//!    `--save-before FILE` writes this run's figures as such a file.
//!
//! Before the container, on the host: the hashing section (`handover artifacts verify` of a 1 GiB
//! artifact next to sha256sum and openssl, see `bench_hash.rs`), and the fleet merge section
//! (`report merge` of 2,000 generated reports, see `bench_merge.rs`). `--only-hash` and `--only-merge`
//! run only that section, need no root and print it without writing BENCHMARKS.md.
//!
//! Must run as root, like `cargo xtask e2e`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::bench_hash::{self, HashBench};
use crate::container::Container;
use crate::e2e::{self, Phases, GUEST_BIN, IMAGE};
use crate::image::{self, Mirrors};
use crate::scenario;

mod oscap;
mod profile;

const MACHINE: &str = "bench-device";
/// Where measure.sh, the playbook and the last run's output live in the device.
const GUEST_DIR: &str = "/root/bench";
/// handover's cached answer of `updates.pending` (templates/linux/updates-pending.apt.check.sh).
const PENDING_CACHE: &str = "/var/lib/handover/cache/updates-pending";
const PLAYBOOK_CMD: &str = "ansible-playbook --check -c local -i localhost, playbook.yml";
/// The goals of issue 18.
const GOAL_CHECK_MS: f64 = 60.0;
const GOAL_RATIO_ANSIBLE: f64 = 50.0;
const GOAL_RATIO_OSCAP: f64 = 10.0;
const GOAL_CPU_MS: f64 = 60.0;
/// No-change apply at most this times the check (medians).
const GOAL_APPLY_RATIO: f64 = 1.1;
const GOAL_RSS_MIB: f64 = 20.0;
/// Traced runs of the check in the profile (strace's execs, perf stat -r).
const PROFILE_RUNS: usize = 3;
/// A full Debian index has tens of thousands of package names; the local repository alone a few hundred.
const MIN_PACKAGE_NAMES: u64 = 20_000;

const USAGE: &str = "\
usage: cargo xtask bench [options]
  --runs N          measured runs of handover check and apply (default 30, after 3 warm-ups)
  --ansible-runs N  measured runs of the Ansible check (default 5, after 1 warm-up)
  --hash-runs N     measured rounds of the hashing section (default 5, after 1 warm-up)
  --only-hash       only the hashing section, on the host (no container, no root); prints it and
                    does not write BENCHMARKS.md
  --only-merge      only the fleet merge section (`report merge` of 2,000 generated reports), on the
                    host; prints it and does not write BENCHMARKS.md
  --merge-runs N    measured rounds of the merge section (default 10, after 1 warm-up)
  --merge-baseline BIN  also measure this handover binary's merge, in the same rounds
  --no-build        do not run `cargo build --release -p handover`
  --bin PATH        benchmark this handover binary (implies --no-build)
  --save-before FILE  also write this run's figures to FILE (JSON), as the \"before\" of later runs
  --before FILE     the before file shown beside this run (default e2e/bench/before-2026-12-06.json,
                    if it exists)
";

struct Args {
    build: bool,
    bin: Option<PathBuf>,
    runs: usize,
    warmups: usize,
    ansible_runs: usize,
    ansible_warmups: usize,
    /// Runs of the slower side measurements: uncached check, apply with endpoint.protection failing,
    /// apt-get -s dist-upgrade.
    few_runs: usize,
    /// Rounds of the hashing section (handover, sha256sum, openssl once each).
    hash_runs: usize,
    only_hash: bool,
    only_merge: bool,
    merge_runs: usize,
    merge_baseline: Option<PathBuf>,
    save_before: Option<PathBuf>,
    before: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut parsed = Args {
        build: true,
        bin: None,
        runs: 30,
        warmups: 3,
        ansible_runs: 5,
        ansible_warmups: 1,
        few_runs: 5,
        hash_runs: 5,
        only_hash: false,
        only_merge: false,
        merge_runs: 10,
        merge_baseline: None,
        save_before: None,
        before: None,
    };
    let mut it = args.iter();
    let count = |v: Option<&String>, flag: &str| -> Result<usize> {
        match v.map(|s| s.parse::<usize>()) {
            Some(Ok(n)) if n > 0 => Ok(n),
            _ => bail!("{flag} needs a positive number\n{USAGE}"),
        }
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => parsed.runs = count(it.next(), "--runs")?,
            "--ansible-runs" => parsed.ansible_runs = count(it.next(), "--ansible-runs")?,
            "--hash-runs" => parsed.hash_runs = count(it.next(), "--hash-runs")?,
            "--only-hash" => parsed.only_hash = true,
            "--only-merge" => parsed.only_merge = true,
            "--merge-runs" => parsed.merge_runs = count(it.next(), "--merge-runs")?,
            "--merge-baseline" => {
                let Some(p) = it.next() else {
                    bail!("--merge-baseline needs a path\n{USAGE}")
                };
                parsed.merge_baseline = Some(PathBuf::from(p));
            }
            "--save-before" | "--before" => {
                let Some(p) = it.next() else {
                    bail!("{a} needs a path\n{USAGE}")
                };
                let p = Some(PathBuf::from(p));
                if a == "--before" {
                    parsed.before = p;
                } else {
                    parsed.save_before = p;
                }
            }
            "--no-build" => parsed.build = false,
            "--bin" => {
                let Some(p) = it.next() else {
                    bail!("--bin needs a path\n{USAGE}")
                };
                parsed.bin = Some(PathBuf::from(p));
                parsed.build = false;
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("cargo xtask bench: unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(parsed)
}

pub fn main(args: &[String]) -> Result<()> {
    let args = parse(args)?;
    if args.only_merge {
        let mut phases = Phases::default();
        let result = release_binary(&args, &mut phases).and_then(|bin| {
            phases.time("merge (host)", || {
                crate::bench_merge::run(&bin, args.merge_baseline.as_deref(), args.merge_runs)
            })
        });
        eprint!("{}", phases.report());
        print!("(`cargo xtask bench --only-merge`: the merge section alone, BENCHMARKS.md not written)\n\n{}", result?);
        return Ok(());
    }
    if args.only_hash {
        let mut phases = Phases::default();
        let result = only_hash(&args, &mut phases);
        eprint!("{}", phases.report());
        print!("{}", result?);
        return Ok(());
    }
    if !e2e::is_root() {
        bail!("cargo xtask bench must run as root (debootstrap, chroot, systemd-nspawn, nsenter)");
    }
    let mut phases = Phases::default();
    let result = run(&args, &mut phases);
    eprint!("{}", phases.report());
    let markdown = result?;
    let path = crate::workspace_root().join("BENCHMARKS.md");
    fs::write(&path, &markdown).with_context(|| format!("writing {}", path.display()))?;
    print!("{markdown}");
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The binary to benchmark, built first unless `--no-build` / `--bin`.
fn release_binary(args: &Args, phases: &mut Phases) -> Result<PathBuf> {
    let bin = match &args.bin {
        Some(bin) => bin.clone(),
        None => crate::target_dir().join("release/handover"),
    };
    if args.build {
        phases.time("cargo build --release", || {
            e2e::build_release(&crate::workspace_root())
        })?;
    }
    if !bin.is_file() {
        bail!("no handover binary at {}", bin.display());
    }
    Ok(bin)
}

/// `--only-hash`: the hashing section alone, as markdown.
fn only_hash(args: &Args, phases: &mut Phases) -> Result<String> {
    let bin = release_binary(args, phases)?;
    let hash = phases.time("hashing (host)", || bench_hash::run(&bin, args.hash_runs))?;
    Ok(format!(
        "(`cargo xtask bench --only-hash`: the hashing section alone, BENCHMARKS.md not written)\n\n{}",
        bench_hash::render(&hash)
    ))
}

/// One measured run.
#[derive(Debug, Clone)]
struct Sample {
    wall_ms: f64,
    rss_kib: u64,
    cpu_s: f64,
    code: i32,
    stdout: String,
}

/// The runs of one measurement and what they showed.
struct Series {
    key: Key,
    title: String,
    command: String,
    warmups: usize,
    samples: Vec<Sample>,
    /// Things the runs showed that the reader should know (changes, exit codes, cache use).
    notes: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Stats {
    n: usize,
    median: f64,
    p90: f64,
    min: f64,
    max: f64,
    rss_max_kib: u64,
    cpu_median_s: f64,
}

impl Series {
    fn stats(&self) -> Stats {
        let walls: Vec<f64> = self.samples.iter().map(|s| s.wall_ms).collect();
        let cpus: Vec<f64> = self.samples.iter().map(|s| s.cpu_s).collect();
        Stats {
            n: walls.len(),
            median: median(&walls),
            p90: percentile(&walls, 0.9),
            min: walls.iter().copied().fold(f64::INFINITY, f64::min),
            max: walls.iter().copied().fold(0.0, f64::max),
            rss_max_kib: self.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0),
            cpu_median_s: median(&cpus),
        }
    }

    fn exit_codes(&self) -> String {
        let mut codes: BTreeMap<i32, usize> = BTreeMap::new();
        for s in &self.samples {
            *codes.entry(s.code).or_default() += 1;
        }
        codes
            .iter()
            .map(|(c, n)| {
                if *n == self.samples.len() {
                    c.to_string()
                } else {
                    format!("{c} ({n}x)")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(crate) fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile (`q` in 0..=1): the smallest value with at least `q` of the values at or below it.
fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = (q * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

/// `$EPOCHREALTIME` ("SECONDS.MICROS") in microseconds, exactly (an f64 would round at this size).
fn epoch_micros(s: &str) -> Result<u64> {
    let (secs, frac) = s
        .split_once('.')
        .with_context(|| format!("not an $EPOCHREALTIME: {s:?}"))?;
    ensure!(frac.len() == 6, "not an $EPOCHREALTIME: {s:?}");
    Ok(secs.parse::<u64>()? * 1_000_000 + frac.parse::<u64>()?)
}

/// Parses measure.sh's line: START END EXIT MAXRSS_KB USER_S SYS_S CPU_MS. The CPU is CPU_MS (bash's
/// `times`, 1 ms steps) rather than GNU time's USER_S + SYS_S (10 ms steps).
fn parse_measure_line(line: &str) -> Result<(f64, i32, u64, f64)> {
    let w: Vec<&str> = line.split_whitespace().collect();
    ensure!(w.len() == 7, "measure.sh printed {line:?}");
    let (start, end) = (epoch_micros(w[0])?, epoch_micros(w[1])?);
    ensure!(end >= start, "the clock went backwards: {line:?}");
    let wall_ms = (end - start) as f64 / 1000.0;
    let code: i32 = w[2].parse().with_context(|| format!("exit in {line:?}"))?;
    let rss: u64 = w[3]
        .parse()
        .with_context(|| format!("max RSS in {line:?}"))?;
    for (i, what) in [(4, "user time"), (5, "sys time")] {
        w[i].parse::<f64>()
            .with_context(|| format!("{what} in {line:?}"))?;
    }
    let cpu_ms: u64 = w[6]
        .parse()
        .with_context(|| format!("CPU milliseconds in {line:?}"))?;
    Ok((wall_ms, code, rss, cpu_ms as f64 / 1000.0))
}

/// Runs `cmd` once in the device under measure.sh (in [`GUEST_DIR`], with `env` set) and returns the
/// figures with the command's stdout. `prepare` runs first, outside the timed part.
fn measure_once(c: &Container, prepare: &str, env: &str, cmd: &str) -> Result<Sample> {
    let out = format!("{GUEST_DIR}/last.out");
    let script = format!(
        "set -e; cd {GUEST_DIR}; {prepare}\n{env} bash {GUEST_DIR}/measure.sh {out} {cmd}; cat {out}"
    );
    let result = c.exec_timeout(&script, Duration::from_secs(600))?;
    ensure!(
        result.success(),
        "measuring `{cmd}` failed ({}):\n{}\n{}",
        result.status,
        result.stdout,
        result.stderr
    );
    let (line, stdout) = result
        .stdout
        .split_once('\n')
        .unwrap_or((&result.stdout, ""));
    let (wall_ms, code, rss_kib, cpu_s) = parse_measure_line(line)?;
    Ok(Sample {
        wall_ms,
        rss_kib,
        cpu_s,
        code,
        stdout: stdout.to_string(),
    })
}

/// Which measurement a series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Check,
    CheckUncached,
    Apply,
    ApplyReattempt,
    Ansible,
    Oscap,
    AptSim,
    RenderWindows,
    Floor,
}

/// The order of the tables.
const ORDER: [Key; 9] = [
    Key::Check,
    Key::CheckUncached,
    Key::Apply,
    Key::ApplyReattempt,
    Key::Ansible,
    Key::Oscap,
    Key::AptSim,
    Key::RenderWindows,
    Key::Floor,
];

/// One measurement: `cmd` run in [`GUEST_DIR`] with `env` set, after `prepare` (not timed), `warmups`
/// times unrecorded, then `runs` times recorded.
struct Spec<'a> {
    key: Key,
    title: &'a str,
    /// The command as the report shows it.
    shown: &'a str,
    prepare: &'a str,
    env: &'a str,
    cmd: &'a str,
    warmups: usize,
    runs: usize,
}

/// Runs `spec`; `validate` sees every run (warm-ups too) and fails the bench on a run that is not as
/// expected.
fn measure(
    c: &Container,
    spec: &Spec,
    mut validate: impl FnMut(&Sample) -> Result<()>,
) -> Result<Series> {
    eprintln!(
        "measuring {}: {} warm-up + {} runs",
        spec.title, spec.warmups, spec.runs
    );
    for _ in 0..spec.warmups {
        validate(&measure_once(c, spec.prepare, spec.env, spec.cmd)?)?;
    }
    let mut samples = Vec::with_capacity(spec.runs);
    for _ in 0..spec.runs {
        let s = measure_once(c, spec.prepare, spec.env, spec.cmd)?;
        validate(&s)?;
        samples.push(s);
    }
    Ok(Series {
        key: spec.key,
        title: spec.title.to_string(),
        command: spec.shown.to_string(),
        warmups: spec.warmups,
        samples,
        notes: Vec::new(),
    })
}

/// What handover's JSON report of one run says.
struct HandoverRun {
    json: Value,
}

impl HandoverRun {
    fn parse(s: &Sample, what: &str) -> Result<HandoverRun> {
        let json: Value = serde_json::from_str(&s.stdout)
            .with_context(|| format!("{what}: stdout is not one JSON document:\n{}", s.stdout))?;
        Ok(HandoverRun { json })
    }

    fn controls(&self) -> &[Value] {
        self.json["controls"].as_array().map_or(&[], Vec::as_slice)
    }

    fn control(&self, id: &str) -> &Value {
        self.controls()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or(&Value::Null)
    }

    /// Every control reported, the run not partial, no control in error and none changed (but those in
    /// `except`).
    fn expect_unchanged(&self, what: &str, except: &[&str]) -> Result<()> {
        ensure!(
            self.json["scope"] == "full"
                && self.controls().len() == crate::scenario::CONVERGED.len(),
            "{what}: scope {} with {} controls (expected full, {})",
            self.json["scope"],
            self.controls().len(),
            crate::scenario::CONVERGED.len()
        );
        for c in self.controls() {
            if except.iter().any(|e| c["id"] == *e) {
                continue;
            }
            ensure!(
                c["status"] != "error" && c["status"] != "fixed" && c["changed"] != true,
                "{what}: {} is {} (changed: {}): {}",
                c["id"],
                c["status"],
                c["changed"],
                c["reason"]
            );
        }
        Ok(())
    }

    fn pending_source(&self) -> String {
        self.control("updates.pending")["observed"]["source"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }
}

/// Median duration_ms of each control over `samples` (handover JSON reports), slowest first.
fn control_durations(samples: &[Sample]) -> Result<Vec<(String, f64)>> {
    let mut per: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in samples {
        let run = HandoverRun::parse(s, "handover")?;
        for c in run.controls() {
            per.entry(c["id"].as_str().unwrap_or("?").to_string())
                .or_default()
                .push(c["duration_ms"].as_f64().unwrap_or(f64::NAN));
        }
    }
    let mut v: Vec<(String, f64)> = per.into_iter().map(|(k, d)| (k, median(&d))).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(v)
}

/// The recap of an ansible-playbook run: (ok, changed, failed + unreachable), and the tasks that reported
/// a change.
fn ansible_recap(stdout: &str) -> Result<(u32, u32, u32, Vec<String>)> {
    let recap = stdout
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .find(|l| l.contains("ok="))
        .with_context(|| format!("no PLAY RECAP in ansible-playbook's output:\n{stdout}"))?;
    let field = |name: &str| -> u32 {
        recap
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let mut changed_tasks = Vec::new();
    let mut task = String::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("TASK [") {
            task = rest.split(']').next().unwrap_or("").to_string();
        } else if line.starts_with("changed:") {
            changed_tasks.push(task.clone());
        }
    }
    Ok((
        field("ok"),
        field("changed"),
        field("failed") + field("unreachable"),
        changed_tasks,
    ))
}

/// The machine the figures come from.
struct Machine {
    date: String,
    nproc: String,
    memory: String,
    kernel: String,
    cpu: String,
    load_start: String,
}

fn host_machine() -> Machine {
    let read = |p: &str| fs::read_to_string(p).unwrap_or_default();
    let cmd = |prog: &str, args: &[&str]| {
        Command::new(prog)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let meminfo = read("/proc/meminfo");
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    Machine {
        date: cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        nproc: cmd("nproc", &[]),
        memory: format!("{:.1} GiB", mem_kib as f64 / 1024.0 / 1024.0),
        kernel: cmd("uname", &["-sr"]),
        cpu,
        load_start: load_average(),
    }
}

pub(crate) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The package index: what it holds and what loading it costs.
struct Index {
    suites: Vec<String>,
    files: usize,
    bytes: u64,
    package_names: u64,
    stats: String,
    gencaches_ms: f64,
    sim: Series,
    sim_inst: usize,
    sim_security: usize,
}

/// File-name prefix apt gives the lists of `uri` (apt's URItoFileName, for plain http URIs).
fn lists_prefix(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    rest.trim_end_matches('/').replace('/', "_")
}

/// Copies the host's apt lists of `suite`, `suite-updates` and `suite-security` into the device with
/// matching sources entries (the local repository stays), builds apt's binary cache as `apt update`
/// does at its end, checks that the full index is loaded and times `apt-get -s dist-upgrade` there.
fn full_index(c: &Container, runs: usize) -> Result<Index> {
    let suite = IMAGE.suite;
    let mirrors = Mirrors::from_host(suite)?;
    let mut entries = vec![(mirrors.main.clone(), suite.to_string())];
    if let Some(u) = &mirrors.updates {
        entries.push((u.clone(), format!("{suite}-updates")));
    }
    if let Some(u) = &mirrors.security {
        entries.push((u.clone(), format!("{suite}-security")));
    }
    let host_lists = Path::new("/var/lib/apt/lists");
    let guest_lists = c.root().join("var/lib/apt/lists");
    let mut files = 0;
    let mut bytes = 0;
    let mut sources = String::from(
        "# cargo xtask bench: the host's package lists, copied in (no network here)\n",
    );
    let mut suites = Vec::new();
    for (uri, s) in &entries {
        let prefix = format!("{}_dists_{s}_", lists_prefix(uri));
        let mut names: Vec<PathBuf> = fs::read_dir(host_lists)
            .with_context(|| format!("reading {}", host_lists.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix))
            })
            .collect();
        names.sort();
        let has = |what: &str| {
            names.iter().any(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(what))
            })
        };
        ensure!(
            has("Release") && has("_main_binary-amd64_Packages"),
            "the host has no apt lists of {uri} {s} main (looked for {prefix}* in {}): run apt-get update on the host",
            host_lists.display()
        );
        for p in &names {
            // cp -p: the lists keep their dates (handover looks at their age).
            let status = Command::new("cp")
                .arg("-p")
                .arg(p)
                .arg(&guest_lists)
                .status()?;
            ensure!(status.success(), "copying {} into the device", p.display());
            files += 1;
            bytes += fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        }
        let _ = writeln!(sources, "deb {uri} {s} main");
        suites.push(format!("{uri} {s} main"));
    }
    c.exec_input(
        "cat > /etc/apt/sources.list.d/debian.list",
        sources.as_bytes(),
        Duration::from_secs(30),
    )?;
    // What `apt update` does at its end, so that the lists are what apt's binary cache holds.
    let gen = c.exec_ok_timeout(
        &format!("bash {GUEST_DIR}/measure.sh {GUEST_DIR}/gencaches.out apt-cache gencaches"),
        Duration::from_secs(300),
    )?;
    let (gencaches_ms, code, _, _) = parse_measure_line(gen.trim())?;
    ensure!(code == 0, "apt-cache gencaches failed (exit {code})");
    let stats = c.exec_ok("apt-cache stats")?;
    let package_names = stats
        .lines()
        .find(|l| l.starts_with("Total package names:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .with_context(|| format!("apt-cache stats:\n{stats}"))?;
    ensure!(
        package_names >= MIN_PACKAGE_NAMES,
        "apt in the device knows {package_names} package names: the copied lists were not loaded\n{stats}"
    );
    let sim = measure(
        c,
        &Spec {
            key: Key::AptSim,
            title: "apt-get -s dist-upgrade (the full index loaded)",
            shown: "apt-get -s -o Debug::NoLocking=1 dist-upgrade",
            prepare: "",
            env: "",
            cmd: "apt-get -s -o Debug::NoLocking=1 dist-upgrade",
            warmups: 1,
            runs,
        },
        |s| {
            ensure!(s.code == 0, "apt-get -s dist-upgrade: exit {}", s.code);
            Ok(())
        },
    )?;
    let last = &sim
        .samples
        .last()
        .map(|s| s.stdout.clone())
        .unwrap_or_default();
    let inst: Vec<&str> = last.lines().filter(|l| l.starts_with("Inst ")).collect();
    let security = inst
        .iter()
        .filter(|l| l.contains("-security") || l.contains("Debian-Security"))
        .count();
    Ok(Index {
        suites,
        files,
        bytes,
        package_names,
        stats,
        gencaches_ms,
        sim_inst: inst.len(),
        sim_security: security,
        sim,
    })
}

/// The waiver the benchmark adds to the site for `endpoint.protection`: the device has no internet, so
/// freshclam cannot download ClamAV definitions and the control fails, which would make every apply
/// re-run its change (restart ClamAV, about 0.6 s). Waived, its check still runs; apply leaves it alone.
const WAIVER: &str = r#"
[[waiver]]
control = "endpoint.protection"
reason = "benchmark device without internet: freshclam cannot download ClamAV definitions"
approved_by = "cargo xtask bench"
ticket = "BENCH"
expires = EXPIRES
"#;

fn waive_endpoint(c: &Container) -> Result<()> {
    let expires = c.exec_ok("date -u -d '+30 days' +%F")?;
    let waiver = WAIVER.replace("EXPIRES", expires.trim());
    c.exec_input(
        "cat >> /etc/handover/site.toml",
        waiver.as_bytes(),
        Duration::from_secs(30),
    )?;
    Ok(())
}

fn run(args: &Args, phases: &mut Phases) -> Result<String> {
    let machine = host_machine();
    let root_dir = crate::workspace_root();
    let e2e_dir = crate::target_dir().join("e2e");
    let bench_dir = e2e_dir.join("bench");
    let guest_root = bench_dir.join("root");

    let bin = release_binary(args, phases)?;
    // On the host, before the container starts (it needs none): hashing a 1 GiB artifact.
    let hash = phases.time("hashing (host)", || bench_hash::run(&bin, args.hash_runs))?;
    let merge = phases.time("merge (host)", || {
        crate::bench_merge::run(&bin, args.merge_baseline.as_deref(), args.merge_runs)
    })?;
    // Counted from the rendered Windows scripts, not measured: nothing runs on Windows here.
    let windows = phases.time("windows (counted from the scripts)", || {
        crate::bench_windows::section(&root_dir)
    })?;
    let mut versions = vec![("handover binary".to_string(), binary_identity(&bin))];
    let image = phases.time("base image (cache)", || {
        image::ensure(&e2e_dir.join("cache"), &IMAGE, false)
    })?;
    let extras = phases.time("bench extras (oscap, strace: cached .debs)", || {
        oscap::ensure_repo(&e2e_dir.join("cache"), &image, IMAGE.suite)
    })?;
    phases.time("fresh root from cache", || {
        fs::create_dir_all(&bench_dir)?;
        e2e::fresh_root(&image, &guest_root)
    })?;
    phases.time("fixture", || {
        e2e::apply_fixture(&guest_root, &e2e::DEBIAN_12)
    })?;
    let c = phases.time("boot", || {
        e2e::boot_device(&image, &guest_root, MACHINE, &bench_dir.join("nspawn.log"))
    })?;
    // From here on, an error drops `c`, which powers the container off.
    phases.time("copy in", || {
        e2e::install_handover(&c, &bin)?;
        c.copy_in(&root_dir.join("e2e/bench"), GUEST_DIR)
    })?;
    phases.time("compliant device (scenario's apply)", || {
        scenario::prepare_compliant_device(&c)
    })?;
    phases.time("benchmark tools (local repository)", || {
        c.exec_ok_timeout(
            "DEBIAN_FRONTEND=noninteractive apt-get -q -y install ansible-core python3-apt time >/dev/null",
            Duration::from_secs(600),
        )?;
        let deb = |p: &str| format!("dpkg-query -W -f '${{Version}}' {p}");
        for (label, cmd) in [
            (
                "device OS",
                ". /etc/os-release; echo \"$PRETTY_NAME, $(cat /etc/debian_version)\"".to_string(),
            ),
            ("systemd", "systemctl --version | head -n 1".to_string()),
            ("handover", format!("{GUEST_BIN} --version")),
            ("ansible-core", deb("ansible-core")),
            ("Python", "python3 --version".to_string()),
            ("apt", deb("apt")),
            ("GNU time", deb("time")),
        ] {
            let v = c.exec_ok(&cmd)?;
            versions.push((label.to_string(), v.trim().to_string()));
        }
        Ok(())
    })?;
    let content = phases.time("bench extras: install in the device", || {
        let ds = oscap::install(&c, &extras, GUEST_DIR)?;
        versions.extend(oscap::versions(&c)?);
        Ok(ds)
    })?;
    let index = phases.time("full package index", || full_index(&c, args.few_runs))?;

    let check_cmd = format!("{GUEST_BIN} check --format json");
    let apply_cmd = format!("{GUEST_BIN} apply --yes --format json");
    let mut series = Vec::new();
    let mut statuses = Vec::new();
    let mut load_before = String::new();
    let mut control_count = 0;
    let mut check_profile = profile::Profile::default();
    let mut oscap_results = BTreeMap::<String, usize>::new();
    let mut oscap_unchanged = None;
    phases.time("measure", || {
        series.push(measure(
            &c,
            &Spec {
                key: Key::Floor,
                title: "harness floor: `true` under measure.sh",
                shown: "true",
                prepare: "",
                env: "",
                cmd: "true",
                warmups: args.warmups,
                runs: args.runs,
            },
            |_| Ok(()),
        )?);

        // Rendering the Windows profile (every PowerShell script of its 20 controls and the ODT XML, with the
        // site's values escaped): what a technician pays for `handover render` and for each Windows run
        // before PowerShell starts.
        let render_cmd = format!("{GUEST_BIN} render --profile windows-11 --out /tmp/render-w11");
        series.push(measure(
            &c,
            &Spec {
                key: Key::RenderWindows,
                title: "handover render --profile windows-11",
                shown: "handover render --profile windows-11 --out DIR",
                prepare: "rm -rf /tmp/render-w11",
                env: "",
                cmd: &render_cmd,
                warmups: args.warmups,
                runs: args.runs,
            },
            |s| {
                ensure!(s.code == 0, "handover render --profile windows-11 exited {}", s.code);
                Ok(())
            },
        )?);

        // endpoint.protection waived (see WAIVER) for all but the last measurement.
        c.exec_ok(&format!("cp -p /etc/handover/site.toml {GUEST_DIR}/site.toml.scenario"))?;
        waive_endpoint(&c)?;
        // The device as measured: every control as in the e2e scenario's CONVERGED table, but for the
        // waiver.
        let first = HandoverRun::parse(&measure_once(&c, "", "", &check_cmd)?, "handover check")?;
        let mut wrong = Vec::new();
        for (id, want) in scenario::CONVERGED {
            let want = if *id == "endpoint.protection" { "waived" } else { want };
            let ctl = first.control(id);
            let have = ctl["status"].as_str().unwrap_or("missing");
            statuses.push((id.to_string(), have.to_string()));
            if have != want {
                wrong.push(format!("  {id}: expected {want}, got {have}: {}", ctl["reason"]));
            }
        }
        ensure!(
            wrong.is_empty(),
            "the benchmark's device is not as expected{}:\n{}",
            if wrong.iter().any(|w| w.contains("updates.pending")) {
                " (security updates in the host's package lists that the cached base lacks? \
                 rebuild it: cargo xtask e2e --rebuild-cache)"
            } else {
                ""
            },
            wrong.join("\n")
        );
        first.expect_unchanged("check on the benchmark's device", &[])?;
        // How many controls the report has (never a number written here).
        control_count = first.controls().len();
        load_before = load_average();

        let mut sources = BTreeMap::<String, usize>::new();
        let mut uncached = measure(
            &c,
            &Spec {
                key: Key::CheckUncached,
                title: "handover check, updates.pending not cached",
                shown: "handover check --format json",
                prepare: &format!("rm -f {PENDING_CACHE}"),
                env: "",
                cmd: &check_cmd,
                warmups: 0,
                runs: args.few_runs,
            },
            |s| {
                let r = HandoverRun::parse(s, "handover check")?;
                r.expect_unchanged("handover check", &[])?;
                *sources.entry(r.pending_source()).or_default() += 1;
                Ok(())
            },
        )?;
        // Every uncached run must have answered from the device, never from handover's cache: from the
        // security archive's package lists (packages-files), or from apt-get where the check falls back.
        ensure!(
            sources.keys().all(|k| k == "packages-files" || k == "apt-get"),
            "updates.pending answered from its cache in a run meant to be uncached: {sources:?}"
        );
        let answered: Vec<String> = sources
            .iter()
            .map(|(k, n)| format!("{k} in {n} of {} runs", args.few_runs))
            .collect();
        uncached.notes.push(format!(
            "each run after removing handover's cached answer of updates.pending (untimed), on the full \
             index: what the first check after an install or an `apt update` costs (observed source: {}; \
             packages-files = the security archive's lists and dpkg's status read directly, apt-get = \
             `apt-get -s dist-upgrade`)",
            answered.join(", ")
        ));
        series.push(uncached);

        let mut sources = BTreeMap::<String, usize>::new();
        let mut cached = measure(
            &c,
            &Spec {
                key: Key::Check,
                title: &format!("handover check (all {control_count} controls)"),
                shown: "handover check --format json",
                prepare: "",
                env: "",
                cmd: &check_cmd,
                warmups: args.warmups,
                runs: args.runs,
            },
            |s| {
                let r = HandoverRun::parse(s, "handover check")?;
                r.expect_unchanged("handover check", &[])?;
                *sources.entry(r.pending_source()).or_default() += 1;
                Ok(())
            },
        )?;
        ensure!(
            sources.keys().all(|k| k == "cache"),
            "updates.pending should answer from its cache: {sources:?}"
        );
        cached.notes.push(
            "updates.pending answered from its cache (keyed on dpkg's status, pkgcache.bin, the lists \
             and apt's sources, preferences and configuration) in every run, as in every check after the first"
                .into(),
        );
        series.push(cached);

        // Where a check's time goes beyond duration_ms: its processes, system calls, counters.
        eprintln!("profiling one check: strace (execve, -c) and perf stat, {PROFILE_RUNS} runs");
        check_profile = profile::profile(&c, GUEST_DIR, &check_cmd, PROFILE_RUNS)?;

        let fingerprint = "md5sum /var/lib/dpkg/status /etc/shadow /etc/group /etc/passwd";
        let before = c.exec_ok(fingerprint)?;
        let mut apply = measure(
            &c,
            &Spec {
                key: Key::Apply,
                title: "handover apply --yes (compliant device, no change)",
                shown: "handover apply --yes --format json",
                prepare: "",
                env: "",
                cmd: &apply_cmd,
                warmups: args.warmups,
                runs: args.runs,
            },
            |s| {
                let r = HandoverRun::parse(s, "handover apply")?;
                r.expect_unchanged("handover apply --yes", &[])
            },
        )?;
        ensure!(
            c.exec_ok(fingerprint)? == before,
            "handover apply --yes changed packages or accounts"
        );
        apply.notes.push(
            "no control changed in any run (every control's `changed` false; dpkg status, passwd, \
             shadow and group unchanged)"
                .into(),
        );
        series.push(apply);

        let mut changed_tasks = BTreeMap::<String, usize>::new();
        let mut recaps = BTreeMap::<String, usize>::new();
        let mut ansible = measure(
            &c,
            &Spec {
                key: Key::Ansible,
                title: "ansible-playbook --check (17 equivalent tasks)",
                shown: PLAYBOOK_CMD,
                prepare: "",
                env: "ANSIBLE_NOCOLOR=1",
                cmd: PLAYBOOK_CMD,
                warmups: args.ansible_warmups,
                runs: args.ansible_runs,
            },
            |s| {
                let (ok, changed, failed, tasks) = ansible_recap(&s.stdout)?;
                ensure!(
                    failed == 0 && s.code == 0,
                    "ansible-playbook --check failed (exit {}):\n{}",
                    s.code,
                    s.stdout
                );
                *recaps
                    .entry(format!("ok={ok} changed={changed} failed={failed}"))
                    .or_default() += 1;
                for t in tasks {
                    *changed_tasks.entry(t).or_default() += 1;
                }
                Ok(())
            },
        )?;
        ansible.notes.push(format!(
            "PLAY RECAP of every run (warm-up included): {}",
            recaps.keys().cloned().collect::<Vec<_>>().join("; ")
        ));
        if changed_tasks.is_empty() {
            ansible.notes.push(
                "no task reported a change on the compliant device: the playbook's files match \
                 what handover wrote"
                    .into(),
            );
        } else {
            ansible.notes.push(format!(
                "tasks that reported a change (in check mode: would change): {}",
                changed_tasks.keys().cloned().collect::<Vec<_>>().join("; ")
            ));
        }
        series.push(ansible);

        // OpenSCAP: SSG's standard profile, in the same device.
        let oscap_cmd = oscap::command(&content.evaluated);
        let mut rule_counts = BTreeMap::<usize, usize>::new();
        let mut scan = measure(
            &c,
            &Spec {
                key: Key::Oscap,
                title: "oscap xccdf eval, SSG standard profile",
                shown: &oscap_cmd,
                prepare: "",
                env: "",
                cmd: &oscap_cmd,
                warmups: 1,
                runs: args.few_runs,
            },
            |s| {
                let rules = oscap::validate(s.code, &s.stdout)?;
                *rule_counts.entry(rules).or_default() += 1;
                oscap_results = oscap::results(&s.stdout);
                Ok(())
            },
        )?;
        ensure!(
            rule_counts.len() == 1,
            "oscap evaluated a different number of rules from run to run: {rule_counts:?}"
        );
        scan.notes.push(format!(
            "every run (warm-up included) evaluated the same rules; the last: {}; oscap exits 2 when a rule fails, 1 on an error",
            oscap::describe(&oscap_results)
        ));
        if content.adapted() {
            // Once, for the record: the stream as SSG ships it, on this Debian 12 device.
            let once = measure_once(&c, "", "", &oscap::command(&content.installed))?;
            oscap::validate(once.code, &once.stdout)?;
            let results = oscap::results(&once.stdout);
            scan.notes.push(format!(
                "the data stream as SSG ships it (`{}`, not adapted), run once: {}, in {}: its CPE check \
                 finds no Debian 11 here, so no rule is evaluated",
                content.installed,
                oscap::describe(&results),
                ms(once.wall_ms)
            ));
            oscap_unchanged = Some(results);
        }
        series.push(scan);

        // Last, as it restarts ClamAV: the device exactly as the e2e scenario leaves it, where
        // endpoint.protection fails offline and every apply re-runs its change.
        c.exec_ok(&format!("cp -p {GUEST_DIR}/site.toml.scenario /etc/handover/site.toml"))?;
        let mut reattempt = measure(
            &c,
            &Spec {
                key: Key::ApplyReattempt,
                title: "handover apply --yes, endpoint.protection failing (no waiver)",
                shown: "handover apply --yes --format json",
                prepare: "",
                env: "",
                cmd: &apply_cmd,
                warmups: 1,
                runs: args.few_runs,
            },
            |s| {
                let r = HandoverRun::parse(s, "handover apply")?;
                r.expect_unchanged("handover apply --yes", &["endpoint.protection"])?;
                let ep = r.control("endpoint.protection");
                ensure!(
                    ep["changed"] == true && ep["status"] == "fail",
                    "endpoint.protection should be re-applied and still fail offline: {ep}"
                );
                Ok(())
            },
        )?;
        let ep_ms = control_durations(&reattempt.samples)?
            .into_iter()
            .find(|(id, _)| id == "endpoint.protection")
            .map_or(f64::NAN, |(_, d)| d);
        reattempt.notes.push(format!(
            "the device exactly as the e2e scenario leaves it (the site without the waiver): ClamAV has \
             no definitions offline, so endpoint.protection fails and every apply re-runs its change \
             (enable and restart freshclam, try to start clamd) and re-checks it: {ep_ms:.0} ms \
             (median) of the run. Nothing else changes"
        ));
        series.push(reattempt);
        Ok(())
    })?;
    let load_after = load_average();
    phases.time("shutdown", || c.shutdown())?;

    let mut report = Report {
        machine,
        load_before,
        load_after,
        versions,
        index,
        statuses,
        series,
        hash,
        merge,
        windows,
        args,
        control_count,
        profile: check_profile,
        content,
        oscap_results,
        oscap_unchanged,
        figures: Value::Null,
        before: None,
    };
    report.figures = figures(&report);
    if let Some(path) = &args.save_before {
        profile::write_before(path, &report.figures)?;
        eprintln!("wrote the before figures to {}", path.display());
    }
    let before_path = match &args.before {
        Some(p) => p.clone(),
        None => root_dir.join(profile::BEFORE),
    };
    if args.before.is_some() || before_path.exists() {
        let shown = before_path
            .strip_prefix(&root_dir)
            .unwrap_or(&before_path)
            .display()
            .to_string();
        report.before = Some((profile::read_before(&before_path)?, shown));
    }
    Ok(render(&report))
}

/// Figures of one series as the before file keeps them.
fn series_json(s: &Series) -> Value {
    let st = s.stats();
    serde_json::json!({
        "runs": st.n,
        "median_ms": st.median,
        "p90_ms": st.p90,
        "cpu_median_ms": st.cpu_median_s * 1000.0,
        "rss_max_mib": st.rss_max_kib as f64 / 1024.0,
    })
}

/// This run's figures, in the shape of a before file ([`profile::figures_json`]).
fn figures(r: &Report) -> Value {
    let find = |k: Key| r.series.iter().chain([&r.index.sim]).find(|s| s.key == k);
    let series: Vec<(&str, Value)> = [
        ("check", Key::Check),
        ("check_uncached", Key::CheckUncached),
        ("apply", Key::Apply),
        ("apt_sim", Key::AptSim),
        ("ansible", Key::Ansible),
        ("oscap", Key::Oscap),
    ]
    .iter()
    .filter_map(|(name, k)| find(*k).map(|s| (*name, series_json(s))))
    .collect();
    let per = |k: Key| {
        find(k)
            .and_then(|s| control_durations(&s.samples).ok())
            .unwrap_or_default()
    };
    let (check, uncached, apply) = (per(Key::Check), per(Key::CheckUncached), per(Key::Apply));
    let get = |v: &[(String, f64)], id: &str| v.iter().find(|(k, _)| k == id).map(|(_, d)| *d);
    let controls: Vec<(String, [Option<f64>; 3])> = check
        .iter()
        .map(|(id, d)| (id.clone(), [Some(*d), get(&uncached, id), get(&apply, id)]))
        .collect();
    let binary = r
        .versions
        .iter()
        .find(|(k, _)| k == "handover binary")
        .map_or("?", |(_, v)| v.as_str());
    let load = format!("{} → {}", r.load_before, r.load_after);
    profile::figures_json(
        &r.machine.date,
        &load,
        binary,
        &series,
        &controls,
        &r.profile,
    )
}

/// The binary benchmarked: its path, the start of its sha256, and the git commit of the tree (which
/// may be newer than the binary with `--no-build`).
fn binary_identity(bin: &Path) -> String {
    let out = |cmd: &mut Command| {
        cmd.output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    };
    let sha = out(Command::new("sha256sum").arg(bin));
    let git = out(Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .current_dir(crate::workspace_root()));
    // The last commit that changed what the binary is built from: on a branch that changes only the
    // bench, the tree's commit is newer than the handover it measures.
    let sources = [
        "src",
        "templates",
        "profiles",
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
    ];
    let built_from = out(Command::new("git")
        .args(["log", "-1", "--format=%h", "--abbrev=12", "--"])
        .args(sources)
        .current_dir(crate::workspace_root()));
    let changed = out(Command::new("git")
        .args(["status", "--porcelain", "--"])
        .args(sources)
        .current_dir(crate::workspace_root()));
    format!(
        "{} (sha256 {}), tree at git {git}; handover's sources ({}) last changed in {built_from}{}",
        bin.strip_prefix(crate::workspace_root())
            .unwrap_or(bin)
            .display(),
        sha.get(..16).unwrap_or(&sha),
        sources.join(", "),
        if changed.is_empty() || changed == "unknown" {
            ""
        } else {
            ", with uncommitted changes"
        }
    )
}

struct Report<'a> {
    machine: Machine,
    load_before: String,
    load_after: String,
    versions: Vec<(String, String)>,
    index: Index,
    statuses: Vec<(String, String)>,
    series: Vec<Series>,
    hash: HashBench,
    /// The merge section, as markdown.
    merge: String,
    /// The Windows section (PowerShell starts, modules and documented costs per check), as markdown.
    windows: String,
    args: &'a Args,
    /// Controls in the check's report.
    control_count: usize,
    profile: profile::Profile,
    /// The SSG data stream oscap evaluated (paths in the device).
    content: oscap::Content,
    /// oscap's results of its last run, by result.
    oscap_results: BTreeMap<String, usize>,
    /// The results of the data stream as shipped, when the one evaluated is adapted.
    oscap_unchanged: Option<BTreeMap<String, usize>>,
    /// This run's figures as a before file would keep them.
    figures: Value,
    /// The before file and its path as shown.
    before: Option<(Value, String)>,
}

/// Why the check's time or CPU goal is not met, from this run's own figures: what handover costs by itself,
/// the programs the checks start, and the shell's reads.
fn why_not(p: &profile::Profile, render_ms: f64, floor_ms: f64) -> String {
    let mut programs: Vec<(&String, &u64)> = p
        .programs
        .iter()
        .filter(|(name, _)| name.as_str() != "handover")
        .collect();
    programs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let started: u64 = programs.iter().map(|(_, n)| **n).sum();
    let top: Vec<String> = programs
        .iter()
        .take(8)
        .map(|(name, n)| format!("`{name}` {n}"))
        .collect();
    let reads = p
        .syscalls
        .iter()
        .find(|c| c.name == "read")
        .map_or(0, |c| c.calls);
    let mut s = String::from(
        "Where a check's time goes, where a goal above is not met (figures of this run):\n\n",
    );
    let _ = writeln!(
        s,
        "- handover by itself: `handover render --profile windows-11` (start, choose the profile, compile \
         and render every template, print) costs {} of the median, the harness {} of that; a check does \
         that work too, then writes its record and state;",
        ms(render_ms),
        ms(floor_ms)
    );
    if let Ok(rows) = &p.by_program {
        let top: Vec<String> = rows
            .iter()
            .take(8)
            .map(|r| format!("`{}` {:.1} ms", r.program, r.ms_per_check))
            .collect();
        let _ = writeln!(
            s,
            "- the CPU of a check by program (`perf record`, see Profile of one check; sampling adds its own \
             cost): {}; `sh` is the batch of checks itself, its subshells and forks;",
            top.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "- the programs the checks start: {started} besides handover ({}), each a fork and exec, and \
         some (`sshd -T`, `apt-config`, `systemctl`, `sudo`, `dpkg-query`) load their whole configuration \
         or database: what the device's own tools cost, which a check cannot read more cheaply without \
         re-implementing them (sshd's resolved configuration, sudo's rules);",
        top.join(", ")
    );
    let _ = writeln!(
        s,
        "- the shell's own reading: {reads} `read` system calls in one check, a POSIX shell's `read` taking \
         a byte at a time (the configuration files several checks parse come from one `awk` in the batch's \
         facts; what is left is small files, /proc and the checks' own output).\n"
    );
    s
}

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else {
        format!("{v:.1} ms")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn table(out: &mut String, s: &Series) {
    let st = s.stats();
    let _ = writeln!(out, "### {}\n", s.title);
    let plural = |n: usize, what: &str| match n {
        0 => format!("no {what}"),
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    };
    let _ = writeln!(
        out,
        "`{}`: {} after {}\n",
        s.command,
        plural(st.n, "measured run"),
        plural(s.warmups, "warm-up")
    );
    let _ = writeln!(
        out,
        "| median | p90 | min | max | peak RSS | CPU (user+sys), median | exit |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} |\n",
        ms(st.median),
        ms(st.p90),
        ms(st.min),
        ms(st.max),
        mib(st.rss_max_kib),
        ms(st.cpu_median_s * 1000.0),
        s.exit_codes()
    );
    for n in &s.notes {
        let _ = writeln!(out, "- {n}");
    }
    if !s.notes.is_empty() {
        out.push('\n');
    }
}

fn render(r: &Report) -> String {
    let m = &r.machine;
    let i = &r.index;
    // Every series in the order of the tables.
    let mut all: Vec<&Series> = r.series.iter().chain([&i.sim]).collect();
    all.sort_by_key(|s| ORDER.iter().position(|k| *k == s.key));
    let get = |key: Key| {
        *all.iter()
            .find(|s| s.key == key)
            .expect("every series is measured")
    };
    let check = get(Key::Check).stats();
    let uncached = get(Key::CheckUncached).stats();
    let apply = get(Key::Apply).stats();
    let ansible = get(Key::Ansible).stats();
    let scan = get(Key::Oscap).stats();
    let sim = get(Key::AptSim).stats();
    let ratio = ansible.median / check.median;
    let ratio_uncached = ansible.median / uncached.median;
    let ratio_oscap = scan.median / check.median;
    let apply_ratio = apply.median / check.median;
    let check_cpu_ms = check.cpu_median_s * 1000.0;
    let n = r.control_count;
    let rules: usize = r.oscap_results.values().sum();
    let met = |ok: bool| if ok { "met" } else { "**not met**" };

    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Generated by `cargo xtask bench` on {}; every run of that command rewrites this file (and prints \
         it), so do not edit it by hand.\n",
        m.date
    );

    let _ = writeln!(out, "## Goals (issue 18)\n");
    let _ = writeln!(
        out,
        "Every figure from this run, in one booted device; medians over the measured runs (p90 in \
         brackets). The check has {n} controls (counted in its JSON report).\n"
    );
    let _ = writeln!(out, "| goal | measured | |");
    let _ = writeln!(out, "|---|---|---|");
    let _ = writeln!(
        out,
        "| `handover check` of all {n} controls: median at most {GOAL_CHECK_MS:.0} ms | {} ({}) | {} |",
        ms(check.median),
        ms(check.p90),
        met(check.median <= GOAL_CHECK_MS)
    );
    let _ = writeln!(
        out,
        "| check at least {GOAL_RATIO_ANSIBLE:.0}x faster than the Ansible check (same run) | {ratio:.1}x \
         ({} vs {}); first check after an update: {ratio_uncached:.1}x | {} |",
        ms(check.median),
        ms(ansible.median),
        met(ratio >= GOAL_RATIO_ANSIBLE)
    );
    let _ = writeln!(
        out,
        "| check at least {GOAL_RATIO_OSCAP:.0}x faster than `oscap xccdf eval` of SSG's standard \
         profile (same run) | {ratio_oscap:.1}x ({} vs {}, {rules} rules) | {} |",
        ms(check.median),
        ms(scan.median),
        met(ratio_oscap >= GOAL_RATIO_OSCAP)
    );
    let _ = writeln!(
        out,
        "| CPU (user+sys) of a check: median at most {GOAL_CPU_MS:.0} ms | {} (bash's `times` around GNU time, 1 ms steps, GNU time's own start included) | {} |",
        ms(check_cpu_ms),
        met(check_cpu_ms <= GOAL_CPU_MS)
    );
    let _ = writeln!(
        out,
        "| no-change `handover apply` at most {GOAL_APPLY_RATIO}x the check | {apply_ratio:.2}x ({} vs {}) | {} |",
        ms(apply.median),
        ms(check.median),
        met(apply_ratio <= GOAL_APPLY_RATIO)
    );
    let _ = writeln!(
        out,
        "| first check after an update (updates.pending not cached) at most `apt-get -s dist-upgrade` \
         alone (same run) | {} ({}) vs {} ({}): {:.2}x | {} |",
        ms(uncached.median),
        ms(uncached.p90),
        ms(sim.median),
        ms(sim.p90),
        uncached.median / sim.median,
        met(uncached.median <= sim.median)
    );
    let rss = |st: &Stats| st.rss_max_kib as f64 / 1024.0;
    let rss_worst = rss(&check).max(rss(&uncached)).max(rss(&apply));
    let _ = writeln!(
        out,
        "| peak RSS under {GOAL_RSS_MIB:.0} MiB (largest single process of the run's tree, highest over \
         the runs) | check {}, first check after an update {}, no-change apply {} | {} |",
        mib(check.rss_max_kib),
        mib(uncached.rss_max_kib),
        mib(apply.rss_max_kib),
        met(rss_worst < GOAL_RSS_MIB)
    );
    let _ = writeln!(out, "{}\n", bench_hash::goals_row(&r.hash));
    let _ = writeln!(
        out,
        "Load average (1, 5, 15 min): {} at the start, {} before the measurements in the device, {} \
         after them (host: {} cores). Peak RSS is per process: in the first check after an update it \
         is the largest of handover and what its scripts start (apt-get, when updates.pending runs it).\n",
        m.load_start, r.load_before, r.load_after, m.nproc
    );
    if check.median > GOAL_CHECK_MS || check_cpu_ms > GOAL_CPU_MS {
        out.push_str(&why_not(
            &r.profile,
            get(Key::RenderWindows).stats().median,
            get(Key::Floor).stats().median,
        ));
    }
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "| measurement | runs | median | p90 | min | max | peak RSS |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for s in &all {
        let st = s.stats();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            s.title,
            st.n,
            ms(st.median),
            ms(st.p90),
            ms(st.min),
            ms(st.max),
            mib(st.rss_max_kib)
        );
    }
    let _ = writeln!(
        out,
        "\nhandover check / Ansible check (medians): **{ratio:.1}x** faster with updates.pending cached, \
         {ratio_uncached:.1}x without; / oscap: **{ratio_oscap:.1}x**.\n"
    );

    match &r.before {
        Some((before, path)) => {
            out.push_str(&profile::render_before_after(before, &r.figures, path));
        }
        None => {
            let _ = writeln!(
                out,
                "## Before and after (issue 18)\n\nNo before file ({}): run `cargo xtask bench \
                 --save-before FILE` on the \"before\" tree to make one.\n",
                profile::BEFORE
            );
        }
    }

    let _ = writeln!(out, "## Machine and device\n");
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(
        out,
        "| host | {} cores (nproc), {} memory, {}, {} |",
        m.nproc, m.memory, m.kernel, m.cpu
    );
    let _ = writeln!(
        out,
        "| load average (1, 5, 15 min) | {} at the start, {} before the measurements, {} after |",
        m.load_start, r.load_before, r.load_after
    );
    let _ = writeln!(
        out,
        "| device | booted with systemd as PID 1 in `systemd-nspawn --boot --private-network` (the host's \
         kernel), one container for every measurement of the run |"
    );
    for (label, v) in &r.versions {
        let _ = writeln!(out, "| {label} | {v} |");
    }
    let _ = writeln!(
        out,
        "| package index | {} package names (`apt-cache stats`): the host's lists of {} ({} files, \
         {:.1} MiB as stored) and the local repository |\n",
        i.package_names,
        i.suites.join(", "),
        i.files,
        i.bytes as f64 / 1024.0 / 1024.0
    );

    let _ = writeln!(out, "## Measurements\n");
    let _ = writeln!(
        out,
        "Every figure is taken inside the device by `e2e/bench/measure.sh`: the wall time from bash's \
         `$EPOCHREALTIME`, read right before and right after `/usr/bin/time -f '%M %U %S' CMD`, so the \
         nsenter that starts each measurement from the host is not counted (starting GNU time is: see the \
         harness floor). Peak RSS is GNU time's `%M`, the largest resident set of any *one* process of the \
         command's tree (the kernel's ru_maxrss), the highest over the runs. CPU is user+sys of the whole \
         tree from bash's `times` before and after (1 ms steps; it includes starting GNU time, whose own \
         CPU the harness floor shows; GNU time's own %U and %S have 10 ms steps). p90 is the nearest-rank 90th percentile. The runs follow \
         one another; nothing else is started in the device meanwhile.\n"
    );
    for s in &all {
        table(&mut out, s);
        if s.key == Key::AptSim {
            let _ = writeln!(
                out,
                "Before these runs, `apt-cache gencaches` (what `apt update` does last: pkgcache.bin built \
                 from the copied lists) took {}. The simulation finds {} upgrades, {} of them from the \
                 security suite. `apt-cache stats`:\n",
                ms(i.gencaches_ms),
                i.sim_inst,
                i.sim_security
            );
            let stats: Vec<&str> = i
                .stats
                .lines()
                .filter(|l| {
                    [
                        "Total package names",
                        "Total package structures",
                        "  Normal packages",
                        "Total distinct versions",
                        "Total dependencies",
                        "Total space accounted",
                    ]
                    .iter()
                    .any(|p| l.starts_with(p))
                })
                .collect();
            let _ = writeln!(out, "```\n{}\n```\n", stats.join("\n"));
        }
    }

    let _ = writeln!(out, "### Where handover's time goes\n");
    let _ = writeln!(
        out,
        "Median `duration_ms` of each control over the measured runs (its check script; in apply, with its \
         change and re-check). handover runs the checks concurrently ({} cores here), so they add up to \
         more than the wall time.\n",
        m.nproc
    );
    let durations = [
        Key::Check,
        Key::CheckUncached,
        Key::Apply,
        Key::ApplyReattempt,
    ]
    .map(|k| control_durations(&get(k).samples));
    match durations {
        [Ok(a), Ok(b), Ok(c), Ok(d)] => {
            let cell = |v: &[(String, f64)], id: &str| {
                v.iter()
                    .find(|(k, _)| k == id)
                    .map_or("-".to_string(), |(_, d)| format!("{d:.0}"))
            };
            let _ = writeln!(
                out,
                "| control | status | check | check, not cached | apply | apply, endpoint.protection failing |"
            );
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
            for (id, _) in &a {
                let status = r
                    .statuses
                    .iter()
                    .find(|(k, _)| k == id)
                    .map_or("?", |(_, s)| s.as_str());
                let _ = writeln!(
                    out,
                    "| {id} | {status} | {} | {} | {} | {} |",
                    cell(&a, id),
                    cell(&b, id),
                    cell(&c, id),
                    cell(&d, id)
                );
            }
            out.push('\n');
        }
        _ => {
            let _ = writeln!(out, "(the per-control durations could not be read)\n");
        }
    }
    out.push_str(&profile::render_profile(&r.profile));

    let _ = writeln!(out, "## What each run does, and what is not comparable\n");
    let _ = writeln!(
        out,
        "- **The device**: a fresh copy of the e2e base (Debian 12 minbase with systemd), `e2e/fixture.sh`, \
         booted; then the e2e scenario's own steps (`scenario::prepare_compliant_device`): its site, the \
         first `handover apply --user jdoe ...` and `usermod -L mallory`. ansible-core, python3-apt and GNU \
         time are then installed from the local repository, OpenSCAP, SSG and strace from the bench's cached .debs. Controls that do not pass: {}.",
        r.statuses
            .iter()
            .filter(|(_, s)| s != "pass")
            .map(|(id, s)| format!("{id} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "- **endpoint.protection is waived** in every measurement but one (below): the device has \
         no internet, so freshclam cannot download ClamAV definitions, clamd does not start and the control \
         fails; every apply would then re-run its change. A `[[waiver]]` in the site (handover's own \
         mechanism) makes it `waived`: its check script still runs in every check and apply, and apply \
         leaves it alone, as on an online device whose ClamAV is up to date. clamd is not running, so no \
         figure includes its memory (about 1 GiB with real definitions). The table \"endpoint.protection failing\" \
         is the device without the waiver, exactly as the e2e scenario leaves it."
    );
    let _ = writeln!(
        out,
        "- **The package index** is the host's (copied, not fetched: the container has no network), as a \
         real device has after `apt update`; the local repository the baseline's packages came from stays a \
         source. updates.pending caches its answer in /var/lib/handover/cache, keyed on the dpkg status, \
         pkgcache.bin and the lists directory, so every check after the first reuses it until an install or \
         an `apt update`; the uncached table is what the first check after one costs."
    );
    let _ = writeln!(
        out,
        "- **handover check** runs the {n} controls' check scripts (concurrently) and writes a record under \
         /var/lib/handover/records, as every check does. It exits 1 because {}: nothing a script can \
         check here.",
        {
            let manual: Vec<&str> = r
                .statuses
                .iter()
                .filter(|(_, s)| s == "manual")
                .map(|(id, _)| id.as_str())
                .collect();
            format!("{} controls are `manual` ({})", manual.len(), manual.join(", "))
        }
    );
    let _ = writeln!(
        out,
        "- **handover apply --yes** checks every control, changes nothing because nothing fails, and writes \
         a record."
    );
    let _ = writeln!(
        out,
        "- **ansible-playbook --check** of `e2e/bench/playbook.yml` (`gather_facts: false` and the Python \
         interpreter named, both of which make Ansible faster than its defaults) covers less than handover: \
         17 tasks for 10 of the {n} controls, firewall.inbound only in part (the ufw status is read, its rules \
         are not compared with the site's). It does not check os.supported, accounts.allowed, \
         firmware.password, device.management, apps.lansweeper, disk.encryption, ClamAV's definitions, clamd \
         or on-access scanning, and it writes no record. Its five `apt` tasks each load the full package \
         index through python3-apt, and its last task runs `apt-get -s dist-upgrade` every time (Ansible \
         keeps no cache). So the ratio compares a complete check with a partial one, in Ansible's favour."
    );
    let _ = writeln!(
        out,
        "- **oscap xccdf eval** of SSG's standard profile (`{}`) of `{}`: {}. {} It is OpenSCAP's own \
         check of its own rules, not of this baseline: the figure compares the cost of one compliance scan \
         with another, and oscap writes no results file here (stdout only), in its favour. Installed in \
         the bench device only, from .debs downloaded once from the host's Debian mirror into \
         target/e2e/cache/bench-extras-*; the e2e scenario's image is unchanged.",
        oscap::PROFILE,
        r.content.evaluated,
        oscap::describe(&r.oscap_results),
        {
            let ssg = r
                .versions
                .iter()
                .find(|(k, _)| k == "ssg-debian")
                .map_or("?", |(_, v)| v.as_str());
            if !r.content.adapted() {
                format!("SSG's own data stream for this release (ssg-debian {ssg}).")
            } else {
                format!(
                    "Debian 12's SSG package (ssg-debian {ssg}) has no Debian 12 data stream, so this is \
                     **Debian 11's** (`{}`), the newest it ships. As shipped, its CPE check (the pattern \
                     `^11.[0-9]+$` on /etc/debian_version) makes every rule `notapplicable` on Debian 12 \
                     and oscap evaluates nothing{}; the copy evaluated has only that pattern widened \
                     (`sed '{}'`), so that the profile's rules run as they would on Debian 11.",
                    r.content.installed,
                    r.oscap_unchanged
                        .as_ref()
                        .map_or(String::new(), |u| format!(" ({})", oscap::describe(u))),
                    oscap::ADAPT
                )
            }
        }
    );
    let _ = writeln!(
        out,
        "- **Not comparable**: peak RSS is per process, not per tree: for Ansible the largest of its \
         processes, for handover the largest of handover and its scripts (apt-get's in the uncached check). \
         A container shares the host's kernel and page cache, so these are warm-cache figures; a laptop's \
         first run after boot reads more from disk. The host has {} cores: handover's concurrent checks \
         would gain from more.\n",
        m.nproc
    );
    let _ = writeln!(
        out,
        "Runs: {} measured of handover check and apply after {} warm-ups; {} each of the uncached check, \
         the apply with endpoint.protection failing and apt-get -s; {} of Ansible after {} warm-up \
         (`cargo xtask bench --runs N --ansible-runs N`).",
        r.args.runs, r.args.warmups, r.args.few_runs, r.args.ansible_runs, r.args.ansible_warmups
    );
    out.push('\n');
    out.push_str(&r.windows);
    if !r.windows.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&bench_hash::render(&r.hash));
    out.push('\n');
    out.push_str(&r.merge);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_a_check_goal_is_not_met_comes_from_the_runs_figures() {
        let p = profile::Profile {
            programs: BTreeMap::from([
                ("handover".to_string(), 1),
                ("sshd".to_string(), 1),
                ("passwd".to_string(), 3),
            ]),
            syscalls: vec![profile::Syscall {
                name: "read".into(),
                calls: 20932,
                errors: 0,
                seconds: 0.1,
            }],
            ..Default::default()
        };
        let mut p = p;
        p.by_program = Ok(profile::parse_perf_report(
            "  55.00%  5500  sh\n  25.00%  2500  handover\n  20.00%  2000  sshd\n",
            profile::RECORD_RUNS,
        ));
        let s = why_not(&p, 11.5, 1.8);
        assert!(s.contains("costs 11.5 ms"), "{s}");
        assert!(s.contains("the harness 1.8 ms"), "{s}");
        // handover itself is not one of the programs the checks start; the most started comes first.
        assert!(
            s.contains("4 besides handover (`passwd` 3, `sshd` 1)"),
            "{s}"
        );
        assert!(s.contains("20932 `read` system calls"), "{s}");
        // 5500 samples of 100 µs over the recorded checks.
        let sh_ms = 5500.0 * 1000.0 / profile::SAMPLE_HZ as f64 / profile::RECORD_RUNS as f64;
        assert!(
            s.contains(&format!("`sh` {sh_ms:.1} ms, `handover`")),
            "{s}"
        );
    }

    #[test]
    fn statistics() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(median(&v), 3.0);
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), 2.5);
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 0.9), 9.0);
        let thirty: Vec<f64> = (1..=30).map(f64::from).collect();
        assert_eq!(percentile(&thirty, 0.9), 27.0);
        assert_eq!(percentile(&[7.0], 0.9), 7.0);
    }

    #[test]
    fn parses_measure_lines() {
        let (wall, code, rss, cpu) =
            parse_measure_line("1795716000.999500 1795716001.100000 1 10240 0.05 0.03 83").unwrap();
        assert!((wall - 100.5).abs() < 1e-9, "{wall}");
        assert_eq!((code, rss), (1, 10240));
        // The CPU is bash's `times` (83 ms), not GNU time's 10 ms steps (0.05 + 0.03).
        assert!((cpu - 0.083).abs() < 1e-9, "{cpu}");
        assert!(parse_measure_line("1.5 2.0 0 1 0 0 1").is_err());
        assert!(
            parse_measure_line("1795716000.999500 1795716001.100000 1 10240 0.05 0.03").is_err()
        );
        assert!(parse_measure_line("Command exited with non-zero status 1").is_err());
    }

    #[test]
    fn reads_the_ansible_recap() {
        let out = "PLAY [x] ***\n\nTASK [root's password is locked] ***\nok: [localhost]\n\n\
                   TASK [clamav-freshclam is running] ***\nchanged: [localhost]\n\nPLAY RECAP ***\n\
                   localhost                  : ok=17   changed=1    unreachable=0    failed=0    skipped=0\n";
        let (ok, changed, failed, tasks) = ansible_recap(out).unwrap();
        assert_eq!((ok, changed, failed), (17, 1, 0));
        assert_eq!(tasks, ["clamav-freshclam is running"]);
        assert!(ansible_recap("no recap").is_err());
    }

    #[test]
    fn names_apt_lists_like_apt() {
        assert_eq!(
            lists_prefix("http://deb.debian.org/debian"),
            "deb.debian.org_debian"
        );
        assert_eq!(
            lists_prefix("http://deb.debian.org/debian-security/"),
            "deb.debian.org_debian-security"
        );
    }
}
