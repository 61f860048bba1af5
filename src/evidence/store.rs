//! The records on disk: the state directory's `records/`, their names and sequence numbers, the chain
//! head, and resolving a record named on the command line.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::support::hashing::sha256_bytes;

/// A record file: `NNNNNN-STAMP-MODE-SCOPE.json`.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) seq: u64,
    pub(crate) path: PathBuf,
}

/// The sequence number of a record's file name, if it is one.
pub(crate) fn record_seq(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".json")?;
    let (digits, rest) = stem.split_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// The records of a directory, in chain order (sequence number, then name).
pub(crate) fn list_records(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Some(seq) = record_seq(&name) {
            if e.file_type()?.is_file() {
                out.push(Entry {
                    name,
                    seq,
                    path: e.path(),
                });
            }
        }
    }
    out.sort_by(|a, b| (a.seq, &a.name).cmp(&(b.seq, &b.name)));
    Ok(out)
}

/// `STATE/records` when given the state directory, else `dir` itself.
pub(crate) fn records_dir_of(dir: &Path) -> PathBuf {
    let sub = dir.join("records");
    let has_records = |d: &Path| {
        std::fs::read_dir(d).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_str().and_then(record_seq).is_some())
        })
    };
    if sub.is_dir() && !has_records(dir) {
        sub
    } else {
        dir.to_path_buf()
    }
}

/// `sha256:<hex>` of the newest record: what the next record's `previous` must be.
pub fn chain_head(records_dir: &Path) -> Result<Option<String>> {
    if !records_dir.exists() {
        return Ok(None);
    }
    let Some(last) = list_records(records_dir)?.pop() else {
        return Ok(None);
    };
    let bytes =
        std::fs::read(&last.path).with_context(|| format!("reading {}", last.path.display()))?;
    Ok(Some(format!("sha256:{}", sha256_bytes(&bytes))))
}

/// A record named by a path, a sequence number (`3`), or a file name in `records_dir`.
pub fn resolve_record(records_dir: &Path, spec: &str) -> Result<PathBuf> {
    let p = Path::new(spec);
    if p.is_file() {
        return Ok(p.to_path_buf());
    }
    let records = list_records(records_dir)?;
    if let Ok(n) = spec.parse::<u64>() {
        if let Some(e) = records.iter().find(|e| e.seq == n) {
            return Ok(e.path.clone());
        }
    }
    if let Some(e) = records.iter().find(|e| e.name == spec) {
        return Ok(e.path.clone());
    }
    bail!(
        "{spec}: no such record (a file, a sequence number or a name in {})",
        records_dir.display()
    )
}
