//! The offline kit (SPEC §6): a folder a technician carries on a USB stick, so that a build needs no
//! network. `kit build` fills it on a connected machine, `kit verify` re-hashes every byte against its
//! `MANIFEST.sha256`, and `apply --kit DIR` (also `check`/`plan`) takes the site, the installers and the
//! Linux packages from it.
//!
//! ```text
//! KIT/handover, KIT/handover.exe     the binary (and the Windows one, where it was built)
//! KIT/site.toml                      the site, verbatim (plus any manifest files it names)
//! KIT/artifacts/sha256/<hex>         every installer, content-addressed like the download cache
//! KIT/repo/<profile>/                a package repository per Linux release: .debs + Packages, or
//!                                    .rpms + repodata (what the baseline installs, with dependencies)
//! KIT/README.txt                     what it holds and how to use it
//! KIT/MANIFEST.sha256                sha256 of every other file, `sha256sum -c` compatible
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::artifacts::{cache_path, Spec};
use crate::host::process::Cmd;
use crate::inputs::profile::Profile;
use crate::inputs::site::Site;
use crate::support::par::par_map;

pub const MANIFEST: &str = "MANIFEST.sha256";
pub const SITE: &str = "site.toml";

/// The packages a Linux profile's templates install (what its kit repository must carry).
pub fn packages(profile: &Profile) -> Vec<String> {
    let mut out = Vec::new();
    for key in [
        "pwquality_packages",
        "clamav_packages",
        "baseline_packages",
        "dnf_automatic_package",
    ] {
        match &profile.vars[key] {
            serde_json::Value::Array(a) => {
                out.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)))
            }
            serde_json::Value::String(s) => out.push(s.clone()),
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

pub struct BuildOptions<'a> {
    pub out: &'a Path,
    pub site: &'a Site,
    pub profiles: &'a [Profile],
    /// The artifacts to carry (names the site defines).
    pub artifacts: &'a [Spec],
    pub cache: &'a Path,
    /// Binaries to carry: the running one, and `handover.exe` if it was built.
    pub binaries: &'a [(String, PathBuf)],
    /// The OS the kit is built on: a package repository can be built only for a matching release.
    pub host: &'a crate::host::facts::Os,
    pub packages: bool,
}

/// What `kit build` did, for its output and the kit's README.
#[derive(Debug, Default)]
pub struct Built {
    pub files: usize,
    pub bytes: u64,
    pub repos: Vec<(String, usize)>,
    pub skipped_repos: Vec<(String, String)>,
}

