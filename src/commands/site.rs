//! `handover site init | validate | schema`: a site file to start from, the validation `check` and
//! `apply` run on it, and its JSON Schema for editors, generated from the types that parse it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cli::args::SiteAction;
use crate::cli::invocation::{load_site, sources};
use crate::host::LocalHost;
use crate::inputs::profile::{Kind, Profile, Sources};
use crate::inputs::site::{SiteFile, PLACEHOLDER};
use crate::inputs::textpos::line_of;
use crate::plan::{Purpose, Resolved, Scripts};
use crate::support::error::{Exit, InputError};
use crate::support::fsutil::{write_atomic, Perm};

/// The schema file `site init` writes beside the site, which its `#:schema` line names.
pub(crate) const SCHEMA_FILE: &str = "site.schema.json";

pub(crate) fn site_command(
    action: SiteAction,
    profiles_dir: Option<PathBuf>,
    templates_dir: Option<PathBuf>,
) -> Result<Exit> {
    match action {
        SiteAction::Schema => {
            println!("{}", schema_text());
            Ok(Exit::Ok)
        }
        SiteAction::Init {
            profile,
            out,
            force,
        } => {
            let sources = sources(profiles_dir, templates_dir)?;
            let profile = pick_profile(&sources, profile.as_deref())?;
            let out = out.unwrap_or_else(crate::support::dirs::site_file);
            init(&profile, &out, force)?;
            eprintln!(
                "wrote {} for profile {} (mode 600) and {} beside it; fill in every `{PLACEHOLDER}: …>` value, then run `handover site validate {} --profile {}`",
                out.display(),
                profile.name,
                SCHEMA_FILE,
                out.display(),
                profile.name
            );
            Ok(Exit::Ok)
        }
        SiteAction::Validate { file, profile } => {
            let path = file.unwrap_or_else(crate::support::dirs::site_file);
            // Required: validating a site that is not there is an error, not an empty site.
            let site = load_site(Some(&path))?;
            let mut what = String::from("keys, types, waivers and artifact pins");
            if let Some(name) = profile {
                let sources = sources(profiles_dir, templates_dir)?;
                let profile = sources.load(&name)?;
                // The keys are found before any template renders: no apply need be compiled.
                let resolved = Resolved::for_purpose(&sources, profile, site, Purpose::Check)?;
                needed_keys(&resolved, &path)?;
                what = format!("{what}; every key profile {name} needs is set");
            }
            println!("{}: valid ({what})", path.display());
            Ok(Exit::Ok)
        }
    }
}

/// The profile named, or the one matching this device's OS.
fn pick_profile(sources: &Sources, name: Option<&str>) -> Result<Profile> {
    match name {
        Some(n) => Ok(sources.load(n)?),
        None => {
            let device = crate::host::Host::facts(&LocalHost);
            let (p, _) = sources.select(&device.os).ok_or_else(|| {
                InputError::Refused(format!(
                    "no profile matches this device ({} {}); choose one with --profile (see `handover profiles list`)",
                    device.os.id, device.os.version
                ))
            })?;
            Ok(p)
        }
    }
}

/// The keys the profile's controls need that the site lacks, exactly as `plan` finds them: an error
/// naming the file, the line of the nearest section and the first key, with every control that needs one.
fn needed_keys(resolved: &Resolved, path: &Path) -> Result<()> {
    let mut missing: Vec<(String, String)> = Vec::new();
    for p in &resolved.controls {
        if let Scripts::MissingKeys(keys) = &p.scripts {
            missing.extend(keys.iter().map(|k| (k.clone(), p.control.id.clone())));
        }
    }
    let Some((first, _)) = missing.first() else {
        return Ok(());
    };
    let src = std::fs::read_to_string(path).unwrap_or_default();
    let parts: Vec<&str> = first.split('.').collect();
    let list: Vec<String> = missing
        .iter()
        .map(|(k, c)| format!("`{k}` ({c})"))
        .collect();
    Err(InputError::Value {
        file: path.to_path_buf(),
        line: line_of(&src, &parts),
        key: first.clone(),
        message: format!(
            "not set, and profile {}'s controls need it; not set: {}",
            resolved.profile.name,
            list.join(", ")
        ),
    }
    .into())
}

