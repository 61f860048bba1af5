//! The state directory (SPEC §7): what was said at handover (user, asset, ticket, technician), whose admin
//! password handover set, and a JSON record per `check` and `apply`, each holding the sha256 of the
//! previous one (a hash chain). Signing with the kit's key comes with the evidence issue.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::evidence::report::Report;
use crate::support::hashing::sha256_bytes;

/// What handover remembers between runs.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub user: Option<String>,
    pub asset: Option<String>,
    pub ticket: Option<String>,
    pub technician: Option<String>,
    /// Separate admin accounts whose password handover set, with when.
    pub admin_passwords_set: Vec<AdminPasswordSet>,
    /// sha256 of the newest record, the next record's `previous`.
    pub last_record: Option<String>,
    /// When the last `apply` finished: the next one defaults to `--reason drift`.
    pub last_apply: Option<String>,
    /// Technicians' confirmations of `manual` controls (issue 5).
    pub attestations: Vec<Attestation>,
}

/// A technician's confirmation of a control handover cannot read (SPEC §2): honoured for
/// [`ATTESTATION_DAYS`] days, and only on the OS installation it was given on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attestation {
    pub control: String,
    pub by: String,
    /// RFC 3339.
    pub at: String,
    pub text: String,
    /// [`crate::host::facts::install_id`] when it was given: a reinstall changes it.
    pub install_id: String,
}

pub const ATTESTATION_DAYS: u64 = 365;

impl Attestation {
    /// Still honoured at `now` on the installation `install_id`?
    pub fn valid(&self, now: std::time::SystemTime, install_id: &str) -> bool {
        let Ok(at) = humantime::parse_rfc3339_weak(&self.at) else {
            return false;
        };
        let age = now.duration_since(at).unwrap_or_default();
        self.install_id == install_id && age.as_secs() <= ATTESTATION_DAYS * 86_400
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminPasswordSet {
    pub account: String,
    pub at: String,
}

impl State {
    pub fn load(dir: &Path) -> Result<State> {
        let p = dir.join("state.json");
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b)
                .with_context(|| format!("{}: not a handover state file", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
        }
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::support::perms::ensure_private_dir(dir)?;
        crate::support::fsutil::write_private(
            &dir.join("state.json"),
            &serde_json::to_vec_pretty(self)?,
        )
    }

    pub fn admin_password_set(&self, account: &str) -> bool {
        self.admin_passwords_set
            .iter()
            .any(|a| a.account == account)
    }
}

/// One record: the report and what an auditor needs to trust it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    pub record_version: u32,
    pub report: Report,
    pub profile_digest: String,
    /// Installers run in this apply: name → sha256 of the copy that ran.
    pub artifacts: std::collections::BTreeMap<String, String>,
    /// sha256 of the previous record's file, `null` for the first.
    pub previous: Option<String>,
    /// The kit's public key (hex) when the technician's kit was present: such a record is signed, so a
    /// missing signature means a removed one (issue 14, F2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kit_key: Option<String>,
    /// The attestations honoured in this run. A later run honours an attestation only from a record
    /// signed with the kit's key, never from `state.json` alone (F2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<Attestation>,
}

/// Who stood behind a record: the kit present, and the attestations it carries.
#[derive(Debug, Default, Clone)]
pub struct Provenance {
    pub kit_key: Option<String>,
    pub attestations: Vec<Attestation>,
}

/// Write `report` as the next record in the chain; returns its path.
pub fn write(
    dir: &Path,
    state: &mut State,
    report: &Report,
    artifacts: std::collections::BTreeMap<String, String>,
) -> Result<PathBuf> {
    write_with(dir, state, report, artifacts, Provenance::default())
}

/// [`write`], with the record's provenance.
pub fn write_with(
    dir: &Path,
    state: &mut State,
    report: &Report,
    artifacts: std::collections::BTreeMap<String, String>,
    provenance: Provenance,
) -> Result<PathBuf> {
    let records = dir.join("records");
    crate::support::perms::ensure_private_dir(dir)?;
    crate::support::perms::ensure_private_dir(&records)?;
    let record = Record {
        record_version: 1,
        report: report.clone(),
        profile_digest: report.profile.digest.clone(),
        artifacts,
        previous: state.last_record.clone(),
        kit_key: provenance.kit_key,
        attestations: provenance.attestations,
    };
    let bytes = serde_json::to_vec_pretty(&record)?;
    // A sequence number first, so that names sort in the order of the chain even when the clock is
    // pinned (HANDOVER_NOW) or goes backwards.
    let seq = std::fs::read_dir(&records)?
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .split('-')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0)
        + 1;
    let stamp = report.finished_at.replace([':', '-'], "");
    let path = records.join(format!(
        "{seq:06}-{stamp}-{}-{}.json",
        report.mode.as_str(),
        report.scope.as_str()
    ));
    crate::support::fsutil::write_private(&path, &bytes)?;
    state.last_record = Some(format!("sha256:{}", sha256_bytes(&bytes)));
    Ok(path)
}

#[cfg(test)]
mod attestation_tests {
    use super::*;

    #[test]
    fn an_attestation_holds_for_365_days_on_the_same_installation() {
        let a = Attestation {
            control: "firmware.password".into(),
            by: "A. Tech".into(),
            at: "2026-11-25T10:00:00Z".into(),
            text: "confirmed".into(),
            install_id: "abc".into(),
        };
        let t = |s: &str| humantime::parse_rfc3339(s).unwrap();
        assert!(a.valid(t("2026-11-25T10:00:00Z"), "abc"));
        assert!(a.valid(t("2027-11-25T10:00:00Z"), "abc"));
        assert!(!a.valid(t("2027-11-25T10:00:01Z"), "abc"));
        assert!(!a.valid(t("2026-12-01T00:00:00Z"), "reinstalled"));
        let bad = Attestation {
            at: "yesterday".into(),
            ..a
        };
        assert!(!bad.valid(t("2026-11-25T10:00:00Z"), "abc"));
    }
}