pub fn build(o: &BuildOptions) -> Result<Built> {
    let out = o.out;
    if out.exists()
        && std::fs::read_dir(out)
            .with_context(|| format!("reading {}", out.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: build a kit into a new or empty directory",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut built = Built::default();

    for (name, src) in o.binaries {
        let dest = out.join(name);
        std::fs::copy(src, &dest).with_context(|| format!("copying {}", src.display()))?;
        set_mode(&dest, 0o755)?;
    }

    let site_path = o
        .site
        .path
        .as_ref()
        .context("a kit needs a site file: give --site FILE")?;
    std::fs::copy(site_path, out.join(SITE))
        .with_context(|| format!("copying {}", site_path.display()))?;
    for (name, art) in &o.site.file.artifacts {
        if let Some(m) = &art.manifest {
            if Path::new(m).is_absolute() {
                bail!("[artifacts.{name}] manifest {m:?} is an absolute path: make it relative to the site file so the kit can carry it");
            }
            let src = site_path.parent().unwrap_or(Path::new(".")).join(m);
            let dest = out.join(m);
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p)?;
            }
            std::fs::copy(&src, &dest).with_context(|| format!("copying {}", src.display()))?;
        }
    }

    // Every installer file, copied and hashed on the way, under its content address.
    let parts: Vec<(String, String, PathBuf)> = o
        .artifacts
        .iter()
        .flat_map(|s| {
            s.parts().into_iter().map(move |(rel, sha)| {
                let label = if rel.is_empty() {
                    s.name.clone()
                } else {
                    format!("{}: {rel}", s.name)
                };
                let src = s.source(&rel, &sha, o.cache);
                (label, sha, src)
            })
        })
        .collect();
    let dest_cache = out.join("artifacts");
    std::fs::create_dir_all(dest_cache.join("sha256"))?;
    let copied = par_map(
        &parts,
        crate::support::par::cores(),
        |(label, sha, src)| -> Result<()> {
            let dest = cache_path(&dest_cache, sha);
            if dest.exists() {
                return Ok(());
            }
            if !src.exists() {
                bail!(
                    "artifact {label}: {} does not exist; run `handover artifacts fetch` first",
                    src.display()
                );
            }
            copy_verified(src, &dest, sha).with_context(|| format!("artifact {label}"))
        },
    );
    for r in copied {
        r?;
    }

    for p in o.profiles {
        if p.os_match.family != "linux" || !o.packages {
            continue;
        }
        let wanted = packages(p);
        if wanted.is_empty() {
            continue;
        }
        if !p.matches(o.host) {
            built.skipped_repos.push((
                p.name.clone(),
                format!(
                    "this kit was built on {} {}; build it on a {} machine to carry its packages",
                    o.host.id, o.host.version, p.name
                ),
            ));
            continue;
        }
        let dir = out.join("repo").join(&p.name);
        let n = match p.vars["pkg"].as_str() {
            Some("apt") => build_apt_repo(&dir, &wanted)?,
            Some("dnf") => build_dnf_repo(&dir, &wanted)?,
            other => bail!("profile {}: no package repository for {other:?}", p.name),
        };
        built.repos.push((p.name.clone(), n));
    }

    std::fs::write(out.join("README.txt"), readme(o, &built))?;
    let (files, bytes) = write_manifest(out)?;
    built.files = files;
    built.bytes = bytes;
    Ok(built)
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// Copy `src` to `dest`, hashing what was written; a mismatch leaves no `dest`.
fn copy_verified(src: &Path, dest: &Path, sha256: &str) -> Result<()> {
    let tmp = dest.with_extension("part");
    std::fs::copy(src, &tmp).with_context(|| format!("copying {}", src.display()))?;
    let got = crate::artifacts::sha256_file(&tmp)?;
    if !got.eq_ignore_ascii_case(sha256) {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "{} has sha256 {got}, but the site expects {sha256}; not put into the kit",
            src.display()
        );
    }
    set_mode(&tmp, 0o644)?;
    std::fs::rename(&tmp, dest)?;
    Ok(())
}

/// Download `packages` and their whole dependency closure (resolved as if nothing were installed, so
/// the kit serves a fresh install) into `dir`, and index them for apt (`Packages`, `Packages.gz`).
/// Uses this machine's apt sources and lists, which is why the release must match.
fn build_apt_repo(dir: &Path, packages: &[String]) -> Result<usize> {
    // apt reads a relative Dir::Cache::archives under /var/cache/apt: `kit build --out kit` put the
    // .debs there and then found none in the kit.
    let dir = &std::path::absolute(dir)?;
    std::fs::create_dir_all(dir.join("partial"))?;
    let scratch = tempfile::tempdir()?;
    let status = scratch.path().join("status");
    std::fs::write(&status, "")?;
    let mut args: Vec<String> = [
        "-q",
        "-y",
        "--download-only",
        "--no-install-recommends",
        "-o",
        "Debug::NoLocking=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push("-o".into());
    args.push(format!("Dir::State::status={}", status.display()));
    args.push("-o".into());
    args.push(format!("Dir::Cache::archives={}", dir.display()));
    args.push("-o".into());
    args.push(format!(
        "Dir::Cache::pkgcache={}",
        scratch.path().join("pkgcache.bin").display()
    ));
    args.push("-o".into());
    args.push(format!(
        "Dir::Cache::srcpkgcache={}",
        scratch.path().join("srcpkgcache.bin").display()
    ));
    args.push("install".into());
    args.extend(packages.iter().cloned());
    let out = Cmd::new("apt-get")
        .args(&args)
        .output()
        .context("running apt-get (is this a Debian or Ubuntu machine?)")?;
    if !out.success() {
        bail!(
            "apt-get could not download {}: {}",
            packages.join(" "),
            out.text()
        );
    }
    let _ = std::fs::remove_dir(dir.join("partial"));
    let _ = std::fs::remove_file(dir.join("lock"));
    let index = Cmd::new("dpkg-scanpackages")
        .args(["--multiversion", "."])
        .dir(dir)
        .stdout()
        .context("running dpkg-scanpackages (apt-get install dpkg-dev)")?;
    // duct's read() dropped the final newline; the index keeps exactly one.
    std::fs::write(
        dir.join("Packages"),
        format!("{}\n", index.trim_end_matches('\n')),
    )?;
    Cmd::new("gzip")
        .args(["-9nkf", "Packages"])
        .dir(dir)
        .run()
        .context("gzip")?;
    let debs = std::fs::read_dir(dir)?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "deb"))
        })
        .count();
    if debs == 0 {
        bail!("apt-get downloaded no packages into {}", dir.display());
    }
    Ok(debs)
}

