//! Profile + site → a resolved plan: for every control, the scripts that will run (rendered with the site's
//! values, escaped for their language), or the reason none will (a missing site key, not applicable,
//! manual). Nothing here touches the device.

pub mod render;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::inputs::profile::{Control, Kind, Profile, Sources};
use crate::inputs::site::{parse_source, Site};
use crate::plan::render::{Compile, Renderer};
use crate::support::hashing::hex;

/// A control, ready to run: the profile's control and what the plan allows for it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub control: Control,
    pub scripts: Scripts,
}

/// What the plan allows for a control, in the order the engine decides it: a control that does not
/// apply, one only a person can do, missing site keys, a template that did not render, no check
/// script, or scripts ready to run. Built in one place, [`Scripts::plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripts {
    /// The profile says the control does not apply; its reason.
    NotApplicable(String),
    /// The profile says only a person can do it; its reason.
    Manual(String),
    /// Site keys it needs that the site does not set (none of its templates is rendered).
    MissingKeys(Vec<String>),
    /// Why its scripts could not be rendered (a failure leaves none of them).
    RenderFailed(String),
    /// Implemented, but the profile names no check script (profile loading refuses this; a
    /// hand-built [`Control`] can still say it).
    NoCheck,
    /// Rendered with the site's values.
    Ready {
        check: String,
        /// None: the control is check only, or the plan is for checking ([`Purpose::Check`], which
        /// renders no apply: whether the profile has one is `control.apply`).
        apply: Option<String>,
        /// The control's extra files: (template name, text); none in a plan for checking.
        files: Vec<(String, String)>,
    },
}

/// What a run does with its plan, and so which templates it compiles and renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Only the checks run (`check`, and the commands that run no script): the checks and the
    /// batch are compiled and rendered; apply scripts and extra files are not (compiling them was
    /// most of a check's own CPU, issue 18).
    Check,
    /// The changes too (`apply`), or every script shown (`plan`, `render`).
    Everything,
}

impl Purpose {
    /// The templates of control `c` this purpose renders, in the order they are rendered.
    fn templates_of(self, c: &Control) -> impl Iterator<Item = &str> {
        let everything = self == Purpose::Everything;
        c.check
            .iter()
            .chain(c.apply.iter().filter(move |_| everything))
            .chain(c.files.iter().filter(move |_| everything))
            .map(String::as_str)
    }
}

/// Allow entries whose `review_by` is before `today` (`YYYY-MM-DD`, the run's clock, as waivers use it):
/// each makes `firewall.inbound` fail on every OS, decided here rather than in three script languages
/// (Cyber Essentials F4, inbound rules reviewed). On the day itself the review is not yet late.
pub fn overdue_firewall_reviews(site: &Site, today: &str) -> Vec<String> {
    site.file
        .firewall
        .allow
        .iter()
        .filter_map(|e| {
            let due = e.review_date()?;
            (due.as_str() < today).then(|| {
                let by = e.approved_by.as_deref().map_or_else(
                    || "no approved_by".to_string(),
                    |b| format!("approved by {b}"),
                );
                format!(
                    "{}: review was due {due} ({by}); review the rule and move its review_by",
                    e.describe()
                )
            })
        })
        .collect()
}

/// Each allow entry's approval as the record shows it in `firewall.inbound`'s observed: the entry,
/// `approved_by` and `review_by`, for the entries that carry either.
pub fn firewall_approvals(site: &Site) -> Vec<Value> {
    site.file
        .firewall
        .allow
        .iter()
        .filter(|e| e.approved_by.is_some() || e.review_by.is_some())
        .map(|e| json!({"entry": e.describe(), "approved_by": e.approved_by, "review_by": e.review_date()}))
        .collect()
}

impl Scripts {
    /// The rendered check, when ready.
    pub fn check(&self) -> Option<&str> {
        match self {
            Scripts::Ready { check, .. } => Some(check),
            _ => None,
        }
    }

