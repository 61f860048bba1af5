//! `handover artifacts fetch` (SPEC §6): download every installer a site names into the
//! content-addressed cache, verifying every byte.
//!
//! - The OS's own TLS and trust store (ureq with native-tls), so an institution's TLS-inspection CA is
//!   trusted exactly as the OS trusts it; the proxy comes from `HTTPS_PROXY`/`ALL_PROXY` (`NO_PROXY`).
//! - Bounded parallel downloads, each hashed while it downloads.
//! - A partial download lives in `CACHE/partial/<sha256>.part`, never under its final name; the next
//!   attempt (or run) resumes it with a `Range` request, and starts over cleanly when the server answers
//!   `200` (it ignored the range) or `416`.
//! - Only a file whose sha256 matches is renamed (atomically, same filesystem) to `CACHE/sha256/<hex>`,
//!   so nothing in the cache ever looks valid without being valid.
//! - Transient failures (connection lost, a stalled server: no byte for `read_timeout`, HTTP 5xx, 408,
//!   429) are retried with exponential backoff; a 404 or a wrong hash is not. One failure never stops
//!   the other downloads.
//! - The cache is root-only and checked before use, and a partial file is opened without following a
//!   link and must be a regular file of the user running handover (F10): root never writes through a
//!   link someone planted. A download stops at `max_bytes` (F11), an https download never follows a
//!   redirect to plain http, and every download has a total `deadline` across its attempts.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::artifacts::cache_path;
use crate::support::hashing::Hasher;
use crate::support::par::par_map;

/// One file to download: a file artifact, or one file of a directory artifact.
#[derive(Debug, Clone)]
pub struct Job {
    pub artifact: String,
    /// The path inside a directory artifact, or "" for a file artifact.
    pub part: String,
    pub url: String,
    pub sha256: String,
}

