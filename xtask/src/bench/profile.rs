//! Where one `handover check` spends its time beyond the per-control `duration_ms`: the processes it
//! starts and its system calls (`strace` inside the device), and the kernel's counters (`perf stat`
//! on the host, around the nsenter that runs the check in the device); and the "before" figures of
//! issue 18, kept in a committed file (`--save-before FILE`) that every later run shows beside its own.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::container::{Container, GUEST_PATH};

/// The before file of issue 18 (main at 6c3aabe), read by every run unless `--before FILE` names another.
pub const BEFORE: &str = "e2e/bench/before-2026-12-06.json";

/// One row of `strace -c`'s summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Syscall {
    pub name: String,
    pub calls: u64,
    pub errors: u64,
    pub seconds: f64,
}

/// Parses `strace -c`'s summary table (`% time seconds usecs/call calls errors syscall`), the `total`
/// row included, most calls first.
pub fn parse_strace_summary(text: &str) -> Result<Vec<Syscall>> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        // % time, seconds, usecs/call, calls, [errors], name
        if w.len() < 5 || w[0].parse::<f64>().is_err() {
            continue;
        }
        let (Ok(seconds), Ok(calls)) = (w[1].parse::<f64>(), w[3].parse::<u64>()) else {
            continue;
        };
        let (errors, name) = match w.len() {
            5 => (0, w[4]),
            _ => (w[4].parse::<u64>().unwrap_or(0), w[w.len() - 1]),
        };
        rows.push(Syscall {
            name: name.to_string(),
            calls,
            errors,
            seconds,
        });
    }
    if !rows.iter().any(|r| r.name == "total") {
        bail!("no total in strace -c's summary:\n{text}");
    }
    rows.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.name.cmp(&b.name)));
    Ok(rows)
}

/// The programs `strace -f -e trace=execve` saw started (successful execve only), by file name, with
/// how many times each; the first exec (the traced command itself) included. With -f, a call that
/// another process interrupts is printed in two lines, `PID execve("PATH", ... <unfinished ...>` and
/// later `PID <... execve resumed>...) = 0`: the path is taken from the first, the result from the
/// second.
pub fn parse_execs(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut pending: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let pid = line.split_whitespace().next().unwrap_or("").to_string();
        let ok = line.trim_end().ends_with("= 0");
        let path = if let Some(at) = line.find("execve(\"") {
            let rest = &line[at + "execve(\"".len()..];
            let path = rest.split('"').next().unwrap_or("").to_string();
            if line.trim_end().ends_with("<unfinished ...>") {
                pending.insert(pid, path);
                continue;
            }
            path
        } else if line.contains("<... execve resumed>") {
            match pending.remove(&pid) {
                Some(path) => path,
                None => continue,
            }
        } else {
            continue;
        };
        if ok {
            let name = path.rsplit('/').next().unwrap_or(&path);
            *out.entry(name.to_string()).or_default() += 1;
        }
    }
    out
}

/// One counter of `perf stat -x,`: event, value (None when the kernel does not support it), unit,
/// and the variation between the runs (`-r`) as perf prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct Counter {
    pub event: String,
    pub value: Option<f64>,
    pub unit: String,
    pub variation: String,
}

pub fn parse_perf(text: &str) -> Vec<Counter> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 3 {
            continue;
        }
        out.push(Counter {
            event: f[2].to_string(),
            value: f[0].parse().ok(),
            unit: f[1].to_string(),
            variation: f.get(3).map_or(String::new(), |s| s.to_string()),
        });
    }
    out
}

/// The profile of one check.
#[derive(Debug, Clone)]
pub struct Profile {
    /// execve calls of each traced run (the first is handover itself).
    pub execs_per_run: Vec<u64>,
    /// Programs started in the traced run with the median count of execs.
    pub programs: BTreeMap<String, u64>,
    /// `strace -f -c` of one run, most calls first.
    pub syscalls: Vec<Syscall>,
    /// `perf stat -r N` of the check, or why there is none.
    pub perf: Result<Vec<Counter>, String>,
    pub perf_runs: usize,
    /// CPU samples of the check's runs by program (`perf record -e cpu-clock`), most first, or why
    /// there are none.
    pub by_program: Result<Vec<ProgramCpu>, String>,
}

