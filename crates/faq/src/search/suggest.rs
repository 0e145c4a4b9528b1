//! Suggestions while typing: prefix matches over the lexicon (readings, synonyms,
//! category names) and over the questions themselves.

use super::lexicon::Lexicon;
use super::normalize::{fold, normalize};
use super::IndexDoc;
use std::collections::HashMap;

pub(super) struct Suggestions {
    /// (key typed against, word shown); sorted by key so prefix lookups are a range.
    words: Vec<(String, String)>,
    norm_questions: Vec<String>,
    dict: Option<std::sync::Arc<super::dictionary::ReadingDict>>,
}

/// How many dictionary words sharing a typed reading prefix are looked at (a two-kana
/// prefix matches thousands; the shortest readings come first).
const DICT_SCAN: usize = 4000;

impl Suggestions {
    pub(super) fn build(lex: &Lexicon, docs: &[IndexDoc]) -> Self {
        let mut words: Vec<(String, String)> = Vec::new();
        for (reading, kanji) in &lex.readings {
            for k in kanji {
                words.push((reading.clone(), k.clone()));
                words.push((normalize(k), k.clone()));
            }
        }
        for group in &lex.groups {
            for (norm, written) in group {
                words.push((norm.clone(), written.clone()));
            }
        }
        for doc in docs {
            for part in doc
                .category
                .split('>')
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                for leaf in part.split('・') {
                    words.push((normalize(leaf), leaf.to_string()));
                }
            }
        }
        words.sort();
        words.dedup();
        let norm_questions = docs.iter().map(|d| normalize(&d.question)).collect();
        Suggestions {
            words,
            norm_questions,
            dict: lex.dict.clone(),
        }
    }

    pub(super) fn lookup<'a>(
        &'a self,
        prefix: &str,
        limit: usize,
        visible: impl Fn(usize) -> bool,
        question: impl Fn(usize) -> &'a String,
        terms: &HashMap<String, u32>,
    ) -> Vec<String> {
        let folded = fold(prefix.trim());
        let norm = normalize(prefix.trim());
        if norm.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut out: Vec<String> = Vec::new();
        let push = |s: &String, out: &mut Vec<String>| {
            if out.len() < limit && !out.contains(s) {
                out.push(s.clone());
            }
        };
        // Only suggest words the corpus actually contains, or the citizen gets nothing.
        let known = |word: &str| {
            let mut ts = Vec::new();
            super::terms_of(&normalize(word), false, &mut ts);
            !ts.is_empty() && ts.iter().all(|t| terms.contains_key(t))
        };
        let mut word_hits: Vec<&(String, String)> = Vec::new();
        for key in [&folded, &norm] {
            let start = self
                .words
                .partition_point(|(k, _)| k.as_str() < key.as_str());
            word_hits.extend(
                self.words[start..]
                    .iter()
                    .take_while(|(k, _)| k.starts_with(key.as_str()))
                    .filter(|(_, w)| known(w)),
            );
        }
        let mut dict_hits: Vec<(String, String)> = Vec::new();
        if let Some(dict) = &self.dict {
            if folded.chars().count() >= 2 {
                dict_hits.extend(
                    dict.with_prefix(&folded)
                        .take(DICT_SCAN)
                        .filter(|(_, w)| known(w))
                        .map(|(r, w)| (r.to_string(), w.to_string())),
                );
            }
        }
        word_hits.extend(dict_hits.iter());
        word_hits.sort_by_key(|(k, w)| (k.chars().count(), w.clone()));
        for (_, w) in word_hits.into_iter().take(limit / 2 + 1) {
            push(w, &mut out);
        }
        for pass in 0..2 {
            for (d, nq) in self.norm_questions.iter().enumerate() {
                let hit = if pass == 0 {
                    nq.starts_with(norm.as_str())
                } else {
                    nq.contains(norm.as_str())
                };
                if hit && visible(d) {
                    push(question(d), &mut out);
                }
            }
        }
        out
    }
}