impl Job {
    /// `office-source: Office/Data/v64.cab` or `lsagent-linux`.
    pub fn label(&self) -> String {
        if self.part.is_empty() {
            self.artifact.clone()
        } else {
            format!("{}: {}", self.artifact, self.part)
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub jobs: usize,
    /// Attempts after the first, for transient failures.
    pub retries: u32,
    /// The first backoff; it doubles each retry.
    pub backoff: Duration,
    /// A server that sends no byte for this long has stalled.
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
    pub progress: bool,
    /// The most bytes one file may have: a server sending more is cut off at once (F11). The site
    /// pins a sha256, not a size, so this is a generous bound rather than the exact size.
    pub max_bytes: u64,
    /// The longest one file's download may take, over all its attempts (F11): a server that sends a
    /// byte just often enough to escape `read_timeout` is stopped here.
    pub deadline: Duration,
}

/// The default [`Options::max_bytes`]: 8 GiB, above any installer or Office source file.
pub const MAX_BYTES: u64 = 8 << 30;

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: 4,
            retries: 3,
            backoff: Duration::from_secs(1),
            read_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(15),
            progress: false,
            max_bytes: MAX_BYTES,
            // 8 GiB at 1 MB/s takes 2.3 hours.
            deadline: Duration::from_secs(6 * 3600),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Already in the cache, and its hash was checked.
    Cached,
    Fetched {
        bytes: u64,
        /// Bytes a previous attempt or run had already downloaded.
        resumed_from: u64,
        attempts: u32,
        secs: f64,
    },
    Failed(String),
}

/// A failure of one attempt: whether another attempt could succeed.
#[derive(Debug)]
struct AttemptError {
    message: String,
    retry: bool,
}

fn transient(message: String) -> AttemptError {
    AttemptError {
        message,
        retry: true,
    }
}

fn permanent(message: String) -> AttemptError {
    AttemptError {
        message,
        retry: false,
    }
}

/// The HTTP agent: native TLS with the OS's roots, statuses returned rather than errors (so a 404 is
/// reported as one), no automatic decompression (installers are hashed exactly as served).
pub fn agent(opts: &Options) -> ureq::Agent {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .provider(TlsProvider::NativeTls)
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .http_status_as_error(false)
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_per_read(Some(opts.read_timeout))
        .user_agent(concat!("handover/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Download every job into `cache`, `opts.jobs` at a time; the outcomes are in the order of `jobs`.
pub fn fetch_all(jobs: &[Job], cache: &Path, opts: &Options) -> Vec<Outcome> {
    let agent = agent(opts);
    let multi = MultiProgress::with_draw_target(if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let total = multi.add(ProgressBar::new(0));
    total.set_style(
        ProgressStyle::with_template(
            "total {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} [{wide_bar}] {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let bars = Bars {
        multi: &multi,
        total: &total,
    };
    // The same bytes under two names (or twice in one directory) are downloaded once.
    let mut unique: Vec<&Job> = Vec::new();
    for j in jobs {
        if !unique
            .iter()
            .any(|u| u.sha256.eq_ignore_ascii_case(&j.sha256))
        {
            unique.push(j);
        }
    }
    let done = par_map(&unique, opts.jobs, |job| {
        fetch_one(&agent, job, cache, opts, &bars)
    });
    total.finish_and_clear();
    jobs.iter()
        .map(|j| {
            let i = unique
                .iter()
                .position(|u| u.sha256.eq_ignore_ascii_case(&j.sha256))
                .expect("every job has a unique representative");
            if std::ptr::eq(unique[i], j) {
                done[i].clone()
            } else {
                match &done[i] {
                    Outcome::Failed(e) => {
                        Outcome::Failed(format!("same sha256 as {}: {e}", unique[i].label()))
                    }
                    _ => Outcome::Cached,
                }
            }
        })
        .collect()
}

struct Bars<'a> {
    multi: &'a MultiProgress,
    total: &'a ProgressBar,
}

fn fetch_one(agent: &ureq::Agent, job: &Job, cache: &Path, opts: &Options, bars: &Bars) -> Outcome {
    let sha = job.sha256.to_ascii_lowercase();
    if let Err(e) = prepare_dirs(cache) {
        return Outcome::Failed(format!("cannot use the cache {}: {e:#}", cache.display()));
    }
    let dest = cache_path(cache, &sha);
    if dest.exists() {
        match crate::support::hashing::sha256_file(&dest) {
            Ok(got) if got == sha => return Outcome::Cached,
            // Someone changed a cached file: it is not what its name says, so it goes.
            _ => {
                let _ = std::fs::remove_file(&dest);
            }
        }
    }
    if !(job.url.starts_with("https://") || job.url.starts_with("http://")) {
        return Outcome::Failed(format!(
            "{}: only https:// (or http://) URLs can be downloaded",
            job.url
        ));
    }
    let part = partial_path(cache, &sha);
    let bar = bars.multi.insert_before(bars.total, ProgressBar::new(0));
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:30!} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} [{bar:30}]",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message(job.label());
    let started = Instant::now();
    let resumed_from = std::fs::symlink_metadata(&part).map_or(0, |m| m.len());
    let deadline = started + opts.deadline;
    let mut attempt = 0;
    let result = loop {
        match attempt_once(agent, job, &sha, &part, &bar, bars.total, opts, deadline) {
            Ok(bytes) => break Ok(bytes),
            Err(e)
                if e.retry
                    && attempt < opts.retries
                    && Instant::now() + opts.backoff * 2u32.saturating_pow(attempt) < deadline =>
            {
                let wait = opts.backoff * 2u32.saturating_pow(attempt);
                let msg = format!(
                    "{}: {}; retrying in {:.1} s",
                    job.label(),
                    e.message,
                    wait.as_secs_f64()
                );
                if opts.progress {
                    bars.multi.println(msg).ok();
                } else {
                    eprintln!("{msg}");
                }
                std::thread::sleep(wait);
                attempt += 1;
            }
            Err(e) => break Err(e),
        }
    };
    bar.finish_and_clear();
    bars.multi.remove(&bar);
    match result {
        Ok(bytes) => match commit(&part, &dest) {
            Ok(()) => Outcome::Fetched {
                bytes,
                resumed_from,
                attempts: attempt + 1,
                secs: started.elapsed().as_secs_f64(),
            },
            Err(e) => Outcome::Failed(format!("moving into the cache: {e}")),
        },
        Err(e) => {
            let tries = if attempt > 0 {
                format!(" (after {} attempts)", attempt + 1)
            } else {
                String::new()
            };
            Outcome::Failed(format!("{}{tries}", e.message))
        }
    }
}

/// Make the cache root-only and check it (F10): a cache that others could write is refused before it
/// is made private (they may have planted links in it), and neither `sha256/` nor `partial/` may be a
/// link.
pub fn prepare_dirs(cache: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    if std::fs::symlink_metadata(cache).is_ok() {
        crate::support::perms::require_trusted(cache, "download cache")?;
    }
    crate::support::perms::ensure_private_dir(cache)?;
    crate::support::perms::require_trusted(cache, "download cache")?;
    for d in ["sha256", "partial"] {
        let p = cache.join(d);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if !m.is_dir() => {
                return Err(crate::support::error::InputError::refused(format!(
                    "refusing the download cache: {} is not a directory (a link or a file)",
                    p.display()
                )))
            }
            Ok(_) => crate::support::perms::require_trusted(&p, "download cache")?,
            Err(_) => {}
        }
        crate::support::perms::ensure_private_dir(&p)
            .with_context(|| format!("{}", p.display()))?;
    }
    Ok(())
}

/// The user whose files the cache may hold: root when handover runs as root.
#[cfg(unix)]
fn me() -> u32 {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Open a partial download, never through a link and never blocking on a FIFO, and refuse what is not
/// a regular file of this user with one name (F10): root must not read, truncate or write the target of
/// a link or a hard link someone planted. `write` opens it for appending, creating it (0600) if absent.
fn open_part(part: &Path, write: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    if write {
        o.append(true).create(true);
    } else {
        o.read(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        o.mode(0o600);
    }
    // Windows has no O_NOFOLLOW: look first (the cache is SYSTEM/Administrators-only, checked above).
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(part).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(link_refused());
    }
    let f = o.open(part).map_err(refuse_link)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a directory, a device or a FIFO): refused",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if m.uid() != me() {
            return Err(std::io::Error::other(format!(
                "owned by uid {}, not by uid {} which runs handover: refused",
                m.uid(),
                me()
            )));
        }
        if m.nlink() != 1 {
            return Err(std::io::Error::other(format!(
                "it has {} names (a hard link): refused, and its other names left alone",
                m.nlink()
            )));
        }
    }
    Ok(f)
}

