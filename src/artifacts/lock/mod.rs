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

mod edit;
mod entries;
mod matching;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use toml_edit::DocumentMut;

use edit::{toml_error, update};
use entries::{walk, Content};
use matching::{
    by_name, existing_artifacts, hint_names, kind_conflict, url_basename, url_for, ByName,
    Existing, Target,
};
#[cfg(test)]
use {edit::short, matching::percent_decode};

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
    let text = SiteText::of(src);
    let doc: DocumentMut = text
        .body
        .parse()
        .map_err(|e: toml_edit::TomlError| toml_error(site_path, &text.body, &e))?;
    let existing = existing_artifacts(&doc, site_path, &text.body)?;
    let entries = list_entries(from)?;
    let mut p = Planner::new(doc, &existing, known, from, site_path);
    for entry in entries {
        p.lock_entry(&entry)?;
    }
    let new_text = text.rejoin(src, &p.doc, !p.changes.is_empty(), site_path)?;
    Ok(LockPlan {
        changes: p.changes,
        unmatched: p.unmatched,
        new_text,
    })
}

/// The site text as `toml_edit` sees it: without a BOM and with `\n` line ends. `toml_edit` writes
/// `\n` line ends and keeps no BOM: restore both so untouched bytes stay untouched.
struct SiteText<'a> {
    bom: &'static str,
    crlf: bool,
    body: std::borrow::Cow<'a, str>,
}

impl<'a> SiteText<'a> {
    fn of(src: &'a str) -> Self {
        let (bom, body) = match src.strip_prefix('\u{feff}') {
            Some(rest) => ("\u{feff}", rest),
            None => ("", src),
        };
        let crlf = body.contains("\r\n") && !body.replace("\r\n", "").contains('\n');
        let body = if crlf {
            std::borrow::Cow::Owned(body.replace("\r\n", "\n"))
        } else {
            std::borrow::Cow::Borrowed(body)
        };
        SiteText { bom, crlf, body }
    }

    /// The new file text: `src` byte for byte when nothing changed, else the edited document with
    /// the BOM and line ends of `src`.
    fn rejoin(
        &self,
        src: &str,
        doc: &DocumentMut,
        changed: bool,
        site_path: &Path,
    ) -> Result<String> {
        if !changed {
            return Ok(src.to_string());
        }
        let out = doc.to_string();
        // A guard against writing a file that is no longer TOML (a toml_edit bug would be one).
        out.parse::<DocumentMut>().map_err(|e| {
            anyhow!(
                "internal error: the updated {} would not parse: {}",
                site_path.display(),
                e.message()
            )
        })?;
        let out = if self.crlf {
            out.replace('\n', "\r\n")
        } else {
            out
        };
        Ok(format!("{}{out}", self.bom))
    }
}

/// The entries of DIR, sorted by name.
fn list_entries(from: &Path) -> Result<Vec<fs::DirEntry>> {
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
    Ok(entries)
}

/// Why an entry of DIR is left alone: quietly (dot-files, the site file itself), or with a line for
/// the technician (`NAME: why`).
enum Skip {
    Quiet,
    Unmatched(String),
}

/// One step of locking an entry: its value, or why the entry is skipped.
type Step<T> = std::result::Result<T, Skip>;

/// The plan being built, one entry of DIR at a time.
struct Planner<'a> {
    doc: DocumentMut,
    existing: &'a [Existing],
    known: &'a [String],
    from: &'a Path,
    site_dir_canon: Option<PathBuf>,
    site_canon: Option<PathBuf>,
    changes: Vec<Change>,
    unmatched: Vec<String>,
    /// artifact name → the entry that locked it, so that two entries never fight over one table.
    claimed: BTreeMap<String, String>,
}

impl<'a> Planner<'a> {
    fn new(
        doc: DocumentMut,
        existing: &'a [Existing],
        known: &'a [String],
        from: &'a Path,
        site_path: &Path,
    ) -> Self {
        let site_dir = match site_path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Planner {
            doc,
            existing,
            known,
            from,
            site_dir_canon: fs::canonicalize(&site_dir).ok(),
            site_canon: fs::canonicalize(site_path).ok(),
            changes: Vec::new(),
            unmatched: Vec::new(),
            claimed: BTreeMap::new(),
        }
    }

    /// Match one entry to a table (rules 1 to 3), hash it and write it into the document.
    fn lock_entry(&mut self, entry: &fs::DirEntry) -> Result<()> {
        match self.try_lock(entry)? {
            Ok(()) | Err(Skip::Quiet) => {}
            Err(Skip::Unmatched(why)) => self.unmatched.push(why),
        }
        Ok(())
    }

