//! A cheaper compile of the same template. handlebars' parser (pest) walks plain text one character at a
//! time through its grammar, which was most of a check's own CPU (issue 18): the templates are mostly
//! shell, a few tags in long runs of text. So the inside of each long run of plain text is taken out
//! before handlebars sees the template, and put back into the compiled template's text afterwards.
//!
//! What stays is everything handlebars looks at besides the text it copies: every tag, and around each
//! tag the whole line and the nearest line with something other than whitespace on it. Its whitespace
//! rules (`~`, standalone lines, a partial's indent) trim from a tag outwards through whitespace only,
//! so they stop inside what stays. The text taken out is replaced by a marker and as many newlines as
//! it had, so every element keeps its line and column (render errors name them). The result is the
//! very template a plain compile gives (tested on every shipped template), or, when that cannot be
//! shown here, the plain compile is used.

use handlebars::template::{Template, TemplateElement};

/// Starts a marker: `MARK`, the run's index, `END`. Neither occurs in a template this module shrinks.
const MARK: char = '\u{1}';
const END: char = '\u{2}';

/// Runs shorter than this stay as they are: their marker would save little.
const MIN_TAKEN: usize = 64;

/// A template's text with the inside of its long plain runs taken out, and those insides, in order.
#[derive(Debug)]
pub(super) struct Shrunk {
    pub(super) text: String,
    taken: Vec<String>,
}

impl Shrunk {
    /// `text` shrunk, or `None` when it has nothing worth taking out or anything this module does not
    /// reason about: an escaped tag (`\{{`), a raw block (`{{{{`), a tag that may hold `}}` or `{{`
    /// (a quote or bracket left open before its first `}}`, a backslash), a comment left open, or
    /// the marker's own characters.
    pub(super) fn of(text: &str) -> Option<Shrunk> {
        if text.contains("\\{{") || text.contains("{{{{") || text.contains([MARK, END]) {
            return None;
        }
        let mut out = Shrunk {
            text: String::with_capacity(text.len() / 4),
            taken: Vec::new(),
        };
        let mut pos = 0;
        loop {
            let Some(at) = text[pos..].find("{{").map(|i| pos + i) else {
                out.push_run(&text[pos..]);
                break;
            };
            out.push_run(&text[pos..at]);
            let end = tag_end(text, at)?;
            out.text.push_str(&text[at..end]);
            pos = end;
        }
        (!out.taken.is_empty()).then_some(out)
    }

    /// A run of plain text, its inside replaced by a marker when it is long: the inside starts after the
    /// first line with something other than whitespace on it and ends where the last such line begins.
    fn push_run(&mut self, run: &str) {
        let inside = (|| {
            let first = run.find(|c: char| !c.is_whitespace())?;
            let start = first + run[first..].find('\n')? + 1;
            let last = run.rfind(|c: char| !c.is_whitespace())?;
            let end = run[..last].rfind('\n')? + 1;
            (end >= start + MIN_TAKEN).then_some((start, end))
        })();
        let Some((start, end)) = inside else {
            self.text.push_str(run);
            return;
        };
        let taken = &run[start..end];
        self.text.push_str(&run[..start]);
        self.text.push(MARK);
        self.text.push_str(&self.taken.len().to_string());
        self.text.push(END);
        for _ in 0..taken.matches('\n').count() {
            self.text.push('\n');
        }
        self.text.push_str(&run[end..]);
        self.taken.push(taken.to_string());
    }

    /// The template compiled from [`Shrunk::text`] with every run's inside back in its place: `None`
    /// unless each marker is found once, whole, in the template's text (never in a tag).
    pub(super) fn restore(&self, mut template: Template) -> Option<Template> {
        let mut found = vec![false; self.taken.len()];
        self.restore_in(&mut template, &mut found)?;
        found.iter().all(|f| *f).then_some(template)
    }

