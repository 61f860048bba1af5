//! The cached base system (Debian 12 minbase with systemd, debootstrapped from
//! the host's own mirror and upgraded with its security suite) and the local
//! flat apt repository booted containers install packages from.
//!
//! Layout under the cache directory (`target/e2e/cache/`):
//!
//! ```text
//! <name>-<key>/rootfs/      the base system, to be copied for each run
//! <name>-<key>/repo/        flat apt repository (*.deb + Packages), bound at /srv/repo
//! <name>-<key>/image.json   what it was built from
//! ```
//!
//! `<key>` is a hash of everything the image is built from, so changing the
//! package lists or the mirror builds a new image. A build goes to
//! `<name>-<key>.tmp-<pid>` and is renamed into place only when complete, so a
//! killed build never leaves a half cache; leftovers of killed builds are
//! removed by the next build.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::container::{chroot_ok, shell_quote};

/// Bump when the build steps change in a way the key does not see.
const FORMAT: u32 = 2;

/// Where the local repository is mounted inside the chroot and the container.
pub const REPO_GUEST_DIR: &str = "/srv/repo";

const LONG: Duration = Duration::from_secs(1800);

/// What goes into an image.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// Short name, first part of the cache directory name.
    pub name: &'static str,
    /// Debian suite, e.g. `bookworm`.
    pub suite: &'static str,
    /// Packages debootstrap installs on top of minbase.
    pub include: &'static [&'static str],
    /// Packages (with all dependencies the base lacks) the local repository
    /// holds.
    pub repo_packages: &'static [&'static str],
}

/// A built image.
#[derive(Debug, Clone)]
pub struct Image {
    pub dir: PathBuf,
    pub rootfs: PathBuf,
    pub repo: PathBuf,
}

/// The host's Debian mirrors, as found in its apt sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrors {
    /// URI that serves `<suite>` (and `<suite>-updates` if the host uses it).
    pub main: String,
    /// URI that serves `<suite>-updates`, if the host uses that suite.
    pub updates: Option<String>,
    /// URI that serves `<suite>-security`, if the host uses that suite.
    pub security: Option<String>,
}

impl Mirrors {
    /// The mirrors for `suite`: those the host's apt sources name for it, or, for a release the host
    /// does not run (Debian 13 on a Debian 12 host), the URIs it uses for its own release (a Debian
    /// archive serves every suite, and its security archive every `<suite>-security`).
    /// `HANDOVER_E2E_MIRROR` overrides the main mirror.
    pub fn from_host(suite: &str) -> Result<Mirrors> {
        let entries = host_entries();
        let over = std::env::var("HANDOVER_E2E_MIRROR").ok();
        let host_suite = host_codename();
        Mirrors::pick_for(suite, host_suite.as_deref(), &entries, over)
    }

    /// [`Mirrors::pick`] for `suite`, else the URIs of the host's own `host_suite` when the host's
    /// sources do not name `suite`.
    fn pick_for(
        suite: &str,
        host_suite: Option<&str>,
        entries: &[(String, String)],
        over: Option<String>,
    ) -> Result<Mirrors> {
        let uses = |s: &str| entries.iter().any(|(_, es)| es == s);
        match host_suite {
            Some(host) if host != suite && !uses(suite) && uses(host) => {
                Mirrors::pick(host, entries, over)
            }
            _ => Mirrors::pick(suite, entries, over),
        }
    }

    fn pick(suite: &str, entries: &[(String, String)], over: Option<String>) -> Result<Mirrors> {
        let find = |s: &str| {
            entries
                .iter()
                .find(|(_, es)| es == s)
                .map(|(u, _)| u.clone())
        };
        let main = match over.or_else(|| find(suite)) {
            Some(u) => u,
            None => bail!(
                "the host's apt sources have no `deb` entry for suite {suite}; \
                 set HANDOVER_E2E_MIRROR to a Debian mirror URI"
            ),
        };
        Ok(Mirrors {
            updates: find(&format!("{suite}-updates")),
            security: find(&format!("{suite}-security")),
            main,
        })
    }

