//! Profile + site → a resolved plan: for every control, the scripts that will run (rendered with the site's
//! values, escaped for their language), or the reason none will (a missing site key, not applicable,
//! manual). Nothing here touches the device.

pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde_json::{json, Value};

use crate::inputs::profile::{Control, Kind, Profile, Sources};
use crate::inputs::site::{parse_source, Site};
use crate::plan::render::Renderer;
use crate::support::hashing::sha256_bytes;

/// A control, ready to run.
#[derive(Debug, Clone)]
pub struct Planned {
    pub control: Control,
    /// Site keys the control needs that the site does not set.
    pub missing: Vec<String>,
    pub check: Option<String>,
    pub apply: Option<String>,
    /// The control's extra files, rendered: (template name, text).
    pub files: Vec<(String, String)>,
    /// Why the scripts could not be rendered.
    pub render_error: Option<String>,
}

/// Everything a run needs that does not depend on the device's state.
pub struct Resolved {
    /// The templates, for what is rendered at run time (the batch of checks).
    pub renderer: Renderer,
    pub profile: Profile,
    pub site: Site,
    pub digest: String,
    pub controls: Vec<Planned>,
}

/// Firewall entries the site asks for that the policy refuses (SPEC §2 `firewall.inbound`): open to any
/// source, or a cleartext protocol without `cleartext_ok`.
pub fn refused_firewall_entries(site: &Site, cleartext_ports: &[u64]) -> Vec<String> {
    let mut out = Vec::new();
    for e in &site.file.firewall.allow {
        let any = e.from == "any" || parse_source(&e.from).is_some_and(|(_, len)| len == 0);
        if any {
            out.push(format!(
                "{}/{} is open to any source; scope it to the smallest range of clients",
                e.port,
                e.proto.as_str()
            ));
        } else if cleartext_ports.contains(&u64::from(e.port)) && e.cleartext_ok.is_none() {
            out.push(format!(
                "{}/{} from {} is a cleartext protocol; use an encrypted one or give `cleartext_ok` with a reason",
                e.port,
                e.proto.as_str(),
                e.from
            ));
        }
    }
    out
}

impl Planned {
    /// What the plan allows for this control, in the order the engine decides it: a control that does
    /// not apply, one only a person can do, missing site keys, a template that did not render, no check
    /// script, or scripts ready to run.
    pub fn state(&self) -> PlanState<'_> {
        let reason = || self.control.reason.as_deref().unwrap_or("");
        match self.control.kind {
            Kind::NotApplicable => return PlanState::NotApplicable(reason()),
            Kind::Manual => return PlanState::Manual(reason()),
            Kind::Implemented => {}
        }
        if !self.missing.is_empty() {
            return PlanState::MissingKeys(&self.missing);
        }
        if let Some(e) = &self.render_error {
            return PlanState::RenderFailed(e);
        }
        match &self.check {
            None => PlanState::NoCheck,
            Some(check) => PlanState::Ready {
                check,
                apply: self.apply.as_deref(),
            },
        }
    }
}

