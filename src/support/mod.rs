//! Pieces with no domain knowledge that every step uses: the clock, errors and exit codes, hashing, file
//! permissions, secrets and text made safe to print.

pub mod clock;
pub mod dirs;
pub mod error;
pub mod fsutil;
pub mod hashing;
pub mod par;
pub mod perms;
pub mod secrets;
pub mod textsafe;
