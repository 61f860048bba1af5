//! What a run leaves behind for people: the report and its text, JSON, JUnit and HTML forms, the handover
//! sheet, the fleet summary, and the records with their hash chain and signatures.

pub mod ce;
pub(crate) mod diff;
pub mod export;
pub mod merge;
pub(crate) mod page;
pub mod record;
pub mod redact;
pub mod report;
pub mod sheet;
pub mod signing;
pub(crate) mod store;
pub mod timeline;
pub(crate) mod transfer;
