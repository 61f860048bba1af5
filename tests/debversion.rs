//! updates.pending compares Debian versions in awk (`templates/linux/_debversion.sh`, Debian Policy
//! 5.6.12): here that function runs under every awk on this machine (mawk is Debian's and Ubuntu's default)
//! against a table of tricky pairs with their known order, and against `dpkg --compare-versions` itself on
//! those pairs and on pairs built from the parts that make versions tricky.

use std::path::Path;
use std::process::Command;

use crate::support::have;

const PARTIAL: &str = "templates/linux/_debversion.sh";

/// (a, b, sign of a - b), each checked by hand against Debian Policy 5.6.12 (and by dpkg below).
const PAIRS: &[(&str, &str, i32)] = &[
    ("1.0~rc1", "1.0", -1), // ~ sorts before the end of the string
    ("1.0~~", "1.0~", -1),
    ("1.0~", "1.0~a", -1),
    ("1:0.9", "2.0", 1), // the epoch first
    ("0:1.0", "1.0", 0), // no epoch is epoch 0
    ("10:1", "9:2", 1),  // epochs are numbers
    ("1.0-1", "1.0-1+deb12u1", -1),
    ("2.30-1", "2.3-1", 1),   // digits compare as numbers: 30 > 3
    ("1.0-1+b1", "1.0-1", 1), // a binNMU is newer
    ("1.0-1+b1", "1.0-1+deb12u1", -1),
    ("1.0-1+deb12u2+b2", "1.0-1+deb12u3+b1", -1),
    ("1.0-1~bpo12+1", "1.0-1", -1), // a backport is older than the release it came from
    ("1.0", "1.0-0", 0),            // no revision is revision 0
    ("1.00", "1.0", 0),             // leading zeros do not count
    ("1.000000000000000000000000001", "1.1", 0), // longer than awk's numbers hold exactly
    ("1.18446744073709551617", "1.18446744073709551616", 1),
    ("1.0a", "1.0", 1),         // a letter after the end
    ("1.0a", "1.0+", -1),       // letters before every other character
    ("1.0+", "1.0.", -1),       // then by ASCII
    ("1.0-a-b", "1.0-a-c", -1), // the revision starts after the last hyphen
    ("2.74.6-2+deb12u8", "2.74.6-2+deb12u9", -1),
    ("1:9.2p1-2+deb12u6", "1:9.2p1-2+deb12u10", -1),
    ("1.2.3-4ubuntu0.1", "1.2.3-4ubuntu0.2", -1),
    ("20250419~deb12u2", "20250419", -1),
    ("3.0.11-1~deb12u2", "3.0.11-1~deb12u2", 0),
];

/// Every awk that runs the function here (`awk` itself at least), as argv prefixes.
fn awks() -> Vec<Vec<&'static str>> {
    let mut out = vec![vec!["awk"]];
    for a in ["mawk", "gawk", "original-awk", "nawk"] {
        if have(a) {
            out.push(vec![a]);
        }
    }
    if have("gawk") {
        out.push(vec!["gawk", "--posix"]);
    }
    if have("busybox") {
        out.push(vec!["busybox", "awk"]);
    }
    out
}

/// The sign debvercmp gives each pair under `awk`.
fn awk_signs(awk: &[&str], pairs: &[(String, String)]) -> Vec<i32> {
    let partial = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(PARTIAL))
        .expect("reading the partial");
    let program = format!("{partial}\n{{ print debvercmp($1, $2) }}\n");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pairs");
    let text: String = pairs.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let out = Command::new(awk[0])
        .args(&awk[1..])
        .arg(&program)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{awk:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signs: Vec<i32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse::<i32>().unwrap_or(99))
        .collect();
    assert_eq!(signs.len(), pairs.len(), "{awk:?}: one answer per pair");
    signs
}

/// What `dpkg --compare-versions` says of a and b.
fn dpkg_sign(a: &str, b: &str) -> i32 {
    let rel = |op: &str| {
        Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .status()
            .unwrap()
            .success()
    };
    if rel("lt") {
        -1
    } else if rel("eq") {
        0
    } else {
        1
    }
}

#[test]
fn the_partial_fits_inside_a_quoted_awk_program() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(PARTIAL)).unwrap();
    assert!(
        !text.contains('\''),
        "a quote would end the shell's quoted awk program"
    );
    assert!(!text.contains("{{"), "no handlebars in the partial");
    let check = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/linux/updates-pending.apt.check.sh"),
    )
    .unwrap();
    assert!(check.contains("{{> linux/_debversion.sh}}"));
}

#[test]
fn debvercmp_orders_the_tricky_pairs_as_policy_says() {
    let pairs: Vec<(String, String)> = PAIRS
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    for awk in awks() {
        let signs = awk_signs(&awk, &pairs);
        for ((a, b, want), got) in PAIRS.iter().zip(&signs) {
            assert_eq!(got, want, "{awk:?}: debvercmp({a}, {b})");
        }
        // Antisymmetric: swapped pairs give the opposite sign.
        let swapped: Vec<(String, String)> =
            pairs.iter().map(|(a, b)| (b.clone(), a.clone())).collect();
        for ((a, b), got) in swapped.iter().zip(awk_signs(&awk, &swapped)) {
            let want = -PAIRS.iter().find(|p| p.1 == a && p.0 == b).unwrap().2;
            assert_eq!(got, want, "{awk:?}: debvercmp({a}, {b})");
        }
    }
}

#[test]
fn debvercmp_agrees_with_dpkg() {
    assert!(
        !cfg!(target_os = "linux") || have("dpkg"),
        "dpkg is needed to check the awk version comparison (install dpkg, as .ci/run's Debian has)"
    );
    if !have("dpkg") {
        return;
    }
    // Versions built from the parts that make ordering tricky; each compared with three others.
    let mut versions = Vec::new();
    for epoch in ["", "1:", "0:", "2:"] {
        for up in [
            "1.0",
            "1.0~rc1",
            "1.0a",
            "1.0+dfsg",
            "1.00",
            "1.0.1",
            "1.0~~",
            "10",
            "9",
            "1.0~beta+1",
            "1.0+~",
            "1.0b",
            "1.0-1",
        ] {
            for rev in [
                "",
                "-1",
                "-1+deb12u1",
                "-1+b1",
                "-0",
                "-1~bpo12+1",
                "-a1",
                "-1ubuntu0.1",
            ] {
                versions.push(format!("{epoch}{up}{rev}"));
            }
        }
    }
    let mut pairs: Vec<(String, String)> = PAIRS
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    for (i, a) in versions.iter().enumerate() {
        for d in [1, 31, 211] {
            pairs.push((a.clone(), versions[(i + d) % versions.len()].clone()));
        }
    }
    let dpkg: Vec<i32> = pairs.iter().map(|(a, b)| dpkg_sign(a, b)).collect();
    for awk in awks() {
        let signs = awk_signs(&awk, &pairs);
        let wrong: Vec<String> = pairs
            .iter()
            .zip(signs.iter().zip(&dpkg))
            .filter(|(_, (g, d))| g != d)
            .map(|((a, b), (g, d))| format!("{a} vs {b}: awk {g}, dpkg {d}"))
            .collect();
        assert!(
            wrong.is_empty(),
            "{awk:?} disagrees with dpkg:\n{}",
            wrong.join("\n")
        );
    }
}
