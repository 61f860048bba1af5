//! Where handover keeps its files on each OS (SPEC §7), in one place: the protected configuration and
//! state directory, the download cache, and the default site and lifecycle files in it.

use std::path::PathBuf;

use crate::support::clock::test_hook;

/// `%ProgramData%` on Windows (`C:\ProgramData` when unset).
fn program_data() -> PathBuf {
    PathBuf::from(std::env::var("ProgramData").unwrap_or_else(|_| r"C:\ProgramData".into()))
}

/// The directory of handover's configuration: `site.toml` and `lifecycle.toml`.
fn config_dir() -> PathBuf {
    if cfg!(windows) {
        program_data().join("handover")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/handover")
    } else {
        PathBuf::from("/etc/handover")
    }
}

/// Records, journal, keys and lock: `/var/lib/handover`, `%ProgramData%\handover`, or
/// `/Library/Application Support/handover` (`HANDOVER_STATE_DIR` under a test hook).
pub fn state_dir() -> PathBuf {
    if let Some(d) = test_hook("HANDOVER_STATE_DIR") {
        return PathBuf::from(d);
    }
    if cfg!(windows) {
        program_data().join("handover")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/handover")
    } else {
        PathBuf::from("/var/lib/handover")
    }
}

/// Downloaded installers (`HANDOVER_CACHE_DIR` under a test hook).
pub fn cache_dir() -> PathBuf {
    if let Some(d) = test_hook("HANDOVER_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if cfg!(windows) {
        program_data().join(r"handover\cache")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Caches/handover")
    } else {
        PathBuf::from("/var/cache/handover")
    }
}

/// The site file used when `--site` is not given.
pub fn site_file() -> PathBuf {
    config_dir().join("site.toml")
}

/// The imported lifecycle table (`HANDOVER_LIFECYCLE` under a test hook).
pub fn lifecycle_file() -> PathBuf {
    if let Some(p) = test_hook("HANDOVER_LIFECYCLE") {
        return PathBuf::from(p);
    }
    config_dir().join("lifecycle.toml")
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn linux_paths_are_the_documented_ones() {
        assert_eq!(
            super::site_file(),
            std::path::Path::new("/etc/handover/site.toml")
        );
        assert_eq!(
            super::config_dir().join("lifecycle.toml"),
            std::path::Path::new("/etc/handover/lifecycle.toml")
        );
    }
}
