//! The checks a parsed site must pass before anything runs, one function per section, each error naming
//! the key it is about.

use std::net::IpAddr;

use super::manifest::{check_relpath, is_sha256};
use super::schema::*;
use super::values::{is_plain_file_name, mdm_host, parse_source, url_file_name};
use crate::support::error::InputError;

/// Strings that reach scripts and config files must be one line of printable text: a newline in a VPN
/// gateway would add a line to openfortivpn's config even though the shell quoting is right.
fn check_text(
    key: &[&str],
    value: &str,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(err(
            key,
            format!("contains the control character {c:?}; site values must be one line of text"),
        ));
    }
    Ok(())
}

/// One word of letters and digits (an ODT channel).
fn check_word(
    key: &[&str],
    value: &str,
    what: &str,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    if value.is_empty() || value.len() > 40 || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(err(
            key,
            format!("{value:?} must be {what}: letters and digits only"),
        ));
    }
    Ok(())
}

/// An artifact name: it becomes part of an environment variable name and a cache label.
fn check_artifact_name(
    key: &[&str],
    value: &str,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !value.starts_with(['-', '.']);
    if ok {
        Ok(())
    } else {
        Err(err(
            key,
            format!("{value:?} is not an artifact name (letters, digits, . _ -)"),
        ))
    }
}

fn check_name(
    key: &[&str],
    value: &str,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    let ok = !value.is_empty()
        && value.len() <= 32
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !value.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(err(key, format!("{value:?} is not a valid account name (letters, digits, . _ -, at most 32, not starting with -)")))
    }
}

fn check_host(
    key: &[&str],
    value: &str,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && (value.parse::<IpAddr>().is_ok()
            || value.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
            }));
    if ok {
        Ok(())
    } else {
        Err(err(
            key,
            format!("{value:?} is not a host name or IP address"),
        ))
    }
}

/// Every check, section by section, in the order the errors have always come in.
pub(crate) fn validate(
    file: &SiteFile,
    known_controls: &[&str],
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    accounts(&file.accounts, err)?;
    firewall(&file.firewall, err)?;
    services(file, err)?;
    if let Some(v) = &file.vpn {
        vpn(v, err)?;
    }
    if let Some(l) = &file.lansweeper {
        lansweeper(l, err)?;
    }
    organisation(&file.organisation, err)?;
    device_lock(&file.device_lock, err)?;
    updates(&file.updates, err)?;
    // Values that reach the ODT configuration.xml and env names: one word each (the fuzzer found a
    // newline and U+0001 passing into the XML before this).
    if let Some(o) = &file.office {
        office(o, err)?;
    }
    artifact_references(file, err)?;
    for (name, art) in &file.artifacts {
        artifact(name, art, err)?;
    }
    waivers(&file.waiver, known_controls, err)
}

/// `[accounts]`: names Windows can take, the admin suffix, the password policy, the allowed list.
fn accounts(a: &Accounts, err: &dyn Fn(&[&str], String) -> InputError) -> Result<(), InputError> {
    // Windows account names: at most 20 characters, none of "/\[]:;|=,+*?<>@ (check_name allows only
    // letters, digits, . _ and -, which none of those is).
    for (key, v) in [("admin_name", &a.admin_name), ("guest_name", &a.guest_name)] {
        if let Some(n) = v {
            check_name(&["accounts", key], n, err)?;
            if n.len() > 20 || n.ends_with('.') {
                return Err(err(&["accounts", key], format!("{n:?} cannot be a Windows account name (at most 20 characters, not ending in a dot)")));
            }
        }
    }
    if let Some(s) = &a.admin_suffix {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(err(
                &["accounts", "admin_suffix"],
                format!("{s:?} must be letters, digits, . _ or -"),
            ));
        }
    }
    if let Some(n) = a.password_min_length {
        if !(8..=128).contains(&n) {
            return Err(err(
                &["accounts", "password_min_length"],
                format!("{n} is outside 8..=128"),
            ));
        }
    }
    if let Some(n) = a.password_min_classes {
        if !(1..=4).contains(&n) {
            return Err(err(
                &["accounts", "password_min_classes"],
                format!("{n} is outside 1..=4"),
            ));
        }
    }
    for (i, name) in a.allowed.iter().flatten().enumerate() {
        check_name(&["accounts", "allowed", &i.to_string()], name, err)?;
    }
    Ok(())
}

