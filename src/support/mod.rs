//! Pieces with no domain knowledge that every step uses: the clock, errors and exit codes, hashing, file
//! permissions, secrets and text made safe to print.

pub mod clock;
pub mod error;
pub mod hashing;
pub mod perms;
pub mod secrets;
pub mod textsafe;
