//! Where in a TOML file a key is, so that every input error names file, line and key.

use std::path::Path;

use crate::error::InputError;

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
                m => m.to_string(),
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
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
