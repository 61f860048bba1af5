//! Every question handover asks the technician, on stderr, answered on stdin: confirm the apply,
//! confirm a control it cannot read.

use std::io::Write;

use anyhow::Result;

/// The apply's `[y/N]` before any change; true on yes.
pub(crate) fn confirm_apply(profile: &str, hostname: &str, user: Option<&str>) -> Result<bool> {
    eprint!(
        "Apply profile {profile} to {hostname} (user {})? Only controls that fail are changed. [y/N] ",
        user.unwrap_or("not named")
    );
    std::io::stderr().flush().ok();
    yes()
}

/// A control handover cannot read (SPEC §2): is it in place, as the technician `by` sees it?
pub(crate) fn confirm_in_place(id: &str, title: &str, reason: &str, by: &str) -> Result<bool> {
    eprint!(
        "{id} ({title}): {}\nConfirm, as {by}, that this is in place? [y/N] ",
        crate::support::textsafe::one_line(reason)
    );
    yes()
}

/// One line from stdin: `y`, `Y` or `yes` is yes, anything else no.
fn yes() -> Result<bool> {
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
