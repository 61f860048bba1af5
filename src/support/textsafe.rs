//! Text from devices made safe to show (F18 of the 2026-12 review). A record is written on the device,
//! whose administrator handover does not trust, and its strings reach the technician's terminal, a
//! spreadsheet and a Markdown viewer: control characters must not drive the terminal (ESC and OSC
//! sequences set the title, write the clipboard with OSC 52, clear or hide text) and Markdown must not
//! turn them into HTML, links or images.

use std::borrow::Cow;

/// Whether `c` is a character that changes how a terminal shows text rather than being shown: C0
/// controls and DEL, C1 controls (U+0080..U+009F: U+009B is a one-character CSI to some terminals), and
/// the Unicode bidirectional overrides and isolates, which reorder what is shown ("Trojan Source").
fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` without control characters, newlines and tabs kept: for multi-line text on a terminal.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_control(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .filter(|&c| !is_control(c) || c == '\n' || c == '\t')
            .collect(),
    )
}

/// `s` on one line: newlines and tabs become spaces, other control characters go.
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .filter_map(|c| match c {
                '\n' | '\r' | '\t' => Some(' '),
                c if is_control(c) => None,
                c => Some(c),
            })
            .collect(),
    )
}

/// `s` as inert Markdown text on one line (a table cell, a heading, a list item): control characters
/// go, newlines become spaces, `<`, `>` and `&` become entities (no raw HTML), and the characters that
/// make emphasis, code, links, images, tables and headings are backslash-escaped (CommonMark escapes
/// any ASCII punctuation), so that `[x](javascript:…)`, `![](http://…)` and `<img onerror=…>` show as
/// the text they are.
///
/// GitHub's Markdown also makes links of bare `http://…` and `www.…`: the `:` of `://` and the `.`
/// after `www` are escaped too, which shows the same text and links nothing. (An e-mail address still
/// becomes a `mailto:` link showing that very address.)
pub fn md_escape(s: &str) -> String {
    let s = one_line(s);
    let mut out = String::with_capacity(s.len() + 8);
    for (i, c) in s.char_indices() {
        let rest = &s[i + c.len_utf8()..];
        let autolink = match c {
            ':' => rest.starts_with("//"),
            '.' => s[..i].to_ascii_lowercase().ends_with("www"),
            _ => false,
        };
        if autolink {
            out.push('\\');
            out.push(c);
            continue;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '{' | '}' | '!' | '|' | '#' | '~'
            | '$' | '^' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell that a spreadsheet shows as text: control characters go (newlines become spaces), a
/// cell whose first visible character (after any whitespace) starts a formula (`=`, `+`, `-`, `@`, or
/// their fullwidth forms `＝ ＋ － ＠`) gets a leading `'`, as does every part after a `;` or `,` (for
/// a spreadsheet that splits on the separator of its locale), and the cell is always quoted (RFC 4180).
pub fn csv_cell(s: &str) -> String {
    let s = one_line(s);
    let mut out = String::with_capacity(s.len() + 4);
    out.push('"');
    let mut at_start = true;
    for c in s.chars() {
        if at_start && !c.is_whitespace() {
            if matches!(
                c,
                '=' | '+' | '-' | '@' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}' | '\u{ff20}'
            ) {
                out.push('\'');
            }
            at_start = false;
        }
        if c == '"' {
            out.push('"');
        }
        out.push(c);
        if c == ';' || c == ',' {
            at_start = true;
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_loses_escape_and_osc_sequences() {
        let hostile = "h\x1b]0;PWNED-TITLE\x07\x1b[2Jcleared\r\n\x1b]52;c;Y2xpcA==\x07 \u{9b}31m \u{202e}txt.exe";
        let t = terminal_safe(hostile);
        assert_eq!(t, "h]0;PWNED-TITLE[2Jcleared\n]52;c;Y2xpcA== 31m txt.exe");
        assert!(matches!(terminal_safe("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(one_line("a\nb\tc\x1bd"), "a b cd");
    }

    #[test]
    fn markdown_is_inert() {
        assert_eq!(
            md_escape("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert\\(1\\)&gt;"
        );
        assert_eq!(
            md_escape("[click](javascript:alert(1))"),
            "\\[click\\]\\(javascript:alert\\(1\\)\\)"
        );
        assert_eq!(
            md_escape("![](http://x/a.png)"),
            "\\!\\[\\]\\(http\\://x/a.png\\)"
        );
        assert_eq!(
            md_escape("see https://evil.example, WWW.evil.example or a@evil.example at 10:00"),
            "see https\\://evil.example, WWW\\.evil.example or a@evil.example at 10:00"
        );
        assert_eq!(
            md_escape("a|b\\c\nd `e` *f* _g_ # h"),
            "a\\|b\\\\c d \\`e\\` \\*f\\* \\_g\\_ \\# h"
        );
        assert_eq!(md_escape("Tom & Jerry"), "Tom &amp; Jerry");
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("lab-01"), "\"lab-01\"");
        assert_eq!(csv_cell("=1+1"), "\"'=1+1\"");
        assert_eq!(csv_cell("  =1+1"), "\"  '=1+1\"");
        assert_eq!(csv_cell("\t-2"), "\" '-2\"");
        assert_eq!(csv_cell("\u{ff1d}1+1"), "\"'\u{ff1d}1+1\"");
        assert_eq!(
            csv_cell("\u{3000}\u{ff20}SUM(A1)"),
            "\"\u{3000}'\u{ff20}SUM(A1)\""
        );
        assert_eq!(
            csv_cell("a;=cmd|' /C calc'!A0"),
            "\"a;'=cmd|' /C calc'!A0\""
        );
        assert_eq!(csv_cell("a, +1"), "\"a, '+1\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("h\x1b]0;T\x07x\r\n"), "\"h]0;Tx  \"");
        assert_eq!(csv_cell(""), "\"\"");
    }
}
