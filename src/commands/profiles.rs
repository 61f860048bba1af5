//! `handover profiles list | show | validate`.

use crate::cli::invocation::sources;
use std::path::Path;
use std::path::PathBuf;

use anyhow::Result;

use crate::cli::args::*;
use crate::inputs::profile::{self, Sources};
use crate::inputs::site::Site;
use crate::plan::{Purpose, Resolved};
use crate::support::error::{Exit, InputError};

pub(crate) fn profiles(sources: &Sources, action: ProfilesAction) -> Result<Exit> {
    match action {
        ProfilesAction::List => {
            for (p, newest) in sources.listing()? {
                let m = &p.os_match;
                let tested = m
                    .versions
                    .as_ref()
                    .map_or_else(|| "every release".to_string(), |v| v.join(", "));
                let newer = if newest {
                    "; newer releases run it untested (apply needs --allow-untested-release)"
                } else {
                    ""
                };
                println!(
                    "{:<14} {} {}: made for {tested}{newer}: {}",
                    p.name,
                    m.family,
                    m.ids.join("/"),
                    p.description
                );
            }
            Ok(Exit::Ok)
        }
        ProfilesAction::Show { name } => {
            let p = sources.load(&name)?;
            // Only the digest is shown, which reads the templates' text: no apply need be compiled.
            let resolved = Resolved::for_purpose(
                sources,
                p.clone(),
                Site::load(
                    Path::new("/nonexistent/site.toml"),
                    false,
                    &profile::control_ids(),
                )?,
                Purpose::Check,
            )?;
            let doc = serde_json::json!({"digest": resolved.digest, "profile": p});
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(Exit::Ok)
        }
        ProfilesAction::Validate { file } => {
            let p = sources.load_file(&file)?;
            let renderer = crate::plan::render::Renderer::new(sources)?;
            let _ = renderer;
            for c in &p.controls {
                for t in c.check.iter().chain(c.apply.iter()) {
                    if sources.template(t).is_none() {
                        return Err(InputError::refused(format!(
                            "{}: control {}: template {t} not found",
                            file.display(),
                            c.id
                        )));
                    }
                }
            }
            println!(
                "{}: ok (profile {}, {} controls)",
                file.display(),
                p.name,
                p.controls.len()
            );
            Ok(Exit::Ok)
        }
    }
}

/// `handover profiles …` with `--profiles-dir` / `--templates-dir` checked first.
pub(crate) fn profiles_command(
    action: ProfilesAction,
    profiles_dir: Option<PathBuf>,
    templates_dir: Option<PathBuf>,
) -> Result<Exit> {
    let sources = sources(profiles_dir, templates_dir)?;
    profiles(&sources, action)
}
