//! `handover records verify`: signatures, digests, the hash chain, sequence numbers and the kit's copy,
//! as findings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use serde_json::Value;

use super::keys::read_pubkeys;
use super::paths::{kit_pubkey_path, sig_path};
use super::sign::{read_sig, MAX_RECORD};
use crate::evidence::store::{list_records, record_seq, records_dir_of, Entry};
use crate::support::hashing::{hex, sha256_bytes, unhex};
use crate::support::perms::read_regular;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One thing `verify` found, about one record (its file name) or the whole directory.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub record: Option<String>,
    pub level: Level,
    pub message: String,
}

/// What `verify` checked and found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub dir: PathBuf,
    /// The records checked, in chain order.
    pub records: Vec<String>,
    /// The trusted public keys (hex); empty when none was given.
    pub keys: Vec<String>,
    pub kit_copy: Option<PathBuf>,
    /// No key was given and the device's own `records.pub` is all there is (F5).
    pub device_key_only: bool,
    pub findings: Vec<Finding>,
}

pub const UNSIGNED: &str =
    "unsigned: no public key given, so the hash chain alone proves nothing against the device's administrator";

/// The warning on a record no technician's run wrote (a scheduled check, or a record older than the
/// kit's key): copied to the kit, never signed.
pub const UNSIGNED_RECORD: &str =
    "unsigned: written while the kit was away (a scheduled run), so it is the device's word only";

/// F5: the only key at hand is the device's own `STATE/records.pub`, which its administrator can replace
/// together with the records.
pub const DEVICE_KEY: &str = "not verified: key held by the device (its administrator could replace it along with the records); give --kit KIT or --pubkey FILE";

impl Verification {
    /// No error, and the signatures were checked against a trusted key.
    pub fn ok(&self) -> bool {
        !self.keys.is_empty() && self.ok_allowing_unsigned()
    }

    /// No error (for `--allow-unsigned`: the chain and digests only).
    pub fn ok_allowing_unsigned(&self) -> bool {
        !self.findings.iter().any(|f| f.level == Level::Error)
    }

    /// The records with an error.
    pub fn failed(&self) -> BTreeSet<String> {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .filter_map(|f| f.record.clone())
            .collect()
    }

    /// One line per record (`ok` or its findings), then the directory's findings and a verdict.
    pub fn text(&self) -> String {
        let mut out = format!("{}: {} records\n", self.dir.display(), self.records.len());
        let per: BTreeMap<&str, Vec<&Finding>> =
            self.findings.iter().fold(BTreeMap::new(), |mut m, f| {
                if let Some(r) = &f.record {
                    m.entry(r.as_str()).or_default().push(f);
                }
                m
            });
        let mut named: BTreeSet<&str> = BTreeSet::new();
        for r in &self.records {
            named.insert(r);
            match per.get(r.as_str()) {
                None => out.push_str(&format!("  ok       {r}\n")),
                Some(fs) => {
                    for f in fs {
                        out.push_str(&format!("  {:<8} {r}: {}\n", label(f.level), f.message));
                    }
                }
            }
        }
        for f in &self.findings {
            match &f.record {
                Some(r) if named.contains(r.as_str()) => {}
                Some(r) => out.push_str(&format!("  {:<8} {r}: {}\n", label(f.level), f.message)),
                None => out.push_str(&format!("{}: {}\n", label(f.level), f.message)),
            }
        }
        let unsigned = self
            .findings
            .iter()
            .filter(|f| f.message == UNSIGNED_RECORD)
            .count();
        let signed = self.records.len().saturating_sub(unsigned);
        if self.ok() {
            out.push_str(&format!(
                "VERIFIED: {signed} record(s) signed with the trusted key, and the chain is whole\n"
            ));
            if unsigned > 0 {
                out.push_str(&format!(
                    "  {unsigned} unsigned record(s), marked above, are the device's word only\n"
                ));
            }
        } else if self.ok_allowing_unsigned() {
            out.push_str(if self.device_key_only {
                "NOT VERIFIED: key held by the device; the chain is whole\n"
            } else {
                "NOT VERIFIED: the chain is whole, but no trusted key checked the signatures\n"
            });
        } else {
            out.push_str("NOT VERIFIED\n");
        }
        out
    }
}

