//! Unit tests of the module beside this file.

// Tests ask the real tools (apt-cache) what they make of a kit.
#![allow(clippy::disallowed_methods)]

use std::path::Path;

use super::manifest::write_manifest;
use super::packages::source_path;
use super::*;
use crate::inputs::profile::Profile;

#[test]
fn every_package_a_linux_template_installs_is_in_its_kit() {
    // The literal package names templates install must be in the profile's kit list, or a kit
    // would leave a device asking the network for them.
    let sources = crate::inputs::profile::Sources::default();
    for name in sources.profile_names() {
        let p = sources.load(&name).unwrap();
        if p.os_match.family != "linux" {
            continue;
        }
        let kit = packages(&p);
        assert!(!kit.is_empty(), "{name}");
        for c in &p.controls {
            for script in [&c.check, &c.apply].into_iter().flatten() {
                let text = sources.template(script).unwrap();
                for line in text.lines() {
                    let line = line.trim();
                    for marker in ["|| pkg_install ", "pkg_installed "] {
                        if let Some(rest) = line.split(marker).nth(1) {
                            let pkg = rest.split_whitespace().next().unwrap_or("");
                            if pkg.starts_with('"') || pkg.starts_with('$') || pkg.is_empty() {
                                continue;
                            }
                            assert!(
                                    kit.contains(&pkg.to_string()),
                                    "{name}: {script} installs {pkg}, which is not in its kit packages {kit:?}"
                                );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_kit_verifies_and_a_changed_byte_or_an_added_file_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path();
    std::fs::create_dir_all(k.join("artifacts/sha256")).unwrap();
    std::fs::write(k.join("site.toml"), "# site\n").unwrap();
    std::fs::write(k.join("artifacts/sha256/ab"), b"installer").unwrap();
    let (n, bytes) = write_manifest(k).unwrap();
    assert_eq!((n, bytes), (2, 16));
    let v = verify(k).unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    std::fs::write(k.join("artifacts/sha256/ab"), b"installeR").unwrap();
    std::fs::write(k.join("planted.sh"), b"x").unwrap();
    std::fs::remove_file(k.join("site.toml")).unwrap();
    let v = verify(k).unwrap();
    assert_eq!(v.problems.len(), 3, "{:?}", v.problems);
    assert!(v.problems.contains(&Problem::Missing("site.toml".into())));
    assert!(v.problems.contains(&Problem::Extra("planted.sh".into())));
    assert!(v
        .problems
        .iter()
        .any(|p| matches!(p, Problem::Mismatch { path, .. } if path == "artifacts/sha256/ab")));
}

fn profile(name: &str) -> Profile {
    crate::inputs::profile::Sources::default()
        .load(name)
        .unwrap()
}

/// A kit with only a package repository for `profile`: `files` (path under `repo/<profile>/`,
/// bytes), and its manifest.
fn repo_kit(kit: &Path, profile: &str, files: &[(&str, &[u8])]) {
    for (rel, bytes) in files {
        let p = kit.join("repo").join(profile).join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    write_manifest(kit).unwrap();
}

fn stanza(version: &str) -> String {
    format!(
            "Package: handover-f1-probe\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.org>\nFilename: ./handover-f1-probe_all.deb\nSize: 4\nSHA256: {}\nDescription: probe\n\n",
            crate::support::hashing::sha256_bytes(b"deb!")
        )
}

/// F1 (../shared/reviews/security-2026-12.md): with a space in the kit's path, the one-line apt
/// source `deb [trusted=yes] file:DIR/kit sp/repo/debian-12 ./` read its index from `DIR/kit/dists/
/// sp/…`, outside the verified kit, where a standard user planted a `99:0.0-evil` package. Now apt
/// is given a private copy of the verified repository, at a path handover chose.
#[test]
fn f1_kit_path_with_space_reads_only_the_verified_repo() {
    let dir = tempfile::tempdir().unwrap();
    let kit = dir.path().join("kit sp");
    let good = stanza("1.0");
    repo_kit(&kit, "debian-12", &[("Packages", good.as_bytes())]);
    // The attacker's index, where the old source line made apt look (every architecture).
    for arch in ["amd64", "arm64", "i386", "armhf", "all"] {
        let d = dir
            .path()
            .join("kit/dists/sp/repo/debian-12/binary-".to_string() + arch);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("Packages"), stanza("99:0.0-evil")).unwrap();
    }
    assert!(verify(&kit).unwrap().problems.is_empty());
    // The generated source line names the private copy only; a path apt would split is refused.
    assert!(source_path(Path::new("/tmp/kit sp/repo")).is_err());
    for bad in [
        "/tmp/a#b",
        "/tmp/a[b",
        "/tmp/a]b",
        "/tmp/a\tb",
        "/tmp/a\"b",
        "/tmp/a,b",
    ] {
        assert!(source_path(Path::new(bad)).is_err(), "{bad}");
    }
    if which::which("apt-get").is_err() {
        eprintln!("SKIPPED: apt-get is not installed (the copy is tested in f4_…)");
        return;
    }
    let work = dir.path().join("work");
    let env = package_env(&kit, &profile("debian-12"), &work).unwrap();
    assert_eq!(env[0].0, "APT_CONFIG");
    let copy = std::path::absolute(work.join("repo")).unwrap();
    let list = std::fs::read_to_string(work.join("kit.list")).unwrap();
    assert_eq!(
        list,
        format!("deb [trusted=yes] file:{} ./\n", copy.display())
    );
    assert!(!list.contains("kit sp"), "{list}");
    assert_eq!(
        std::fs::read_to_string(copy.join("Packages")).unwrap(),
        good
    );
    // What apt itself makes of it: the verified version, from the copy; never the planted one.
    let out = duct::cmd!("apt-cache", "policy", "handover-f1-probe")
        .env("APT_CONFIG", &env[0].1)
        .stderr_to_stdout()
        .read()
        .unwrap();
    assert!(out.contains("Candidate: 1.0"), "{out}");
    assert!(!out.contains("evil") && !out.contains("kit sp"), "{out}");
    assert!(out.contains(&copy.display().to_string()), "{out}");
}

/// F4: the kit's repository was read again by apt (and by dnf at install time) after `kit verify`,
/// so a file swapped in between was used. Now the copy is what was verified, or nothing is used.
#[test]
fn f4_a_kit_file_swapped_after_verification_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let kit = dir.path().join("kit");
    let rpm = b"verified rpm".as_slice();
    let repomd = b"<repomd/>".as_slice();
    repo_kit(
        &kit,
        "rhel-9",
        &[("a.rpm", rpm), ("repodata/repomd.xml", repomd)],
    );
    assert!(verify(&kit).unwrap().problems.is_empty());
    let rhel = profile("rhel-9");
    let target = kit.join("repo/rhel-9/a.rpm");

    // Swapped after verification: refused, whatever the kit's manifest says now.
    std::fs::write(&target, b"evil rpm").unwrap();
    let e = package_env(&kit, &rhel, &dir.path().join("w1"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a.rpm changed after the kit was verified"),
        "{e}"
    );
    write_manifest(&kit).unwrap();
    let e = package_env(&kit, &rhel, &dir.path().join("w2"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a.rpm changed after the kit was verified"),
        "{e}"
    );
    // A link to a file with the verified bytes is no regular file of the kit: refused too.
    let elsewhere = dir.path().join("elsewhere.rpm");
    std::fs::write(&elsewhere, rpm).unwrap();
    std::fs::remove_file(&target).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&elsewhere, &target).unwrap();
        let e = package_env(&kit, &rhel, &dir.path().join("w3"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no longer a regular file"), "{e}");
        std::fs::remove_file(&target).unwrap();
    }

    // Put back: the copy is used, it holds the verified bytes, and a later swap cannot reach it.
    std::fs::write(&target, rpm).unwrap();
    let work = dir.path().join("w4");
    let env = package_env(&kit, &rhel, &work).unwrap();
    let copy = std::path::absolute(work.join("repo")).unwrap();
    assert_eq!(
        env,
        vec![("HANDOVER_KIT_REPO".to_string(), copy.display().to_string())]
    );
    std::fs::write(&target, b"evil rpm").unwrap();
    assert_eq!(std::fs::read(copy.join("a.rpm")).unwrap(), rpm);
    assert_eq!(
        std::fs::read(copy.join("repodata/repomd.xml")).unwrap(),
        repomd
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&work).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
    // Only files the manifest lists are copied: one added later is not there.
    assert!(!copy.join("planted.rpm").exists());
}

/// F15: `kit verify` reads regular files only: a link to a root-only file does not reveal its
/// hash, and a FIFO does not hang it.
#[cfg(unix)]
#[test]
fn f15_verify_reads_regular_files_only_and_never_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("kit");
    std::fs::create_dir_all(k.join("sub")).unwrap();
    std::fs::write(k.join("README.txt"), b"readme").unwrap();
    std::fs::write(k.join("sub/a"), b"a").unwrap();
    std::fs::write(k.join("fifo"), b"f").unwrap();
    write_manifest(&k).unwrap();
    let secret = dir.path().join("shadow");
    std::fs::write(&secret, b"root:$y$secret").unwrap();
    std::fs::remove_file(k.join("README.txt")).unwrap();
    std::os::unix::fs::symlink(&secret, k.join("README.txt")).unwrap();
    std::fs::remove_file(k.join("fifo")).unwrap();
    let c = std::ffi::CString::new(k.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // A directory swapped for a link to another directory holding the same names.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("a"), b"a").unwrap();
    std::fs::remove_dir_all(k.join("sub")).unwrap();
    std::os::unix::fs::symlink(&other, k.join("sub")).unwrap();
    let v = verify(&k).unwrap();
    let text: Vec<String> = v.problems.iter().map(ToString::to_string).collect();
    let secret_sha = crate::support::hashing::sha256_bytes(b"root:$y$secret");
    assert!(!text.iter().any(|t| t.contains(&secret_sha)), "{text:?}");
    for p in ["README.txt", "fifo", "sub/a"] {
        assert!(
            v.problems.contains(&Problem::NotRegular(p.into())),
            "{p}: {text:?}"
        );
    }
    // The manifest itself must be a regular file.
    std::fs::rename(k.join(MANIFEST), dir.path().join("m")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("m"), k.join(MANIFEST)).unwrap();
    let e = format!("{:#}", verify(&k).unwrap_err());
    assert!(e.contains("not a regular file"), "{e}");
}

/// F15: a 1 GiB manifest took 3 GB of memory before its first line was refused. Now anything past
/// [`MAX_MANIFEST`] is refused before it is read.
#[test]
fn f15_an_oversized_manifest_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join(MANIFEST)).unwrap();
    f.set_len(1 << 30).unwrap();
    let started = std::time::Instant::now();
    let e = format!("{:#}", verify(dir.path()).unwrap_err());
    assert!(e.contains("more than a kit's manifest ever holds"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// F15: `keys/` and `records/` are not in the manifest, but what may be there is known: anything
/// else (a planted script, a link) is reported.
#[test]
fn f15_a_file_planted_under_keys_or_records_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path();
    std::fs::write(k.join("site.toml"), b"# site\n").unwrap();
    write_manifest(k).unwrap();
    std::fs::create_dir_all(k.join("keys")).unwrap();
    std::fs::create_dir_all(k.join("records/serial-SN1")).unwrap();
    std::fs::write(k.join("keys/records.pub"), b"pub").unwrap();
    std::fs::write(k.join("keys/records.key"), b"key").unwrap();
    let rec = "000001-20261125T100000Z-check-full.json";
    std::fs::write(k.join("records/serial-SN1").join(rec), b"{}").unwrap();
    std::fs::write(
        k.join("records/serial-SN1").join(format!("{rec}.sig")),
        b"sig",
    )
    .unwrap();
    std::fs::write(
        k.join("records/serial-SN1")
            .join(crate::evidence::signing::PENDING),
        b"x",
    )
    .unwrap();
    assert!(verify(k).unwrap().problems.is_empty());
    std::fs::write(k.join("keys/evil.pub"), b"x").unwrap();
    std::fs::write(k.join("records/serial-SN1/anything.sh"), b"x").unwrap();
    std::fs::write(k.join("records/loose.json"), b"x").unwrap();
    let v = verify(k).unwrap();
    assert_eq!(
        v.problems,
        vec![
            Problem::Unexpected("keys/evil.pub".into()),
            Problem::Unexpected("records/loose.json".into()),
            Problem::Unexpected("records/serial-SN1/anything.sh".into()),
        ]
    );
    assert!(v.problems[0]
        .to_string()
        .contains("records.key, records.pub"));
}
