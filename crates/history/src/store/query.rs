//! Searching records by several conditions at once (spec 第2-8 ⑴ ウ): period, channel,
//! line, category, operator, outcome, department, caller, and free text in Japanese.
//!
//! Free text is matched against a normalised copy of the record's text (width and kana
//! folded, okurigana compacted — the FAQ site's normalisation) by substring, every word
//! required. A year of contacts is tens of thousands of rows; a scan finds one- and
//! two-character words (住民, 税) that a trigram index would miss.

use crate::model::{Channel, Outcome};
use faq::search::normalize::normalize;
use rusqlite::types::Value;

/// At most this many rows in one answer (exports page through with `offset`).
pub const MAX_LIMIT: u32 = 10_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub to: Option<i64>,
    pub channel: Option<Channel>,
    pub line: String,
    pub category: String,
    pub operator: String,
    pub outcome: Option<Outcome>,
    pub department: String,
    /// Exact caller (number or address): the screen pop's "earlier contacts".
    pub caller: String,
    /// Free text; words separated by spaces, all required.
    pub text: String,
    /// A selection of record ids; empty means no restriction.
    pub ids: Vec<i64>,
    pub limit: u32,
    pub offset: u32,
}

/// A WHERE clause and its values, in order (`?1`, `?2`, …).
pub struct Sql {
    pub clause: String,
    pub values: Vec<Value>,
}

/// The free-text words of a query, normalised as the stored text is. A word's trailing
/// okurigana (折り返し → 折返) is dropped: in the stored text the next word may follow it
/// (折り返し依頼 is stored as 折返依頼, the し compacted away between two kanji).
pub fn words(text: &str) -> Vec<String> {
    use faq::search::normalize::{is_hiragana, is_kanji};
    faq::search::normalize::fold_width(text)
        .split_whitespace()
        .map(|w| {
            let mut chars: Vec<char> = normalize(w).chars().collect();
            let tail = chars.iter().rev().take_while(|c| is_hiragana(**c)).count();
            if (1..=2).contains(&tail)
                && chars.len() > tail
                && is_kanji(chars[chars.len() - tail - 1])
            {
                chars.truncate(chars.len() - tail);
            }
            chars.into_iter().collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .take(10)
        .collect()
}

impl Query {
    pub fn to_sql(&self) -> Sql {
        let mut conds: Vec<String> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        let mut push = |cond: &str, v: Value, conds: &mut Vec<String>| {
            values.push(v);
            conds.push(cond.replace('?', &format!("?{}", values.len())));
        };
        if let Some(f) = self.from {
            push("started_at >= ?", Value::Integer(f), &mut conds);
        }
        if let Some(t) = self.to {
            push("started_at < ?", Value::Integer(t), &mut conds);
        }
        if let Some(c) = self.channel {
            push("channel = ?", Value::Text(c.as_str().into()), &mut conds);
        }
        if let Some(o) = self.outcome {
            push("outcome = ?", Value::Text(o.as_str().into()), &mut conds);
        }
        for (col, v) in [
            ("line", &self.line),
            ("category", &self.category),
            ("operator", &self.operator),
            ("department", &self.department),
            ("caller", &self.caller),
        ] {
            if !v.is_empty() {
                push(&format!("{col} = ?"), Value::Text(v.clone()), &mut conds);
            }
        }
        for w in words(&self.text) {
            push("instr(search_text, ?) > 0", Value::Text(w), &mut conds);
        }
        if !self.ids.is_empty() {
            let list: Vec<String> = self.ids.iter().map(|i| i.to_string()).collect();
            // Integers formatted by us, never text from the request.
            conds.push(format!("id IN ({})", list.join(",")));
        }
        Sql {
            clause: if conds.is_empty() {
                "1=1".into()
            } else {
                conds.join(" AND ")
            },
            values,
        }
    }

    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => 100,
            n => n.min(MAX_LIMIT),
        }
    }
}

/// The text a record is found by: everything an operator might remember of it.
pub fn search_text(parts: &[&str]) -> String {
    normalize(&parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_numbered_in_order() {
        let q = Query {
            from: Some(10),
            channel: Some(Channel::Web),
            category: "税金".into(),
            text: "住民税　ノウフ".into(),
            ids: vec![3, 4],
            ..Default::default()
        };
        let s = q.to_sql();
        assert_eq!(
            s.clause,
            "started_at >= ?1 AND channel = ?2 AND category = ?3 AND instr(search_text, ?4) > 0 AND instr(search_text, ?5) > 0 AND id IN (3,4)"
        );
        assert_eq!(s.values.len(), 5);
        // Katakana typed by the operator meets hiragana in the record.
        assert_eq!(s.values[4], Value::Text("のうふ".into()));
    }
}
