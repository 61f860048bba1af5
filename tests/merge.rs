//! `report merge` through the binary: the fleet page (`--format html`) an IT lead reads at a glance, and
//! the CSV that keeps every column; the page as headless Chromium renders it.

use std::path::Path;

use serde_json::{json, Value};

use crate::support::{s, Handover};

/// The merge's "now": days failing and stale reports are counted to it.
const NOW: &str = "2026-12-06T12:00:00Z";

/// A hostname no page may run or let wrap the table off the screen: markup, quotes, and one long word.
const HOSTILE: &str = "<script>alert(1)</script>\"&'-lab-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// One control of a fixture: id, status, `since` (absent in old reports), frameworks, observed.
struct C(
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
    Value,
);

fn control(c: &C) -> Value {
    let mut v = json!({
        "id": c.0, "title": c.0, "policy": "7.1", "status": c.1, "changed": false,
        "reason": "<b>reason</b> from the device", "observed": c.4, "duration_ms": 1,
        "frameworks": c.3,
    });
    if let Some(since) = c.2 {
        v["since"] = json!(since);
    }
    v
}

/// A report of `host` as `check --format json` writes it; the summary follows the controls.
fn report(
    host: &str,
    serial: &str,
    os: (&str, &str),
    finished: &str,
    scope: &str,
    controls: &[C],
) -> String {
    let count = |st: &str| controls.iter().filter(|c| c.1 == st).count();
    let blocking = count("fail") + count("error") + count("manual");
    json!({
        "tool": {"name": "handover", "version": "0.1.0"},
        "mode": "check", "scope": scope,
        "profile": {"name": format!("{}-{}", os.0, os.1), "digest": "sha256:ab"},
        "device": {"hostname": host, "serial": serial, "model": "m",
                   "os": {"family": "linux", "id": os.0, "version": os.1, "name": format!("Debian {}", os.1)}},
        "user": "jdoe", "asset": format!("QM-{serial}"),
        "started_at": finished, "finished_at": finished,
        "controls": controls.iter().map(control).collect::<Vec<_>>(),
        "summary": {"pass": count("pass"), "fail": count("fail"), "fixed": count("fixed"),
                    "error": count("error"), "waived": count("waived"), "not_applicable": 0,
                    "manual": count("manual"),
                    "compliant": if scope == "full" { json!(blocking == 0) } else { Value::Null }},
        "warnings": []
    })
    .to_string()
}

fn pending(days: u64) -> Value {
    json!({"oldest_pending_days": days, "max_age_days": 14})
}

/// Five devices: one compliant, one failing for 40 days with updates 20 days old, one failing since
/// an unknown time (an old report), one partial run, and the hostile one failing for 3 days whose
/// report is stale.
fn fleet(dir: &Path) {
    let w = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
    let ok = "2026-12-05T09:00:00Z";
    w(
        "a.json",
        report(
            "lab-ok",
            "SN1",
            ("debian", "12"),
            ok,
            "full",
            &[
                C(
                    "firewall.enabled",
                    "pass",
                    Some("2026-10-01T00:00:00Z"),
                    &["CE:F1"],
                    json!({}),
                ),
                C(
                    "updates.pending",
                    "pass",
                    Some("2026-10-01T00:00:00Z"),
                    &["CE:U5"],
                    pending(2),
                ),
                C("disk.encryption", "pass", None, &[], json!({})),
            ],
        ),
    );
    w(
        "b.json",
        report(
            "lab-long",
            "SN2",
            ("debian", "12"),
            ok,
            "full",
            &[
                C(
                    "firewall.enabled",
                    "fail",
                    Some("2026-10-27T12:00:00Z"),
                    &["CE:F1"],
                    json!({}),
                ),
                C(
                    "updates.pending",
                    "fail",
                    Some("2026-11-30T00:00:00Z"),
                    &["CE:U5"],
                    pending(20),
                ),
                C("disk.encryption", "pass", None, &[], json!({})),
            ],
        ),
    );
    w(
        "c.json",
        report(
            "lab-old",
            "SN3",
            ("debian", "13"),
            ok,
            "full",
            &[
                C("firewall.enabled", "fail", None, &[], json!({})),
                C("updates.pending", "pass", None, &[], json!({})),
                C("disk.encryption", "manual", None, &[], json!({})),
            ],
        ),
    );
    w(
        "d.json",
        report(
            "lab-part",
            "SN4",
            ("debian", "13"),
            ok,
            "partial",
            &[C(
                "firewall.enabled",
                "pass",
                Some("2026-12-01T00:00:00Z"),
                &["CE:F1"],
                json!({}),
            )],
        ),
    );
    // A record, as the kit collects them; stale: its newest report is 20 days old.
    w(
        "e.json",
        format!(
            "{{\"record_version\":1,\"report\":{}}}",
            report(
                HOSTILE,
                "SN5",
                ("debian", "12"),
                "2026-11-16T09:00:00Z",
                "full",
                &[
                    C(
                        "firewall.enabled",
                        "error",
                        Some("2026-12-03T12:00:00Z"),
                        &["CE:F1"],
                        json!({})
                    ),
                    C(
                        "updates.pending",
                        "pass",
                        Some("not a time"),
                        &["CE:U5"],
                        json!({})
                    ),
                    C("disk.encryption", "pass", None, &[], json!({})),
                ]
            )
        ),
    );
}

