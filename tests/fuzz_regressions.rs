//! Every input kept in tests/fuzz_regressions/<target>/ (crashes that `cargo xtask fuzz` found, copied
//! there by it, and a few seeds) replayed through the properties its fuzz target checks
//! (tests/fuzz_regressions/props.rs, which the targets in fuzz/fuzz_targets/ include by path). Runs on
//! stable with the other tests: no nightly, no libFuzzer.

use std::path::{Path, PathBuf};

mod props;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions")
}

/// Replay every file of `tests/fuzz_regressions/<target>/`, naming each that fails.
fn replay(target: &str) {
    let dir = root().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no inputs", dir.display());
    let fx = props::Fixture::new();
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).unwrap();
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                props::check(target, &fx, &data)
            }));
            run.is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} inputs fail their properties (panic messages above; reproduce with \
         `cargo +nightly fuzz run {target} FILE` in fuzz/):\n  {}",
        failed.len(),
        files.len(),
        failed.join("\n  ")
    );
}

#[test]
fn site() {
    replay("site");
}

#[test]
fn profile() {
    replay("profile");
}

#[test]
fn escape() {
    replay("escape");
}

#[test]
fn manifest() {
    replay("manifest");
}

#[test]
fn textpos() {
    replay("textpos");
}

/// Each directory is a fuzz target the tests above replay, and each target has its directory.
#[test]
fn every_target_is_replayed() {
    let mut dirs: Vec<String> = std::fs::read_dir(root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut targets: Vec<String> = props::TARGETS.iter().map(|t| t.to_string()).collect();
    targets.sort();
    assert_eq!(dirs, targets, "directories of tests/fuzz_regressions/");
    let fuzz_targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    for t in props::TARGETS {
        assert!(
            fuzz_targets.join(format!("{t}.rs")).is_file(),
            "fuzz/fuzz_targets/{t}.rs"
        );
    }
}
