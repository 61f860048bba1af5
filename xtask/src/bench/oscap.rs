//! OpenSCAP in the benchmark's device, and the other tools the benchmark needs that the local
//! repository of the e2e image does not hold (strace).
//!
//! The e2e image stays as it is: the benchmark keeps its own cache entry, `target/e2e/cache/
//! bench-extras-<key>/repo`, a flat directory of .deb files downloaded from the host's Debian mirror
//! in a throw-away copy of the base system (so that apt resolves exactly the dependencies the base
//! lacks, as the image build does for its own local repository). The bench copies that directory into
//! its device and installs the files with apt; the device itself never reaches the network.
//!
//! Debian 12 ships SSG 0.1.65 (ssg-debian), whose newest Debian data stream is Debian 11's: the bench
//! uses `ssg-debian12-ds.xml` where a package provides it, else `ssg-debian11-ds.xml`, and says which.
//! Debian 11's content declares itself applicable only where /etc/debian_version matches
//! `^11.[0-9]+$` (its CPE check), so on Debian 12 oscap finds every rule `notapplicable` and evaluates
//! nothing; the bench evaluates a copy in which that one pattern also accepts 12 ([`ADAPT`]), so that
//! the rules run, and measures the unchanged stream once beside it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};

use crate::container::{chroot_ok, Container};
use crate::image::{self, Image, Mirrors};

/// The packages of the cache entry: OpenSCAP's scanner, SSG's Debian content and strace.
pub const PACKAGES: [&str; 3] = ["openscap-scanner", "ssg-debian", "strace"];

/// SSG's standard profile (in every SSG data stream).
pub const PROFILE: &str = "xccdf_org.ssgproject.content_profile_standard";

/// Where SSG installs its data streams.
const CONTENT: &str = "/usr/share/xml/scap/ssg/content";

/// Where the .debs go in the device.
const GUEST_REPO: &str = "/root/bench-extras";

/// The sed expression that makes Debian 11's data stream applicable to Debian 12: the pattern of its
/// `installed_OS_is_debian11` check on /etc/debian_version, and nothing else.
pub const ADAPT: &str = r"s/\^11\.\[0-9\]+\$/^1[12].[0-9]+$/";

/// The SSG content evaluated.
#[derive(Debug, Clone, Default)]
pub struct Content {
    /// The data stream SSG installed (Debian 12's, or else Debian 11's).
    pub installed: String,
    /// What oscap evaluates: `installed`, or its copy adapted to Debian 12 ([`ADAPT`]).
    pub evaluated: String,
}

impl Content {
    pub fn adapted(&self) -> bool {
        self.installed != self.evaluated
    }
}

/// The cache entry with [`PACKAGES`] and what they need beyond `image`'s base, downloaded once.
pub fn ensure_repo(cache: &Path, image: &Image, suite: &str) -> Result<PathBuf> {
    let mirrors = Mirrors::from_host(suite)?;
    let description = serde_json::json!({
        "packages": PACKAGES,
        "suite": suite,
        "mirrors": mirrors.describe(),
        // The base the dependencies were resolved against.
        "base": image.dir.file_name().map(|n| n.to_string_lossy().into_owned()),
    });
    let dir = image::ensure_entry(cache, "bench-extras", description, false, |tmp| {
        let dl = tmp.join("download-root");
        image::copy_tree(&image.rootfs, &dl)?;
        fs::write(dl.join("etc/apt/sources.list"), mirrors.sources_list(suite))?;
        for entry in fs::read_dir(dl.join("etc/apt/sources.list.d"))?.flatten() {
            fs::remove_file(entry.path())?;
        }
        image::host_dns(&dl)?;
        chroot_ok(
            &dl,
            &format!(
                "set -e; apt-get update -q; apt-get install -q -y --download-only {}",
                PACKAGES.join(" ")
            ),
            &[],
            Duration::from_secs(1800),
        )?;
        let n = image::flat_repo(&dl, &tmp.join("repo"))?;
        eprintln!("bench extras: {n} packages");
        image::remove_tree(&dl)
    })?;
    Ok(dir.join("repo"))
}

