//! Directory artifact manifests (`parse_manifest`) and their paths (`check_relpath`): nothing leaves the directory.
//! The properties are in tests/fuzz_regressions/props.rs, shared with the replay test.
#![no_main]

#[path = "../../tests/fuzz_regressions/props.rs"]
#[allow(dead_code)]
mod props;

static FIXTURE: std::sync::LazyLock<props::Fixture> = std::sync::LazyLock::new(props::Fixture::new);

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::check("manifest", &FIXTURE, data));
