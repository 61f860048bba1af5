//! The clock, injectable so that lifecycle dates and waivers never flip a test as time passes
//! (SPEC §3): `HANDOVER_NOW` (RFC 3339, e.g. `2026-11-25T10:00:00Z`) replaces the system time.
//!
//! It is one of the test-only environment hooks ([`test_hook`]), which a release build honours only
//! on a machine whose administrator opted in (F13).

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

/// The file whose presence lets a release build honour the test hooks: beside the default site, in a
/// directory only root (Administrators) can write, so only the machine's administrator can create it.
pub const TEST_HOOKS_MARKER: &str = if cfg!(windows) {
    r"C:\ProgramData\handover\test-hooks"
} else if cfg!(target_os = "macos") {
    "/Library/Application Support/handover/test-hooks"
} else {
    "/etc/handover/test-hooks"
};

/// Whether a release build may honour the test hooks here: the marker exists and passes
/// [`crate::support::perms::require_trusted`] (owned by root, writable by no one else, nor its directories).
fn release_hooks_allowed(marker: &Path) -> bool {
    std::fs::symlink_metadata(marker).is_ok()
        && crate::support::perms::require_trusted(marker, "test-hooks marker").is_ok()
}

/// The value of a test-only environment hook (`HANDOVER_NOW`, `HANDOVER_STATE_DIR`,
/// `HANDOVER_CACHE_DIR`). Debug builds (the test suite) always honour them. A release build, which
/// runs as root and may inherit a standard user's environment (`sudo -E`, `su`), honours them only
/// when the administrator created [`TEST_HOOKS_MARKER`] (the end-to-end tests do, inside their
/// container); otherwise the variable is ignored, with a note on stderr once per variable (F13).
pub fn test_hook(name: &str) -> Option<OsString> {
    let value = std::env::var_os(name)?;
    if hook_allowed(cfg!(debug_assertions), Path::new(TEST_HOOKS_MARKER)) {
        return Some(value);
    }
    static WARNED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    if let Ok(mut warned) = WARNED.lock() {
        if !warned.iter().any(|n| n == name) {
            warned.push(name.to_string());
            eprintln!(
                "note: {name} is ignored: a release build honours test hooks only when {TEST_HOOKS_MARKER} exists, owned by root"
            );
        }
    }
    None
}

/// The rule of [`test_hook`], for a build and a marker path (tests give both).
fn hook_allowed(debug_build: bool, marker: &Path) -> bool {
    if debug_build {
        return true;
    }
    static ALLOWED: std::sync::OnceLock<(std::path::PathBuf, bool)> = std::sync::OnceLock::new();
    match ALLOWED.get() {
        Some((p, ok)) if p == marker => *ok,
        Some(_) => release_hooks_allowed(marker),
        None => {
            ALLOWED
                .get_or_init(|| (marker.to_path_buf(), release_hooks_allowed(marker)))
                .1
        }
    }
}

/// The time handover treats as now.
pub fn now() -> Result<SystemTime> {
    match test_hook("HANDOVER_NOW") {
        Some(s) => {
            let s = s.to_string_lossy();
            humantime::parse_rfc3339_weak(&s)
                .with_context(|| format!("HANDOVER_NOW={s:?} is not an RFC 3339 time"))
        }
        None => Ok(SystemTime::now()),
    }
}

/// RFC 3339 in UTC, to the second.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `YYYY-MM-DD` of a time, in UTC.
pub fn date(t: SystemTime) -> String {
    rfc3339(t)[..10].to_string()
}

/// Seconds since the epoch.
pub fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// Whole days from `a` to `b`, both `YYYY-MM-DD` (an unreadable date counts as 1970-01-01): the one
/// date difference of the crate.
pub(crate) fn days_between(a: &str, b: &str) -> i64 {
    day_number(b).unwrap_or(0) - day_number(a).unwrap_or(0)
}

/// Whole days from the epoch second `from` to `to`, never negative (a clock behind counts 0): the
/// time-of-day form of [`days_between`], for `since` and report ages.
pub(crate) fn whole_days(from: i64, to: i64) -> i64 {
    (to - from).div_euclid(86_400).max(0)
}

/// [`whole_days`] between two RFC 3339 times, `None` when either does not read.
pub(crate) fn days_between_times(from: &str, to: &str) -> Option<u64> {
    let a = humantime::parse_rfc3339_weak(from).ok()?;
    let b = humantime::parse_rfc3339_weak(to).ok()?;
    Some(whole_days(epoch(a) as i64, epoch(b) as i64) as u64)
}

/// Days since the epoch of a `YYYY-MM-DD` date (UTC midnight), `None` when it does not parse.
pub(crate) fn day_number(d: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339(&format!("{d}T00:00:00Z")).ok()?;
    Some((epoch(t) as i64).div_euclid(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn f13_release_builds_honour_test_hooks_only_with_a_root_owned_marker() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("test-hooks");
        // Debug builds (the test suite) always honour them.
        assert!(hook_allowed(true, &marker));
        // A release build without the marker does not.
        assert!(!release_hooks_allowed(&marker));
        std::fs::write(&marker, "").unwrap();
        std::fs::set_permissions(&marker, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(release_hooks_allowed(&marker));
        // A marker others could have written (or replaced) does not count.
        std::fs::set_permissions(&marker, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(!release_hooks_allowed(&marker));
        std::fs::set_permissions(&marker, std::fs::Permissions::from_mode(0o644)).unwrap();
        if crate::support::perms::is_root() {
            std::os::unix::fs::chown(&marker, Some(65534), None).unwrap();
            assert!(!release_hooks_allowed(&marker));
        }
    }

    #[test]
    fn formats() {
        let t = humantime::parse_rfc3339_weak("2026-11-25T10:00:00Z").unwrap();
        assert_eq!(rfc3339(t), "2026-11-25T10:00:00Z");
        assert_eq!(date(t), "2026-11-25");
    }

    #[test]
    fn days_between_counts_whole_days_across_months_years_and_backwards() {
        assert_eq!(days_between("2026-12-06", "2026-12-06"), 0);
        assert_eq!(days_between("2026-02-28", "2026-03-01"), 1);
        assert_eq!(days_between("2024-02-28", "2024-03-01"), 2);
        assert_eq!(days_between("2026-12-31", "2027-01-01"), 1);
        assert_eq!(days_between("2027-01-01", "2026-12-31"), -1);
        assert_eq!(days_between("1970-01-01", "not-a-date"), 0);
    }
}