    /// The mirrors as the cache key sees them.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "main": self.main,
            "updates": self.updates,
            "security": self.security,
        })
    }

    /// sources.list lines for `suite` from these mirrors.
    pub fn sources_list(&self, suite: &str) -> String {
        let mut s = format!("deb {} {suite} main\n", self.main);
        if let Some(u) = &self.updates {
            s.push_str(&format!("deb {u} {suite}-updates main\n"));
        }
        if let Some(u) = &self.security {
            s.push_str(&format!("deb {u} {suite}-security main\n"));
        }
        s
    }
}

/// (uri, suite) of every enabled `deb` entry of /etc/apt/sources.list and
/// /etc/apt/sources.list.d/*.{list,sources}.
fn host_entries() -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        match file.extension().and_then(|e| e.to_str()) {
            Some("sources") => entries.extend(parse_deb822(&text)),
            Some("list") => entries.extend(parse_one_line(&text)),
            _ => {}
        }
    }
    entries
}

/// `VERSION_CODENAME` of the host's /etc/os-release (`bookworm`), if it says.
pub fn host_codename() -> Option<String> {
    let text = fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// (uri, suite) of every enabled `deb` line of a one-line-style sources file.
fn parse_one_line(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        if words.next() != Some("deb") {
            continue;
        }
        let mut rest: Vec<&str> = words.collect();
        // Options: `[arch=amd64 signed-by=...]`, possibly several words.
        if rest.first().is_some_and(|w| w.starts_with('[')) {
            let end = rest.iter().position(|w| w.ends_with(']')).unwrap_or(0);
            rest.drain(..=end);
        }
        if let [uri, suite, ..] = rest.as_slice() {
            out.push((uri.trim_end_matches('/').to_string(), suite.to_string()));
        }
    }
    out
}

/// (uri, suite) of every enabled `deb` stanza of a deb822 sources file.
fn parse_deb822(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut types = Vec::new();
        let mut uris = Vec::new();
        let mut suites = Vec::new();
        let mut enabled = true;
        for line in stanza.lines() {
            if line.starts_with('#') || line.starts_with(char::is_whitespace) {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let words = || value.split_whitespace().map(str::to_string);
            match key.trim().to_ascii_lowercase().as_str() {
                "types" => types = words().collect(),
                "uris" => {
                    uris = words()
                        .map(|u| u.trim_end_matches('/').to_string())
                        .collect()
                }
                "suites" => suites = words().collect(),
                "enabled" => enabled = value.trim().eq_ignore_ascii_case("yes"),
                _ => {}
            }
        }
        if enabled && types.iter().any(|t| t == "deb") {
            for u in &uris {
                for s in &suites {
                    out.push((u.clone(), s.clone()));
                }
            }
        }
    }
    out
}

