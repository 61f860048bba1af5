//! The dated OS lifecycle table shipped with the profiles (`profiles/lifecycle.toml`). A device at handover
//! may be offline, so `os.supported` reads this table, never the network.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::profile::Sources;
use crate::textpos::parse_toml;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleFile {
    source: String,
    release: Vec<Release>,
}

/// One release's support dates.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub id: String,
    pub version: String,
    pub name: String,
    /// Last day of regular (standard) security support.
    pub regular_end: toml::value::Datetime,
    /// Last day of extended support, if the vendor offers any.
    pub extended_end: Option<toml::value::Datetime>,
    /// What extended support needs: `lts` (nothing: Debian LTS), `ubuntu-pro` (Pro attached),
    /// `subscription` (RHEL subscribed, for all of its life), `esu` (a Windows ESU licence).
    pub extended: Option<String>,
    /// Enrolment needed even during regular support (`subscription` for RHEL).
    pub enrolment: Option<String>,
    /// Windows: the build number of the release (`CurrentBuild`, 26100 for 11 24H2).
    pub build: Option<u32>,
    /// Windows: the editions a row is for: `home-pro` or `enterprise-education` (their support differs).
    pub editions: Option<String>,
}

/// The table, as it goes into the templates: dates as `YYYYMMDD` numbers and `YYYY-MM-DD` strings.
pub fn load(sources: &Sources) -> Result<serde_json::Value, InputError> {
    let Some((path, src)) = sources.lifecycle_text() else {
        return Ok(serde_json::json!({"source": "none", "releases": []}));
    };
    let file: LifecycleFile = parse_toml(Path::new(&path), &src)?;
    let releases: Vec<_> = file
        .release
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "version": r.version, "name": r.name,
                "regular_end": r.regular_end.to_string(),
                "regular_end_num": r.regular_end.to_string().replace('-', ""),
                "extended_end": r.extended_end.map(|d| d.to_string()),
                "extended_end_num": r.extended_end.map(|d| d.to_string().replace('-', "")),
                "extended": r.extended, "enrolment": r.enrolment,
                "build": r.build, "editions": r.editions,
            })
        })
        .collect();
    Ok(serde_json::json!({"source": file.source, "releases": releases}))
}
