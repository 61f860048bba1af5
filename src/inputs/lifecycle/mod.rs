//! The dated OS lifecycle table shipped with the profiles (`profiles/lifecycle.toml`). A device at handover
//! may be offline, so `os.supported` reads this table, never the network. `handover lifecycle import`
//! refreshes a copy of it ([`crate::support::dirs::lifecycle_file`]) from an endoflife.date export, and
//! `check` warns from [`WARN_DAYS`] days before a device's support ends ([`support_warning`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::inputs::assets::Sources;
use crate::inputs::textpos::parse_toml;
use crate::support::clock;
use crate::support::error::InputError;

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
    /// Windows: the editions a row is for: `home-pro`, `enterprise-education`, `ltsc` or `iot-ltsc` (their
    /// support differs), or `all`.
    pub editions: Option<String>,
    /// The day this row's dates were last read from their source (set by `lifecycle import` too).
    pub read: Option<toml::value::Datetime>,
}

/// The table, as it goes into the templates: dates as `YYYYMMDD` numbers and `YYYY-MM-DD` strings.
pub fn load(sources: &Sources) -> Result<serde_json::Value, InputError> {
    let Some((path, src)) = sources.lifecycle_text()? else {
        return Ok(serde_json::json!({"source": "none", "releases": []}));
    };
    let file: LifecycleFile = parse_toml(Path::new(&path), &src)?;
    // Plain dates only: a date-time would become "20260610T00:00:00", which the check scripts compare
    // as a number (found by fuzzing).
    for (i, r) in file.release.iter().enumerate() {
        for (key, d) in [
            ("regular_end", Some(&r.regular_end)),
            ("extended_end", r.extended_end.as_ref()),
        ] {
            if let Some(d) = d {
                if d.date.is_none() || d.time.is_some() || d.offset.is_some() {
                    let idx = i.to_string();
                    return Err(InputError::Value {
                        file: path.clone().into(),
                        line: crate::inputs::textpos::line_of(&src, &["release", &idx, key]),
                        key: format!("release.{idx}.{key}"),
                        message: format!("{d} must be a date (YYYY-MM-DD), not a date-time"),
                    });
                }
            }
        }
    }
    // One row a release: with two, which one os.supported read would depend on their order.
    for (i, r) in file.release.iter().enumerate() {
        if let Some(first) = file.release[..i]
            .iter()
            .position(|o| o.id == r.id && o.version == r.version)
        {
            let (idx, first_idx) = (i.to_string(), first.to_string());
            return Err(InputError::Value {
                file: path.clone().into(),
                line: crate::inputs::textpos::line_of(&src, &["release", &idx, "version"]),
                key: format!("release.{idx}.version"),
                message: format!(
                    "{} {} is named twice (first at line {}): keep one row a release",
                    r.id,
                    r.version,
                    crate::inputs::textpos::line_of(&src, &["release", &first_idx, "version"])
                ),
            });
        }
    }
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

// ---------------------------------------------------------------------------------------------------------
// Reading an imported table.

/// The text of an imported table at `path` with the path to show in errors, or `None` when there is none
/// (or this user cannot even see it: the root-only directory of a technician's unprivileged `render`).
/// Refused when a non-admin could write it: it decides whether a device passes `os.supported`.
pub fn override_text(path: &Path) -> Result<Option<(String, String)>, InputError> {
    match path.try_exists() {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(None),
        Err(e) => {
            return Err(InputError::Refused(format!(
                "lifecycle table {}: {e}",
                path.display()
            )))
        }
    }
    // Checked and read through one open file, never through a link swapped in between (F12).
    let bytes = crate::support::perms::read_trusted(path, "lifecycle table")
        .map_err(|e| InputError::Refused(format!("{e:#}")))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        InputError::Refused(format!("lifecycle table {}: not UTF-8", path.display()))
    })?;
    Ok(Some((path.display().to_string(), text)))
}