/// One program's share of the CPU samples of the profiled checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramCpu {
    /// The process name (its `comm`: a forked shell is `sh` until it execs another program).
    pub program: String,
    pub samples: u64,
    /// CPU milliseconds per check: samples / sampling frequency / runs.
    pub ms_per_check: f64,
}

/// Samples per second of `perf record -e cpu-clock` (one sample every 100 µs of CPU).
pub const SAMPLE_HZ: u64 = 10_000;
/// Checks in a row under `perf record` (about 10 000 samples).
pub const RECORD_RUNS: usize = 10;

impl Default for Profile {
    fn default() -> Self {
        Profile {
            execs_per_run: Vec::new(),
            programs: BTreeMap::new(),
            syscalls: Vec::new(),
            perf: Err("not run".into()),
            perf_runs: 0,
            by_program: Err("not run".into()),
        }
    }
}

/// Traces `cmd` (a check, run in `dir` in the device) with strace `runs` times for its execs and once for
/// its system calls, and runs it `runs` times under `perf stat` from the host.
pub fn profile(c: &Container, dir: &str, cmd: &str, runs: usize) -> Result<Profile> {
    let mut p = Profile::default();
    let mut all = Vec::new();
    for _ in 0..runs {
        let out = c.exec_ok(&format!(
            "cd {dir} && strace -f -qq -e trace=execve -e signal=none -o {dir}/strace-exec.txt \
             {cmd} >/dev/null 2>&1; cat {dir}/strace-exec.txt"
        ))?;
        let programs = parse_execs(&out);
        p.execs_per_run.push(programs.values().sum());
        all.push(programs);
    }
    // The programs of the run with the median count.
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| p.execs_per_run[i]);
    if let Some(&mid) = order.get(order.len() / 2) {
        p.programs = all.swap_remove(mid);
    }
    let out = c.exec_ok(&format!(
        "cd {dir} && strace -f -qq -c -S calls -o {dir}/strace-c.txt {cmd} >/dev/null 2>&1; \
         cat {dir}/strace-c.txt"
    ))?;
    p.syscalls = parse_strace_summary(&out)?;
    p.perf_runs = runs;
    p.perf = perf_stat(c, dir, cmd, runs);
    p.by_program = perf_by_program(c, dir, cmd, RECORD_RUNS);
    Ok(p)
}

/// The host's perf command around nsenter running `script` in the device, with a clean environment.
fn perf_around(c: &Container, perf_args: &[&str], script: &str) -> Command {
    let mut cmd = Command::new("perf");
    cmd.args(perf_args)
        .args(["--", "nsenter", "-t", &c.pid().to_string(), "-a"])
        .args(["/usr/bin/env", "-i", &format!("PATH={GUEST_PATH}")])
        .args(["HOME=/root", "LANG=C.UTF-8", "/bin/sh", "-c", script]);
    cmd
}

