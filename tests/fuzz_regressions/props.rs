//! The properties the fuzz targets check, one function per target. Shared by the targets
//! (`fuzz/fuzz_targets/*.rs` include this file by path) and by the replay test
//! (`tests/fuzz_regressions.rs`), so that an input kept in `tests/fuzz_regressions/<target>/` is checked
//! exactly as the fuzzer checked it. Each function takes the raw input and panics when a property fails;
//! bytes that are not UTF-8 are read lossily (U+FFFD), so that every input reaches the parser.
//!
//! Only `handover`'s public API and crates that both the main crate and `fuzz/` depend on are used here.

use std::path::{Component, Path, PathBuf};

use handover::inputs::profile::{Kind, Profile, Sources, CONTROLS};
use handover::inputs::site::{
    canonical_manifest, check_relpath, parse_manifest, Site, SECRET_KEYS,
};
use handover::inputs::textpos::{line_col, line_of, parse_toml};
use handover::plan::render::{ps_quote, sh_quote, xml_escape, Lang, Renderer};
use handover::support::error::InputError;
use serde_json::{json, Value};

// Gaps the fuzzers found in handover, reported and not fixed yet. Each is tolerated here so that
// `cargo xtask fuzz` keeps looking for new problems. Once one is fixed, set its constant to false (or
// remove it): the inputs kept in tests/fuzz_regressions/ then check the fix.

/// `textpos::parse_toml` gives an empty message for some TOML syntax errors (toml_edit's message is the
/// winnow error's, which is empty when the parser attached no context): `2=` in a site file is reported
/// as `site.toml:1:3: ` and nothing else.
const KNOWN_EMPTY_TOML_MESSAGE: bool = false;

/// Profile errors found after parsing (`resolve`: an unknown or uncovered control, `implemented` without
/// `check`, a secret that is not a secret key; a `[profile] name` that is not the file's) are
/// `InputError::Refused` naming the file and key but no line.
const KNOWN_PROFILE_ERRORS_WITHOUT_LINE: bool = true;

/// `lifecycle::load` takes any TOML datetime for `regular_end` and `extended_end`: a date-time or a time
/// (`regular_end = 2026-06-10T00:00:00`) reaches os-supported.check.{sh,ps1} as `regular_end_num`
/// `20260610T00:00:00`, which they compare as an integer.
const KNOWN_LIFECYCLE_NON_DATES: bool = false;

/// Site strings that reach templates without site.rs's one-line check (`check_text`): `[office]`
/// (rendered raw into office-configuration.xml), `endpoint.artifact`, `device_management.artifact` and
/// the names of `[artifacts]`. Remove an entry of `known_unchecked_site_text` once site.rs checks it.
const KNOWN_UNCHECKED_SITE_TEXT: bool = false;

/// Every fuzz target, by the name of its `fuzz/fuzz_targets/<name>.rs` and `tests/fuzz_regressions/<name>/`.
pub const TARGETS: &[&str] = &["site", "profile", "escape", "manifest", "textpos"];

/// Check `data` against the properties of `target`.
pub fn check(target: &str, fx: &Fixture, data: &[u8]) {
    match target {
        "site" => site(data),
        "profile" => profile(fx, data),
        "escape" => escape(fx, data),
        "manifest" => manifest(data),
        "textpos" => textpos(data),
        _ => panic!("unknown fuzz target {target:?} (known: {TARGETS:?})"),
    }
}

