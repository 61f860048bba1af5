//! Where in a TOML file a key is, so that every input error names file, line and key.

use std::path::Path;

use crate::support::error::InputError;

/// 1-based line and column of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// The line of the value at `path` (table keys and array indices, e.g. `["firewall", "allow", "1", "from"]`),
/// or of the nearest enclosing item that exists.
pub fn line_of(src: &str, path: &[&str]) -> usize {
    let Ok(doc) = toml_edit::ImDocument::parse(src) else {
        return 1;
    };
    let mut best = 1;
    let mut node = Node::Item(doc.as_item());
    for part in path {
        match node.child(part) {
            Some(next) => {
                if let Some(span) = next.span() {
                    best = line_col(src, span.start).0;
                }
                node = next;
            }
            None => break,
        }
    }
    best
}

/// A place in a parsed TOML document: toml_edit keeps tables, items and values as different types.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a toml_edit::Item),
    Table(&'a toml_edit::Table),
    Value(&'a toml_edit::Value),
}

impl<'a> Node<'a> {
    fn child(self, part: &str) -> Option<Node<'a>> {
        use toml_edit::{Item, Value};
        let index = || part.parse::<usize>().ok();
        match self {
            Node::Item(Item::Table(t)) | Node::Table(t) => t.get(part).map(Node::Item),
            Node::Item(Item::ArrayOfTables(a)) => a.get(index()?).map(Node::Table),
            Node::Item(Item::Value(v)) => Node::Value(v).child(part),
            Node::Value(Value::InlineTable(t)) => t.get(part).map(Node::Value),
            Node::Value(Value::Array(a)) => a.get(index()?).map(Node::Value),
            _ => None,
        }
    }

    fn span(self) -> Option<std::ops::Range<usize>> {
        match self {
            Node::Item(i) => i.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }
}

/// A serde message with the offending value left out: `invalid type: integer `98765432109`, expected
/// a string` becomes `invalid type: integer (value not shown), expected a string`. The value may be a
/// secret typed unquoted or into the wrong key, and these errors reach logs and the journal (F8).
/// File, line, column and key still say where it is.
fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(at) = message.find(prefix) {
            let rest = &message[at + prefix.len()..];
            let (what, tail) = match rest.find(", expected") {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let kind = what
                .split(['`', '"', '\''])
                .next()
                .unwrap_or_default()
                .trim();
            let shown = if kind == what.trim() {
                // Nothing quoted: a kind only (`map`, `sequence`, `unit value`).
                kind.to_string()
            } else {
                format!("{kind} (value not shown)")
            };
            return format!("{}{prefix}{shown}{tail}", &message[..at]);
        }
    }
    message.to_string()
}

/// Parse `src` (the text of `file`) into `T`, turning any error into an [`InputError::Toml`] naming the
/// file, line, column and the dotted key where serde stopped.
pub fn parse_toml<T: serde::de::DeserializeOwned>(file: &Path, src: &str) -> Result<T, InputError> {
    let de = toml::Deserializer::new(src);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let (line, column) = inner.span().map_or((1, 1), |s| line_col(src, s.start));
        let key = if key.is_empty() || key == "." {
            String::new()
        } else {
            format!("key `{key}`: ")
        };
        InputError::Toml {
            file: file.to_path_buf(),
            line,
            column,
            key,
            // Some syntax errors come with no message at all (found by fuzzing: `2=`, a lone CR).
            message: match inner.message().trim() {
                "" => "invalid TOML syntax".to_string(),
                m => without_values(m),
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_nested_keys() {
        let src = "[a]\nx = 1\n\n[firewall]\nallow = [\n  { port = 22, from = \"x\" },\n  { port = 80, from = \"y\" },\n]\n[[waiver]]\ncontrol = \"c\"\n\n[[waiver]]\ncontrol = \"d\"\n";
        assert_eq!(line_of(src, &["a", "x"]), 2);
        assert_eq!(line_of(src, &["firewall", "allow", "1", "from"]), 7);
        assert_eq!(line_of(src, &["firewall", "allow", "0"]), 6);
        assert_eq!(line_of(src, &["waiver", "1", "control"]), 13);
        assert_eq!(line_of(src, &["waiver", "0"]), 9);
        assert_eq!(line_of(src, &["nope"]), 1);
    }

    #[test]
    fn f8_secret_values_are_never_echoed_in_type_errors() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct L {
            agent_key: Option<String>,
            port: Option<u16>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            lansweeper: L,
        }
        for (src, line, key) in [
            (
                "[lansweeper]\nagent_key = 98765432109\n",
                2,
                "lansweeper.agent_key",
            ),
            (
                "[lansweeper]\n\nport = \"S3CRETKEY\"\n",
                3,
                "lansweeper.port",
            ),
            (
                "[lansweeper]\nagent_key = 1.98765432109\n",
                2,
                "lansweeper.agent_key",
            ),
            ("[lansweeper]\nport = 98765432109\n", 2, "lansweeper.port"),
        ] {
            let e = parse_toml::<S>(Path::new("/etc/handover/site.toml"), src).unwrap_err();
            let text = e.to_string();
            assert!(
                !text.contains("98765432109") && !text.contains("S3CRETKEY"),
                "{text}"
            );
            assert!(
                text.contains("/etc/handover/site.toml") && text.contains(key),
                "{text}"
            );
            assert!(text.contains("value not shown"), "{text}");
            let InputError::Toml { line: got, .. } = e else {
                panic!("{e:?}")
            };
            assert_eq!(got, line, "{text}");
        }
        assert_eq!(
            without_values("invalid type: integer `5`, expected a string"),
            "invalid type: integer (value not shown), expected a string"
        );
        assert_eq!(
            without_values("invalid type: map, expected a string"),
            "invalid type: map, expected a string"
        );
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