pub(crate) fn label(l: Level) -> &'static str {
    match l {
        Level::Error => "FAIL",
        Level::Warning => "WARNING",
    }
}

/// Verify the records of `dir` (the records directory or the state directory above it): each record's
/// signature against the trusted `pubkey` (without one, against the key the signature names, with an
/// [`UNSIGNED`] warning and `ok()` false), its digest, the chain of `previous` hashes and the sequence
/// numbers; with `kit_copy` (the kit's `records/<asset>/`), that every record there is on the device with
/// the same bytes. Errors (`Err`) are for a directory that cannot be read; tampering is in the findings.
pub fn verify(dir: &Path, pubkey: Option<&Path>, kit_copy: Option<&Path>) -> Result<Verification> {
    let dir = records_dir_of(dir);
    let records = list_records(&dir)?;
    let keys = match pubkey {
        Some(p) => read_pubkeys(p)?,
        None => Vec::new(),
    };
    let on_disk = OnDisk::read(records)?;
    let key_hex: Vec<String> = keys.iter().map(|k| hex(k.as_bytes())).collect();
    let mut found = Findings::default();
    check_sequence(&on_disk.records, &mut found);
    check_chain(&on_disk, &mut found);
    let unsigned = check_signatures(&on_disk, &keys, &key_hex, kit_copy, &mut found);
    check_orphan_signatures(&dir, &on_disk.records, &mut found)?;
    if let Some(kit) = kit_copy.filter(|k| k.exists()) {
        check_kit_copy(kit, &on_disk, &mut found)?;
    }
    let mut findings = found.0;
    findings.extend(unsigned.into_iter().map(|r| Finding {
        record: Some(r),
        level: Level::Warning,
        message: UNSIGNED_RECORD.into(),
    }));
    if let Some(kit) = kit_copy.filter(|k| !k.exists()) {
        findings.push(Finding {
            record: None,
            level: Level::Warning,
            message: format!(
                "the kit holds no copy of this device's records ({} is missing)",
                kit.display()
            ),
        });
    }
    findings.extend(state_hint(&dir, &on_disk));
    if on_disk.records.is_empty() {
        findings.push(Finding {
            record: None,
            level: Level::Error,
            message: "no records: nothing to verify".into(),
        });
    }
    if keys.is_empty() {
        findings.push(Finding {
            record: None,
            level: Level::Warning,
            message: UNSIGNED.into(),
        });
    }
    Ok(Verification {
        records: on_disk.records.iter().map(|e| e.name.clone()).collect(),
        dir,
        keys: key_hex,
        kit_copy: kit_copy.map(Path::to_path_buf),
        device_key_only: false,
        findings,
    })
}

/// The records of a directory as read once: their entries, bytes and `sha256:` hashes, in order.
struct OnDisk {
    records: Vec<Entry>,
    bytes: Vec<Vec<u8>>,
    hashes: Vec<String>,
}

impl OnDisk {
    fn read(records: Vec<Entry>) -> Result<Self> {
        let bytes: Vec<Vec<u8>> = records
            .iter()
            .map(|e| read_regular(&e.path, MAX_RECORD))
            .collect::<Result<_>>()?;
        let hashes = bytes
            .iter()
            .map(|b| format!("sha256:{}", sha256_bytes(b)))
            .collect();
        Ok(OnDisk {
            records,
            bytes,
            hashes,
        })
    }

    /// The record name of each hash.
    fn by_hash(&self) -> BTreeMap<&str, &str> {
        self.hashes
            .iter()
            .zip(&self.records)
            .map(|(h, e)| (h.as_str(), e.name.as_str()))
            .collect()
    }
}

/// The errors found so far, in the order they are reported.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn err(&mut self, record: &str, message: String) {
        self.0.push(Finding {
            record: Some(record.to_string()),
            level: Level::Error,
            message,
        })
    }
}