/// The dnf counterpart: `dnf download --resolve --alldeps` and `createrepo_c`. (Written to the dnf
/// documentation; not yet run, since no RHEL machine is at hand: see README.)
fn build_dnf_repo(dir: &Path, packages: &[String]) -> Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut args = vec![
        "-q".to_string(),
        "download".into(),
        "--resolve".into(),
        "--alldeps".into(),
        format!("--destdir={}", dir.display()),
    ];
    args.extend(packages.iter().cloned());
    Cmd::new("dnf")
        .args(&args)
        .run()
        .context("dnf download (run kit build on the release itself)")?;
    Cmd::new("createrepo_c")
        .arg("--quiet")
        .arg(dir)
        .run()
        .context("createrepo_c")?;
    Ok(std::fs::read_dir(dir)?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "rpm"))
        })
        .count())
}

fn readme(o: &BuildOptions, built: &Built) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "handover kit");
    let _ = writeln!(r, "============\n");
    let _ = writeln!(
        r,
        "Built {} by handover {} on {} {}.\n",
        crate::support::clock::now()
            .map(|t| humantime::format_rfc3339_seconds(t).to_string())
            .unwrap_or_default(),
        env!("CARGO_PKG_VERSION"),
        o.host.id,
        o.host.version
    );
    let _ = writeln!(
        r,
        "On the device (as root / Administrator), from this folder:\n"
    );
    let _ = writeln!(
        r,
        "  ./handover kit verify .          every byte against MANIFEST.sha256 (also: sha256sum -c MANIFEST.sha256)"
    );
    let _ = writeln!(
        r,
        "  ./handover plan --kit .          what apply would change"
    );
    let _ = writeln!(
        r,
        "  ./handover apply --kit .         apply, installing from this kit only (no network needed)"
    );
    if o.binaries.iter().any(|(n, _)| n == "handover.exe") {
        let _ = writeln!(r, "  handover.exe apply --kit .       the same on Windows");
    }
    let _ = writeln!(r);
    let _ = writeln!(r, "Installers (artifacts/sha256/<sha256>):");
    for s in o.artifacts {
        match &s.files {
            Some(f) => {
                let _ = writeln!(r, "  {:<22} directory, {} files", s.name, f.len());
            }
            None => {
                let _ = writeln!(r, "  {:<22} {}", s.name, s.sha256);
            }
        }
    }
    let _ = writeln!(r, "\nPackage repositories (repo/<profile>):");
    for (p, n) in &built.repos {
        let _ = writeln!(r, "  {p:<22} {n} packages");
    }
    for (p, why) in &built.skipped_repos {
        let _ = writeln!(r, "  {p:<22} none: {why}");
    }
    r
}

