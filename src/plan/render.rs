//! Templates are code (SPEC §5): handlebars in strict mode, where every `{{value}}` is escaped for the
//! language of the script it goes into (POSIX sh, PowerShell, XML), never HTML-escaped. Raw output
//! (`{{{…}}}`, `{{&…}}`) is refused when a template is loaded, so no value can bypass the escaping.

use std::collections::{HashMap, HashSet};
use std::sync::{PoisonError, RwLock};

use anyhow::{bail, Context, Result};
use handlebars::Handlebars;
use serde_json::Value;

use crate::inputs::profile::Sources;

mod shrink;

/// The language of a script, chosen by the template's file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Sh,
    PowerShell,
    Xml,
}

impl Lang {
    pub fn of(name: &str) -> Option<Lang> {
        match name.rsplit('.').next()? {
            "sh" => Some(Lang::Sh),
            "ps1" => Some(Lang::PowerShell),
            "xml" | "plist" => Some(Lang::Xml),
            _ => None,
        }
    }

    pub fn escape(self, s: &str) -> String {
        match self {
            Lang::Sh => sh_quote(s),
            Lang::PowerShell => ps_quote(s),
            Lang::Xml => xml_escape(s),
        }
    }
}

/// A POSIX sh word that stands for exactly `s`: single quotes, with each `'` written as `'\''`.
pub fn sh_quote(s: &str) -> String {
    // One pass into one string: the batch quotes every check's whole text this way.
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for (i, part) in s.split('\'').enumerate() {
        if i > 0 {
            out.push_str(r"'\''");
        }
        out.push_str(part);
    }
    out.push('\'');
    out
}

/// A PowerShell verbatim string for exactly `s`. PowerShell also ends single-quoted strings at the
/// typographic quotes U+2018, U+2019, U+201A and U+201B, so each of those is doubled too.
pub fn ps_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// XML 1.0's `Char` production: what an XML document can carry at all, even as a reference.
pub fn xml_char_ok(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// XML character data and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept exactly in attributes too (a parser would fold them to spaces).
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            // XML 1.0 cannot carry the other C0 controls (or U+FFFE, U+FFFF) at all, escaped or not.
            c if !xml_char_ok(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// One handlebars registry per script language, each with that language's escaping. A template is
/// compiled the first time it is needed, with the partials it includes (so partials work across
/// files): a run compiles the few templates of its profile, not every OS's.
pub struct Renderer {
    sources: Sources,
    compile: Compile,
    loaded: RwLock<Registries>,
}

/// How templates are compiled: both give the same template (see [`shrink`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compile {
    /// The inside of long runs of plain text kept out of handlebars' parser.
    Shrunk,
    /// The text as it is (the tests' reference).
    #[cfg_attr(not(test), allow(dead_code))]
    Plain,
}

struct Registries {
    sh: Handlebars<'static>,
    ps: Handlebars<'static>,
    xml: Handlebars<'static>,
    /// Every template name looked at so far (compiled, or not a template of these sources).
    seen: HashSet<String>,
    /// Each compiled template's text and the partials it includes (`None`: one is named by an
    /// expression).
    compiled: HashMap<String, (String, Option<Vec<String>>)>,
}

impl Registries {
    fn of(&self, lang: Lang) -> &Handlebars<'static> {
        match lang {
            Lang::Sh => &self.sh,
            Lang::PowerShell => &self.ps,
            Lang::Xml => &self.xml,
        }
    }
}

impl Renderer {
    /// Every template of `sources` compiled (`profiles validate`: a template that does not compile
    /// or writes raw output is refused wherever it is).
    pub fn new(sources: &Sources) -> Result<Renderer> {
        Renderer::for_templates(sources, sources.template_names())
    }

    /// The templates `names` and every partial they include compiled now, so that an error in one
    /// of them stops the run before anything runs; any other template is compiled when first
    /// rendered. A name that is not a template of `sources` fails when it is rendered.
    pub fn for_templates(
        sources: &Sources,
        names: impl IntoIterator<Item = String>,
    ) -> Result<Renderer> {
        Renderer::compiled(sources, names, Compile::Shrunk)
    }

