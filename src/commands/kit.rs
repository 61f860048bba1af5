//! `handover kit build | verify | keygen | sign`: the offline kit and its records key.

use crate::commands::passphrase;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::invocation::load_site;
use crate::commands::artifacts::artifact_names;
use crate::host::LocalHost;
use crate::inputs::profile::{self, Profile, Sources};
use crate::inputs::site::Site;
use crate::support::error::{Exit, InputError};

pub(crate) fn kit_build(
    out: &Path,
    profiles: &[String],
    site: Option<&Path>,
    cache: Option<PathBuf>,
    exes: &[PathBuf],
    packages: bool,
) -> Result<Exit> {
    let site = load_site(site)?;
    if site.path.is_none() {
        return Err(InputError::refused(format!(
            "a kit carries the site, and {}; give --site FILE",
            site.describe()
        )));
    }
    let sources = Sources::default();
    let names: Vec<String> = if profiles.is_empty() {
        sources.profile_names()
    } else {
        profiles.to_vec()
    };
    let loaded: Vec<Profile> = names
        .iter()
        .map(|n| sources.load(n))
        .collect::<Result<_, _>>()?;
    let specs = kit_artifacts(&site, profiles)?;
    let binaries = kit_binaries(exes)?;
    let host = crate::host::Host::facts(&LocalHost).os;
    let cache = cache.unwrap_or_else(crate::support::dirs::cache_dir);
    let built = crate::artifacts::kit::build(&crate::artifacts::kit::BuildOptions {
        out,
        site: &site,
        profiles: &loaded,
        artifacts: &specs,
        cache: &cache,
        binaries: &binaries,
        host: &host,
        packages,
    })?;
    println!(
        "kit built in {}: {} files, {:.1} MiB",
        out.display(),
        built.files,
        built.bytes as f64 / 1048576.0
    );
    for (name, _) in &binaries {
        println!("binary    {name}");
    }
    for s in &specs {
        println!("artifact  {:<22} {}", s.name, s.sha256);
    }
    for (p, n) in &built.repos {
        println!("packages  {p:<22} {n} packages with their dependencies");
    }
    for (p, why) in &built.skipped_repos {
        println!("packages  {p:<22} none: {why}");
    }
    Ok(Exit::Ok)
}

/// The artifacts a kit carries: every one the site defines, or those the named profiles use (with a
/// warning for one the site does not define).
fn kit_artifacts(site: &Site, profiles: &[String]) -> Result<Vec<crate::artifacts::Spec>> {
    let mut wanted: Vec<String> = if profiles.is_empty() {
        site.file.artifacts.keys().cloned().collect()
    } else {
        let mut v = Vec::new();
        for p in profiles {
            v.extend(artifact_names(site, Some(p))?);
        }
        v
    };
    wanted.sort();
    wanted.dedup();
    let mut specs = Vec::new();
    for name in wanted {
        match crate::artifacts::Spec::from_site(site, &name) {
            Some(s) => specs.push(s),
            None => eprintln!(
                "warning: the profiles use artifact {name}, which the site does not define: it is not in the kit"
            ),
        }
    }
    Ok(specs)
}

/// The binaries a kit carries, by their name in the kit: this one, and each `--exe` (by default the
/// Windows build beside this one's target directory, when there is one).
fn kit_binaries(exes: &[PathBuf]) -> Result<Vec<(String, PathBuf)>> {
    let me = std::env::current_exe().context("finding this binary")?;
    let mut binaries = vec![(
        if cfg!(windows) {
            "handover.exe"
        } else {
            "handover"
        }
        .to_string(),
        me.clone(),
    )];
    let mut extra: Vec<PathBuf> = exes.to_vec();
    if extra.is_empty() && !cfg!(windows) {
        // `cargo build --target x86_64-pc-windows-gnu` puts it beside target/<profile>/.
        if let (Some(dir), Some(kind)) = (
            me.parent().and_then(Path::parent),
            me.parent().and_then(Path::file_name),
        ) {
            let exe = dir
                .join("x86_64-pc-windows-gnu")
                .join(kind)
                .join("handover.exe");
            if exe.is_file() {
                extra.push(exe);
            }
        }
    }
    for e in extra {
        let name = e
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| InputError::Refused(format!("--exe {}: not a file", e.display())))?;
        if !e.is_file() {
            return Err(InputError::refused(format!(
                "--exe {}: not a file",
                e.display()
            )));
        }
        binaries.push((name, e));
    }
    Ok(binaries)
}

