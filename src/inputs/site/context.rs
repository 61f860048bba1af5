//! The template context of a site: SPEC §4's defaults filled in, secrets replaced by `<secret:KEY>`
//! placeholders (secrets reach scripts only through environment variables, SPEC §7).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use super::manifest::canonical_manifest;
use super::schema::{EndpointProduct, SiteFile};
use super::validate::DEFAULT_IDLE_MINUTES;
use super::values::{mdm_host, normalize_source, resolve_url, url_file_name};

/// `[updates] max_age_days` when the site does not say: Cyber Essentials' 14 days for high and critical fixes.
pub(crate) const DEFAULT_MAX_AGE_DAYS: i64 = 14;

/// The template context of a site. Absent keys with no default stay absent (null), so that
/// [`Site::get`] can tell a control that needs them.
pub(crate) fn context_of(
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
        "updates": {
            "max_age_days": file.updates.max_age_days.unwrap_or(DEFAULT_MAX_AGE_DAYS),
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
        "device_lock": {
            "idle_minutes": file.device_lock.idle_minutes.unwrap_or(DEFAULT_IDLE_MINUTES),
        },
        "artifacts": artifacts,
    })
}
