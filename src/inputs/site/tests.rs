//! Unit tests of the site file: parsing, validation errors with their lines, the template context.

use super::*;
use serde_json::json;

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
    let s = parse("[lansweeper]\nserver = \"ls.example.ac.uk\"\nagent_key = \"k3y-relay-0001\"\n")
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

#[test]
fn a_firewall_rule_carries_who_approved_it_and_when_it_is_reviewed() {
    let site = parse(
        "[firewall]\nallow = [\n  { port = 443, proto = \"tcp\", from = \"10.0.0.0/8\", approved_by = \"Head of IT\", review_by = 2027-03-01 },\n  { port = 22, proto = \"tcp\", from = \"10.1.0.0/16\", review_by = \"2026-10-01\" },\n  { port = 80, proto = \"tcp\", from = \"10.2.0.0/16\" },\n]\n",
    )
    .unwrap();
    let allow = &site.file.firewall.allow;
    assert_eq!(allow[0].approved_by.as_deref(), Some("Head of IT"));
    assert_eq!(allow[0].review_date().as_deref(), Some("2027-03-01"));
    assert_eq!(allow[1].review_date().as_deref(), Some("2026-10-01"));
    assert_eq!(
        (allow[2].approved_by.as_deref(), allow[2].review_date()),
        (None, None)
    );
    assert_eq!(allow[0].describe(), "443/tcp from 10.0.0.0/8");
    for (bad, line) in [
        ("review_by = \"next year\"", 3),
        ("review_by = \"2027-02-30\"", 3),
        ("review_by = 2027-03-01T10:00:00", 3),
        ("review_by = 20270301", 3),
        ("approved_by = \"  \"", 3),
        ("approved_by = 7", 3),
    ] {
        let key = bad.split(' ').next().unwrap();
        let e = parse(&format!(
            "[firewall]\nallow = [\n  {{ port = 443, proto = \"tcp\", from = \"10.0.0.0/8\", {bad} }},\n]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(&format!("site.toml:{line}")) && e.contains(key),
            "{bad}: {e}"
        );
    }
    // Still strict: an unknown key in an entry is an error.
    assert!(parse("[firewall]\nallow = [ { port = 443, proto = \"tcp\", from = \"10.0.0.0/8\", reviewed = true } ]\n")
        .unwrap_err()
        .to_string()
        .contains("reviewed"));
}

#[test]
fn device_lock_idle_minutes_defaults_to_15_and_refuses_never_and_silly_values() {
    let site = parse("").unwrap();
    assert_eq!(site.get("device_lock.idle_minutes").unwrap(), 15);
    let site = parse("[device_lock]\nidle_minutes = 5\n").unwrap();
    assert_eq!(site.get("device_lock.idle_minutes").unwrap(), 5);
    for bad in ["0", "-5", "61", "100000"] {
        let e = parse(&format!(
            "[organisation]\nname = \"U\"\n[device_lock]\nidle_minutes = {bad}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("site.toml:4:") && e.contains("device_lock.idle_minutes"),
            "{bad}: {e}"
        );
    }
    // A wrong type and an unknown key are errors naming file, line and key too.
    for (src, key) in [
        (
            "[device_lock]\nidle_minutes = \"15\"\n",
            "device_lock.idle_minutes",
        ),
        (
            "[device_lock]\nidle_minute = 15\n",
            "device_lock.idle_minute",
        ),
    ] {
        let e = parse(src).unwrap_err().to_string();
        assert!(e.contains("site.toml:2:") && e.contains(key), "{src}: {e}");
    }
}

#[test]
fn updates_max_age_days_defaults_to_14_and_is_1_to_365() {
    assert_eq!(
        parse("").unwrap().get("updates.max_age_days"),
        Some(&json!(14))
    );
    let s = parse("[organisation]\nname = \"U\"\n[updates]\nmax_age_days = 30\n").unwrap();
    assert_eq!(s.get("updates.max_age_days"), Some(&json!(30)));
    for bad in ["0", "366", "-1"] {
        let e = parse(&format!(
            "[organisation]\nname = \"U\"\n[updates]\nmax_age_days = {bad}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("/etc/handover/site.toml:4:")
                && e.contains("key `updates.max_age_days`")
                && e.contains("outside 1..=365"),
            "{bad}: {e}"
        );
    }
    let e = parse("[updates]\nmax_age_days = \"fortnight\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(":2:") && e.contains("updates.max_age_days"),
        "{e}"
    );
    let e = parse("[updates]\nmax_age = 14\n").unwrap_err().to_string();
    assert!(e.contains("updates.max_age"), "{e}");
}

#[test]
fn a_placeholder_left_anywhere_is_refused_first_by_line_without_its_value() {
    let e = parse(
        "[lansweeper]\nagent_key = \"<fill in: the relay's agent key>\"\n[accounts]\nallowed = [\"svc\", \"<fill in: x>\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("site.toml:2: key `lansweeper.agent_key`")
            && e.contains("accounts.allowed.1 (line 4)"),
        "{e}"
    );
    assert!(
        !e.contains("relay's agent key"),
        "the value is not shown: {e}"
    );
    // The words alone, not at the start, are a value like any other.
    parse("[organisation]\nname = \"Please fill in <fill in\"\n").unwrap();
}
