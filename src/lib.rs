//! handover brings a self-managed device to the ITP07 security baseline and proves that it is there.
//!
//! The flow, one module per step: [`profile`] + [`site`] → [`plan`] (resolved controls) → [`engine`]
//! (checks, changes, re-checks through a [`runner::Host`]) → [`report`] and [`record`].

pub mod artifacts;
pub mod cli;
pub mod clock;
pub mod engine;
pub mod error;
pub mod export;
pub mod facts;
pub mod fetch;
pub mod hashing;
pub mod journal;
pub mod kit;
pub mod kitkey;
pub mod lifecycle;
pub mod lock;
pub mod merge;
pub mod perms;
pub mod plan;
pub mod profile;
pub mod record;
pub mod redact;
pub mod render;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod secrets;
pub mod sheet;
pub mod signing;
pub mod site;
pub mod textpos;
pub mod textsafe;
