//! The kit's package repositories: built from this machine's apt or dnf by `kit build` (`repo/<profile>/`),
//! and given to a profile's scripts on the device ([`package_env`]) from a verified private copy.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::regular::{not_regular, open_regular};
use super::verify::verified_manifest;
use super::MANIFEST;
use crate::host::process::Cmd;
use crate::inputs::profile::Profile;
use crate::support::par::par_map;

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

/// Download `packages` and their whole dependency closure (resolved as if nothing were installed, so
/// the kit serves a fresh install) into `dir`, and index them for apt (`Packages`, `Packages.gz`).
/// Uses this machine's apt sources and lists, which is why the release must match.
pub(super) fn build_apt_repo(dir: &Path, packages: &[String]) -> Result<usize> {
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
pub(super) fn build_dnf_repo(dir: &Path, packages: &[String]) -> Result<usize> {
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

/// The package source a kit gives a profile's scripts, if the kit has a repository for it.
///
/// The repository is first copied into `work` (private, root-only), file by file as the manifest that
/// [`verify`](super::verify()) checked lists it, and each copy is hashed against that manifest; only the copy is used
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
pub(super) fn source_path(p: &Path) -> Result<String> {
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
            let got = crate::support::hashing::sha256_file(&to)?;
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
