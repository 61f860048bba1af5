//! The offline repository a Debian 12 device is upgraded to Debian 13 from (SPEC §8: "upgraded in
//! place to 13 with apt from an offline trixie repository"), built once and cached beside the base
//! images:
//!
//! ```text
//! <cache>/upgrade-<from>-<to>-<key>/repo/        flat apt repository (*.deb + Packages)
//! <cache>/upgrade-<from>-<to>-<key>/image.json   what it was built from, and how long it took
//! ```
//!
//! It is built in a chroot of a copy of the Debian 12 base with every package of the base's local
//! repository installed (a superset of what a handed-over device has: the baseline's packages and the
//! benchmark's), whose apt then points at the Debian 13 mirror and downloads, without installing,
//! what each step of Debian's upgrade sequence would install: `upgrade --without-new-pkgs`,
//! `full-upgrade`, and the repository's packages themselves (so that the upgraded device can
//! install the baseline again from the same repository). `<key>` hashes the Debian 12 image (its
//! directory name holds its own key), the target suite, the mirrors and the package list.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::container::chroot_ok;
use crate::image::{self, Image, ImageSpec, Mirrors, REPO_GUEST_DIR};

/// Bump when the build steps change in a way the key does not see.
const FORMAT: u32 = 1;

const LONG: Duration = Duration::from_secs(1800);

/// Where the upgrade repository is mounted in the device (and its apt source once upgraded).
pub const UPGRADE_GUEST_DIR: &str = "/srv/upgrade";

/// apt in a chroot or the device, without questions, keeping the configuration files the device has
/// (handover's and the fixture's) as Debian's release notes advise for a scripted upgrade.
pub const APT_NONINTERACTIVE: &str =
    "DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Options::=--force-confold";

/// The cached upgrade repository from the image `from` (built from `from_spec`) to the suite `to`,
/// built first if it is missing or `rebuild` is set. Returns the repository's directory.
pub fn ensure(
    cache: &Path,
    from: &Image,
    from_spec: &ImageSpec,
    to: &str,
    rebuild: bool,
) -> Result<PathBuf> {
    let mirrors = Mirrors::from_host(to)?;
    let from_name = from
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let description = serde_json::json!({
        "format": FORMAT,
        "from": from_name,
        "to": to,
        "packages": from_spec.repo_packages,
        "mirrors": mirrors.describe(),
    });
    let name = format!("upgrade-{}-{to}", from_spec.suite);
    let dir = image::ensure_entry(cache, &name, description, rebuild, |tmp| {
        eprintln!(
            "building the {} -> {to} upgrade repository {} (mirror {})",
            from_spec.suite,
            tmp.display(),
            mirrors.main
        );
        build(tmp, from, from_spec, to, &mirrors)
    })?;
    Ok(dir.join("repo"))
}

fn build(
    tmp: &Path,
    from: &Image,
    from_spec: &ImageSpec,
    to: &str,
    mirrors: &Mirrors,
) -> Result<()> {
    let root = tmp.join("download-root");
    image::copy_tree(&from.rootfs, &root)?;
    let policy = image::forbid_daemons(&root)?;
    let packages = from_spec.repo_packages.join(" ");

    // 1. Everything the local repository holds, installed from it (offline, as the devices do).
    chroot_ok(
        &root,
        &format!(
            "set -e; apt-get -q update; {APT_NONINTERACTIVE} install {packages}; apt-get clean"
        ),
        &[(&from.repo, REPO_GUEST_DIR, true)],
        LONG,
    )?;

    // 2. The new release's mirrors, and what each step of the upgrade would install.
    fs::write(root.join("etc/apt/sources.list"), mirrors.sources_list(to))?;
    for entry in fs::read_dir(root.join("etc/apt/sources.list.d"))?.flatten() {
        fs::remove_file(entry.path())?;
    }
    image::host_dns(&root)?;
    chroot_ok(
        &root,
        &format!(
            "set -e; apt-get -q update; \
             {APT_NONINTERACTIVE} --download-only upgrade --without-new-pkgs; \
             {APT_NONINTERACTIVE} --download-only full-upgrade; \
             {APT_NONINTERACTIVE} --download-only install {packages}"
        ),
        &[],
        LONG,
    )?;
    fs::remove_file(policy)?;
    let count = image::flat_repo(&root, &tmp.join("repo"))?;
    eprintln!("upgrade repository: {count} packages");
    image::remove_tree(&root)
}
