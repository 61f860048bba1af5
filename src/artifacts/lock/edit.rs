//! The `toml_edit` side of lock: write an artifact's url, sha256 or files into the document while
//! keeping every other byte (comments, spacing, table order) as it was.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::anyhow;
use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike, Value};

use super::entries::Content;

pub(super) fn short(hex: &str) -> String {
    match hex.get(..8) {
        Some(s) if hex.len() > 8 => format!("{s}…"),
        _ => hex.to_string(),
    }
}

/// Write `content` (and `url`, when given: rule 2) into `[artifacts.NAME]`, creating it when absent;
/// returns the change line, or None when the table already says exactly this.
pub(super) fn update(
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
pub(super) fn toml_error(file: &Path, text: &str, e: &toml_edit::TomlError) -> anyhow::Error {
    let (line, col) = e
        .span()
        .map_or((1, 1), |s| crate::inputs::textpos::line_col(text, s.start));
    anyhow!(
        "{}:{line}:{col}: not valid TOML: {}",
        file.display(),
        e.message().trim()
    )
}
