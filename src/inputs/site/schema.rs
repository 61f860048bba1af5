//! The site file's sections as serde structs: strict (`deny_unknown_fields`), so that an unknown key is an
//! error naming file, line and key (SPEC §4).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// Site keys that hold secrets. Their values never enter a template context, a report or a record.
pub const SECRET_KEYS: &[&str] = &["lansweeper.agent_key"];

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteFile {
    /// Who owns the device: shown on the handover sheet.
    #[serde(default)]
    pub organisation: Organisation,
    /// Local accounts: the separate admin account, built-in accounts renamed, the password policy.
    #[serde(default)]
    pub accounts: Accounts,
    /// Inbound firewall exceptions. Default: none (inbound default deny with no exception).
    #[serde(default)]
    pub firewall: Firewall,
    /// Endpoint protection (antivirus/EDR).
    #[serde(default)]
    pub endpoint: Endpoint,
    /// How long a security update may wait.
    #[serde(default)]
    pub updates: Updates,
    /// Device management agent or MDM. Default: none (device.managed is then manual).
    pub device_management: Option<DeviceManagement>,
    /// Microsoft 365 Apps (Windows, macOS).
    pub office: Option<Office>,
    /// The institution's VPN. No default: needed only by the controls that use it.
    pub vpn: Option<Vpn>,
    /// Lansweeper inventory agent. No default: needed only by the controls that use it.
    pub lansweeper: Option<Lansweeper>,
    /// Screen lock after inactivity.
    #[serde(default)]
    pub device_lock: DeviceLock,
    /// Installers, one table per name a profile uses (SPEC §6): `[artifacts.NAME]` with `url` and `sha256` (`handover artifacts lock --from DIR` writes them).
    #[serde(default)]
    pub artifacts: BTreeMap<String, Artifact>,
    /// Waivers (ITP07 §10): a control's failure accepted until a date, approved by someone, with a ticket.
    #[serde(default)]
    pub waiver: Vec<Waiver>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// The organisation's name, as the handover sheet shows it. One line of text.
    pub name: Option<String>,
    /// How the user reaches the service desk (email, phone). One line of text.
    pub service_desk: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    /// Windows: the new name of the built-in Administrator (letters, digits, . _ -; at most 20 characters). No default.
    pub admin_name: Option<String>,
    /// Windows: the new name of the built-in Guest (letters, digits, . _ -; at most 20 characters). No default.
    pub guest_name: Option<String>,
    /// The named user's separate admin account is NAME + this suffix (letters, digits, . _ -). Default "-admin".
    pub admin_suffix: Option<String>,
    /// Minimum password length, 8 to 128. Default 12.
    pub password_min_length: Option<i64>,
    /// Character classes a password needs (lower, upper, digit, other), 1 to 4. Default 3.
    pub password_min_classes: Option<i64>,
    /// Extra interactive local accounts that are allowed (account names). Default: none.
    pub allowed: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// Inbound exceptions to the default deny, each `{ port, proto, from }` scoped to the smallest range
    /// of clients, with the fields below. Default: none.
    #[serde(default)]
    pub allow: Vec<AllowEntry>,
    /// macOS: applications the application firewall may let accept incoming connections (absolute paths,
    /// as `socketfilterfw --listapps` prints them). Any other app allowed there fails firewall.inbound.
    #[serde(default)]
    pub apps: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// The port to open, 1 to 65535.
    pub port: u16,
    /// "tcp" or "udp".
    pub proto: Proto,
    /// The clients allowed: an address or a CIDR range (10.0.0.0/8). `any` or /0 is refused by firewall.inbound.
    pub from: String,
    /// Why a cleartext protocol (telnet, FTP, HTTP, VNC…) is accepted; without it such a port is refused.
    pub cleartext_ok: Option<String>,
    /// Who approved the rule and its business need (Cyber Essentials F3); none is a `waivers lint` notice.
    pub approved_by: Option<String>,
    /// When the rule must next be reviewed (CE F4): a TOML date or a "YYYY-MM-DD" string. Past it,
    /// firewall.inbound fails naming the entry.
    #[schemars(with = "Option<String>", extend("format" = "date"))]
    pub review_by: Option<toml::Value>,
}

