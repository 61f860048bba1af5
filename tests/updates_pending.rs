//! The rendered `updates.pending` check (Debian/Ubuntu, templates/linux/updates-pending.apt.check.sh) run
//! under `sh` and `dash` against a made-up device: package lists, dpkg status and apt configuration in a
//! temporary directory (the script's absolute paths rewritten to it), and stand-ins for `apt-get` and
//! `apt-helper` first in PATH. It proves which packages the Packages-files path calls pending (newer in the
//! security archive, for the installed architecture or all; not held, not removed, not superseded by a
//! newer version elsewhere), and that it hands over to apt-get, saying why, where the lists alone cannot
//! say what apt would do. The booted e2e (xtask/src/scenario.rs) compares both paths with apt itself.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{have, SITE};

/// 2026-11-25T12:00:00Z.
const NOW: i64 = 1_795_608_000;

const SECURITY_RELEASE: &str = "Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\n\
Version: 12\nCodename: bookworm-security\nDate: Mon, 26 Oct 2026 12:00:00 UTC\nArchitectures: amd64 i386\n";
const MAIN_RELEASE: &str = "Origin: Debian\nLabel: Debian\nSuite: stable\nVersion: 12.12\n\
Codename: bookworm\nDate: Sat, 08 Nov 2026 10:00:00 UTC\nArchitectures: amd64 i386\n";
const SEC: &str = "deb.example_debian-security_dists_bookworm-security_";
const MAIN: &str = "deb.example_debian_dists_bookworm_";

fn stanza(fields: &[(&str, &str)]) -> String {
    let mut s: String = fields.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    s.push('\n');
    s
}

fn installed(p: &str, v: &str, arch: &str, status: &str) -> String {
    stanza(&[
        ("Package", p),
        ("Status", status),
        ("Priority", "optional"),
        ("Architecture", arch),
        ("Version", v),
        ("Description", "x"),
    ])
}

/// A package list stanza, in Debian's archive order (Version before Architecture).
fn listed(p: &str, v: &str, arch: &str) -> String {
    stanza(&[
        ("Package", p),
        ("Source", p),
        ("Version", v),
        ("Installed-Size", "10"),
        ("Architecture", arch),
        ("Description", "x"),
    ])
}

struct Device {
    dir: tempfile::TempDir,
    script: String,
}

