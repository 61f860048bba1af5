//! `handover artifacts fetch | lock | verify`: the installers of SPEC §6 in the local cache.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::invocation::load_site;
use crate::inputs::profile::Sources;
use crate::inputs::site::Site;
use crate::support::error::Exit;

/// The artifacts a command works on: those `profile`'s controls use (`site:KEY` entries through the
/// site), or every artifact the site defines.
pub(crate) fn artifact_names(site: &Site, profile: Option<&str>) -> Result<Vec<String>> {
    Ok(match profile {
        Some(p) => {
            let profile = Sources::default().load(p)?;
            let mut names: Vec<String> = profile
                .controls
                .iter()
                .flat_map(|c| c.artifacts.iter())
                .map(|a| a.trim_end_matches('?'))
                .filter_map(|a| match a.strip_prefix("site:") {
                    Some(key) => site
                        .get(key)
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string),
                    None => Some(a.to_string()),
                })
                .collect();
            names.sort();
            names.dedup();
            names
        }
        None => site.file.artifacts.keys().cloned().collect(),
    })
}

/// The artifact names of SPEC §6 (every shipped profile uses some of them).
const SPEC_ARTIFACTS: &[&str] = &[
    "lsagent-linux",
    "lsagent-windows",
    "lsagent-macos",
    "office-odt",
    "office-source",
    "teams-bootstrapper",
    "teams-msix",
    "forticlient-vpn-msi",
    "office-pkg",
    "teams-pkg",
    "forticlient-pkg",
];

/// Every artifact name the shipped profiles use (for `artifacts lock` to recognise a file by name).
pub(crate) fn known_artifact_names() -> Vec<String> {
    let sources = Sources::default();
    let mut names: Vec<String> = sources
        .profile_names()
        .iter()
        .filter_map(|p| sources.load(p).ok())
        .flat_map(|p| p.controls.into_iter().flat_map(|c| c.artifacts))
        .map(|a| a.trim_end_matches('?').to_string())
        .filter(|a| !a.starts_with("site:"))
        .chain(SPEC_ARTIFACTS.iter().map(|a| a.to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

pub(crate) fn fetch_artifacts(
    site: Option<&Path>,
    profile: Option<&str>,
    cache: Option<PathBuf>,
    opts: &crate::artifacts::fetch::Options,
) -> Result<Exit> {
    use crate::artifacts::fetch::Outcome;
    use crate::artifacts::Spec;
    let site = load_site(site)?;
    let cache = cache.unwrap_or_else(crate::support::dirs::cache_dir);
    let mut exit = Exit::Ok;
    let mut specs = Vec::new();
    for name in artifact_names(&site, profile)? {
        match Spec::from_site(&site, &name) {
            Some(s) => specs.push(s),
            None => {
                println!("MISSING   {name:<22} the site has no [artifacts.{name}]");
                exit = Exit::NotCompliant;
            }
        }
    }
    let (jobs, local) = crate::artifacts::fetch::jobs_of(&specs);
    for name in local {
        println!("local     {name:<22} a path: nothing to download (`artifacts verify` hashes it)");
    }
    for j in jobs.iter().filter(|j| j.url.starts_with("http://")) {
        eprintln!(
            "warning: {}: {} is not https; its integrity rests on the site's sha256 alone",
            j.label(),
            j.url
        );
    }
    let outcomes = crate::artifacts::fetch::fetch_all(&jobs, &cache, opts);
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let label = job.label();
        match outcome {
            Outcome::Cached => println!("cached    {label:<22} sha256 ok"),
            Outcome::Fetched {
                bytes,
                resumed_from,
                attempts,
                secs,
            } => {
                let mut extra = String::new();
                if resumed_from > 0 {
                    extra += &format!(", resumed at {resumed_from} bytes");
                }
                if attempts > 1 {
                    extra += &format!(", {attempts} attempts");
                }
                println!("fetched   {label:<22} {bytes} bytes in {secs:.1} s, sha256 ok{extra}");
            }
            Outcome::Failed(why) => {
                println!("FAILED    {label:<22} {why}");
                exit = Exit::NotCompliant;
            }
        }
    }
    if jobs.is_empty() {
        println!("nothing to download in {}", site.describe());
    }
    Ok(exit)
}

pub(crate) fn verify_artifacts(
    site: Option<&Path>,
    profile: Option<&str>,
    cache: Option<PathBuf>,
) -> Result<Exit> {
    use crate::artifacts::{Spec, Verified};
    let site = load_site(site)?;
    let cache = cache.unwrap_or_else(crate::support::dirs::cache_dir);
    let names = artifact_names(&site, profile)?;
    if names.is_empty() {
        println!("no artifacts to verify in {}", site.describe());
        return Ok(Exit::Ok);
    }
    let specs: Vec<(String, Option<Spec>)> = names
        .into_iter()
        .map(|n| {
            let s = Spec::from_site(&site, &n);
            (n, s)
        })
        .collect();
    let results =
        crate::support::par::par_map(&specs, crate::support::par::cores(), |(_, spec)| {
            spec.as_ref()
                .map(|s| crate::artifacts::verify(s, &cache, crate::support::par::cores()))
        });
    let mut exit = Exit::Ok;
    for ((name, spec), result) in specs.iter().zip(results) {
        let (Some(spec), Some(result)) = (spec, result) else {
            println!("MISSING   {name:<22} the site has no [artifacts.{name}]");
            exit = Exit::NotCompliant;
            continue;
        };
        let kind = match &spec.files {
            Some(f) => format!(" ({} files)", f.len()),
            None => String::new(),
        };
        match result {
            Verified::Ok(path) => println!("ok        {name:<22} {}{kind}", path.display()),
            Verified::Missing(path) => {
                println!(
                    "MISSING   {name:<22} {} (from {})",
                    path.display(),
                    spec.url
                );
                exit = Exit::NotCompliant;
            }
            Verified::Mismatch {
                path,
                expected,
                got,
            } => {
                println!(
                    "MISMATCH  {name:<22} {}: the site expects {expected}, the file has {got}",
                    path.display()
                );
                exit = Exit::NotCompliant;
            }
            Verified::Refused(why) => {
                println!("REFUSED   {name:<22} {why}");
                exit = Exit::NotCompliant;
            }
        }
    }
    Ok(exit)
}

/// `artifacts fetch`: the options from the command line, then the downloads.
pub(crate) fn fetch(
    site: Option<&Path>,
    profile: Option<&str>,
    cache: Option<PathBuf>,
    jobs: usize,
    retries: u32,
    timeout: u64,
) -> Result<Exit> {
    let opts = crate::artifacts::fetch::Options {
        jobs: jobs.max(1),
        retries,
        read_timeout: std::time::Duration::from_secs(timeout.max(1)),
        progress: std::io::stderr().is_terminal(),
        ..Default::default()
    };
    fetch_artifacts(site, profile, cache, &opts)
}

/// `artifacts lock`: the site's `[artifacts.*]` entries from downloaded files.
pub(crate) fn lock(site: Option<PathBuf>, from: &Path, yes: bool) -> Result<Exit> {
    let site = site.unwrap_or_else(crate::support::dirs::site_file);
    let known = known_artifact_names();
    let code = crate::artifacts::lock::run(&site, from, yes, &known)?;
    Ok(if code == 0 {
        Exit::Ok
    } else {
        Exit::NotCompliant
    })
}