    fn try_lock(&mut self, entry: &fs::DirEntry) -> Result<Step<()>> {
        let (name, path, is_dir) = match self.kind_of(entry)? {
            Ok(k) => k,
            Err(skip) => return Ok(Err(skip)),
        };
        let existing = self.existing;
        let target = match target_of(&name, existing, self.known) {
            Ok(t) => t,
            Err(skip) => return Ok(Err(skip)),
        };
        let art_name = target.name().to_string();
        if let Some(first) = self.claimed.get(&art_name) {
            return Ok(Err(Skip::Unmatched(format!(
                "{name}: [artifacts.{art_name}] is already locked from {first}"
            ))));
        }
        if let Some(why) = target.existing().and_then(|a| kind_conflict(a, is_dir)) {
            return Ok(Err(Skip::Unmatched(format!("{name}: {why}"))));
        }
        let content = match content_of(&name, &path, is_dir)? {
            Ok(c) => c,
            Err(skip) => return Ok(Err(skip)),
        };
        self.claimed.insert(art_name.clone(), name);
        let url = match target {
            Target::Refresh(_) => None,
            Target::Complete(_) | Target::Create(_) => {
                Some(url_for(&path, self.site_dir_canon.as_deref())?)
            }
        };
        if let Some(what) = update(&mut self.doc, &art_name, url.as_deref(), &content) {
            self.changes.push(Change {
                name: art_name,
                what,
            });
        }
        Ok(Ok(()))
    }

    /// The entry's name, path and whether it is a directory; anything but a plain file or directory
    /// with a UTF-8 name is skipped.
    fn kind_of(&self, entry: &fs::DirEntry) -> Result<Step<(String, PathBuf, bool)>> {
        let os_name = entry.file_name();
        let path = entry.path();
        let Some(name) = os_name.to_str().map(str::to_string) else {
            return Ok(Err(Skip::Unmatched(format!(
                "{}: the name is not valid UTF-8; rename it",
                os_name.to_string_lossy()
            ))));
        };
        if name.starts_with('.') {
            return Ok(Err(Skip::Quiet));
        }
        if self.site_canon.is_some() && fs::canonicalize(&path).ok() == self.site_canon {
            return Ok(Err(Skip::Quiet)); // DIR is the kit directory and this is the site file itself
        }
        let ft = entry
            .file_type()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if ft.is_symlink() {
            return Ok(Err(Skip::Unmatched(format!(
                "{name}: a symbolic link; lock hashes real files only (copy the file itself into {})",
                self.from.display()
            ))));
        }
        if !ft.is_dir() && !ft.is_file() {
            return Ok(Err(Skip::Unmatched(format!(
                "{name}: neither a regular file nor a directory"
            ))));
        }
        Ok(Ok((name, path, ft.is_dir())))
    }
}

/// Rules 1 and 2: the table an entry named `name` locks.
fn target_of<'e>(name: &str, existing: &'e [Existing], known: &[String]) -> Step<Target<'e>> {
    // Rule 1: an existing url whose last segment is this name.
    let by_url: Vec<&Existing> = existing
        .iter()
        .filter(|a| a.url.as_deref().and_then(url_basename).as_deref() == Some(name))
        .collect();
    if by_url.len() > 1 {
        let names: Vec<String> = by_url.iter().map(|a| a.name.clone()).collect();
        return Err(Skip::Unmatched(format!(
            "{name}: the url of several artifacts ends in it ({}); set their sha256 by hand, or give the urls distinct file names",
            names.join(", ")
        )));
    }
    if let Some(a) = by_url.first() {
        return Ok(Target::Refresh(a));
    }
    // Rule 2: the name, without extension(s), is an artifact name.
    match by_name(name, existing, known) {
        ByName::Complete(a) => Ok(Target::Complete(a)),
        ByName::Create(n) => Ok(Target::Create(n)),
        ByName::HasOtherUrl(a) => {
            let url = a.url.as_deref().unwrap_or_default();
            let base = url_basename(url).unwrap_or_default();
            Err(Skip::Unmatched(format!(
                "{name}: [artifacts.{}] already has url = {url:?}, whose file name is {base:?}; rename {name} to {base:?}, or change that url by hand",
                a.name
            )))
        }
        ByName::None => Err(Skip::Unmatched(format!(
            "{name}: matches no artifact; name it by an [artifacts.NAME] url, or rename it to an artifact name: {}",
            hint_names(existing, known)
        ))),
    }
}

/// What the entry's table will pin: a file's sha256, or a directory's every file.
fn content_of(name: &str, path: &Path, is_dir: bool) -> Result<Step<Content>> {
    if !is_dir {
        return Ok(Ok(Content::File(entries::sha256_file(path)?)));
    }
    let mut files = BTreeMap::new();
    walk(path, "", &mut files)?;
    if files.is_empty() {
        return Ok(Err(Skip::Unmatched(format!(
            "{name}: an empty directory; a directory artifact holds at least one file"
        ))));
    }
    Ok(Ok(Content::Dir(files)))
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
    // A symbolic link is followed, so the link stays a link; the file keeps its permissions (and
    // owner, when allowed).
    let target = fs::canonicalize(site_path).unwrap_or_else(|_| site_path.to_path_buf());
    crate::support::fsutil::write_atomic(
        &target,
        plan.new_text.as_bytes(),
        crate::support::fsutil::Perm::LikeExisting,
    )?;
    writeln!(out, "Wrote {n_changes} to {site}.")?;
    Ok(0)
}

fn read_site(site_path: &Path) -> Result<String> {
    fs::read_to_string(site_path)
        .with_context(|| format!("cannot read the site file {}", site_path.display()))
}
