//! Where in the file a value is, so that every error names a line.
//!
//! serde's view of the file has no positions, so `validate` describes a value by its
//! path (`queue[0].agents[3]`) and this module finds the path's byte span in toml's
//! spanned document tree.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One step of a path: a key of a table, or an index into an array (an array of
/// tables like `[[queue]]` is indexed in file order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(&'static str),
    Index(usize),
}

pub(crate) struct SpanIndex<'i> {
    root: Option<Spanned<DeTable<'i>>>,
}

impl<'i> SpanIndex<'i> {
    pub(crate) fn parse(text: &'i str) -> SpanIndex<'i> {
        SpanIndex {
            root: DeTable::parse(text).ok(),
        }
    }

    /// The span of the value at `path`, or of the deepest part of it present in the file
    /// (a missing `password` points at its `[[agent]]` header); 0..0 if none is.
    pub(crate) fn span(&self, path: &[Seg]) -> Range<usize> {
        let Some(root) = &self.root else { return 0..0 };
        let Some((Seg::Key(first), rest)) = path.split_first() else {
            return 0..0;
        };
        let Some(mut node) = root.get_ref().get(*first) else {
            return 0..0;
        };
        for seg in rest {
            let next = match seg {
                Seg::Key(k) => node.get_ref().get(*k),
                Seg::Index(i) => node.get_ref().get(*i),
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.span()
    }

    /// toml reports an error inside an inline array (`peers = ["a", "bad"]`) at the whole
    /// array; our messages quote the bad value ('bad'), so point at that element instead.
    pub(crate) fn refine(&self, span: Range<usize>, message: &str) -> Range<usize> {
        let Some(root) = &self.root else { return span };
        let mut stack: Vec<&Spanned<DeValue<'i>>> = root.get_ref().values().collect();
        while let Some(node) = stack.pop() {
            match node.get_ref() {
                DeValue::Array(items) if node.span() == span => {
                    let quoted = |s: &str| message.contains(&format!("'{s}'"));
                    let hit = items
                        .iter()
                        .find(|e| e.get_ref().as_str().is_some_and(quoted));
                    return hit.map_or(span, |e| e.span());
                }
                DeValue::Array(items) => stack.extend(items.iter()),
                DeValue::Table(t) => stack.extend(t.values()),
                _ => {}
            }
        }
        span
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        "a = 1\n[[q]]\nname = \"x\"\nlist = [\"p\",\n  \"bad\"]\n[[q]]\nname = \"y\"\n";

    #[test]
    fn paths_resolve_to_their_lines() {
        let idx = SpanIndex::parse(DOC);
        let line = |path: &[Seg]| line_col(DOC, idx.span(path).start).0;
        assert_eq!(line(&[Seg::Key("a")]), 1);
        assert_eq!(
            line(&[
                Seg::Key("q"),
                Seg::Index(0),
                Seg::Key("list"),
                Seg::Index(1)
            ]),
            5
        );
        assert_eq!(line(&[Seg::Key("q"), Seg::Index(1), Seg::Key("name")]), 7);
        // Missing key: its table's header.
        assert_eq!(
            line(&[Seg::Key("q"), Seg::Index(1), Seg::Key("password")]),
            6
        );
        assert_eq!(line(&[Seg::Key("nothing")]), 1);
    }

    #[test]
    fn refine_points_at_the_quoted_element() {
        let idx = SpanIndex::parse(DOC);
        let array = idx.span(&[Seg::Key("q"), Seg::Index(0), Seg::Key("list")]);
        let refined = idx.refine(array.clone(), "value 'bad' is wrong");
        assert_eq!(line_col(DOC, refined.start), (5, 3));
        assert_eq!(idx.refine(array.clone(), "no quote"), array);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_col("name = \"市代表\" x", 18), (1, 13));
    }
}
