//! `kit build`: the kit's folder, filled on a connected machine.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::manifest::write_manifest;
use super::packages::{build_apt_repo, build_dnf_repo, packages};
use super::SITE;
use crate::artifacts::{cache_path, Spec};
use crate::inputs::profile::Profile;
use crate::inputs::site::Site;
use crate::support::par::par_map;

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

/// Fill `o.out` (new or empty) with the kit: binaries, site, installers, package repositories, README
/// and the manifest over all of them.
pub fn build(o: &BuildOptions) -> Result<Built> {
    create_empty(o.out)?;
    copy_binaries(o)?;
    copy_site(o)?;
    copy_artifacts(o)?;
    let mut built = build_repos(o)?;
    std::fs::write(o.out.join("README.txt"), readme(o, &built))?;
    let (files, bytes) = write_manifest(o.out)?;
    built.files = files;
    built.bytes = bytes;
    Ok(built)
}

/// Create `out`, refused when it exists with something in it.
fn create_empty(out: &Path) -> Result<()> {
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
    Ok(())
}

/// The binaries, executable, at the kit's top.
fn copy_binaries(o: &BuildOptions) -> Result<()> {
    for (name, src) in o.binaries {
        let dest = o.out.join(name);
        std::fs::copy(src, &dest).with_context(|| format!("copying {}", src.display()))?;
        set_mode(&dest, 0o755)?;
    }
    Ok(())
}

/// The site file as [`SITE`], and the manifest files its artifacts name, at the same relative paths.
fn copy_site(o: &BuildOptions) -> Result<()> {
    let out = o.out;
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
    Ok(())
}

/// Every installer file, copied and hashed on the way, under its content address.
fn copy_artifacts(o: &BuildOptions) -> Result<()> {
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
    let dest_cache = o.out.join("artifacts");
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
    Ok(())
}

/// A package repository per Linux profile this machine's release matches (`repo/<profile>/`); the
/// others are listed as skipped, with why. Nothing when `o.packages` is off.
fn build_repos(o: &BuildOptions) -> Result<Built> {
    let mut built = Built::default();
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
        let dir = o.out.join("repo").join(&p.name);
        let n = match p.vars["pkg"].as_str() {
            Some("apt") => build_apt_repo(&dir, &wanted)?,
            Some("dnf") => build_dnf_repo(&dir, &wanted)?,
            other => bail!("profile {}: no package repository for {other:?}", p.name),
        };
        built.repos.push((p.name.clone(), n));
    }
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
    let got = crate::support::hashing::sha256_file(&tmp)?;
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
