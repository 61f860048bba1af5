//! The hashing section of `cargo xtask bench`: how fast `handover artifacts verify` re-hashes a large
//! installer, next to `sha256sum` and `openssl dgst -sha256` on the same file, on the host (no
//! container: hashing needs none), warm page cache.
//!
//! 1. a 1 GiB file of pseudo-random bytes (xorshift64, so the same bytes every time: [`SHA256`]) in
//!    `target/bench-hash/big.bin`, kept across runs while its size is right; a site naming it as a local
//!    artifact (owner-only permissions, as handover requires);
//! 2. one warm-up round, then `runs` rounds, each running handover, sha256sum and openssl once (so that
//!    a slower moment of the host falls on all three alike); every run must exit 0 and print (or, for
//!    handover, accept) [`SHA256`];
//! 3. not timed: the file with its last byte changed must make `artifacts verify` exit 1 (MISMATCH),
//!    then the byte is restored.
//!
//! Each run is one process, timed from before its spawn to its reaping by `wait4(2)`, whose rusage gives
//! its peak RSS (ru_maxrss) and CPU time.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};

/// Size of the file hashed.
const SIZE: u64 = 1 << 30;
/// sha256 of the [`SIZE`] bytes [`generate`] writes (the first 1 GiB of its stream).
const SHA256: &str = "bab27945ecbad06e8376d9f1f5d1404be65ace0d6e2da9a7f2177dadf06db4ee";
/// The goals of the issue.
const GOAL_VS_SHA256SUM: f64 = 2.0;
const GOAL_VS_OPENSSL: f64 = 0.9;
const GOAL_RSS_BYTES: u64 = 50_000_000;

/// One run of one tool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall_s: f64,
    pub(crate) cpu_s: f64,
    pub(crate) rss_kib: u64,
    pub(crate) code: i32,
}

/// The runs of one tool.
pub struct Tool {
    shown: String,
    samples: Vec<Sample>,
}

impl Tool {
    fn walls(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.wall_s).collect()
    }
    fn median_s(&self) -> f64 {
        crate::bench::median(&self.walls())
    }
    fn min_s(&self) -> f64 {
        self.walls().into_iter().fold(f64::INFINITY, f64::min)
    }
    fn mbs(&self) -> f64 {
        SIZE as f64 / self.median_s() / 1e6
    }
    fn best_mbs(&self) -> f64 {
        SIZE as f64 / self.min_s() / 1e6
    }
    fn rss_max_kib(&self) -> u64 {
        self.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0)
    }
    fn cpu_median_s(&self) -> f64 {
        let cpus: Vec<f64> = self.samples.iter().map(|s| s.cpu_s).collect();
        crate::bench::median(&cpus)
    }
}

/// What the hashing section measured.
pub struct HashBench {
    runs: usize,
    file: PathBuf,
    /// How the file came to be: generated in this run (and how long that took) or reused.
    file_origin: String,
    cpu: String,
    sha_ni: bool,
    nproc: String,
    /// handover's, sha256sum's and OpenSSL's.
    versions: Vec<String>,
    /// OpenSSL's SHA-256 from memory (`openssl speed`), bytes per second: what one core can hash.
    openssl_speed: Option<f64>,
    mismatch: String,
    /// Whether sha256sum is linked with libcrypto (`ldd`): coreutils can use OpenSSL's sha256.
    sha256sum_libcrypto: bool,
    load_before: String,
    load_after: String,
    handover: Tool,
    sha256sum: Tool,
    openssl: Tool,
}

