//! The clock, injectable so that lifecycle dates and waivers never flip a test as time passes
//! (SPEC §3): `HANDOVER_NOW` (RFC 3339, e.g. `2026-11-25T10:00:00Z`) replaces the system time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

/// The time handover treats as now.
pub fn now() -> Result<SystemTime> {
    match std::env::var("HANDOVER_NOW") {
        Ok(s) => humantime::parse_rfc3339_weak(&s)
            .with_context(|| format!("HANDOVER_NOW={s:?} is not an RFC 3339 time")),
        Err(_) => Ok(SystemTime::now()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = humantime::parse_rfc3339_weak("2026-11-25T10:00:00Z").unwrap();
        assert_eq!(rfc3339(t), "2026-11-25T10:00:00Z");
        assert_eq!(date(t), "2026-11-25");
    }
}
