//! `handover schedule install | remove | status`: the periodic check handover installs.

use anyhow::Result;

use crate::cli::args::ScheduleAction;
use crate::support::error::Exit;

pub(crate) fn schedule(action: ScheduleAction) -> Result<Exit> {
    match action {
        ScheduleAction::Install {
            weekly, site, at, ..
        } => {
            let every = if weekly {
                crate::schedule::Every::Weekly
            } else {
                crate::schedule::Every::Daily
            };
            print!(
                "{}",
                crate::schedule::install(&crate::schedule::InstallOptions { every, at, site })?
            );
            Ok(Exit::Ok)
        }
        ScheduleAction::Remove => {
            print!("{}", crate::schedule::remove()?);
            Ok(Exit::Ok)
        }
        ScheduleAction::Status => {
            let (installed, text) = crate::schedule::status()?;
            print!("{text}");
            Ok(if installed {
                Exit::Ok
            } else {
                Exit::NotCompliant
            })
        }
    }
}
