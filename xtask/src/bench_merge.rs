//! `cargo xtask bench --only-merge`: how long `handover report merge` takes over a fleet's reports, and
//! its peak memory, on the host (no container: the merge reads files only), warm page cache.
//!
//! 1. 2,000 reports (a quarter wrapped as records, as the kit collects them) in
//!    `target/bench-merge/reports`, made by [`generate`] from a fixed seed: 20 controls each, about 7%
//!    of them failing, with `since`, `frameworks` and `updates.pending`'s ages, about 13 KB a file;
//! 2. one warm-up round, then `runs` rounds, each merging to CSV then to HTML with the binary measured
//!    (and, with `--merge-baseline BIN`, with that binary too in the same round, so that a slower moment
//!    of the host falls on both alike).
//!
//! Each run is one process timed as the hashing section times one (`bench_hash::run_once`): wall time
//! from spawn to reaping, CPU time and peak RSS from `wait4(2)`'s rusage. On a loaded host the wall
//! time grows with the load; the CPU time and peak RSS do not, so those are what compare binaries.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::bench_hash::{run_once, Sample};

/// The fleet measured.
pub const DEVICES: usize = 2000;

const CONTROLS: [&str; 20] = [
    "os.supported",
    "accounts.admin-builtin",
    "accounts.guest",
    "accounts.password-policy",
    "accounts.separate-admin",
    "accounts.allowed",
    "firmware.password",
    "updates.automatic",
    "updates.pending",
    "endpoint.protection",
    "device.management",
    "firewall.enabled",
    "firewall.inbound",
    "apps.office365",
    "apps.teams",
    "apps.lansweeper",
    "apps.fortinet-vpn",
    "disk.encryption",
    "device.lock",
    "autorun.disabled",
];

const RELEASES: [(&str, &str, &str, &str); 5] = [
    ("linux", "debian", "12", "Debian GNU/Linux 12 (bookworm)"),
    ("linux", "debian", "13", "Debian GNU/Linux 13 (trixie)"),
    ("windows", "windows", "11", "Windows 11 Enterprise"),
    ("windows", "windows", "10", "Windows 10 Pro"),
    ("macos", "macos", "15", "macOS Sequoia"),
];

/// xorshift64: the same fleet every time.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The `n` reports of the fleet in `dir` (replacing what was there).
fn generate(dir: &Path, n: usize) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let statuses = [
        "fail",
        "fail",
        "error",
        "manual",
        "waived",
        "not-applicable",
    ];
    for i in 0..n {
        let (family, id, version, name) = RELEASES[i % RELEASES.len()];
        let mut controls = Vec::new();
        let mut summary: std::collections::BTreeMap<&str, usize> = Default::default();
        for c in CONTROLS {
            let status = if rng.below(100) < 93 {
                "pass"
            } else {
                statuses[rng.below(statuses.len() as u64) as usize]
            };
            *summary.entry(status).or_default() += 1;
            let mut observed = serde_json::json!({
                "source": "probe", "value": rng.below(1000),
                "detail": "x".repeat(20 + rng.below(180) as usize),
            });
            if c == "updates.pending" {
                observed["oldest_pending_days"] = rng.below(40).into();
                observed["max_age_days"] = 14.into();
            }
            controls.push(serde_json::json!({
                "id": c, "title": c, "policy": "7.1.2", "status": status, "changed": false,
                "reason": format!("the probe said so: {}", "y".repeat(20 + rng.below(100) as usize)),
                "observed": observed, "duration_ms": rng.below(300),
                "since": format!("2026-{:02}-{:02}T10:00:00Z", 9 + rng.below(3), 1 + rng.below(28)),
                "frameworks": [format!("CE:U{}", 1 + rng.below(5))],
            }));
        }
        let count = |s: &str| summary.get(s).copied().unwrap_or(0);
        let report = serde_json::json!({
            "tool": {"name": "handover", "version": "0.1.0"},
            "mode": "check", "scope": "full",
            "profile": {"name": format!("{id}-{version}"), "digest": format!("sha256:{}", "ab".repeat(32))},
            "device": {"hostname": format!("lab-{i:05}"), "serial": format!("SN{i:06}"), "model": "ThinkPad X1",
                       "os": {"family": family, "id": id, "version": version, "name": name}},
            "user": format!("user{i}"), "asset": format!("QM{i:06}"),
            "ticket": null, "technician": null, "reason": null,
            "started_at": "2026-12-01T10:00:00Z",
            "finished_at": format!("2026-12-{:02}T10:00:01Z", 1 + rng.below(5)),
            "controls": controls,
            "summary": {"pass": count("pass"), "fail": count("fail"), "fixed": 0, "error": count("error"),
                        "waived": count("waived"), "not_applicable": count("not-applicable"),
                        "manual": count("manual"),
                        "compliant": count("fail") + count("error") + count("manual") == 0},
            "warnings": [],
        });
        let doc = if i % 4 == 0 {
            serde_json::json!({"record_version": 1, "report": report})
        } else {
            report
        };
        let text = serde_json::to_string_pretty(&doc)?;
        fs::write(dir.join(format!("r{i:05}.json")), text)?;
    }
    Ok(())
}

