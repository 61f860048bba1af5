//! Integration tests: they drive the real binary (as `just` does), read-only on this machine: `plan`,
//! `check`, `render` and `profiles` only. `apply` runs for real in `cargo xtask e2e`, inside a booted
//! Debian 12 container, never here.

// Integration tests drive the real binary and real tools: starting processes is their job (clippy.toml).
#![allow(clippy::disallowed_methods)]
// Test helpers are shared between test modules; the lint is for the library.
#![allow(unreachable_pub)]

mod cli;
mod debversion;
mod evidence;
mod export;
mod fetch;
mod fuzz_regressions;
mod kit;
mod lifecycle;
mod macos;
mod merge;
mod powershell;
mod records;
mod render;
mod security_inputs;
mod security_kit;
mod security_output;
mod shell_lib;
mod site;
mod support;
mod updates_pending;
mod waivers;
mod windows_cost;
