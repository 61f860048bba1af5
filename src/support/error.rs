//! Errors that callers branch on: they decide the exit code (SPEC §3).

use std::path::PathBuf;

/// Exit codes shared by every command (SPEC §3). When several apply the highest wins in the order
/// usage/input error > reboot needed > not compliant > compliant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Compliant, or nothing to change.
    Ok = 0,
    /// Not compliant, or changes pending.
    NotCompliant = 1,
    /// A reboot is needed to finish.
    Reboot = 3,
    /// Usage, input or internal error.
    Error = 2,
}

impl Exit {
    /// The precedence of SPEC §3: 2 > 3 > 1 > 0.
    pub fn worst(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u8 {
            match e {
                Exit::Ok => 0,
                Exit::NotCompliant => 1,
                Exit::Reboot => 2,
                Exit::Error => 3,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Bad input: a file, a key, a value. Always exit 2, always before anything on the device changes.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A TOML file that does not parse or does not fit its schema.
    #[error("{file}:{line}:{column}: {key}{message}")]
    Toml {
        file: PathBuf,
        line: usize,
        column: usize,
        /// `key \`a.b\`: ` or empty when the error is not about one key.
        key: String,
        message: String,
    },
    /// A value that parses but is not acceptable (out of range, not a CIDR, a control chars...).
    #[error("{file}:{line}: key `{key}`: {message}")]
    Value {
        file: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    /// Anything else the user gave us that we refuse (a missing file, a wrong profile, not root...).
    #[error("{0}")]
    Refused(String),
}

impl InputError {
    pub fn refused(msg: impl Into<String>) -> anyhow::Error {
        InputError::Refused(msg.into()).into()
    }
}