    fn restore_in(&self, t: &mut Template, found: &mut [bool]) -> Option<()> {
        for e in &mut t.elements {
            match e {
                TemplateElement::RawString(s) if s.contains(MARK) => {
                    *s = self.restore_text(s, found)?;
                }
                TemplateElement::Comment(s) if s.contains(MARK) => return None,
                TemplateElement::Expression(h)
                | TemplateElement::HtmlExpression(h)
                | TemplateElement::HelperBlock(h) => {
                    for inner in h.template.iter_mut().chain(h.inverse.iter_mut()) {
                        self.restore_in(inner, found)?;
                    }
                }
                TemplateElement::DecoratorExpression(d)
                | TemplateElement::DecoratorBlock(d)
                | TemplateElement::PartialExpression(d)
                | TemplateElement::PartialBlock(d) => {
                    if let Some(inner) = &mut d.template {
                        self.restore_in(inner, found)?;
                    }
                }
                _ => {}
            }
        }
        Some(())
    }

    /// `s` with each marker and the newlines that follow it replaced by the text it stands for.
    fn restore_text(&self, s: &str, found: &mut [bool]) -> Option<String> {
        let mut out = String::with_capacity(s.len() + 256);
        let mut rest = s;
        while let Some(at) = rest.find(MARK) {
            out.push_str(&rest[..at]);
            let after = &rest[at + MARK.len_utf8()..];
            let close = after.find(END)?;
            let n: usize = after[..close].parse().ok()?;
            let taken = self.taken.get(n)?;
            if std::mem::replace(found.get_mut(n)?, true) {
                return None;
            }
            let newlines = "\n".repeat(taken.matches('\n').count());
            rest = after[close + END.len_utf8()..].strip_prefix(newlines.as_str())?;
            out.push_str(taken);
        }
        out.push_str(rest);
        Some(out)
    }
}

