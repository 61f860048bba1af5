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
use std::time::Duration;

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
    /// Reads /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources}.
    /// `HANDOVER_E2E_MIRROR` overrides the main mirror.
    pub fn from_host(suite: &str) -> Result<Mirrors> {
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
        Mirrors::pick(suite, &entries, std::env::var("HANDOVER_E2E_MIRROR").ok())
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

    /// sources.list lines for the base system.
    fn sources_list(&self, suite: &str) -> String {
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
        "mirrors": {
            "main": mirrors.main,
            "updates": mirrors.updates,
            "security": mirrors.security,
        },
    });
    let key = format!("{:016x}", fnv1a(&description.to_string()));
    let dir = cache.join(format!("{}-{key}", spec.name));
    let image = Image {
        rootfs: dir.join("rootfs"),
        repo: dir.join("repo"),
        dir: dir.clone(),
    };
    fs::create_dir_all(cache)?;
    remove_leftovers(cache, spec.name, &dir)?;
    if dir.join("image.json").exists() && !rebuild {
        return Ok(image);
    }

    let tmp = cache.join(format!("{}-{key}.tmp-{}", spec.name, std::process::id()));
    eprintln!(
        "building base image {} (mirror {})",
        dir.display(),
        mirrors.main
    );
    build(&tmp, spec, &mirrors).with_context(|| format!("building {}", tmp.display()))?;
    let mut described = description;
    described["built_unix_time"] = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .into();
    fs::write(
        tmp.join("image.json"),
        serde_json::to_string_pretty(&described)?,
    )?;
    if dir.exists() {
        remove_tree(&dir)?;
    }
    fs::rename(&tmp, &dir)
        .with_context(|| format!("renaming {} to {}", tmp.display(), dir.display()))?;
    Ok(image)
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
    if tmp.exists() {
        remove_tree(tmp)?;
    }
    fs::create_dir_all(tmp)?;
    let rootfs = tmp.join("rootfs");
    let repo = tmp.join("repo");

    // 1. debootstrap from the host's mirror (its chatter goes to a log).
    let log_path = tmp.join("debootstrap.log");
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
        .arg(&rootfs)
        .arg(&mirrors.main)
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

    // 2. Bring it up to date with the host's updates and security suites.
    //    policy-rc.d keeps maintainer scripts from starting daemons in the
    //    chroot (the PID namespace of chroot_run would kill them anyway).
    fs::write(
        rootfs.join("etc/apt/sources.list"),
        mirrors.sources_list(spec.suite),
    )?;
    let policy = rootfs.join("usr/sbin/policy-rc.d");
    fs::write(&policy, "#!/bin/sh\nexit 101\n")?;
    chmod(&policy, 0o755)?;
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
    fs::create_dir_all(&repo)?;
    let mut count = 0;
    for entry in fs::read_dir(dl.join("var/cache/apt/archives"))?.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "deb") {
            fs::copy(&path, repo.join(entry.file_name()))?;
            count += 1;
        }
    }
    if count == 0 {
        bail!("apt-get --download-only fetched no package");
    }
    remove_tree(&dl)?;
    let packages = Command::new("dpkg-scanpackages")
        .args(["--multiversion", ".", "/dev/null"])
        .current_dir(&repo)
        .output()
        .context("dpkg-scanpackages (is dpkg-dev installed?)")?;
    if !packages.status.success() {
        bail!(
            "dpkg-scanpackages failed: {}",
            String::from_utf8_lossy(&packages.stderr)
        );
    }
    fs::write(repo.join("Packages"), &packages.stdout)?;
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
}