fn merge(dir: &Path, format: &str) -> String {
    let r = Handover::new(&["report", "merge", s(dir), "--format", format])
        .env("HANDOVER_NOW", NOW)
        .run();
    r.expect_code(0);
    r.stdout()
}

/// The cells' text (tags removed, empty cells left out) of the row of table `table` that has a cell
/// `key`, joined with " | "; a panic when there is none.
fn row_text(page: &str, table: &str, key: &str) -> String {
    let start = page
        .find(&format!("<table id=\"{table}\">"))
        .unwrap_or_else(|| panic!("no table {table}"));
    let body = &page[start..start + page[start..].find("</table>").unwrap()];
    for tr in body.split("<tr").skip(1) {
        let mut text = String::new();
        let mut in_tag = true;
        for ch in tr.chars() {
            match ch {
                '<' => {
                    in_tag = true;
                    text.push('|');
                }
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let cells: Vec<&str> = text
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if cells.contains(&key) {
            return cells.join(" | ");
        }
    }
    panic!("no row {key:?} in table {table}:\n{body}")
}

#[test]
fn the_fleet_page_gives_the_verdict_then_controls_releases_and_the_longest_failing() {
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path());
    let page = merge(dir.path(), "html");
    // Hostile text stays text; the page runs nothing and loads nothing.
    assert!(
        !page.contains("<script") && !page.contains("{{") && !page.contains("src="),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;&#39;-lab-"));
    assert!(
        !page.contains("<b>reason"),
        "reasons are not shown, let alone as markup"
    );

    // The verdict first.
    let verdict = page.find("id=\"verdict\"").unwrap();
    assert!(verdict < page.find("id=\"controls\"").unwrap());
    assert!(
        page.contains("NOT COMPLIANT: 1 of 5 devices compliant (20%)"),
        "{page}"
    );
    assert!(page.contains("✔ 1 compliant</span>"));
    assert!(page.contains("✘ 3 not compliant</span>"));
    assert!(page.contains("◐ 1 partial runs</span>"));
    assert!(page.contains(
        "<span class=\"tag\">stale</span> 1 device whose newest report is more than 14 days old"
    ));
    assert!(
        page.contains("<li>1 device with a control past the 14-day window"),
        "{page}"
    );

    // Per control, most failing first, with its bar and its Cyber Essentials requirements.
    assert_eq!(
        row_text(&page, "controls", "firewall.enabled"),
        "firewall.enabled | 3 | 2 fail, 1 error | CE:F1"
    );
    assert_eq!(
        row_text(&page, "controls", "disk.encryption"),
        "disk.encryption | 1 | 1 manual"
    );
    assert!(page.contains("<tr id=\"control-updates.pending\"><td><code>updates.pending</code></td><td class=\"n failing\">1</td>"));
    let order: Vec<usize> = [
        "control-firewall.enabled",
        "control-disk.encryption",
        "control-updates.pending",
    ]
    .iter()
    .map(|id| page.find(&format!("id=\"{id}\"")).unwrap())
    .collect();
    assert!(
        order[0] < order[1] && order[1] < order[2],
        "most failing first (ties by id)"
    );
    assert!(
        page.contains("<rect class=\"failing\" width=\"60.0\" height=\"10\"/>"),
        "3 of 5 devices"
    );

    // Per OS release: devices and compliant.
    assert_eq!(
        row_text(&page, "releases", "Debian 12"),
        "Debian 12 | 3 | 1",
        "{page}"
    );
    assert_eq!(
        row_text(&page, "releases", "Debian 13"),
        "Debian 13 | 2 | 0"
    );

    // The devices failing longest first: 40 days, 2 days, then unknown.
    let long = row_text(&page, "failing", "SN2");
    assert_eq!(
        long,
        "lab-long | SN2 | 40 | 2026-10-27 | firewall.enabled updates.pending | firewall.enabled updates.pending | oldest waiting update 20 days | CE:F1 CE:U5"
    );
    let hostile = row_text(&page, "failing", "SN5");
    assert!(
        hostile.ends_with("AAAA | SN5 | 3 | 2026-12-03 | firewall.enabled | CE:F1"),
        "{hostile}"
    );
    assert_eq!(
        row_text(&page, "failing", "SN3"),
        "lab-old | SN3 | unknown | unknown | firewall.enabled disk.encryption"
    );
    assert!(page.contains("<td title=\"2026-10-27T12:00:00Z\">2026-10-27</td>"));
    let at = |h: &str| {
        page.find(&format!("<tr><td>{h}"))
            .unwrap_or_else(|| panic!("{h}"))
    };
    assert!(at("lab-long") < at("&lt;script") && at("&lt;script") < at("lab-old"));

    // Every device below, with its verdict and a legend; the stale one tagged.
    assert!(page.contains("<td class=\"glyph ok\">✔ compliant</td>"));
    assert!(page.contains("<td class=\"glyph partial\">◐ partial run</td>"));
    assert!(page.contains(
        "2026-11-16<br><span class=\"muted\">check full</span> <span class=\"tag\">stale</span>"
    ));
    assert!(page.contains("@media print"));
}

#[test]
fn the_csv_keeps_every_column_and_appends_since_frameworks_and_pending_age() {
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path());
    let csv = merge(dir.path(), "csv");
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "\"hostname\",\"serial\",\"asset\",\"user\",\"os\",\"profile\",\"mode\",\"scope\",\"finished_at\",\"compliant\",\
         \"pass\",\"fixed\",\"fail\",\"error\",\"waived\",\"manual\",\"not_compliant_controls\",\"file\",\
         \"failing_since\",\"failing_frameworks\",\"oldest_pending_days\""
    );
    let row = |serial: &str| {
        csv.split("\r\n")
            .find(|l| l.contains(&format!(",\"{serial}\",")))
            .unwrap_or_else(|| panic!("{serial} in {csv}"))
            .to_string()
    };
    let long = row("SN2");
    assert!(long.starts_with("\"lab-long\",\"SN2\",\"QM-SN2\",\"jdoe\",\"Debian 12 12\",\"debian-12\",\"check\",\"full\","), "{long}");
    assert!(
        long.ends_with("b.json\",\"2026-10-27T12:00:00Z\",\"CE:F1 CE:U5\",\"20\""),
        "{long}"
    );
    // Unknown since and no pending age: empty cells, never a crash.
    assert!(
        row("SN3").ends_with("c.json\",\"\",\"\",\"\""),
        "{}",
        row("SN3")
    );
    assert!(
        row("SN1").ends_with("a.json\",\"\",\"\",\"2\""),
        "{}",
        row("SN1")
    );
    assert_eq!(csv.split("\r\n").filter(|l| !l.is_empty()).count(), 6);
}