/// Every file under `dir` (relative, `/`-separated, sorted), except the manifest itself.
fn files_under(dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) -> Result<()> {
        for e in std::fs::read_dir(d).with_context(|| format!("reading {}", d.display()))? {
            let e = e?;
            let t = e.file_type()?;
            let p = e.path();
            if t.is_dir() {
                walk(root, &p, out)?;
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(rel.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    // `keys/` (the record-signing key, `kit keygen`) and `records/` (devices' signed records) change
    // after the kit is built and prove themselves by signature, so the manifest does not cover them.
    out.retain(|p| p != MANIFEST && !p.starts_with("keys/") && !p.starts_with("records/"));
    out.sort();
    Ok(out)
}

fn write_manifest(dir: &Path) -> Result<(usize, u64)> {
    let files = files_under(dir)?;
    let hashes = par_map(&files, crate::support::par::cores(), |rel| {
        crate::artifacts::sha256_file(&dir.join(rel)).map(|h| {
            let len = std::fs::metadata(dir.join(rel)).map_or(0, |m| m.len());
            (h, len)
        })
    });
    let mut text = String::new();
    let mut bytes = 0;
    for (rel, h) in files.iter().zip(hashes) {
        let (h, len) = h.with_context(|| format!("hashing {rel}"))?;
        bytes += len;
        let _ = writeln!(text, "{h}  {rel}");
    }
    std::fs::write(dir.join(MANIFEST), text)?;
    Ok((files.len(), bytes))
}

/// One thing `kit verify` found wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    Missing(String),
    Mismatch {
        path: String,
        expected: String,
        got: String,
    },
    /// A file the manifest does not list: the kit is no longer what was built.
    Extra(String),
    /// Listed (or under `keys/` or `records/`), but a symbolic link, a directory, a device or a FIFO:
    /// never read, so a link to a root-only file reveals nothing and a FIFO hangs nothing (F15).
    NotRegular(String),
    /// Something under `keys/` or `records/` that handover never puts there (F15).
    Unexpected(String),
    /// `keys/records.pub` is not the key this device already trusts (`kit verify` on a device, F15).
    DeviceKey(String),
}

impl Problem {
    /// The word `kit verify` starts its line with.
    pub fn tag(&self) -> &'static str {
        match self {
            Problem::Missing(_) => "MISSING",
            Problem::Mismatch { .. } => "MISMATCH",
            Problem::Extra(_) => "EXTRA",
            Problem::NotRegular(_) => "REFUSED",
            Problem::Unexpected(_) => "PLANTED",
            Problem::DeviceKey(_) => "KEY",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing(p) => write!(f, "{p} is missing"),
            Problem::Mismatch {
                path,
                expected,
                got,
            } => write!(f, "{path} has sha256 {got}, the manifest says {expected}"),
            Problem::Extra(p) => write!(f, "{p} is not in {MANIFEST}"),
            Problem::NotRegular(p) => write!(
                f,
                "{p} is not a regular file (a symbolic link, a device or a FIFO): not read"
            ),
            Problem::Unexpected(p) => write!(
                f,
                "{p} is not a file handover puts there (keys/: {}; records/: DEVICE/NNNNNN-….json, its .sig, {})",
                KEY_FILES.join(", "),
                crate::evidence::signing::PENDING
            ),
            Problem::DeviceKey(m) => write!(f, "keys/records.pub: {m}"),
        }
    }
}

/// What `kit verify` checked.
#[derive(Debug)]
pub struct Verified {
    pub files: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

/// The largest `MANIFEST.sha256` read (F15): about 170,000 lines; a kit carries a few thousand files.
pub const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

/// The files handover puts under `KIT/keys/` (`kit keygen`).
const KEY_FILES: &[&str] = &["records.key", "records.pub"];

/// Open `root/rel` (`rel` `/`-separated) for reading, following no symbolic link below `root`, never
/// opening anything but a regular file (so a FIFO or a device is neither waited on nor read), and
/// checking the opened file itself. The error of a link, a directory, a device or a FIFO is
/// [`not_regular`].
pub fn open_regular(root: &Path, rel: &str) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::ffi::CString;
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let cname = |name: &str| {
            CString::new(name).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL byte in a name")
            })
        };
        let parts: Vec<&str> = rel.split('/').collect();
        let (last, dirs) = parts.split_last().expect("split yields one part");
        let mut dir: OwnedFd = std::fs::File::open(root)?.into();
        for d in dirs {
            let c = cname(d)?;
            // SAFETY: `dir` is an open descriptor and `c` a NUL-terminated name; the result is checked.
            let fd = unsafe {
                libc::openat(
                    dir.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                let e = std::io::Error::last_os_error();
                return Err(match e.raw_os_error() {
                    Some(libc::ELOOP) | Some(libc::ENOTDIR) => not_regular_error(),
                    _ => e,
                });
            }
            // SAFETY: `fd` was just opened and is owned by nothing else.
            dir = unsafe { OwnedFd::from_raw_fd(fd) };
        }
        let c = cname(last)?;
        // Look before opening: a device or a FIFO is never opened at all.
        // SAFETY: a zeroed `stat` is a valid out-parameter; the name is NUL-terminated.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::fstatat(
                dir.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(not_regular_error());
        }
        // SAFETY: as above; O_NONBLOCK so that a FIFO swapped in since the look cannot block the open.
        let fd = unsafe {
            libc::openat(
                dir.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ELOOP) => not_regular_error(),
                _ => e,
            });
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let f = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        if !f.metadata()?.is_file() {
            return Err(not_regular_error());
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        let mut p = root.to_path_buf();
        for part in rel.split('/') {
            p.push(part);
            if std::fs::symlink_metadata(&p)?.file_type().is_symlink() {
                return Err(not_regular_error());
            }
        }
        if !std::fs::symlink_metadata(&p)?.is_file() {
            return Err(not_regular_error());
        }
        let f = std::fs::File::open(&p)?;
        if !f.metadata()?.is_file() {
            return Err(not_regular_error());
        }
        Ok(f)
    }
}

