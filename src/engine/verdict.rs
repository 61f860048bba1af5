//! Verdict: the report of each control and of the run, attestations and waivers applied, and the
//! re-check of check-only controls a change may have settled.

use std::time::SystemTime;

use serde_json::json;

use super::check::Verdict;
use super::Engine;
use crate::evidence::report::{ControlReport, ProfileRef, Report, Status, Tool};
use crate::plan::Planned;
use crate::support::clock;

impl Engine<'_> {
    pub(crate) fn base_report(&self, started: SystemTime, controls: Vec<ControlReport>) -> Report {
        let partial = !self.opts.only.is_empty();
        let summary = Report::summarise(&controls, partial);
        let warnings = controls
            .iter()
            .filter(|c| c.id == "os.supported")
            .filter_map(|c| crate::inputs::lifecycle::support_warning(&c.observed, self.opts.now))
            .collect();
        Report {
            tool: Tool {
                name: "handover".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            mode: self.opts.mode,
            scope: if partial {
                crate::evidence::report::Scope::Partial
            } else {
                crate::evidence::report::Scope::Full
            },
            profile: ProfileRef {
                name: self.resolved.profile.name.clone(),
                digest: self.resolved.digest.clone(),
            },
            device: self.device.clone(),
            user: self.opts.user.clone(),
            asset: self.opts.asset.clone(),
            ticket: self.opts.ticket.clone(),
            technician: self.opts.technician.clone(),
            reason: self.opts.reason.clone(),
            started_at: clock::rfc3339(started),
            finished_at: clock::rfc3339(clock::now().unwrap_or(started).max(started)),
            controls,
            summary,
            reboot_required: false,
            warnings,
            untested_release: None,
            // Set from the record chain once every status is final (evidence::timeline).
            time_in_state: None,
        }
    }

    pub(crate) fn control_report(&self, p: &Planned, v: &Verdict) -> ControlReport {
        let info = p.control.info();
        ControlReport {
            id: p.control.id.clone(),
            title: info.title.into(),
            policy: info.policy.into(),
            status: v.status,
            changed: false,
            reason: v.reason.clone(),
            observed: v.observed.clone(),
            duration_ms: v.duration.as_millis() as u64,
            plan: None,
            waiver: None,
            output: None,
            attestation: None,
            // Set from the record chain once every status is final (evidence::timeline).
            since: None,
            frameworks: p.control.frameworks.clone(),
        }
    }

    /// A `manual` control the technician attested (and whose attestation still holds) passes.
    pub(crate) fn apply_attestation(&self, cr: &mut ControlReport) {
        if cr.status != Status::Manual {
            return;
        }
        if let Some(a) = self.opts.attestations.iter().find(|a| a.control == cr.id) {
            cr.status = Status::Pass;
            cr.reason = format!("attested by {} on {}: {}", a.by, a.at, a.text);
            cr.attestation = Some(json!({"by": a.by, "at": a.at, "text": a.text}));
        }
    }

    /// A valid waiver turns a failing control into `waived`; an expired one is named in the reason.
    pub(crate) fn apply_waiver(&self, cr: &mut ControlReport) {
        if !matches!(cr.status, Status::Fail | Status::Manual) {
            return;
        }
        let today = clock::date(self.opts.now);
        for (w, expires) in &self.resolved.site.waivers {
            if w.control != cr.id {
                continue;
            }
            let for_device = w.devices.as_ref().is_none_or(|ds| {
                ds.iter()
                    .any(|d| *d == self.device.serial || *d == self.device.hostname)
            });
            if !for_device {
                continue;
            }
            let mut waiver = json!({"reason": w.reason, "approved_by": w.approved_by, "ticket": w.ticket, "expires": expires});
            if *expires >= today {
                cr.status = Status::Waived;
                // For machines (report merge, dashboards): the CE items it does not excuse.
                let ce_items = crate::inputs::frameworks::ce_items(&cr.frameworks);
                if !ce_items.is_empty() {
                    waiver["does_not_excuse"] = json!(ce_items);
                }
                // SPEC §2: a waiver is the institution's risk acceptance, not Cyber Essentials
                // compliance (auditors-evidence §7.3 "Waivers and CE"); the reason says so first.
                let ce = crate::inputs::frameworks::waiver_note(&cr.frameworks)
                    .map(|n| format!("; {n}"))
                    .unwrap_or_default();
                cr.reason = format!(
                    "waived until {expires} ({}, approved by {}, {}{ce}): {}",
                    w.reason, w.approved_by, w.ticket, cr.reason
                );
            } else {
                cr.reason = format!("{}; waiver expired on {expires}", cr.reason);
            }
            cr.waiver = Some(waiver);
            return;
        }
    }

    /// A change can settle a check-only control too (locking the guest account takes it off
    /// accounts.allowed's list): re-check those that failed, so the report says how the device is now.
    pub(crate) fn recheck_check_only(&self, reports: &mut [ControlReport], selected: &[&Planned]) {
        if !reports.iter().any(|r| r.changed) {
            return;
        }
        let stale: Vec<usize> = (0..reports.len())
            .filter(|&i| {
                reports[i].status == Status::Fail
                    && !reports[i].changed
                    && selected[i].scripts.apply().is_none()
            })
            .collect();
        let again: Vec<&Planned> = stale.iter().map(|&i| selected[i]).collect();
        for (i, v) in stale.into_iter().zip(self.check_all(&again)) {
            let cr = &mut reports[i];
            cr.status = v.status;
            cr.reason = v.reason;
            cr.observed = v.observed;
            self.apply_attestation(cr);
            self.apply_waiver(cr);
        }
    }
}
