//! Regression tests for the red-team findings of ../shared/reviews/security-2026-12.md (issue 14).

#[allow(unused_imports)]
use crate::support::*;

use std::path::Path;
use std::time::{Duration, Instant};

/// Run the binary, killing it after `limit` (a hang is the failure these tests look for).
fn run_within(args: &[&str], state: &Path, limit: Duration) -> (i32, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_handover"))
        .args(args)
        .env("HANDOVER_STATE_DIR", state)
        .env("HANDOVER_NOW", "2026-11-25T10:00:00Z")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            return (status.code().unwrap_or(-1), text);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("handover {args:?} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// F15: `kit verify` printed the sha256 of `/etc/shadow` through a link in the kit, hashed `/dev/zero`
/// without end and blocked on a FIFO (so did every `--kit` run). Now each is refused unread.
#[cfg(unix)]
#[test]
fn f15_kit_verify_neither_reveals_a_linked_file_nor_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let (kit, _) = crate::kit::built_kit(dir.path());
    let secret = dir.path().join("shadow");
    std::fs::write(&secret, b"root:$y$j9T$not-for-anyone\n").unwrap();
    let secret_sha = sha256_hex(b"root:$y$j9T$not-for-anyone\n");
    std::fs::remove_file(kit.join("README.txt")).unwrap();
    std::os::unix::fs::symlink(&secret, kit.join("README.txt")).unwrap();
    std::fs::remove_file(kit.join("site.toml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", kit.join("site.toml")).unwrap();
    let handover = kit.join("handover");
    std::fs::remove_file(&handover).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(&handover)
        .status()
        .unwrap()
        .success());
    let state = tempfile::tempdir().unwrap();
    let (code, out) = run_within(
        &["kit", "verify", s(&kit)],
        state.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, 1, "{out}");
    for f in ["README.txt", "site.toml", "handover"] {
        assert!(
            out.contains(&format!("REFUSED   {f} is not a regular file")),
            "{f}: {out}"
        );
    }
    assert!(!out.contains(&secret_sha), "{out}");
    // A --kit run refuses the same kit at once, before anything runs.
    let (code, out) = run_within(
        &["plan", "--kit", s(&kit), "--profile", "windows-11"],
        state.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not a regular file"), "{out}");
}

/// F15: a planted `keys/…` or `records/…/anything.sh` went unreported. Now `kit verify` names it.
#[test]
fn f15_kit_verify_reports_files_planted_under_keys_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let (kit, _) = crate::kit::built_kit(dir.path());
    std::fs::create_dir_all(kit.join("keys")).unwrap();
    std::fs::create_dir_all(kit.join("records/x")).unwrap();
    std::fs::write(kit.join("keys/attacker.pub"), "x").unwrap();
    std::fs::write(kit.join("records/x/anything.sh"), "#!/bin/sh\n").unwrap();
    let run = Handover::new(&["kit", "verify", s(&kit)]).run();
    run.expect_code(1);
    let out = run.stdout();
    assert!(out.contains("PLANTED   keys/attacker.pub"), "{out}");
    assert!(out.contains("PLANTED   records/x/anything.sh"), "{out}");
}

/// A records public key file holding the ed25519 key of `seed`.
fn pubkey_file(path: &Path, seed: u8) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key();
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("# handover records public key\n{hex}\n")).unwrap();
}

/// F15: a kit whose `keys/records.pub` was replaced said "kit ok". Now `kit verify` on a device that
/// already trusts a key compares the two and reports a difference.
#[test]
fn f15_kit_verify_reports_a_kit_key_that_differs_from_the_devices() {
    let dir = tempfile::tempdir().unwrap();
    let (kit, _) = crate::kit::built_kit(dir.path());
    pubkey_file(&kit.join("keys/records.pub"), 7);
    let state = tempfile::tempdir().unwrap();
    let verify = || {
        Handover::new(&["kit", "verify", s(&kit)])
            .env("HANDOVER_STATE_DIR", s(state.path()))
            .run()
    };
    // No key on the device yet: nothing to compare.
    verify().expect_code(0);
    pubkey_file(&state.path().join("records.pub"), 7);
    verify().expect_code(0);
    pubkey_file(&state.path().join("records.pub"), 8);
    let run = verify();
    run.expect_code(1);
    assert!(
        run.stdout()
            .contains("KEY       keys/records.pub: differs from the key this device trusts"),
        "{}",
        run.stdout()
    );
    // A FIFO planted as the kit's key is reported, never opened (nothing waits on it).
    #[cfg(unix)]
    {
        std::fs::remove_file(kit.join("keys/records.pub")).unwrap();
        assert!(std::process::Command::new("mkfifo")
            .arg(kit.join("keys/records.pub"))
            .status()
            .unwrap()
            .success());
        let (code, out) = run_within(
            &["kit", "verify", s(&kit)],
            state.path(),
            Duration::from_secs(60),
        );
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("REFUSED   keys/records.pub is not a regular file"),
            "{out}"
        );
    }
}

