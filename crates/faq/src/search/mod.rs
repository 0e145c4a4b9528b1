//! Japanese search over the FAQ: normalised text, character bigrams (so two-character
//! words like 税金 and 戸籍 work, which SQLite's trigram tokenizer cannot do), synonym and
//! reading expansion, and BM25F ranking with the question weighted above the answer.
//! The index lives in memory and is rebuilt whole after each change: a municipal FAQ is
//! thousands of entries, which rebuild in milliseconds.

pub mod dictionary;
mod kana;
pub mod lexicon;
pub mod normalize;
mod suggest;

use lexicon::Lexicon;
use normalize::{fold, fold_width, is_hiragana, is_word_char, normalize, segments};
use std::collections::HashMap;
use std::sync::Arc;

/// BM25 saturation and length normalisation.
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Field weights: question, metadata (category, department), answer.
const FIELD_WEIGHT: [f32; 3] = [3.0, 1.5, 1.0];
const WEIGHT_SYNONYM: f32 = 0.8;
const WEIGHT_READING: f32 = 0.9;
/// Hiragana in a sentence that is neither a reading nor a synonym: grammar, mostly.
const WEIGHT_GRAMMAR: f32 = 0.3;
/// How many top candidates get the (costlier) phrase check.
const RERANK: usize = 200;

/// What search gets to see of an entry.
#[derive(Debug, Clone)]
pub struct IndexDoc {
    pub id: String,
    pub question: String,
    pub answer: String,
    pub category: String,
    pub department: String,
    pub public: bool,
    pub start: String,
    pub end: String,
}

/// Which entries a search may return.
#[derive(Debug, Clone, Copy)]
pub enum Visibility<'a> {
    /// Internal users see everything.
    All,
    /// The public sees entries flagged public whose publish window contains this date
    /// (`YYYY-MM-DD`).
    PublicOn(&'a str),
}

#[derive(Debug, Clone, Copy)]
pub struct DocInfo<'a> {
    pub id: &'a str,
    pub question: &'a str,
    pub category: &'a str,
    pub department: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub score: f32,
}

/// One word of a query: the phrases that count as finding it whole, its weighted terms,
/// and whether a document is expected to contain it (coverage).
struct QueryWord {
    phrases: Vec<String>,
    terms: Vec<(u32, f32)>,
    counts: bool,
}

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    tf: [u16; 3],
}

struct DocMeta {
    id: String,
    question: String,
    category: String,
    department: String,
    norm_question: String,
    norm_body: String,
    public: bool,
    /// Publish window as YYYYMMDD numbers (0 and u32::MAX when open), so the check per
    /// candidate is two integer comparisons.
    start: u32,
    end: u32,
}

/// `YYYY-MM-DD` as the number YYYYMMDD; None when empty or malformed.
fn date_key(s: &str) -> Option<u32> {
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    (digits.len() == 8).then(|| digits.parse().ok()).flatten()
}

/// A [`Visibility`] with the date parsed once per search.
#[derive(Clone, Copy)]
enum Vis {
    All,
    On(u32),
}

impl Visibility<'_> {
    fn resolve(self) -> Vis {
        match self {
            Visibility::All => Vis::All,
            // An unparsable date shows nothing rather than everything.
            Visibility::PublicOn(today) => Vis::On(date_key(today).unwrap_or(0)),
        }
    }
}

impl DocMeta {
    fn visible(&self, vis: Vis) -> bool {
        match vis {
            Vis::All => true,
            Vis::On(today) => self.public && self.start <= today && today <= self.end,
        }
    }
}

pub struct Index {
    lex: Arc<Lexicon>,
    docs: Vec<DocMeta>,
    by_id: HashMap<String, u32>,
    terms: HashMap<String, u32>,
    postings: Vec<Vec<Posting>>,
    /// Per document and field: field weight / BM25 length normalisation, computed once
    /// at build so scoring a posting is three multiplications.
    field_scale: Vec<[f32; 3]>,
    suggest: suggest::Suggestions,
}