/// What the targets need beyond the input, made once per process: a profiles directory for the profile
/// and lifecycle parsers (which read files), and a renderer with one `{{v}}` template per script language.
pub struct Fixture {
    _dir: tempfile::TempDir,
    profiles: PathBuf,
    renderer: Renderer,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("handover-fuzz-")
            .tempdir()
            .expect("a temporary directory");
        let profiles = dir.path().join("profiles");
        let templates = dir.path().join("templates");
        std::fs::create_dir_all(&profiles).unwrap();
        std::fs::create_dir_all(&templates).unwrap();
        // The input is written to fuzz.toml; lifecycle.toml is the same file, for the lifecycle table.
        std::fs::write(profiles.join("fuzz.toml"), "").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("fuzz.toml", profiles.join("lifecycle.toml")).unwrap();
        for ext in ["sh", "ps1", "xml"] {
            std::fs::write(templates.join(format!("v.{ext}")), "{{v}}").unwrap();
        }
        let renderer = Renderer::new(&Sources {
            profiles_dir: None,
            templates_dir: Some(templates),
        })
        .expect("the fixture's templates");
        Fixture {
            _dir: dir,
            profiles,
            renderer,
        }
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

// ---------------------------------------------------------------------------------------------------------
// Input errors: never a panic, and always a place in the file.

/// `line` (and `column`, when given) lie inside `src`: lines count from 1, columns from 1 up to one past
/// the end of the line.
fn assert_position(src: &str, line: usize, column: Option<usize>, what: &str) {
    let lines: Vec<&str> = src.split('\n').collect();
    assert!(
        line >= 1 && line <= lines.len(),
        "{what}: line {line} outside 1..={}",
        lines.len()
    );
    if let Some(column) = column {
        let len = lines[line - 1].len();
        assert!(
            column >= 1 && column <= len + 1,
            "{what}: column {column} outside 1..={} of line {line}",
            len + 1
        );
    }
}

/// An input error names the file, a line ≥ 1 inside it (when it is `file`, whose text is `src`) and says
/// something.
fn assert_input_error(e: &InputError, file: &Path, src: &str) {
    let shown = e.to_string();
    assert!(!shown.trim().is_empty(), "an empty error: {e:?}");
    match e {
        InputError::Toml {
            file: f,
            line,
            column,
            message,
            ..
        } => {
            assert!(*line >= 1 && *column >= 1, "{shown}");
            if f == file {
                assert_position(src, *line, Some(*column), &shown);
            }
            assert!(
                shown.starts_with(&format!("{}:{line}:{column}: ", f.display())),
                "{shown}"
            );
            assert!(
                KNOWN_EMPTY_TOML_MESSAGE || !message.trim().is_empty(),
                "no message: {e:?}"
            );
        }
        InputError::Value {
            file: f,
            line,
            key,
            message,
        } => {
            assert!(*line >= 1, "{shown}");
            if f == file {
                assert_position(src, *line, None, &shown);
            }
            assert!(
                shown.starts_with(&format!("{}:{line}: key `", f.display())),
                "{shown}"
            );
            assert!(!key.is_empty() && !message.trim().is_empty(), "{e:?}");
        }
        InputError::Refused(m) => assert!(
            KNOWN_PROFILE_ERRORS_WITHOUT_LINE || !m.starts_with(&file.display().to_string()),
            "an error about {} without a line: {m}",
            file.display()
        ),
    }
}

// ---------------------------------------------------------------------------------------------------------
// site: `Site::parse`.

/// Where the fuzzed site file claims to live: nothing exists beside it, so a relative `manifest` is not
/// found (and an absolute one is read, as handover would).
const SITE_PATH: &str = "/nonexistent/handover-fuzz/site.toml";

/// See [`KNOWN_UNCHECKED_SITE_TEXT`].
fn known_unchecked_site_text(path: &[String]) -> bool {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    KNOWN_UNCHECKED_SITE_TEXT
        && matches!(
            p.as_slice(),
            ["office", ..]
                | ["endpoint", "artifact"]
                | ["device_management", "artifact"]
                | ["artifacts", _]
        )
}

/// Every string (object keys too) in `v`, with its path.
fn strings<'a>(v: &'a Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'a str)>) {
    match v {
        Value::String(s) => out.push((path.clone(), s)),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                strings(x, path, out);
                path.pop();
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                path.push(k.clone());
                // The key itself, at the path of its value.
                out.push((path.clone(), k));
                strings(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The site parser never panics; it refuses with file and line, or gives a site whose template context
/// holds only one-line text, placeholders for secrets, normalized sources and safe artifact paths.
pub fn site(data: &[u8]) {
    let src = text(data);
    let path = Path::new(SITE_PATH);
    let controls = handover::inputs::profile::control_ids();
    let site = match Site::parse(path, &src, &controls) {
        Ok(site) => site,
        Err(e) => return assert_input_error(&e, path, &src),
    };
    assert_eq!(site.path.as_deref(), Some(path));
    let ctx = &site.context;
    assert!(ctx.is_object(), "{ctx}");

    let mut found = Vec::new();
    strings(ctx, &mut Vec::new(), &mut found);
    for (p, s) in found {
        if let Some(c) = s.chars().find(|c| c.is_control()) {
            assert!(
                known_unchecked_site_text(&p),
                "site value {} contains the control character {c:?}: {s:?}",
                p.join(".")
            );
        }
    }

    for key in SECRET_KEYS {
        match site.secrets.get(*key) {
            Some(_) => assert_eq!(
                site.get(key),
                Some(&json!(format!("<secret:{key}>"))),
                "secret {key} in the context"
            ),
            None => assert_eq!(site.get(key), None, "{key}"),
        }
    }

    for allow in ctx["firewall"]["allow"].as_array().expect("firewall.allow") {
        assert_ne!(allow["port"], json!(0), "{allow}");
        let from = allow["from"].as_str().expect("from");
        assert!(
            from == "any" || handover::inputs::site::parse_source(from).is_some(),
            "{from:?}"
        );
    }

    for (w, date) in &site.waivers {
        assert!(controls.contains(&w.control.as_str()), "{}", w.control);
        assert!(is_date(date), "waiver expiry {date:?}");
    }

    for (name, art) in ctx["artifacts"].as_object().expect("artifacts") {
        let sha = art["sha256"].as_str().expect("sha256");
        assert!(is_lower_sha256(sha), "artifact {name}: sha256 {sha:?}");
        if let Some(files) = art.get("files").and_then(Value::as_object) {
            assert!(!files.is_empty(), "artifact {name}");
            for (p, h) in files {
                assert_safe_relpath(p);
                assert!(
                    is_lower_sha256(h.as_str().unwrap_or_default()),
                    "{name}: {p}: {h}"
                );
            }
        }
    }
}

/// `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn is_lower_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ---------------------------------------------------------------------------------------------------------
// profile: `Sources::load_file` (parents from the embedded profiles), `Sources::load` (from a profiles
// directory) and the lifecycle table (`lifecycle::load`), all on the same text.

/// The profile parsers never panic; they refuse with file and line, or give a profile that accounts for
/// its controls as `resolve` promises.
pub fn profile(fx: &Fixture, data: &[u8]) {
    let src = text(data);
    let file = fx.profiles.join("fuzz.toml");
    std::fs::write(&file, &src).expect("writing the fuzzed profile");

    match Sources::default().load_file(&file) {
        Ok(p) => assert_profile(&p, &src, &file),
        Err(e) => assert_input_error(&e, &file, &src),
    }

    let dir = Sources {
        profiles_dir: Some(fx.profiles.clone()),
        templates_dir: None,
    };
    match dir.load("fuzz") {
        Ok(p) => {
            assert_eq!(p.name, "fuzz");
            assert_profile(&p, &src, &file);
        }
        Err(e) => assert_input_error(&e, &file, &src),
    }

    // lifecycle.toml is a link to fuzz.toml: errors name it.
    let lifecycle = fx.profiles.join("lifecycle.toml");
    match handover::inputs::lifecycle::load(&dir) {
        Ok(table) => {
            assert!(table["source"].is_string(), "{table}");
            for r in table["releases"].as_array().expect("releases") {
                for k in ["id", "version", "name", "regular_end", "regular_end_num"] {
                    assert!(r[k].is_string(), "{k}: {r}");
                }
                for (k, num) in [
                    ("regular_end", "regular_end_num"),
                    ("extended_end", "extended_end_num"),
                ] {
                    let Some(date) = r[k].as_str() else {
                        assert!(k == "extended_end" && r[num].is_null(), "{k}: {r}");
                        continue;
                    };
                    assert!(
                        KNOWN_LIFECYCLE_NON_DATES
                            || (is_date(date) && r[num] == json!(date.replace('-', ""))),
                        "{k} is not a date: {r}"
                    );
                }
            }
        }
        Err(e) => assert_input_error(&e, &lifecycle, &src),
    }
}

fn assert_profile(p: &Profile, src: &str, file: &Path) {
    assert_eq!(
        p.chain.last().map(String::as_str),
        Some(file.display().to_string().as_str()),
        "the chain ends with the profile itself: {:?}",
        p.chain
    );
    // In the order of CONTROLS, each once; all of them unless the profile is abstract.
    let order: Vec<&str> = CONTROLS.iter().map(|c| c.id).collect();
    let mut last = None;
    for c in &p.controls {
        let i = order.iter().position(|id| *id == c.id);
        assert!(i.is_some(), "unknown control {}", c.id);
        assert!(i > last, "{} out of order or twice", c.id);
        last = i;
        match c.kind {
            Kind::Implemented => assert!(c.check.is_some(), "{}: no check", c.id),
            Kind::NotApplicable | Kind::Manual => {
                assert!(
                    c.reason.as_deref().is_some_and(|r| !r.trim().is_empty()),
                    "{}: no reason",
                    c.id
                );
                assert!(c.check.is_none() && c.apply.is_none(), "{}", c.id);
            }
        }
        for s in &c.secrets {
            assert!(SECRET_KEYS.contains(&s.as_str()), "{}: secret {s}", c.id);
        }
    }
    assert!(
        p.controls.len() == CONTROLS.len() || src.contains("abstract"),
        "a concrete profile covers every control"
    );
}

// ---------------------------------------------------------------------------------------------------------
// escape: the escaping of template values for POSIX sh, PowerShell and XML.

/// What a POSIX shell reads from `q` when `q` is exactly one word made of single-quoted strings and
/// `\'`: nothing in it is expanded, split or globbed. `None` for anything else (an unquoted character, an
/// unterminated quote, another backslash escape, no word at all).
fn sh_word(q: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = q.chars();
    let mut any = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => out.push(c),
                }
            },
            '\\' if chars.next()? == '\'' => out.push('\''),
            _ => return None,
        }
        any = true;
    }
    any.then_some(out)
}