// ---------------------------------------------------------------------------------------------------------
// The warning before support ends.

/// How many days before the end of a device's support `check` starts to warn.
pub const WARN_DAYS: i64 = 90;

/// Whether `s` is a calendar date written `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
        && humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).is_ok()
}

/// Days since the epoch of a `YYYY-MM-DD` date written exactly so (UTC midnight).
fn day_number(s: &str) -> Option<i64> {
    if !is_date(s) {
        return None;
    }
    clock::day_number(s)
}

/// The warning for a device whose support ends within [`WARN_DAYS`] days (0 to 90 days left, both
/// included), from the `observed` of its `os.supported` check: `support_ends` (`YYYY-MM-DD`, the end of the
/// support this device gets: extended when it qualifies, else regular) and `name`. `None` when support
/// ends later, has already ended (the control fails then), or the check said no date.
pub fn support_warning(observed: &Value, now: SystemTime) -> Option<String> {
    let ends = observed.get("support_ends")?.as_str()?;
    let days = day_number(ends)? - day_number(&clock::date(now))?;
    if !(0..=WARN_DAYS).contains(&days) {
        return None;
    }
    let text = |k: &str| {
        observed
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let name = match (text("name"), text("id"), text("version")) {
        (Some(n), _, _) => n.to_string(),
        (None, Some(id), Some(v)) => format!("{id} {v}"),
        _ => "This OS".to_string(),
    };
    let when = match days {
        0 => "today".to_string(),
        1 => "tomorrow".to_string(),
        n => format!("in {n} days"),
    };
    Some(format!(
        "{name}: security support ends on {ends} ({when}); plan the upgrade"
    ))
}

// ---------------------------------------------------------------------------------------------------------
// `handover lifecycle import FILE`: endoflife.date exports.

/// endoflife.date products handover imports: (endoflife.date name, table id, display name). Windows rows
/// are by build and edition, which endoflife.date splits into other products: they are edited by hand.
const PRODUCTS: &[(&str, Option<&str>, &str)] = &[
    ("debian", Some("debian"), "Debian"),
    ("ubuntu", Some("ubuntu"), "Ubuntu"),
    ("rhel", Some("rhel"), "Red Hat Enterprise Linux"),
    ("rocky-linux", Some("rocky"), "Rocky Linux"),
    ("almalinux", Some("almalinux"), "AlmaLinux"),
    ("fedora", Some("fedora"), "Fedora"),
    ("windows", None, "Windows"),
    ("macos", Some("macos"), "macOS"),
];

fn product_list() -> String {
    PRODUCTS
        .iter()
        .map(|(p, id, _)| {
            if id.is_some() {
                p.to_string()
            } else {
                format!("{p} (by hand)")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The product a name means: an endoflife.date name or handover's id (`rocky-linux` or `rocky`).
fn product(name: &str) -> Option<&'static (&'static str, Option<&'static str>, &'static str)> {
    let n = name.trim().to_ascii_lowercase();
    PRODUCTS
        .iter()
        .find(|(p, id, _)| *p == n || *id == Some(n.as_str()))
}

/// An extended-support end as an export states it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Extended {
    /// A date.
    Date(String),
    /// None at all (v0 `extendedSupport: false`).
    None,
    /// Not said (absent, `null`, or `true` with no date): the table's value stays.
    NotStated,
}

/// One release cycle of an export.
#[derive(Debug, Clone)]
struct Cycle {
    version: String,
    /// The end of regular support (v0 `eol`, v1 `eolFrom`), when the export gives a date.
    regular: Option<String>,
    extended: Extended,
    lts: bool,
    codename: Option<String>,
}

fn bad(file: &Path, at: &str, msg: impl fmt::Display) -> anyhow::Error {
    InputError::refused(format!("{}: {at}: {msg}", file.display()))
}

/// A date field: `Some(date)`, `None` when it is not a string; an error when it is a string but not a date.
fn date_field(file: &Path, at: &str, v: Option<&Value>) -> Result<Option<String>> {
    match v {
        Some(Value::String(s)) if is_date(s) => Ok(Some(s.clone())),
        Some(Value::String(s)) => Err(bad(file, at, format!("{s:?} is not a date (YYYY-MM-DD)"))),
        Some(Value::Bool(_)) | Some(Value::Null) | None => Ok(None),
        Some(other) => Err(bad(
            file,
            at,
            format!("expected a date (YYYY-MM-DD), a boolean or null, found {other}"),
        )),
    }
}

/// A cycle's name: what the table's `version` is matched against, and goes into scripts (escaped there;
/// refused here when it is not a plain release number or name).
fn cycle_name(file: &Path, at: &str, v: Option<&Value>) -> Result<String> {
    let s = match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(bad(file, at, "expected the release cycle's name")),
    };
    let plain = !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !plain {
        return Err(bad(file, at, format!("{s:?} is not a release cycle name")));
    }
    Ok(s)
}

fn string_field(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Read an export: the v0 API array (`/api/PRODUCT.json`: `cycle`, `eol`, `extendedSupport`, `lts`,
/// `codename`) or the v1 API document (`/api/v1/products/PRODUCT`: `result.name`, `result.releases[]` with
/// `name`, `eolFrom`, `eoesFrom`, `isLts`, `codename`). Returns the product the document names, if any.
fn parse_export(file: &Path, text: &str) -> Result<(Option<String>, Vec<Cycle>)> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| InputError::refused(format!("{}: not JSON: {e}", file.display())))?;
    let mut cycles = Vec::new();
    match &doc {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = |k: &str| format!("[{i}].{k}");
                if !item.is_object() {
                    return Err(bad(file, &format!("[{i}]"), "expected a release cycle object"));
                }
                let version = cycle_name(file, &at("cycle"), item.get("cycle"))?;
                let regular = date_field(file, &at("eol"), item.get("eol"))?;
                let extended = match item.get("extendedSupport") {
                    Some(Value::Bool(false)) => Extended::None,
                    v => match date_field(file, &at("extendedSupport"), v)? {
                        Some(d) => Extended::Date(d),
                        None => Extended::NotStated,
                    },
                };
                let lts = match item.get("lts") {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(_)) => true,
                    _ => false,
                };
                cycles.push(Cycle {
                    version,
                    regular,
                    extended,
                    lts,
                    codename: string_field(item.get("codename")),
                });
            }
            Ok((None, cycles))
        }
        Value::Object(o) if o.get("result").is_some_and(Value::is_object) => {
            let result = &o["result"];
            let name = match result.get("name") {
                Some(Value::String(s)) => Some(s.clone()),
                None | Some(Value::Null) => None,
                Some(_) => return Err(bad(file, "result.name", "expected the product's name")),
            };
            let Some(releases) = result.get("releases").and_then(Value::as_array) else {
                return Err(bad(file, "result.releases", "expected the product's releases"));
            };
            for (i, item) in releases.iter().enumerate() {
                let at = |k: &str| format!("result.releases[{i}].{k}");
                if !item.is_object() {
                    return Err(bad(
                        file,
                        &format!("result.releases[{i}]"),
                        "expected a release object",
                    ));
                }
                let version = cycle_name(file, &at("name"), item.get("name"))?;
                let regular = date_field(file, &at("eolFrom"), item.get("eolFrom"))?;
                let extended = match date_field(file, &at("eoesFrom"), item.get("eoesFrom"))? {
                    Some(d) => Extended::Date(d),
                    None => Extended::NotStated,
                };
                cycles.push(Cycle {
                    version,
                    regular,
                    extended,
                    lts: item.get("isLts").and_then(Value::as_bool).unwrap_or(false),
                    codename: string_field(item.get("codename")),
                });
            }
            Ok((name, cycles))
        }
        _ => Err(InputError::refused(format!(
            "{}: neither an endoflife.date v0 export (an array of cycles, /api/PRODUCT.json) nor a v1 one \
             ({{\"result\": {{\"name\", \"releases\"}}}}, /api/v1/products/PRODUCT)",
            file.display()
        ))),
    }
}