/// FNV-1a, stable across Rust versions (unlike `DefaultHasher`).
fn fnv1a(data: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Returns the cached image for `spec`, building it first if it is missing
/// (or if `rebuild` is set).
pub fn ensure(cache: &Path, spec: &ImageSpec, rebuild: bool) -> Result<Image> {
    let mirrors = Mirrors::from_host(spec.suite)?;
    let description = serde_json::json!({
        "format": FORMAT,
        "suite": spec.suite,
        "include": spec.include,
        "repo_packages": spec.repo_packages,
        "mirrors": mirrors.describe(),
    });
    let dir = ensure_entry(cache, spec.name, description, rebuild, |tmp| {
        eprintln!(
            "building base image {} (suite {}, mirror {})",
            tmp.display(),
            spec.suite,
            mirrors.main
        );
        build(tmp, spec, &mirrors)
    })?;
    Ok(Image {
        rootfs: dir.join("rootfs"),
        repo: dir.join("repo"),
        dir,
    })
}

/// The cache entry `<cache>/<name>-<key>`, `<key>` a hash of `description` (everything it is built
/// from), built first by `build` if it is missing or `rebuild` is set. `build` fills a temporary
/// directory that is renamed into place only when complete, with `description`, the build's time
/// and how long it took in its `image.json`; stale entries of `name` and leftovers of killed builds
/// are removed.
pub fn ensure_entry(
    cache: &Path,
    name: &str,
    description: serde_json::Value,
    rebuild: bool,
    build: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let key = format!("{:016x}", fnv1a(&description.to_string()));
    let dir = cache.join(format!("{name}-{key}"));
    fs::create_dir_all(cache)?;
    remove_leftovers(cache, name, &dir)?;
    if dir.join("image.json").exists() && !rebuild {
        return Ok(dir);
    }
    let tmp = cache.join(format!("{name}-{key}.tmp-{}", std::process::id()));
    if tmp.exists() {
        remove_tree(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    let started = Instant::now();
    build(&tmp).with_context(|| format!("building {}", tmp.display()))?;
    let mut described = description;
    described["built_unix_time"] = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .into();
    described["build_seconds"] = started.elapsed().as_secs().into();
    fs::write(
        tmp.join("image.json"),
        serde_json::to_string_pretty(&described)?,
    )?;
    if dir.exists() {
        remove_tree(&dir)?;
    }
    fs::rename(&tmp, &dir)
        .with_context(|| format!("renaming {} to {}", tmp.display(), dir.display()))?;
    Ok(dir)
}

/// How long the cache entry at `dir` took to build (its `image.json`), if it says.
pub fn build_seconds(dir: &Path) -> Option<u64> {
    let text = fs::read_to_string(dir.join("image.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["build_seconds"].as_u64()
}

/// Removes `<name>-*.tmp-PID` directories of builds whose process is gone,
/// and complete images of the same name other than `current` (built from
/// other inputs, stale).
fn remove_leftovers(cache: &Path, name: &str, current: &Path) -> Result<()> {
    for entry in fs::read_dir(cache)?.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&format!("{name}-")) else {
            continue;
        };
        let stale = match rest.split_once(".tmp-") {
            Some((_, pid)) => !Path::new(&format!("/proc/{pid}")).exists(),
            None => entry.path() != current,
        };
        if stale {
            eprintln!("removing {} from the cache", entry.path().display());
            remove_tree(&entry.path())?;
        }
    }
    Ok(())
}

pub fn remove_tree(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    // --one-file-system: never follow into anything still mounted inside.
    run(Command::new("rm")
        .arg("-rf")
        .arg("--one-file-system")
        .arg(path))
}

/// Copies a tree with all attributes (`cp -a`, reflinks where possible).
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    run(Command::new("cp")
        .args(["-a", "--reflink=auto"])
        .arg(from)
        .arg(to))
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

fn build(tmp: &Path, spec: &ImageSpec, mirrors: &Mirrors) -> Result<()> {
    let rootfs = tmp.join("rootfs");
    let repo = tmp.join("repo");

    // 1. debootstrap from the host's mirror (its chatter goes to a log).
    debootstrap(tmp, spec, &rootfs, &mirrors.main)?;

    // 2. Bring it up to date with the release's updates and security suites.
    fs::write(
        rootfs.join("etc/apt/sources.list"),
        mirrors.sources_list(spec.suite),
    )?;
    let policy = forbid_daemons(&rootfs)?;
    chroot_ok(
        &rootfs,
        "set -e; apt-get clean; apt-get update -q; \
         apt-get -q -y -o Dpkg::Options::=--force-confold dist-upgrade; apt-get clean",
        &[],
        LONG,
    )?;

    // 3. Download the repository's packages in a copy of that base, so that
    //    the dependency resolution matches it exactly.
    let dl = tmp.join("download-root");
    copy_tree(&rootfs, &dl)?;
    chroot_ok(
        &dl,
        &format!(
            "set -e; apt-get install -q -y --download-only {}",
            spec.repo_packages.join(" ")
        ),
        &[],
        LONG,
    )?;
    let count = flat_repo(&dl, &repo)?;
    remove_tree(&dl)?;
    eprintln!("local repository: {count} packages");

    // 4. Point apt at the local repository only, and let it learn its index.
    fs::write(
        rootfs.join("etc/apt/sources.list"),
        format!("deb [trusted=yes] file:{REPO_GUEST_DIR} ./\n"),
    )?;
    for entry in fs::read_dir(rootfs.join("etc/apt/sources.list.d"))?.flatten() {
        fs::remove_file(entry.path())?;
    }
    fs::create_dir_all(rootfs.join(REPO_GUEST_DIR.trim_start_matches('/')))?;
    chroot_ok(
        &rootfs,
        &format!(
            "set -e; apt-get update -q; apt-cache policy {} | grep -q 'Candidate: [0-9]'; apt-get clean",
            shell_quote(spec.repo_packages[0])
        ),
        &[(&repo, REPO_GUEST_DIR, true)],
        LONG,
    )?;

    // 5. Leave no machine identity in the base, and none of the host's
    //    (debootstrap copies the host's /etc/hostname and /etc/resolv.conf):
    //    without /etc/hostname the container's hostname is nspawn's machine
    //    name; the fixture sets its own identity.
    fs::remove_file(&policy)?;
    fs::remove_file(rootfs.join("etc/hostname"))?;
    fs::write(
        rootfs.join("etc/hosts"),
        "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n",
    )?;
    fs::write(
        rootfs.join("etc/resolv.conf"),
        "# The e2e device has no network (systemd-nspawn --private-network).\n",
    )?;
    for id in ["etc/machine-id", "var/lib/dbus/machine-id"] {
        let p = rootfs.join(id);
        if p.symlink_metadata().is_ok() {
            fs::remove_file(p)?;
        }
    }
    Ok(())
}

/// `debootstrap --variant=minbase` of `spec` into `rootfs` from `mirror`, its chatter in
/// `<log_dir>/debootstrap.log` (the last lines of which a failure shows).
fn debootstrap(log_dir: &Path, spec: &ImageSpec, rootfs: &Path, mirror: &str) -> Result<()> {
    let log_path = log_dir.join("debootstrap.log");
    let log = fs::File::create(&log_path)?;
    // In its own mount and PID namespaces: the /proc and /sys that
    // debootstrap mounts in the target vanish with it even if it is killed;
    // and it dies with this process (pdeathsig, --kill-child), dpkg and all,
    // not to write on in a directory that the next run removes as a leftover.
    let status = Command::new("setpriv")
        .args(["--pdeathsig", "KILL", "--"])
        .args(["unshare", "--mount", "--pid", "--fork", "--kill-child"])
        .args(["--propagation", "private", "--"])
        .args(["debootstrap", "--variant=minbase"])
        .arg(format!("--include={}", spec.include.join(",")))
        .arg(spec.suite)
        .arg(rootfs)
        .arg(mirror)
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running debootstrap (is it installed?)")?;
    if !status.success() {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        bail!(
            "debootstrap failed ({status}); last lines of {}:\n{}",
            log_path.display(),
            lines[lines.len().saturating_sub(30)..].join("\n")
        );
    }
    Ok(())
}

/// Writes a `policy-rc.d` that keeps maintainer scripts from starting daemons in a chroot of
/// `root` (the PID namespace of `chroot_run` would kill them anyway); returns its path.
pub fn forbid_daemons(root: &Path) -> Result<PathBuf> {
    let policy = root.join("usr/sbin/policy-rc.d");
    fs::write(&policy, "#!/bin/sh\nexit 101\n")?;
    chmod(&policy, 0o755)?;
    Ok(policy)
}

/// Copies the .deb files apt downloaded into `root`'s archive cache to `repo` and indexes them
/// (`Packages`, as a flat repository: `deb [trusted=yes] file:DIR ./`); returns how many.
pub fn flat_repo(root: &Path, repo: &Path) -> Result<usize> {
    fs::create_dir_all(repo)?;
    let mut count = 0;
    for entry in fs::read_dir(root.join("var/cache/apt/archives"))?.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "deb") {
            fs::copy(&path, repo.join(entry.file_name()))?;
            count += 1;
        }
    }
    if count == 0 {
        bail!("apt-get --download-only fetched no package");
    }
    let packages = Command::new("dpkg-scanpackages")
        .args(["--multiversion", ".", "/dev/null"])
        .current_dir(repo)
        .output()
        .context("dpkg-scanpackages (is dpkg-dev installed?)")?;
    if !packages.status.success() {
        bail!(
            "dpkg-scanpackages failed: {}",
            String::from_utf8_lossy(&packages.stderr)
        );
    }
    fs::write(repo.join("Packages"), &packages.stdout)?;
    Ok(count)
}

/// Gives a chroot of `root` the host's name resolution (the cached bases have none: the devices
/// have no network), for steps that download from the mirror.
pub fn host_dns(root: &Path) -> Result<()> {
    let etc = root.join("etc/resolv.conf");
    if etc.symlink_metadata().is_ok() {
        fs::remove_file(&etc)?;
    }
    fs::copy("/etc/resolv.conf", &etc).context("copying the host's /etc/resolv.conf")?;
    Ok(())
}

/// A root that plays a connected machine of the image's release, for `handover kit build` (which
/// downloads the kit's packages with the machine's own apt, so a Debian 13 kit needs a Debian 13
/// apt): a copy of the base with the release's mirrors as its apt sources, the host's name
/// resolution and dpkg-dev (`dpkg-scanpackages`). Built once into `<image>/kit-builder`; its
/// package lists are refreshed by whoever uses it.
pub fn ensure_kit_builder(image: &Image, spec: &ImageSpec) -> Result<PathBuf> {
    let dir = image.dir.join("kit-builder");
    if dir.join("usr/bin/dpkg-scanpackages").exists() {
        return Ok(dir);
    }
    let tmp = image
        .dir
        .join(format!("kit-builder.tmp-{}", std::process::id()));
    for entry in fs::read_dir(&image.dir)?.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("kit-builder")
        {
            remove_tree(&entry.path())?;
        }
    }
    let mirrors = Mirrors::from_host(spec.suite)?;
    copy_tree(&image.rootfs, &tmp)?;
    fs::write(
        tmp.join("etc/apt/sources.list"),
        mirrors.sources_list(spec.suite),
    )?;
    host_dns(&tmp)?;
    let policy = forbid_daemons(&tmp)?;
    chroot_ok(
        &tmp,
        "set -e; apt-get update -q; apt-get install -q -y --no-install-recommends dpkg-dev; apt-get clean",
        &[],
        LONG,
    )?;
    fs::remove_file(policy)?;
    fs::rename(&tmp, &dir)
        .with_context(|| format!("renaming {} to {}", tmp.display(), dir.display()))?;
    Ok(dir)
}

