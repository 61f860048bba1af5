//! The site file's sections as serde structs: strict (`deny_unknown_fields`), so that an unknown key is an
//! error naming file, line and key (SPEC §4).

use std::collections::BTreeMap;

use serde::Deserialize;

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
    #[serde(default)]
    pub updates: Updates,
    pub device_management: Option<DeviceManagement>,
    pub office: Option<Office>,
    pub vpn: Option<Vpn>,
    pub lansweeper: Option<Lansweeper>,
    #[serde(default)]
    pub device_lock: DeviceLock,
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
    /// Who approved the rule and its business need (Cyber Essentials F3); none is a `waivers lint` notice.
    pub approved_by: Option<String>,
    /// When the rule must next be reviewed (CE F4): a TOML date or a "YYYY-MM-DD" string. Past it,
    /// firewall.inbound fails naming the entry.
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

/// `[updates]`: how long a security update may wait before `updates.pending` says it is past the window.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Updates {
    /// Days a pending security update may wait (Cyber Essentials: high and critical fixes within 14 days).
    pub max_age_days: Option<i64>,
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

/// `[device_lock]` (SPEC §2 `device.lock`): the longest a device may sit idle, unlocked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceLock {
    /// Minutes of inactivity after which the screen locks (default 15).
    pub idle_minutes: Option<i64>,
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