/// The site file's JSON Schema (draft 2020-12), from the serde types that parse it.
pub(crate) fn schema() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(SiteFile)).expect("a schema is JSON");
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "title".into(),
            Value::from("handover site file (site.toml, SPEC §4)"),
        );
    }
    v
}

fn schema_text() -> String {
    serde_json::to_string_pretty(&schema()).expect("a schema is JSON")
}

/// Write the commented site file for `profile` to `out` (mode 600, never over an existing file without
/// `force`), and the schema its `#:schema` line names beside it.
fn init(profile: &Profile, out: &Path, force: bool) -> Result<()> {
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(InputError::refused(format!(
            "{} already exists; it was left as it is (--force replaces it)",
            out.display()
        )));
    }
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        // A new directory (/etc/handover, %ProgramData%\handover) is made private, as handover makes its
        // state directory (perms::ensure_private_dir).
        crate::support::perms::ensure_private_dir(&dir)?;
    }
    let text = init_text(profile);
    write_atomic(out, text.as_bytes(), Perm::Mode(0o600))
        .with_context(|| format!("writing {}", out.display()))?;
    write_atomic(
        &dir.join(SCHEMA_FILE),
        format!("{}\n", schema_text()).as_bytes(),
        Perm::Mode(0o644),
    )
    .with_context(|| format!("writing {}", dir.join(SCHEMA_FILE).display()))?;
    Ok(())
}

/// One key `site init` writes: its section, name, an example value (TOML) and the OS families it
/// concerns (empty: all).
struct Key {
    section: &'static str,
    name: &'static str,
    example: &'static str,
    families: &'static [&'static str],
}

const fn key(
    section: &'static str,
    name: &'static str,
    example: &'static str,
    families: &'static [&'static str],
) -> Key {
    Key {
        section,
        name,
        example,
        families,
    }
}

const WIN: &[&str] = &["windows"];
const MAC: &[&str] = &["macos"];
const WIN_MAC: &[&str] = &["windows", "macos"];