/// Sequence numbers: 1, 2, 3… with no gap and no number twice.
fn check_sequence(records: &[Entry], found: &mut Findings) {
    let mut expected = 1u64;
    for (i, e) in records.iter().enumerate() {
        if i > 0 && records[i - 1].seq == e.seq {
            found.err(
                &e.name,
                format!(
                    "sequence number {} is also {}: two chains mixed, or a record copied",
                    e.seq,
                    records[i - 1].name
                ),
            );
            continue;
        }
        if e.seq > expected {
            let missing = if e.seq - expected == 1 {
                format!("record {expected:06} is missing")
            } else {
                format!("records {expected:06} to {:06} are missing", e.seq - 1)
            };
            found.err(
                &e.name,
                format!(
                    "{missing} before it{}: removed?",
                    match i {
                        0 => String::new(),
                        _ => format!(" (after {})", records[i - 1].name),
                    }
                ),
            );
        }
        expected = e.seq + 1;
    }
}

/// The chain of `previous` hashes.
fn check_chain(on_disk: &OnDisk, found: &mut Findings) {
    let OnDisk {
        records,
        bytes,
        hashes,
    } = on_disk;
    let by_hash = on_disk.by_hash();
    for (i, e) in records.iter().enumerate() {
        let doc: Value = match serde_json::from_slice(&bytes[i]) {
            Ok(d) => d,
            Err(x) => {
                found.err(&e.name, format!("not JSON ({x})"));
                continue;
            }
        };
        let previous = match doc.get("previous") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            _ => {
                found.err(&e.name, "not a handover record: no `previous` field".into());
                continue;
            }
        };
        let want = i.checked_sub(1).map(|j| hashes[j].as_str());
        if previous == want {
            continue;
        }
        let before = || &records[i - 1].name;
        let msg = match (previous, want) {
            (Some(p), _) if by_hash.contains_key(p) && by_hash[p] != e.name => format!(
                "its previous record is {}, but it comes {}: records reordered (renamed or swapped)",
                by_hash[p],
                match want {
                    None => "first".to_string(),
                    Some(_) => format!("after {}", before()),
                }
            ),
            (Some(p), None) => format!(
                "the first record here names a previous record ({p}): earlier records were removed"
            ),
            (None, Some(_)) => format!(
                "`previous` is null, but {} comes before it: a chain restarted, or records were inserted",
                before()
            ),
            (Some(p), Some(w)) => format!(
                "`previous` is {p}, but {} before it hashes to {w}: {} was edited, or a record between them removed",
                before(),
                before()
            ),
            (None, None) => unreachable!(),
        };
        found.err(&e.name, msg);
    }
}

/// Signatures: each record's, against the trusted keys (or, without any, the key it names). Returns the
/// records no technician's run signed, to warn about after the errors.
fn check_signatures(
    on_disk: &OnDisk,
    keys: &[VerifyingKey],
    key_hex: &[String],
    kit_copy: Option<&Path>,
    found: &mut Findings,
) -> Vec<String> {
    let mut unsigned: Vec<String> = Vec::new();
    for (e, bytes) in on_disk.records.iter().zip(&on_disk.bytes) {
        let sig_name = format!("{}.sig", e.name);
        // A record signed on the technician's machine (`kit sign`) has its signature on the kit only.
        let sp = match kit_copy.map(|k| k.join(&sig_name)) {
            Some(k) if !sig_path(&e.path).exists() && k.is_file() => k,
            _ => sig_path(&e.path),
        };
        if !sp.exists() && !sp.is_symlink() {
            // A run the technician was present for names the kit's key in its record: its signature
            // cannot be missing unless removed (or still pending `kit sign`, on the kit's copy).
            let named = serde_json::from_slice::<Value>(bytes)
                .ok()
                .and_then(|d| d.get("kit_key").and_then(Value::as_str).map(str::to_string));
            match named {
                Some(k) => found.err(
                    &e.name,
                    format!("written with the kit (key {k}) present, but {sig_name} is missing: the signature was removed, or `handover kit sign` has not signed it yet"),
                ),
                None => unsigned.push(e.name.clone()),
            }
            continue;
        }
        for msg in signature_errors(&sp, &sig_name, bytes, keys, key_hex) {
            found.err(&e.name, msg);
        }
    }
    unsigned
}

