//! Signed records (SPEC §7, issue 6): a device's user is its administrator and can rewrite any file on
//! it, so the hash chain of [`crate::evidence::record`] alone proves nothing against them. Each record is also
//! signed with an ed25519 key that lives on the technician's kit, never on the device, and copied to
//! the kit; the device keeps only the public key.
//!
//! ```text
//! KIT/keys/records.key                 the private key: comment lines, then the 32-byte seed in hex (0600)
//! KIT/keys/records.pub                 the public key: comment lines, then the 32-byte key in hex
//! KIT/records/<asset>/NNNNNN-….json    copies of the device's records …
//! KIT/records/<asset>/NNNNNN-….json.sig  … and of their signatures
//! STATE/records.pub                    the device's copy of the public key
//! STATE/records/NNNNNN-….json.sig      a detached signature beside each record:
//!     {"alg":"ed25519","key":"<public key hex>","sig":"<hex>","sha256":"<hex of the record's bytes>"}
//! ```
//!
//! A signature is over the record file's exact bytes (so `openssl pkeyutl -verify -rawin` can check it
//! too); the order of records is proved by the chain of `previous` hashes inside them, and their
//! completeness by sequence numbers and, for the newest, by the kit's copy. A public key file may list
//! several keys (one a line) when a kit's key was replaced.

// Kept for the integration tests (tests/records.rs); the crate's own code names the defining paths.
pub use ed25519_dalek::SigningKey;

pub use crate::artifacts::kitkey::Passphrase;

pub(crate) mod keys;
pub(crate) mod paths;
pub(crate) mod run;
pub(crate) mod sign;
pub(crate) mod verify;

pub use keys::*;
pub use paths::*;
pub use run::*;
pub use sign::*;
pub use verify::*;
// The records on disk, the kit transfer and the diff are their own crate-private modules; these paths
// stay only for the integration tests (tests/records.rs), which cannot name those modules. The crate's
// own code imports them from where they are defined.
pub use crate::evidence::diff::{diff, diff_json};
pub use crate::evidence::store::{chain_head, resolve_record};
pub use crate::evidence::transfer::{device_dir_name, export, import, kit_dir_named};