fn link_refused() -> std::io::Error {
    std::io::Error::other("it is a symbolic link: refused, and its target left alone")
}

/// O_NOFOLLOW's error on a link (ELOOP), in words.
fn refuse_link(e: std::io::Error) -> std::io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return link_refused();
    }
    e
}

/// Hash what an earlier attempt left, so the hash continues where the download does.
fn hash_existing(part: &Path, h: &mut Hasher) -> std::io::Result<u64> {
    match std::fs::symlink_metadata(part) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        _ => {}
    }
    let mut f = open_part(part, false)?;
    std::io::copy(&mut f, h)
}

/// One request: resume `part` if it has bytes, stream the body into it while hashing, and check the
/// hash. Returns the file's full size once its sha256 matches.
#[allow(clippy::too_many_arguments)]
fn attempt_once(
    agent: &ureq::Agent,
    job: &Job,
    sha: &str,
    part: &Path,
    bar: &ProgressBar,
    total: &ProgressBar,
    opts: &Options,
    deadline: Instant,
) -> Result<u64, AttemptError> {
    let a = Attempt {
        job,
        part,
        opts,
        deadline,
    };
    let (mut hasher, mut have) = a.resume_point()?;
    let resp = a.request(agent, have)?;
    if a.check_status(&resp, have)? {
        // The server ignored the range (or there was none): start over with its whole body.
        hasher = Hasher::new();
        have = 0;
    }
    let length = resp.body().content_length();
    a.check_length(have, length)?;
    // Checked before anything is truncated or written (F10).
    let file = open_part(part, true).map_err(|e| a.io("opening", e))?;
    if have == 0 {
        file.set_len(0).map_err(|e| a.io("truncating", e))?;
    }
    bar.set_length(have + length.unwrap_or(0));
    bar.set_position(have);
    total.inc_length(have + length.unwrap_or(0));
    total.inc(have);
    let got = a.stream(resp, file, &mut hasher, have, length, &[bar, total])?;
    a.final_check(sha, hasher, have, got, length)?;
    Ok(have + got)
}

