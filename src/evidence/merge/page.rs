//! `report merge --format html`: the fleet page (`templates/report/fleet.html.hbs`). An IT lead reads
//! it top down: the fleet's verdict, which controls fail on how many devices, each OS release's share
//! of compliant devices, the devices failing longest, then every device. Everything is worked out
//! here, in words and numbers; the template only lays it out, escaping every value (a hostname or a
//! reason comes from the device and is hostile input).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::{epoch_of, Failing, Row, WINDOW_DAYS};
use crate::evidence::report::{Report, Status};
use crate::support::clock::whole_days;

/// The fleet page's template.
pub(super) const HTML_TEMPLATE: &str = "report/fleet.html.hbs";

/// The fleet page of `rows`, as of `now` (days failing and stale reports are counted to it).
pub fn html(rows: &[Row], now: SystemTime) -> String {
    crate::evidence::page::render(
        HTML_TEMPLATE,
        &crate::evidence::page::embedded(HTML_TEMPLATE),
        crate::evidence::sheet::html_escape,
        &context(rows, crate::support::clock::epoch(now) as i64, now),
    )
    .expect("the embedded fleet template renders every set of reports")
}

/// "1 device", "2,000 devices": a count of devices in words that agree with it.
fn devices_text(n: usize) -> String {
    format!(
        "{} {}",
        thousands(n),
        if n == 1 { "device" } else { "devices" }
    )
}

/// `n` with thousands separated (`2,000`): counts an IT lead reads at a glance.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `part` as a percentage of `whole`, for a bar's width and its label (0 for an empty fleet).
fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// A bar's width in the 0..100 units of its SVG viewBox.
fn width(p: f64) -> String {
    format!("{p:.1}")
}

/// One device's row facts, computed once.
struct Device<'a> {
    row: &'a Row,
    failing: Failing<'a>,
    /// Days since the oldest failing control's `since`.
    days_failing: Option<i64>,
    /// Failing controls past the window: failing for more than [`WINDOW_DAYS`], and `updates.pending`
    /// when its oldest waiting update is older than the site's `max_age_days`.
    past: Vec<&'a str>,
    stale: bool,
}

impl<'a> Device<'a> {
    fn of(row: &'a Row, now: i64) -> Self {
        let r: &Report = &row.report;
        let failing = Failing::of(r);
        let days_failing = failing.oldest_since.map(|(_, e)| whole_days(e, now));
        let mut past: Vec<&str> = failing
            .controls
            .iter()
            .filter(|c| {
                c.since
                    .as_deref()
                    .and_then(epoch_of)
                    .is_some_and(|e| whole_days(e, now) > WINDOW_DAYS)
            })
            .map(|c| c.id.as_str())
            .collect();
        if failing.updates_past_window() && !past.contains(&"updates.pending") {
            past.push("updates.pending");
        }
        // A report whose time does not read is as good as none: stale.
        let stale = epoch_of(&r.finished_at).is_none_or(|e| whole_days(e, now) > WINDOW_DAYS);
        Device {
            row,
            failing,
            days_failing,
            past,
            stale,
        }
    }

    fn verdict(&self) -> (&'static str, &'static str, &'static str) {
        match self.row.report.summary.compliant {
            Some(true) => ("ok", "✔", "compliant"),
            Some(false) => ("bad", "✘", "not compliant"),
            None => ("partial", "◐", "partial run"),
        }
    }
}

/// Per control: how many devices it keeps from compliance, by status, and what it serves.
#[derive(Default)]
struct ControlCount<'a> {
    fail: usize,
    error: usize,
    manual: usize,
    frameworks: Vec<&'a str>,
}

