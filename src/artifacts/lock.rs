//! `handover artifacts lock --from DIR` (SPEC §6): a technician downloaded installers by hand into DIR;
//! lock hashes them and writes or refreshes the site's `[artifacts.*]` tables, keeping the file's
//! comments and layout (`toml_edit`), after showing the changes and asking.
//!
//! Each top-level entry of DIR (sorted, dot-files skipped) is matched, in order, by:
//! 1. the last segment of an existing artifact's `url` (percent-decoded for URLs): its `sha256` (a file)
//!    or its `files` table (a directory) is refreshed, and nothing else in the table is touched;
//! 2. its name without extension(s) being an artifact name the profiles use, or the name of an existing
//!    artifact table with no `url` yet: the table is created or completed with `url` = the entry's path
//!    (relative to the site file when it lies beside it) and its hash(es);
//! 3. nothing: it is listed as unmatched, with why, and left alone.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike, Value};

/// One artifact table that lock would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The artifact name (`[artifacts.NAME]`).
    pub name: String,
    /// One human line: `sha256 0123abcd… → 4567ef01…`, `new [artifacts.x] url = "…", sha256 …`,
    /// `files: 2 added, 1 changed, 0 removed`.
    pub what: String,
}

/// What lock would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockPlan {
    pub changes: Vec<Change>,
    /// Entries of DIR that matched nothing (or could not be used), each `NAME: why`.
    pub unmatched: Vec<String>,
    /// The site file's new text (the original text, byte for byte, when there are no changes).
    pub new_text: String,
}