/// PowerShell's single-quote characters: `'` and U+2018, U+2019, U+201A, U+201B.
fn is_ps_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// What PowerShell's tokenizer reads from `q` as one verbatim string (Tokenizer.ScanStringLiteral): any
/// single-quote character opens it; inside, a quote followed by a quote stands for the second one, and a
/// quote followed by anything else closes it. `None` unless the string is all of `q`.
fn ps_verbatim(q: &str) -> Option<String> {
    let mut chars = q.chars().peekable();
    if !is_ps_quote(chars.next()?) {
        return None;
    }
    let mut out = String::new();
    loop {
        let c = chars.next()?;
        if is_ps_quote(c) {
            match chars.peek() {
                Some(&d) if is_ps_quote(d) => {
                    chars.next();
                    out.push(d);
                }
                _ => break,
            }
        } else {
            out.push(c);
        }
    }
    chars.next().is_none().then_some(out)
}

/// The text of XML escaped with only the five predefined entities; `None` for any other `&`.
fn xml_unescape(x: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = x;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (c, n) = [
            ('&', "&amp;"),
            ('<', "&lt;"),
            ('>', "&gt;"),
            ('"', "&quot;"),
            ('\'', "&apos;"),
            ('\t', "&#9;"),
            ('\n', "&#10;"),
            ('\r', "&#13;"),
        ]
        .into_iter()
        .find(|(_, e)| rest.starts_with(e))?;
        out.push(c);
        rest = &rest[n.len()..];
    }
    out.push_str(rest);
    Some(out)
}

