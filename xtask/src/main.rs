//! `cargo xtask <command>`: the project's own tooling.
//!
//! * `e2e`: boots Debian 12 and Debian 13 devices in systemd-nspawn, runs the end-to-end
//!   scenario against each, and upgrades a handed-over Debian 12 device to 13 (see `e2e.rs`);
//! * `bench`: `handover check` and a no-change `apply` against the Ansible check, on a compliant
//!   device with a full package index; writes BENCHMARKS.md (see `bench.rs`);
//! * `windows`: builds handover.exe, runs it under Wine and compares its render with the Linux
//!   binary's (see `windows.rs`);
//! * `dist`: builds the .deb and the .msi into `target/dist/` and checks them (see `dist.rs`);
//! * `fuzz`: runs each cargo-fuzz target of `fuzz/` for a bounded time; a crash is kept in
//!   `tests/fuzz_regressions/` (see `fuzz.rs`).

mod bench;
mod bench_hash;
mod bench_merge;
mod bench_windows;
mod container;
mod dist;
mod e2e;
mod fuzz;
mod image;
mod scenario;
mod scenario_schedule;
mod scenario_untested;
mod scenario_upgrade;
mod upgrade;
mod windows;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  e2e     boot Debian devices (systemd-nspawn, as root) and run the end-to-end
          scenario against the release binary: on Debian 12, on Debian 13 (then
          relabelled as Debian 14), and a Debian 12 device upgraded to 13
            --release 12|13|upgrade  run only that part (repeatable; default: all)
            --rebuild-cache  rebuild the cached base systems and local repositories
            --smoke          only check the container infrastructure (12 and 13)
            --no-build       do not run `cargo build --release -p handover`
            --bin PATH       use this handover binary (implies --no-build)
            --deb FILE       install this .deb (`cargo xtask dist`) with apt in each
                             device, check it (dpkg -L, /etc/handover 0700) and run
                             the scenario with its binary (implies --no-build)
  bench   measure handover check, a no-change apply and the Ansible check on a
          compliant Debian 12 device (systemd-nspawn, as root); writes BENCHMARKS.md
            --runs N          runs of check and apply (default 30, after 3 warm-ups)
            --ansible-runs N  runs of the Ansible check (default 5, after 1 warm-up)
            --no-build        do not run `cargo build --release -p handover`
            --bin PATH        use this handover binary (implies --no-build)
            --windows-only    print only the Windows section (counted from the
                              rendered scripts; not measured: no Windows here)
  windows build handover.exe (x86_64-pc-windows-gnu), run it under Wine and
          compare its render with the Linux binary's (`cargo xtask windows --help`)
  dist    build target/dist/: handover_<v>_amd64.deb (dpkg-deb, checked with lintian),
          handover-<v>-x64.msi (wixl, checked with msiinfo), handover.exe and its
          PowerShell completions (`cargo xtask dist --help`)
            --wine       also install the .msi under Wine and run the installed .exe
            --no-build   use the existing release binaries
  fuzz    run each cargo-fuzz target of fuzz/ for a bounded time (nightly, cargo-fuzz);
          a crash is kept in tests/fuzz_regressions/TARGET/ (`cargo xtask fuzz --help`)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("e2e") => e2e::main(&args[1..]),
        Some("bench") if args[1..] == ["--windows-only"] => bench_windows::main(&workspace_root()),
        Some("bench") => bench::main(&args[1..]),
        Some("windows") => windows::main(&args[1..]),
        Some("fuzz") => fuzz::main(&args[1..]),
        Some("dist") => dist::main(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Not `{e:?}`: with RUST_BACKTRACE set that prints a backtrace
            // nobody needs for a failed container command.
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of xtask/).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Cargo's target directory (CARGO_TARGET_DIR if set, else `<root>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}
