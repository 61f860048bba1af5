//! `site init`, `site validate`, `site schema`, completions and man pages, through the real binary: a new
//! user's first day, from no site file to a validated one and a `plan` with no missing key.

use std::path::{Path, PathBuf};

use crate::support::{s, site, Handover, SITE};

/// The profiles `site init` is tried with: one per OS family, and the Linux ones with their own needs.
const PROFILES: &[&str] = &[
    "debian-12",
    "ubuntu-24.04",
    "rhel-9",
    "windows-11",
    "macos-26",
];

fn init(dir: &Path, profile: &str) -> PathBuf {
    let out = dir.join(format!("{profile}.toml"));
    Handover::new(&["site", "init", "--profile", profile, "--out", s(&out)])
        .run()
        .expect_code(0);
    out
}

/// What an editor does with `site init`'s output: each placeholder replaced by a real value, and the
/// commented `[artifacts.NAME]` tables uncommented and filled (or what `artifacts lock` would write).
fn fill(text: &str) -> String {
    let value = |key: &str| -> &str {
        match key {
            "name" => "\"Example University\"",
            "service_desk" => "\"servicedesk@example.ac.uk\"",
            "admin_name" => "\"uni-adm0\"",
            "guest_name" => "\"uni-gst0\"",
            "gateway" => "\"vpn.example.ac.uk\"",
            "trusted_cert" => {
                "\"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\""
            }
            "server" => "\"lansweeper.example.ac.uk\"",
            "agent_key" => "\"RELAY-KEY-s3cr3t-0001\"",
            other => panic!("no value for placeholder key {other}"),
        }
    };
    let mut out = String::new();
    let mut in_artifact = false;
    for line in text.lines() {
        let line = if let Some(t) = line.strip_prefix("# [artifacts.") {
            in_artifact = true;
            format!("[artifacts.{t}")
        } else if in_artifact && line.starts_with("# url = ") {
            "url = \"installer.bin\"".to_string()
        } else if in_artifact && line.starts_with("# sha256 = ") {
            format!("sha256 = \"{}\"", "ab".repeat(32))
        } else if !line.starts_with('#') && line.contains("= \"<fill in") {
            let key = line.split(" = ").next().unwrap().trim();
            format!("{key} = {}", value(key))
        } else {
            if line.is_empty() {
                in_artifact = false;
            }
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn a_new_user_goes_from_nothing_to_a_validated_site_and_a_plan_with_no_missing_key() {
    let dir = tempfile::tempdir().unwrap();
    for profile in PROFILES {
        let path = init(dir.path(), profile);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("#:schema ./site.schema.json\n"), "{text}");
        assert!(dir.path().join("site.schema.json").is_file());

        // As written, the placeholders are flagged: exit 2 naming file, line and key.
        let r = Handover::new(&["site", "validate", s(&path), "--profile", profile]).run();
        r.expect_code(2);
        let first = text
            .lines()
            .position(|l| !l.starts_with('#') && l.contains("= \"<fill in"))
            .expect("a placeholder")
            + 1;
        assert!(
            r.stderr().contains(&format!(
                "{}:{first}: key `organisation.name`",
                path.display()
            )),
            "{profile}: {}",
            r.stderr()
        );
        // `check` and `plan` refuse the same file the same way.
        Handover::new(&["plan", "--profile", profile, "--site", s(&path)])
            .run()
            .expect_code(2);

        // Placeholders filled but the installers not yet pinned: validate --profile names them.
        let mut filled = fill(&text);
        let needs_artifacts = text.contains("# [artifacts.");
        if needs_artifacts {
            let unpinned: String = filled.split("\n[artifacts.").next().unwrap().to_string();
            write_private(&path, &unpinned);
            let r = Handover::new(&["site", "validate", s(&path), "--profile", profile]).run();
            r.expect_code(2);
            assert!(r.stderr().contains("key `artifacts."), "{}", r.stderr());
            // Without --profile only the site itself is validated, and it is valid.
            Handover::new(&["site", "validate", s(&path)])
                .run()
                .expect_code(0);
        } else {
            filled = fill(&text);
        }
        write_private(&path, &filled);
        let r = Handover::new(&["site", "validate", s(&path), "--profile", profile]).run();
        r.expect_code(0);
        assert!(r.stdout().contains("valid"), "{}", r.stdout());
        // The secret never reaches the output.
        assert!(!r.stdout().contains("RELAY-KEY") && !r.stderr().contains("RELAY-KEY"));

        let r = Handover::new(&[
            "plan",
            "--profile",
            profile,
            "--site",
            s(&path),
            "--format",
            "json",
        ])
        .run();
        let out = r.stdout();
        assert!(!out.contains("not set in"), "{profile}: {out}");
        for c in r.json()["controls"].as_array().unwrap() {
            assert!(c["observed"].get("missing_site_keys").is_none(), "{c}");
        }
    }
}

#[test]
fn init_writes_mode_600_and_never_overwrites_without_force() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("etc/handover/site.toml");
    Handover::new(&["site", "init", "--profile", "debian-12", "--out", s(&path)])
        .run()
        .expect_code(0);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        mode(path.parent().unwrap()),
        0o700,
        "a new directory is private"
    );
    std::fs::write(&path, "# mine\n").unwrap();
    let r = Handover::new(&["site", "init", "--profile", "debian-12", "--out", s(&path)]).run();
    r.expect_code(2);
    assert!(r.stderr().contains("--force"), "{}", r.stderr());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    Handover::new(&[
        "site",
        "init",
        "--profile",
        "debian-12",
        "--out",
        s(&path),
        "--force",
    ])
    .run()
    .expect_code(0);
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("[lansweeper]"));
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn validate_runs_the_site_checks_of_check_and_apply() {
    // A valid site: exit 0.
    let (_d, path) = site(SITE);
    Handover::new(&["site", "validate", s(&path)])
        .run()
        .expect_code(0);
    // Each kind of error `check` refuses: bad type, bad value, a malformed waiver, a bad artifact pin.
    for (text, key) in [
        ("[vpn]\nport = \"443\"\n", "vpn.port"),
        ("[vpn]\ngateway = \"vpn example\"\n", "vpn.gateway"),
        (
            "[[waiver]]\ncontrol = \"os.supportd\"\nreason = \"r\"\napproved_by = \"a\"\nticket = \"t\"\nexpires = 2027-01-31\n",
            "waiver.0.control",
        ),
        (
            "[artifacts.x]\nurl = \"x.run\"\nsha256 = \"123\"\n",
            "artifacts.x.sha256",
        ),
    ] {
        let (_d, path) = site(text);
        let v = Handover::new(&["site", "validate", s(&path)]).run();
        v.expect_code(2);
        assert!(v.stderr().contains(&format!("key `{key}`")), "{}", v.stderr());
        let c = Handover::new(&["check", "--site", s(&path)]).run();
        c.expect_code(2);
        // The same message, word for word.
        assert_eq!(v.stderr(), c.stderr());
    }
    // A missing file is an error, not an empty site.
    Handover::new(&["site", "validate", "/nonexistent/site.toml"])
        .run()
        .expect_code(2);
}