    /// The rendered apply, when ready and the profile has one.
    pub fn apply(&self) -> Option<&str> {
        match self {
            Scripts::Ready { apply, .. } => apply.as_deref(),
            _ => None,
        }
    }

    /// The rendered extra files, when ready.
    pub fn files(&self) -> &[(String, String)] {
        match self {
            Scripts::Ready { files, .. } => files,
            _ => &[],
        }
    }

    /// Why the templates did not render, if they did not.
    pub fn render_error(&self) -> Option<&str> {
        match self {
            Scripts::RenderFailed(e) => Some(e),
            _ => None,
        }
    }

    /// The one place a control's state is decided: its kind, then the site keys it lacks, then the
    /// templates `purpose` needs rendered with `ctx` (built only when they are to be rendered).
    fn plan(
        c: &Control,
        purpose: Purpose,
        missing: Vec<String>,
        renderer: &Renderer,
        ctx: impl FnOnce() -> Value,
    ) -> Scripts {
        let reason = || c.reason.clone().unwrap_or_default();
        match c.kind {
            Kind::NotApplicable => return Scripts::NotApplicable(reason()),
            Kind::Manual => return Scripts::Manual(reason()),
            Kind::Implemented => {}
        }
        if !missing.is_empty() {
            return Scripts::MissingKeys(missing);
        }
        let Some(check) = &c.check else {
            return Scripts::NoCheck;
        };
        match render_scripts(renderer, ctx(), c, check, purpose) {
            Ok(ready) => ready,
            Err(e) => Scripts::RenderFailed(format!("{e:#}")),
        }
    }
}

/// Everything a run needs that does not depend on the device's state.
pub struct Resolved {
    /// The templates, for what is rendered at run time (the batch of checks).
    pub renderer: Renderer,
    /// Which scripts were rendered: a plan for checking has no apply scripts or files.
    pub purpose: Purpose,
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

impl Resolved {
    /// The plan of every script: checks, applies and extra files (`apply`, `plan`, `render`).
    pub fn new(sources: &Sources, profile: Profile, site: Site) -> Result<Resolved> {
        Resolved::for_purpose(sources, profile, site, Purpose::Everything)
    }

    /// The plan with only the scripts `purpose` runs compiled and rendered.
    pub fn for_purpose(
        sources: &Sources,
        profile: Profile,
        site: Site,
        purpose: Purpose,
    ) -> Result<Resolved> {
        Resolved::compiled(sources, profile, site, purpose, Compile::Shrunk)
    }

