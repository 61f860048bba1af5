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

mod build;
mod manifest;
mod packages;
mod regular;
mod verify;

pub use build::{build, BuildOptions, Built};
pub use manifest::MAX_MANIFEST;
pub use packages::{package_env, packages};
pub use regular::{not_regular, open_regular};
pub use verify::{artifact_names, device_key_problem, verify, verify_on_device, Problem, Verified};

pub const MANIFEST: &str = "MANIFEST.sha256";
pub const SITE: &str = "site.toml";

#[cfg(test)]
mod tests;
