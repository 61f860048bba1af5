//! One file per command or command group (as uv's `commands/`): each takes the parsed arguments and
//! returns SPEC §3's exit code.

pub(crate) mod artifacts;
pub(crate) mod facts;
pub(crate) mod kit;
pub(crate) mod lifecycle;
pub(crate) mod profiles;
pub(crate) mod record;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod schedule;
pub(crate) mod site;
pub(crate) mod waivers;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Where the kit key's passphrase comes from.
pub(crate) fn passphrase(file: Option<PathBuf>) -> crate::artifacts::kitkey::Passphrase {
    file.map_or(
        crate::artifacts::kitkey::Passphrase::Prompt,
        crate::artifacts::kitkey::Passphrase::File,
    )
}

/// Write to FILE, or stdout.
pub(crate) fn write_out(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