/// `[updates]`: the window a pending security update may wait, 1 to 365 days (0 would fail every update
/// the moment it is published; more than a year is no window).
fn updates(u: &Updates, err: &dyn Fn(&[&str], String) -> InputError) -> Result<(), InputError> {
    if let Some(n) = u.max_age_days {
        if !(1..=365).contains(&n) {
            return Err(err(
                &["updates", "max_age_days"],
                format!("{n} is outside 1..=365 (days a security update may wait)"),
            ));
        }
    }
    Ok(())
}

/// `[firewall]`: application paths and allow entries (port, source, a reason for cleartext).
fn firewall(fw: &Firewall, err: &dyn Fn(&[&str], String) -> InputError) -> Result<(), InputError> {
    for (i, a) in fw.apps.iter().enumerate() {
        check_text(&["firewall", "apps", &i.to_string()], a, err)?;
        if !a.starts_with('/') || a.contains("/../") || a.ends_with('/') {
            return Err(err(
                &["firewall", "apps", &i.to_string()],
                format!("{a:?} must be an application's absolute path, as socketfilterfw --listapps prints it (/Applications/zoom.us.app)"),
            ));
        }
    }
    for (i, e) in fw.allow.iter().enumerate() {
        let idx = i.to_string();
        if e.port == 0 {
            return Err(err(
                &["firewall", "allow", &idx, "port"],
                "port 0 is not a port".into(),
            ));
        }
        if e.from != "any" && parse_source(&e.from).is_none() {
            return Err(err(
                &["firewall", "allow", &idx, "from"],
                format!("{:?} is not an address or CIDR (or \"any\")", e.from),
            ));
        }
        approval(e, &idx, err)?;
        if let Some(r) = &e.cleartext_ok {
            check_text(&["firewall", "allow", &idx, "cleartext_ok"], r, err)?;
            if r.trim().is_empty() {
                return Err(err(
                    &["firewall", "allow", &idx, "cleartext_ok"],
                    "needs a reason, not an empty string".into(),
                ));
            }
        }
    }
    Ok(())
}

/// An allow entry's `approved_by` (a name) and `review_by` (a date: TOML's or "YYYY-MM-DD").
fn approval(
    e: &AllowEntry,
    idx: &str,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    if let Some(by) = &e.approved_by {
        check_text(&["firewall", "allow", idx, "approved_by"], by, err)?;
        if by.trim().is_empty() {
            return Err(err(
                &["firewall", "allow", idx, "approved_by"],
                "needs who approved the rule, not an empty string".into(),
            ));
        }
    }
    if e.review_by.is_some() && e.review_date().is_none() {
        return Err(err(
            &["firewall", "allow", idx, "review_by"],
            "must be a date such as 2027-01-31 (or \"2027-01-31\")".into(),
        ));
    }
    Ok(())
}

/// `[endpoint]` and `[device_management]`: service names and the MDM server's host.
fn services(
    file: &SiteFile,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    if file.endpoint.product == Some(EndpointProduct::Site) && file.endpoint.service.is_none() {
        return Err(err(
            &["endpoint", "product"],
            "product \"site\" needs `service` (and usually `artifact`)".into(),
        ));
    }
    for (key, v) in [("service", &file.endpoint.service)] {
        if let Some(s) = v {
            check_unit(&["endpoint", key], s, err)?;
        }
    }
    if let Some(dm) = &file.device_management {
        if let Some(s) = &dm.service {
            check_unit(&["device_management", "service"], s, err)?;
        }
        if let Some(m) = &dm.mdm_server {
            check_host(&["device_management", "mdm_server"], &mdm_host(m), err)?;
        }
    }
    Ok(())
}

/// `[vpn]`: the gateway's host, the connection name, the pinned certificate.
fn vpn(v: &Vpn, err: &dyn Fn(&[&str], String) -> InputError) -> Result<(), InputError> {
    if let Some(g) = &v.gateway {
        check_host(&["vpn", "gateway"], g, err)?;
    }
    if let Some(n) = &v.name {
        check_text(&["vpn", "name"], n, err)?;
        // It names a registry key on Windows (HKLM:\...\Tunnels\NAME) and a file elsewhere: one
        // name, never a path (F19).
        if n.trim().is_empty() || n.len() > 100 || n.contains(['\\', '/']) || n.contains("..") {
            return Err(err(
                &["vpn", "name"],
                format!("{n:?} must be a connection name such as \"Uni VPN\": 1 to 100 characters, no \\ or /, no .."),
            ));
        }
    }
    if let Some(c) = &v.trusted_cert {
        check_text(&["vpn", "trusted_cert"], c, err)?;
        if c.contains(char::is_whitespace) {
            return Err(err(
                &["vpn", "trusted_cert"],
                "must be the certificate's sha256 digest, without spaces".into(),
            ));
        }
    }
    Ok(())
}

