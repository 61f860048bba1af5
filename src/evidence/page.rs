//! The one way the HTML pages (report, handover sheet, fleet summary) are made: a handlebars template
//! from `templates/report/`, strict, every value escaped, raw output refused.

use anyhow::{bail, Context as _, Result};
use handlebars::Handlebars;
use serde_json::Value;

/// Render `template` (named `name` in errors) with `context`; every value goes through `escape`.
pub(crate) fn render(
    name: &str,
    template: &str,
    escape: fn(&str) -> String,
    context: &Value,
) -> Result<String> {
    // As for scripts (render.rs): raw output would let a value bypass the escaping.
    let bare = template.replace("{{~", "{{");
    if bare.contains("{{{") || bare.contains("{{&") {
        bail!("template {name}: raw output ({{{{{{…}}}}}} or {{{{&…}}}}) is not allowed: values must be HTML-escaped");
    }
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    h.set_prevent_indent(true);
    h.register_escape_fn(escape);
    h.register_template_string(name, template)
        .with_context(|| format!("template {name}"))?;
    let page = h
        .render(name, context)
        .with_context(|| format!("rendering template {name}"))?;
    // A template starts with a comment about itself; the page starts at its doctype.
    Ok(page.trim_start().to_string())
}

/// An embedded template of `templates/report/` (a page handover writes for people, never replaced by
/// `--templates-dir`).
pub(crate) fn embedded(name: &str) -> String {
    crate::inputs::profile::Sources::default()
        .template(name)
        .unwrap_or_else(|| panic!("template {name} is embedded by build.rs"))
}