/// A [`Planned`] control's state, typed: [`Planned::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanState<'a> {
    /// The profile says the control does not apply; its reason.
    NotApplicable(&'a str),
    /// The profile says only a person can do it; its reason.
    Manual(&'a str),
    /// Site keys it needs that the site does not set.
    MissingKeys(&'a [String]),
    /// Why its scripts could not be rendered.
    RenderFailed(&'a str),
    /// Implemented, but the profile names no check script.
    NoCheck,
    /// The rendered check, and the apply when the profile has one (none: check only).
    Ready {
        check: &'a str,
        apply: Option<&'a str>,
    },
}

impl Resolved {
    pub fn new(sources: &Sources, profile: Profile, site: Site) -> Result<Resolved> {
        let renderer = Renderer::new(sources)?;
        let profile = sources.with_frameworks(profile)?;
        let lifecycle = crate::inputs::lifecycle::load(sources)?;
        let digest = digest(sources, &profile, &lifecycle);
        let firewall = firewall_context(&profile, &site);
        let controls = profile
            .controls
            .iter()
            .map(|c| {
                let mut p = Planned {
                    control: c.clone(),
                    missing: c
                        .needs
                        .iter()
                        .filter(|k| site.get(k).is_none())
                        .cloned()
                        .collect(),
                    check: None,
                    apply: None,
                    files: Vec::new(),
                    render_error: None,
                };
                if c.kind == Kind::Implemented && p.missing.is_empty() {
                    let ctx = json!({
                        "site": site.context,
                        "vars": profile.vars,
                        "params": c.params,
                        "control": {"id": c.id},
                        "lifecycle": lifecycle,
                        "firewall": firewall,
                    });
                    render_scripts(&renderer, &ctx, &mut p);
                }
                p
            })
            .collect();
        Ok(Resolved {
            renderer,
            profile,
            site,
            digest,
            controls,
        })
    }
}

/// The `firewall` of every template's context: the site's entries the scripts may open (refused ones
/// never reach a firewall) and the refused ones, named.
fn firewall_context(profile: &Profile, site: &Site) -> Value {
    let cleartext: Vec<u64> = profile
        .vars
        .get("cleartext_ports")
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_u64).collect());
    let refused = refused_firewall_entries(site, &cleartext);
    let allow: Vec<Value> = site
        .context
        .pointer("/firewall/allow")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|e| {
                    let port = e["port"].as_u64().unwrap_or(0);
                    let from = e["from"].as_str().unwrap_or("");
                    let any = from == "any" || parse_source(from).is_some_and(|(_, l)| l == 0);
                    !any && (e["cleartext_ok"].is_string() || !cleartext.contains(&port))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    json!({"allow": allow, "refused": refused})
}

/// The profile's digest: the profile, the lifecycle table and the text of every template it can use.
fn digest(sources: &Sources, profile: &Profile, lifecycle: &Value) -> String {
    let mut templates_used: BTreeMap<String, String> = BTreeMap::new();
    let dir_of = |t: &str| t.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let names = sources.template_names();
    // The directories of the profile's scripts, and the text of every template in them (the scripts
    // and the partials they can include).
    let dirs: BTreeSet<String> = profile
        .controls
        .iter()
        .flat_map(|c| c.check.iter().chain(c.apply.iter()))
        .map(|t| dir_of(t))
        .collect();
    let texts_in_dirs: Vec<String> = names
        .iter()
        .filter(|n| dirs.contains(&dir_of(n)))
        .filter_map(|n| sources.template(n))
        .collect();
    for name in names {
        let used = profile.controls.iter().any(|c| {
            c.check.as_deref() == Some(name.as_str())
                || c.apply.as_deref() == Some(name.as_str())
                || c.files.contains(&name)
        });
        let is_partial = name.rsplit('/').next().is_some_and(|f| f.starts_with('_'));
        // Partials count where the profile's templates can include them: in the same directories,
        // and wherever one of those includes them by name (`{{> sh/_json.sh}}`).
        let partial = is_partial
            && (dirs.contains(&dir_of(&name))
                || texts_in_dirs
                    .iter()
                    .any(|t| t.contains(&format!("{{{{> {name}}}}}"))));
        if used || partial {
            templates_used.insert(name.clone(), sources.template(&name).unwrap_or_default());
        }
    }
    let digest_input =
        json!({"profile": profile, "lifecycle": lifecycle, "templates": templates_used});
    format!(
        "sha256:{}",
        sha256_bytes(digest_input.to_string().as_bytes())
    )
}

/// Render a control's check, apply and files with its context; a failure leaves none of them.
fn render_scripts(renderer: &Renderer, ctx: &Value, p: &mut Planned) {
    let c = &p.control;
    let render = |t: &Option<String>| -> Result<Option<String>> {
        t.as_ref()
            .map(|name| renderer.render(name, ctx))
            .transpose()
    };
    let files: Result<Vec<(String, String)>> = c
        .files
        .iter()
        .map(|f| Ok((f.clone(), renderer.render(f, ctx)?)))
        .collect();
    match (render(&c.check), render(&c.apply), files) {
        (Ok(check), Ok(apply), Ok(files)) => {
            p.check = check;
            p.apply = apply;
            p.files = files;
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => p.render_error = Some(format!("{e:#}")),
    }
}