/// Pure: compute what lock would write. `site_path` is the site file (for relative paths and error
/// messages), `src` its text, `known` the artifact names the shipped profiles use.
pub fn plan(site_path: &Path, src: &str, from: &Path, known: &[String]) -> Result<LockPlan> {
    // toml_edit writes `\n` line ends and keeps no BOM: restore both so untouched bytes stay untouched.
    let (bom, body) = match src.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", src),
    };
    let crlf = body.contains("\r\n") && !body.replace("\r\n", "").contains('\n');
    let text: Cow<str> = if crlf {
        Cow::Owned(body.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(body)
    };
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| toml_error(site_path, &text, &e))?;
    let existing = existing_artifacts(&doc, site_path, &text)?;

    let meta = fs::metadata(from)
        .with_context(|| format!("--from {}: cannot read the directory", from.display()))?;
    if !meta.is_dir() {
        bail!("--from {}: not a directory", from.display());
    }
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(from)
        .with_context(|| format!("cannot list {}", from.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot list {}", from.display()))?;
    entries.sort_by_key(|e| e.file_name());

    let site_dir = match site_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let site_dir_canon = fs::canonicalize(&site_dir).ok();
    let site_canon = fs::canonicalize(site_path).ok();

    let mut changes = Vec::new();
    let mut unmatched = Vec::new();
    // artifact name → the entry that locked it, so that two entries never fight over one table.
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();

    for entry in entries {
        let os_name = entry.file_name();
        let path = entry.path();
        let Some(name) = os_name.to_str().map(str::to_string) else {
            unmatched.push(format!(
                "{}: the name is not valid UTF-8; rename it",
                os_name.to_string_lossy()
            ));
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        if site_canon.is_some() && fs::canonicalize(&path).ok() == site_canon {
            continue; // DIR is the kit directory and this is the site file itself
        }
        let ft = entry
            .file_type()
            .with_context(|| format!("cannot read {}", path.display()))?;
        let is_dir = if ft.is_symlink() {
            unmatched.push(format!(
                "{name}: a symbolic link; lock hashes real files only (copy the file itself into {})",
                from.display()
            ));
            continue;
        } else if ft.is_dir() {
            true
        } else if ft.is_file() {
            false
        } else {
            unmatched.push(format!("{name}: neither a regular file nor a directory"));
            continue;
        };

        // Rule 1: an existing url whose last segment is this name.
        let by_url: Vec<&Existing> = existing
            .iter()
            .filter(|a| a.url.as_deref().and_then(url_basename).as_deref() == Some(name.as_str()))
            .collect();
        let target: Target = if by_url.len() > 1 {
            let names: Vec<String> = by_url.iter().map(|a| a.name.clone()).collect();
            unmatched.push(format!(
                "{name}: the url of several artifacts ends in it ({}); set their sha256 by hand, or give the urls distinct file names",
                names.join(", ")
            ));
            continue;
        } else if let Some(a) = by_url.first() {
            Target::Refresh(a)
        } else {
            // Rule 2: the name, without extension(s), is an artifact name.
            match by_name(&name, &existing, known) {
                ByName::Complete(a) => Target::Complete(a),
                ByName::Create(n) => Target::Create(n),
                ByName::HasOtherUrl(a) => {
                    let url = a.url.as_deref().unwrap_or_default();
                    let base = url_basename(url).unwrap_or_default();
                    unmatched.push(format!(
                        "{name}: [artifacts.{}] already has url = {url:?}, whose file name is {base:?}; rename {name} to {base:?}, or change that url by hand",
                        a.name
                    ));
                    continue;
                }
                ByName::None => {
                    unmatched.push(format!(
                        "{name}: matches no artifact; name it by an [artifacts.NAME] url, or rename it to an artifact name: {}",
                        hint_names(&existing, known)
                    ));
                    continue;
                }
            }
        };
        let art_name = target.name().to_string();
        if let Some(first) = claimed.get(&art_name) {
            unmatched.push(format!(
                "{name}: [artifacts.{art_name}] is already locked from {first}"
            ));
            continue;
        }
        if let Some(a) = target.existing() {
            if let Some(why) = kind_conflict(a, is_dir) {
                unmatched.push(format!("{name}: {why}"));
                continue;
            }
        }

        let content = if is_dir {
            let mut files = BTreeMap::new();
            walk(&path, "", &mut files)?;
            if files.is_empty() {
                unmatched.push(format!(
                    "{name}: an empty directory; a directory artifact holds at least one file"
                ));
                continue;
            }
            Content::Dir(files)
        } else {
            Content::File(sha256_file(&path)?)
        };
        claimed.insert(art_name.clone(), name.clone());

        let change = match target {
            Target::Refresh(_) => update(&mut doc, &art_name, None, &content),
            Target::Complete(_) | Target::Create(_) => {
                let url = url_for(&path, site_dir_canon.as_deref())?;
                update(&mut doc, &art_name, Some(&url), &content)
            }
        };
        if let Some(what) = change {
            changes.push(Change {
                name: art_name,
                what,
            });
        }
    }

    let new_text = if changes.is_empty() {
        src.to_string()
    } else {
        let out = doc.to_string();
        // A guard against writing a file that is no longer TOML (a toml_edit bug would be one).
        out.parse::<DocumentMut>().map_err(|e| {
            anyhow!(
                "internal error: the updated {} would not parse: {}",
                site_path.display(),
                e.message()
            )
        })?;
        let out = if crlf { out.replace('\n', "\r\n") } else { out };
        format!("{bom}{out}")
    };
    Ok(LockPlan {
        changes,
        unmatched,
        new_text,
    })
}

/// The whole command: plan, print the changes, ask (when stdin is a terminal and not `yes`), write
/// atomically. Returns the exit code: 0 written or nothing to change, 1 changes not written.
pub fn run(site_path: &Path, from: &Path, yes: bool, known: &[String]) -> Result<i32> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let mut lock;
    let answer: Option<&mut dyn BufRead> = if tty {
        lock = stdin.lock();
        Some(&mut lock)
    } else {
        None
    };
    run_io(
        site_path,
        from,
        yes,
        known,
        answer,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
    )
}

/// `run` with its terminal made explicit: `answer` is where the reply comes from when there is someone
/// to ask (None: stdin is not a terminal), `out` gets the report, `prompt` the question.
fn run_io(
    site_path: &Path,
    from: &Path,
    yes: bool,
    known: &[String],
    answer: Option<&mut dyn BufRead>,
    out: &mut dyn Write,
    prompt: &mut dyn Write,
) -> Result<i32> {
    let src = read_site(site_path)?;
    let _ = writeln!(prompt, "Hashing the entries of {} …", from.display());
    let plan = plan(site_path, &src, from, known)?;
    let site = site_path.display();

    if !plan.unmatched.is_empty() {
        writeln!(out, "Not matched (left alone):")?;
        for u in &plan.unmatched {
            writeln!(out, "  {u}")?;
        }
    }
    if plan.changes.is_empty() {
        writeln!(out, "{site} is up to date: nothing to change.")?;
        return Ok(0);
    }
    let width = plan.changes.iter().map(|c| c.name.len()).max().unwrap_or(0);
    writeln!(out, "Changes to {site}:")?;
    for c in &plan.changes {
        writeln!(out, "  {:<width$}  {}", c.name, c.what)?;
    }
    out.flush()?;
    let n = plan.changes.len();
    let n_changes = if n == 1 {
        "1 change".to_string()
    } else {
        format!("{n} changes")
    };

    if !yes {
        let Some(answer) = answer else {
            writeln!(
                out,
                "Nothing written: no terminal to ask on. Rerun with --yes to write {n_changes} to {site}."
            )?;
            return Ok(1);
        };
        write!(prompt, "Write {n_changes} to {site}? [y/N] ")?;
        prompt.flush()?;
        let mut line = String::new();
        answer.read_line(&mut line)?;
        let reply = line.trim().to_ascii_lowercase();
        if reply != "y" && reply != "yes" {
            writeln!(out, "Nothing written.")?;
            return Ok(1);
        }
    }

    // The file may have been edited while we hashed or asked: never overwrite that edit.
    if read_site(site_path)? != src {
        bail!(
            "{site} changed while lock was running; nothing written, rerun `handover artifacts lock`"
        );
    }
    write_atomic(site_path, &plan.new_text)?;
    writeln!(out, "Wrote {n_changes} to {site}.")?;
    Ok(0)
}

fn read_site(site_path: &Path) -> Result<String> {
    fs::read_to_string(site_path)
        .with_context(|| format!("cannot read the site file {}", site_path.display()))
}

/// Replace `path` by `text` atomically: a temporary file in the same directory, written, given the
/// original's permissions (and owner, when allowed), fsynced and renamed over it. A symbolic link is
/// followed, so the link stays a link.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    crate::support::fsutil::write_atomic(
        &target,
        text.as_bytes(),
        crate::support::fsutil::Perm::LikeExisting,
    )
}

/// An artifact table already in the site.
#[derive(Debug)]
struct Existing {
    name: String,
    /// `url` when it is a string.
    url: Option<String>,
    has_url: bool,
    has_sha256: bool,
    has_files: bool,
    manifest: Option<String>,
}