/// Terms of already-normalised text. Documents also get unigrams of non-kana characters
/// so a one-character query (犬) finds something; queries use unigrams only for
/// one-character runs.
fn terms_of(norm: &str, for_doc: bool, out: &mut Vec<String>) {
    for segment in norm
        .split(|c: char| !is_word_char(c))
        .filter(|s| !s.is_empty())
    {
        let chars: Vec<char> = segment.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let ascii = chars[i].is_ascii_alphanumeric();
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_alphanumeric() == ascii {
                j += 1;
            }
            let run = &chars[i..j];
            if ascii {
                out.push(run.iter().collect());
            } else if run.len() == 1 {
                out.push(run[0].to_string());
            } else {
                for w in run.windows(2) {
                    out.push(w.iter().collect());
                }
                if for_doc {
                    out.extend(
                        run.iter()
                            .filter(|c| !is_hiragana(**c))
                            .map(|c| c.to_string()),
                    );
                }
            }
            i = j;
        }
    }
}

impl Index {
    pub fn build(lex: Arc<Lexicon>, docs: &[IndexDoc]) -> Self {
        let mut terms: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<Posting>> = Vec::new();
        let mut field_len = Vec::with_capacity(docs.len());
        let mut metas = Vec::with_capacity(docs.len());
        let mut buf = Vec::new();
        for (d, doc) in docs.iter().enumerate() {
            let fields = [
                normalize(&doc.question),
                normalize(&format!("{} {}", doc.category, doc.department)),
                normalize(&doc.answer),
            ];
            let mut counts: HashMap<u32, [u16; 3]> = HashMap::new();
            let mut lens = [0u32; 3];
            for (f, text) in fields.iter().enumerate() {
                buf.clear();
                terms_of(text, true, &mut buf);
                lens[f] = buf.len() as u32;
                for t in buf.drain(..) {
                    let next = terms.len() as u32;
                    let tid = *terms.entry(t).or_insert(next);
                    if tid as usize == postings.len() {
                        postings.push(Vec::new());
                    }
                    let c = counts.entry(tid).or_default();
                    c[f] = c[f].saturating_add(1);
                }
            }
            for (tid, tf) in counts {
                postings[tid as usize].push(Posting { doc: d as u32, tf });
            }
            field_len.push(lens);
            metas.push(DocMeta {
                id: doc.id.clone(),
                question: doc.question.clone(),
                category: doc.category.clone(),
                department: doc.department.clone(),
                norm_body: format!("{} {}", fields[1], fields[2]),
                norm_question: fields[0].clone(),
                public: doc.public,
                start: date_key(&doc.start).unwrap_or(0),
                end: date_key(&doc.end).unwrap_or(u32::MAX),
            });
        }
        let n = docs.len().max(1) as f32;
        let mut avg_len = [0f32; 3];
        for lens in &field_len {
            for f in 0..3 {
                avg_len[f] += lens[f] as f32 / n;
            }
        }
        for a in &mut avg_len {
            *a = a.max(1.0);
        }
        let field_scale = field_len
            .iter()
            .map(|lens| {
                let mut s = [0f32; 3];
                for f in 0..3 {
                    s[f] = FIELD_WEIGHT[f] / (1.0 - B + B * lens[f] as f32 / avg_len[f]);
                }
                s
            })
            .collect();
        let suggest = suggest::Suggestions::build(&lex, docs);
        let by_id = metas
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.clone(), i as u32))
            .collect();
        Index {
            lex,
            docs: metas,
            by_id,
            terms,
            postings,
            field_scale,
            suggest,
        }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The words of a query with the weighted terms each stands for (its own bigrams,
    /// then synonyms and kanji spellings of kana readings). A typed sentence is cut into
    /// content runs and hiragana runs; hiragana that is neither a known reading nor a
    /// synonym is taken as grammar (を, たら, どうなる): it still scores, weakly, but a
    /// document is not required to contain it.
    fn expand(&self, query: &str) -> Vec<QueryWord> {
        let mut runs: Vec<(String, bool)> = Vec::new();
        for w in fold_width(query)
            .split(|c: char| !is_word_char(c))
            .filter(|s| !s.is_empty())
        {
            runs.extend(segments(w));
        }
        let has_content = runs.iter().any(|(_, content)| *content);
        let mut words = Vec::new();
        for (text, content) in runs {
            let word = normalize(&text);
            // One hiragana character inside a sentence is a particle (を, は, が).
            if word.is_empty() || (!content && has_content && word.chars().count() < 2) {
                continue;
            }
            let mut weighted: HashMap<u32, f32> = HashMap::new();
            let mut phrases = vec![word.clone()];
            let add = |text: &str, w: f32, weighted: &mut HashMap<u32, f32>| {
                let mut ts = Vec::new();
                terms_of(text, false, &mut ts);
                for t in ts {
                    if let Some(&tid) = self.terms.get(&t) {
                        let e = weighted.entry(tid).or_insert(0.0);
                        *e = e.max(w);
                    }
                }
            };
            let synonyms = self.lex.synonyms_of(&word);
            // Kana in either script may be a reading (ｼﾞｭｳﾐﾝﾋｮｳ, じゅうみんひょう).
            let folded = fold(&text);
            let readings = if folded.chars().all(is_hiragana) {
                self.kanji_for_kana(&folded)
            } else {
                Vec::new()
            };
            let meaningful =
                content || !has_content || !synonyms.is_empty() || !readings.is_empty();
            let own_weight = if !readings.is_empty() {
                // The kanji expansion carries the meaning; the kana itself only matters for
                // entries written in kana (やさしい日本語).
                0.5
            } else if content || !has_content {
                1.0
            } else if meaningful {
                0.5
            } else {
                WEIGHT_GRAMMAR
            };
            add(&word, own_weight, &mut weighted);
            for syn in synonyms {
                add(&syn, WEIGHT_SYNONYM, &mut weighted);
                phrases.push(syn);
            }
            for kanji in readings {
                let k = normalize(&kanji);
                add(&k, WEIGHT_READING, &mut weighted);
                for syn in self.lex.synonyms_of(&k) {
                    add(&syn, WEIGHT_SYNONYM * WEIGHT_READING, &mut weighted);
                }
                phrases.push(k);
            }
            words.push(QueryWord {
                phrases,
                terms: weighted.into_iter().collect(),
                counts: meaningful,
            });
        }
        words.truncate(64);
        words
    }

    /// Ranked hits for a query, best first.
    pub fn search(&self, query: &str, vis: Visibility, limit: usize) -> Vec<Hit> {
        let vis = vis.resolve();
        let words = self.expand(query);
        if words.is_empty() || self.docs.is_empty() {
            return Vec::new();
        }
        let n = self.docs.len() as f32;
        let mut score = vec![0f32; self.docs.len()];
        let mut mask = vec![0u64; self.docs.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut touched_any = vec![false; self.docs.len()];
        for (wi, word) in words.iter().enumerate() {
            for &(tid, w) in &word.terms {
                let list = &self.postings[tid as usize];
                let df = list.len() as f32;
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                for p in list {
                    let d = p.doc as usize;
                    let scale = &self.field_scale[d];
                    let tf = scale[0] * p.tf[0] as f32
                        + scale[1] * p.tf[1] as f32
                        + scale[2] * p.tf[2] as f32;
                    if !touched_any[d] {
                        touched.push(p.doc);
                    }
                    if word.counts {
                        mask[d] |= 1 << wi;
                    }
                    touched_any[d] = true;
                    score[d] += w * idf * tf * (K1 + 1.0) / (K1 + tf);
                }
            }
        }
        let nwords = words.iter().filter(|w| w.counts).count().max(1) as f32;
        let mut cands: Vec<(u32, f32)> = touched
            .into_iter()
            .filter(|&d| self.docs[d as usize].visible(vis))
            // Scattered bigrams alone are no answer: an entry must contain some word of
            // the query whole (or a synonym or kanji spelling of it). Otherwise a query
            // the FAQ cannot answer gets unrelated entries instead of "not found".
            .filter(|&d| {
                let doc = &self.docs[d as usize];
                words.iter().filter(|w| w.counts).any(|w| {
                    w.phrases.iter().any(|p| {
                        doc.norm_question.contains(p.as_str()) || doc.norm_body.contains(p.as_str())
                    })
                })
            })
            .map(|d| {
                let covered = (mask[d as usize].count_ones() as f32 / nwords).max(0.2);
                (d, score[d as usize] * covered * covered)
            })
            .collect();
        let by_score = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if cands.len() > RERANK {
            cands.select_nth_unstable_by(RERANK, by_score);
            cands.truncate(RERANK);
        }
        // A word found whole (or as one of its expansions) is worth more than scattered
        // bigrams: 住民票 in the question beats 住民 … 票 in the answer.
        for (d, s) in cands.iter_mut() {
            let doc = &self.docs[*d as usize];
            let mut bonus = 1.0;
            for w in &words {
                let scale = if w.counts { 1.0 } else { 0.3 };
                if w.phrases
                    .iter()
                    .any(|p| doc.norm_question.contains(p.as_str()))
                {
                    bonus += 0.5 * scale;
                } else if w.phrases.iter().any(|p| doc.norm_body.contains(p.as_str())) {
                    bonus += 0.15 * scale;
                }
            }
            *s *= bonus;
        }
        cands.sort_by(by_score);
        cands
            .into_iter()
            .take(limit)
            .map(|(d, s)| Hit {
                id: self.docs[d as usize].id.clone(),
                score: s,
            })
            .collect()
    }

    /// The entries a reader may see, in FAQ-ID order, for browsing pages.
    pub fn browse<'a>(&'a self, vis: Visibility<'a>) -> impl Iterator<Item = DocInfo<'a>> + 'a {
        let vis = vis.resolve();
        self.docs
            .iter()
            .filter(move |d| d.visible(vis))
            .map(|d| DocInfo {
                id: &d.id,
                question: &d.question,
                category: &d.category,
                department: &d.department,
            })
    }

    /// Whether `word` occurs whole in the question of an entry visible under `vis`
    /// (after normalisation: 引っ越し matches 引越し).
    pub fn in_public_question(&self, word: &str, vis: Visibility) -> bool {
        let vis = vis.resolve();
        let w = normalize(word.trim());
        !w.is_empty()
            && self
                .docs
                .iter()
                .any(|d| d.visible(vis) && d.norm_question.contains(w.as_str()))
    }

    /// Whether an entry is visible (false for unknown IDs).
    pub fn is_visible(&self, id: &str, vis: Visibility) -> bool {
        let vis = vis.resolve();
        self.by_id
            .get(id)
            .is_some_and(|&i| self.docs[i as usize].visible(vis))
    }

    /// Suggestions while typing: words from the lexicon and questions.
    pub fn suggest(&self, prefix: &str, vis: Visibility, limit: usize) -> Vec<String> {
        let vis = vis.resolve();
        self.suggest.lookup(
            prefix,
            limit,
            |d| self.docs[d].visible(vis),
            |d| &self.docs[d].question,
            &self.terms,
        )
    }
}

