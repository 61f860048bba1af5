//! Guards: the SPEC §7 rules that refuse a change: the admin guard, the SSH session a firewall change
//! would cut, and default deny waiting for the site's rules.

use super::{sets_password, Engine};
use crate::evidence::report::{ControlReport, Status};

impl Engine<'_> {
    /// Whether this profile's separate admin is made by a person, not by handover (see [`sets_password`]).
    pub(crate) fn separate_admin_made_by_a_person(&self) -> bool {
        self.resolved
            .controls
            .iter()
            .find(|p| p.control.id == "accounts.separate-admin")
            .is_some_and(|p| !sets_password(&p.control))
    }

    /// Whether the technician attested that the separate admin's password is known and works
    /// (`--attest accounts.separate-admin`): SPEC §7's alternative to a password handover set itself.
    pub(crate) fn separate_admin_attested(&self) -> bool {
        self.opts
            .attestations
            .iter()
            .any(|a| a.control == "accounts.separate-admin")
    }

    /// Whether an admin-removing change may go ahead (SPEC §7): another enabled admin account exists,
    /// verified in this run, with a password set by handover in this run or an earlier one (or, where a
    /// person makes that account, verified by its check alone).
    pub(crate) fn admin_guard(
        &self,
        reports: &[ControlReport],
        set_now: &[String],
    ) -> Result<(), String> {
        let Some(admin) = self.admin_user() else {
            return Err(
                "no user named (give --user NAME): the separate admin account cannot be verified"
                    .into(),
            );
        };
        let sep = reports.iter().find(|r| r.id == "accounts.separate-admin");
        match sep.map(|r| r.status) {
            Some(Status::Pass | Status::Fixed) => {}
            Some(s) => return Err(format!("the separate admin account {admin} is not verified (accounts.separate-admin is {})", s.as_str())),
            None => return Err("accounts.separate-admin did not run".into()),
        }
        // A profile whose separate admin is made by a person (macOS: only a Secure Token holder can make
        // one that unlocks FileVault) has a check that verifies the account itself, token included.
        if self.separate_admin_made_by_a_person() {
            return Ok(());
        }
        if set_now.contains(&admin)
            || self.opts.admin_passwords_set.contains(&admin)
            || self.separate_admin_attested()
        {
            Ok(())
        } else {
            Err(format!(
                "handover has not set the password of {admin} in this or an earlier run, so it cannot know that the account works; give --admin-password-file to set it"
            ))
        }
    }

    /// Never cut the session handover runs over (SPEC §7): both firewall changes can, the inbound one
    /// by removing the rule that lets it in, the other by switching on default deny; and default deny
    /// waits until the site's rules are in place. `Err` is the whole reason of the refusal.
    pub(crate) fn session_guard(
        &self,
        p: &crate::plan::Planned,
        reports: &[ControlReport],
    ) -> Result<(), String> {
        if !p.control.id.starts_with("firewall.")
            || self.opts.force_remote
            || self.opts.ssh_connection.is_none()
        {
            return Ok(());
        }
        let inbound = reports
            .iter()
            .find(|r| r.id == "firewall.inbound")
            .map(|r| r.status);
        let why = self.cuts_remote_session().or_else(|| {
            (p.control.id == "firewall.enabled" && !matches!(inbound, Some(Status::Pass | Status::Fixed))).then(|| {
                "refusing to switch on inbound default deny over SSH before firewall.inbound has put the site's rules in place; \
                 fix that first, or give --force-remote"
                    .to_string()
            })
        });
        why.map_or(Ok(()), Err)
    }

    /// Whether switching on inbound default deny would cut the SSH session handover runs over.
    pub(crate) fn cuts_remote_session(&self) -> Option<String> {
        let conn = self.opts.ssh_connection.as_ref()?;
        let mut parts = conn.split_whitespace();
        let client: std::net::IpAddr = parts.next()?.parse().ok()?;
        let port: u16 = parts.nth(2)?.parse().ok()?;
        let covered = self.resolved.site.file.firewall.allow.iter().any(|e| {
            e.port == port
                && e.proto == crate::inputs::site::Proto::Tcp
                && crate::inputs::site::parse_source(&e.from)
                    .is_some_and(|(net, len)| in_network(client, net, len))
        });
        (!covered).then(|| {
            format!(
                "refusing to change the firewall: inbound default deny would cut this SSH session from {client} to port {port}, which no [firewall] allow entry of the site covers; add one, or give --force-remote"
            )
        })
    }
}

pub(crate) fn in_network(addr: std::net::IpAddr, net: std::net::IpAddr, len: u8) -> bool {
    use crate::inputs::site::network_of;
    addr.is_ipv4() == net.is_ipv4() && network_of(addr, len) == network_of(net, len)
}

/// Why a demotion waits: nobody is known to hold the separate admin's password.
pub(crate) fn password_unknown(admin: &str) -> String {
    format!(
        "the user would be demoted, but no one is known to hold the password of {admin}: handover has not set it in this or an earlier run and it is not attested; give --admin-password-file FILE or run on a terminal to set it, or confirm it works and give --attest accounts.separate-admin --technician NAME"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let a = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(in_network(a("10.1.2.3"), a("10.0.0.0"), 8));
        assert!(!in_network(a("11.1.2.3"), a("10.0.0.0"), 8));
        assert!(in_network(a("2001:db8::1"), a("2001:db8::"), 32));
        assert!(!in_network(a("10.1.2.3"), a("2001:db8::"), 32));
    }
}