/// XML 1.0's Char production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Every escaping gives back exactly the value: through a POSIX sh word, a PowerShell verbatim string and
/// XML's entities, and through the handlebars registries the templates use. XML output has no raw markup
/// characters and, for text an XML parser keeps as is, parses back to the value as text and attribute.
pub fn escape(fx: &Fixture, data: &[u8]) {
    let s = text(data);

    let sh = sh_quote(&s);
    assert_eq!(sh_word(&sh).as_deref(), Some(s.as_str()), "sh: {sh:?}");

    let ps = ps_quote(&s);
    assert_eq!(ps_verbatim(&ps).as_deref(), Some(s.as_str()), "ps1: {ps:?}");

    let xml = xml_escape(&s);
    assert!(
        !xml.contains(['<', '>', '"', '\'']),
        "xml: raw markup in {xml:?}"
    );
    // What XML 1.0 cannot carry at all (C0 controls other than tab, LF and CR, and U+FFFE, U+FFFF)
    // becomes U+FFFD.
    let carried: String = s
        .chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect();
    assert_eq!(
        xml_unescape(&xml).as_deref(),
        Some(carried.as_str()),
        "xml: {xml:?}"
    );
    // An XML parser keeps text as is unless it has characters XML cannot hold at all (C0 controls, U+FFFE,
    // U+FFFF) or that it normalizes: CR in text (end-of-line handling), and tab, LF and CR in attribute
    // values (attribute-value normalization). xml_escape passes those through raw (reported); site
    // values cannot hold them (check_text), except the known unchecked keys (see `site`).
    if s.chars().all(is_xml_char) {
        let doc_text = format!("<a>{xml}</a>");
        let doc = roxmltree::Document::parse(&doc_text)
            .unwrap_or_else(|e| panic!("xml: {doc_text:?}: {e}"));
        assert_eq!(
            doc.root_element().text().unwrap_or(""),
            s,
            "xml text: {doc_text:?}"
        );
        {
            let doc_text = format!("<a n=\"{xml}\" m='{xml}'/>");
            let doc = roxmltree::Document::parse(&doc_text)
                .unwrap_or_else(|e| panic!("xml: {doc_text:?}: {e}"));
            let a = doc.root_element();
            assert_eq!(a.attribute("n"), Some(s.as_str()), "{doc_text:?}");
            assert_eq!(a.attribute("m"), Some(s.as_str()), "{doc_text:?}");
        }
    }

    for (lang, name, want) in [
        (Lang::Sh, "v.sh", &sh),
        (Lang::PowerShell, "v.ps1", &ps),
        (Lang::Xml, "v.xml", &xml),
    ] {
        assert_eq!(Lang::of(name), Some(lang));
        assert_eq!(&lang.escape(&s), want, "{lang:?}");
        let rendered = fx
            .renderer
            .render(name, &json!({ "v": s }))
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(&rendered, want, "{name} renders the value escaped");
    }
}