fn existing_artifacts(doc: &DocumentMut, site_path: &Path, text: &str) -> Result<Vec<Existing>> {
    let Some(item) = doc.get("artifacts") else {
        return Ok(Vec::new());
    };
    let Some(arts) = item.as_table_like() else {
        bail!(
            "{}:{}: `artifacts` must be a table of [artifacts.NAME] tables",
            site_path.display(),
            crate::inputs::textpos::line_of(text, &["artifacts"])
        );
    };
    let mut out = Vec::new();
    for (name, item) in arts.iter() {
        let Some(t) = item.as_table_like() else {
            bail!(
                "{}:{}: artifacts.{name} must be a table (url and sha256, or url and files)",
                site_path.display(),
                crate::inputs::textpos::line_of(text, &["artifacts", name])
            );
        };
        out.push(Existing {
            name: name.to_string(),
            url: t.get("url").and_then(Item::as_str).map(str::to_string),
            has_url: t.contains_key("url"),
            has_sha256: t.contains_key("sha256"),
            has_files: t.contains_key("files"),
            manifest: t
                .get("manifest")
                .map(|m| m.as_str().unwrap_or("…").to_string()),
        });
    }
    Ok(out)
}

enum Target<'a> {
    /// Rule 1: its url names the entry.
    Refresh(&'a Existing),
    /// Rule 2: a table with no url yet.
    Complete(&'a Existing),
    /// Rule 2: a name the profiles use, not yet in the site.
    Create(String),
}

impl Target<'_> {
    fn name(&self) -> &str {
        match self {
            Target::Refresh(a) | Target::Complete(a) => &a.name,
            Target::Create(n) => n,
        }
    }
    fn existing(&self) -> Option<&Existing> {
        match self {
            Target::Refresh(a) | Target::Complete(a) => Some(a),
            Target::Create(_) => None,
        }
    }
}

enum ByName<'a> {
    Complete(&'a Existing),
    Create(String),
    HasOtherUrl(&'a Existing),
    None,
}

/// Rule 2: the entry's name, then the name with its last extension stripped, and so on.
fn by_name<'a>(name: &str, existing: &'a [Existing], known: &[String]) -> ByName<'a> {
    let mut candidates = vec![name];
    let mut stem = name;
    while let Some((s, _)) = stem.rsplit_once('.') {
        if s.is_empty() {
            break;
        }
        candidates.push(s);
        stem = s;
    }
    for c in candidates {
        if let Some(a) = existing.iter().find(|a| a.name == c) {
            return if a.has_url {
                ByName::HasOtherUrl(a)
            } else {
                ByName::Complete(a)
            };
        }
        if known.iter().any(|k| k == c) {
            return ByName::Create(c.to_string());
        }
    }
    ByName::None
}

fn hint_names(existing: &[Existing], known: &[String]) -> String {
    let names: BTreeSet<&str> = known
        .iter()
        .map(String::as_str)
        .chain(
            existing
                .iter()
                .filter(|a| !a.has_url)
                .map(|a| a.name.as_str()),
        )
        .collect();
    if names.is_empty() {
        "(the profiles name none)".to_string()
    } else {
        names.into_iter().collect::<Vec<_>>().join(", ")
    }
}

/// Why an entry of this kind (directory or file) cannot go into this table, if it cannot.
fn kind_conflict(a: &Existing, is_dir: bool) -> Option<String> {
    let n = &a.name;
    if is_dir {
        if let Some(m) = &a.manifest {
            return Some(format!(
                "[artifacts.{n}] pins its files by a manifest file ({m}); lock writes an inline `files` table only: update that manifest and its sha256 by hand, or replace `manifest` and `sha256` by a `files` table and rerun"
            ));
        }
        if a.has_sha256 && !a.has_files {
            return Some(format!(
                "a directory, but [artifacts.{n}] is a file artifact (it has a sha256)"
            ));
        }
    } else if a.has_files || a.manifest.is_some() {
        return Some(format!(
            "a file, but [artifacts.{n}] is a directory artifact (it has {})",
            if a.has_files { "files" } else { "a manifest" }
        ));
    }
    None
}

/// The last path segment a url names: for a URL (`scheme://`), the part after the last `/` (a trailing
/// `/` trimmed first, query and fragment dropped), percent-decoded; for a path, its file name.
fn url_basename(url: &str) -> Option<String> {
    let base = if let Some((_, rest)) = url.split_once("://") {
        let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
        // The path after the host: `https://host` and `https://host/` name no file.
        let (_, path) = rest.split_once('/')?;
        percent_decode(path.trim_end_matches('/').rsplit('/').next()?)
    } else {
        let p = url.trim_end_matches(['/', '\\']);
        p.rsplit(['/', '\\']).next()?.to_string()
    };
    (!base.is_empty() && base != "." && base != "..").then_some(base)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The `url` for an entry: its path relative to the site file's directory when it lies under it
/// (`/`-separated), else its absolute path.
fn url_for(entry: &Path, site_dir_canon: Option<&Path>) -> Result<String> {
    let canon =
        fs::canonicalize(entry).with_context(|| format!("cannot read {}", entry.display()))?;
    if let Some(rel) = site_dir_canon.and_then(|d| canon.strip_prefix(d).ok()) {
        let parts: Option<Vec<&str>> = rel
            .components()
            .map(|c| match c {
                Component::Normal(s) => s.to_str(),
                _ => None,
            })
            .collect();
        if let Some(parts) = parts.filter(|p| !p.is_empty()) {
            return Ok(parts.join("/"));
        }
    }
    let abs = std::path::absolute(entry).unwrap_or(canon);
    abs.to_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{}: the path is not valid UTF-8", abs.display()))
}

enum Content {
    File(String),
    Dir(BTreeMap<String, String>),
}

/// Every file under `dir`, by `/`-separated path → sha256. Symbolic links and names a site cannot
/// hold are errors: a directory artifact is pinned whole or not at all.
fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) -> Result<()> {
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            bail!("{}: the name is not valid UTF-8", path.display());
        };
        if name.contains(['\\', ':']) || name.chars().any(char::is_control) {
            bail!(
                "{}: a site cannot name this file (\\, : and control characters are refused in artifact paths); rename it",
                path.display()
            );
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ft = e
            .file_type()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if ft.is_symlink() {
            bail!(
                "{}: a symbolic link; a directory artifact holds real files only",
                path.display()
            );
        } else if ft.is_dir() {
            walk(&path, &rel, out)?;
        } else if ft.is_file() {
            out.insert(rel, sha256_file(&path)?);
        } else {
            bail!("{}: neither a regular file nor a directory", path.display());
        }
    }
    Ok(())
}