/// Release numbers in numeric order where they are numbers (`9` before `10`, `22.04` before `24.04`).
fn version_key(v: &str) -> Vec<(u64, String)> {
    v.split(['.', '-'])
        .map(|p| (p.parse::<u64>().unwrap_or(u64::MAX), p.to_string()))
        .collect()
}

/// What an import did, to print for the technician.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// The endoflife.date product.
    pub product: String,
    /// The table's id for it; `None` for a product imported by hand (Windows).
    pub id: Option<String>,
    /// The table that was read: `out` when it existed, else the embedded one.
    pub from: String,
    pub out: PathBuf,
    /// Rows whose dates changed, with what changed.
    pub updated: Vec<String>,
    /// New rows, with their dates.
    pub added: Vec<String>,
    /// Rows the export confirms as they are.
    pub unchanged: Vec<String>,
    /// Cycles not imported, with why.
    pub skipped: Vec<String>,
    /// Whether `out` was written (nothing is written when nothing changed).
    pub written: bool,
}

impl ImportSummary {
    /// Whether the import changed the table.
    pub fn changed(&self) -> bool {
        !self.updated.is_empty() || !self.added.is_empty()
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.id.is_none() {
            for s in &self.skipped {
                writeln!(f, "{s}")?;
            }
            return writeln!(f, "nothing imported; {} not written", self.out.display());
        }
        writeln!(
            f,
            "endoflife.date {} into {} (read from {}): {} updated, {} added, {} unchanged, {} skipped",
            self.product,
            self.out.display(),
            self.from,
            self.updated.len(),
            self.added.len(),
            self.unchanged.len(),
            self.skipped.len()
        )?;
        for (label, rows) in [
            ("updated", &self.updated),
            ("added", &self.added),
            ("unchanged", &self.unchanged),
            ("skipped", &self.skipped),
        ] {
            for r in rows {
                writeln!(f, "  {label:<10} {r}")?;
            }
        }
        if self.written {
            writeln!(f, "wrote {}", self.out.display())
        } else {
            writeln!(f, "nothing changed; {} not written", self.out.display())
        }
    }
}