/// One attempt's fixed inputs, so its steps read as a pipeline.
struct Attempt<'a> {
    job: &'a Job,
    part: &'a Path,
    opts: &'a Options,
    deadline: Instant,
}

impl Attempt<'_> {
    fn io(&self, what: &str, e: std::io::Error) -> AttemptError {
        permanent(format!("{what} {}: {e}", self.part.display()))
    }

    /// Hash what an earlier attempt left: the hasher and the byte to resume at.
    fn resume_point(&self) -> Result<(Hasher, u64), AttemptError> {
        let mut hasher = Hasher::new();
        let have = hash_existing(self.part, &mut hasher).map_err(|e| self.io("reading", e))?;
        if have > self.opts.max_bytes {
            let _ = std::fs::remove_file(self.part);
            return Err(transient(format!(
                "{}: the partial download is larger than {} bytes; starting over",
                self.job.url, self.opts.max_bytes
            )));
        }
        Ok((hasher, have))
    }

    /// The GET, with a `Range` from `have` when resuming.
    fn request(
        &self,
        agent: &ureq::Agent,
        have: u64,
    ) -> Result<ureq::http::Response<ureq::Body>, AttemptError> {
        let url = &self.job.url;
        let Some(left) = self.deadline.checked_duration_since(Instant::now()) else {
            return Err(permanent(format!(
                "{url}: not finished within {} s; the partial download is kept to resume",
                self.opts.deadline.as_secs()
            )));
        };
        // An https download stays https through every redirect (F11); the deadline bounds the whole
        // exchange, body included, however slowly the server sends.
        let mut req = agent
            .get(url)
            .config()
            .https_only(url.starts_with("https://"))
            .timeout_global(Some(left))
            .build();
        if have > 0 {
            req = req.header("Range", &format!("bytes={have}-"));
        }
        req.call().map_err(|e| {
            let message = format!("{url}: {}", describe(&e));
            // A redirect away from https is the server's answer, not a passing failure.
            if matches!(e, ureq::Error::RequireHttpsOnly(_)) {
                permanent(message)
            } else {
                transient(message)
            }
        })
    }

    /// The status: Ok(true) to start over with the whole body, Ok(false) to resume at `have`.
    fn check_status(
        &self,
        resp: &ureq::http::Response<ureq::Body>,
        have: u64,
    ) -> Result<bool, AttemptError> {
        let url = &self.job.url;
        let status = resp.status().as_u16();
        match status {
            206 if have > 0 => {
                let start = resp
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if start != Some(have) {
                    let _ = std::fs::remove_file(self.part);
                    return Err(transient(format!(
                        "{url}: the server resumed at the wrong offset; starting over"
                    )));
                }
                Ok(false)
            }
            200 => Ok(true),
            416 => {
                let _ = std::fs::remove_file(self.part);
                Err(transient(format!(
                    "{url}: the server refused to resume (HTTP 416); starting over"
                )))
            }
            408 | 429 | 500..=599 => Err(transient(format!("{url}: HTTP {status}"))),
            _ => Err(permanent(format!(
                "{url}: HTTP {status}{}",
                resp.status()
                    .canonical_reason()
                    .map_or(String::new(), |r| format!(" {r}"))
            ))),
        }
    }

    /// Refuse a body the server announces as larger than `max_bytes` (F11).
    fn check_length(&self, have: u64, length: Option<u64>) -> Result<(), AttemptError> {
        if let Some(len) = length {
            if have.saturating_add(len) > self.opts.max_bytes {
                let _ = std::fs::remove_file(self.part);
                return Err(permanent(format!(
                    "{}: the server announces {} bytes, more than the {} bytes a download may have; nothing was cached",
                    self.job.url,
                    have.saturating_add(len),
                    self.opts.max_bytes
                )));
            }
        }
        Ok(())
    }

    /// Stream the body into `file` while hashing, up to `max_bytes`; returns the bytes it got.
    fn stream(
        &self,
        resp: ureq::http::Response<ureq::Body>,
        mut file: File,
        hasher: &mut Hasher,
        have: u64,
        length: Option<u64>,
        bars: &[&ProgressBar],
    ) -> Result<u64, AttemptError> {
        let mut body = resp.into_body().into_reader();
        let mut buf = vec![0u8; 1 << 18];
        let mut got = 0u64;
        loop {
            let k = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(e) => {
                    let _ = file.sync_all();
                    return Err(self.read_failed(&e, have, got, length));
                }
            };
            if (have + got).saturating_add(k as u64) > self.opts.max_bytes {
                drop(file);
                let _ = std::fs::remove_file(self.part);
                return Err(permanent(format!(
                    "{}: the body is larger than the {} bytes a download may have: cut off there; nothing was cached",
                    self.job.url, self.opts.max_bytes
                )));
            }
            hasher.update(&buf[..k]);
            file.write_all(&buf[..k])
                .map_err(|e| self.io("writing", e))?;
            got += k as u64;
            for b in bars {
                b.inc(k as u64);
            }
        }
        file.sync_all().map_err(|e| self.io("syncing", e))?;
        Ok(got)
    }

    /// Why reading the body failed: the deadline, a stalled server, a short body or the connection.
    fn read_failed(
        &self,
        e: &std::io::Error,
        have: u64,
        got: u64,
        length: Option<u64>,
    ) -> AttemptError {
        let at = have + got;
        if Instant::now() >= self.deadline {
            return permanent(format!(
                "{}: not finished within {} s (at byte {at}); the partial download is kept to resume",
                self.job.url,
                self.opts.deadline.as_secs()
            ));
        }
        let why = if matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ) || e.to_string().contains("timeout")
        {
            format!("the server stalled: no data within the read timeout, at byte {at}")
        } else if let Some(len) = length {
            format!("the body was cut short: {got} of {len} bytes ({e})")
        } else {
            format!("the connection failed at byte {at}: {e}")
        };
        transient(format!(
            "{}: {why}; the partial download is kept to resume",
            self.job.url
        ))
    }

    /// The whole body arrived and its sha256 is the site's.
    fn final_check(
        &self,
        sha: &str,
        hasher: Hasher,
        have: u64,
        got: u64,
        length: Option<u64>,
    ) -> Result<(), AttemptError> {
        if let Some(len) = length {
            if got < len {
                return Err(transient(format!(
                    "{}: the body was cut short: {got} of {len} bytes; the partial download is kept to resume",
                    self.job.url
                )));
            }
        }
        let hex = hasher.finish_hex();
        if hex != sha {
            let _ = std::fs::remove_file(self.part);
            let size = have + got;
            return Err(AttemptError {
                message: format!(
                    "{}: sha256 mismatch: the site expects {sha}, the download ({size} bytes) has {hex}; nothing was cached",
                    self.job.url
                ),
                // A resumed download may have joined two different files: one fresh try.
                retry: have > 0,
            });
        }
        Ok(())
    }
}