/// Lower-case hex sha256 of a file ([`crate::support::hashing`]), with the file named in the error.
fn sha256_file(path: &Path) -> Result<String> {
    crate::support::hashing::sha256_file(path)
        .with_context(|| format!("cannot read {}", path.display()))
}

fn short(hex: &str) -> String {
    match hex.get(..8) {
        Some(s) if hex.len() > 8 => format!("{s}…"),
        _ => hex.to_string(),
    }
}

/// Write `content` (and `url`, when given: rule 2) into `[artifacts.NAME]`, creating it when absent;
/// returns the change line, or None when the table already says exactly this.
fn update(
    doc: &mut DocumentMut,
    name: &str,
    url: Option<&str>,
    content: &Content,
) -> Option<String> {
    let trailing = doc.trailing().as_str().unwrap_or_default().to_string();
    let last = max_position(doc.as_table());
    let root = doc.as_table_mut();
    if !root.contains_key("artifacts") {
        let mut t = Table::new();
        t.set_implicit(true);
        root.insert("artifacts", Item::Table(t));
    }
    let arts = root
        .get_mut("artifacts")
        .and_then(Item::as_table_like_mut)
        .expect("artifacts is a table (checked when the site was read)");
    let created = !arts.contains_key(name);
    let mut took_trailing = false;
    if created {
        // Place it after the last artifact table, or at the end when the site has none yet.
        let after_artifacts = match root.get("artifacts") {
            Some(Item::Table(t)) => max_position(t),
            _ => None,
        };
        let mut t = Table::new();
        t.set_position(after_artifacts.unwrap_or(last.map_or(0, |p| p + 1)));
        // Comments after the file's last table are kept above a table appended at the very end.
        if (after_artifacts.is_none() || after_artifacts == last) && !trailing.trim().is_empty() {
            t.decor_mut().set_prefix(format!("{trailing}\n"));
            took_trailing = true;
        }
        let arts = root
            .get_mut("artifacts")
            .and_then(Item::as_table_like_mut)
            .expect("just ensured");
        arts.insert(name, Item::Table(t));
    }
    if took_trailing {
        doc.set_trailing("");
    }
    let arts = doc
        .as_table_mut()
        .get_mut("artifacts")
        .and_then(Item::as_table_like_mut)
        .expect("just ensured");
    let art = arts.get_mut(name).expect("just ensured");
    if let Item::Table(t) = art {
        // A table known so far only through `[artifacts.NAME.files]` gets its own header now.
        t.set_implicit(false);
    }

    let keys_before = art.as_table_like().map_or(0, |t| t.len());
    let mut parts = Vec::new();
    if let Some(url) = url {
        let t = art
            .as_table_like_mut()
            .expect("checked when the site was read");
        if set_str(t, "url", url, false).is_some() {
            parts.push(format!("url = {url:?}"));
        }
    }
    match content {
        Content::File(sha) => {
            let t = art
                .as_table_like_mut()
                .expect("checked when the site was read");
            if let Some(old) = set_str(t, "sha256", sha, true) {
                parts.push(if created {
                    format!("sha256 {}", short(sha))
                } else {
                    format!(
                        "sha256 {} → {}",
                        old.as_deref().map_or("(none)".to_string(), short),
                        short(sha)
                    )
                });
            }
        }
        Content::Dir(files) => {
            if let Some((added, changed, removed)) = set_files(art, files) {
                parts.push(if created {
                    format!("files: {added}")
                } else {
                    format!("files: {added} added, {changed} changed, {removed} removed")
                });
            }
        }
    }
    if let Item::Value(Value::InlineTable(it)) = art {
        if it.len() > keys_before {
            tidy_inline(it);
        }
    }
    if parts.is_empty() {
        None
    } else if created {
        Some(format!("new [artifacts.{name}] {}", parts.join(", ")))
    } else {
        Some(parts.join(", "))
    }
}

/// After keys were appended to an inline table, the space its last value had before `}` would sit
/// before a comma: give the new last value that space instead.
fn tidy_inline(it: &mut InlineTable) {
    let n = it.len();
    for (i, (_, v)) in it.iter_mut().enumerate() {
        let blank = v
            .decor()
            .suffix()
            .and_then(|s| s.as_str())
            .is_none_or(|s| s.trim().is_empty());
        if blank {
            v.decor_mut().set_suffix(if i + 1 == n { " " } else { "" });
        }
    }
}

/// The greatest document position of `t` and the tables under it (the order of their headers).
fn max_position(t: &Table) -> Option<usize> {
    let mut best = t.position();
    for (_, item) in t.iter() {
        let sub = match item {
            Item::Table(s) => max_position(s),
            Item::ArrayOfTables(a) => a.iter().filter_map(max_position).max(),
            _ => None,
        };
        best = best.max(sub);
    }
    best
}