    /// [`Resolved::for_purpose`], its templates compiled as `compile` says.
    fn compiled(
        sources: &Sources,
        profile: Profile,
        site: Site,
        purpose: Purpose,
        compile: Compile,
    ) -> Result<Resolved> {
        let names = templates_of(&profile, purpose);
        let renderer = Renderer::compiled(sources, names, compile)?;
        let profile = crate::inputs::frameworks::attach(sources, profile)?;
        let lifecycle = crate::inputs::lifecycle::load(sources)?;
        let digest = digest(sources, &profile, &lifecycle);
        let firewall = firewall_context(&profile, &site);
        let controls = profile
            .controls
            .iter()
            .map(|c| Planned {
                control: c.clone(),
                scripts: Scripts::plan(c, purpose, missing_site_keys(c, &site), &renderer, || {
                    let mut ctx = serde_json::Map::new();
                    ctx.insert("site".into(), site.context.clone());
                    ctx.insert("vars".into(), profile.vars.clone());
                    ctx.insert("params".into(), c.params.clone());
                    ctx.insert("control".into(), json!({"id": c.id}));
                    // The table is most of the context, and handlebars copies the context into every
                    // partial: only the templates that name it get it (os.supported's).
                    if purpose
                        .templates_of(c)
                        .any(|t| renderer.mentions(t, "lifecycle"))
                    {
                        ctx.insert("lifecycle".into(), lifecycle.clone());
                    }
                    ctx.insert("firewall".into(), firewall.clone());
                    Value::Object(ctx)
                }),
            })
            .collect();
        Ok(Resolved {
            renderer,
            purpose,
            profile,
            site,
            digest,
            controls,
        })
    }
}

/// The templates a run of `profile` for `purpose` can render: its controls' scripts and files that
/// `purpose` needs, and the templates its `vars` name (the batch that wraps the checks). Compiled
/// before anything runs; the rest of `templates/` (other systems', and for a check the applies) is
/// not compiled at all.
fn templates_of(profile: &Profile, purpose: Purpose) -> Vec<String> {
    let mut names: Vec<String> = profile
        .controls
        .iter()
        .flat_map(|c| purpose.templates_of(c))
        .map(str::to_string)
        .collect();
    if let Some(vars) = profile.vars.as_object() {
        names.extend(
            vars.values()
                .filter_map(Value::as_str)
                .filter(|v| render::Lang::of(v).is_some())
                .map(str::to_string),
        );
    }
    names
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
    hash_digest(profile, lifecycle, &templates_in_digest(sources, profile))
}

/// The templates a profile can use, by name, with their text: its controls' templates, and the
/// partials in their directories or included by name from there.
fn templates_in_digest(sources: &Sources, profile: &Profile) -> BTreeMap<String, String> {
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
    let included = included_by_name(&texts_in_dirs);
    for name in names {
        let used = profile.controls.iter().any(|c| {
            c.check.as_deref() == Some(name.as_str())
                || c.apply.as_deref() == Some(name.as_str())
                || c.files.contains(&name)
        });
        let is_partial = name.rsplit('/').next().is_some_and(|f| f.starts_with('_'));
        // Partials count where the profile's templates can include them: in the same directories,
        // and wherever one of those includes them by name (`{{> sh/_json.sh}}`).
        // A name with `}` in it can end where the set's entries do not: looked for as it is.
        let named = || match name.contains('}') {
            false => included.contains(name.as_str()),
            true => texts_in_dirs
                .iter()
                .any(|t| t.contains(&format!("{{{{> {name}}}}}"))),
        };
        let partial = is_partial && (dirs.contains(&dir_of(&name)) || named());
        if used || partial {
            let text = sources.template(&name).unwrap_or_default();
            templates_used.insert(name, text);
        }
    }
    templates_used
}

/// Every NAME that `texts` write as `{{> NAME}}` where NAME has no `}` (what ends at the first `}}`).
fn included_by_name(texts: &[String]) -> HashSet<&str> {
    texts
        .iter()
        .flat_map(|t| t.match_indices("{{> ").map(move |(i, _)| &t[i + 4..]))
        .filter_map(|rest| rest.find("}}").map(|end| &rest[..end]))
        .collect()
}

/// The sha256 of the JSON of {"profile", "lifecycle", "templates"}, written straight into the hash:
/// no copy of the profile and the texts as a JSON value, and no string of it (the same bytes).
fn hash_digest(
    profile: &Profile,
    lifecycle: &Value,
    templates: &BTreeMap<String, String>,
) -> String {
    #[derive(Serialize)]
    struct DigestInput<'a> {
        profile: &'a Profile,
        lifecycle: &'a Value,
        templates: &'a BTreeMap<String, String>,
    }
    let mut hash = Sha256::new();
    let input = DigestInput {
        profile,
        lifecycle,
        templates,
    };
    serde_json::to_writer(&mut hash, &input).expect("a hash takes every byte written to it");
    format!("sha256:{}", hex(&hash.finalize()))
}

/// Site keys a control needs that the site does not set (whatever its kind: `apply` refuses to start
/// while a selected control lacks one, SPEC §3).
pub fn missing_site_keys(control: &Control, site: &Site) -> Vec<String> {
    control
        .needs
        .iter()
        .filter(|k| site.get(k).is_none())
        .cloned()
        .collect()
}

