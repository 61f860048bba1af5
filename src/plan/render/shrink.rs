//! A cheaper compile of the same template. handlebars' parser (pest) walks plain text one character at a
//! time through its grammar, which was most of a check's own CPU (issue 18): the templates are mostly
//! shell, a few tags in long runs of text. So the inside of each run of plain text is taken out before
//! handlebars sees the template, and put back into the compiled template afterwards.
//!
//! What stays is everything handlebars looks at besides the text it copies: every tag, and on either
//! side of it the whitespace up to the nearest other character, and that character. Its whitespace
//! rules (`~`, standalone lines, a partial's indent) trim from a tag outwards through whitespace only,
//! so they stop inside what stays. The text taken out is replaced by a marker; afterwards the marker is
//! replaced by that text, and the line and column handlebars recorded for every element (render errors
//! name them) are moved back to where the element is in the whole text. The result is the very template
//! a plain compile gives (tested on every shipped template), or, when that cannot be shown here, the
//! plain compile is used.

use handlebars::template::{Template, TemplateElement};

/// A marker is `MARK`, the run's index, `END`. Neither occurs in a template this module shrinks.
const MARK: char = '\u{1}';
const END: char = '\u{2}';

/// Runs whose inside is shorter than this stay as they are: their marker would save little.
const MIN_TAKEN: usize = 16;

/// A template's text with the inside of its plain runs taken out, and how to put them back.
#[derive(Debug)]
pub(super) struct Shrunk<'t> {
    source: &'t str,
    pub(super) text: String,
    /// The insides taken out, in order: the marker of the n-th stands for `taken[n]`.
    taken: Vec<&'t str>,
    /// Each stretch of `text` copied from `source`: where it starts in `text`, where in `source`, and
    /// its length; in order.
    kept: Vec<(usize, usize, usize)>,
}