/// `[lansweeper]`: the server's host and a relay key long enough to redact.
fn lansweeper(
    l: &Lansweeper,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    if let Some(s) = &l.server {
        check_host(&["lansweeper", "server"], s, err)?;
    }
    if let Some(k) = &l.agent_key {
        check_text(&["lansweeper", "agent_key"], k, err)?;
        if k.chars().count() < crate::support::secrets::MIN_SECRET_LEN {
            return Err(err(
                &["lansweeper", "agent_key"],
                format!(
                    "is shorter than {} characters: redacting so short a secret would reveal it wherever those characters appear; give the full relay key",
                    crate::support::secrets::MIN_SECRET_LEN
                ),
            ));
        }
    }
    Ok(())
}

/// `[device_lock] idle_minutes` when the site gives none (SPEC §2).
pub(crate) const DEFAULT_IDLE_MINUTES: i64 = 15;

/// The longest `idle_minutes` taken. A screen left unlocked for more than an hour is no lock worth the
/// name (Cyber Essentials' "device unlocking" asks for a lock at all; NCSC and CIS guidance is 15 minutes
/// or less), and 60 stays inside every OS's range (Windows' 599940 seconds, GNOME's uint32, KDE's minutes).
const MAX_IDLE_MINUTES: i64 = 60;

/// `[device_lock]`: minutes of inactivity before the screen locks, 1 to [`MAX_IDLE_MINUTES`]. 0 would mean
/// "never" to Windows (InactivityTimeoutSecs 0) and GNOME (idle-delay 0), the opposite of the control.
fn device_lock(
    d: &DeviceLock,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    if let Some(n) = d.idle_minutes {
        if !(1..=MAX_IDLE_MINUTES).contains(&n) {
            return Err(err(
                &["device_lock", "idle_minutes"],
                format!("{n} is outside 1..={MAX_IDLE_MINUTES}: the screen must lock after at most an hour idle (0 would mean never)"),
            ));
        }
    }
    Ok(())
}

/// `[organisation]`: one line of text each.
fn organisation(
    o: &Organisation,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    for (k, v) in [("name", &o.name), ("service_desk", &o.service_desk)] {
        if let Some(s) = v {
            check_text(&["organisation", k], s, err)?;
        }
    }
    Ok(())
}

/// `[office]`: edition, channel, languages and excluded apps for the ODT configuration.
fn office(o: &Office, err: &dyn Fn(&[&str], String) -> InputError) -> Result<(), InputError> {
    if let Some(e) = &o.edition {
        if e != "32" && e != "64" {
            return Err(err(
                &["office", "edition"],
                format!("{e:?} must be \"32\" or \"64\""),
            ));
        }
    }
    if let Some(c) = &o.channel {
        check_word(
            &["office", "channel"],
            c,
            "an ODT channel name such as MonthlyEnterprise",
            err,
        )?;
    }
    for (key, list) in [
        ("languages", &o.languages),
        ("exclude_apps", &o.exclude_apps),
    ] {
        for (i, v) in list.iter().flatten().enumerate() {
            let idx = i.to_string();
            let ok = !v.is_empty()
                && v.len() <= 40
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !v.starts_with('-');
            if !ok {
                return Err(err(
                    &["office", key, &idx],
                    format!("{v:?} must be a language tag (en-gb, MatchOS) or an app ID (Groove): letters, digits and -"),
                ));
            }
        }
    }
    Ok(())
}

/// The artifact names `[endpoint]` and `[device_management]` refer to.
fn artifact_references(
    file: &SiteFile,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    for (key, v) in [
        (["endpoint", "artifact"], &file.endpoint.artifact),
        (
            ["device_management", "artifact"],
            &file
                .device_management
                .as_ref()
                .and_then(|d| d.artifact.clone()),
        ),
    ] {
        if let Some(v) = v {
            check_artifact_name(&key, v, err)?;
        }
    }
    Ok(())
}

