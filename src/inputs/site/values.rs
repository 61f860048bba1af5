//! Site values other modules read too: plain file names, an artifact URL's file name, the MDM host,
//! firewall sources (parsed, and normalized as firewalls store them) and paths relative to the site.

use std::net::IpAddr;
use std::path::Path;

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
pub(crate) fn mdm_host(v: &str) -> String {
    let rest = v.strip_prefix("https://").unwrap_or(v);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    };
    host.to_ascii_lowercase()
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

/// Relative artifact paths are relative to the site file, so a kit can carry both side by side.
pub(crate) fn resolve_url(url: &str, base: Option<&Path>) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    match base {
        Some(b) if Path::new(url).is_relative() => b.join(url).display().to_string(),
        _ => url.to_string(),
    }
}