fn controls<'a>(devices: &[Device<'a>]) -> Vec<Value> {
    let mut by_id: BTreeMap<&str, ControlCount> = BTreeMap::new();
    for d in devices {
        for c in &d.row.report.controls {
            let e = by_id.entry(c.id.as_str()).or_default();
            match c.status {
                Status::Fail => e.fail += 1,
                Status::Error => e.error += 1,
                Status::Manual => e.manual += 1,
                _ => {}
            }
            for f in &c.frameworks {
                if !e.frameworks.contains(&f.as_str()) {
                    e.frameworks.push(f);
                }
            }
        }
    }
    let mut v: Vec<(&str, ControlCount)> = by_id.into_iter().collect();
    // Most failing first; ties by id (the map's order, kept by a stable sort).
    v.sort_by_key(|(_, c)| std::cmp::Reverse(c.fail + c.error + c.manual));
    v.into_iter()
        .map(|(id, mut c)| {
            let n = c.fail + c.error + c.manual;
            c.frameworks.sort_unstable();
            let mut how: Vec<String> = Vec::new();
            for (k, label) in [(c.fail, "fail"), (c.error, "error"), (c.manual, "manual")] {
                if k > 0 {
                    how.push(format!("{} {label}", thousands(k)));
                }
            }
            json!({
                "id": id,
                "failing": thousands(n),
                "width": width(pct(n, devices.len())),
                "pct": format!("{:.0}%", pct(n, devices.len())),
                "how": how.join(", "),
                "frameworks": c.frameworks.join(" "),
                "none": n == 0,
            })
        })
        .collect()
}

/// An OS release as people name it: the OS's name, with its version when the name does not already
/// carry it ("Debian GNU/Linux 12 (bookworm)", "Windows 11 Enterprise 10.0.26100").
fn release(os: &crate::host::facts::Os) -> String {
    if os.name.contains(&os.version) {
        os.name.clone()
    } else {
        format!("{} {}", os.name, os.version)
    }
}

fn releases(devices: &[Device]) -> Vec<Value> {
    let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for d in devices {
        let e = by.entry(release(&d.row.report.device.os)).or_default();
        e.0 += 1;
        if d.row.report.summary.compliant == Some(true) {
            e.1 += 1;
        }
    }
    let mut v: Vec<(String, (usize, usize))> = by.into_iter().collect();
    v.sort_by_key(|(_, (n, _))| std::cmp::Reverse(*n));
    v.into_iter()
        .map(|(release, (n, ok))| {
            json!({
                "release": release,
                "devices": thousands(n),
                "compliant": thousands(ok),
                "width": width(pct(ok, n)),
                "pct": format!("{:.0}%", pct(ok, n)),
            })
        })
        .collect()
}

/// The devices that are not compliant, failing longest first (an unknown `since` last).
fn failing_devices(devices: &[Device]) -> Vec<Value> {
    let mut v: Vec<&Device> = devices
        .iter()
        .filter(|d| !d.failing.controls.is_empty())
        .collect();
    v.sort_by_key(|d| std::cmp::Reverse(d.days_failing.unwrap_or(-1)));
    v.into_iter()
        .map(|d| {
            let r = &d.row.report;
            let ids: Vec<&str> = d.failing.controls.iter().map(|c| c.id.as_str()).collect();
            json!({
                "hostname": r.device.hostname,
                "serial": r.device.serial,
                "days": d.days_failing.map_or_else(|| "unknown".to_string(), |n| n.to_string()),
                "since": d.failing.oldest_since.map_or("unknown", |(s, _)| s),
                "since_date": d.failing.oldest_since.map_or("unknown", |(s, _)| s.get(..10).unwrap_or(s)),
                "controls": ids.join(" "),
                "past": d.past.join(" "),
                "frameworks": d.failing.frameworks.join(" "),
                "pending": d.failing.oldest_pending_days.map(|n| format!("oldest waiting update {n} days")),
            })
        })
        .collect()
}