impl<'t> Shrunk<'t> {
    /// `source` shrunk, or `None` when it has nothing worth taking out or anything this module does not
    /// reason about: an escaped tag (`\{{`), a raw block (`{{{{`), a tag that may hold `}}` or `{{`
    /// (a quote or bracket left open before its first `}}`, a backslash), a tag left open, or the
    /// marker's own characters.
    pub(super) fn of(source: &'t str) -> Option<Shrunk<'t>> {
        let bytes = source.as_bytes();
        if bytes.contains(&(MARK as u8)) || bytes.contains(&(END as u8)) {
            return None;
        }
        let mut out = Shrunk {
            source,
            text: String::with_capacity(source.len() / 8),
            taken: Vec::new(),
            kept: Vec::new(),
        };
        let mut pos = 0;
        loop {
            let Some(at) = source[pos..].find("{{").map(|i| pos + i) else {
                out.push_run(pos, source.len());
                break;
            };
            if source[..at].ends_with('\\') || source[at..].starts_with("{{{{") {
                return None;
            }
            out.push_run(pos, at);
            let end = tag_end(source, at)?;
            out.keep(at, end);
            pos = end;
        }
        (!out.taken.is_empty()).then_some(out)
    }

    /// `source[from..to]` copied into the text.
    fn keep(&mut self, from: usize, to: usize) {
        match self.kept.last_mut() {
            Some((t, s, len)) if *t + *len == self.text.len() && *s + *len == from => {
                *len += to - from;
            }
            _ => self.kept.push((self.text.len(), from, to - from)),
        }
        self.text.push_str(&self.source[from..to]);
    }

    /// The run of plain text `source[from..to]`: what lies between its first and its last character
    /// other than whitespace is replaced by a marker, when it is long enough.
    fn push_run(&mut self, from: usize, to: usize) {
        let run = &self.source[from..to];
        let inside = (|| {
            let first = run.find(|c: char| !c.is_whitespace())?;
            let start = first + run[first..].chars().next()?.len_utf8();
            let end = run.rfind(|c: char| !c.is_whitespace())?;
            (end >= start + MIN_TAKEN).then_some((from + start, from + end))
        })();
        let Some((start, end)) = inside else {
            self.keep(from, to);
            return;
        };
        self.keep(from, start);
        self.text.push(MARK);
        self.text.push_str(&self.taken.len().to_string());
        self.text.push(END);
        self.taken.push(&self.source[start..end]);
        self.keep(end, to);
    }

    /// The template compiled from [`Shrunk::text`] with every run's inside back in its place and every
    /// element at its line and column in the source: `None` unless each marker is found once, whole,
    /// in the template's text (never in a tag), and every element lies in what was kept.
    pub(super) fn restore(&self, mut template: Template) -> Option<Template> {
        let lines = Lines {
            shrunk: line_starts(&self.text),
            source: line_starts(self.source),
        };
        let mut found = vec![false; self.taken.len()];
        self.restore_in(&mut template, &lines, &mut found)?;
        found.iter().all(|f| *f).then_some(template)
    }

    fn restore_in(&self, t: &mut Template, lines: &Lines, found: &mut [bool]) -> Option<()> {
        for m in &mut t.mapping {
            (m.0, m.1) = self.source_position(m.0, m.1, lines)?;
        }
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
                        self.restore_in(inner, lines, found)?;
                    }
                }
                TemplateElement::DecoratorExpression(d)
                | TemplateElement::DecoratorBlock(d)
                | TemplateElement::PartialExpression(d)
                | TemplateElement::PartialBlock(d) => {
                    if let Some(inner) = &mut d.template {
                        self.restore_in(inner, lines, found)?;
                    }
                }
                _ => {}
            }
        }
        Some(())
    }

    /// `s` with each marker replaced by the text it stands for.
    fn restore_text(&self, s: &str, found: &mut [bool]) -> Option<String> {
        let mut out = String::with_capacity(s.len() + 1024);
        let mut rest = s;
        while let Some(at) = rest.find(MARK) {
            out.push_str(&rest[..at]);
            let after = &rest[at + MARK.len_utf8()..];
            let close = after.find(END)?;
            let n: usize = after[..close].parse().ok()?;
            if std::mem::replace(found.get_mut(n)?, true) {
                return None;
            }
            out.push_str(self.taken[n]);
            rest = &after[close + END.len_utf8()..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// The line and column in the source of what is at `line`, `column` of the shrunk text, counted as
    /// pest counts them (from 1; a line ends at each `\n`; a column is a character). `None` when that
    /// is not text kept from the source.
    fn source_position(&self, line: usize, column: usize, lines: &Lines) -> Option<(usize, usize)> {
        let line_start = *lines.shrunk.get(line.checked_sub(1)?)?;
        let in_line = self.text[line_start..]
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(self.text.len() - line_start))
            .nth(column.checked_sub(1)?)?;
        let at = line_start + in_line;
        let i = self
            .kept
            .partition_point(|(t, _, _)| *t <= at)
            .checked_sub(1)?;
        let (t, s, len) = self.kept[i];
        if at > t + len {
            return None;
        }
        let at = s + (at - t);
        let line = lines.source.partition_point(|start| *start <= at);
        let line_start = lines.source[line - 1];
        Some((line, self.source[line_start..at].chars().count() + 1))
    }
}

/// Where each line of the shrunk text and of the source starts.
struct Lines {
    shrunk: Vec<usize>,
    source: Vec<usize>,
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
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

    fn long() -> String {
        (0..10).map(|i| format!("echo line {i}\n")).collect()
    }

    #[test]
    fn the_inside_of_each_run_is_taken_and_the_text_around_tags_stays() {
        let body = long();
        let text = format!("{{{{#if a}}}}\n  first\n{body}  last\n{{{{/if}}}}\nshort\n");
        let s = Shrunk::of(&text).unwrap();
        assert_eq!(s.taken, [format!("irst\n{body}  las")]);
        assert_eq!(s.text, "{{#if a}}\n  f\u{1}0\u{2}t\n{{/if}}\nshort\n");
    }

    #[test]
    fn what_it_cannot_reason_about_is_left_to_a_plain_compile() {
        let long = long();
        for tag in [
            "\\{{x}}",
            "\\\\{{x}}",
            "{{{{raw}}}}x{{{{/raw}}}}",
            "{{x \"a}}\"}}",
            "{{x 'a}}'}}",
            "{{x.[a}}b]}}",
            "{{x \"a\\\"}}\"}}",
            "{{!-- open",
            "{{x",
            "\u{1}",
        ] {
            let text = format!("a\n{long}b\n{tag}\na\n{long}b\n");
            assert!(Shrunk::of(&text).is_none(), "{tag}");
        }
        // A comment ends where handlebars ends it, whatever it holds.
        for comment in ["{{!-- a }} b --}}", "{{! \n -- a }} b --}}", "{{!-- a }}"] {
            let text = format!("a\n{long}b\n{comment}\na\n{long}b\n");
            let s = Shrunk::of(&text).unwrap();
            assert!(s.text.contains(&format!("b\n{comment}\na")), "{comment}");
            assert_eq!(s.taken.len(), 2, "{comment}");
        }
        // Nothing long enough to take.
        assert!(Shrunk::of("a\n{{x}}\nb\n").is_none());
    }

    /// Whitespace handlebars trims around tags (`~`, standalone lines, else chains, partial blocks,
    /// comments), Windows line ends, a lone `\r`, whitespace that is not ASCII, and tags after wide
    /// characters: the shrunk compile is taken, and gives the template the plain one does, down to the
    /// line and column of every element.
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
            format!("{l}a\rb {{{{x}}}}\r{l}\r{{{{y}}}}"),
            format!("\u{a0}\n{l}\u{2003}{{{{x}}}}\u{a0}\n{l}\u{a0}"),
            format!("{l}ünïcödé → {{{{x}}}} ✓ {{{{y}}}}\n{l}"),
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
        let text = format!("a\n{}b\n", long());
        let s = Shrunk::of(&text).unwrap();
        let compiled = |text: &str| Template::compile(text).unwrap();
        assert!(s.restore(compiled(&s.text)).is_some());
        assert!(s.restore(compiled("a\nb\n")).is_none());
        assert!(s
            .restore(compiled(&format!("{}{}", s.text, s.text)))
            .is_none());
    }
}
