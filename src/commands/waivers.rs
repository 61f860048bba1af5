//! `handover waivers lint`: the site's waivers, with how long each still runs.

use std::path::Path;

use anyhow::Result;

use crate::cli::invocation::load_site;
use crate::host::LocalHost;
use crate::support::clock;
use crate::support::error::Exit;

pub(crate) fn waivers_lint(site: Option<&Path>) -> Result<Exit> {
    let site = load_site(site)?;
    let today = clock::date(clock::now()?);
    let device = crate::host::Host::facts(&LocalHost);
    if site.waivers.is_empty() {
        println!("no waivers in {}", site.describe());
        return Ok(Exit::Ok);
    }
    let mut exit = Exit::Ok;
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