/// TOML as the JSON an editor's schema validator sees: dates and times as their text (Taplo does this).
fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::from(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => J::from(*f),
        toml::Value::Boolean(b) => J::from(*b),
        toml::Value::Datetime(d) => J::from(d.to_string()),
        toml::Value::Array(a) => J::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

struct Schema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Schema {
    /// `handover site schema`, compiled as draft 2020-12.
    fn of_binary() -> Schema {
        let r = Handover::new(&["site", "schema"]).run();
        r.expect_code(0);
        let json = r.json();
        assert_eq!(
            json["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler
            .add_resource("site.schema.json", json)
            .expect("schema added");
        let index = compiler
            .compile("site.schema.json", &mut schemas)
            .unwrap_or_else(|e| panic!("schema does not compile: {e:#}"));
        Schema { schemas, index }
    }

    fn check(&self, toml_text: &str) -> Result<(), String> {
        let v: toml::Value = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        self.schemas
            .validate(&toml_to_json(&v), self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

/// The ```toml blocks of README's site section.
fn readme_sites() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## The site file")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let blocks: Vec<String> = section
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect();
    assert!(blocks.len() >= 2, "README's site examples not found");
    blocks
}

#[test]
fn every_example_site_and_site_init_output_is_valid_against_the_schema() {
    let schema = Schema::of_binary();
    let mut examples: Vec<(String, String)> = readme_sites()
        .into_iter()
        .enumerate()
        .map(|(i, t)| (format!("README block {i}"), t))
        .collect();
    examples.push(("tests/support.rs SITE".into(), SITE.to_string()));
    let dir = tempfile::tempdir().unwrap();
    for profile in PROFILES {
        let text = std::fs::read_to_string(init(dir.path(), profile)).unwrap();
        examples.push((format!("site init {profile} (as written)"), text.clone()));
        examples.push((format!("site init {profile} (filled)"), fill(&text)));
    }
    for (name, text) in &examples {
        if let Err(e) = schema.check(text) {
            panic!("{name} is not valid against the schema: {e}\n{text}");
        }
    }
    // The fuzzer's seed sites: every one the parser accepts, the schema accepts too.
    let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/site");
    let mut accepted = 0;
    for entry in std::fs::read_dir(seeds).unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if handover::inputs::site::Site::parse(
            &path,
            &text,
            &handover::inputs::profile::control_ids(),
        )
        .is_ok()
        {
            accepted += 1;
            if let Err(e) = schema.check(&text) {
                panic!("{} parses but the schema refuses it: {e}", path.display());
            }
        }
    }
    assert!(accepted >= 2, "only {accepted} fuzz seeds parse");
}

#[test]
fn a_misspelt_key_is_refused_by_the_schema_and_by_site_validate() {
    let schema = Schema::of_binary();
    let good = "[vpn]\ngateway = \"vpn.example.ac.uk\"\n";
    let bad = "[vpn]\ngatway = \"vpn.example.ac.uk\"\n";
    schema.check(good).unwrap();
    let e = schema.check(bad).unwrap_err();
    assert!(e.contains("gatway"), "{e}");
    // A misspelt section, and a misspelt key in an array of tables, too.
    assert!(schema.check("[vnp]\ngateway = \"x\"\n").is_err());
    assert!(schema
        .check("[[waiver]]\ncontrol = \"os.supported\"\nreason = \"r\"\napproved_by = \"a\"\nticket = \"t\"\nexpire = 2027-01-31\n")
        .is_err());

    let (_d, path) = site(good);
    Handover::new(&["site", "validate", s(&path)])
        .run()
        .expect_code(0);
    let (_d, path) = site(bad);
    let r = Handover::new(&["site", "validate", s(&path)]).run();
    r.expect_code(2);
    assert!(
        r.stderr().contains(&format!("{}:2:", path.display())) && r.stderr().contains("vpn.gatway"),
        "{}",
        r.stderr()
    );
}

#[test]
fn completions_for_every_shell_and_a_man_page_per_command() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef handover"),
        ("fish", "complete -c handover"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = Handover::new(&["completions", shell]).run();
        r.expect_code(0);
        let out = r.stdout();
        assert!(out.contains(marker), "{shell}: {out}");
        assert!(
            out.contains("validate") && out.contains("profiles-dir"),
            "{shell}"
        );
    }
    Handover::new(&["completions", "tcsh"]).run().expect_code(2);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    Handover::new(&["man", "--out", s(&out)])
        .run()
        .expect_code(0);
    for page in [
        "handover.1",
        "handover-site.1",
        "handover-site-init.1",
        "handover-apply.1",
        "handover-kit-build.1",
        "handover-completions.1",
    ] {
        let text =
            std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie \\n(.g .ds Aq"), "{page} is not roff");
        assert!(text.contains(".SH NAME"), "{page}");
    }
    let apply = std::fs::read_to_string(out.join("handover-apply.1")).unwrap();
    assert!(
        apply.contains("asset tag"),
        "the --asset help reaches the page"
    );
}