/// Refresh the rows of one product in the lifecycle table from an endoflife.date JSON export (v0 or v1
/// API) and write the table to `out`. The table read is `out` when it exists (refused when a non-admin
/// could write it), else the embedded one. Rows of the product get the export's dates and keep what was
/// written by hand (`extended`, `enrolment`, names, comments); cycles the table lacks get new rows unless
/// their support has already ended; no row is ever deleted; nothing is written when nothing changed.
/// `product` is required for a v0 export (it does not name its product).
pub fn import(file: &Path, product: Option<&str>, out: &Path) -> Result<ImportSummary> {
    import_at(file, product, out, clock::now()?)
}

fn import_at(
    file: &Path,
    product_arg: Option<&str>,
    out: &Path,
    now: SystemTime,
) -> Result<ImportSummary> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| InputError::refused(format!("{}: {e}", file.display())))?;
    let (named, cycles) = parse_export(file, &text)?;
    let unknown = |p: &str| {
        InputError::refused(format!(
            "{}: unknown product {p:?}: handover imports {}",
            file.display(),
            product_list()
        ))
    };
    let entry = match (named.as_deref(), product_arg) {
        (None, None) => {
            return Err(InputError::refused(format!(
                "{}: an endoflife.date v0 export does not name its product: give --product ({})",
                file.display(),
                product_list()
            )))
        }
        (Some(n), None) => product(n).ok_or_else(|| unknown(n))?,
        (None, Some(a)) => product(a).ok_or_else(|| unknown(a))?,
        (Some(n), Some(a)) => {
            let from_doc = product(n).ok_or_else(|| unknown(n))?;
            let given = product(a).ok_or_else(|| unknown(a))?;
            if from_doc.0 != given.0 {
                return Err(InputError::refused(format!(
                    "{}: this is the export of {n}, not of {a}",
                    file.display()
                )));
            }
            from_doc
        }
    };
    let &(eol_name, id, display) = entry;
    let mut summary = ImportSummary {
        product: eol_name.to_string(),
        id: id.map(str::to_string),
        out: out.to_path_buf(),
        ..Default::default()
    };
    let Some(id) = id else {
        summary.skipped.push(format!(
            "{display}: rows are by build and edition (Home/Pro, Enterprise/Education); import them by hand"
        ));
        return Ok(summary);
    };

    let (from, input) = match override_text(out)? {
        Some(found) => found,
        None => Sources::default()
            .profile_file("lifecycle.toml")
            .context("the embedded lifecycle table is missing")?,
    };
    summary.from = from.clone();
    // The table must be valid before it is edited, and after.
    parse_toml::<LifecycleFile>(Path::new(&from), &input)?;
    let today = clock::date(now);
    let target = Target {
        id,
        display,
        eol_name,
        today: &today,
    };
    let edited = merge(&from, &input, &target, &cycles, &mut summary)?;
    if !summary.changed() {
        return Ok(summary);
    }
    parse_toml::<LifecycleFile>(out, &edited)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            crate::support::perms::ensure_private_dir(dir)?;
        }
    }
    crate::support::fsutil::write_private(out, edited.as_bytes())?;
    summary.written = true;
    Ok(summary)
}