impl From<&crate::model::Entry> for IndexDoc {
    fn from(e: &crate::model::Entry) -> Self {
        IndexDoc {
            id: e.id.clone(),
            question: e.question.clone(),
            answer: e.answer.clone(),
            category: e.category.clone(),
            department: e.department.clone(),
            public: e.public,
            start: e.publish_start.clone(),
            end: e.publish_end.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, q: &str, a: &str) -> IndexDoc {
        IndexDoc {
            id: id.into(),
            question: q.into(),
            answer: a.into(),
            category: String::new(),
            department: String::new(),
            public: true,
            start: String::new(),
            end: String::new(),
        }
    }

    #[test]
    fn two_character_words_and_visibility() {
        let mut docs = vec![
            doc("A", "税金の払い方", "口座振替"),
            doc("B", "戸籍謄本", "本籍地"),
        ];
        docs[1].end = "2020-01-01".into();
        let idx = Index::build(Arc::new(Lexicon::builtin()), &docs);
        assert_eq!(idx.search("税金", Visibility::All, 5)[0].id, "A");
        assert_eq!(idx.search("戸籍", Visibility::All, 5)[0].id, "B");
        assert!(idx
            .search("戸籍", Visibility::PublicOn("2026-01-01"), 5)
            .is_empty());
    }
}