/// F4: with `--kit` and a separate `--site`, a kit a standard user could change was accepted (and its
/// repository re-read after verification). Now the kit itself must be one only root can change.
#[cfg(unix)]
#[test]
fn f4_a_kit_others_can_change_is_refused_with_a_separate_site() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (kit, site) = crate::kit::built_kit(dir.path());
    std::fs::set_permissions(&kit, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = Handover::new(&[
        "plan",
        "--kit",
        s(&kit),
        "--site",
        s(&site),
        "--profile",
        "windows-11",
    ])
    .run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("refusing kit")
            && run.stderr().contains("writable by group or others"),
        "{}",
        run.stderr()
    );
    std::fs::set_permissions(&kit, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = Handover::new(&[
        "plan",
        "--kit",
        s(&kit),
        "--site",
        s(&site),
        "--profile",
        "windows-11",
    ])
    .run();
    assert_ne!(run.code(), 2, "{}", run.stderr());
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Rewrite `kit/MANIFEST.sha256` over every file of the kit, as `kit build` does.
fn rewrite_manifest(kit: &Path) {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_str().unwrap().to_string());
            }
        }
    }
    let mut files = Vec::new();
    walk(kit, kit, &mut files);
    files.retain(|f| f != "MANIFEST.sha256");
    files.sort();
    let text: String = files
        .iter()
        .map(|f| {
            format!(
                "{}  {f}\n",
                sha256_hex(&std::fs::read(kit.join(f)).unwrap())
            )
        })
        .collect();
    std::fs::write(kit.join("MANIFEST.sha256"), text).unwrap();
}

/// F1 through the binary: with a space in the kit's path, `plan --kit` failed ("apt-get update … failed",
/// apt looked outside the kit) until a standard user planted an index there, which apt then used. Now
/// the run takes its packages from a private copy of the verified repository, wherever the kit is.
/// (What apt reads from the copy, and never from the planted place, is shown with apt itself in
/// `kit::tests::f1_kit_path_with_space_reads_only_the_verified_repo`.)
#[test]
fn f1_plan_with_a_kit_under_a_path_with_a_space_uses_its_repository() {
    if !on_debian_12("F1: plan --kit on a Debian 12 host, with apt") || !have("apt-get") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (built, _) = crate::kit::built_kit(dir.path());
    let kit = dir.path().join("kit sp");
    std::fs::rename(&built, &kit).unwrap();
    std::fs::create_dir_all(kit.join("repo/debian-12")).unwrap();
    let stanza = |v: &str| {
        format!("Package: handover-f1-probe\nVersion: {v}\nArchitecture: all\nMaintainer: t <t@example.org>\nFilename: ./p.deb\nSize: 4\nSHA256: {}\nDescription: probe\n\n", sha256_hex(b"deb!"))
    };
    std::fs::write(kit.join("repo/debian-12/Packages"), stanza("1.0")).unwrap();
    rewrite_manifest(&kit);
    let plan = || Handover::new(&["plan", "--kit", s(&kit), "--profile", "debian-12"]).run();
    // Before anything is planted (this was exit 2: apt found no index where the split line sent it).
    let run = plan();
    assert_ne!(run.code(), 2, "{}\n{}", run.stdout(), run.stderr());
    // The planted index where the old source line sent apt.
    let planted = dir.path().join("kit/dists/sp/repo/debian-12/binary-all");
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::write(planted.join("Packages"), stanza("99:0.0-evil")).unwrap();
    let run = plan();
    assert_ne!(run.code(), 2, "{}\n{}", run.stdout(), run.stderr());
    assert!(!run.stderr().contains("apt-get update"), "{}", run.stderr());
}
