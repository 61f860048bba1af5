//! `handover lifecycle import`: the support table from an endoflife.date export.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::support::error::Exit;

pub(crate) fn import(file: &Path, product: Option<&str>, out: Option<PathBuf>) -> Result<Exit> {
    let out = out.unwrap_or_else(crate::support::dirs::lifecycle_file);
    let summary = crate::inputs::lifecycle::import(file, product, &out)?;
    println!("{summary}");
    Ok(Exit::Ok)
}
