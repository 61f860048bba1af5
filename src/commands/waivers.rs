//! `handover waivers lint`: the site's waivers, with how long each still runs, and its firewall rules'
//! approvals and reviews (Cyber Essentials F3/F4).

use std::path::Path;

use anyhow::Result;

use crate::cli::invocation::load_site;
use crate::host::LocalHost;
use crate::inputs::site::Site;
use crate::support::clock;
use crate::support::error::Exit;

/// A firewall rule whose review is this close is listed (as a waiver is, with its days left).
const REVIEW_SOON_DAYS: i64 = 30;

pub(crate) fn waivers_lint(site: Option<&Path>) -> Result<Exit> {
    let site = load_site(site)?;
    let today = clock::date(clock::now()?);
    let device = crate::host::Host::facts(&LocalHost);
    let mut exit = firewall_reviews(&site, &today);
    if site.waivers.is_empty() {
        println!("no waivers in {}", site.describe());
        return Ok(exit);
    }
    for (w, expires) in &site.waivers {
        let days = clock::days_between(&today, expires);
        let here = w.devices.as_ref().is_none_or(|ds| {
            ds.iter()
                .any(|d| *d == device.serial || *d == device.hostname)
        });
        let state = if days < 0 {
            exit = Exit::NotCompliant;
            format!("EXPIRED on {expires}")
        } else {
            format!("valid until {expires} ({days} days left)")
        };
        let scope = match (&w.devices, here) {
            (None, _) => "every device".to_string(),
            (Some(ds), true) => format!("this device (of {})", ds.join(", ")),
            (Some(ds), false) => format!("other devices: {}", ds.join(", ")),
        };
        println!(
            "{:<26} {state}; {scope}; {} ({}, approved by {})",
            w.control, w.reason, w.ticket, w.approved_by
        );
    }
    Ok(exit)
}

/// `[firewall] allow` entries past or within [`REVIEW_SOON_DAYS`] of `review_by` (past one makes
/// firewall.inbound fail, so lint fails as for an expired waiver), and a notice for each entry with no
/// `approved_by` (not an error: sites written before it have none).
fn firewall_reviews(site: &Site, today: &str) -> Exit {
    let mut exit = Exit::Ok;
    for e in &site.file.firewall.allow {
        let name = format!("firewall {}", e.describe());
        let by = e.approved_by.as_deref().map_or_else(
            || "no approved_by".to_string(),
            |b| format!("approved by {b}"),
        );
        if let Some(due) = e.review_date() {
            let days = clock::days_between(today, &due);
            if days < 0 {
                exit = Exit::NotCompliant;
                println!("{name:<26} REVIEW OVERDUE since {due}: firewall.inbound fails until it is reviewed and review_by moved ({by})");
            } else if days <= REVIEW_SOON_DAYS {
                println!("{name:<26} review due {due} ({days} days left; {by})");
            }
        }
        if e.approved_by.is_none() {
            println!("{name:<26} notice: no approved_by; Cyber Essentials asks who approved each inbound rule and its business need");
        }
    }
    exit
}
