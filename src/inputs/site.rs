//! The site file (SPEC §4): the institution's values, kept apart from the profiles.
//!
//! Parsing is strict (unknown keys and wrong types are errors naming file, line and key) and happens before
//! anything runs. The parsed site becomes a JSON value for the templates, with SPEC §4's defaults filled
//! in and every secret replaced by a `<secret:KEY>` placeholder: secrets reach scripts only through
//! environment variables (SPEC §7), never through template text.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::inputs::textpos::{line_of, parse_toml};
use crate::support::error::InputError;

/// Site keys that hold secrets. Their values never enter a template context, a report or a record.
pub const SECRET_KEYS: &[&str] = &["lansweeper.agent_key"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteFile {
    #[serde(default)]
    pub organisation: Organisation,
    #[serde(default)]
    pub accounts: Accounts,
    #[serde(default)]
    pub firewall: Firewall,
    #[serde(default)]
    pub endpoint: Endpoint,
    pub device_management: Option<DeviceManagement>,
    pub office: Option<Office>,
    pub vpn: Option<Vpn>,
    pub lansweeper: Option<Lansweeper>,
    #[serde(default)]
    pub artifacts: BTreeMap<String, Artifact>,
    #[serde(default)]
    pub waiver: Vec<Waiver>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub name: Option<String>,
    pub service_desk: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    pub admin_name: Option<String>,
    pub guest_name: Option<String>,
    pub admin_suffix: Option<String>,
    pub password_min_length: Option<i64>,
    pub password_min_classes: Option<i64>,
    pub allowed: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    #[serde(default)]
    pub allow: Vec<AllowEntry>,
    /// macOS: applications the application firewall may let accept incoming connections (absolute paths,
    /// as `socketfilterfw --listapps` prints them). Any other app allowed there fails firewall.inbound.
    #[serde(default)]
    pub apps: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    pub port: u16,
    pub proto: Proto,
    pub from: String,
    pub cleartext_ok: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub product: Option<EndpointProduct>,
    pub service: Option<String>,
    pub artifact: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointProduct {
    Clamav,
    Defender,
    Site,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceManagement {
    pub service: Option<String>,
    pub artifact: Option<String>,
    /// The MDM server the device must be enrolled in: a host name, or an https URL whose host is taken.
    /// Without it any enrolment passes; with it an enrolment in another server (a reseller's, a
    /// previous owner's) fails.
    pub mdm_server: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub edition: Option<String>,
    pub channel: Option<String>,
    pub languages: Option<Vec<String>>,
    pub exclude_apps: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vpn {
    pub name: Option<String>,
    pub gateway: Option<String>,
    pub port: Option<u16>,
    pub trusted_cert: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lansweeper {
    pub server: Option<String>,
    pub port: Option<u16>,
    pub agent_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// An https URL, a `file://` URL or a path (relative paths are relative to the site file). For a
    /// directory artifact: the base URL or the directory.
    pub url: String,
    /// A file artifact's sha256; for a directory artifact with a `manifest`, the manifest file's sha256.
    pub sha256: Option<String>,
    /// A directory artifact's per-file sha256 in `sha256sum` format (path relative to the site file).
    pub manifest: Option<String>,
    /// A directory artifact's per-file sha256, by `/`-separated path inside the directory.
    pub files: Option<BTreeMap<String, String>>,
    /// The name a file artifact is staged under (`teamsbootstrapper.exe`). Needed when the URL's last
    /// part is no file name, as in Microsoft's `https://go.microsoft.com/fwlink/?linkid=…`; otherwise
    /// that last part is used. Scripts pick msiexec or a plain run by its extension.
    pub file_name: Option<String>,
    /// Arguments a script passes to an installer that needs them (an EDR's silent-install switches).
    pub args: Option<Vec<String>>,
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// A path inside a directory artifact: relative, `/`-separated, no `.`/`..`/empty parts, no `\`, so
/// that staging and downloading can never leave the artifact's own directory.
pub fn check_relpath(p: &str) -> Result<(), String> {
    if p.is_empty() || p.starts_with('/') || p.contains('\\') || p.contains(':') {
        return Err(format!("{p:?} must be a relative path with / separators"));
    }
    if p.split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(format!("{p:?} must not contain empty, . or .. parts"));
    }
    if let Some(c) = p.chars().find(|c| c.is_control()) {
        return Err(format!("{p:?} contains the control character {c:?}"));
    }
    Ok(())
}

/// Parse a `sha256sum`-format manifest (`HEX  PATH` or `HEX *PATH` per line; blank lines and `#`
/// comments skipped). Errors carry the 1-based line.
pub fn parse_manifest(text: &str) -> Result<BTreeMap<String, String>, (usize, String)> {
    let mut files = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || (i + 1, format!("expected `SHA256  PATH`, found {line:?}"));
        let (hash, rest) = line.split_once(' ').ok_or_else(bad)?;
        let path = rest
            .strip_prefix(' ')
            .or_else(|| rest.strip_prefix('*'))
            .ok_or_else(bad)?;
        if !is_sha256(hash) {
            return Err(bad());
        }
        check_relpath(path).map_err(|e| (i + 1, e))?;
        if files
            .insert(path.to_string(), hash.to_ascii_lowercase())
            .is_some()
        {
            return Err((i + 1, format!("{path:?} is listed twice")));
        }
    }
    if files.is_empty() {
        return Err((1, "lists no files".into()));
    }
    Ok(files)
}

/// The canonical manifest of a directory artifact (sorted, `sha256sum` format); its sha256 is the
/// artifact's identity in reports and records.
pub fn canonical_manifest(files: &BTreeMap<String, String>) -> String {
    files.iter().map(|(p, h)| format!("{h}  {p}\n")).collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub control: String,
    pub reason: String,
    pub approved_by: String,
    pub ticket: String,
    pub expires: toml::value::Datetime,
    pub devices: Option<Vec<String>>,
}

/// A parsed and validated site, ready for the engine.
#[derive(Debug)]
pub struct Site {
    /// Where it came from, or `None` when no site file exists (every site key is then absent).
    pub path: Option<PathBuf>,
    /// The path that was looked for when there is no site file.
    pub looked_for: PathBuf,
    pub file: SiteFile,
    /// The template context: SPEC §4 defaults filled in, secrets replaced by placeholders.
    pub context: Value,
    /// Secret values by key (`lansweeper.agent_key`), for environment variables and redaction.
    pub secrets: BTreeMap<String, String>,
    /// Waivers with their expiry as `YYYY-MM-DD`.
    pub waivers: Vec<(Waiver, String)>,
}

impl Site {
    /// Load the site at `path`. A missing file is not an error when `required` is false (the default path):
    /// controls that need its keys then fail naming them (SPEC §3).
    pub fn load(path: &Path, required: bool, known_controls: &[&str]) -> Result<Site, InputError> {
        if !required {
            if let Err(e) = std::fs::symlink_metadata(path) {
                if e.kind() == std::io::ErrorKind::NotFound {
                    let mut site = Site::from_file(None, "", SiteFile::default(), known_controls)?;
                    site.looked_for = path.to_path_buf();
                    return Ok(site);
                }
            }
        }
        let as_input = |e: anyhow::Error| match e.downcast::<InputError>() {
            Ok(e) => e,
            Err(e) => {
                InputError::Refused(format!("{}: cannot read site file: {e:#}", path.display()))
            }
        };
        // Opened once, checked as opened (owner, mode, no link swapped in) and read from that file,
        // never again by name (F12).
        let mut f = crate::support::perms::open_trusted(path, "site file").map_err(as_input)?;
        let bytes =
            crate::support::perms::read_bounded(&mut f, "site file", path).map_err(as_input)?;
        let src = String::from_utf8(bytes).map_err(|_| {
            InputError::Refused(format!(
                "{}: cannot read site file: it is not UTF-8 text",
                path.display()
            ))
        })?;
        let file: SiteFile = parse_toml(path, &src)?;
        let site = Site::from_file(Some(path.to_path_buf()), &src, file, known_controls)?;
        if !site.secrets.is_empty()
            && crate::support::perms::readable_by_others(&f, path).map_err(as_input)?
        {
            let keys: Vec<&str> = site.secrets.keys().map(String::as_str).collect();
            return Err(InputError::Refused(format!(
                "refusing site file {}: it holds a secret ({}) and others can read it; make it readable by root only (chmod 600 {}; on Windows keep it in %ProgramData%\\handover; a kit on FAT or exFAT is mounted with fmask=077)",
                path.display(),
                keys.join(", "),
                path.display()
            )));
        }
        Ok(site)
    }

    /// Parse a site from text (tests, `profiles validate`).
    pub fn parse(path: &Path, src: &str, known_controls: &[&str]) -> Result<Site, InputError> {
        let file: SiteFile = parse_toml(path, src)?;
        Site::from_file(Some(path.to_path_buf()), src, file, known_controls)
    }

    fn from_file(
        path: Option<PathBuf>,
        src: &str,
        file: SiteFile,
        known_controls: &[&str],
    ) -> Result<Site, InputError> {
        let shown = path
            .clone()
            .unwrap_or_else(|| PathBuf::from("<no site file>"));
        let err = |key_path: &[&str], message: String| InputError::Value {
            file: shown.clone(),
            line: line_of(src, key_path),
            key: key_path.join("."),
            message,
        };
        validate(&file, known_controls, &err)?;
        let trees = directory_artifacts(&file, path.as_deref(), &err)?;
        let mut waivers = Vec::new();
        for w in &file.waiver {
            let d = w.expires.date.expect("validated");
            waivers.push((
                w.clone(),
                format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
            ));
        }
        let mut secrets = BTreeMap::new();
        if let Some(key) = file.lansweeper.as_ref().and_then(|l| l.agent_key.clone()) {
            secrets.insert("lansweeper.agent_key".to_string(), key);
        }
        let context = context_of(&file, path.as_deref(), &trees);
        let looked_for = path.clone().unwrap_or_default();
        Ok(Site {
            path,
            looked_for,
            file,
            context,
            secrets,
            waivers,
        })
    }

    /// The value of a dotted key in the template context (`vpn.gateway`), if the site sets it or SPEC §4
    /// gives it a default. Secrets are found too (as their placeholder).
    pub fn get(&self, key: &str) -> Option<&Value> {
        let mut v = &self.context;
        for part in key.split('.') {
            v = v.get(part)?;
        }
        (!v.is_null()).then_some(v)
    }

    /// The site's description for messages: its path, or that there is none.
    pub fn describe(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => format!(
                "the site file ({} does not exist)",
                self.looked_for.display()
            ),
        }
    }
}

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

/// A file name a script can be handed on any OS: letters, digits and `._+-`, no leading
/// dot or dash, and not one of the names Windows reserves for devices (`CON`, `NUL.txt`, `COM1`…).
pub fn is_plain_file_name(f: &str) -> bool {
    let stem = f.split('.').next().unwrap_or_default().to_ascii_uppercase();
    let reserved = ["CON", "PRN", "AUX", "NUL"].contains(&stem.as_str())
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    !f.is_empty()
        && f.len() <= 128
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
        && !f.starts_with(['.', '-'])
        && !f.ends_with('.')
        && !reserved
}

/// The file name an artifact's URL or path ends in, when that is a plain file name: the last part of
/// the path, without a query or fragment. `https://go.microsoft.com/fwlink/?linkid=2243204` has none.
pub fn url_file_name(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let last = path.rsplit(['/', '\\']).next().unwrap_or_default();
    is_plain_file_name(last).then(|| last.to_string())
}

/// The host of `[device_management] mdm_server`, given as a host name or an https URL, in lower case.
fn mdm_host(v: &str) -> String {
    let rest = v.strip_prefix("https://").unwrap_or(v);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    };
    host.to_ascii_lowercase()
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

/// `10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`, or `any` (accepted here so that `firewall.inbound` can fail
/// it with a reason, SPEC §2).
pub fn parse_source(from: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match from.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (from, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max)?,
        None => max,
    };
    Some((addr, len))
}

/// `addr` with its host bits cleared: the network of a `len`-bit prefix.
pub fn network_of(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            IpAddr::from(std::net::Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            IpAddr::from(std::net::Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

/// A source as firewalls store it (ufw's normalize_address): host bits cleared, no prefix on a single
/// address, IPv6 in its compressed form; `any` stays. Comparing the site with the firewall's rules needs it.
pub fn normalize_source(from: &str) -> String {
    let Some((addr, len)) = parse_source(from) else {
        return from.to_string();
    };
    let net = network_of(addr, len);
    let full = if net.is_ipv4() { 32 } else { 128 };
    if len == full {
        net.to_string()
    } else {
        format!("{net}/{len}")
    }
}

fn validate(
    file: &SiteFile,
    known_controls: &[&str],
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<(), InputError> {
    let a = &file.accounts;
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
    for (i, a) in file.firewall.apps.iter().enumerate() {
        check_text(&["firewall", "apps", &i.to_string()], a, err)?;
        if !a.starts_with('/') || a.contains("/../") || a.ends_with('/') {
            return Err(err(
                &["firewall", "apps", &i.to_string()],
                format!("{a:?} must be an application's absolute path, as socketfilterfw --listapps prints it (/Applications/zoom.us.app)"),
            ));
        }
    }
    for (i, e) in file.firewall.allow.iter().enumerate() {
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
    if let Some(v) = &file.vpn {
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
    }
    if let Some(l) = &file.lansweeper {
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
    }
    for (k, v) in [
        ("name", &file.organisation.name),
        ("service_desk", &file.organisation.service_desk),
    ] {
        if let Some(s) = v {
            check_text(&["organisation", k], s, err)?;
        }
    }
    // Values that reach the ODT configuration.xml and env names: one word each (the fuzzer found a
    // newline and U+0001 passing into the XML before this).
    if let Some(o) = &file.office {
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
    }
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
    for (name, art) in &file.artifacts {
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
        } else if art.files.is_none() && art.manifest.is_none() && url_file_name(&art.url).is_none()
        {
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
    }
    for (i, w) in file.waiver.iter().enumerate() {
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

/// The files of each directory artifact: inline, or read from its manifest file, which must have the
/// sha256 the site pins (errors name the manifest's own file and line).
fn directory_artifacts(
    file: &SiteFile,
    site_path: Option<&Path>,
    err: &dyn Fn(&[&str], String) -> InputError,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, InputError> {
    let mut trees = BTreeMap::new();
    for (name, art) in &file.artifacts {
        if let Some(files) = &art.files {
            let files = files
                .iter()
                .map(|(p, h)| (p.clone(), h.to_ascii_lowercase()))
                .collect();
            trees.insert(name.clone(), files);
            continue;
        }
        let (Some(manifest), Some(pinned)) = (&art.manifest, &art.sha256) else {
            continue;
        };
        let base = site_path.and_then(Path::parent);
        let mpath = PathBuf::from(resolve_url(manifest, base));
        let key = ["artifacts", name.as_str(), "manifest"];
        let bytes = read_manifest_file(base.unwrap_or(Path::new(".")), manifest)
            .map_err(|e| err(&key, format!("cannot read {}: {e}", mpath.display())))?;
        let got = crate::support::hashing::sha256_bytes(&bytes);
        if !got.eq_ignore_ascii_case(pinned) {
            // Not the sha256 it has: that would tell anyone who can edit a site the hash of a file.
            return Err(err(
                &key,
                format!(
                    "{} does not have the sha256 the site pins ({}); refusing a manifest that changed",
                    mpath.display(),
                    pinned.to_ascii_lowercase()
                ),
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| err(&key, format!("{} is not UTF-8 text", mpath.display())))?;
        let files = parse_manifest(&text).map_err(|(line, message)| InputError::Value {
            file: mpath.clone(),
            line,
            key: key.join("."),
            message,
        })?;
        trees.insert(name.clone(), files);
    }
    Ok(trees)
}

/// The largest manifest file a site may name.
pub const MAX_MANIFEST: u64 = 16 << 20;

/// Read the manifest `rel` (a checked relative path) below `base`: no component may be a symbolic
/// link, and it must be a regular file of at most [`MAX_MANIFEST`] bytes (F16).
fn read_manifest_file(base: &Path, rel: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    check_relpath(rel)?;
    let mut p = base.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        p.push(part);
        let md = std::fs::symlink_metadata(&p).map_err(|e| e.to_string())?;
        if md.file_type().is_symlink() {
            return Err(format!("{} is a symbolic link", p.display()));
        }
        if i + 1 < parts.len() && !md.is_dir() {
            return Err(format!("{} is not a directory", p.display()));
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        options.custom_flags(0x0020_0000); // FILE_FLAG_OPEN_REPARSE_POINT
    }
    let f = options.open(&p).map_err(|e| e.to_string())?;
    let md = f.metadata().map_err(|e| e.to_string())?;
    if !md.is_file() || md.file_type().is_symlink() {
        return Err("not a regular file".into());
    }
    if md.len() > MAX_MANIFEST {
        return Err(format!("larger than {} MiB", MAX_MANIFEST >> 20));
    }
    let mut bytes = Vec::new();
    f.take(MAX_MANIFEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(format!("larger than {} MiB", MAX_MANIFEST >> 20));
    }
    Ok(bytes)
}

/// The template context of a site. Absent keys with no default stay absent (null), so that
/// [`Site::get`] can tell a control that needs them.
fn context_of(
    file: &SiteFile,
    path: Option<&Path>,
    trees: &BTreeMap<String, BTreeMap<String, String>>,
) -> Value {
    let a = &file.accounts;
    let base = path.and_then(Path::parent).map(Path::to_path_buf);
    let artifacts: serde_json::Map<String, Value> = file
        .artifacts
        .iter()
        .map(|(name, art)| {
            let url = resolve_url(&art.url, base.as_deref());
            let v = match trees.get(name) {
                Some(files) => json!({
                    "url": url,
                    "sha256": crate::support::hashing::sha256_bytes(canonical_manifest(files).as_bytes()),
                    "files": files,
                }),
                None => json!({
                    "url": url,
                    "sha256": art.sha256.as_deref().unwrap_or_default().to_ascii_lowercase(),
                    "file_name": art.file_name.clone().or_else(|| url_file_name(&art.url)),
                    "args": art.args.clone().unwrap_or_default(),
                }),
            };
            (name.clone(), v)
        })
        .collect();
    json!({
        "organisation": {
            "name": file.organisation.name,
            "service_desk": file.organisation.service_desk,
        },
        "accounts": {
            "admin_name": a.admin_name,
            "guest_name": a.guest_name,
            "admin_suffix": a.admin_suffix.clone().unwrap_or_else(|| "-admin".into()),
            "password_min_length": a.password_min_length.unwrap_or(12),
            "password_min_classes": a.password_min_classes.unwrap_or(3),
            "allowed": a.allowed.clone().unwrap_or_default(),
        },
        "firewall": {
    "allow": file.firewall.allow.iter().map(|e| json!({
                "port": e.port, "proto": e.proto.as_str(), "from": normalize_source(&e.from), "cleartext_ok": e.cleartext_ok,
            })).collect::<Vec<_>>(),
            "apps": file.firewall.apps,
        },
        "endpoint": {
            "product": file.endpoint.product.map(|p| match p {
                EndpointProduct::Clamav => "clamav",
                EndpointProduct::Defender => "defender",
                EndpointProduct::Site => "site",
            }),
            "service": file.endpoint.service,
            "artifact": file.endpoint.artifact,
        },
        "device_management": file.device_management.as_ref().map(|d| json!({
            "service": d.service, "artifact": d.artifact,
            "mdm_server": d.mdm_server.as_deref().map(mdm_host),
        })),
        "office": {
            "edition": file.office.as_ref().and_then(|o| o.edition.clone()).unwrap_or_else(|| "64".into()),
            "channel": file.office.as_ref().and_then(|o| o.channel.clone()).unwrap_or_else(|| "MonthlyEnterprise".into()),
            "languages": file.office.as_ref().and_then(|o| o.languages.clone()).unwrap_or_else(|| vec!["MatchOS".into()]),
            "exclude_apps": file.office.as_ref().and_then(|o| o.exclude_apps.clone()).unwrap_or_default(),
        },
        "vpn": file.vpn.as_ref().map(|v| json!({
            "name": v.name, "gateway": v.gateway, "port": v.port.unwrap_or(443), "trusted_cert": v.trusted_cert,
        })),
        "lansweeper": file.lansweeper.as_ref().map(|l| json!({
            "server": l.server,
            "port": l.port.unwrap_or(9524),
            "agent_key": l.agent_key.as_ref().map(|_| "<secret:lansweeper.agent_key>"),
        })),
        "artifacts": artifacts,
    })
}

/// Relative artifact paths are relative to the site file, so a kit can carry both side by side.
fn resolve_url(url: &str, base: Option<&Path>) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    match base {
        Some(b) if Path::new(url).is_relative() => b.join(url).display().to_string(),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTROLS: &[&str] = &["os.supported", "firewall.enabled"];

    fn parse(src: &str) -> Result<Site, InputError> {
        Site::parse(Path::new("/etc/handover/site.toml"), src, CONTROLS)
    }

    #[test]
    fn an_installer_is_staged_under_a_file_name_never_a_url_query() {
        let h = "b".repeat(64);
        // Microsoft's official links are fwlinks: their last part is a query NTFS refuses as a name.
        let e = parse(&format!(
            "[artifacts.teams-bootstrapper]\nurl = \"https://go.microsoft.com/fwlink/?linkid=2243204\"\nsha256 = \"{h}\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("site.toml:2:")
                && e.contains("artifacts.teams-bootstrapper.url")
                && e.contains("add file_name"),
            "{e}"
        );
        let site = parse(&format!(
            "[artifacts.teams-bootstrapper]\nurl = \"https://go.microsoft.com/fwlink/?linkid=2243204\"\nsha256 = \"{h}\"\nfile_name = \"teamsbootstrapper.exe\"\nargs = [\"/S\", \"--dir=C:\\\\Program Files\\\\X\"]\n"
        ))
        .unwrap();
        let a = site.get("artifacts.teams-bootstrapper").unwrap();
        assert_eq!(a["file_name"], "teamsbootstrapper.exe");
        assert_eq!(a["args"][1], "--dir=C:\\Program Files\\X");
        // Without file_name the URL's own name is used, its query dropped.
        let site = parse(&format!(
            "[artifacts.msi]\nurl = \"https://x.example/dl/FortiClientVPN.msi?sig=abc\"\nsha256 = \"{h}\"\n"
        ))
        .unwrap();
        assert_eq!(
            site.get("artifacts.msi").unwrap()["file_name"],
            "FortiClientVPN.msi"
        );
        for bad in [
            "../x.exe",
            "a b.exe",
            "CON.exe",
            "nul",
            "",
            "a?b",
            ".hidden.exe",
            "x.exe.",
        ] {
            let e = parse(&format!(
                "[artifacts.a]\nurl = \"https://x/y.exe\"\nsha256 = \"{h}\"\nfile_name = {bad:?}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("site.toml:4:") && e.contains("artifacts.a.file_name"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn an_mdm_server_is_kept_as_its_host_name() {
        for (given, host) in [
            ("mdm.example.ac.uk", "mdm.example.ac.uk"),
            (
                "https://MDM.example.ac.uk:8443/mdm/checkin",
                "mdm.example.ac.uk",
            ),
        ] {
            let site = parse(&format!("[device_management]\nmdm_server = {given:?}\n")).unwrap();
            assert_eq!(site.get("device_management.mdm_server").unwrap(), host);
        }
        let e = parse("[device_management]\nmdm_server = \"https://bad host/\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("site.toml:2:") && e.contains("device_management.mdm_server"),
            "{e}"
        );
    }

    #[test]
    fn directory_artifacts_inline_or_by_pinned_manifest() {
        let h = "a".repeat(64);
        let site = parse(&format!(
            "[artifacts.office-source]\nurl = \"https://x/office/\"\n[artifacts.office-source.files]\n\"Office/Data/v64.cab\" = \"{h}\"\n"
        ))
        .unwrap();
        let a = site.get("artifacts.office-source").unwrap();
        assert_eq!(a["files"]["Office/Data/v64.cab"], h.as_str());
        assert_eq!(
            a["sha256"],
            crate::support::hashing::sha256_bytes(format!("{h}  Office/Data/v64.cab\n").as_bytes())
        );
        let e = parse(&format!(
            "[artifacts.o]\nurl = \"d\"\n[artifacts.o.files]\n\"../etc/passwd\" = \"{h}\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("site.toml:4:") && e.contains("must not contain empty, . or .. parts"),
            "{e}"
        );
        let e = parse("[artifacts.o]\nurl = \"d\"\nmanifest = \"m.sha256\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("artifacts.o.manifest") && e.contains("needs `sha256`"),
            "{e}"
        );

        let dir = tempfile::tempdir().unwrap();
        let manifest = format!("# Office 2024\n{h}  Office/Data/v64.cab\n{h} *setup.exe\n");
        std::fs::write(dir.path().join("office.sha256"), &manifest).unwrap();
        let pinned = crate::support::hashing::sha256_bytes(manifest.as_bytes());
        let src = format!(
            "[artifacts.o]\nurl = \"office\"\nmanifest = \"office.sha256\"\nsha256 = \"{pinned}\"\n"
        );
        let site_path = dir.path().join("site.toml");
        let site = Site::parse(&site_path, &src, CONTROLS).unwrap();
        let a = site.get("artifacts.o").unwrap();
        assert_eq!(a["files"].as_object().unwrap().len(), 2);
        assert_eq!(a["url"], dir.path().join("office").display().to_string());
        let e = Site::parse(&site_path, &src.replace(&pinned, &h), CONTROLS)
            .unwrap_err()
            .to_string();
        assert!(e.contains("refusing a manifest that changed"), "{e}");
        std::fs::write(dir.path().join("office.sha256"), "zz  x\n").unwrap();
        let bad = crate::support::hashing::sha256_bytes(b"zz  x\n");
        let e = Site::parse(&site_path, &src.replace(&pinned, &bad), CONTROLS)
            .unwrap_err()
            .to_string();
        assert!(e.contains("office.sha256:1:"), "{e}");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = parse("[accounts]\nadmin_suffix = \"-adm\"\n\n[firewall]\nalow = []\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/etc/handover/site.toml:5:"), "{e}");
        assert!(e.contains("firewall.alow"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn wrong_type_names_key() {
        let e = parse("[accounts]\npassword_min_length = \"twelve\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/etc/handover/site.toml:2:"), "{e}");
        assert!(e.contains("accounts.password_min_length"), "{e}");
    }

    #[test]
    fn bad_cidr_is_refused_with_its_line() {
        let src = "[firewall]\nallow = [\n { port = 22, proto = \"tcp\", from = \"10.0.0.0/8\" },\n { port = 22, proto = \"tcp\", from = \"10.0.0.0/99\" },\n]\n";
        let e = parse(src).unwrap_err().to_string();
        assert_eq!(e, "/etc/handover/site.toml:4: key `firewall.allow.1.from`: \"10.0.0.0/99\" is not an address or CIDR (or \"any\")");
    }

    #[test]
    fn waiver_for_unknown_control_or_without_expiry_is_refused() {
        let w = "[[waiver]]\ncontrol = \"os.suported\"\nreason = \"r\"\napproved_by = \"a\"\nticket = \"t\"\nexpires = 2027-01-31\n";
        let e = parse(w).unwrap_err().to_string();
        assert!(
            e.contains(":2: key `waiver.0.control`: unknown control"),
            "{e}"
        );
        let w = "[[waiver]]\ncontrol = \"os.supported\"\nreason = \"r\"\napproved_by = \"a\"\nticket = \"t\"\n";
        let e = parse(w).unwrap_err().to_string();
        assert!(e.contains("missing field `expires`"), "{e}");
    }

    #[test]
    fn names_windows_cannot_take_are_refused() {
        let e = parse("[accounts]\nadmin_name = \"uni-adm0-with-a-very-long-name\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":2: key `accounts.admin_name`") && e.contains("at most 20"),
            "{e}"
        );
        let e = parse("[accounts]\nguest_name = \"uni@gst\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `accounts.guest_name`"), "{e}");
    }

    #[test]
    fn newline_in_a_value_is_refused() {
        let e = parse("[vpn]\nname = \"a\\nhost = evil\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key `vpn.name`: contains the control character"),
            "{e}"
        );
    }

    #[test]
    fn defaults_and_secret_placeholders() {
        let s =
            parse("[lansweeper]\nserver = \"ls.example.ac.uk\"\nagent_key = \"k3y-relay-0001\"\n")
                .unwrap();
        assert_eq!(s.get("accounts.password_min_length"), Some(&json!(12)));
        assert_eq!(s.get("accounts.admin_suffix"), Some(&json!("-admin")));
        assert_eq!(s.get("lansweeper.port"), Some(&json!(9524)));
        assert_eq!(
            s.get("lansweeper.agent_key"),
            Some(&json!("<secret:lansweeper.agent_key>"))
        );
        assert_eq!(s.secrets["lansweeper.agent_key"], "k3y-relay-0001");
        assert_eq!(s.get("vpn.gateway"), None);
        assert!(!s.context.to_string().contains("k3y-relay-0001"));
    }

    #[test]
    fn sources_are_normalized_as_ufw_stores_them() {
        assert_eq!(normalize_source("10.1.2.5/24"), "10.1.2.0/24");
        assert_eq!(normalize_source("192.0.2.7/32"), "192.0.2.7");
        assert_eq!(normalize_source("2001:0db8:0000::1/128"), "2001:db8::1");
        assert_eq!(normalize_source("2001:db8::1/32"), "2001:db8::/32");
        assert_eq!(normalize_source("any"), "any");
    }

    #[test]
    fn sources() {
        assert_eq!(
            parse_source("10.0.0.0/8"),
            Some(("10.0.0.0".parse().unwrap(), 8))
        );
        assert_eq!(
            parse_source("192.0.2.1"),
            Some(("192.0.2.1".parse().unwrap(), 32))
        );
        assert_eq!(parse_source("10.0.0.0/33"), None);
        assert_eq!(parse_source("any"), None);
    }
}