/// This device's directory on the kit: the one named with `--asset`, else found by the device's identity
/// (its serial, else its first record's hash), never by the asset in `state.json` (F2).
pub(crate) fn kit_device_dir(kit: &Path, given: Option<String>, records: &Path) -> Result<PathBuf> {
    let name = match given {
        Some(a) => a,
        None => crate::evidence::transfer::device_dir_name(
            &crate::host::Host::facts(&LocalHost).serial,
            records,
        )?,
    };
    crate::evidence::transfer::kit_dir_named(kit, &name)
}

pub(crate) fn kit_verify(dir: &Path) -> Result<Exit> {
    use crate::artifacts::kit::Problem;
    let v = crate::artifacts::kit::verify_on_device(dir, &crate::support::dirs::state_dir())?;
    let names = Site::load(
        &dir.join(crate::artifacts::kit::SITE),
        false,
        &profile::control_ids(),
    )
    .map(|s| crate::artifacts::kit::artifact_names(&s))
    .unwrap_or_default();
    let named = |p: &str| match names.get(p) {
        Some(n) => format!("{p} (artifact {n})"),
        None => p.to_string(),
    };
    for p in &v.problems {
        match p {
            Problem::Missing(path) => println!("MISSING   {}", named(path)),
            Problem::Mismatch {
                path,
                expected,
                got,
            } => println!(
                "MISMATCH  {}: MANIFEST.sha256 says {expected}, the file has {got}",
                named(path)
            ),
            Problem::Extra(path) => println!("EXTRA     {path}: not in MANIFEST.sha256"),
            other => println!("{:<9} {other}", other.tag()),
        }
    }
    if v.problems.is_empty() {
        println!(
            "kit ok: {} files, {:.1} MiB, every byte matches MANIFEST.sha256",
            v.files,
            v.bytes as f64 / 1048576.0
        );
        Ok(Exit::Ok)
    } else {
        println!(
            "kit NOT ok: {} problem(s) in {}",
            v.problems.len(),
            dir.display()
        );
        Ok(Exit::NotCompliant)
    }
}

/// `kit keygen`: the kit's records key, or `--reseal` of an existing one under a new passphrase.
pub(crate) fn keygen(
    dir: &Path,
    reseal: bool,
    key_passphrase_file: Option<PathBuf>,
) -> Result<Exit> {
    let pass = passphrase(key_passphrase_file);
    if reseal {
        let key = crate::evidence::signing::reseal(dir, &pass)?;
        println!("sealed {} under your passphrase", key.display());
        return Ok(Exit::Ok);
    }
    let public = crate::evidence::signing::keygen(dir, &pass)?;
    println!(
        "made {} (sealed under your passphrase) and {}: the record of each run with --kit {} is now signed and copied to the kit",
        crate::evidence::signing::kit_key_path(dir).display(),
        public.display(),
        dir.display()
    );
    Ok(Exit::Ok)
}

/// `kit sign`: every record on the kit that awaits a signature; one refused makes exit 1.
pub(crate) fn sign(dir: &Path, key_passphrase_file: Option<PathBuf>) -> Result<Exit> {
    let results = crate::evidence::signing::kit_sign(dir, &passphrase(key_passphrase_file))?;
    if results.is_empty() {
        println!(
            "nothing to sign: no record of {} awaits a signature",
            dir.display()
        );
    }
    let mut refused = false;
    for (device, r) in results {
        match r {
            Ok(line) => println!("{device}: {line}"),
            Err(e) => {
                refused = true;
                println!("{device}: REFUSED: {e:#}");
            }
        }
    }
    Ok(if refused {
        Exit::NotCompliant
    } else {
        Exit::Ok
    })
}
