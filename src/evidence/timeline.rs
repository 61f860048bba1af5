//! Time in state (SPEC §2): since when each control has had its present status, from the device's
//! unbroken record chain.
//!
//! A check must stay fast, so the chain is not re-read and re-verified on every run. Every record
//! carries each control's `since` (signed with the record, so `record verify` covers it); a run reads
//! the newest record only, checks that its sha256 is the one `state.json` keeps (the link the next
//! record will name as `previous`), and carries each control's `since` forward when the status is the
//! same, else starts it at this run. Only when the newest record is partial (`--only`) and lacks a
//! control does it step back along `previous` links, each checked the same way, to the control's last
//! observation (at most the run of partial records since the latest full one).
//!
//! The rules:
//! - `fixed` starts the passing state at this run (the control failed until this run changed it); a
//!   later `pass` carries the `since` of the `fixed` record. `pass` after `pass` or `fixed` carries.
//! - Any other status carries only after the same status (`fail` after `fail`, `waived` after
//!   `waived`…); a change of status, a waiver starting or an attestation starts it again.
//! - `--only` runs count for the controls they ran, and leave the others as they were.
//! - `plan` shows the same reading of the chain as a check would (it writes no record).
//! - A missing chain (the first run, or records this user cannot read) or a broken one (the newest
//!   record does not hash to what `state.json` names, a `previous` link that does not hold) gives
//!   `since` = this run, and the report's `time_in_state` says which and why; a broken chain is also a
//!   warning.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::evidence::report::{Chain, Report, Status, TimeInState};
use crate::evidence::store::list_records;
use crate::support::hashing::sha256_bytes;

/// How many records a run steps back at most, looking for a control a partial record lacks.
const MAX_STEPS: usize = 64;

/// What the chain says of each control: its last status and since when it has had it.
#[derive(Debug, Clone)]
pub struct Prior {
    pub chain: Chain,
    pub note: String,
    controls: BTreeMap<String, (Status, String)>,
}

/// The parts of a record this needs (serde skips the rest: the observed evidence, the outputs).
#[derive(Deserialize)]
struct Lite {
    report: LiteReport,
    previous: Option<String>,
}

#[derive(Deserialize)]
struct LiteReport {
    scope: crate::evidence::report::Scope,
    started_at: String,
    controls: Vec<LiteControl>,
}

#[derive(Deserialize)]
struct LiteControl {
    id: String,
    status: Status,
    #[serde(default)]
    since: Option<String>,
}

impl Prior {
    fn new(chain: Chain, note: impl Into<String>) -> Prior {
        Prior {
            chain,
            note: note.into(),
            controls: BTreeMap::new(),
        }
    }

    /// Read the chain of `records_dir` back from its newest record, which must hash to `head` (what
    /// `state.json` names), far enough to find each of `wanted`.
    pub fn read(records_dir: &Path, head: Option<&str>, wanted: &[&str]) -> Prior {
        let entries = match list_records(records_dir) {
            Ok(e) => e,
            // No records directory at all; one this user cannot look into is not "none".
            Err(_) if matches!(records_dir.try_exists(), Ok(false)) => Vec::new(),
            Err(e) => {
                return Prior::new(
                    Chain::Missing,
                    format!(
                        "the records could not be read ({e:#}): time in state starts with this run"
                    ),
                )
            }
        };
        let Some(head) = head else {
            return if entries.is_empty() {
                Prior::new(
                    Chain::Missing,
                    "no earlier record on this device: time in state starts with this run",
                )
            } else {
                Prior::new(
                    Chain::Broken,
                    format!(
                        "state.json names no newest record, but {} record(s) exist: the chain is broken and time in state restarts with this run",
                        entries.len()
                    ),
                )
            };
        };
        let mut prior = Prior::new(
            Chain::Unbroken,
            "carried from the newest record, whose hash state.json keeps",
        );
        let mut expected = head.to_string();
        let mut steps = 0;
        for e in entries.iter().rev() {
            let bytes = match std::fs::read(&e.path) {
                Ok(b) => b,
                Err(err) => {
                    prior.broken(format!("record {} could not be read ({err})", e.name));
                    return prior;
                }
            };
            if format!("sha256:{}", sha256_bytes(&bytes)) != expected {
                prior.broken(format!(
                    "record {} does not have the hash the chain names ({expected})",
                    e.name
                ));
                return prior;
            }
            let rec: Lite = match serde_json::from_slice(&bytes) {
                Ok(r) => r,
                Err(err) => {
                    prior.broken(format!("record {} is not a record ({err})", e.name));
                    return prior;
                }
            };
            for c in rec.report.controls {
                prior.controls.entry(c.id).or_insert_with(|| {
                    // A record from before since existed: its own time is the earliest known.
                    let since = c.since.unwrap_or_else(|| rec.report.started_at.clone());
                    (c.status, since)
                });
            }
            steps += 1;
            let all_found = wanted.iter().all(|w| prior.controls.contains_key(*w));
            if rec.report.scope == crate::evidence::report::Scope::Full
                || all_found
                || steps >= MAX_STEPS
            {
                return prior;
            }
            match rec.previous {
                Some(p) => expected = p,
                None => return prior,
            }
        }
        if steps == 0 {
            prior.broken(format!("state.json names record {head}, but there is none"));
        } else {
            prior.broken(format!(
                "the record {expected} that the chain names is missing"
            ));
        }
        prior
    }

