//! What device this is: OS family, id and version, hostname, serial and model. Read from files, not from
//! commands, so that `facts` costs microseconds.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::process::{program, Cmd};

/// The operating system, as profiles match it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Os {
    pub family: String,
    pub id: String,
    pub version: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Device {
    pub hostname: String,
    pub serial: String,
    pub model: String,
    pub os: Os,
}

/// Read the facts of the device handover runs on.
pub fn detect() -> Device {
    let os = detect_os();
    if cfg!(target_os = "macos") {
        // macOS has no /proc or DMI files: three short commands, about 20 ms together.
        let or_unknown = |s: String| {
            let s = s.trim().to_string();
            if s.is_empty() {
                "unknown".to_string()
            } else {
                s
            }
        };
        return Device {
            hostname: or_unknown(stdout_of("/bin/hostname", &[])),
            serial: parse_ioreg_serial(&stdout_of(
                "/usr/sbin/ioreg",
                &["-rd1", "-c", "IOPlatformExpertDevice"],
            )),
            model: or_unknown(stdout_of("/usr/sbin/sysctl", &["-n", "hw.model"])),
            os,
        };
    }
    if cfg!(windows) {
        // Windows has no DMI files: the serial, maker and model come from the firmware's SMBIOS table,
        // read in-process (src/host/smbios.rs), so a run starts no PowerShell for its facts. Without the
        // serial, records carry none and a waiver scoped to a serial never matches.
        let (serial, model) = windows_hardware();
        return Device {
            hostname: hostname(),
            serial,
            model,
            os,
        };
    }
    Device {
        hostname: hostname(),
        serial: dmi("product_serial"),
        model: model(),
        os,
    }
}

/// Serial and model on Windows: from the SMBIOS System Information structure when Windows gives the
/// firmware table; only when it cannot (GetSystemFirmwareTable fails, or the table holds no System
/// Information) from CIM, in a PowerShell of about half a second: the fallback, and the one place
/// besides the script runner where handover starts PowerShell.
fn windows_hardware() -> (String, String) {
    #[cfg(windows)]
    let system = super::smbios::read_firmware_table().and_then(|raw| {
        super::smbios::raw_smbios_table(&raw).and_then(super::smbios::smbios_system)
    });
    // Elsewhere there is no GetSystemFirmwareTable; detect() never asks there (it reads DMI files).
    #[cfg(not(windows))]
    let system: Option<(String, String, String)> = None;
    match system {
        Some((maker, product, serial)) => identity(&serial, &maker, &product),
        None => windows_hardware_fallback(),
    }
}

/// The CIM fallback of [`windows_hardware`]: Win32_BIOS.SerialNumber and Win32_ComputerSystem's
/// Manufacturer and Model.
fn windows_hardware_fallback() -> (String, String) {
    parse_windows_hardware(&stdout_of(
        &program("powershell"),
        &[
            "-NoProfile",
            "-NonInteractive",
            "-Command",
            WINDOWS_HARDWARE,
        ],
    ))
}

/// Prints `serial=…`, `manufacturer=…` and `model=…` in UTF-8 (names with accents survive).
const WINDOWS_HARDWARE: &str = "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false; \
    $b = Get-CimInstance -ClassName Win32_BIOS; $c = Get-CimInstance -ClassName Win32_ComputerSystem; \
    'serial=' + $b.SerialNumber; 'manufacturer=' + $c.Manufacturer; 'model=' + $c.Model";

/// Serial and model from [`WINDOWS_HARDWARE`]'s output.
pub fn parse_windows_hardware(text: &str) -> (String, String) {
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_default()
    };
    identity(get("serial"), get("manufacturer"), get("model"))
}

