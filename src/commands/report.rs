//! `handover report merge`: the fleet summary of many devices' reports, as CSV or HTML.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::args::MergeFormat;
use crate::commands::write_out;
use crate::support::error::Exit;

pub(crate) fn merge(files: &[PathBuf], format: MergeFormat, out: Option<&Path>) -> Result<Exit> {
    let rows = crate::evidence::merge::load(&crate::evidence::merge::expand(files)?)?;
    let text = match format {
        MergeFormat::Csv => crate::evidence::merge::csv(&rows),
        MergeFormat::Html => crate::evidence::merge::html(&rows, crate::support::clock::now()?),
    };
    write_out(out, &text)?;
    Ok(Exit::Ok)
}
