//! Whether the device owes a reboot: asked before an apply and after each change, through
//! [`super::Host::reboot_pending`].

use std::path::Path;

use super::process::Cmd;

/// A reboot the OS says is pending, and why; checked before an apply and after each change.
pub fn pending() -> Option<String> {
    if cfg!(windows) {
        // The keys Windows Update and CBS set while a restart is owed (not localised).
        for key in [
            r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
            r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
        ] {
            let found = Cmd::new("reg")
                .args(["query", key])
                .output()
                .is_ok_and(|o| o.success());
            if found {
                return Some(format!("{key} exists"));
            }
        }
        return None;
    }
    if cfg!(target_os = "macos") {
        return None;
    }
    for f in ["/var/run/reboot-required", "/run/reboot-required"] {
        if Path::new(f).exists() {
            return Some(format!("{f} exists"));
        }
    }
    // dnf family: `needs-restarting -r` exits 1 when a reboot is needed (dnf-utils / dnf-plugins-core).
    if Path::new("/usr/bin/dnf").exists() {
        let needed = Cmd::new("dnf")
            .args(["-q", "needs-restarting", "-r"])
            .output()
            .is_ok_and(|o| o.code == Some(1));
        if needed {
            return Some("dnf needs-restarting -r says so".into());
        }
    }
    None
}