impl AllowEntry {
    /// `443/tcp from 10.0.0.0/8`: how reports and `waivers lint` name the entry.
    pub fn describe(&self) -> String {
        format!("{}/{} from {}", self.port, self.proto.as_str(), self.from)
    }

    /// `review_by` as `YYYY-MM-DD`, when it is a date without a time (site validation refuses any
    /// other value, so after it `None` means no `review_by`).
    pub fn review_date(&self) -> Option<String> {
        let d: toml::value::Datetime = match self.review_by.as_ref()? {
            toml::Value::Datetime(d) => *d,
            toml::Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        let date = d.date.filter(|_| d.time.is_none() && d.offset.is_none())?;
        let text = format!("{:04}-{:02}-{:02}", date.year, date.month, date.day);
        // A day the calendar has (not 2027-02-30), so that day arithmetic on it is sound.
        crate::support::clock::day_number(&text).map(|_| text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
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

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// clamav | defender | site. Default: the OS's own (Defender on Windows, ClamAV on Linux); macOS has none, so a Mac needs one named. With `site`, `service` and `artifact` name it.
    pub product: Option<EndpointProduct>,
    /// With product = "site": the service name of the endpoint agent.
    pub service: Option<String>,
    /// With product = "site": the `[artifacts.NAME]` that installs it.
    pub artifact: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointProduct {
    Clamav,
    Defender,
    Site,
}

/// `[updates]`: how long a security update may wait before `updates.pending` says it is past the window.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Updates {
    /// Days a pending security update may wait (Cyber Essentials: high and critical fixes within 14 days).
    pub max_age_days: Option<i64>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceManagement {
    /// The management agent's service name.
    pub service: Option<String>,
    /// The `[artifacts.NAME]` that installs the agent.
    pub artifact: Option<String>,
    /// The MDM server the device must be enrolled in: a host name, or an https URL whose host is taken.
    /// Without it any enrolment passes; with it an enrolment in another server (a reseller's, a
    /// previous owner's) fails.
    pub mdm_server: Option<String>,
}

/// `[device_lock]` (SPEC §2 `device.lock`): the longest a device may sit idle, unlocked.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceLock {
    /// Minutes of inactivity after which the screen locks (default 15).
    pub idle_minutes: Option<i64>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Office {
    /// "64" or "32" (bit). Default "64".
    pub edition: Option<String>,
    /// The update channel (one word: MonthlyEnterprise, Current, SemiAnnual). Default MonthlyEnterprise.
    pub channel: Option<String>,
    /// Language tags (en-gb). Default: the OS's language.
    pub languages: Option<Vec<String>>,
    /// Apps left out (Groove, Lync…). Default: none.
    pub exclude_apps: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vpn {
    /// The VPN connection's name, as the user sees it.
    pub name: Option<String>,
    /// The VPN gateway: a host name or IP address.
    pub gateway: Option<String>,
    /// The gateway's port. Default 443.
    pub port: Option<u16>,
    /// The sha256 of the gateway's certificate (64 hex digits), pinned in the VPN profile.
    pub trusted_cert: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lansweeper {
    /// The Lansweeper server (or relay): a host name or IP address.
    pub server: Option<String>,
    /// The server's port. Default 9524.
    pub port: Option<u16>,
    /// The relay's agent key: a secret (SPEC §7). It reaches scripts only through the environment; a site file holding it must be readable by root only (mode 600).
    pub agent_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
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

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The control id the waiver is for (e.g. os.supported).
    pub control: String,
    /// Why the failure is accepted.
    pub reason: String,
    /// Who approved it.
    pub approved_by: String,
    /// The ticket recording the approval.
    pub ticket: String,
    /// The day the waiver ends, a TOML date (2027-01-31); no time.
    #[schemars(with = "String", extend("format" = "date"))]
    pub expires: toml::value::Datetime,
    /// Optional: serial numbers or host names it is limited to. Default: every device.
    pub devices: Option<Vec<String>>,
}
