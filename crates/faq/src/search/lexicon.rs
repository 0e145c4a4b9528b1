//! The word lists that search leans on: synonym groups (curated, `crates/faq/data/`,
//! embedded) and readings (kana → kanji) from a real dictionary, IPADIC (see
//! [`super::dictionary`]). An operator can extend both with files in the data directory
//! (`synonyms.txt`, `readings.tsv`).

use super::dictionary::{DictError, ReadingDict, DEBIAN_IPADIC};
use super::normalize::{fold, normalize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

const SYNONYMS: &str = include_str!("../../data/synonyms.txt");

#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// Each group: (normalised form, as written) of every member.
    pub groups: Vec<Vec<(String, String)>>,
    /// Reading in hiragana (folded, long vowels dropped) → words written in kanji.
    pub readings: HashMap<String, Vec<String>>,
    /// Longest reading in characters, bounds the segmentation search.
    pub max_reading_chars: usize,
    /// IPADIC's readings; None when the dictionary is not installed.
    pub dict: Option<Arc<ReadingDict>>,
}

impl Lexicon {
    /// The synonyms shipped with the crate and the IPADIC readings from Debian's
    /// `mecab-ipadic` when installed (a warning otherwise: kana queries then find only
    /// entries written in kana).
    pub fn builtin() -> Self {
        Self::with_dictionary(Path::new(DEBIAN_IPADIC)).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "no reading dictionary (install mecab-ipadic): kana queries will not find kanji words");
            Self::without_dictionary()
        })
    }

    /// The shipped synonyms only.
    pub fn without_dictionary() -> Self {
        let mut lex = Lexicon::default();
        lex.add_synonyms(SYNONYMS);
        lex
    }

    /// The shipped synonyms and the IPADIC sources at `dir`.
    pub fn with_dictionary(dir: &Path) -> Result<Self, DictError> {
        let mut lex = Lexicon::default();
        lex.add_synonyms(SYNONYMS);
        let dict = ReadingDict::shared(dir)?;
        lex.max_reading_chars = lex.max_reading_chars.max(dict.max_reading_chars());
        lex.dict = Some(dict);
        Ok(lex)
    }

    /// Lines of comma-separated words that mean the same; `#` starts a comment.
    pub fn add_synonyms(&mut self, text: &str) {
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let group: Vec<(String, String)> = line
                .split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(|w| (normalize(w), w.to_string()))
                .collect();
            if group.len() > 1 {
                self.groups.push(group);
            }
        }
    }

    /// Lines `reading<TAB>word`; the reading may be in hiragana or katakana.
    pub fn add_readings(&mut self, text: &str) {
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split('\t');
            let (Some(reading), Some(word)) = (parts.next(), parts.next()) else {
                continue;
            };
            let key = fold(reading.trim());
            let n = key.chars().count();
            if n == 0 {
                continue;
            }
            self.max_reading_chars = self.max_reading_chars.max(n);
            let words = self.readings.entry(key).or_default();
            let word = word.trim().to_string();
            if !words.contains(&word) {
                words.push(word);
            }
        }
    }

    /// Words that mean the same as something inside `norm_word` (already normalised).
    pub fn synonyms_of(&self, norm_word: &str) -> Vec<String> {
        let mut out = Vec::new();
        for group in &self.groups {
            if group
                .iter()
                .any(|(n, _)| !n.is_empty() && norm_word.contains(n.as_str()))
            {
                for (n, _) in group {
                    if !norm_word.contains(n.as_str()) && !out.contains(n) {
                        out.push(n.clone());
                    }
                }
            }
        }
        out
    }

    /// Words read exactly `reading` (folded hiragana): the operator's list, then IPADIC.
    pub fn words_for<'a>(&'a self, reading: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let curated = self
            .readings
            .get(reading)
            .into_iter()
            .flatten()
            .map(String::as_str);
        curated.chain(self.dict.iter().flat_map(move |d| d.words(reading)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipadic_readings_reach_kanji_words() {
        let lex = Lexicon::with_dictionary(Path::new(DEBIAN_IPADIC))
            .expect("mecab-ipadic installed (.ci/faq-deps.sh)");
        let words: Vec<&str> = lex.words_for("こうえん").collect();
        assert!(
            words.contains(&"公園") && words.contains(&"講演"),
            "{words:?}"
        );
        assert!(lex
            .words_for(&fold("ケイジドウシャ"))
            .any(|w| w == "軽自動車"));
        assert_eq!(lex.words_for("ぁぁぁ").count(), 0);
    }

    #[test]
    fn synonym_groups_expand() {
        let lex = Lexicon::builtin();
        assert!(lex
            .synonyms_of(&normalize("国保"))
            .contains(&normalize("国民健康保険")));
    }
}