/// The message of a transport error, without ureq's type names.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::RequireHttpsOnly(to) => {
            format!("redirected to {to}, which is not https: refused")
        }
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// Move a verified download to its content address: atomic on one filesystem, and synced, so a
/// crash leaves either no file or the whole file under the final name.
fn commit(part: &Path, dest: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(part, std::fs::Permissions::from_mode(0o644))?;
    }
    std::fs::rename(part, dest)?;
    if let Some(dir) = dest.parent() {
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        let _ = dir;
    }
    Ok(())
}

/// The jobs of artifacts: every remote file; local-path artifacts need no download.
pub fn jobs_of(specs: &[crate::artifacts::Spec]) -> (Vec<Job>, Vec<String>) {
    let mut jobs = Vec::new();
    let mut local = Vec::new();
    for s in specs {
        if s.local().is_some() {
            local.push(s.name.clone());
            continue;
        }
        for (part, sha256) in s.parts() {
            jobs.push(Job {
                artifact: s.name.clone(),
                url: s.part_url(&part),
                part,
                sha256,
            });
        }
    }
    (jobs, local)
}

/// Where a partial download of `sha256` is kept.
pub fn partial_path(cache: &Path, sha256: &str) -> PathBuf {
    cache
        .join("partial")
        .join(format!("{}.part", sha256.to_ascii_lowercase()))
}