/// Where the CPU of `runs` checks goes, by program: `perf record -e cpu-clock` from the host (a software
/// clock, so it works without hardware counters; perf follows the check into the container), then
/// `perf report --sort comm`.
fn perf_by_program(
    c: &Container,
    dir: &str,
    cmd: &str,
    runs: usize,
) -> Result<Vec<ProgramCpu>, String> {
    let data = crate::target_dir().join("e2e/bench/perf-record.data");
    let script =
        format!("cd {dir} && for i in $(seq {runs}); do {cmd} >/dev/null 2>&1; done; exit 0");
    let freq = SAMPLE_HZ.to_string();
    let data_s = data.display().to_string();
    let recorded = perf_around(
        c,
        &[
            "record",
            "-q",
            "-e",
            "cpu-clock",
            "-F",
            &freq,
            "-o",
            &data_s,
        ],
        &script,
    )
    .output()
    .map_err(|e| format!("perf could not be started on the host: {e}"))?;
    if !recorded.status.success() {
        return Err(format!(
            "perf record failed ({}): {}",
            recorded.status,
            String::from_utf8_lossy(&recorded.stderr).trim()
        ));
    }
    let report = Command::new("perf")
        .args([
            "report", "-i", &data_s, "--stdio", "--sort", "comm", "-n", "-g", "none",
        ])
        .output()
        .map_err(|e| format!("perf report: {e}"))?;
    if !report.status.success() {
        return Err(format!(
            "perf report failed ({}): {}",
            report.status,
            String::from_utf8_lossy(&report.stderr).trim()
        ));
    }
    let rows = parse_perf_report(&String::from_utf8_lossy(&report.stdout), runs);
    if rows.is_empty() {
        Err("perf report listed no program".into())
    } else {
        Ok(rows)
    }
}

/// `perf report --sort comm -n` lines ("  37.57%   11108  sh"), most samples first.
pub fn parse_perf_report(text: &str, runs: usize) -> Vec<ProgramCpu> {
    let mut rows: Vec<ProgramCpu> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.next()?.strip_suffix('%')?.parse::<f64>().ok()?;
            let samples: u64 = w.next()?.parse().ok()?;
            let program = w.collect::<Vec<_>>().join(" ");
            (!program.is_empty()).then(|| ProgramCpu {
                program,
                samples,
                ms_per_check: samples as f64 * 1000.0 / SAMPLE_HZ as f64 / runs.max(1) as f64,
            })
        })
        .collect();
    rows.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.program.cmp(&b.program)));
    rows
}

/// `perf stat -r runs` on the host of nsenter running `cmd` in the device (perf follows the check into
/// the container's namespaces; nsenter, env and sh, three small processes, are counted too).
fn perf_stat(c: &Container, dir: &str, cmd: &str, runs: usize) -> Result<Vec<Counter>, String> {
    let out_file = crate::target_dir().join("e2e/bench/perf-stat.txt");
    // The check exits 1 on this device (two controls are manual) and perf stat exits as its command
    // does: the script exits 0 once the check has run, so that a failure is perf's own.
    let script = format!("cd {dir} && {{ {cmd} >/dev/null 2>&1; exit 0; }}");
    let runs_s = runs.to_string();
    let out_s = out_file.display().to_string();
    let result = perf_around(
        c,
        &[
            "stat",
            "-x,",
            "-r",
            &runs_s,
            "-e",
            "task-clock,context-switches,cpu-migrations,page-faults,instructions,cycles",
            "-o",
            &out_s,
        ],
        &script,
    )
    .output();
    match result {
        Err(e) => Err(format!("perf could not be started on the host: {e}")),
        Ok(o) if !o.status.success() => Err(format!(
            "perf stat failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => {
            let text = fs::read_to_string(&out_file).map_err(|e| e.to_string())?;
            let counters = parse_perf(&text);
            if counters.is_empty() {
                Err(format!("perf stat printed no counter:\n{text}"))
            } else {
                Ok(counters)
            }
        }
    }
}

/// The figures a run keeps for later runs to compare with (`--save-before`), as JSON.
pub fn figures_json(
    date: &str,
    load: &str,
    binary: &str,
    series: &[(&str, Value)],
    controls: &[(String, [Option<f64>; 3])],
    p: &Profile,
) -> Value {
    let mut s = serde_json::Map::new();
    for (k, v) in series {
        s.insert((*k).to_string(), v.clone());
    }
    json!({
        "format": 1,
        "date": date,
        "load": load,
        "binary": binary,
        "series": s,
        "controls": controls.iter().map(|(id, [a, b, c])| json!({
            "id": id, "check_ms": a, "check_uncached_ms": b, "apply_ms": c,
        })).collect::<Vec<_>>(),
        "execs_per_run": p.execs_per_run,
        "programs": p.programs,
        "syscalls": p.syscalls.iter().map(|s| json!({
            "name": s.name, "calls": s.calls, "errors": s.errors, "seconds": s.seconds,
        })).collect::<Vec<_>>(),
        "perf": match &p.perf {
            Ok(c) => json!(c.iter().map(|c| json!({
                "event": c.event, "value": c.value, "unit": c.unit, "variation": c.variation,
            })).collect::<Vec<_>>()),
            Err(e) => json!({ "unavailable": e }),
        },
    })
}

/// Reads a before file.
pub fn read_before(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if v["format"] != 1 {
        bail!("{}: unknown format {}", path.display(), v["format"]);
    }
    Ok(v)
}

pub fn write_before(path: &Path, v: &Value) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, serde_json::to_string_pretty(v)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
        Some(v) => format!("{v:.1} ms"),
        None => "-".into(),
    }
}