/// xorshift64 bytes, little-endian words: fast, and the same every time.
fn generate(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("partial");
    let mut f = std::io::BufWriter::with_capacity(
        1 << 20,
        fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = SIZE;
    while left > 0 {
        for word in buf.chunks_exact_mut(8) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            word.copy_from_slice(&s.to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    // On disk before the measurements, so that no writeback runs during them.
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    // handover refuses files that group or others can write (whatever the umask).
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644))?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// The file, generated unless one of the right size is there; says which.
fn ensure_file(dir: &Path) -> Result<(PathBuf, String)> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // handover refuses files (and directories above them) that group or others can write.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    let path = dir.join("big.bin");
    let origin = if fs::metadata(&path).is_ok_and(|m| m.len() == SIZE) {
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        format!("reused from an earlier run (its size {SIZE} bytes; its hash checked by every run)")
    } else {
        let start = Instant::now();
        generate(&path)?;
        format!(
            "generated in this run ({:.1} s)",
            start.elapsed().as_secs_f64()
        )
    };
    Ok((path, origin))
}

mod sys {
    use std::os::raw::{c_int, c_long};

    /// Linux's `struct rusage` (two timevals, then 14 longs), with room to spare.
    #[repr(C)]
    pub struct Rusage {
        pub utime_sec: c_long,
        pub utime_usec: c_long,
        pub stime_sec: c_long,
        pub stime_usec: c_long,
        /// Peak resident set in KiB.
        pub maxrss: c_long,
        _rest: [c_long; 29],
    }

    impl Rusage {
        pub fn zeroed() -> Rusage {
            Rusage {
                utime_sec: 0,
                utime_usec: 0,
                stime_sec: 0,
                stime_usec: 0,
                maxrss: 0,
                _rest: [0; 29],
            }
        }
    }

    extern "C" {
        // libc's, which std links anyway: no dependency for one call.
        pub fn wait4(pid: c_int, status: *mut c_int, options: c_int, rusage: *mut Rusage) -> c_int;
    }
}

/// Runs `program args` once: wall time from before the spawn to the reaping, exit code, peak RSS and
/// CPU from wait4's rusage; returns its stdout too.
pub(crate) fn run_once(program: &str, args: &[&str]) -> Result<(Sample, String)> {
    use std::os::unix::process::ExitStatusExt;
    let shown = format!("{program} {}", args.join(" "));
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let mut stdout = String::new();
    let mut stderr = String::new();
    let mut out = child.stdout.take().context("stdout")?;
    let mut err = child.stderr.take().context("stderr")?;
    std::thread::scope(|s| {
        let e = s.spawn(|| err.read_to_string(&mut stderr));
        let _ = out.read_to_string(&mut stdout);
        let _ = e.join();
    });
    let pid = child.id() as i32;
    let mut status = 0;
    let mut usage = sys::Rusage::zeroed();
    loop {
        // SAFETY: wait4(2) on our own child, with pointers to live, large enough locals.
        let r = unsafe { sys::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            bail!("wait4 for {shown}: {e}");
        }
    }
    let wall_s = start.elapsed().as_secs_f64();
    // Reaped: `child` must not be waited for again (dropping it does not wait).
    drop(child);
    let exit = std::process::ExitStatus::from_raw(status);
    let code = exit.code().unwrap_or(-1);
    let secs = |s: std::os::raw::c_long, us: std::os::raw::c_long| s as f64 + us as f64 / 1e6;
    let cpu_s = secs(usage.utime_sec, usage.utime_usec) + secs(usage.stime_sec, usage.stime_usec);
    if code != 0 && code != 1 {
        bail!("{shown} exited {exit}:\n{stdout}{stderr}");
    }
    Ok((
        Sample {
            wall_s,
            cpu_s,
            rss_kib: usage.maxrss.max(0) as u64,
            code,
        },
        stdout,
    ))
}

/// The site naming `file` as the artifact `big`, written owner-only.
fn write_site(dir: &Path, file: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = dir.join("site.toml");
    // A JSON string is a TOML basic string (same escapes).
    let url = serde_json::to_string(&file.to_string_lossy())?;
    let text = format!(
        "# cargo xtask bench: the hashing section's artifact\n[artifacts.big]\nurl = {url}\nsha256 = \"{SHA256}\"\n"
    );
    let _ = fs::remove_file(&path);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
    Ok(path)
}

/// Flips the last byte of `file` and puts it back (with its modification time) when dropped.
struct Flipped {
    file: fs::File,
    offset: u64,
    byte: u8,
    mtime: std::time::SystemTime,
}

impl Flipped {
    fn new(path: &Path) -> Result<Flipped> {
        use std::os::unix::fs::FileExt;
        let file = fs::OpenOptions::new().read(true).write(true).open(path)?;
        let mtime = file.metadata()?.modified()?;
        let offset = SIZE - 1;
        let mut b = [0u8];
        file.read_exact_at(&mut b, offset)?;
        file.write_all_at(&[b[0] ^ 0x01], offset)?;
        Ok(Flipped {
            file,
            offset,
            byte: b[0],
            mtime,
        })
    }
}

impl Drop for Flipped {
    fn drop(&mut self) {
        use std::os::unix::fs::FileExt;
        let restored = self.file.write_all_at(&[self.byte], self.offset);
        let _ = self.file.set_modified(self.mtime);
        if let Err(e) = restored {
            eprintln!(
                "error: could not restore the last byte of the hashing benchmark's file: {e}"
            );
        }
    }
}

fn cpu_info() -> (String, bool) {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_string(), |(_, v)| v.trim().to_string());
    let sha_ni = info
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == "sha_ni"));
    (model, sha_ni)
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `openssl speed -evp sha256` on 1 MiB blocks: bytes per second hashed from memory by one core.
fn openssl_speed() -> Option<f64> {
    let o = Command::new("openssl")
        .args([
            "speed", "-seconds", "2", "-bytes", "1048576", "-evp", "sha256",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("sha256"))?;
    let k = last.split_whitespace().last()?.strip_suffix('k')?;
    k.parse::<f64>().ok().map(|v| v * 1000.0)
}

/// Measures the hashing section with the handover binary `bin`, `runs` rounds after one warm-up round.
pub fn run(bin: &Path, runs: usize) -> Result<HashBench> {
    let dir = crate::target_dir().join("bench-hash");
    let (file, mut file_origin) = ensure_file(&dir)?;
    let file = fs::canonicalize(&file)?;
    let site = write_site(&dir, &file)?;
    let file_s = file.to_str().context("the file's path is not UTF-8")?;
    let site_s = site.to_str().context("the site's path is not UTF-8")?;
    let bin_s = bin.to_str().context("the binary's path is not UTF-8")?;
    let (cpu, sha_ni) = cpu_info();

    let handover_args = ["artifacts", "verify", "--site", site_s];
    let check_handover = |(s, out): &(Sample, String)| -> Result<()> {
        ensure!(
            s.code == 0
                && out
                    .lines()
                    .any(|l| l.starts_with("ok") && l.contains(" big ")),
            "handover artifacts verify --site {site_s} exited {} (expected 0, `ok big`):\n{out}{}",
            s.code,
            if out.contains("REFUSED") {
                "\n(handover refuses files in directories that group or others can write: check the \
                 permissions of the directories above target/bench-hash)"
            } else {
                ""
            }
        );
        Ok(())
    };
    let check_sum = |what: &str, (s, out): &(Sample, String)| -> Result<()> {
        ensure!(
            s.code == 0 && out.contains(SHA256),
            "{what} exited {} and printed {out:?}, not {SHA256}",
            s.code
        );
        Ok(())
    };

    // Warm-up (also warms the page cache). A file of the right size with other bytes is made again.
    let first = run_once("sha256sum", &[file_s])?;
    if check_sum("sha256sum", &first).is_err() {
        eprintln!(
            "{} does not hold the expected bytes: generating it again",
            file.display()
        );
        let start = Instant::now();
        generate(&file)?;
        file_origin = format!(
            "generated in this run ({:.1} s): the file there had other bytes",
            start.elapsed().as_secs_f64()
        );
        check_sum("sha256sum", &run_once("sha256sum", &[file_s])?)?;
    }
    check_handover(&run_once(bin_s, &handover_args)?)?;
    check_sum(
        "openssl dgst",
        &run_once("openssl", &["dgst", "-sha256", file_s])?,
    )?;

    let load_before = crate::bench::load_average();
    let mut handover = Tool {
        shown: "handover artifacts verify --site SITE".into(),
        samples: Vec::new(),
    };
    let mut sha256sum = Tool {
        shown: "sha256sum FILE".into(),
        samples: Vec::new(),
    };
    let mut openssl = Tool {
        shown: "openssl dgst -sha256 FILE".into(),
        samples: Vec::new(),
    };
    eprintln!("measuring hashing: 1 warm-up + {runs} rounds of handover, sha256sum, openssl");
    for _ in 0..runs {
        let h = run_once(bin_s, &handover_args)?;
        check_handover(&h)?;
        handover.samples.push(h.0);
        let s = run_once("sha256sum", &[file_s])?;
        check_sum("sha256sum", &s)?;
        sha256sum.samples.push(s.0);
        let o = run_once("openssl", &["dgst", "-sha256", file_s])?;
        check_sum("openssl dgst", &o)?;
        openssl.samples.push(o.0);
    }
    let load_after = crate::bench::load_average();

    // Not timed: one changed byte, the last one, must be found.
    let mismatch = {
        let flipped = Flipped::new(&file)?;
        let (s, out) = run_once(bin_s, &handover_args)?;
        drop(flipped);
        ensure!(
            s.code == 1 && out.contains("MISMATCH"),
            "handover artifacts verify accepted the file with its last byte changed (exit {}):\n{out}",
            s.code
        );
        let line = out
            .lines()
            .find(|l| l.contains("MISMATCH"))
            .unwrap_or_default();
        format!(
            "with the file's last byte changed (then restored, not timed), `artifacts verify` exited 1: `{}`",
            line.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
        )
    };

    let versions = vec![
        first_line(bin_s, &["--version"]),
        first_line("sha256sum", &["--version"]),
        first_line("openssl", &["version"]),
    ];
    let nproc = first_line("nproc", &[]);
    let openssl_speed = openssl_speed();
    let sha256sum_libcrypto = Command::new("sh")
        .args(["-c", "ldd \"$(command -v sha256sum)\""])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("libcrypto"));
    Ok(HashBench {
        sha256sum_libcrypto,
        runs,
        file,
        file_origin,
        cpu,
        sha_ni,
        nproc,
        versions,
        openssl_speed,
        mismatch,
        load_before,
        load_after,
        handover,
        sha256sum,
        openssl,
    })
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

impl HashBench {
    fn vs_sha256sum(&self) -> f64 {
        self.handover.mbs() / self.sha256sum.mbs()
    }
    fn vs_openssl(&self) -> f64 {
        self.handover.mbs() / self.openssl.mbs()
    }
    fn rss_ok(&self) -> bool {
        self.handover.rss_max_kib() * 1024 < GOAL_RSS_BYTES
    }
}

/// One row of the report's table of goals, for the three of this section.
pub fn goals_row(h: &HashBench) -> String {
    let all =
        h.vs_sha256sum() >= GOAL_VS_SHA256SUM && h.vs_openssl() >= GOAL_VS_OPENSSL && h.rss_ok();
    format!(
        "| `artifacts verify` of a 1 GiB installer: at least {GOAL_VS_SHA256SUM:.0}x `sha256sum`, \
         {GOAL_VS_OPENSSL}x `openssl dgst -sha256`, peak RSS below {} MB | {:.0} MB/s: {:.2}x, {:.2}x, \
         {} (see Hashing installers) | {} |",
        GOAL_RSS_BYTES / 1_000_000,
        h.handover.mbs(),
        h.vs_sha256sum(),
        h.vs_openssl(),
        mib(h.handover.rss_max_kib()),
        met(all)
    )
}

/// The section of BENCHMARKS.md (a `##` heading and what follows).
pub fn render(h: &HashBench) -> String {
    let (vs_sum, vs_ssl) = (h.vs_sha256sum(), h.vs_openssl());
    let rss = h.handover.rss_max_kib();
    let mut out = String::new();
    let _ = writeln!(out, "## Hashing installers (sha256, on the host)\n");
    let _ = writeln!(
        out,
        "`handover artifacts verify` re-hashing a {} GiB local artifact, next to `sha256sum` and `openssl \
         dgst -sha256` on the same file, page cache warm. MB/s is 10^6 bytes per second of wall time, the \
         whole process included (start, site, permission checks, hash).\n",
        SIZE >> 30
    );
    let _ = writeln!(out, "| goal | measured (medians) | |");
    let _ = writeln!(out, "|---|---|---|");
    let _ = writeln!(
        out,
        "| at least {GOAL_VS_SHA256SUM:.0}x the throughput of `sha256sum` | {vs_sum:.2}x ({:.0} vs {:.0} MB/s) | {} |",
        h.handover.mbs(),
        h.sha256sum.mbs(),
        met(vs_sum >= GOAL_VS_SHA256SUM)
    );
    let _ = writeln!(
        out,
        "| at least {GOAL_VS_OPENSSL}x the throughput of `openssl dgst -sha256` | {vs_ssl:.2}x ({:.0} vs {:.0} MB/s) | {} |",
        h.handover.mbs(),
        h.openssl.mbs(),
        met(vs_ssl >= GOAL_VS_OPENSSL)
    );
    let _ = writeln!(
        out,
        "| peak RSS below {} MB | {} | {} |\n",
        GOAL_RSS_BYTES / 1_000_000,
        mib(rss),
        met(h.rss_ok())
    );

    let _ = writeln!(
        out,
        "| command | runs | median | min | MB/s (median) | MB/s (best) | CPU (user+sys), median | peak RSS | exit |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for t in [&h.handover, &h.sha256sum, &h.openssl] {
        let codes: Vec<String> = t
            .samples
            .iter()
            .map(|s| s.code)
            .collect::<std::collections::BTreeSet<_>>()
            .iter()
            .map(i32::to_string)
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {:.0} ms | {:.0} ms | {:.0} | {:.0} | {:.0} ms | {} | {} |",
            t.shown,
            t.samples.len(),
            t.median_s() * 1000.0,
            t.min_s() * 1000.0,
            t.mbs(),
            t.best_mbs(),
            t.cpu_median_s() * 1000.0,
            mib(t.rss_max_kib()),
            codes.join(", ")
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "- **The file**: `{}`, {SIZE} bytes of xorshift64 output (sha256 `{SHA256}`), {}. Every run must \
         exit 0 and print that hash (handover: find it equal to the site's); a SITE names the file as \
         `[artifacts.big]` with that sha256 (mode 0600, as handover requires).",
        h.file
            .strip_prefix(crate::workspace_root())
            .unwrap_or(&h.file)
            .display(),
        h.file_origin
    );
    let _ = writeln!(out, "- **Verification**: {}.", h.mismatch);
    let _ = writeln!(
        out,
        "- **Runs**: 1 warm-up round, then {} rounds each running the three commands once, one after \
         the other (`cargo xtask bench --hash-runs N`). Each run is timed from before its spawn to its \
         reaping; peak RSS and CPU are from `wait4(2)`'s rusage (ru_maxrss: the process's largest \
         resident set; CPU in microseconds). Load average {} before, {} after.",
        h.runs, h.load_before, h.load_after
    );
    let _ = writeln!(
        out,
        "- **Host**: {} ({} cores), SHA extensions (`sha_ni`): {}; {}.",
        h.cpu,
        h.nproc,
        if h.sha_ni { "yes" } else { "no" },
        h.versions
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(b) = h.openssl_speed {
        // Reading on one thread while another hashes shows as CPU time above wall time.
        let overlapped = h.handover.cpu_median_s() > 1.1 * h.handover.median_s();
        let _ = writeln!(
            out,
            "- **Ceiling**: one core hashes {:.0} MB/s from memory (`openssl speed -evp sha256`, 1 MiB \
             blocks): no single sha256 stream goes faster here. {}",
            b / 1e6,
            if overlapped {
                "handover reads the next buffer on one thread while another hashes the last one (its CPU \
                 time above its wall time); sha256sum and openssl read and hash in turn."
            } else {
                "This handover, like sha256sum and openssl, reads and hashes in turn (its CPU time not \
                 above its wall time)."
            }
        );
    }
    let _ = writeln!(
        out,
        "- **Not comparable**: warm cache only; a first read from disk is bound by the disk. {}\n",
        if h.sha256sum_libcrypto {
            "This host's sha256sum is linked with libcrypto (OpenSSL's sha256)."
        } else {
            "This host's sha256sum is not linked with libcrypto (`ldd`): coreutils' portable C sha256, \
             which uses no SHA extensions."
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_once_reports_exit_output_and_rusage() {
        let (s, out) = run_once("sh", &["-c", "echo hi; echo oops >&2; exit 1"]).unwrap();
        assert_eq!((s.code, out.as_str()), (1, "hi\n"));
        assert!(s.rss_kib > 0 && s.wall_s > 0.0, "{s:?}");
        let e = run_once("sh", &["-c", "echo oops >&2; exit 3"]).unwrap_err();
        assert!(e.to_string().contains("oops"), "{e}");
    }

    fn tool(wall_s: f64, rss_kib: u64) -> Tool {
        Tool {
            shown: "x".into(),
            samples: vec![
                Sample {
                    wall_s,
                    cpu_s: wall_s,
                    rss_kib,
                    code: 0,
                };
                3
            ],
        }
    }

    #[test]
    fn goals() {
        let bench = |handover: Tool| HashBench {
            runs: 3,
            file: PathBuf::from("/f"),
            file_origin: "generated".into(),
            cpu: "cpu".into(),
            sha_ni: true,
            nproc: "2".into(),
            versions: vec!["handover 0".into()],
            openssl_speed: Some(1.8e9),
            mismatch: "exit 1".into(),
            sha256sum_libcrypto: false,
            load_before: "0".into(),
            load_after: "0".into(),
            handover,
            sha256sum: tool(3.0, 4000),
            openssl: tool(0.75, 6000),
        };
        let good = bench(tool(0.6, 7000));
        assert!((good.vs_sha256sum() - 5.0).abs() < 1e-9);
        assert!((good.vs_openssl() - 1.25).abs() < 1e-9);
        assert!(
            goals_row(&good).ends_with("| met |"),
            "{}",
            goals_row(&good)
        );
        assert!(!render(&good).contains("not met"));
        // Slower than 0.9x openssl, and 60 MiB.
        let slow = bench(tool(0.9, 60 * 1024));
        assert!(goals_row(&slow).ends_with("| **not met** |"));
        assert_eq!(render(&slow).matches("**not met**").count(), 2);
    }
}