const NOT_REGULAR: &str = "not a regular file";

fn not_regular_error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, NOT_REGULAR)
}

/// Whether an error of [`open_regular`] says the path is no regular file (a link, a device, a FIFO).
pub fn not_regular(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::InvalidData && e.to_string() == NOT_REGULAR
}

/// The kit's manifest: a regular file of at most [`MAX_MANIFEST`] bytes, refused before more is read.
fn read_manifest(dir: &Path) -> Result<String> {
    use std::io::Read;
    let mpath = dir.join(MANIFEST);
    let f = open_regular(dir, MANIFEST).map_err(|e| {
        if not_regular(&e) {
            crate::support::error::InputError::refused(format!(
                "{}: not a regular file (a symbolic link, a device or a FIFO): not read",
                mpath.display()
            ))
        } else {
            anyhow::Error::from(e)
                .context(format!("{}: not a kit (cannot read it)", mpath.display()))
        }
    })?;
    let len = f.metadata()?.len();
    if len > MAX_MANIFEST {
        return Err(crate::support::error::InputError::refused(format!(
            "{}: {len} bytes, more than a kit's manifest ever holds ({MAX_MANIFEST}): not read",
            mpath.display()
        )));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(MAX_MANIFEST + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(crate::support::error::InputError::refused(format!(
            "{}: grew past {MAX_MANIFEST} bytes while being read: not read",
            mpath.display()
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        crate::support::error::InputError::refused(format!("{}: not text", mpath.display()))
    })
}

/// Manifests that [`verify`] found every file of its kit to match, by the kit's canonical path: what
/// [`package_env`] copies is checked against these, never against a manifest read later (F4).
fn verified_manifests() -> &'static std::sync::Mutex<BTreeMap<PathBuf, BTreeMap<String, String>>> {
    static V: std::sync::OnceLock<std::sync::Mutex<BTreeMap<PathBuf, BTreeMap<String, String>>>> =
        std::sync::OnceLock::new();
    V.get_or_init(Default::default)
}

/// Re-hash every file the kit's manifest lists (regular files only, never following a link), look for
/// files it does not list, and for anything under `keys/` and `records/` that handover never puts there.
pub fn verify(dir: &Path) -> Result<Verified> {
    let mpath = dir.join(MANIFEST);
    let text = read_manifest(dir)?;
    let listed = crate::inputs::site::parse_manifest(&text).map_err(|(line, e)| {
        crate::support::error::InputError::Value {
            file: mpath.clone(),
            line,
            key: MANIFEST.into(),
            message: e,
        }
    })?;
    let entries: Vec<(&String, &String)> = listed.iter().collect();
    let results = par_map(&entries, crate::support::par::cores(), |(rel, want)| {
        let f = match open_regular(dir, rel) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Some(Problem::Missing((*rel).clone())), 0)
            }
            Err(e) if not_regular(&e) => return (Some(Problem::NotRegular((*rel).clone())), 0),
            Err(e) => {
                return (
                    Some(Problem::Mismatch {
                        path: (*rel).clone(),
                        expected: (*want).clone(),
                        got: format!("unreadable: {e}"),
                    }),
                    0,
                )
            }
        };
        let len = f.metadata().map_or(0, |m| m.len());
        match crate::artifacts::sha256_reader(f) {
            Ok(got) if got == **want => (None, len),
            Ok(got) => (
                Some(Problem::Mismatch {
                    path: (*rel).clone(),
                    expected: (*want).clone(),
                    got,
                }),
                len,
            ),
            Err(e) => (
                Some(Problem::Mismatch {
                    path: (*rel).clone(),
                    expected: (*want).clone(),
                    got: format!("unreadable: {e}"),
                }),
                0,
            ),
        }
    });
    let mut problems: Vec<Problem> = Vec::new();
    let mut bytes = 0;
    for (p, n) in results {
        bytes += n;
        problems.extend(p);
    }
    for rel in files_under(dir)? {
        if !listed.contains_key(&rel) {
            problems.push(Problem::Extra(rel));
        }
    }
    problems.extend(watch_keys_and_records(dir)?);
    if let Ok(canon) = dir.canonicalize() {
        let mut v = verified_manifests()
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if problems.is_empty() {
            v.insert(canon, listed.clone());
        } else {
            v.remove(&canon);
        }
    }
    Ok(Verified {
        files: listed.len(),
        bytes,
        problems,
    })
}