fn device_rows(devices: &[Device]) -> Vec<Value> {
    let mut v: Vec<&Device> = devices.iter().collect();
    v.sort_by(|a, b| {
        let h = |d: &Device| d.row.report.device.hostname.to_lowercase();
        h(a).cmp(&h(b))
    });
    v.into_iter()
        .map(|d| {
            let r = &d.row.report;
            let s = &r.summary;
            let (class, glyph, words) = d.verdict();
            let mut counts: Vec<String> = Vec::new();
            for (n, label) in [
                (s.pass, "pass"),
                (s.fixed, "fixed"),
                (s.fail, "fail"),
                (s.error, "error"),
                (s.manual, "manual"),
                (s.waived, "waived"),
            ] {
                if n > 0 {
                    counts.push(format!("{n} {label}"));
                }
            }
            let ids: Vec<&str> = d.failing.controls.iter().map(|c| c.id.as_str()).collect();
            json!({
                "hostname": r.device.hostname,
                "serial": r.device.serial,
                "asset": r.asset,
                "user": r.user,
                "os": release(&r.device.os),
                "profile": r.profile.name,
                "finished": r.finished_at.get(..10).unwrap_or(&r.finished_at),
                "run": format!("{} {}", r.mode.as_str(), r.scope.as_str()),
                "stale": d.stale,
                "class": class,
                "glyph": glyph,
                "verdict": words,
                "counts": counts.join(" · "),
                "failing": ids.join(" "),
            })
        })
        .collect()
}

fn context(rows: &[Row], now: i64, now_time: SystemTime) -> Value {
    let devices: Vec<Device> = rows.iter().map(|r| Device::of(r, now)).collect();
    let n = devices.len();
    let count = |f: &dyn Fn(&Device) -> bool| devices.iter().filter(|d| f(d)).count();
    let ok = count(&|d| d.row.report.summary.compliant == Some(true));
    let bad = count(&|d| d.row.report.summary.compliant == Some(false));
    let partial = count(&|d| d.row.report.summary.compliant.is_none());
    let stale = count(&|d| d.stale);
    let past = count(&|d| !d.past.is_empty());
    let all_ok = n > 0 && ok == n && stale == 0;
    let headline = if all_ok {
        format!("COMPLIANT: all {}", devices_text(n))
    } else {
        format!(
            "NOT COMPLIANT: {} of {} compliant ({:.0}%)",
            thousands(ok),
            devices_text(n),
            pct(ok, n)
        )
    };
    // The verdict bar: compliant, not compliant and partial runs side by side, in the fleet's units.
    let mut x = 0.0;
    let mut segments = Vec::new();
    for (k, class, label) in [
        (ok, "ok", "compliant"),
        (bad, "bad", "not compliant"),
        (partial, "partial", "partial run"),
    ] {
        let w = pct(k, n);
        segments.push(json!({"class": class, "x": width(x), "width": width(w), "label": label, "count": thousands(k)}));
        x += w;
    }
    json!({
        "generated": crate::support::clock::rfc3339(now_time),
        "window": WINDOW_DAYS,
        "verdict": {
            "class": if all_ok { "ok" } else { "bad" },
            "headline": headline,
            "devices": thousands(n),
            "devices_text": devices_text(n),
            "past_text": devices_text(past),
            "stale_text": devices_text(stale),
            "compliant": thousands(ok),
            "not_compliant": thousands(bad),
            "partial": thousands(partial),
            "stale": thousands(stale),
            "past": thousands(past),
            "any_partial": partial > 0,
            "any_stale": stale > 0,
        },
        "segments": segments,
        "controls": controls(&devices),
        "releases": releases(&devices),
        "failing": failing_devices(&devices),
        "devices": device_rows(&devices),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_at_a_glance() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(2000), "2,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(pct(1, 0), 0.0);
        assert_eq!(width(pct(1, 3)), "33.3");
        assert_eq!(devices_text(0), "0 devices");
        assert_eq!(devices_text(1), "1 device");
        assert_eq!(devices_text(2000), "2,000 devices");
    }
}