/// Every key of the site's sections, in the order `site init` writes them (a test keeps this list and
/// the schema in step: a new key must be added here).
const KEYS: &[Key] = &[
    key("organisation", "name", r#""Example University""#, &[]),
    key(
        "organisation",
        "service_desk",
        r#""servicedesk@example.ac.uk, +44 20 0000 0000""#,
        &[],
    ),
    key("accounts", "admin_name", r#""uni-adm0""#, WIN),
    key("accounts", "guest_name", r#""uni-gst0""#, WIN),
    key("accounts", "admin_suffix", r#""-admin""#, &[]),
    key("accounts", "password_min_length", "12", &[]),
    key("accounts", "password_min_classes", "3", &[]),
    key("accounts", "allowed", r#"["svc-backup"]"#, &[]),
    key(
        "firewall",
        "allow",
        r#"[ { port = 22, proto = "tcp", from = "10.0.0.0/8", approved_by = "Head of IT", review_by = 2027-06-30 } ]"#,
        &[],
    ),
    key("firewall", "apps", r#"["/Applications/Example.app"]"#, MAC),
    key("endpoint", "product", r#""clamav""#, &[]),
    key("endpoint", "service", r#""example-edr""#, &[]),
    key("endpoint", "artifact", r#""example-edr""#, &[]),
    key("updates", "max_age_days", "14", &[]),
    key("device_management", "service", r#""absolute-agent""#, &[]),
    key("device_management", "artifact", r#""absolute-agent""#, &[]),
    key(
        "device_management",
        "mdm_server",
        r#""mdm.example.ac.uk""#,
        &[],
    ),
    key("device_lock", "idle_minutes", "15", &[]),
    key("office", "edition", r#""64""#, WIN_MAC),
    key("office", "channel", r#""MonthlyEnterprise""#, WIN_MAC),
    key("office", "languages", r#"["en-gb"]"#, WIN_MAC),
    key("office", "exclude_apps", r#"["Groove"]"#, WIN_MAC),
    key("vpn", "name", r#""Uni VPN""#, &[]),
    key("vpn", "gateway", r#""vpn.example.ac.uk""#, &[]),
    key("vpn", "port", "443", &[]),
    key(
        "vpn",
        "trusted_cert",
        r#""<sha256 of the gateway certificate, 64 hex digits>""#,
        &[],
    ),
    key("lansweeper", "server", r#""lansweeper.example.ac.uk""#, &[]),
    key("lansweeper", "port", "9524", &[]),
    key(
        "lansweeper",
        "agent_key",
        r#""<the relay's agent key>""#,
        &[],
    ),
];

/// Keys always written as placeholders: the handover sheet shows them.
const ALWAYS: &[&str] = &["organisation.name", "organisation.service_desk"];

/// The schema's description of `#/$defs/TYPE/properties/FIELD`, or of a top-level property.
fn description(schema: &Value, type_name: Option<&str>, field: &str) -> String {
    let props = match type_name {
        Some(t) => schema.pointer(&format!("/$defs/{t}/properties/{field}/description")),
        None => schema.pointer(&format!("/properties/{field}/description")),
    };
    props.and_then(Value::as_str).unwrap_or("").to_string()
}

/// The type name the schema gives a section (`vpn` → `Vpn`).
fn type_of(section: &str) -> String {
    section
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `# ` before each line of a description, wrapped at about 100 columns.
fn comment(out: &mut String, text: &str, indent: &str) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + word.len() > 96 {
            out.push_str(&format!("{indent}# {line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{indent}# {line}\n"));
    }
}

/// The site keys and artifacts the profile's implemented controls need.
fn needs_of(profile: &Profile) -> BTreeSet<String> {
    profile
        .controls
        .iter()
        .filter(|c| c.kind == Kind::Implemented)
        .flat_map(|c| c.needs.iter().cloned())
        .collect()
}

/// The text of `site init`: a `#:schema` line, then every section with its keys, the needed ones as
/// placeholders, the others commented out with an example.
pub(crate) fn init_text(profile: &Profile) -> String {
    let schema = schema();
    let family = profile.os_match.family.as_str();
    let needs = needs_of(profile);
    let mut out = format!(
        "#:schema ./{SCHEMA_FILE}\n# handover site file for profile {} ({family}), written by `handover site init`.\n\
         # Values \"{PLACEHOLDER}: …>\" are needed by this profile's controls: every command refuses the file\n\
         # until they are filled. Commented keys show an example; absent, they take the default named.\n\
         # Check it with: handover site validate FILE --profile {}\n",
        profile.name, profile.name
    );
    let mut section = "";
    for k in KEYS
        .iter()
        .filter(|k| k.families.is_empty() || k.families.contains(&family))
    {
        let dotted = format!("{}.{}", k.section, k.name);
        let needed = needs.contains(&dotted) || ALWAYS.contains(&dotted.as_str());
        let section_needed = KEYS.iter().any(|o| {
            o.section == k.section && {
                let d = format!("{}.{}", o.section, o.name);
                needs.contains(&d) || ALWAYS.contains(&d.as_str())
            }
        });
        if k.section != section {
            section = k.section;
            out.push('\n');
            comment(&mut out, &description(&schema, None, section), "");
            out.push_str(&format!(
                "{}[{section}]\n",
                if section_needed { "" } else { "# " }
            ));
        }
        let ty = type_of(k.section);
        comment(&mut out, &description(&schema, Some(&ty), k.name), "");
        if k.section == "firewall" && k.name == "allow" {
            for f in [
                "port",
                "proto",
                "from",
                "cleartext_ok",
                "approved_by",
                "review_by",
            ] {
                comment(
                    &mut out,
                    &format!("  {f}: {}", description(&schema, Some("AllowEntry"), f)),
                    "",
                );
            }
        }
        if needed {
            out.push_str(&format!(
                "{} = \"{PLACEHOLDER}: {}>\"\n",
                k.name,
                description(&schema, Some(&ty), k.name)
                    .split(". ")
                    .next()
                    .unwrap_or("")
                    .split(" (")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_end_matches('.')
                    .replace(['"', '\\'], "'")
            ));
        } else {
            out.push_str(&format!("# {} = {}\n", k.name, k.example));
        }
    }
    artifacts_text(&mut out, &schema, &needs);
    waiver_text(&mut out, &schema);
    out
}

/// The installers the profile needs, as commented tables: `artifacts lock --from DIR` writes them, or
/// they are uncommented and filled by hand.
fn artifacts_text(out: &mut String, schema: &Value, needs: &BTreeSet<String>) {
    let names: Vec<&str> = needs
        .iter()
        .filter_map(|k| k.strip_prefix("artifacts."))
        .collect();
    out.push('\n');
    comment(out, &description(schema, None, "artifacts"), "");
    if names.is_empty() {
        out.push_str("# (this profile's controls need none)\n");
    } else {
        comment(out, "This profile's controls need the tables below: download each installer into a directory and run `handover artifacts lock --from DIR`, or uncomment them and fill in url and sha256.", "");
    }
    for name in names {
        out.push_str(&format!("# [artifacts.{name}]\n"));
        comment(
            out,
            &format!("url: {}", description(schema, Some("Artifact"), "url")),
            "",
        );
        out.push_str("# url = \"https://downloads.example.ac.uk/…\"\n");
        comment(
            out,
            &format!(
                "sha256: {}",
                description(schema, Some("Artifact"), "sha256")
            ),
            "",
        );
        out.push_str("# sha256 = \"<64 hex digits>\"\n");
    }
}

/// A commented waiver, every field described.
fn waiver_text(out: &mut String, schema: &Value) {
    out.push('\n');
    comment(out, &description(schema, None, "waiver"), "");
    out.push_str("# [[waiver]]\n");
    for (f, example) in [
        ("control", r#""os.supported""#),
        ("reason", r#""awaiting hardware refresh""#),
        ("approved_by", r#""Faculty Director of Operations""#),
        ("ticket", r#""RITM0012345""#),
        ("expires", "2027-01-31"),
        ("devices", r#"["SERIAL123"]"#),
    ] {
        comment(out, &description(schema, Some("Waiver"), f), "");
        out.push_str(&format!("# {f} = {example}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every property of every section the schema knows is written by `site init` (and nothing the
    /// schema does not know): a key added to the site types without a line here fails.
    #[test]
    fn init_knows_every_key_of_the_schema() {
        let s = schema();
        let props = s["properties"].as_object().unwrap();
        let mut from_schema = BTreeSet::new();
        for (section, v) in props {
            if ["artifacts", "waiver"].contains(&section.as_str()) {
                continue;
            }
            let ty = type_of(section);
            let fields = s
                .pointer(&format!("/$defs/{ty}/properties"))
                .and_then(Value::as_object)
                .unwrap_or_else(|| panic!("{section}: no $defs/{ty} in {v}"));
            for f in fields.keys() {
                from_schema.insert(format!("{section}.{f}"));
            }
        }
        let listed: BTreeSet<String> = KEYS
            .iter()
            .map(|k| format!("{}.{}", k.section, k.name))
            .collect();
        assert_eq!(from_schema, listed);
        for k in KEYS {
            assert!(
                !description(&s, Some(&type_of(k.section)), k.name).is_empty(),
                "{}.{} has no description",
                k.section,
                k.name
            );
        }
    }

    /// Every key `site init` writes, set or commented out, comes right after a comment saying what it is.
    #[test]
    fn every_written_key_is_commented() {
        let sources = Sources::default();
        for name in ["debian-12", "windows-11", "macos-26"] {
            let text = init_text(&sources.load(name).unwrap());
            let lines: Vec<&str> = text.lines().collect();
            // `name = …` or `# name = …`, name a plain key (a description's "With product = …" is not).
            let is_key = |l: &str| {
                l.trim_start_matches("# ")
                    .split_once(" = ")
                    .is_some_and(|(k, _)| {
                        !k.is_empty()
                            && k.chars()
                                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                    })
            };
            let mut keys = 0;
            for (i, l) in lines.iter().enumerate() {
                if is_key(l) {
                    keys += 1;
                    let prev = lines[i - 1];
                    assert!(
                        prev.starts_with("# ") && !is_key(prev),
                        "{name}: {l:?} has no comment before it"
                    );
                }
            }
            assert!(keys > 20, "{name}: only {keys} keys");
            assert!(text.contains("Default 12"), "defaults are named");
        }
    }
}