fn whole(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}"))
}

/// "after / before" as a factor, when both are there.
fn factor(before: Option<f64>, after: Option<f64>) -> String {
    match (before, after) {
        (Some(b), Some(a)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

/// The series rows of the before/after table: (key in the JSON, label, field, how to show it).
const ROWS: [(&str, &str, &str, bool); 9] = [
    ("check", "check: median wall", "median_ms", true),
    ("check", "check: p90 wall", "p90_ms", true),
    (
        "check",
        "check: median CPU (user+sys)",
        "cpu_median_ms",
        true,
    ),
    ("check", "check: peak RSS (MiB)", "rss_max_mib", false),
    (
        "check_uncached",
        "first check after an update: median wall",
        "median_ms",
        true,
    ),
    (
        "check_uncached",
        "first check after an update: median CPU",
        "cpu_median_ms",
        true,
    ),
    (
        "check_uncached",
        "first check after an update: peak RSS (MiB)",
        "rss_max_mib",
        false,
    ),
    ("apply", "no-change apply: median wall", "median_ms", true),
    (
        "apply",
        "no-change apply: median CPU",
        "cpu_median_ms",
        true,
    ),
];

/// The "before and after" section: `before` (a before file) beside `after` (this run's figures, the same
/// JSON shape).
pub fn render_before_after(before: &Value, after: &Value, before_path: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Before and after (issue 18)\n");
    let _ = writeln!(
        out,
        "**Before**: {}, measured {} by `cargo xtask bench --save-before {before_path}` and kept in that \
         committed file. **After**: this run ({}). Both are medians over each run's measured runs, on this \
         host but not at the same moment. Load average (1, 5, 15 min) before and after the measurements in \
         the device: {} in the before run, {} in this one. Wall times grow with the host's load; CPU time, \
         process and system-call counts hardly do, so those compare runs made under different loads.\n",
        before["binary"].as_str().unwrap_or("?"),
        before["date"].as_str().unwrap_or("?"),
        after["binary"].as_str().unwrap_or("?"),
        before["load"].as_str().unwrap_or("not recorded"),
        after["load"].as_str().unwrap_or("not recorded"),
    );
    let num = |v: &Value, k: &str, f: &str| v["series"][k][f].as_f64();
    let _ = writeln!(out, "| figure | before | after | after / before |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (k, label, f, is_ms) in ROWS {
        let (b, a) = (num(before, k, f), num(after, k, f));
        let show = |v: Option<f64>| {
            if is_ms {
                ms(v)
            } else {
                v.map_or("-".into(), |v| format!("{v:.1}"))
            }
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} |",
            show(b),
            show(a),
            factor(b, a)
        );
    }
    let execs = |v: &Value| {
        let runs: Vec<f64> = v["execs_per_run"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        (!runs.is_empty()).then(|| super::median(&runs))
    };
    let (b, a) = (execs(before), execs(after));
    let _ = writeln!(
        out,
        "| processes started by one check (execve, median of the traced runs) | {} | {} | {} |",
        whole(b),
        whole(a),
        factor(b, a)
    );
    let calls = |v: &Value| {
        v["syscalls"].as_array().and_then(|a| {
            a.iter()
                .find(|s| s["name"] == "total")
                .and_then(|s| s["calls"].as_f64())
        })
    };
    let (b, a) = (calls(before), calls(after));
    let _ = writeln!(
        out,
        "| system calls of one check (strace -f -c, total) | {} | {} | {} |",
        whole(b),
        whole(a),
        factor(b, a)
    );
    let counter = |v: &Value, event: &str| {
        v["perf"].as_array().and_then(|a| {
            a.iter()
                .find(|c| c["event"] == event)
                .and_then(|c| c["value"].as_f64())
        })
    };
    for event in ["task-clock", "context-switches", "page-faults"] {
        let (b, a) = (counter(before, event), counter(after, event));
        let unit = if event == "task-clock" { " (ms)" } else { "" };
        let _ = writeln!(
            out,
            "| perf stat {event}{unit}, mean per check | {} | {} | {} |",
            b.map_or("-".into(), |v| format!("{v:.1}")),
            a.map_or("-".into(), |v| format!("{v:.1}")),
            factor(b, a)
        );
    }
    out.push('\n');

    // Per control.
    let controls = |v: &Value| -> BTreeMap<String, [Option<f64>; 3]> {
        v["controls"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["id"].as_str().unwrap_or("?").to_string(),
                            [
                                c["check_ms"].as_f64(),
                                c["check_uncached_ms"].as_f64(),
                                c["apply_ms"].as_f64(),
                            ],
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (cb, ca) = (controls(before), controls(after));
    let mut ids: Vec<&String> = cb.keys().chain(ca.keys()).collect();
    ids.sort();
    ids.dedup();
    // Slowest first by the before check, then the after check.
    ids.sort_by(|x, y| {
        let key = |id: &String| {
            cb.get(id)
                .and_then(|v| v[0])
                .or_else(|| ca.get(id).and_then(|v| v[0]))
                .unwrap_or(-1.0)
        };
        key(y).total_cmp(&key(x)).then(x.cmp(y))
    });
    let _ = writeln!(
        out,
        "Per control: median `duration_ms` from the JSON report (ms; the checks run concurrently, so they \
         add up to more than the wall time). \"-\": the control is not in that run's report.\n"
    );
    let _ = writeln!(
        out,
        "| control | check, before | check, after | not cached, before | not cached, after | apply, before | apply, after |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for id in ids {
        let b = cb.get(id).copied().unwrap_or([None; 3]);
        let a = ca.get(id).copied().unwrap_or([None; 3]);
        let _ = writeln!(
            out,
            "| {id} | {} | {} | {} | {} | {} | {} |",
            whole(b[0]),
            whole(a[0]),
            whole(b[1]),
            whole(a[1]),
            whole(b[2]),
            whole(a[2])
        );
    }
    out.push('\n');

    // Programs.
    let programs = |v: &Value| -> BTreeMap<String, u64> {
        v["programs"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (pb, pa) = (programs(before), programs(after));
    let mut names: Vec<&String> = pb.keys().chain(pa.keys()).collect();
    names.sort();
    names.dedup();
    names.sort_by(|x, y| {
        let n = |m: &BTreeMap<String, u64>, k: &String| m.get(k).copied().unwrap_or(0);
        n(&pb, y)
            .max(n(&pa, y))
            .cmp(&n(&pb, x).max(n(&pa, x)))
            .then(x.cmp(y))
    });
    let _ = writeln!(
        out,
        "Programs one check starts (`strace -f -e trace=execve` inside the device, successful execve by \
         file name, the traced run with the median count; `handover` is the check itself):\n"
    );
    let _ = writeln!(out, "| program | before | after |");
    let _ = writeln!(out, "|---|---:|---:|");
    for n in names {
        let cell = |m: &BTreeMap<String, u64>| m.get(n).map_or("0".into(), |v| v.to_string());
        let _ = writeln!(out, "| `{n}` | {} | {} |", cell(&pb), cell(&pa));
    }
    out.push('\n');
    out
}

/// The profile section of this run alone: system calls and perf counters.
pub fn render_profile(p: &Profile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Profile of one check (this run)\n");
    let _ = writeln!(
        out,
        "Processes started by one `handover check` (`strace -f -qq -e trace=execve`, inside the device, {} \
         traced runs): {} execve each (handover itself included).\n",
        p.execs_per_run.len(),
        p.execs_per_run
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "System calls of one check (`strace -f -qq -c -S calls`, one run, all processes of the tree; \
         strace slows every call, so its seconds are not the check's): the most frequent, and the total.\n"
    );
    let _ = writeln!(out, "| syscall | calls | errors | seconds (strace) |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    let top = p.syscalls.iter().filter(|s| s.name != "total").take(12);
    for s in top.chain(p.syscalls.iter().filter(|s| s.name == "total")) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.6} |",
            s.name, s.calls, s.errors, s.seconds
        );
    }
    out.push('\n');
    match &p.perf {
        Ok(counters) => {
            let _ = writeln!(
                out,
                "`perf stat -r {}` of the check, from the host around `nsenter -t PID -a env -i ... sh -c \
                 'handover check --format json'` (perf follows the check into the container; nsenter, env and \
                 sh are counted too). Means per run:\n",
                p.perf_runs
            );
            let _ = writeln!(out, "| event | mean | unit | variation |");
            let _ = writeln!(out, "|---|---:|---|---:|");
            for c in counters {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    c.event,
                    c.value.map_or(
                        "not supported here (no hardware counters in this VM)".into(),
                        |v| format!("{v:.1}")
                    ),
                    c.unit,
                    c.variation
                );
            }
            out.push('\n');
        }
        Err(e) => {
            let _ = writeln!(out, "`perf stat`: not available here: {e}\n");
        }
    }
    match &p.by_program {
        Ok(rows) => {
            let total: u64 = rows.iter().map(|r| r.samples).sum();
            let _ = writeln!(
                out,
                "Where the CPU of a check goes, by program: `perf record -e cpu-clock -F {SAMPLE_HZ}` from the host \
                 around {RECORD_RUNS} checks in a row (as above), `perf report --sort comm`. A program is its process name: \
                 `sh` is the batch of checks and every subshell it forks (and a forked child until it execs \
                 another program), `handover` the check itself with its templates. Sampling adds its own cost \
                 (each sample interrupts the program), so the milliseconds here add up to more than a check's \
                 measured CPU: the shares are what to read.\n"
            );
            let _ = writeln!(out, "| program | CPU per check | share |");
            let _ = writeln!(out, "|---|---:|---:|");
            for r in rows {
                let _ = writeln!(
                    out,
                    "| `{}` | {:.1} ms | {:.1}% |",
                    r.program,
                    r.ms_per_check,
                    100.0 * r.samples as f64 / total.max(1) as f64
                );
            }
            let all: f64 = rows.iter().map(|r| r.ms_per_check).sum();
            let _ = writeln!(out, "| all | {all:.1} ms | 100% |\n");
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "CPU by program (`perf record`): not available here: {e}\n"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = "% time     seconds  usecs/call     calls    errors syscall\n\
------ ----------- ----------- --------- --------- ----------------\n\
 40.00    0.004000          10       400           read\n\
 30.00    0.003000           5       600        20 openat\n\
  0.00    0.000000           0        12           execve\n\
------ ----------- ----------- --------- --------- ----------------\n\
100.00    0.010000           6      1012        20 total\n";

    #[test]
    fn parses_perf_reports_by_program() {
        let text = "# Samples: 29K of event 'cpu-clock'\n#\n# Overhead  Samples  Command\n\
                    # ........  .......  .......\n#\n    37.57%    11108  sh\n    21.42%     6333  handover\n\
                    \n     0.16%       47  nsenter\n     8.76%     2589  sshd\n";
        let rows = parse_perf_report(text, 10);
        let names: Vec<&str> = rows.iter().map(|r| r.program.as_str()).collect();
        assert_eq!(names, ["sh", "handover", "sshd", "nsenter"]);
        assert_eq!(rows[0].samples, 11108);
        // 11108 samples of 100 µs over 10 checks.
        assert!(
            (rows[0].ms_per_check - 111.08).abs() < 1e-9,
            "{}",
            rows[0].ms_per_check
        );
        assert!(parse_perf_report("# nothing\n", 3).is_empty());
    }

    #[test]
    fn parses_strace_summaries() {
        let rows = parse_strace_summary(SUMMARY).unwrap();
        assert_eq!(rows[0].name, "total");
        assert_eq!(rows[0].calls, 1012);
        assert_eq!(rows[1].name, "openat");
        assert_eq!((rows[1].calls, rows[1].errors), (600, 20));
        assert_eq!(rows[3].name, "execve");
        assert!((rows[2].seconds - 0.004).abs() < 1e-12);
        assert!(parse_strace_summary("nothing").is_err());
    }

    #[test]
    fn counts_successful_execs_by_name() {
        let text = "12 execve(\"/usr/local/sbin/handover\", [\"handover\"], 0x7ff /* 3 vars */) = 0\n\
                    13 execve(\"/usr/bin/sh\", [\"sh\", \"-c\"], 0x55 /* 5 vars */) = 0\n\
                    14 execve(\"/usr/local/bin/sshd\", [\"sshd\"], 0x55) = -1 ENOENT (No such file or directory)\n\
                    14 execve(\"/usr/sbin/sshd\", [\"sshd\", \"-T\"], 0x55 /* 5 vars */) = 0\n\
                    15 execve(\"/bin/sh\", [\"sh\"], 0x55 /* 5 vars */) = 0\n\
                    16 execve(\"/usr/bin/awk\", [\"awk\", \"-F:\"], 0x55 /* 5 vars */ <unfinished ...>\n\
                    17 execve(\"/usr/bin/nosuch\", [\"nosuch\"], 0x55 <unfinished ...>\n\
                    15 +++ exited with 0 +++\n\
                    17 <... execve resumed>) = -1 ENOENT (No such file or directory)\n\
                    16 <... execve resumed>) = 0\n";
        let p = parse_execs(text);
        assert_eq!(p.get("sh"), Some(&2));
        assert_eq!(p.get("sshd"), Some(&1));
        assert_eq!(p.get("handover"), Some(&1));
        assert_eq!(p.get("awk"), Some(&1));
        assert_eq!(p.get("nosuch"), None);
        assert_eq!(p.values().sum::<u64>(), 5);
    }

    #[test]
    fn parses_perf_csv() {
        let text = "# started on Sun Dec  6 09:20:23 2026\n\n\
                    1.62,msec,task-clock,0.83%,1619919,100.00,0.841,CPUs utilized\n\
                    5,,context-switches,13.33%,1619919,100.00,3.048,K/sec\n\
                    <not supported>,,instructions,0.00%,0,100.00,,\n";
        let c = parse_perf(text);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].event, "task-clock");
        assert_eq!(c[0].value, Some(1.62));
        assert_eq!(c[0].unit, "msec");
        assert_eq!(c[1].variation, "13.33%");
        assert_eq!(c[2].value, None);
    }

    fn sample_profile() -> Profile {
        Profile {
            execs_per_run: vec![200, 202, 201],
            programs: [("handover".to_string(), 1), ("sh".to_string(), 40)]
                .into_iter()
                .collect(),
            syscalls: parse_strace_summary(SUMMARY).unwrap(),
            perf: Ok(parse_perf(
                "140.5,msec,task-clock,1.0%,1,100.00,1.2,CPUs utilized\n",
            )),
            perf_runs: 3,
            by_program: Ok(parse_perf_report(
                "  60.00%  6000  sh\n  40.00%  4000  handover\n",
                RECORD_RUNS,
            )),
        }
    }

    #[test]
    fn the_before_file_round_trips_and_renders_beside_the_after() {
        let p = sample_profile();
        let series = [(
            "check",
            json!({"median_ms": 138.0, "p90_ms": 147.7, "cpu_median_ms": 220.0, "rss_max_mib": 10.3}),
        )];
        let controls = vec![
            (
                "updates.automatic".to_string(),
                [Some(85.0), Some(104.0), Some(86.0)],
            ),
            ("os.supported".to_string(), [Some(14.0), None, Some(12.0)]),
        ];
        let before = figures_json(
            "2026-12-06 09:40 UTC",
            "1.0 → 2.0",
            "bin A",
            &series,
            &controls,
            &p,
        );
        let dir = std::env::temp_dir().join(format!("bench-before-{}", std::process::id()));
        let path = dir.join("before.json");
        write_before(&path, &before).unwrap();
        let read = read_before(&path).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read, before);

        let mut after_profile = p.clone();
        after_profile.execs_per_run = vec![2, 2, 2];
        after_profile.programs = [("handover".to_string(), 1), ("sh".to_string(), 1)]
            .into_iter()
            .collect();
        let after_series = [(
            "check",
            json!({"median_ms": 55.0, "p90_ms": 60.0, "cpu_median_ms": 40.0, "rss_max_mib": 9.0}),
        )];
        let after_controls = vec![
            (
                "updates.automatic".to_string(),
                [Some(20.0), Some(21.0), Some(22.0)],
            ),
            ("device.lock".to_string(), [Some(1.0), Some(1.0), Some(1.0)]),
        ];
        let after = figures_json(
            "later",
            "0.5 → 0.6",
            "bin B",
            &after_series,
            &after_controls,
            &after_profile,
        );
        let md = render_before_after(&read, &after, BEFORE);
        assert!(
            md.contains("1.0 → 2.0 in the before run, 0.5 → 0.6 in this one"),
            "{md}"
        );
        assert!(
            md.contains("| check: median wall | 138.0 ms | 55.0 ms | 0.40x |"),
            "{md}"
        );
        assert!(
            md.contains("| check: peak RSS (MiB) | 10.3 | 9.0 | 0.87x |"),
            "{md}"
        );
        assert!(md.contains("| processes started by one check (execve, median of the traced runs) | 201 | 2 | 0.01x |"), "{md}");
        assert!(
            md.contains("| updates.automatic | 85 | 20 | 104 | 21 | 86 | 22 |"),
            "{md}"
        );
        // A control only one side has shows "-" on the other.
        assert!(
            md.contains("| os.supported | 14 | - | - | - | 12 | - |"),
            "{md}"
        );
        assert!(
            md.contains("| device.lock | - | 1 | - | 1 | - | 1 |"),
            "{md}"
        );
        assert!(md.contains("| `sh` | 40 | 1 |"), "{md}");
        assert!(
            md.contains("| perf stat task-clock (ms), mean per check | 140.5 | 140.5 | 1.00x |"),
            "{md}"
        );
        // Slowest control first.
        assert!(md.find("updates.automatic").unwrap() < md.find("os.supported").unwrap());
        assert!(read_before(Path::new("/nonexistent/before.json")).is_err());
    }

    #[test]
    fn the_profile_renders_unsupported_counters_as_such() {
        let mut p = sample_profile();
        p.perf = Ok(parse_perf(
            "<not supported>,,instructions,0.00%,0,100.00,,\n",
        ));
        let md = render_profile(&p);
        assert!(md.contains("200, 202, 201 execve each"), "{md}");
        assert!(md.contains("| openat | 600 | 20 | 0.003000 |"), "{md}");
        assert!(md.contains("| total | 1012 | 20 | 0.010000 |"), "{md}");
        assert!(md.contains("| instructions | not supported here"), "{md}");
        p.perf = Err("perf could not be started".into());
        assert!(render_profile(&p).contains("not available here: perf could not be started"));
    }
}