#[test]
fn an_empty_fleet_and_reports_before_since_still_make_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = merge(dir.path(), "html");
    assert!(
        page.contains("NOT COMPLIANT: 0 of 0 devices compliant (0%)"),
        "{page}"
    );
    assert!(page.contains("No device fails a control."));
}

// ---------------------------------------------------------------------------------------------------
// Headless Chromium

#[test]
fn the_fleet_page_renders_in_headless_chromium_and_fits_a_laptop_screen() {
    if which::which("chromium").is_err() {
        eprintln!("SKIPPED: chromium not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    fleet(&reports);
    let page = merge(&reports, "html");
    let dom = crate::export::chromium_dom_of(dir.path(), "fleet", &page);
    // The browser built the per-control counts into the page.
    for (id, n) in [
        ("firewall.enabled", 3),
        ("disk.encryption", 1),
        ("updates.pending", 1),
    ] {
        let want = format!(
            "<tr id=\"control-{id}\"><td><code>{id}</code></td><td class=\"n failing\">{n}</td>"
        );
        assert!(dom.contains(&want), "{want} not in the DOM:\n{dom}");
    }
    assert!(dom.contains("NOT COMPLIANT: 1 of 5 devices compliant (20%)"));

    // No horizontal scroll on a 1366 px laptop screen, even with the hostile hostname's one long word:
    // a copy of the page, with a script allowed, writes the document's width into its title.
    let probe = page
        .replace(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
            "",
        )
        .replace(
            "</body>",
            "<script>document.title = 'width=' + document.documentElement.scrollWidth;</script></body>",
        );
    let file = dir.path().join("probe.html");
    std::fs::write(&file, probe).unwrap();
    let out = crate::export::chromium(
        &dir.path().join("probe-profile"),
        &["--dump-dom", "--window-size=1366,768", "--hide-scrollbars"],
        &format!("file://{}", file.display()),
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap();
    let width: u32 = title
        .strip_prefix("width=")
        .unwrap_or_else(|| panic!("{title}"))
        .parse()
        .unwrap();
    assert!(
        width <= 1366,
        "the page is {width} px wide on a 1366 px screen"
    );
}
