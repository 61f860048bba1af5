//! `cargo xtask bench`: benchmarks on a realistic device (a full Debian
//! package index, as a real device has), booted with the same
//! [`crate::container::Container`] as the e2e test. Not written yet.

use anyhow::{bail, Result};

pub fn main(_args: &[String]) -> Result<()> {
    bail!("cargo xtask bench is not written yet")
}