/// Set a string value, keeping the old value's decoration (spacing, trailing comment). Returns None
/// when it already holds `new` (a hash compared without case), else Some(the old string, if any).
fn set_str(t: &mut dyn TableLike, key: &str, new: &str, hash: bool) -> Option<Option<String>> {
    if let Some(Item::Value(v)) = t.get_mut(key) {
        let old = v.as_str().map(str::to_string);
        let same = match &old {
            Some(o) if hash => o.eq_ignore_ascii_case(new),
            Some(o) => o == new,
            None => false,
        };
        if same {
            return None;
        }
        let decor = v.decor().clone();
        *v = Value::from(new);
        *v.decor_mut() = decor;
        return Some(old);
    }
    t.insert(key, toml_edit::value(new));
    Some(None)
}

/// Make the artifact's `files` table exactly `files`, editing an existing table in place (kept
/// entries keep their layout and comments). Returns (added, changed, removed), or None if unchanged.
fn set_files(art: &mut Item, files: &BTreeMap<String, String>) -> Option<(usize, usize, usize)> {
    let inline = matches!(art, Item::Value(_));
    let t = art
        .as_table_like_mut()
        .expect("checked when the site was read");
    let Some(ft) = t.get_mut("files").and_then(Item::as_table_like_mut) else {
        let item = if inline {
            let mut it = InlineTable::new();
            for (k, v) in files {
                it.insert(k, Value::from(v.as_str()));
            }
            Item::Value(Value::InlineTable(it))
        } else {
            let mut nt = Table::new();
            for (k, v) in files {
                nt.insert(k, toml_edit::value(v.as_str()));
            }
            Item::Table(nt)
        };
        t.insert("files", item);
        return Some((files.len(), 0, 0));
    };
    let old_keys: Vec<String> = ft.iter().map(|(k, _)| k.to_string()).collect();
    let mut removed = 0;
    for k in &old_keys {
        if !files.contains_key(k) {
            ft.remove(k);
            removed += 1;
        }
    }
    let (mut added, mut changed) = (0, 0);
    for (k, sha) in files {
        let present = ft.contains_key(k);
        if set_str(ft, k, sha, true).is_some() {
            if present {
                changed += 1;
            } else {
                added += 1;
            }
        }
    }
    if added > 0 {
        ft.sort_values();
    }
    (added + changed + removed > 0).then_some((added, changed, removed))
}