/// Serial and model from the firmware's serial, maker and product name, however read (SMBIOS or CIM).
/// Firmware placeholders ("To be filled by O.E.M.", "Default string", "System Serial Number", "0") are
/// no serial: two devices would share them. The model is the maker and product, the maker once.
pub fn identity(serial: &str, maker: &str, product: &str) -> (String, String) {
    fn known(v: &str) -> Option<&str> {
        let v = v.trim();
        let l = v.to_ascii_lowercase();
        let placeholder = [
            "to be filled by o.e.m.",
            "default string",
            "system serial number",
            "none",
            "0",
            "not specified",
            "n/a",
        ]
        .contains(&l.as_str());
        (!v.is_empty() && !placeholder).then_some(v)
    }
    let serial = known(serial).map_or_else(|| "unknown".to_string(), str::to_string);
    let model = match (known(maker), known(product)) {
        (Some(m), Some(p)) if p.to_ascii_lowercase().starts_with(&m.to_ascii_lowercase()) => {
            p.to_string()
        }
        (Some(m), Some(p)) => format!("{m} {p}"),
        (Some(m), None) => m.to_string(),
        (None, Some(p)) => p.to_string(),
        (None, None) => "unknown".to_string(),
    };
    (serial, model)
}

/// What a command prints on stdout, whatever its exit status; empty when it cannot start. Facts are
/// best-effort: a missing tool leaves a field `unknown`, it does not stop a run.
fn stdout_of(prog: &str, args: &[&str]) -> String {
    Cmd::exact(prog)
        .args(args)
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default()
}

