//! `handover facts`: what handover reads from this device, as text or JSON.

use anyhow::Result;

use crate::cli::args::Format;
use crate::host::LocalHost;
use crate::support::error::Exit;

pub(crate) fn facts(format: Format) -> Result<Exit> {
    let d = crate::host::Host::facts(&LocalHost);
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&d)?),
        // The device's own word (/etc/os-release, DMI): one line each, no control characters (F18).
        Format::Text => {
            let l = crate::support::textsafe::one_line;
            println!(
                "hostname: {}\nserial:   {}\nmodel:    {}\nos:       {} ({} {}, family {})",
                l(&d.hostname),
                l(&d.serial),
                l(&d.model),
                l(&d.os.name),
                l(&d.os.id),
                l(&d.os.version),
                l(&d.os.family)
            )
        }
    }
    Ok(Exit::Ok)
}