/// The product an import is for and the day it runs: what the rows it touches are matched by and say.
struct Target<'a> {
    /// The table's id for the product.
    id: &'a str,
    display: &'a str,
    eol_name: &'a str,
    /// `YYYY-MM-DD`.
    today: &'a str,
}

/// Apply the export's cycles to the table text (see [`import`]); fills `summary`.
fn merge(
    from: &str,
    input: &str,
    target: &Target,
    cycles: &[Cycle],
    summary: &mut ImportSummary,
) -> Result<String> {
    let mut doc: toml_edit::DocumentMut = input
        .parse()
        .map_err(|e| InputError::refused(format!("{from}: {e}")))?;
    let mut rows: Vec<toml_edit::Table> = release_tables(&mut doc)
        .ok_or_else(|| InputError::refused(format!("{from}: no [[release]] rows")))?
        .iter()
        .cloned()
        .collect();
    let new_cycles = update_rows(&mut rows, target, cycles, summary);
    add_rows(&mut rows, target, new_cycles, summary);
    if summary.changed() {
        write_rows(&mut doc, rows, target);
    }
    Ok(doc.to_string())
}

/// The table's `[[release]]` rows, if it has them.
fn release_tables(doc: &mut toml_edit::DocumentMut) -> Option<&mut toml_edit::ArrayOfTables> {
    doc.get_mut("release")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
}

/// A row's string value.
fn field(t: &toml_edit::Table, k: &str) -> Option<String> {
    t.get(k)
        .and_then(toml_edit::Item::as_str)
        .map(str::to_string)
}

/// Give the product's rows of each cycle the export's dates; returns the cycles the table has no row for.
fn update_rows<'c>(
    rows: &mut [toml_edit::Table],
    target: &Target,
    cycles: &'c [Cycle],
    summary: &mut ImportSummary,
) -> Vec<&'c Cycle> {
    let mut new_cycles: Vec<&Cycle> = Vec::new();
    for c in cycles {
        let matching: Vec<usize> = (0..rows.len())
            .filter(|&i| {
                field(&rows[i], "id").as_deref() == Some(target.id)
                    && field(&rows[i], "version").as_deref() == Some(c.version.as_str())
            })
            .collect();
        if matching.is_empty() {
            new_cycles.push(c);
            continue;
        }
        for i in matching {
            update_row(&mut rows[i], target, c, summary);
        }
    }
    new_cycles
}

