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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::artifacts::{cache_path, par_map, Spec};
use crate::profile::Profile;
use crate::site::Site;

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
    pub host: &'a crate::facts::Os,
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
    let copied = par_map(&parts, jobs(), |(label, sha, src)| -> Result<()> {
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
    });
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

fn jobs() -> usize {
    crate::artifacts::cores()
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
    let out = duct::cmd("apt-get", &args)
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked()
        .run()
        .context("running apt-get (is this a Debian or Ubuntu machine?)")?;
    if !out.status.success() {
        bail!(
            "apt-get could not download {}: {}",
            packages.join(" "),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    let _ = std::fs::remove_dir(dir.join("partial"));
    let _ = std::fs::remove_file(dir.join("lock"));
    let index = duct::cmd!("dpkg-scanpackages", "--multiversion", ".")
        .dir(dir)
        .stderr_null()
        .read()
        .context("running dpkg-scanpackages (apt-get install dpkg-dev)")?;
    std::fs::write(dir.join("Packages"), format!("{index}\n"))?;
    duct::cmd!("gzip", "-9nkf", "Packages")
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
    duct::cmd("dnf", &args)
        .run()
        .context("dnf download (run kit build on the release itself)")?;
    duct::cmd!("createrepo_c", "--quiet", dir)
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
        crate::clock::now()
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
    let hashes = par_map(&files, jobs(), |rel| {
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

/// Re-hash every file the kit's manifest lists, and look for files it does not list.
pub fn verify(dir: &Path) -> Result<Verified> {
    let mpath = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&mpath)
        .with_context(|| format!("{}: not a kit (cannot read it)", mpath.display()))?;
    let listed = crate::site::parse_manifest(&text).map_err(|(line, e)| {
        crate::error::InputError::Value {
            file: mpath.clone(),
            line,
            key: MANIFEST.into(),
            message: e,
        }
    })?;
    let entries: Vec<(&String, &String)> = listed.iter().collect();
    let results = par_map(&entries, jobs(), |(rel, want)| {
        let p = dir.join(rel);
        match std::fs::metadata(&p) {
            Err(_) => (Some(Problem::Missing((*rel).clone())), 0),
            Ok(m) => match crate::artifacts::sha256_file(&p) {
                Ok(got) if got == **want => (None, m.len()),
                Ok(got) => (
                    Some(Problem::Mismatch {
                        path: (*rel).clone(),
                        expected: (*want).clone(),
                        got,
                    }),
                    m.len(),
                ),
                Err(e) => (
                    Some(Problem::Mismatch {
                        path: (*rel).clone(),
                        expected: (*want).clone(),
                        got: format!("unreadable: {e}"),
                    }),
                    0,
                ),
            },
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
    Ok(Verified {
        files: listed.len(),
        bytes,
        problems,
    })
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

/// The package source a kit gives a profile's scripts, if the kit has a repository for it: for apt a
/// private `APT_CONFIG` whose only source is the kit (its lists in `work`, never the device's), made
/// current with `apt-get update` from the kit; for dnf `HANDOVER_KIT_REPO`, which the templates'
/// `pkg_install` passes to dnf as the only repository.
pub fn package_env(kit: &Path, profile: &Profile, work: &Path) -> Result<Vec<(String, String)>> {
    let repo = kit.join("repo").join(&profile.name);
    if !repo.is_dir() {
        return Ok(vec![]);
    }
    let repo = repo
        .canonicalize()
        .with_context(|| format!("{}", repo.display()))?;
    match profile.vars["pkg"].as_str() {
        Some("apt") => {
            crate::perms::ensure_private_dir(work)?;
            let lists = work.join("lists");
            std::fs::create_dir_all(lists.join("partial"))?;
            std::fs::create_dir_all(work.join("sources.list.d"))?;
            let list = work.join("kit.list");
            // The kit's Packages index is covered by MANIFEST.sha256, which `--kit` verifies first;
            // the repository itself carries no signature, hence trusted=yes.
            std::fs::write(
                &list,
                format!("deb [trusted=yes] file:{} ./\n", repo.display()),
            )?;
            let conf = work.join("apt.conf");
            std::fs::write(
                &conf,
                format!(
                    "Dir::Etc::SourceList \"{}\";\nDir::Etc::SourceParts \"{}\";\nDir::State::Lists \"{}\";\nDir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n",
                    list.display(),
                    work.join("sources.list.d").display(),
                    lists.display()
                ),
            )?;
            let out = duct::cmd!("apt-get", "-q", "update")
                .env("APT_CONFIG", &conf)
                .stderr_to_stdout()
                .stdout_capture()
                .unchecked()
                .run()?;
            if !out.status.success() {
                bail!(
                    "apt-get update from the kit's repository {} failed: {}",
                    repo.display(),
                    String::from_utf8_lossy(&out.stdout).trim()
                );
            }
            Ok(vec![("APT_CONFIG".into(), conf.display().to_string())])
        }
        Some("dnf") => Ok(vec![(
            "HANDOVER_KIT_REPO".into(),
            repo.display().to_string(),
        )]),
        _ => Ok(vec![]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_package_a_linux_template_installs_is_in_its_kit() {
        // The literal package names templates install must be in the profile's kit list, or a kit
        // would leave a device asking the network for them.
        let sources = crate::profile::Sources::default();
        for name in sources.profile_names() {
            let p = sources.load(&name).unwrap();
            if p.os_match.family != "linux" {
                continue;
            }
            let kit = packages(&p);
            assert!(!kit.is_empty(), "{name}");
            for c in &p.controls {
                for script in [&c.check, &c.apply].into_iter().flatten() {
                    let text = sources.template(script).unwrap();
                    for line in text.lines() {
                        let line = line.trim();
                        for marker in ["|| pkg_install ", "pkg_installed "] {
                            if let Some(rest) = line.split(marker).nth(1) {
                                let pkg = rest.split_whitespace().next().unwrap_or("");
                                if pkg.starts_with('"') || pkg.starts_with('$') || pkg.is_empty() {
                                    continue;
                                }
                                assert!(
                                    kit.contains(&pkg.to_string()),
                                    "{name}: {script} installs {pkg}, which is not in its kit packages {kit:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_kit_verifies_and_a_changed_byte_or_an_added_file_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path();
        std::fs::create_dir_all(k.join("artifacts/sha256")).unwrap();
        std::fs::write(k.join("site.toml"), "# site\n").unwrap();
        std::fs::write(k.join("artifacts/sha256/ab"), b"installer").unwrap();
        let (n, bytes) = write_manifest(k).unwrap();
        assert_eq!((n, bytes), (2, 16));
        let v = verify(k).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        std::fs::write(k.join("artifacts/sha256/ab"), b"installeR").unwrap();
        std::fs::write(k.join("planted.sh"), b"x").unwrap();
        std::fs::remove_file(k.join("site.toml")).unwrap();
        let v = verify(k).unwrap();
        assert_eq!(v.problems.len(), 3, "{:?}", v.problems);
        assert!(v.problems.contains(&Problem::Missing("site.toml".into())));
        assert!(v.problems.contains(&Problem::Extra("planted.sh".into())));
        assert!(v
            .problems
            .iter()
            .any(|p| matches!(p, Problem::Mismatch { path, .. } if path == "artifacts/sha256/ab")));
    }
}