/// The serial number from `ioreg -rd1 -c IOPlatformExpertDevice`: the line
/// `"IOPlatformSerialNumber" = "C02XXXXXXXXX"`.
pub fn parse_ioreg_serial(text: &str) -> String {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "\"IOPlatformSerialNumber\"")
                .then(|| v.trim().trim_matches('"').to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The OS from `sw_vers` (`ProductName:\tmacOS`, `ProductVersion:\t14.7.1`, `BuildVersion:\t23H222`).
pub fn parse_sw_vers(text: &str) -> Os {
    let get = |key: &str| -> String {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let version = get("ProductVersion");
    let build = get("BuildVersion");
    let product = get("ProductName");
    let product = if product.is_empty() {
        "macOS".to_string()
    } else {
        product
    };
    Os {
        family: "macos".into(),
        id: "macos".into(),
        name: if build.is_empty() {
            format!("{product} {version}").trim().to_string()
        } else {
            format!("{product} {version} ({build})")
        },
        version: if version.is_empty() {
            "unknown".into()
        } else {
            version
        },
        id_like: vec![],
    }
}

fn read_trim(p: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn hostname() -> String {
    read_trim("/proc/sys/kernel/hostname")
        .or_else(|| read_trim("/etc/hostname"))
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// DMI strings; the serial is readable by root only, which is who runs handover.
fn dmi(field: &str) -> String {
    read_trim(Path::new("/sys/class/dmi/id").join(field)).unwrap_or_else(|| "unknown".into())
}

fn model() -> String {
    let vendor = dmi("sys_vendor");
    let product = dmi("product_name");
    match (vendor.as_str(), product.as_str()) {
        ("unknown", "unknown") => "unknown".into(),
        ("unknown", p) => p.into(),
        (v, "unknown") => v.into(),
        (v, p) => format!("{v} {p}"),
    }
}

fn detect_os() -> Os {
    if cfg!(windows) {
        // `reg query` rather than a registry crate: one short process, and the parsing is testable anywhere.
        return parse_windows_version(&stdout_of(
            &program("reg"),
            &[
                "query",
                r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion",
            ],
        ));
    }
    if cfg!(target_os = "macos") {
        return parse_sw_vers(&stdout_of("/usr/bin/sw_vers", &[]));
    }
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    parse_os_release(&text)
}

/// The OS from `reg query "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"`. Windows 11 still says
/// "Windows 10" in ProductName: the build tells them apart (22000 and later is 11).
pub fn parse_windows_version(text: &str) -> Os {
    let get = |key: &str| -> String {
        text.lines()
            .map(str::trim)
            .find_map(|l| {
                let mut parts = l.splitn(3, char::is_whitespace).filter(|p| !p.is_empty());
                (parts.next() == Some(key)).then(|| {
                    l.split_once("REG_SZ")
                        .map(|(_, v)| v.trim().to_string())
                        .unwrap_or_default()
                })
            })
            .unwrap_or_default()
    };
    let build: u32 = get("CurrentBuild").parse().unwrap_or(0);
    let version = if build >= 22000 {
        "11"
    } else if build > 0 {
        "10"
    } else {
        "unknown"
    };
    let name = format!(
        "Windows {version} {} ({}, build {build})",
        get("DisplayVersion"),
        get("EditionID")
    );
    Os {
        family: "windows".into(),
        id: "windows".into(),
        version: version.into(),
        name,
        id_like: vec![],
    }
}

/// Parse os-release(5): `KEY=value` lines, values optionally quoted.
pub fn parse_os_release(text: &str) -> Os {
    let get = |key: &str| -> String {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().trim_matches('"').trim_matches('\'').to_string())
            .unwrap_or_default()
    };
    let id = get("ID");
    let version = get("VERSION_ID");
    let name = get("PRETTY_NAME");
    let id_like = get("ID_LIKE")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Os {
        family: "linux".into(),
        id: if id.is_empty() { "linux".into() } else { id },
        version,
        name,
        id_like,
    }
}

/// What identifies this OS installation, so that an attestation ends when the OS is reinstalled
/// (SPEC §2): `/etc/machine-id` (systemd makes a new one at install), Windows' `MachineGuid` (set by
/// setup), or when macOS's setup assistant finished. `unknown` when none can be read.
pub fn install_id() -> String {
    let id = if cfg!(windows) {
        Cmd::new("reg")
            .args([
                "query",
                r"HKLM\SOFTWARE\Microsoft\Cryptography",
                "/v",
                "MachineGuid",
            ])
            .stdout()
            .ok()
            .and_then(|out| {
                out.lines()
                    .find(|l| l.contains("MachineGuid"))
                    .and_then(|l| l.split_whitespace().last().map(str::to_string))
            })
    } else if cfg!(target_os = "macos") {
        std::fs::metadata("/var/db/.AppleSetupDone")
            .and_then(|m| m.modified())
            .ok()
            .map(|t| crate::support::clock::epoch(t).to_string())
    } else {
        std::fs::read_to_string("/etc/machine-id")
            .ok()
            .map(|s| s.trim().to_string())
    };
    id.filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The SSH session handover runs over, as `SSH_CONNECTION` ("client port server port"). `sudo` resets the
/// environment, so when handover's own has none, the nearest ancestor process that has one (the login shell
/// under sshd, readable by root) says it: the same idea as ufw's check for running under SSH.
pub fn ssh_connection() -> Option<String> {
    if let Ok(v) = std::env::var("SSH_CONNECTION") {
        return Some(v);
    }
    if cfg!(target_os = "macos") {
        return macos_ssh_connection();
    }
    let mut pid = std::process::id();
    for _ in 0..32 {
        pid = parent_of(pid)?;
        if pid <= 1 {
            return None;
        }
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
            for var in env.split(|b| *b == 0) {
                if let Some(v) = var.strip_prefix(b"SSH_CONNECTION=") {
                    return Some(String::from_utf8_lossy(v).into_owned());
                }
            }
        }
    }
    None
}

/// The parent of a process, from `/proc/PID/stat` ("pid (comm) state ppid …"; comm may hold spaces).
/// macOS has no /proc, and its sudo's `env_reset` drops SSH_CONNECTION: find the nearest sshd among
/// this process's ancestors (`ps`), then ask `lsof` for that sshd's TCP connection.
fn macos_ssh_connection() -> Option<String> {
    let table = stdout_of("/bin/ps", &["-axo", "pid=,ppid=,comm="]);
    let sshds = ssh_ancestors(&parse_ps_table(&table), std::process::id());
    sshds.into_iter().find_map(|pid| {
        parse_lsof_connection(&stdout_of(
            "/usr/sbin/lsof",
            &[
                "-nP",
                "-a",
                "-p",
                &pid.to_string(),
                "-iTCP",
                "-sTCP:ESTABLISHED",
                "-Fn",
            ],
        ))
    })
}

/// `ps -axo pid=,ppid=,comm=`: pid → (parent, command).
fn parse_ps_table(text: &str) -> std::collections::HashMap<u32, (u32, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let pid = f.next()?.parse().ok()?;
            let ppid = f.next()?.parse().ok()?;
            let comm: Vec<&str> = f.collect();
            Some((pid, (ppid, comm.join(" "))))
        })
        .collect()
}

/// The sshd processes above `pid`, nearest first. OpenSSH 9.8 split the per-connection server into
/// `sshd-session` (and `sshd-auth` in 10.0), so any command named `sshd…` counts.
fn ssh_ancestors(table: &std::collections::HashMap<u32, (u32, String)>, pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut cur = pid;
    for _ in 0..64 {
        let Some((ppid, _)) = table.get(&cur) else {
            break;
        };
        if *ppid <= 1 {
            break;
        }
        cur = *ppid;
        let name = table
            .get(&cur)
            .map_or("", |(_, c)| c.rsplit('/').next().unwrap_or(c));
        if name.starts_with("sshd") {
            out.push(cur);
        }
    }
    out
}

/// `lsof -Fn` of an sshd: the line `nLOCAL:PORT->REMOTE:PORT` as SSH_CONNECTION would say it,
/// `client port server port` (IPv6 addresses come in brackets).
fn parse_lsof_connection(text: &str) -> Option<String> {
    let split = |hp: &str| -> Option<(String, String)> {
        let (h, p) = hp.rsplit_once(':')?;
        Some((
            h.trim_start_matches('[').trim_end_matches(']').to_string(),
            p.to_string(),
        ))
    };
    text.lines().find_map(|l| {
        let (local, remote) = l.strip_prefix('n')?.split_once("->")?;
        let (lh, lp) = split(local)?;
        let (rh, rp) = split(remote)?;
        Some(format!("{rh} {rp} {lh} {lp}"))
    })
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_serial_and_model_come_from_cim() {
        // Output of WINDOWS_HARDWARE on a Dell, and on a self-built PC whose firmware left placeholders.
        let dell = "serial=5CG1234XYZ\r\nmanufacturer=Dell Inc.\r\nmodel=Latitude 7440\r\n";
        assert_eq!(
            parse_windows_hardware(dell),
            (
                "5CG1234XYZ".to_string(),
                "Dell Inc. Latitude 7440".to_string()
            )
        );
        let lenovo = "serial=PF3ABCDE\nmanufacturer=LENOVO\nmodel=21HDCTO1WW\n";
        assert_eq!(parse_windows_hardware(lenovo).1, "LENOVO 21HDCTO1WW");
        let hp = "serial=CND1\nmanufacturer=HP\nmodel=HP EliteBook 840 G10\n";
        assert_eq!(parse_windows_hardware(hp).1, "HP EliteBook 840 G10");
        let diy =
            "serial=To be filled by O.E.M.\nmanufacturer=Default string\nmodel=Default string\n";
        assert_eq!(
            parse_windows_hardware(diy),
            ("unknown".to_string(), "unknown".to_string())
        );
        assert_eq!(parse_windows_hardware("").0, "unknown");
    }

    #[test]
    fn smbios_strings_get_the_same_placeholder_rules_as_cim() {
        // What src/host/smbios.rs reads from a type 1 structure, trimmed or not.
        assert_eq!(
            identity("5CG1234XYZ", "Dell Inc.", "Latitude 7440"),
            parse_windows_hardware(
                "serial=5CG1234XYZ\nmanufacturer=Dell Inc.\nmodel=Latitude 7440\n"
            )
        );
        assert_eq!(
            identity(" System Serial Number ", "", "HP EliteBook 840 G10"),
            ("unknown".to_string(), "HP EliteBook 840 G10".to_string())
        );
        assert_eq!(
            identity("0", "Not Specified", "N/A"),
            ("unknown".to_string(), "unknown".to_string())
        );
        assert_eq!(identity("PF3ABCDE", "LENOVO", "").1, "LENOVO");
    }

    #[test]
    fn macos_version_serial_from_sw_vers_and_ioreg() {
        let os = parse_sw_vers(
            "ProductName:\t\tmacOS\nProductVersion:\t\t14.7.1\nBuildVersion:\t\t23H222\n",
        );
        assert_eq!(
            (os.family.as_str(), os.id.as_str(), os.version.as_str()),
            ("macos", "macos", "14.7.1")
        );
        assert_eq!(os.name, "macOS 14.7.1 (23H222)");
        // The profile `macos` matches 13, 14 and 15 by the major version before the first dot.
        assert_eq!(parse_sw_vers("").version, "unknown");
        let ioreg = r#"+-o J314sAP  <class IOPlatformExpertDevice, id 0x100000218, registered>
    {
      "IOPlatformUUID" = "8E0F7A3C-0000-0000-0000-000000000000"
      "IOPlatformSerialNumber" = "C02ZX0XXMD6M"
      "model" = <"MacBookPro18,3">
    }"#;
        assert_eq!(parse_ioreg_serial(ioreg), "C02ZX0XXMD6M");
        assert_eq!(parse_ioreg_serial("nothing"), "unknown");
    }

    #[test]
    fn macos_finds_the_ssh_session_above_sudo_without_proc() {
        // `ps -axo pid=,ppid=,comm=` on macOS 15 (OpenSSH 9.8: sshd-session per connection), with
        // handover under sudo under zsh under the user's and the privileged sshd-session.
        let ps = "    1     0 /sbin/launchd\n  610     1 /usr/sbin/sshd\n  700   610 /usr/libexec/sshd-session\n  702   700 /usr/libexec/sshd-session\n  703   702 -zsh\n  800   703 sudo\n  801   800 /Volumes/KIT/handover\n  900     1 /usr/libexec/logd\n";
        let table = parse_ps_table(ps);
        assert_eq!(ssh_ancestors(&table, 801), vec![702, 700, 610]);
        assert!(ssh_ancestors(&table, 900).is_empty());
        // `lsof -nP -a -p 702 -iTCP -sTCP:ESTABLISHED -Fn`
        let lsof = "p702\nf5\nn10.0.0.5:22->10.1.2.3:51234\n";
        assert_eq!(
            parse_lsof_connection(lsof).unwrap(),
            "10.1.2.3 51234 10.0.0.5 22"
        );
        let v6 = "p702\nf5\nn[2001:db8::5]:22->[2001:db8::77]:60000\n";
        assert_eq!(
            parse_lsof_connection(v6).unwrap(),
            "2001:db8::77 60000 2001:db8::5 22"
        );
        assert_eq!(parse_lsof_connection("p702\n"), None);
    }

    #[test]
    fn parent_of_this_process() {
        assert_eq!(
            parent_of(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }

    #[test]
    fn windows_11_says_10_in_its_product_name() {
        let text = "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\r\n    ProductName    REG_SZ    Windows 10 Pro\r\n    CurrentBuild    REG_SZ    26100\r\n    DisplayVersion    REG_SZ    24H2\r\n    EditionID    REG_SZ    Professional\r\n";
        let os = parse_windows_version(text);
        assert_eq!(
            (os.family.as_str(), os.id.as_str(), os.version.as_str()),
            ("windows", "windows", "11")
        );
        assert_eq!(os.name, "Windows 11 24H2 (Professional, build 26100)");
        assert_eq!(
            parse_windows_version("    CurrentBuild    REG_SZ    19045\r\n").version,
            "10"
        );
    }

    #[test]
    fn os_release_of_rocky() {
        let os = parse_os_release("NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\n");
        assert_eq!(os.id, "rocky");
        assert_eq!(os.version, "9.4");
        assert_eq!(os.id_like, vec!["rhel", "centos", "fedora"]);
        assert_eq!(os.name, "Rocky Linux 9.4 (Blue Onyx)");
    }
}