/// One existing row of cycle `c`: its dates as the export gives them, `read` set when one changed.
fn update_row(row: &mut toml_edit::Table, target: &Target, c: &Cycle, summary: &mut ImportSummary) {
    let name = field(row, "name").unwrap_or_else(|| format!("{} {}", target.display, c.version));
    let mut changes = Vec::new();
    match &c.regular {
        Some(d) => {
            if let Some(old) = set_date(row, "regular_end", d) {
                changes.push(format!("regular_end {old} -> {d}"));
            }
        }
        None => summary.skipped.push(format!(
            "{name}: the export gives no date for the end of regular support; regular_end kept"
        )),
    }
    match &c.extended {
        Extended::Date(d) => {
            if let Some(old) = set_date(row, "extended_end", d) {
                changes.push(format!("extended_end {old} -> {d}"));
            }
        }
        Extended::None => {
            if let Some(old) = row.remove("extended_end") {
                // The value alone, not the comment after it.
                let old = old.as_value().map_or(String::new(), |v| {
                    let mut v = v.clone();
                    v.decor_mut().clear();
                    v.to_string()
                });
                changes.push(format!(
                    "extended_end {} removed (the export says there is no extended support)",
                    old.trim()
                ));
            }
        }
        Extended::NotStated => {}
    }
    if changes.is_empty() {
        summary.unchanged.push(name);
    } else {
        set_date(row, "read", target.today);
        summary
            .updated
            .push(format!("{name}: {}", changes.join(", ")));
    }
}

/// New cycles, oldest first, after the product's last row (or at the end), inheriting what the newest
/// of the product's existing rows says about enrolment and extended support. A cycle with no end of
/// regular support, or whose support has ended, is skipped.
fn add_rows(
    rows: &mut Vec<toml_edit::Table>,
    target: &Target,
    mut new_cycles: Vec<&Cycle>,
    summary: &mut ImportSummary,
) {
    new_cycles.sort_by_key(|c| version_key(&c.version));
    for c in new_cycles {
        let name = match (target.id, c.lts, &c.codename) {
            ("ubuntu", true, _) => format!("{} {} LTS", target.display, c.version),
            ("macos", _, Some(code)) => format!("{} {} {code}", target.display, c.version),
            _ => format!("{} {}", target.display, c.version),
        };
        let Some(regular) = &c.regular else {
            summary.skipped.push(format!(
                "{name}: no end of regular support announced; add it by hand when there is"
            ));
            continue;
        };
        let extended = match &c.extended {
            Extended::Date(d) => Some(d.as_str()),
            _ => None,
        };
        let last_day = extended.map_or(regular.as_str(), |e| e.max(regular.as_str()));
        if last_day < target.today {
            summary
                .skipped
                .push(format!("{name}: support ended {last_day}"));
            continue;
        }
        let last_of_product = rows
            .iter()
            .rposition(|t| field(t, "id").as_deref() == Some(target.id));
        let like = last_of_product.map(|i| &rows[i]);
        let (row, note) = new_row(target, c, &name, regular, extended, like);
        summary.added.push(format!("{name}: {note}"));
        let at = last_of_product.map_or(rows.len(), |i| i + 1);
        rows.insert(at, row);
    }
}