impl Device {
    fn new() -> Device {
        let (_out, files) = crate::support::render_files("debian-12", SITE, &["sh"]);
        let (_, text) = files
            .into_iter()
            .find(|(n, _)| n == "updates.pending.check.sh")
            .expect("debian-12 renders updates.pending.check.sh");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let mut script = text;
        for (from, to) in [
            ("/var/lib/apt/lists", "lists"),
            ("/var/lib/dpkg/", "dpkg/"),
            ("/etc/apt/", "etc-apt/"),
            ("/var/cache/apt/", "cache-apt/"),
            ("/usr/lib/apt/apt-helper", "bin/apt-helper"),
            ("/var/run/reboot-required", "reboot-required"),
        ] {
            assert!(script.contains(from), "the check names {from}");
            script = script.replace(from, &format!("{root}/{to}"));
        }
        for real in ["/var/lib/apt", "/var/lib/dpkg", "/etc/apt", "/usr/lib/apt"] {
            assert!(!script.contains(real), "{real} left in the rewritten check");
        }
        for d in [
            "lists",
            "dpkg/updates",
            "etc-apt/preferences.d",
            "etc-apt/apt.conf.d",
            "etc-apt/sources.list.d",
            "cache-apt",
            "bin",
            "state",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let d = Device { dir, script };
        let status = [
            installed("dpkg", "1.21.22", "amd64", "install ok installed"),
            installed("libfoo", "1.0-1", "amd64", "install ok installed"),
            installed("libbar", "2.0-1", "all", "install ok installed"),
            installed("libheld", "1.0-1", "amd64", "hold ok installed"),
            installed("libgone", "1.0-1", "amd64", "deinstall ok config-files"),
            installed("libsup", "1.0-1", "amd64", "install ok installed"),
            installed("libsame", "1.0-1", "amd64", "install ok unpacked"),
            installed("libx", "1.0-1", "i386", "install ok installed"),
            installed("libold", "2.0-1", "amd64", "install ok installed"),
            installed("libtilde", "1.0", "amd64", "install ok installed"),
            installed("libtoall", "1.0-1", "amd64", "install ok installed"),
        ]
        .concat();
        d.write("dpkg/status", &status);
        d.write(&format!("lists/{SEC}InRelease"), SECURITY_RELEASE);
        d.write(&format!("lists/{MAIN}InRelease"), MAIN_RELEASE);
        let security = [
            listed("libfoo", "1.0-1+deb12u1", "amd64"),
            listed("libbar", "2.0-1+deb12u1", "all"),
            listed("libheld", "1.0-1+deb12u1", "amd64"),
            listed("libgone", "1.0-1+deb12u1", "amd64"),
            listed("libsup", "1.0-1+deb12u1", "amd64"),
            listed("libsame", "1.0-1+deb12u1", "amd64"),
            listed("libx", "1.0-1+deb12u1", "amd64"), // amd64 only: the i386 one is in binary-i386
            listed("libold", "1.9-1+deb12u1", "amd64"),
            listed("libtilde", "1.0~rc1", "amd64"),
            listed("libtoall", "1.0-1+deb12u1", "all"),
            listed("notinstalled", "9.0", "amd64"),
        ]
        .concat();
        d.write(&format!("lists/{SEC}main_binary-amd64_Packages"), &security);
        d.write(
            &format!("lists/{SEC}main_binary-i386_Packages"),
            &listed("libx", "1.0-1+deb12u1", "i386"),
        );
        let main = [
            listed("libsup", "1.0-1+deb12u2", "amd64"), // a point release superseded the security fix
            listed("libsame", "1.0-1+deb12u1", "amd64"), // the point release carries it too
            listed("libfoo", "1.0-1", "amd64"),
            listed("libold", "2.0-1", "amd64"),
        ]
        .concat();
        d.write(&format!("lists/{MAIN}main_binary-amd64_Packages"), &main);
        // apt-get -s dist-upgrade as apt would print it here; only the apt-get path runs it.
        d.write(
            "apt-get.out",
            "Inst libfoo [1.0-1] (1.0-1+deb12u1 Debian-Security:12/stable-security [amd64])\n\
             Inst libsup [1.0-1] (1.0-1+deb12u2 Debian:12.12/stable [amd64])\n",
        );
        d.write_exec(
            "bin/apt-get",
            &format!("#!/bin/sh\ncat '{}/apt-get.out'\n", d.dir.path().display()),
        );
        d.write_exec(
            "bin/apt-helper",
            "#!/bin/sh\n[ \"$1\" = cat-file ] || exit 2\nexec gzip -dc \"$2\"\n",
        );
        d
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    fn write_exec(&self, rel: &str, text: &str) {
        self.write(rel, text);
        Command::new("chmod")
            .arg("755")
            .arg(self.path(rel))
            .status()
            .unwrap();
    }

    /// Gzips list `name` in place, as apt keeps it with Acquire::GzipIndexes.
    fn gzip(&self, name: &str) {
        let st = Command::new("gzip")
            .arg(self.path(&format!("lists/{name}")))
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Runs the check under `shell` without its cache; its `observed`.
    fn check(&self, shell: &str) -> Value {
        let _ = std::fs::remove_file(self.path("state/cache/updates-pending"));
        let script = self.path("check.sh");
        self.write("check.sh", &self.script);
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new(shell)
            .arg(&script)
            .env("PATH", path)
            .env("HANDOVER_STATE_DIR", self.path("state"))
            .env("HANDOVER_NOW_EPOCH", NOW.to_string())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "{shell}: not one JSON line ({e}): {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        v
    }
}

fn shells() -> Vec<&'static str> {
    let mut s = vec!["sh"];
    if have("dash") {
        s.push("dash");
    }
    s
}

#[test]
fn the_packages_files_say_what_apt_would() {
    if !have("gzip") {
        panic!("gzip is needed (the compressed-list case)");
    }
    let d = Device::new();
    for shell in shells() {
        let r = d.check(shell);
        let o = &r["observed"];
        assert_eq!(o["source"], "packages-files", "{shell}: {r}");
        // libheld is held, libgone removed, libsup superseded by the point release, libold and libtilde
        // newer than the security version, notinstalled not installed; libx:i386 from binary-i386;
        // libtoall is now Architecture: all, which upgrades the amd64 one.
        assert_eq!(
            o["pending"], "libbar libfoo libsame libtoall libx:i386",
            "{shell}: {r}"
        );
        assert_eq!(r["compliant"], false);
        // The security archive dates them 30 days before now: past the 14-day window.
        assert_eq!(o["oldest_pending_days"], 30, "{shell}: {r}");
        assert!(
            o["oldest_pending_source"]
                .as_str()
                .unwrap()
                .contains(&format!("Date of {SEC}InRelease")),
            "{r}"
        );
        assert_eq!(
            o["source_detail"],
            "dpkg status and 2 Packages files of Debian-Security:12/stable-security"
        );
        let seen = std::fs::read_to_string(d.path("state/updates-pending.seen")).unwrap();
        assert!(
            seen.contains(&format!("libfoo\t1.0-1+deb12u1\t{}\t", NOW - 30 * 86400)),
            "{seen}"
        );
    }
    // Lists kept compressed (Acquire::GzipIndexes) are read through apt's own apt-helper: the same answer.
    d.gzip(&format!("{SEC}main_binary-amd64_Packages"));
    d.gzip(&format!("{MAIN}main_binary-amd64_Packages"));
    for shell in shells() {
        let r = d.check(shell);
        assert_eq!(r["observed"]["source"], "packages-files", "{shell}: {r}");
        assert_eq!(
            r["observed"]["pending"], "libbar libfoo libsame libtoall libx:i386",
            "{shell}: {r}"
        );
    }
    // Nothing newer in the security archive: nothing pending, and no need of the other lists.
    d.write(
        &format!("lists/{SEC}main_binary-i386_Packages"),
        &listed("libx", "1.0-1", "i386"),
    );
    std::fs::remove_file(d.path(&format!("lists/{SEC}main_binary-amd64_Packages.gz"))).unwrap();
    std::fs::remove_file(d.path(&format!("lists/{MAIN}main_binary-amd64_Packages.gz"))).unwrap();
    let r = d.check("sh");
    assert_eq!(r["observed"]["source"], "packages-files", "{r}");
    assert_eq!(r["observed"]["pending"], "", "{r}");
    assert_eq!(r["compliant"], true, "{r}");
    assert!(!d.path("state/updates-pending.seen").exists());
    // The same with apt pinning: apt-get answers, nothing, and says why it ran.
    d.write("apt-get.out", "");
    d.write(
        "etc-apt/preferences",
        "Package: *\nPin: release a=stable\nPin-Priority: 990\n",
    );
    for shell in shells() {
        let r = d.check(shell);
        let o = &r["observed"];
        assert_eq!(o["source"], "apt-get", "{shell}: {r}");
        assert_eq!(o["pending"], "", "{shell}: {r}");
        assert_eq!(
            o["source_detail"],
            format!(
                "apt-get -s dist-upgrade: apt pinning in {}",
                d.path("etc-apt/preferences").display()
            ),
            "{shell}: {r}"
        );
        assert_eq!(r["compliant"], true, "{shell}: {r}");
    }
}

/// What a case does to the made-up device.
type Make = Box<dyn Fn(&Device)>;

#[test]
fn apt_answers_where_the_lists_cannot() {
    let cases: Vec<(&str, Make)> = vec![
        (
            "apt pinning in",
            Box::new(|d: &Device| {
                d.write(
                    "etc-apt/preferences.d/pin",
                    "Package: *\nPin: release a=stable-security\nPin-Priority: 100\n",
                )
            }),
        ),
        (
            "APT::Default-Release is set",
            Box::new(|d: &Device| {
                d.write(
                    "etc-apt/apt.conf.d/99release",
                    "APT::Default-Release \"stable\";\n",
                )
            }),
        ),
        (
            "is NotAutomatic",
            Box::new(|d: &Device| {
                d.write(
                    &format!("lists/{SEC}InRelease"),
                    &format!("{SECURITY_RELEASE}NotAutomatic: yes\n"),
                )
            }),
        ),
        (
            "a phased update of libfoo",
            Box::new(|d: &Device| {
                let p = format!("lists/{SEC}main_binary-amd64_Packages");
                let text = std::fs::read_to_string(d.path(&p)).unwrap().replacen(
                    "Version: 1.0-1+deb12u1\n",
                    "Version: 1.0-1+deb12u1\nPhased-Update-Percentage: 10\n",
                    1,
                );
                d.write(&p, &text)
            }),
        ),
        (
            "no Packages file of a security archive",
            Box::new(|d: &Device| {
                for a in ["amd64", "i386"] {
                    std::fs::remove_file(d.path(&format!("lists/{SEC}main_binary-{a}_Packages")))
                        .unwrap();
                }
            }),
        ),
        (
            "dpkg's journal is not merged",
            Box::new(|d: &Device| d.write("dpkg/updates/0001", "Package: libfoo\n")),
        ),
        (
            "compressed lists and no",
            Box::new(|d: &Device| {
                d.gzip(&format!("{SEC}main_binary-amd64_Packages"));
                std::fs::remove_file(d.path("bin/apt-helper")).unwrap();
            }),
        ),
    ];
    for (why, make) in cases {
        let d = Device::new();
        make(&d);
        for shell in shells() {
            let r = d.check(shell);
            let o = &r["observed"];
            assert_eq!(o["source"], "apt-get", "{why} ({shell}): {r}");
            assert!(
                o["source_detail"].as_str().unwrap().contains(why),
                "{why} ({shell}): {r}"
            );
            // apt's own answer: its Inst lines that name a security archive.
            assert_eq!(o["pending"], "libfoo", "{why} ({shell}): {r}");
            assert_eq!(o["oldest_pending_days"], 30, "{why} ({shell}): {r}");
        }
    }
}

#[test]
fn the_answer_is_cached_until_the_status_changes() {
    let d = Device::new();
    let first = d.check("sh");
    assert_eq!(first["observed"]["source"], "packages-files");
    // check() drops the cache; run the script again keeping it.
    let out = Command::new("sh")
        .arg(d.path("check.sh"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                d.path("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HANDOVER_STATE_DIR", d.path("state"))
        .env("HANDOVER_NOW_EPOCH", NOW.to_string())
        .output()
        .unwrap();
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["observed"]["source"], "cache", "{again}");
    assert_eq!(again["observed"]["pending"], first["observed"]["pending"]);
    assert_eq!(
        again["observed"]["source_detail"],
        first["observed"]["source_detail"]
    );
    let cache = std::fs::read_to_string(d.path("state/cache/updates-pending")).unwrap();
    assert!(cache.starts_with("v4 "), "{cache}");
    assert!(Path::new(&d.path("state/cache/updates-pending")).is_file());
}

/// The lists count as current while any Packages file changed in the last 7 days (the stat the cache's key
/// comes from): older ones make the check say to run apt-get update, whatever it finds pending.
#[test]
fn old_package_lists_are_said() {
    let d = Device::new();
    let lists: Vec<_> = std::fs::read_dir(d.path("lists"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("_Packages"))
        .collect();
    assert!(lists.len() >= 3, "{lists:?}");
    let touch = |p: &Path, t: i64| {
        let st = Command::new("touch")
            .arg("-d")
            .arg(format!("@{t}"))
            .arg(p)
            .status()
            .unwrap();
        assert!(st.success());
    };
    for shell in shells() {
        for p in &lists {
            touch(p, NOW - 8 * 86400);
        }
        let r = d.check(shell);
        assert!(
            r["observed"]["package_lists"]
                .as_str()
                .is_some_and(|s| s.starts_with("older than 7 days")),
            "{shell}: {r}"
        );
        // One list refreshed a day ago is enough.
        touch(&lists[1], NOW - 86400);
        let r = d.check(shell);
        assert!(r["observed"].get("package_lists").is_none(), "{shell}: {r}");
    }
}