/// What is wrong with the signature file `sp` of a record's `bytes`, in the order it is reported.
fn signature_errors(
    sp: &Path,
    sig_name: &str,
    bytes: &[u8],
    keys: &[VerifyingKey],
    key_hex: &[String],
) -> Vec<String> {
    let s = match read_sig(sp) {
        Ok(s) => s,
        Err(x) => return vec![format!("{sig_name}: unreadable ({x:#})")],
    };
    let Some(sig) = s.sig.filter(|_| s.alg == "ed25519") else {
        return vec![format!("{sig_name}: not an ed25519 signature")];
    };
    let mut errors = Vec::new();
    let digest = sha256_bytes(bytes);
    if s.sha256 != digest {
        errors.push(format!(
            "edited after it was signed: its sha256 is {digest}, the signature's is {}",
            s.sha256
        ));
    }
    if keys.is_empty() {
        let named = unhex(&s.key)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok());
        match named {
            Some(k) if k.verify_strict(bytes, &sig).is_ok() => {}
            _ => errors.push(format!(
                "{sig_name}: the signature does not match the record"
            )),
        }
    } else if !keys.iter().any(|k| k.verify_strict(bytes, &sig).is_ok()) {
        errors.push(if key_hex.contains(&s.key) {
            "the signature does not match the record: edited after it was signed".to_string()
        } else {
            format!(
                "signed with key {}, not the trusted key: re-signed without the kit's key",
                s.key
            )
        });
    }
    errors
}

/// Signatures left behind by a removed record.
fn check_orphan_signatures(dir: &Path, records: &[Entry], found: &mut Findings) -> Result<()> {
    let names: BTreeSet<&str> = records.iter().map(|e| e.name.as_str()).collect();
    let mut orphans: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| {
            let rec = n.strip_suffix(".sig")?;
            (record_seq(rec).is_some() && !names.contains(rec)).then(|| rec.to_string())
        })
        .collect();
    orphans.sort();
    for rec in orphans {
        found.err(
            &rec,
            format!("{rec}.sig is here, {rec} is not: the record was removed"),
        );
    }
    Ok(())
}

/// The kit's copy: every record there must be here, byte for byte (catches the newest deleted).
fn check_kit_copy(kit: &Path, on_disk: &OnDisk, found: &mut Findings) -> Result<()> {
    let theirs = list_records(kit)?;
    for k in &theirs {
        let newest = theirs.last().is_some_and(|l| l.name == k.name);
        let kb = read_regular(&k.path, MAX_RECORD)?;
        match on_disk.records.iter().position(|e| e.name == k.name) {
            None => found.err(
                &k.name,
                format!(
                    "in the kit's copy but not on the device: deleted{}",
                    if newest { " (the newest record)" } else { "" }
                ),
            ),
            Some(i) if on_disk.bytes[i] != kb => found.err(
                &k.name,
                "differs from the kit's copy: edited on the device".into(),
            ),
            Some(_) => {}
        }
    }
    Ok(())
}

/// The state file's idea of the newest record (the device's admin can edit it too: a hint only).
fn state_hint(dir: &Path, on_disk: &OnDisk) -> Option<Finding> {
    if dir.file_name().is_none_or(|n| n != "records") {
        return None;
    }
    let state = crate::evidence::record::State::load(dir.parent()?).ok()?;
    let last = state.last_record.as_deref()?;
    if on_disk.hashes.last().map(String::as_str) == Some(last) {
        return None;
    }
    Some(match on_disk.by_hash().get(last) {
        Some(r) => Finding {
            record: Some(r.to_string()),
            level: Level::Warning,
            message: "state.json names this as the newest record, but later ones follow (a run interrupted before it saved its state?)".into(),
        },
        None => Finding {
            record: on_disk.records.last().map(|e| e.name.clone()),
            level: Level::Error,
            message: format!("state.json's newest record ({last}) is not here: the newest record was deleted or edited"),
        },
    })
}

/// The public key to verify with when none is given: the kit's. Never the device's own
/// `STATE/records.pub`, which the device's administrator could replace along with the records (F5).
pub fn default_pubkey(kit: Option<&Path>) -> Option<PathBuf> {
    kit.map(kit_pubkey_path).filter(|p| p.exists())
}