/// Render a control's check, and for [`Purpose::Everything`] its apply and files, with its context;
/// a failure leaves none of them.
fn render_scripts(
    renderer: &Renderer,
    ctx: Value,
    c: &Control,
    check: &str,
    purpose: Purpose,
) -> Result<Scripts> {
    let ctx = handlebars::Context::from(ctx);
    let check = renderer.render_in(check, &ctx)?;
    if purpose == Purpose::Check {
        return Ok(Scripts::Ready {
            check,
            apply: None,
            files: vec![],
        });
    }
    // Fields are evaluated in order: a failing check is the one named, then the apply, then a file.
    Ok(Scripts::Ready {
        check,
        apply: c
            .apply
            .as_ref()
            .map(|t| renderer.render_in(t, &ctx))
            .transpose()?,
        files: c
            .files
            .iter()
            .map(|f| Ok((f.clone(), renderer.render_in(f, &ctx)?)))
            .collect::<Result<_>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::profile::CONTROLS;
    use std::path::Path;

    /// A profile whose first four controls are: ready (check, apply, a file), implemented but short of
    /// a site key, implemented with a template that does not render, manual though it names a key.
    fn resolved() -> (tempfile::TempDir, Resolved) {
        let dir = tempfile::tempdir().unwrap();
        let (p, t) = (dir.path().join("profiles"), dir.path().join("templates"));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("c.sh"), "check {{control.id}}\n").unwrap();
        std::fs::write(t.join("a.sh"), "apply\n").unwrap();
        std::fs::write(t.join("f.xml"), "<f/>\n").unwrap();
        std::fs::write(t.join("bad.sh"), "{{site.nothing.here}}\n").unwrap();
        let mut text = String::from("[profile]\nname = \"t\"\n[match]\nfamily = \"linux\"\n");
        let tables = [
            "check = \"c.sh\"\napply = \"a.sh\"\nfiles = [\"f.xml\"]\n",
            "check = \"c.sh\"\napply = \"a.sh\"\nneeds = [\"vpn.gateway\"]\n",
            "check = \"c.sh\"\napply = \"bad.sh\"\n",
            "status = \"manual\"\nreason = \"by hand\"\nneeds = [\"vpn.gateway\"]\n",
        ];
        for (i, c) in CONTROLS.iter().enumerate() {
            let table = tables
                .get(i)
                .copied()
                .unwrap_or("status = \"not-applicable\"\nreason = \"n/a\"\n");
            text.push_str(&format!("[controls.\"{}\"]\n{table}", c.id));
        }
        std::fs::write(p.join("t.toml"), text).unwrap();
        let sources = Sources {
            profiles_dir: Some(p),
            templates_dir: Some(t),
        };
        let profile = sources.load("t").unwrap();
        let ids = crate::inputs::profile::control_ids();
        let site = Site::parse(Path::new("/t/site.toml"), "", &ids).unwrap();
        let r = Resolved::new(&sources, profile, site).unwrap();
        (dir, r)
    }

    #[test]
    fn each_control_is_planned_into_one_state() {
        let (_d, r) = resolved();
        let s = |i: usize| &r.controls[i].scripts;
        assert_eq!(
            s(0),
            &Scripts::Ready {
                check: format!("check '{}'\n", CONTROLS[0].id),
                apply: Some("apply\n".into()),
                files: vec![("f.xml".into(), "<f/>\n".into())],
            }
        );
        assert_eq!(s(1), &Scripts::MissingKeys(vec!["vpn.gateway".into()]));
        assert!(
            matches!(s(2), Scripts::RenderFailed(e) if e.contains("bad.sh")),
            "{:?}",
            s(2)
        );
        assert_eq!(s(2).check(), None);
        assert_eq!(s(3), &Scripts::Manual("by hand".into()));
        assert_eq!(s(4), &Scripts::NotApplicable("n/a".into()));
        // The keys a control lacks are named whatever its kind (apply refuses on them, SPEC §3).
        assert_eq!(
            missing_site_keys(&r.controls[3].control, &r.site),
            ["vpn.gateway"]
        );
        assert_eq!(s(0).apply(), Some("apply\n"));
        assert!(s(1).files().is_empty() && s(1).apply().is_none());
    }

    /// A plan for checking compiles and renders no apply script or file: here they do not even
    /// compile, and the plan of everything refuses them. A check that fails to render still says so.
    #[test]
    fn a_plan_for_checking_compiles_no_apply_and_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let (p, t) = (dir.path().join("profiles"), dir.path().join("templates"));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("c.sh"), "check {{control.id}}\n").unwrap();
        std::fs::write(t.join("a.sh"), "{{#if}}\n").unwrap();
        std::fs::write(t.join("f.xml"), "{{/each}}\n").unwrap();
        std::fs::write(t.join("bad.sh"), "{{site.nothing.here}}\n").unwrap();
        let mut text = String::from("[profile]\nname = \"t\"\n[match]\nfamily = \"linux\"\n");
        let tables = [
            "check = \"c.sh\"\napply = \"a.sh\"\nfiles = [\"f.xml\"]\n",
            "check = \"bad.sh\"\n",
        ];
        for (i, c) in CONTROLS.iter().enumerate() {
            let table = tables
                .get(i)
                .copied()
                .unwrap_or("status = \"not-applicable\"\nreason = \"n/a\"\n");
            text.push_str(&format!("[controls.\"{}\"]\n{table}", c.id));
        }
        std::fs::write(p.join("t.toml"), text).unwrap();
        let sources = Sources {
            profiles_dir: Some(p),
            templates_dir: Some(t),
        };
        let ids = crate::inputs::profile::control_ids();
        let site = || Site::parse(Path::new("/t/site.toml"), "", &ids).unwrap();
        let profile = || sources.load("t").unwrap();
        let e = Resolved::new(&sources, profile(), site()).err().unwrap();
        assert!(format!("{e:#}").contains("a.sh"), "{e:#}");
        let r = Resolved::for_purpose(&sources, profile(), site(), Purpose::Check).unwrap();
        assert_eq!(r.purpose, Purpose::Check);
        assert_eq!(
            r.controls[0].scripts,
            Scripts::Ready {
                check: format!("check '{}'\n", CONTROLS[0].id),
                apply: None,
                files: vec![],
            }
        );
        // Whether the control has an apply is the profile's to say.
        assert!(r.controls[0].control.apply.is_some());
        assert!(
            matches!(&r.controls[1].scripts, Scripts::RenderFailed(e) if e.contains("bad.sh")),
            "{:?}",
            r.controls[1].scripts
        );
    }

    /// A site that sets every key a shipped profile needs, so that every template is rendered.
    const FULL_SITE: &str = r#"