/// A TOML syntax error as `FILE:LINE:COLUMN: message`.
fn toml_error(file: &Path, text: &str, e: &toml_edit::TomlError) -> anyhow::Error {
    let (line, col) = e
        .span()
        .map_or((1, 1), |s| crate::inputs::textpos::line_col(text, s.start));
    anyhow!(
        "{}:{line}:{col}: not valid TOML: {}",
        file.display(),
        e.message().trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> String {
        crate::support::hashing::sha256_bytes(b)
    }

    fn known() -> Vec<String> {
        ["lsagent-linux", "office-source", "teams-msix", "office-odt"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// A kit: `site.toml` with `site` as its text, and `downloads/` beside it.
    fn kit(site: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let site_path = d.path().join("site.toml");
        fs::write(&site_path, site).unwrap();
        let from = d.path().join("downloads");
        fs::create_dir(&from).unwrap();
        (d, site_path, from)
    }

    fn plan_of(site_path: &Path, from: &Path) -> LockPlan {
        let src = fs::read_to_string(site_path).unwrap();
        plan(site_path, &src, from, &known()).unwrap()
    }

    const OLD: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn comments_and_layout_survive_except_the_changed_sha256_line() {
        let site = format!(
            "# Example University site\n\n[organisation]\nname = \"Example\"   # trailing comment\n\n\
             # The Lansweeper agent for Linux.\n# Downloaded from the portal.\n\
             [artifacts.lsagent-linux]   # header comment\n\
             # the vendor's URL\nurl   =   \"https://files.example.ac.uk/LsAgent-linux-x64.run\"\n\
             sha256 = \"{OLD}\"  # pinned 2025-01-01\n# after sha\n\n\
             [artifacts.untouched]\nurl = \"https://x/other.run\"\nsha256 = \"{OLD}\"\n\n\
             [[waiver]]\ncontrol = \"os.supported\"\n"
        );
        let (_d, site_path, from) = kit(&site);
        fs::write(from.join("LsAgent-linux-x64.run"), b"agent v2").unwrap();
        let p = plan_of(&site_path, &from);
        let new = sha(b"agent v2");
        assert_eq!(
            p.changes,
            vec![Change {
                name: "lsagent-linux".into(),
                what: format!("sha256 00000000… → {}", short(&new)),
            }]
        );
        assert!(p.unmatched.is_empty(), "{:?}", p.unmatched);
        let expected = site.replace(
            &format!("sha256 = \"{OLD}\"  # pinned"),
            &format!("sha256 = \"{new}\"  # pinned"),
        );
        assert_ne!(expected, site);
        assert_eq!(p.new_text, expected);
    }

    #[test]
    fn new_table_appended_for_known_name() {
        let site = "[organisation]\nname = \"Example\"\n# end of organisation\n";
        let (_d, site_path, from) = kit(site);
        fs::write(from.join("lsagent-linux.run"), b"agent").unwrap();
        fs::write(from.join("teams-msix.x64.msix"), b"teams").unwrap();
        let p = plan_of(&site_path, &from);
        let (a, t) = (sha(b"agent"), sha(b"teams"));
        assert_eq!(
            p.changes.iter().map(|c| c.what.as_str()).collect::<Vec<_>>(),
            [
                format!(
                    "new [artifacts.lsagent-linux] url = \"downloads/lsagent-linux.run\", sha256 {}",
                    short(&a)
                ),
                format!(
                    "new [artifacts.teams-msix] url = \"downloads/teams-msix.x64.msix\", sha256 {}",
                    short(&t)
                ),
            ]
        );
        assert!(
            p.new_text.starts_with(site),
            "the original text is kept: {}",
            p.new_text
        );
        assert_eq!(
            &p.new_text[site.len()..],
            format!(
                "\n[artifacts.lsagent-linux]\nurl = \"downloads/lsagent-linux.run\"\nsha256 = \"{a}\"\n\n\
                 [artifacts.teams-msix]\nurl = \"downloads/teams-msix.x64.msix\"\nsha256 = \"{t}\"\n"
            )
        );
    }

    #[test]
    fn new_table_follows_the_last_artifact_and_outside_paths_are_absolute() {
        let site = format!(
            "[artifacts.office-odt]\nurl = \"https://x/setup.exe\"\nsha256 = \"{OLD}\"\n\n[[waiver]]\ncontrol = \"c\"\n"
        );
        let (_d, site_path, _) = kit(&site);
        let elsewhere = tempfile::tempdir().unwrap();
        fs::write(elsewhere.path().join("lsagent-linux"), b"a").unwrap();
        let p = plan_of(&site_path, elsewhere.path());
        let abs = std::path::absolute(elsewhere.path().join("lsagent-linux")).unwrap();
        let abs = toml_edit::value(abs.to_str().unwrap()).to_string();
        assert_eq!(
            p.new_text,
            format!(
                "[artifacts.office-odt]\nurl = \"https://x/setup.exe\"\nsha256 = \"{OLD}\"\n\n\
                 [artifacts.lsagent-linux]\nurl = {}\nsha256 = \"{}\"\n\n[[waiver]]\ncontrol = \"c\"\n",
                abs.trim(),
                sha(b"a")
            )
        );
    }

    #[test]
    fn directory_artifact_gets_files_subtable() {
        let site = "# site\n[artifacts.office-source]\n# the ODT offline source\nurl = \"https://files.example.ac.uk/office-source/\"\n";
        let (_d, site_path, from) = kit(site);
        let root = from.join("office-source");
        fs::create_dir_all(root.join("Office/Data/16.0.1234.5678")).unwrap();
        fs::write(root.join("Office/Data/v64.cab"), b"v64").unwrap();
        fs::write(
            root.join("Office/Data/16.0.1234.5678/s641033.cab"),
            b"s641033",
        )
        .unwrap();
        fs::write(root.join("setup.exe"), b"setup").unwrap();
        let p = plan_of(&site_path, &from);
        assert_eq!(
            p.changes,
            vec![Change {
                name: "office-source".into(),
                what: "files: 3 added, 0 changed, 0 removed".into()
            }]
        );
        assert_eq!(
            p.new_text,
            format!(
                "{site}\n[artifacts.office-source.files]\n\
                 \"Office/Data/16.0.1234.5678/s641033.cab\" = \"{}\"\n\
                 \"Office/Data/v64.cab\" = \"{}\"\n\"setup.exe\" = \"{}\"\n",
                sha(b"s641033"),
                sha(b"v64"),
                sha(b"setup")
            )
        );
        // The result is a site the parser reads back as the same tree.
        let back: toml::Value = toml::from_str(&p.new_text).unwrap();
        let files = back["artifacts"]["office-source"]["files"]
            .as_table()
            .unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(
            files["Office/Data/v64.cab"].as_str(),
            Some(sha(b"v64").as_str())
        );
    }

    #[test]
    fn directory_refresh_counts_and_keeps_unchanged_lines() {
        let site = format!(
            "[artifacts.office-source]\nurl = \"/srv/office-source\"\n[artifacts.office-source.files]\n\
             \"a.cab\" = \"{}\"   # kept\n\"gone.cab\" = \"{OLD}\"\n\"z.cab\" = \"{OLD}\"\n",
            sha(b"a")
        );
        let (_d, site_path, from) = kit(&site);
        let root = from.join("office-source");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("a.cab"), b"a").unwrap();
        fs::write(root.join("b.cab"), b"b").unwrap();
        fs::write(root.join("z.cab"), b"z").unwrap();
        let p = plan_of(&site_path, &from);
        assert_eq!(p.changes[0].what, "files: 1 added, 1 changed, 1 removed");
        assert_eq!(
            p.new_text,
            format!(
                "[artifacts.office-source]\nurl = \"/srv/office-source\"\n[artifacts.office-source.files]\n\
                 \"a.cab\" = \"{}\"   # kept\n\"b.cab\" = \"{}\"\n\"z.cab\" = \"{}\"\n",
                sha(b"a"),
                sha(b"b"),
                sha(b"z")
            )
        );
    }

    #[test]
    fn rerun_yields_no_changes() {
        let site = format!(
            "[artifacts.lsagent-linux]\nurl = \"https://x/LsAgent.run\"\nsha256 = \"{OLD}\"\n"
        );
        let (_d, site_path, from) = kit(&site);
        fs::write(from.join("LsAgent.run"), b"agent").unwrap();
        fs::write(from.join("teams-msix.msix"), b"teams").unwrap();
        fs::create_dir_all(from.join("office-source/sub/deeper")).unwrap();
        fs::write(from.join("office-source/sub/deeper/x.cab"), b"x").unwrap();
        fs::write(from.join("office-source/.hidden-inside"), b"h").unwrap();
        let first = plan_of(&site_path, &from);
        assert_eq!(first.changes.len(), 3, "{:?}", first.changes);
        fs::write(&site_path, &first.new_text).unwrap();
        let second = plan_of(&site_path, &from);
        assert!(second.changes.is_empty(), "{:?}", second.changes);
        assert_eq!(second.new_text, first.new_text);
        // And the hidden file inside the tree is pinned: only top-level dot-files are skipped.
        assert!(first.new_text.contains("\".hidden-inside\""));
    }

    #[test]
    fn unmatched_file_reported() {
        let (_d, site_path, from) = kit("[organisation]\nname = \"x\"\n");
        fs::write(from.join("random-tool.zip"), b"z").unwrap();
        fs::write(from.join(".DS_Store"), b"junk").unwrap();
        let p = plan_of(&site_path, &from);
        assert!(p.changes.is_empty());
        assert_eq!(p.unmatched.len(), 1, "{:?}", p.unmatched);
        let u = &p.unmatched[0];
        assert!(u.starts_with("random-tool.zip: "), "{u}");
        assert!(
            u.contains("name it by an [artifacts.NAME] url, or rename it to an artifact name: lsagent-linux, office-odt, office-source, teams-msix"),
            "{u}"
        );
        assert_eq!(p.new_text, "[organisation]\nname = \"x\"\n");
    }

    #[test]
    fn url_basename_percent_decoded() {
        let site =
            "[artifacts.lsagent-linux]\nurl = \"https://x/dl/LsAgent%20Setup.run?token=1\"\n";
        let (_d, site_path, from) = kit(site);
        fs::write(from.join("LsAgent Setup.run"), b"agent").unwrap();
        let p = plan_of(&site_path, &from);
        assert_eq!(
            p.changes[0].what,
            format!("sha256 (none) → {}", short(&sha(b"agent")))
        );
        assert_eq!(
            p.new_text,
            format!("{site}sha256 = \"{}\"\n", sha(b"agent"))
        );
        assert_eq!(
            url_basename("https://x/office-source/").as_deref(),
            Some("office-source")
        );
        assert_eq!(
            url_basename("file:///k/a%2Bb.exe").as_deref(),
            Some("a+b.exe")
        );
        assert_eq!(url_basename("dl/a%20b.exe").as_deref(), Some("a%20b.exe"));
        assert_eq!(url_basename(r"C:\kit\x.msi").as_deref(), Some("x.msi"));
        assert_eq!(url_basename("https://host/").as_deref(), None);
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
    }

    #[test]
    fn table_without_url_is_completed_and_conflicts_are_reported() {
        let site = format!(
            "[artifacts.edr-agent]\n# fill in\n\n[artifacts.lsagent-linux]\nurl = \"https://x/LsAgent-linux-x64.run\"\nsha256 = \"{OLD}\"\n\n\
             [artifacts.office-source]\nurl = \"https://x/office/\"\nsha256 = \"{OLD}\"\nmanifest = \"office.sha256\"\n"
        );
        let (_d, site_path, from) = kit(&site);
        fs::write(from.join("edr-agent.deb"), b"edr").unwrap();
        fs::write(from.join("lsagent-linux.run"), b"agent").unwrap();
        fs::create_dir(from.join("office")).unwrap();
        fs::write(from.join("office/x"), b"x").unwrap();
        let p = plan_of(&site_path, &from);
        assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
        assert_eq!(
            p.changes[0].what,
            format!(
                "url = \"downloads/edr-agent.deb\", sha256 (none) → {}",
                short(&sha(b"edr"))
            )
        );
        assert!(p.new_text.starts_with(&format!(
            "[artifacts.edr-agent]\nurl = \"downloads/edr-agent.deb\"\nsha256 = \"{}\"\n# fill in\n\n[artifacts.lsagent-linux]",
            sha(b"edr")
        )), "{}", p.new_text);
        assert_eq!(p.unmatched.len(), 2, "{:?}", p.unmatched);
        assert!(
            p.unmatched[0]
                .starts_with("lsagent-linux.run: [artifacts.lsagent-linux] already has url")
                && p.unmatched[0].contains("rename lsagent-linux.run to \"LsAgent-linux-x64.run\""),
            "{}",
            p.unmatched[0]
        );
        assert!(
            p.unmatched[1]
                .starts_with("office: [artifacts.office-source] pins its files by a manifest file"),
            "{}",
            p.unmatched[1]
        );
    }

    #[test]
    fn two_entries_for_one_artifact_and_ambiguous_urls() {
        let site = "[artifacts.a]\nurl = \"https://x/1/setup.exe\"\n[artifacts.b]\nurl = \"https://x/2/setup.exe\"\n";
        let (_d, site_path, from) = kit(site);
        fs::write(from.join("setup.exe"), b"s").unwrap();
        fs::write(from.join("lsagent-linux.bin"), b"1").unwrap();
        fs::write(from.join("lsagent-linux.run"), b"2").unwrap();
        let p = plan_of(&site_path, &from);
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].name, "lsagent-linux");
        assert!(p.new_text.contains("lsagent-linux.bin"));
        assert_eq!(p.unmatched.len(), 2, "{:?}", p.unmatched);
        assert!(p.unmatched[0].starts_with(
            "lsagent-linux.run: [artifacts.lsagent-linux] is already locked from lsagent-linux.bin"
        ));
        assert!(
            p.unmatched[1].starts_with("setup.exe: the url of several artifacts ends in it (a, b)")
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let (_d, site_path, from) = kit("");
        let e = plan(&site_path, "[a]\nx = 1\ny = = 2\n", &from, &known()).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.starts_with(&format!("{}:3:", site_path.display())),
            "{msg}"
        );
        let e = plan(&site_path, "x = 1\nartifacts = 3\n", &from, &known()).unwrap_err();
        assert!(
            format!("{e:#}").contains("site.toml:2: `artifacts` must be a table"),
            "{e:#}"
        );
        let e = plan(&site_path, "", &from.join("nope"), &known()).unwrap_err();
        assert!(format!("{e:#}").contains("nope"), "{e:#}");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_inside_a_directory_artifact_is_an_error() {
        let (_d, site_path, from) = kit("");
        fs::create_dir_all(from.join("office-source")).unwrap();
        fs::write(from.join("office-source/a"), b"a").unwrap();
        std::os::unix::fs::symlink("a", from.join("office-source/link")).unwrap();
        let e = plan(&site_path, "", &from, &known()).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("office-source/link") && msg.contains("symbolic link"),
            "{msg}"
        );
    }

    #[test]
    fn crlf_files_keep_their_line_ends() {
        let site = format!(
            "# c\r\n[artifacts.lsagent-linux]\r\nurl = \"https://x/a.run\"\r\nsha256 = \"{OLD}\"\r\n"
        );
        let (_d, site_path, from) = kit(&site);
        fs::write(from.join("a.run"), b"a").unwrap();
        let p = plan_of(&site_path, &from);
        assert_eq!(p.new_text, site.replace(OLD, &sha(b"a")));
    }

    #[test]
    fn run_writes_when_told_and_not_when_it_cannot_ask() {
        let site =
            format!("# keep\n[artifacts.x]\nurl = \"https://h/x.run\"\nsha256 = \"{OLD}\"\n");
        let (_d, site_path, from) = kit(&site);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&site_path, fs::Permissions::from_mode(0o640)).unwrap();
        }
        fs::write(from.join("x.run"), b"x").unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());

        // No terminal, no --yes: nothing written, exit 1.
        let code = run_io(&site_path, &from, false, &known(), None, &mut out, &mut err).unwrap();
        assert_eq!(code, 1);
        assert_eq!(fs::read_to_string(&site_path).unwrap(), site);
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(text.contains("Rerun with --yes"), "{text}");

        // Asked, answered no.
        let mut no: &[u8] = b"n\n";
        let code = run_io(
            &site_path,
            &from,
            false,
            &known(),
            Some(&mut no),
            &mut out,
            &mut err,
        )
        .unwrap();
        assert_eq!(code, 1);
        assert_eq!(fs::read_to_string(&site_path).unwrap(), site);
        assert!(String::from_utf8_lossy(&err)
            .contains(&format!("Write 1 change to {}? [y/N]", site_path.display())));

        // Asked, answered yes: written, mode kept, no temporary file left.
        let mut yes: &[u8] = b"y\n";
        let code = run_io(
            &site_path,
            &from,
            false,
            &known(),
            Some(&mut yes),
            &mut out,
            &mut err,
        )
        .unwrap();
        assert_eq!(code, 0);
        assert_eq!(
            fs::read_to_string(&site_path).unwrap(),
            site.replace(OLD, &sha(b"x"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&site_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o7777, 0o640);
        }
        let leftovers: Vec<_> = fs::read_dir(site_path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains("handover-lock"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        // Nothing left to change: exit 0 with --yes too.
        let code = run_io(&site_path, &from, true, &known(), None, &mut out, &mut err).unwrap();
        assert_eq!(code, 0);
    }

    #[test]
    fn placement_follows_header_order_and_inline_tables_are_edited_in_place() {
        // Root keys in first-appearance order (a, b) differ from header order (a, b, a.sub): the new
        // table still goes at the very end, below the file's last comment.
        let site = "[a]\nx = 1\n[b]\ny = 2\n[a.sub]\nz = 3\n# last words\n";
        let (_d, site_path, from) = kit(site);
        fs::write(from.join("lsagent-linux.run"), b"l").unwrap();
        let p = plan_of(&site_path, &from);
        assert_eq!(
            p.new_text,
            format!(
                "{site}\n[artifacts.lsagent-linux]\nurl = \"downloads/lsagent-linux.run\"\nsha256 = \"{}\"\n",
                sha(b"l")
            )
        );

        let site = format!(
            "[artifacts]\nx = {{ url = \"https://h/x.run\", sha256 = \"{OLD}\" }} # inline\n\
             o = {{ url = \"https://h/o/\" }}\n\n[[waiver]]\ncontrol = \"c\"\n# tail\n"
        );
        let (_d, site_path, from) = kit(&site);
        fs::write(from.join("x.run"), b"x").unwrap();
        fs::create_dir(from.join("o")).unwrap();
        fs::write(from.join("o/f"), b"f").unwrap();
        fs::write(from.join("teams-msix"), b"t").unwrap();
        let p = plan_of(&site_path, &from);
        assert_eq!(
            p.new_text,
            format!(
                "[artifacts]\nx = {{ url = \"https://h/x.run\", sha256 = \"{}\" }} # inline\n\
                 o = {{ url = \"https://h/o/\", files = {{ f = \"{}\" }} }}\n\n\
                 [artifacts.teams-msix]\nurl = \"downloads/teams-msix\"\nsha256 = \"{}\"\n\n\
                 [[waiver]]\ncontrol = \"c\"\n# tail\n",
                sha(b"x"),
                sha(b"f"),
                sha(b"t")
            )
        );
        assert_eq!(plan_of_text(&site_path, &p.new_text, &from).changes, vec![]);
    }

    fn plan_of_text(site_path: &Path, text: &str, from: &Path) -> LockPlan {
        plan(site_path, text, from, &known()).unwrap()
    }
}