/// Where the tag that opens at `at` ends (after its `}}`), as handlebars' grammar ends it: a `{{!--`
/// comment (whitespace may sit between `!` and `--`) at its first `--}}` when it has one, another
/// comment at its first `}}`, any other tag at its first `}}`. `None` when that `}}` might sit inside
/// a string or a `[…]` segment of the tag instead, or the tag is never closed.
fn tag_end(text: &str, at: usize) -> Option<usize> {
    let tag = &text[at..];
    if let Some(comment) = tag.strip_prefix("{{!") {
        let skipped = comment.len() - comment.trim_start_matches([' ', '\t', '\n', '\r']).len();
        if let Some(body) = comment[skipped..].strip_prefix("--") {
            if let Some(i) = body.find("--}}") {
                return Some(at + 3 + skipped + 2 + i + 4);
            }
        }
        return Some(at + 3 + comment.find("}}")? + 2);
    }
    let inner = &tag[2..2 + tag[2..].find("}}")?];
    let even = |c: char| inner.matches(c).count().is_multiple_of(2);
    let closed = inner.matches('[').count() == inner.matches(']').count();
    let plain = !inner.contains(['\\', '{', '}']);
    (even('"') && even('\'') && closed && plain).then_some(at + 2 + inner.len() + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_inside_of_long_runs_is_taken_and_every_line_stays() {
        let body: String = (0..10).map(|i| format!("echo line {i}\n")).collect();
        let text = format!("{{{{#if a}}}}\n  first\n{body}  last\n{{{{/if}}}}\nshort\n");
        let s = Shrunk::of(&text).unwrap();
        assert_eq!(s.taken, std::slice::from_ref(&body));
        assert_eq!(
            s.text,
            format!(
                "{{{{#if a}}}}\n  first\n\u{1}0\u{2}{}  last\n{{{{/if}}}}\nshort\n",
                "\n".repeat(10)
            )
        );
        assert_eq!(s.text.lines().count(), text.lines().count());
    }

    #[test]
    fn what_it_cannot_reason_about_is_left_to_a_plain_compile() {
        let long: String = (0..10).map(|i| format!("echo line {i}\n")).collect();
        for tag in [
            "\\{{x}}",
            "{{{{raw}}}}x{{{{/raw}}}}",
            "{{x \"a}}\"}}",
            "{{x 'a}}'}}",
            "{{x.[a}}b]}}",
            "{{x \"a\\\"}}\"}}",
            "{{!-- open",
            "\u{1}",
        ] {
            let text = format!("a\n{long}b\n{tag}\na\n{long}b\n");
            assert!(Shrunk::of(&text).is_none(), "{tag}");
        }
        // A comment ends where handlebars ends it, whatever it holds.
        for comment in ["{{!-- a }} b --}}", "{{! \n -- a }} b --}}", "{{!-- a }}"] {
            let text = format!("a\n{long}b\n{comment}\na\n{long}b\n");
            let s = Shrunk::of(&text).unwrap();
            assert!(s.text.contains(&format!("b\n{comment}\na\n")), "{comment}");
            assert_eq!(s.taken, [long.clone(), long.clone()]);
        }
        // Nothing long enough to take.
        assert!(Shrunk::of("a\n{{x}}\nb\n").is_none());
    }

    /// Whitespace handlebars trims around tags (`~`, standalone lines, else chains, partial blocks,
    /// comments), Windows line ends and whitespace that is not ASCII: the shrunk compile is taken, and
    /// gives the template the plain one does.
    #[test]
    fn whitespace_around_tags_compiles_shrunk_as_plain() {
        let lines = |end: &str| -> String {
            (0..10)
                .map(|i| format!("  echo line {i} \"$x\"{end}"))
                .collect()
        };
        let (l, crlf) = (lines("\n"), lines("\r\n"));
        let templates = [
            format!("{{{{#if a}}}}\n{l}  {{{{~else~}}}}\n{l}{{{{/if}}}}\n"),
            format!("\n\n   \n{l}\n\n  {{{{~x~}}}}  \n\n{l}\n \t\n"),
            format!("{l}  {{{{#each xs}}}}\n{l}  {{{{/each}}}}\n{l}"),
            format!("{l}   {{{{> p}}}}\n{l}{{{{#> p}}}}\n{l}{{{{/p}}}}\n{l}"),
            format!("{l}{{{{#if a}}}}\n{l}{{{{else if b}}}}\n{l}{{{{else}}}}\n{l}{{{{/if}}}}\n"),
            format!("{l}{{{{!-- a }}}} b --}}}}\n{l}  {{{{! c }}}}\n{l}"),
            format!("{crlf}{{{{#if a}}}}\r\n{crlf}  {{{{/if}}}}\r\n{crlf}"),
            format!("\u{a0}\n{l}\u{2003}{{{{x}}}}\u{a0}\n{l}\u{a0}"),
            format!("{{{{x}}}}{l}{{{{y}}}}{l}no newline at the end"),
        ];
        for text in &templates {
            let shrunk = Shrunk::of(text).unwrap_or_else(|| panic!("not shrunk: {text:?}"));
            let mut reg = super::super::registry(super::super::Lang::Sh);
            reg.register_template_string("s", &shrunk.text).unwrap();
            let restored = shrunk.restore(reg.get_template("s").unwrap().clone());
            let mut plain = super::super::registry(super::super::Lang::Sh);
            plain.register_template_string("s", text).unwrap();
            assert_eq!(restored.as_ref(), plain.get_template("s"), "{text:?}");
        }
    }

    #[test]
    fn a_marker_found_twice_or_not_at_all_gives_no_template() {
        let long: String = (0..10).map(|i| format!("echo line {i}\n")).collect();
        let s = Shrunk::of(&format!("a\n{long}b\n")).unwrap();
        let compiled = |text: &str| Template::compile(text).unwrap();
        assert!(s.restore(compiled(&s.text)).is_some());
        assert!(s.restore(compiled("a\nb\n")).is_none());
        assert!(s
            .restore(compiled(&format!("{}{}", s.text, s.text)))
            .is_none());
    }
}
