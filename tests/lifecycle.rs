//! `lifecycle import` from an endoflife.date export, and the imported table in use (read-only).

use crate::support::{s, Handover};

#[test]
fn an_imported_table_is_written_and_then_read_by_plan() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lifecycle.toml");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lifecycle/debian-v0.json"
    );
    let run = Handover::new(&[
        "lifecycle",
        "import",
        fixture,
        "--product",
        "debian",
        "--out",
        s(&out),
    ])
    .run();
    run.expect_code(0);
    let table = std::fs::read_to_string(&out).unwrap();
    assert!(table.contains("version = \"14\""), "{table}");
    assert!(table.contains("endoflife.date import of debian"), "{table}");
    // The rendered os.supported check of the next run carries the imported row.
    let rendered = dir.path().join("rendered");
    Handover::new(&["render", "--profile", "debian-12", "--out", s(&rendered)])
        .env("HANDOVER_LIFECYCLE", s(&out))
        .run()
        .expect_code(0);
    let script = std::fs::read_to_string(rendered.join("os.supported.check.sh"))
        .or_else(|_| {
            std::fs::read_dir(&rendered)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.to_string_lossy().contains("os.supported")
                        && p.to_string_lossy().contains("check")
                })
                .map(std::fs::read_to_string)
                .unwrap()
        })
        .unwrap();
    assert!(
        script.contains("20300814"),
        "the imported Debian 14 date is in the rendered check"
    );
    // Importing the same file again changes nothing.
    let before = std::fs::read(&out).unwrap();
    Handover::new(&[
        "lifecycle",
        "import",
        fixture,
        "--product",
        "debian",
        "--out",
        s(&out),
    ])
    .run()
    .expect_code(0);
    assert_eq!(std::fs::read(&out).unwrap(), before);
    // Bad input names the file and the JSON path.
    let bad = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lifecycle/bad-date-v0.json"
    );
    let run = Handover::new(&[
        "lifecycle",
        "import",
        bad,
        "--product",
        "debian",
        "--out",
        s(&out),
    ])
    .run();
    run.expect_code(2);
    assert!(
        run.stderr().contains("bad-date-v0.json") && run.stderr().contains(".eol"),
        "{}",
        run.stderr()
    );
}
