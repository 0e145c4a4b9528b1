//! Kana → kanji for a query word typed in kana: which kanji spellings the FAQ uses.
//!
//! The reading dictionary (IPADIC) knows twenty words read こうえん and many one-kanji
//! words for every syllable, so a kana word is cut into dictionary words only where the
//! pieces stand together somewhere in the corpus: けいじどうしゃぜい → 軽自動車・税 because
//! an entry says 軽自動車税, きのえだ → 木・の・枝 because one says 木の枝, but せんきょ is not
//! 線・居. Kana that no word covers is kept as typed (particles, loanwords: しゅうしゅう
//! かれんだ → 収集カレンダ). A word the FAQ cannot spell gives nothing, and search then says
//! "not found" rather than returning entries that share a syllable.

use super::normalize::{is_hiragana, normalize};
use super::Index;
use super::{terms_of, Posting};

/// Steps of the segmentation search per query word (a bound, not a tuning knob: real
/// words finish in a few dozen).
const BUDGET: usize = 4000;
/// Spellings collected per query word.
const MAX_FOUND: usize = 8;

struct Walk<'a> {
    idx: &'a Index,
    chars: Vec<char>,
    steps: usize,
    /// (pieces, joined spelling, the dictionary words in it).
    found: Vec<(usize, String, Vec<String>)>,
}

impl Index {
    /// Kanji spellings of the hiragana word `folded` that the corpus uses: each whole
    /// spelling (軽自動車税) first, then its dictionary words (軽自動車, 税).
    pub(super) fn kanji_for_kana(&self, folded: &str) -> Vec<String> {
        let mut walk = Walk {
            idx: self,
            chars: folded.chars().collect(),
            steps: 0,
            found: Vec::new(),
        };
        walk.go(0, String::new(), Vec::new(), 0);
        // The fewest pieces win: 図書館 over 年・ょ・間 (which normalises to 年間).
        let fewest = walk.found.iter().map(|f| f.0).min().unwrap_or(0);
        let mut out: Vec<String> = Vec::new();
        for (_, joined, words) in walk.found.into_iter().filter(|f| f.0 == fewest) {
            for w in std::iter::once(joined).chain(words) {
                if !out.contains(&w) {
                    out.push(w);
                }
            }
        }
        out
    }

    /// Whether some entry contains `phrase` (normalised) whole. The terms' postings narrow
    /// the entries to check to those holding its rarest term.
    fn phrase_in_corpus(&self, phrase: &str) -> bool {
        let mut ts = Vec::new();
        terms_of(phrase, false, &mut ts);
        let mut rarest: Option<&Vec<Posting>> = None;
        for t in &ts {
            let Some(&tid) = self.terms.get(t) else {
                return false;
            };
            let list = &self.postings[tid as usize];
            if rarest.is_none_or(|r| list.len() < r.len()) {
                rarest = Some(list);
            }
        }
        rarest.is_some_and(|list| {
            list.iter().any(|p| {
                let d = &self.docs[p.doc as usize];
                d.norm_question.contains(phrase) || d.norm_body.contains(phrase)
            })
        })
    }
}

impl Walk<'_> {
    /// Extends `joined` (the spelling of chars[..i], in `pieces` pieces) by a dictionary
    /// word or one kana kept as typed, depth first, longest words first.
    fn go(&mut self, i: usize, joined: String, words: Vec<String>, pieces: usize) {
        if self.found.len() >= MAX_FOUND || self.steps >= BUDGET {
            return;
        }
        self.steps += 1;
        let n = self.chars.len();
        if i == n {
            if !words.is_empty() && self.idx.phrase_in_corpus(&normalize(&joined)) {
                self.found.push((pieces, joined, words));
            }
            return;
        }
        let max = self.idx.lex.max_reading_chars.min(n - i);
        for len in (1..=max).rev() {
            let key: String = self.chars[i..i + len].iter().collect();
            let candidates: Vec<String> = self
                .idx
                .lex
                .words_for(&key)
                .filter(|w| !w.chars().all(is_hiragana))
                .map(str::to_string)
                .collect();
            for w in candidates {
                let next = format!("{joined}{w}");
                // Every prefix of a spelling the corpus uses is in the corpus too, but for
                // trailing okurigana, which normalisation drops inside a compound (空き状況
                // is indexed as 空状況).
                let norm = normalize(&next);
                let stem = norm.trim_end_matches(is_hiragana);
                if !stem.is_empty() && !self.idx.phrase_in_corpus(stem) {
                    continue;
                }
                let mut ws = words.clone();
                if !ws.contains(&w) {
                    ws.push(w);
                }
                self.go(i + len, next, ws, pieces + 1);
                if self.found.len() >= MAX_FOUND || self.steps >= BUDGET {
                    return;
                }
            }
        }
        // Keep this kana as typed (a particle, part of a loanword); it is checked with the
        // next word, or at the end.
        let next = format!("{joined}{}", self.chars[i]);
        self.go(i + 1, next, words, pieces + 1);
    }
}