[organisation]
name = "Example University"
service_desk = "servicedesk@example.ac.uk"
[accounts]
allowed = ["svc-backup"]
admin_name = "it-admin"
guest_name = "visitor"
[firewall]
allow = [ { port = 22, proto = "tcp", from = "10.0.0.0/8" },
          { port = 8080, proto = "tcp", from = "10.1.2.0/24", cleartext_ok = "lab instrument UI" } ]
[vpn]
name = "Uni VPN"
gateway = "vpn.example.ac.uk"
port = 443
trusted_cert = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
[lansweeper]
server = "lansweeper.example.ac.uk"
port = 9524
agent_key = "RELAY-KEY-s3cr3t-0001"
"#;

    /// Every shipped profile, planned with [`FULL_SITE`] for `purpose`, its templates compiled as
    /// `compile` says; with the batch of its checks rendered, when it has one.
    fn shipped(purpose: Purpose, compile: Compile) -> Vec<(Resolved, Option<String>)> {
        let sources = Sources::default();
        let mut site = FULL_SITE.to_string();
        for a in [
            "lsagent-linux",
            "lsagent-macos",
            "lsagent-windows",
            "office-pkg",
            "office-odt",
            "teams-pkg",
            "teams-bootstrapper",
            "teams-msix",
            "forticlient-pkg",
            "forticlient-vpn-msi",
        ] {
            site.push_str(&format!(
                "[artifacts.{a}]\nurl = \"https://example.ac.uk/{a}\"\nsha256 = \"{}\"\n",
                "0".repeat(64)
            ));
        }
        let ids = crate::inputs::profile::control_ids();
        let profiles = sources.listing().unwrap();
        assert!(profiles.len() > 10, "{} profiles", profiles.len());
        profiles
            .into_iter()
            .map(|(profile, _)| {
                let site = Site::parse(Path::new("/t/site.toml"), &site, &ids).unwrap();
                let r = Resolved::compiled(&sources, profile, site, purpose, compile).unwrap();
                let batch = r
                    .profile
                    .vars
                    .get("batch")
                    .and_then(Value::as_str)
                    .map(|t| {
                        let checks: Vec<&Planned> = r
                            .controls
                            .iter()
                            .filter(|p| p.scripts.check().is_some())
                            .collect();
                        crate::engine::render_batch(&r, t, &checks).unwrap()
                    });
                (r, batch)
            })
            .collect()
    }

    /// The shrunk compile (render::shrink) renders every template of every profile, and every batch,
    /// byte for byte as handlebars' own compile of the text does; and every template is rendered.
    #[test]
    fn every_shipped_script_renders_the_same_shrunk_or_plain() {
        let plain = shipped(Purpose::Everything, Compile::Plain);
        let shrunk = shipped(Purpose::Everything, Compile::Shrunk);
        for ((p, p_batch), (s, s_batch)) in plain.iter().zip(&shrunk) {
            let name = &p.profile.name;
            for (a, b) in p.controls.iter().zip(&s.controls) {
                let c = &a.control;
                if c.kind == Kind::Implemented {
                    let Scripts::Ready { apply, files, .. } = &a.scripts else {
                        panic!("{name}: {} not rendered: {:?}", c.id, a.scripts);
                    };
                    assert_eq!(apply.is_some(), c.apply.is_some(), "{name}: {}", c.id);
                    assert_eq!(files.len(), c.files.len(), "{name}: {}", c.id);
                }
                assert_eq!(a.scripts, b.scripts, "{name}: {}", c.id);
            }
            assert_eq!(p_batch, s_batch, "{name}: batch");
        }
    }

    /// `check` reads from a plan for checking exactly what it read from the plan of everything: each
    /// control's state and check, and the batch that runs them; only the applies and files are gone.
    #[test]
    fn a_plan_for_checking_checks_every_shipped_profile_as_before() {
        let all = shipped(Purpose::Everything, Compile::Shrunk);
        let checking = shipped(Purpose::Check, Compile::Shrunk);
        for ((a, a_batch), (c, c_batch)) in all.iter().zip(&checking) {
            let name = &a.profile.name;
            assert_eq!(a.digest, c.digest, "{name}");
            for (pa, pc) in a.controls.iter().zip(&c.controls) {
                let id = &pa.control.id;
                // Every template is rendered: the site sets every key a profile needs.
                if pa.control.kind == Kind::Implemented {
                    assert!(matches!(pa.scripts, Scripts::Ready { .. }), "{name}: {id}");
                }
                match (&pa.scripts, &pc.scripts) {
                    (
                        Scripts::Ready { check, .. },
                        Scripts::Ready {
                            check: only,
                            apply,
                            files,
                        },
                    ) => {
                        assert_eq!(check, only, "{name}: {id}");
                        assert!(apply.is_none() && files.is_empty(), "{name}: {id}");
                    }
                    (x, y) => assert_eq!(x, y, "{name}: {id}"),
                }
            }
            assert_eq!(a_batch, c_batch, "{name}: batch");
        }
    }

    /// The digest is the sha256 of the JSON text it always hashed, though that text is no longer made.
    #[test]
    fn the_digest_hashes_the_json_text_of_the_profile_lifecycle_and_templates() {
        let sources = Sources::default();
        let lifecycle = crate::inputs::lifecycle::load(&sources).unwrap();
        for (r, _) in shipped(Purpose::Check, Compile::Shrunk) {
            let templates = templates_in_digest(&sources, &r.profile);
            assert!(templates.len() > 10, "{}", r.profile.name);
            let text =
                json!({"profile": r.profile, "lifecycle": lifecycle, "templates": templates});
            let hashed = crate::support::hashing::sha256_bytes(text.to_string().as_bytes());
            assert_eq!(r.digest, format!("sha256:{hashed}"), "{}", r.profile.name);
        }
    }

    /// A template counts as included by name exactly when some text contains `{{> NAME}}`.
    #[test]
    fn a_partial_is_included_by_name_where_a_text_writes_it_so() {
        let sources = Sources::default();
        let mut texts: Vec<String> = sources
            .template_names()
            .iter()
            .filter_map(|n| sources.template(n))
            .collect();
        texts.push("{{> a}} {{> {{> b}} {{>c}} {{> d x=1}} {{> e}".into());
        let included = included_by_name(&texts);
        let mut names = sources.template_names();
        names.extend(["a", "b", "c", "d", "e", "{{> b"].map(String::from));
        for name in &names {
            let contained = texts
                .iter()
                .any(|t| t.contains(&format!("{{{{> {name}}}}}")));
            assert_eq!(included.contains(name.as_str()), contained, "{name}");
        }
        assert!(included.contains("sh/_json.sh"));
    }

    #[test]
    fn a_firewall_rule_past_its_review_is_named_with_its_approver() {
        let site = Site::parse(
            Path::new("/t/site.toml"),
            "[firewall]\nallow = [\n  { port = 443, proto = \"tcp\", from = \"10.0.0.0/8\", approved_by = \"Head of IT\", review_by = 2026-10-01 },\n  { port = 22, proto = \"tcp\", from = \"10.1.0.0/16\", review_by = \"2026-11-25\" },\n  { port = 8443, proto = \"tcp\", from = \"10.2.0.0/16\", review_by = 2027-01-01 },\n  { port = 80, proto = \"tcp\", from = \"10.3.0.0/16\" },\n]\n",
            &crate::inputs::profile::control_ids(),
        )
        .unwrap();
        // Past: named, with who approved it and what to do; today and the future are not late; no
        // review_by is never late.
        assert_eq!(
            overdue_firewall_reviews(&site, "2026-11-25"),
            ["443/tcp from 10.0.0.0/8: review was due 2026-10-01 (approved by Head of IT); review the rule and move its review_by"]
        );
        let later = overdue_firewall_reviews(&site, "2026-11-26");
        assert_eq!(later.len(), 2);
        assert!(
            later[1]
                .starts_with("22/tcp from 10.1.0.0/16: review was due 2026-11-25 (no approved_by)"),
            "{later:?}"
        );
        assert!(overdue_firewall_reviews(&site, "2026-10-01").is_empty());
        assert_eq!(
            firewall_approvals(&site),
            [
                json!({"entry": "443/tcp from 10.0.0.0/8", "approved_by": "Head of IT", "review_by": "2026-10-01"}),
                json!({"entry": "22/tcp from 10.1.0.0/16", "approved_by": null, "review_by": "2026-11-25"}),
                json!({"entry": "8443/tcp from 10.2.0.0/16", "approved_by": null, "review_by": "2027-01-01"}),
            ]
        );
    }
}