/// The row of a new cycle, and the note on it for the summary; `like` is the product's newest row.
fn new_row(
    target: &Target,
    c: &Cycle,
    name: &str,
    regular: &str,
    extended: Option<&str>,
    like: Option<&toml_edit::Table>,
) -> (toml_edit::Table, String) {
    use toml_edit::value;
    let inherit = |k: &str| like.and_then(|r| field(r, k));
    let mut t = toml_edit::Table::new();
    t.decor_mut().set_prefix(format!(
        "\n# Added by `handover lifecycle import` (endoflife.date {}, {}).\n",
        target.eol_name, target.today
    ));
    t.insert("id", value(target.id));
    t.insert("version", value(c.version.as_str()));
    t.insert("name", value(name));
    t.insert("regular_end", value(parse_datetime(regular)));
    let mut note = format!("regular_end {regular}");
    if let Some(e) = extended {
        t.insert("extended_end", value(parse_datetime(e)));
        note.push_str(&format!(", extended_end {e}"));
        if let Some(kind) = inherit("extended") {
            note.push_str(&format!(", extended = {kind:?}"));
            t.insert("extended", value(kind));
        }
    }
    if let Some(kind) = inherit("enrolment") {
        note.push_str(&format!(", enrolment = {kind:?}"));
        t.insert("enrolment", value(kind));
    }
    if let Some(r) = like {
        note.push_str(&format!(
            " (extended support and enrolment as {})",
            field(r, "name").unwrap_or_default()
        ));
    }
    t.insert("read", value(parse_datetime(target.today)));
    (t, note)
}

/// Put the rows back into the document and say in `source` that it was imported.
fn write_rows(doc: &mut toml_edit::DocumentMut, rows: Vec<toml_edit::Table>, target: &Target) {
    let tables = release_tables(doc).expect("checked by merge");
    tables.clear();
    for t in rows {
        tables.push(t);
    }
    let source = format!(
        "endoflife.date import of {}, {}",
        target.eol_name, target.today
    );
    match doc
        .get_mut("source")
        .and_then(toml_edit::Item::as_value_mut)
    {
        Some(v) => {
            let decor = v.decor().clone();
            *v = toml_edit::Value::from(source);
            *v.decor_mut() = decor;
        }
        None => {
            doc.insert("source", toml_edit::value(source));
        }
    }
}

fn parse_datetime(d: &str) -> toml_edit::Datetime {
    d.parse().expect("a checked YYYY-MM-DD date")
}

/// Set a date key of a row, keeping its comment; the old value when it changed ("none" when it was absent).
fn set_date(row: &mut toml_edit::Table, key: &str, date: &str) -> Option<String> {
    let new = parse_datetime(date);
    match row.get_mut(key).and_then(toml_edit::Item::as_value_mut) {
        Some(v) => {
            let old = v.as_datetime().map(|d| d.to_string());
            if old.as_deref() == Some(date) {
                return None;
            }
            let decor = v.decor().clone();
            *v = toml_edit::Value::from(new);
            *v.decor_mut() = decor;
            Some(old.unwrap_or_else(|| "?".into()))
        }
        None => {
            row.insert(key, toml_edit::value(new));
            // Keep the table's order: dates after the identifying keys, before the hand-written ones.
            let rank = |k: &str| match k {
                "id" => 0,
                "version" => 1,
                "name" => 2,
                "build" => 3,
                "editions" => 4,
                "regular_end" => 5,
                "extended_end" => 6,
                _ => 7,
            };
            row.sort_values_by(|a, _, b, _| rank(a.get()).cmp(&rank(b.get())));
            Some("none".into())
        }
    }
}

impl Sources {
    /// The lifecycle table, with the path to show in errors: `--profiles-dir`'s when that is given, else the
    /// table `handover lifecycle import` wrote ([`crate::support::dirs::lifecycle_file`]) when it exists,
    /// else the one shipped with the profiles. An imported table that a non-admin could write is refused
    /// (SPEC §7): it decides whether a device passes `os.supported`.
    pub fn lifecycle_text(&self) -> Result<Option<(String, String)>, InputError> {
        if self.profiles_dir.is_none() {
            if let Some(found) = override_text(&crate::support::dirs::lifecycle_file())? {
                return Ok(Some(found));
            }
        }
        Ok(self.profile_file("lifecycle.toml"))
    }
}

#[cfg(test)]
mod tests;
