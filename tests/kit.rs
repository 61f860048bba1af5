//! `handover kit build` and `kit verify`, and `--kit` refusing a kit that changed. (The package
//! repository is left out here with `--no-packages`: building it downloads the baseline's .debs, which
//! `cargo xtask e2e` does, and installs them offline in the booted Debian 12 device.)

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::{have, s, Handover};

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A site with a local installer, a downloaded one (already in `cache`) and a directory artifact.
pub(crate) fn prepare(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let installers = dir.join("installers");
    std::fs::create_dir_all(installers.join("office/Office/Data")).unwrap();
    std::fs::write(
        installers.join("LsAgent-linux.run"),
        b"#!/bin/sh\necho agent\n",
    )
    .unwrap();
    std::fs::write(installers.join("office/Office/Data/v64.cab"), b"cab").unwrap();
    let cache = dir.join("cache");
    std::fs::create_dir_all(cache.join("sha256")).unwrap();
    std::fs::write(cache.join("sha256").join(sha(b"msi bytes")), b"msi bytes").unwrap();
    let site = dir.join("site.toml");
    std::fs::write(
        &site,
        format!(
            "# the faculty's site\n[vpn]\nname = \"Uni VPN\"\ngateway = \"vpn.example.ac.uk\"\n\n\
             [artifacts.lsagent-linux]\nurl = \"installers/LsAgent-linux.run\"\nsha256 = \"{}\"\n\n\
             [artifacts.forticlient-vpn-msi]\nurl = \"https://files.example.ac.uk/FortiClientVPN.msi\"\nsha256 = \"{}\"\n\n\
             [artifacts.office-source]\nurl = \"installers/office\"\n[artifacts.office-source.files]\n\"Office/Data/v64.cab\" = \"{}\"\n",
            sha(b"#!/bin/sh\necho agent\n"),
            sha(b"msi bytes"),
            sha(b"cab")
        ),
    )
    .unwrap();
    (site, cache)
}

/// `kit build --out OUT --site SITE --cache CACHE --no-packages`.
pub fn kit_build(out: &Path, site: &Path, cache: &Path) -> crate::support::Run {
    Handover::new(&[
        "kit",
        "build",
        "--out",
        s(out),
        "--site",
        s(site),
        "--cache",
        s(cache),
        "--no-packages",
    ])
    .run()
}

/// A kit built from [`prepare`] in `dir`: its directory and its site.
pub fn built_kit(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (site, cache) = prepare(dir);
    let kit = dir.join("kit");
    kit_build(&kit, &site, &cache).expect_code(0);
    (kit, site)
}

#[test]
fn a_kit_is_built_verified_and_refused_after_one_byte_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (site, cache) = prepare(dir.path());
    let kit = dir.path().join("kit");
    let run = kit_build(&kit, &site, &cache);
    run.expect_code(0);
    for f in ["handover", "site.toml", "README.txt", "MANIFEST.sha256"] {
        assert!(kit.join(f).is_file(), "{f} missing\n{}", run.stdout());
    }
    for content in [&b"#!/bin/sh\necho agent\n"[..], b"msi bytes", b"cab"] {
        assert_eq!(
            std::fs::read(kit.join("artifacts/sha256").join(sha(content))).unwrap(),
            content
        );
    }
    // The manifest is what sha256sum -c reads, so a technician can check a kit without handover.
    if have("sha256sum") {
        let out = std::process::Command::new("sha256sum")
            .args(["--quiet", "-c", "MANIFEST.sha256"])
            .current_dir(&kit)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let run = Handover::new(&["kit", "verify", s(&kit)]).run();
    run.expect_code(0);
    assert!(run.stdout().starts_with("kit ok:"), "{}", run.stdout());

    // The kit serves the site: its relative paths are not in the kit, so the installers come from
    // the kit's cache by hash.
    let run = Handover::new(&[
        "artifacts",
        "verify",
        "--site",
        s(&kit.join("site.toml")),
        "--cache",
        s(&kit.join("artifacts")),
    ])
    .run();
    run.expect_code(0);

    // One byte of one artifact.
    let target = kit.join("artifacts/sha256").join(sha(b"msi bytes"));
    let mut bytes = std::fs::read(&target).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&target, bytes).unwrap();
    let run = Handover::new(&["kit", "verify", s(&kit)]).run();
    run.expect_code(1);
    let out = run.stdout();
    assert!(
        out.contains(&format!(
            "MISMATCH  artifacts/sha256/{} (artifact forticlient-vpn-msi)",
            sha(b"msi bytes")
        )),
        "{out}"
    );
    // And --kit refuses it before anything runs.
    let run = Handover::new(&["plan", "--kit", s(&kit), "--profile", "windows-11"]).run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("does not match its MANIFEST.sha256"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_kit_needs_every_installer_and_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (site, cache) = prepare(dir.path());
    std::fs::remove_file(cache.join("sha256").join(sha(b"msi bytes"))).unwrap();
    let kit = dir.path().join("kit");
    let run = kit_build(&kit, &site, &cache);
    run.expect_code(2);
    assert!(
        run.stderr().contains("artifact forticlient-vpn-msi")
            && run.stderr().contains("artifacts fetch"),
        "{}",
        run.stderr()
    );
    let run = kit_build(dir.path(), &site, &cache);
    run.expect_code(2);
    assert!(run.stderr().contains("is not empty"), "{}", run.stderr());
}

#[test]
fn plan_with_an_intact_kit_uses_its_site() {
    let dir = tempfile::tempdir().unwrap();
    let (kit, _site) = built_kit(dir.path());
    let run = Handover::new(&[
        "plan",
        "--kit",
        s(&kit),
        "--profile",
        "windows-11",
        "--format",
        "json",
    ])
    .run();
    let report = run.json();
    assert_ne!(run.code(), 2, "{}", run.stderr());
    assert!(
        report
            .to_string()
            .contains(&kit.join("site.toml").display().to_string()),
        "the report names the kit's site"
    );
}
