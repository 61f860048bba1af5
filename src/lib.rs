//! handover brings a self-managed device to the ITP07 security baseline and proves that it is there.
//!
//! The flow, one folder per step (ARCHITECTURE.md draws it): [`inputs`] (profile, site, lifecycle) →
//! [`plan`] (resolved controls, rendered scripts) → [`engine`] (checks, changes, re-checks) through the
//! device seam [`host`] → [`evidence`] (report, exports, handover sheet, records and their signatures).
//! Beside the flow: [`artifacts`] (installers, their lock and the offline kit), [`schedule`] (the job
//! handover installs), [`cli`] (the command line) and [`support`] (no domain knowledge).

pub mod artifacts;
pub mod cli;
mod commands;
pub mod engine;
pub mod evidence;
pub mod host;
pub mod inputs;
pub mod plan;
pub mod schedule;
pub mod support;