    /// [`Renderer::for_templates`], compiling every template as `compile` says.
    pub(crate) fn compiled(
        sources: &Sources,
        names: impl IntoIterator<Item = String>,
        compile: Compile,
    ) -> Result<Renderer> {
        let r = Renderer {
            sources: sources.clone(),
            compile,
            loaded: RwLock::new(Registries {
                sh: registry(Lang::Sh),
                ps: registry(Lang::PowerShell),
                xml: registry(Lang::Xml),
                seen: HashSet::new(),
                compiled: HashMap::new(),
            }),
        };
        {
            let mut regs = r.loaded.write().unwrap_or_else(PoisonError::into_inner);
            for name in names {
                r.load(&mut regs, name)?;
            }
        }
        Ok(r)
    }

    /// Compile `name` and, first, the partials it includes (a name not among the templates is left
    /// to handlebars, which knows inline partials and says what is missing).
    fn load(&self, regs: &mut Registries, name: String) -> Result<()> {
        let mut todo = vec![name];
        while let Some(name) = todo.pop() {
            if regs.seen.contains(&name) {
                continue;
            }
            regs.seen.insert(name.clone());
            let Some(lang) = Lang::of(&name) else {
                continue;
            };
            let Some(text) = self.sources.template(&name) else {
                continue;
            };
            if text.contains("{{{") || text.contains("{{&") || text.contains("{{~{") {
                bail!("template {name}: raw output ({{{{{{…}}}}}} or {{{{&…}}}}) is not allowed: values must be escaped for the script's language");
            }
            let included = partials(&text);
            match &included {
                Some(names) => todo.extend(names.iter().cloned()),
                // A partial named by an expression: any template may be it.
                None => todo.extend(self.sources.template_names()),
            }
            let reg = match lang {
                Lang::Sh => &mut regs.sh,
                Lang::PowerShell => &mut regs.ps,
                Lang::Xml => &mut regs.xml,
            };
            register(reg, &name, &text, self.compile)
                .with_context(|| format!("template {name}"))?;
            regs.compiled.insert(name, (text, included));
        }
        Ok(())
    }

    /// Render template `name` with `context`. Strict mode: a missing value is an error, not an empty string.
    pub fn render(&self, name: &str, context: &Value) -> Result<String> {
        self.render_in(name, &handlebars::Context::from(context.clone()))
    }

    /// [`Renderer::render`] with a context built once for several templates.
    pub fn render_in(&self, name: &str, context: &handlebars::Context) -> Result<String> {
        let Some(lang) = Lang::of(name) else {
            bail!("template {name}: unknown script language (expected .sh, .ps1, .xml)");
        };
        let seen = self
            .loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .contains(name);
        if !seen {
            let mut regs = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
            self.load(&mut regs, name.to_string())?;
        }
        let regs = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
        regs.of(lang)
            .render_with_context(name, context)
            .with_context(|| format!("rendering template {name}"))
    }

    /// Whether `word` occurs in template `name` or in a partial it includes, however deep: a value of
    /// the context that none of them names cannot change what it renders. True when that cannot be
    /// told (a template not compiled yet, a partial named by an expression).
    pub fn mentions(&self, name: &str, word: &str) -> bool {
        let regs = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
        let mut todo = vec![name];
        let mut done: HashSet<&str> = HashSet::new();
        while let Some(n) = todo.pop() {
            if !done.insert(n) {
                continue;
            }
            match regs.compiled.get(n) {
                Some((text, Some(included))) => {
                    if text.contains(word) {
                        return true;
                    }
                    todo.extend(included.iter().map(String::as_str));
                }
                Some((_, None)) => return true,
                // Looked at and not a template here (an inline partial): nothing to render from.
                None if regs.seen.contains(n) && n != name => {}
                None => return true,
            }
        }
        false
    }
}