/// Copies the cached .debs into the device and installs them (no network needed); returns the data
/// stream installed and the one to evaluate (paths in the device).
pub fn install(c: &Container, repo: &Path, dir: &str) -> Result<Content> {
    c.copy_in(repo, GUEST_REPO)?;
    c.exec_ok_timeout(
        &format!(
            "set -e; DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends install \
             {GUEST_REPO}/*.deb >/dev/null; command -v oscap; command -v strace"
        ),
        Duration::from_secs(600),
    )?;
    let ds = c.exec_ok(&format!(
        "for v in 12 11; do f={CONTENT}/ssg-debian$v-ds.xml; if [ -f \"$f\" ]; then echo \"$f\"; exit 0; fi; done; exit 1"
    ))?;
    let installed = ds.trim().to_string();
    if installed.contains("debian12") {
        return Ok(Content {
            evaluated: installed.clone(),
            installed,
        });
    }
    let evaluated = format!("{dir}/ssg-debian11-ds-for-debian12.xml");
    // The pattern must be there before and gone after (it appears in the stream's two OVAL copies).
    let old = r"'\^11\.\[0-9\]+\$'";
    let changed = c.exec_ok(&format!(
        "set -e; grep -q {old} {installed}; sed '{ADAPT}' {installed} > {evaluated}; \
         if grep -q {old} {evaluated}; then exit 1; fi; diff {installed} {evaluated} | grep -c '^>'"
    ))?;
    ensure!(
        changed.trim().parse::<usize>().unwrap_or(0) > 0,
        "adapting {installed} to Debian 12 changed nothing"
    );
    Ok(Content {
        installed,
        evaluated,
    })
}

/// The `oscap xccdf eval` command measured.
pub fn command(ds: &str) -> String {
    format!("oscap xccdf eval --profile {PROFILE} {ds}")
}

/// The results of one `oscap xccdf eval` (its stdout: a `Result\r\tpass` line per rule, the carriage
/// return left from its progress display): how many rules it evaluated and how many of each result.
pub fn results(stdout: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in stdout.lines() {
        let Some(r) = line.strip_prefix("Result") else {
            continue;
        };
        if r.starts_with(['\t', '\r']) {
            let r = r.trim();
            if !r.is_empty() {
                *out.entry(r.to_string()).or_default() += 1;
            }
        }
    }
    out
}

/// `oscap xccdf eval` exits 0 when every rule passes, 2 when one fails, 1 on an error.
pub fn validate(code: i32, stdout: &str) -> Result<usize> {
    let r = results(stdout);
    let rules: usize = r.values().sum();
    if code != 0 && code != 2 {
        bail!("oscap xccdf eval exited {code}:\n{stdout}");
    }
    ensure!(rules > 0, "oscap xccdf eval evaluated no rule:\n{stdout}");
    Ok(rules)
}

/// "44 rules: 20 pass, 15 fail, 9 notapplicable".
pub fn describe(r: &BTreeMap<String, usize>) -> String {
    let rules: usize = r.values().sum();
    let parts: Vec<String> = r.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!("{rules} rules: {}", parts.join(", "))
}

/// The version line of the scanner and of the content, for the machine table.
pub fn versions(c: &Container) -> Result<Vec<(String, String)>> {
    let deb = |p: &str| format!("dpkg-query -W -f '${{Version}}' {p}");
    let mut v = Vec::new();
    for (label, cmd) in [
        ("openscap-scanner", deb("openscap-scanner")),
        ("ssg-debian", deb("ssg-debian")),
        ("strace", deb("strace")),
    ] {
        v.push((
            label.to_string(),
            c.exec_ok(&cmd).context(label)?.trim().to_string(),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str =
        "--- Starting Evaluation ---\n\nTitle\tEnsure /tmp Located On Separate Partition\n\
        Rule\txccdf_org.ssgproject.content_rule_partition_for_tmp\nResult\tfail\n\n\
        Title\tInstall AIDE\nRule\txccdf_org.ssgproject.content_rule_package_aide_installed\n\
        Ident\tCCE-1\nResult\r\tpass\n\nTitle\tx\nRule\ty\nResult\r\tnotapplicable\n\n\
        Title\tz\nRule\tResults are not a rule\nResults\tnot a result\n\n\
        Title\tResult of the Title line is not a result\nRule\tz\nResult\tpass\n";

    #[test]
    fn counts_oscap_results() {
        let r = results(OUT);
        assert_eq!(r.get("pass"), Some(&2));
        assert_eq!(r.get("fail"), Some(&1));
        assert_eq!(r.get("notapplicable"), Some(&1));
        assert_eq!(describe(&r), "4 rules: 1 fail, 1 notapplicable, 2 pass");
        assert_eq!(validate(2, OUT).unwrap(), 4);
        assert!(validate(1, OUT).is_err());
        assert!(validate(0, "no rules here").is_err());
    }
}