    fn broken(&mut self, why: String) {
        self.chain = Chain::Broken;
        self.note = if self.controls.is_empty() {
            format!("{why}: the chain is broken and time in state restarts with this run")
        } else {
            format!("{why}: the chain is broken there; controls last seen before it restart with this run")
        };
    }

    /// Since when a control with `status` now has had it, given this run's time.
    fn since(&self, id: &str, status: Status, now: &str) -> String {
        match self.controls.get(id) {
            Some((before, since)) if carries(status, *before) => since.clone(),
            _ => now.to_string(),
        }
    }
}

/// Whether a control now `status`, that was `before` in the previous record, has kept its state.
fn carries(status: Status, before: Status) -> bool {
    match status {
        // Apply changed it this run: it failed until now.
        Status::Fixed => false,
        Status::Pass => matches!(before, Status::Pass | Status::Fixed),
        s => s == before,
    }
}

/// Set every control's `since` and the report's `time_in_state` from `prior`; a broken chain is a
/// warning too. Call it once every status is final (after attestations on the terminal).
pub fn stamp(report: &mut Report, prior: &Prior) {
    let now = report.started_at.clone();
    for c in &mut report.controls {
        c.since = Some(prior.since(&c.id, c.status, &now));
    }
    if prior.chain == Chain::Broken {
        report
            .warnings
            .push(format!("time in state: {}", prior.note));
    }
    report.time_in_state = Some(TimeInState {
        chain: prior.chain,
        note: prior.note.clone(),
    });
}

/// [`stamp`] from the state directory's chain, whose newest record's hash is `head`.
pub fn stamp_from(report: &mut Report, state_dir: &Path, head: Option<&str>) {
    let wanted: Vec<&str> = report.controls.iter().map(|c| c.id.as_str()).collect();
    let prior = Prior::read(&state_dir.join("records"), head, &wanted);
    stamp(report, &prior);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::report::failing_since;

    #[test]
    fn fixed_restarts_pass_carries_and_any_other_change_restarts() {
        use Status::*;
        assert!(carries(Pass, Pass));
        assert!(carries(Pass, Fixed));
        assert!(!carries(Fixed, Fail));
        assert!(!carries(Fixed, Fixed));
        assert!(carries(Fail, Fail));
        assert!(!carries(Fail, Pass));
        assert!(!carries(Waived, Fail));
        assert!(!carries(Pass, Manual));
        assert!(carries(Waived, Waived));
        assert!(!carries(Error, Fail));
    }

    #[test]
    fn failing_since_counts_whole_days() {
        let now = "2026-12-05T09:00:00Z";
        assert_eq!(
            failing_since(Status::Fail, Some("2026-11-02T10:00:00Z"), now).as_deref(),
            Some("failing since 2026-11-02, 32 days")
        );
        assert_eq!(
            failing_since(Status::Fail, Some("2026-12-04T09:00:00Z"), now).as_deref(),
            Some("failing since 2026-12-04, 1 day")
        );
        assert_eq!(
            failing_since(Status::Error, Some(now), now).as_deref(),
            Some("in error since this run")
        );
        assert_eq!(failing_since(Status::Pass, Some(now), now), None);
        assert_eq!(failing_since(Status::Fail, None, now), None);
    }

    #[test]
    fn no_records_is_a_missing_chain_and_records_without_a_head_a_broken_one() {
        let d = tempfile::tempdir().unwrap();
        let p = Prior::read(&d.path().join("records"), None, &["os.supported"]);
        assert_eq!(p.chain, Chain::Missing);
        assert_eq!(p.since("os.supported", Status::Pass, "T"), "T");
        let p = Prior::read(&d.path().join("records"), Some("sha256:00"), &[]);
        assert_eq!(p.chain, Chain::Broken);
        assert!(p.note.contains("there is none"), "{}", p.note);
        std::fs::create_dir(d.path().join("records")).unwrap();
        std::fs::write(d.path().join("records/000001-x-check-full.json"), "{}").unwrap();
        let p = Prior::read(&d.path().join("records"), None, &[]);
        assert_eq!(p.chain, Chain::Broken);
        assert!(p.note.contains("names no newest record"), "{}", p.note);
    }
}