/// One binary's runs of one format.
struct Series {
    what: String,
    samples: Vec<Sample>,
}

impl Series {
    fn line(&self) -> String {
        let walls: Vec<f64> = self.samples.iter().map(|s| s.wall_s).collect();
        let cpus: Vec<f64> = self.samples.iter().map(|s| s.cpu_s).collect();
        let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let rss = self.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
        format!(
            "| {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.1} MiB |",
            self.what,
            self.samples.len(),
            crate::bench::median(&walls),
            min(&walls),
            crate::bench::median(&cpus),
            min(&cpus),
            rss as f64 / 1024.0
        )
    }
}

/// Runs the merge section; markdown.
pub fn run(bin: &Path, baseline: Option<&Path>, runs: usize) -> Result<String> {
    let work = crate::target_dir().join("bench-merge");
    let reports = work.join("reports");
    generate(&reports, DEVICES)?;
    let mut bins: Vec<(String, PathBuf)> = vec![("handover".into(), bin.to_path_buf())];
    if let Some(b) = baseline {
        bins.push(("baseline".into(), b.to_path_buf()));
    }
    let mut series: Vec<Series> = Vec::new();
    for (label, _) in &bins {
        for format in ["csv", "html"] {
            series.push(Series {
                what: format!("{label} `report merge --format {format}`"),
                samples: Vec::new(),
            });
        }
    }
    let load_before = crate::bench::load_average();
    for round in 0..=runs {
        let mut k = 0;
        for (_, b) in &bins {
            for format in ["csv", "html"] {
                let out = work.join(format!("out.{format}"));
                let (sample, _) = run_once(
                    &b.to_string_lossy(),
                    &[
                        "report",
                        "merge",
                        &reports.to_string_lossy(),
                        "--format",
                        format,
                        "--out",
                        &out.to_string_lossy(),
                    ],
                )?;
                anyhow::ensure!(
                    sample.code == 0,
                    "{} merge exited {}",
                    b.display(),
                    sample.code
                );
                if round > 0 {
                    series[k].samples.push(sample);
                }
                k += 1;
            }
        }
    }
    let mut o = String::new();
    let _ = writeln!(o, "## Merging a fleet's reports\n");
    let _ = writeln!(
        o,
        "`handover report merge DIR --format csv|html --out FILE` of {DEVICES} generated reports (20 controls each, a quarter as records; `target/bench-merge/reports`), {runs} rounds after one warm-up, on the host. Load average {load_before} before, {} after.\n",
        crate::bench::load_average()
    );
    let _ = writeln!(
        o,
        "| binary and format | runs | wall median | wall min | CPU median | CPU min | peak RSS |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|");
    for s in &series {
        let _ = writeln!(o, "{}", s.line());
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fleet_is_the_same_every_time_and_its_summaries_follow_the_controls() {
        let dir = std::env::temp_dir().join(format!("bench-merge-test-{}", std::process::id()));
        generate(&dir, 8).unwrap();
        let read = || -> Vec<String> {
            (0..8)
                .map(|i| fs::read_to_string(dir.join(format!("r{i:05}.json"))).unwrap())
                .collect()
        };
        let first = read();
        generate(&dir, 8).unwrap();
        assert_eq!(first, read());
        let mut records = 0;
        for text in &first {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let r = match v.get("report") {
                Some(r) => {
                    records += 1;
                    r.clone()
                }
                None => v,
            };
            let controls = r["controls"].as_array().unwrap();
            assert_eq!(controls.len(), CONTROLS.len());
            let blocking = controls
                .iter()
                .any(|c| matches!(c["status"].as_str(), Some("fail" | "error" | "manual")));
            assert_eq!(r["summary"]["compliant"], serde_json::json!(!blocking));
        }
        assert_eq!(records, 2);
        fs::remove_dir_all(&dir).unwrap();
    }
}