/// `keys/` and `records/` change after a kit is built, so the manifest does not cover them; what may be
/// there is known, though: the key pair, and per device its records, their signatures and the
/// pending-signature marker. Anything else, and any link, is reported (F15).
fn watch_keys_and_records(dir: &Path) -> Result<Vec<Problem>> {
    let mut out = Vec::new();
    let kind = |p: &Path| std::fs::symlink_metadata(p).map(|m| m.file_type());
    let entries = |d: &Path| -> Result<Vec<(String, std::fs::FileType)>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(d).with_context(|| format!("reading {}", d.display()))? {
            let e = e?;
            v.push((e.file_name().to_string_lossy().into_owned(), e.file_type()?));
        }
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    };
    match kind(&dir.join("keys")) {
        Err(_) => {}
        Ok(t) if !t.is_dir() => out.push(Problem::NotRegular("keys".into())),
        Ok(_) => {
            for (name, t) in entries(&dir.join("keys"))? {
                let rel = format!("keys/{name}");
                if !KEY_FILES.contains(&name.as_str()) {
                    out.push(Problem::Unexpected(rel));
                } else if !t.is_file() {
                    out.push(Problem::NotRegular(rel));
                }
            }
        }
    }
    match kind(&dir.join("records")) {
        Err(_) => {}
        Ok(t) if !t.is_dir() => out.push(Problem::NotRegular("records".into())),
        Ok(_) => {
            for (device, t) in entries(&dir.join("records"))? {
                let rel = format!("records/{device}");
                if t.is_symlink() {
                    out.push(Problem::NotRegular(rel));
                    continue;
                }
                if !t.is_dir() {
                    out.push(Problem::Unexpected(rel));
                    continue;
                }
                for (name, t) in entries(&dir.join("records").join(&device))? {
                    let rel = format!("records/{device}/{name}");
                    let known = crate::evidence::signing::record_seq(&name).is_some()
                        || name
                            .strip_suffix(".sig")
                            .is_some_and(|r| crate::evidence::signing::record_seq(r).is_some())
                        || name == crate::evidence::signing::PENDING;
                    if !known {
                        out.push(Problem::Unexpected(rel));
                    } else if !t.is_file() {
                        out.push(Problem::NotRegular(rel));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// [`verify`], and on a device that already trusts a records key (`STATE/records.pub`), whether the
/// kit's `keys/records.pub` is that key: a kit whose key was replaced is reported (`kit verify`).
pub fn verify_on_device(dir: &Path, state_dir: &Path) -> Result<Verified> {
    let mut v = verify(dir)?;
    v.problems.extend(device_key_problem(dir, state_dir));
    Ok(v)
}

/// The difference between the kit's public key and the one the device holds, if both exist.
pub fn device_key_problem(dir: &Path, state_dir: &Path) -> Option<Problem> {
    let device = crate::evidence::signing::device_pubkey_path(state_dir);
    // Both read as regular files only, bounded: a link or a FIFO planted as `keys/records.pub` is
    // reported by [`verify`] and never read here, even if it is swapped in after that look.
    let read = |root: &Path, rel: &str| -> Option<std::io::Result<BTreeSet<String>>> {
        let f = match open_regular(root, rel) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound || not_regular(&e) => return None,
            Err(e) => return Some(Err(e)),
            Ok(f) => f,
        };
        let mut text = String::new();
        Some(
            std::io::Read::read_to_string(&mut std::io::Read::take(f, 64 * 1024), &mut text)
                .map(|_| key_words(&text)),
        )
    };
    let have = match read(state_dir, "records.pub")? {
        Ok(k) => k,
        Err(e) => {
            return Some(Problem::DeviceKey(format!(
                "the device's key {} is unreadable ({e}), so the kit's cannot be compared with it",
                device.display()
            )))
        }
    };
    match read(dir, "keys/records.pub")? {
        Ok(keys) if keys.is_empty() => Some(Problem::DeviceKey("holds no key".into())),
        Ok(keys) if keys.is_subset(&have) => None,
        Ok(_) => Some(Problem::DeviceKey(format!(
            "differs from the key this device trusts ({}): this kit's key was replaced, or it is another technician's kit; records it signs will not verify on this device",
            device.display()
        ))),
        Err(e) => Some(Problem::DeviceKey(format!("unreadable: {e}"))),
    }
}

/// The keys of a public key file as written by `kit keygen`: the first word of each line that is not
/// empty or a `#` comment, in lower case (compared as text; `record verify` checks they are keys).
fn key_words(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Which artifact a kit path holds (`artifacts/sha256/<hex>` → `lsagent-linux`), from the kit's site.
pub fn artifact_names(site: &Site) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in site.file.artifacts.keys() {
        if let Some(spec) = Spec::from_site(site, name) {
            for (rel, sha) in spec.parts() {
                let label = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{name}: {rel}")
                };
                out.insert(format!("artifacts/sha256/{sha}"), label);
            }
        }
    }
    out
}

/// The package source a kit gives a profile's scripts, if the kit has a repository for it.
///
/// The repository is first copied into `work` (private, root-only), file by file as the manifest that
/// [`verify`] checked lists it, and each copy is hashed against that manifest; only the copy is used
/// (F1, F4). So nothing apt or dnf reads can differ from what was verified, whatever happens to the kit
/// afterwards, and the path written into apt's one-line source is one handover chose, not the kit's.
///
/// For apt a private `APT_CONFIG` whose only source is the copy (its lists in `work`, never the
/// device's), made current with `apt-get update`; for dnf `HANDOVER_KIT_REPO`, the copy, which the
/// templates' `pkg_install` passes to dnf as the only repository.
pub fn package_env(kit: &Path, profile: &Profile, work: &Path) -> Result<Vec<(String, String)>> {
    let pkg = profile.vars["pkg"].as_str();
    if !matches!(pkg, Some("apt" | "dnf")) {
        return Ok(vec![]);
    }
    let prefix = format!("repo/{}/", profile.name);
    let manifest = verified_manifest(kit)?;
    let files: Vec<(String, String)> = manifest
        .range(prefix.clone()..)
        .take_while(|(rel, _)| rel.starts_with(&prefix))
        .map(|(rel, sha)| (rel.clone(), sha.clone()))
        .collect();
    if files.is_empty() {
        return Ok(vec![]);
    }
    // F4: a kit a standard user can change is refused, as its site and installers are.
    crate::support::perms::require_trusted(kit, "kit")?;
    crate::support::perms::ensure_private_dir(work)?;
    let copy = std::path::absolute(work.join("repo"))?;
    copy_repo(kit, &files, &prefix, &copy)?;
    let copy_text = source_path(&copy)?;
    match pkg {
        Some("apt") => {
            let lists = work.join("lists");
            std::fs::create_dir_all(lists.join("partial"))?;
            std::fs::create_dir_all(work.join("sources.list.d"))?;
            let list = work.join("kit.list");
            // The copy's Packages index was hashed against the verified MANIFEST.sha256 above; the
            // repository itself carries no signature, hence trusted=yes.
            std::fs::write(&list, apt_source_line(&copy_text))?;
            let conf = work.join("apt.conf");
            let quoted = |p: &Path| source_path(p).map(|t| format!("\"{t}\""));
            std::fs::write(
                &conf,
                format!(
                    "Dir::Etc::SourceList {};\nDir::Etc::SourceParts {};\nDir::State::Lists {};\nDir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n",
                    quoted(&list)?,
                    quoted(&work.join("sources.list.d"))?,
                    quoted(&lists)?
                ),
            )?;
            let out = Cmd::new("apt-get")
                .args(["-q", "update"])
                .env("APT_CONFIG", &conf)
                .output()?;
            if !out.success() {
                bail!(
                    "apt-get update from the kit's repository (copied from {} to {}) failed: {}",
                    kit.join("repo").join(&profile.name).display(),
                    copy.display(),
                    out.text()
                );
            }
            Ok(vec![("APT_CONFIG".into(), conf.display().to_string())])
        }
        _ => Ok(vec![("HANDOVER_KIT_REPO".into(), copy_text)]),
    }
}

/// apt's one-line source for a flat repository at `path` (already checked by [`source_path`]).
fn apt_source_line(path: &str) -> String {
    format!("deb [trusted=yes] file:{path} ./\n")
}

/// `p` as text fit for apt's one-line source, apt.conf and dnf's `--repofrompath=NAME,PATH`: a
/// space, `#`, `[` or `]` would make apt read another place (F1), a quote or `;` ends an apt.conf value
/// and a comma ends dnf's. The copy lives where handover chose, so this refuses only a strange TMPDIR.
fn source_path(p: &Path) -> Result<String> {
    let text = p
        .to_str()
        .with_context(|| format!("{}: not UTF-8, so not a path apt can be given", p.display()))?;
    if let Some(c) = text
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "#[]\"';,\\{}".contains(*c))
    {
        return Err(crate::support::error::InputError::refused(format!(
            "{text:?} holds {c:?}, which apt's source line or dnf's --repofrompath would read as syntax; set TMPDIR to a plain path"
        )));
    }
    Ok(text.to_string())
}

/// The manifest [`verify`] found this kit to match in this run; the kit is verified now if it was not.
fn verified_manifest(kit: &Path) -> Result<BTreeMap<String, String>> {
    let canon = kit
        .canonicalize()
        .with_context(|| format!("{}", kit.display()))?;
    let known = |c: &Path| {
        verified_manifests()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(c)
            .cloned()
    };
    if let Some(m) = known(&canon) {
        return Ok(m);
    }
    let v = verify(kit)?;
    if !v.problems.is_empty() {
        let list: Vec<String> = v.problems.iter().map(ToString::to_string).collect();
        return Err(crate::support::error::InputError::refused(format!(
            "the kit {} does not match its {MANIFEST} ({}); nothing is installed from it",
            kit.display(),
            list.join("; ")
        )));
    }
    known(&canon).context("the kit's manifest was verified but not kept")
}

/// Copy each of `files` (kit-relative paths under `prefix`, with their verified sha256) to the same
/// place under `dest`, never following a link or opening anything but a regular file, and hash each
/// copy: a file that changed since it was verified refuses the whole repository (F4).
fn copy_repo(kit: &Path, files: &[(String, String)], prefix: &str, dest: &Path) -> Result<()> {
    use std::io::Read;
    std::fs::create_dir(dest).with_context(|| format!("creating {}", dest.display()))?;
    crate::support::perms::ensure_private_dir(dest)?;
    let copied = par_map(
        files,
        crate::support::par::cores(),
        |(rel, sha)| -> Result<()> {
            let to = dest.join(&rel[prefix.len()..]);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let src = open_regular(kit, rel).map_err(|e| {
            if not_regular(&e) {
                crate::support::error::InputError::refused(format!(
                    "the kit's {rel} is no longer a regular file (it was verified as one): nothing is installed from the kit; run `handover kit verify {}`",
                    kit.display()
                ))
            } else {
                anyhow::Error::from(e).context(format!("reading the kit's {rel}"))
            }
        })?;
            // Never more than the file held when opened (and one byte to see it grew): a file growing
            // without end cannot fill the disk, and the hash below refuses it.
            let len = src.metadata()?.len();
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            let mut out = o
                .open(&to)
                .with_context(|| format!("creating {}", to.display()))?;
            std::io::copy(&mut src.take(len.saturating_add(1)), &mut out)
                .with_context(|| format!("copying the kit's {rel}"))?;
            drop(out);
            // The copy, not the kit, is what apt and dnf read: its hash is the one that counts.
            let got = crate::artifacts::sha256_file(&to)?;
            if got != *sha {
                return Err(crate::support::error::InputError::refused(format!(
                "the kit's {rel} changed after the kit was verified (its copy does not match {MANIFEST}): nothing is installed from the kit; run `handover kit verify {}`",
                kit.display()
            )));
            }
            Ok(())
        },
    );
    for r in copied {
        r?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