/// One `[artifacts.NAME]`: its name, URL, file name, arguments and sha256, then how it is pinned.
fn artifact(
    name: &str,
    art: &Artifact,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    check_artifact_name(&["artifacts", name], name, err)?;
    check_text(&["artifacts", name, "url"], &art.url, err)?;
    if let Some(f) = &art.file_name {
        if art.files.is_some() || art.manifest.is_some() {
            return Err(err(
                &["artifacts", name, "file_name"],
                "a directory artifact keeps its own file names; file_name is for a file".into(),
            ));
        }
        if !is_plain_file_name(f) {
            return Err(err(
                &["artifacts", name, "file_name"],
                format!("{f:?} must be a file name such as teamsbootstrapper.exe: letters, digits, . _ + -, not a reserved Windows name"),
            ));
        }
    } else if art.files.is_none() && art.manifest.is_none() && url_file_name(&art.url).is_none() {
        return Err(err(
            &["artifacts", name, "url"],
            format!("{:?} names no file to stage the installer as (a link such as ?linkid=…); add file_name = \"NAME.EXT\"", art.url),
        ));
    }
    for (i, a) in art.args.iter().flatten().enumerate() {
        check_text(&["artifacts", name, "args", &i.to_string()], a, err)?;
    }
    if let Some(sha) = &art.sha256 {
        if !is_sha256(sha) {
            return Err(err(
                &["artifacts", name, "sha256"],
                "must be 64 hexadecimal digits".into(),
            ));
        }
    }
    artifact_pins(name, art, err)?;
    Ok(())
}

/// How an artifact is pinned: a file by `sha256`, a directory by `files` or by a `manifest` with its `sha256`.
fn artifact_pins(
    name: &str,
    art: &Artifact,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    match (&art.sha256, &art.manifest, &art.files) {
        (Some(_), None, None) => {}
        (Some(_), Some(m), None) => {
            check_text(&["artifacts", name, "manifest"], m, err)?;
            if m.contains("://") {
                return Err(err(
                    &["artifacts", name, "manifest"],
                    "must be a path (relative to the site file); keep the manifest beside the site".into(),
                ));
            }
            // Inside the site's directory, so that a kit carries it and nothing else is read (F16).
            check_relpath(m).map_err(|e| {
                err(
                    &["artifacts", name, "manifest"],
                    format!("{e}: the manifest is a file beside the site, named relative to it"),
                )
            })?;
        }
        (None, None, Some(files)) => {
            if files.is_empty() {
                return Err(err(
                    &["artifacts", name, "files"],
                    "a directory artifact lists at least one file".into(),
                ));
            }
            for (path, sha) in files {
                check_relpath(path)
                    .map_err(|e| err(&["artifacts", name, "files", path], e))?;
                if !is_sha256(sha) {
                    return Err(err(
                        &["artifacts", name, "files", path],
                        "must be 64 hexadecimal digits".into(),
                    ));
                }
            }
        }
        (None, None, None) => {
            return Err(err(
                &["artifacts", name],
                "needs `sha256` (a file), `files` (a directory) or `manifest` with `sha256` (a directory)".into(),
            ))
        }
        (_, _, Some(_)) => {
            return Err(err(
                &["artifacts", name, "files"],
                "a directory artifact with `files` takes no `sha256` or `manifest`: each file is pinned".into(),
            ))
        }
        (None, Some(_), None) => {
            return Err(err(
                &["artifacts", name, "manifest"],
                "needs `sha256`: the manifest file's own sha256, so that the site pins it".into(),
            ))
        }
    }
    Ok(())
}

/// `[[waiver]]`: a known control, a date of expiry, and a reason, approver and ticket.
fn waivers(
    waivers: &[Waiver],
    known_controls: &[&str],
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    for (i, w) in waivers.iter().enumerate() {
        let idx = i.to_string();
        if !known_controls.contains(&w.control.as_str()) {
            return Err(err(
                &["waiver", &idx, "control"],
                format!("unknown control {:?}", w.control),
            ));
        }
        if w.expires.date.is_none() || w.expires.time.is_some() {
            return Err(err(
                &["waiver", &idx, "expires"],
                "must be a date such as 2027-01-31".into(),
            ));
        }
        for (k, v) in [
            ("reason", &w.reason),
            ("approved_by", &w.approved_by),
            ("ticket", &w.ticket),
        ] {
            if v.trim().is_empty() {
                return Err(err(&["waiver", &idx, k], "must not be empty".into()));
            }
            check_text(&["waiver", &idx, k], v, err)?;
        }
    }
    Ok(())
}

fn check_unit(
    key: &[&str],
    value: &str,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    if value.is_empty()
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-:".contains(c))
        || value.starts_with('-')
    {
        return Err(err(key, format!("{value:?} is not a service name")));
    }
    Ok(())
}
