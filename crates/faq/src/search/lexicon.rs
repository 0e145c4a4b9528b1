//! The curated word lists that search leans on: synonym groups and a reading (kana)
//! dictionary for the domain vocabulary. Both are plain text files in `crates/faq/data/`,
//! embedded at build time so the binary needs nothing else at run time; an operator can
//! extend them with files of the same format in the data directory.

use super::normalize::{fold, normalize};
use std::collections::HashMap;

const SYNONYMS: &str = include_str!("../../data/synonyms.txt");
const READINGS: &str = include_str!("../../data/readings.tsv");

#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// Each group: (normalised form, as written) of every member.
    pub groups: Vec<Vec<(String, String)>>,
    /// Reading in hiragana (folded, long vowels dropped) → words written in kanji.
    pub readings: HashMap<String, Vec<String>>,
    /// Longest reading in characters, bounds the segmentation search.
    pub max_reading_chars: usize,
}

impl Lexicon {
    /// The lists shipped with the crate.
    pub fn builtin() -> Self {
        let mut lex = Lexicon::default();
        lex.add_synonyms(SYNONYMS);
        lex.add_readings(READINGS);
        lex
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

    /// Kanji words whose reading occurs in the hiragana runs of `folded` (greedy longest
    /// match from each position, so じゅうみんひょう yields 住民票 rather than 住民).
    pub fn kanji_for_kana(&self, folded: &str) -> Vec<String> {
        let chars: Vec<char> = folded.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let mut matched = 0;
            let max = self.max_reading_chars.min(chars.len() - i);
            for len in (2..=max).rev() {
                let key: String = chars[i..i + len].iter().collect();
                if let Some(words) = self.readings.get(&key) {
                    for w in words {
                        if !out.contains(w) {
                            out.push(w.clone());
                        }
                    }
                    matched = len;
                    break;
                }
            }
            i += matched.max(1);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kana_finds_kanji() {
        let lex = Lexicon::builtin();
        assert!(lex
            .kanji_for_kana(&fold("じゅうみんひょう"))
            .contains(&"住民票".to_string()));
        assert!(lex
            .kanji_for_kana(&fold("コセキ"))
            .contains(&"戸籍".to_string()));
    }

    #[test]
    fn synonym_groups_expand() {
        let lex = Lexicon::builtin();
        assert!(lex
            .synonyms_of(&normalize("国保"))
            .contains(&normalize("国民健康保険")));
    }
}