// ---------------------------------------------------------------------------------------------------------
// manifest: `parse_manifest` and `check_relpath`.

/// A path that passed `check_relpath` stays inside the directory it is joined to, on Linux and Windows:
/// not empty, not absolute, no `.`/`..`/empty part, no `\` (a separator on Windows), no `:` (drive letters,
/// NTFS streams), no control character.
fn assert_safe_relpath(p: &str) {
    assert!(!p.is_empty(), "empty path");
    assert!(
        !p.starts_with('/') && !Path::new(p).is_absolute(),
        "{p:?} is absolute"
    );
    assert!(!p.contains(['\\', ':']), "{p:?}");
    assert!(!p.chars().any(char::is_control), "{p:?}");
    for part in p.split('/') {
        assert!(
            !matches!(part, "" | "." | ".."),
            "{p:?} has the part {part:?}"
        );
    }
    assert!(
        Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "{p:?}"
    );
    let base = Path::new("/base/artifact");
    assert!(base.join(p).starts_with(base), "{p:?}");
}

/// The manifest parser never panics; it refuses with a line inside the text, or gives at least one file,
/// each with a safe relative path and a lower-case sha256, which reads back the same from its canonical
/// form. No string `check_relpath` accepts can leave its directory.
pub fn manifest(data: &[u8]) {
    let src = text(data);
    match parse_manifest(&src) {
        Err((line, message)) => {
            assert!(
                line >= 1 && line <= src.lines().count().max(1),
                "line {line}: {message}"
            );
            assert!(!message.trim().is_empty(), "line {line}");
        }
        Ok(files) => {
            assert!(!files.is_empty());
            for (p, h) in &files {
                assert_safe_relpath(p);
                assert!(is_lower_sha256(h), "{p}: {h:?}");
            }
            let canonical = canonical_manifest(&files);
            assert_eq!(
                parse_manifest(&canonical).as_ref(),
                Ok(&files),
                "canonical form {canonical:?}"
            );
        }
    }
    for candidate in std::iter::once(src.as_str()).chain(src.lines()) {
        if check_relpath(candidate).is_ok() {
            assert_safe_relpath(candidate);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// textpos: the TOML error positions (`parse_toml`), `line_of` and `line_col`.

/// Paths of the keys of a TOML value, at most `max` of them.
fn key_paths(v: &toml::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>, max: usize) {
    if out.len() >= max {
        return;
    }
    let children: Vec<(String, &toml::Value)> = match v {
        toml::Value::Table(t) => t.iter().map(|(k, x)| (k.clone(), x)).collect(),
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| (i.to_string(), x))
            .collect(),
        _ => return,
    };
    for (k, x) in children {
        path.push(k);
        out.push(path.clone());
        key_paths(x, path, out, max);
        path.pop();
    }
}

/// Every TOML error has a line and column inside the text; `line_of` gives a line inside the text for
/// any key path, existing or not; `line_col` counts lines and columns from 1.
pub fn textpos(data: &[u8]) {
    let src = text(data);
    let file = Path::new("/nonexistent/handover-fuzz/any.toml");
    let lines = src.split('\n').count();

    let mut paths = Vec::new();
    match parse_toml::<toml::Table>(file, &src) {
        Ok(t) => key_paths(&toml::Value::Table(t), &mut Vec::new(), &mut paths, 64),
        Err(e) => assert_input_error(&e, file, &src),
    }
    if let Err(e) = parse_toml::<Value>(file, &src) {
        assert_input_error(&e, file, &src);
    }
    // Keys that may or may not exist, from the text itself.
    let first = src.lines().next().unwrap_or_default();
    paths.push(first.split('.').map(str::to_string).collect());
    paths.push(src.split_whitespace().take(4).map(str::to_string).collect());
    for p in &paths {
        let parts: Vec<&str> = p.iter().map(String::as_str).collect();
        let l = line_of(&src, &parts);
        assert!(
            l >= 1 && l <= lines,
            "line_of({parts:?}) = {l} outside 1..={lines}"
        );
    }

    let (mut line, mut col) = (1, 1);
    for (i, c) in src.char_indices().take(4096) {
        assert_eq!(line_col(&src, i), (line, col), "offset {i}");
        if c == '\n' {
            (line, col) = (line + 1, 1);
        } else {
            col += c.len_utf8();
        }
    }
    let end = line_col(&src, src.len());
    assert_eq!(line_col(&src, src.len() + 7), end, "past the end");
    assert_eq!(end.0, lines);
}