/// The names of the partials a template includes (`{{> name}}`, `{{#> name}}`, with or without
/// `~`), or `None` when one is named by an expression rather than a literal name.
fn partials(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("{{") {
        rest = &rest[at + 2..];
        let tag = rest.strip_prefix('~').unwrap_or(rest);
        let Some(tag) = tag.strip_prefix('>').or_else(|| tag.strip_prefix("#>")) else {
            continue;
        };
        let tag = tag.trim_start();
        let end = tag
            .find(|c: char| c.is_whitespace() || c == '}' || c == '~')
            .unwrap_or(tag.len());
        let name = &tag[..end];
        match name.chars().next() {
            // @partial-block is the caller's block, not a template.
            Some('@') => {}
            Some(c) if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' => {
                out.push(name.to_string());
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Compile `text` into `reg` as `name`. Shrunk: when [`shrink::Shrunk`] can take text out and put it
/// back exactly, that template; otherwise (and for any error, so that its message names the real
/// line) the plain compile.
fn register(
    reg: &mut Handlebars<'static>,
    name: &str,
    text: &str,
    compile: Compile,
) -> Result<(), handlebars::TemplateError> {
    if compile == Compile::Shrunk {
        if let Some(shrunk) = shrink::Shrunk::of(text) {
            if reg.register_template_string(name, &shrunk.text).is_ok() {
                // The registry hands out no template to own or change: a copy is restored and replaces it.
                let restored = reg
                    .get_template(name)
                    .cloned()
                    .and_then(|t| shrunk.restore(t));
                if let Some(t) = restored {
                    reg.register_template(name, t);
                    return Ok(());
                }
            }
        }
    }
    reg.register_template_string(name, text)
}

fn registry(lang: Lang) -> Handlebars<'static> {
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    h.set_prevent_indent(true);
    h.register_escape_fn(move |s| lang.escape(s));
    h
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests run the rendered scripts
mod tests {
    use super::*;

    const HOSTILE: &[&str] = &[
        "x'; touch /tmp/handover-pwned-1 #",
        "$(touch /tmp/handover-pwned-2)",
        "`touch /tmp/handover-pwned-3`",
        "a; touch /tmp/handover-pwned-4",
        "line1\ntouch /tmp/handover-pwned-5\n",
        "\"double\" and 'single' and \\back\\slash $HOME ${PATH} * ? [a]",
        "",
        "‘curly’ quotes",
    ];

    #[test]
    fn sh_values_arrive_literally_and_run_nothing() {
        for (i, v) in HOSTILE.iter().enumerate() {
            let script = format!("printf '%s' {}", sh_quote(v));
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(&script)
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), *v, "value {i}");
            let dash = std::process::Command::new("dash")
                .arg("-c")
                .arg(&script)
                .output();
            if let Ok(out) = dash {
                assert_eq!(
                    String::from_utf8(out.stdout).unwrap(),
                    *v,
                    "dash, value {i}"
                );
            }
        }
        for n in 1..=5 {
            assert!(!std::path::Path::new(&format!("/tmp/handover-pwned-{n}")).exists());
        }
    }

    #[test]
    fn templates_escape_through_the_registry() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.sh"),
            "printf '%s|' {{v}}{{#each list}} {{this}}{{/each}}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("t.ps1"), "Write-Output {{v}}\n").unwrap();
        std::fs::write(dir.path().join("t.xml"), "<a n=\"{{v}}\">{{v}}</a>\n").unwrap();
        let r = Renderer::new(&Sources {
            profiles_dir: None,
            templates_dir: Some(dir.path().into()),
        })
        .unwrap();
        let ctx = serde_json::json!({"v": "it's <a&b>", "list": ["$(id)", "`id`"]});
        assert_eq!(
            r.render("t.sh", &ctx).unwrap(),
            "printf '%s|' 'it'\\''s <a&b>' '$(id)' '`id`'\n"
        );
        assert_eq!(
            r.render("t.ps1", &ctx).unwrap(),
            "Write-Output 'it''s <a&b>'\n"
        );
        assert_eq!(
            r.render("t.xml", &ctx).unwrap(),
            "<a n=\"it&apos;s &lt;a&amp;b&gt;\">it&apos;s &lt;a&amp;b&gt;</a>\n"
        );
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(r.render("t.sh", &ctx).unwrap())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "it's <a&b>|$(id)|`id`|"
        );
    }

    #[test]
    fn strict_mode_refuses_missing_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.sh"), "echo {{site.vpn.gateway}}\n").unwrap();
        let r = Renderer::new(&Sources {
            profiles_dir: None,
            templates_dir: Some(dir.path().into()),
        })
        .unwrap();
        let e = r
            .render("t.sh", &serde_json::json!({"site": {"vpn": null}}))
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("gateway") || format!("{e:#}").contains("vpn"),
            "{e:#}"
        );
    }

    #[test]
    fn raw_output_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.sh"), "echo {{{v}}}\n").unwrap();
        let e = Renderer::new(&Sources {
            profiles_dir: None,
            templates_dir: Some(dir.path().into()),
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("raw output"), "{e}");
    }

    #[test]
    fn partials_are_found_by_name_and_an_expression_means_any() {
        assert_eq!(
            partials("a {{> linux/_lib.sh}} b {{~> sh/_json.sh x=1}} {{#> w/_b.ps1}}{{> @partial-block}}{{/w/_b.ps1}} {{x}}"),
            Some(vec!["linux/_lib.sh".to_string(), "sh/_json.sh".into(), "w/_b.ps1".into()])
        );
        assert_eq!(partials("{{> (lookup . \"p\")}}"), None);
    }

    #[test]
    fn only_the_templates_asked_for_and_their_partials_are_compiled_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/_lib.sh"), "lib {{v}}\n").unwrap();
        std::fs::write(dir.path().join("a/c.sh"), "{{> a/_lib.sh}}check\n").unwrap();
        // Another system's template that does not compile: no concern of a run that never renders it.
        std::fs::write(dir.path().join("b.sh"), "{{#if}}\n").unwrap();
        let sources = Sources {
            profiles_dir: None,
            templates_dir: Some(dir.path().into()),
        };
        let r = Renderer::for_templates(&sources, ["a/c.sh".to_string()]).unwrap();
        let ctx = serde_json::json!({"v": "x"});
        assert_eq!(r.render("a/c.sh", &ctx).unwrap(), "lib 'x'\ncheck\n");
        // Compiled on first use: its error is the render's.
        let e = r.render("b.sh", &ctx).unwrap_err();
        assert!(format!("{e:#}").contains("template b.sh"), "{e:#}");
        // Every template at once still refuses it, as `profiles validate` does.
        assert!(Renderer::new(&sources).is_err());
        // A template asked for that does not compile stops the run before anything renders.
        assert!(Renderer::for_templates(&sources, ["b.sh".to_string()]).is_err());
    }

    #[test]
    fn a_word_is_mentioned_through_the_partials_a_template_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("_deep.sh"), "{{lifecycle.source}}\n").unwrap();
        std::fs::write(dir.path().join("_mid.sh"), "{{> _deep.sh}}\n").unwrap();
        std::fs::write(dir.path().join("top.sh"), "{{> _mid.sh}}\n").unwrap();
        std::fs::write(
            dir.path().join("plain.sh"),
            "{{#*inline \"p\"}}x{{/inline}}{{> p}}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("dynamic.sh"),
            "{{> (concat \"_\" \"mid.sh\")}}\n",
        )
        .unwrap();
        let sources = Sources {
            profiles_dir: None,
            templates_dir: Some(dir.path().into()),
        };
        let names = ["top.sh", "plain.sh", "dynamic.sh"].map(String::from);
        let r = Renderer::for_templates(&sources, names).unwrap();
        assert!(r.mentions("top.sh", "lifecycle"));
        assert!(!r.mentions("plain.sh", "lifecycle"));
        // Not told: a partial named by an expression, a template not compiled yet.
        assert!(r.mentions("dynamic.sh", "lifecycle"));
        assert!(r.mentions("elsewhere.sh", "lifecycle"));
        assert_eq!(r.render("plain.sh", &serde_json::json!({})).unwrap(), "x\n");
    }

    /// The shrunk compile gives the very template handlebars compiles from the whole text (its text,
    /// tags, whitespace and the line and column of every element), for every shipped template; and
    /// it is not a fallback that makes them equal: every template with a long run is shrunk.
    #[test]
    fn every_shipped_template_compiles_shrunk_into_the_same_template() {
        let sources = Sources::default();
        let (mut shrunk, mut long) = (0, 0);
        for name in sources.template_names() {
            let Some(lang) = Lang::of(&name) else {
                continue;
            };
            let text = sources.template(&name).unwrap();
            let mut plain = registry(lang);
            plain.register_template_string(&name, &text).unwrap();
            let mut quick = registry(lang);
            register(&mut quick, &name, &text, Compile::Shrunk).unwrap();
            assert_eq!(
                quick.get_template(&name),
                plain.get_template(&name),
                "{name}"
            );
            long += usize::from(text.len() > 1024);
            let Some(s) = shrink::Shrunk::of(&text) else {
                assert!(text.len() < 1024, "{name} is not shrunk");
                continue;
            };
            shrunk += 1;
            let mut reg = registry(lang);
            reg.register_template_string(&name, &s.text).unwrap();
            let restored = s.restore(reg.get_template(&name).unwrap().clone());
            assert_eq!(restored.as_ref(), plain.get_template(&name), "{name}");
        }
        assert!(shrunk >= long && long > 50, "{shrunk} shrunk, {long} long");
    }

    #[test]
    fn powershell_doubles_typographic_quotes() {
        assert_eq!(ps_quote("a’b"), "'a’’b'");
    }
}