fn chmod(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mirrors_in_deb822_and_one_line_sources() {
        let deb822 = "Types: deb\n# comment\nURIs: http://deb.debian.org/debian\n\
                      Suites: bookworm bookworm-updates\nComponents: main\n\n\
                      Types: deb\nURIs: http://deb.debian.org/debian-security/\n\
                      Suites: bookworm-security\nComponents: main\n\n\
                      Types: deb\nEnabled: no\nURIs: http://other\nSuites: bookworm\n";
        let one_line = "# deb http://commented bookworm main\n\
                        deb [arch=amd64 signed-by=/k.gpg] http://ftp.fr.debian.org/debian/ bookworm main\n";
        let mut entries = parse_deb822(deb822);
        entries.extend(parse_one_line(one_line));
        let m = Mirrors::pick("bookworm", &entries, None).unwrap();
        assert_eq!(
            m,
            Mirrors {
                main: "http://deb.debian.org/debian".into(),
                updates: Some("http://deb.debian.org/debian".into()),
                security: Some("http://deb.debian.org/debian-security".into()),
            }
        );
        assert_eq!(
            parse_one_line(one_line),
            vec![("http://ftp.fr.debian.org/debian".into(), "bookworm".into())]
        );
        assert!(Mirrors::pick("trixie", &entries, None).is_err());
    }

    #[test]
    fn a_release_the_host_does_not_run_comes_from_the_hosts_mirrors() {
        let entries = parse_one_line(
            "deb http://deb.debian.org/debian bookworm main\n\
             deb http://deb.debian.org/debian bookworm-updates main\n\
             deb http://security.debian.org/debian-security bookworm-security main\n",
        );
        let m = Mirrors::pick_for("trixie", Some("bookworm"), &entries, None).unwrap();
        assert_eq!(
            m.sources_list("trixie"),
            "deb http://deb.debian.org/debian trixie main\n\
             deb http://deb.debian.org/debian trixie-updates main\n\
             deb http://security.debian.org/debian-security trixie-security main\n"
        );
        // The host's own release, and a release its sources name, come from those entries.
        let own = Mirrors::pick_for("bookworm", Some("bookworm"), &entries, None).unwrap();
        assert_eq!(own, Mirrors::pick("bookworm", &entries, None).unwrap());
        let named = parse_one_line("deb http://ftp.example/debian trixie main\n");
        let mut both = entries.clone();
        both.extend(named);
        let m = Mirrors::pick_for("trixie", Some("bookworm"), &both, None).unwrap();
        assert_eq!(
            (m.main.as_str(), m.security),
            ("http://ftp.example/debian", None)
        );
    }
}
