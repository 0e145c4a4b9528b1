//! The reading dictionary: every kanji word of IPADIC with its reading, so a word typed in
//! kana (けいじどうしゃぜい) finds the entry written in kanji (軽自動車税) for any corpus
//! the city loads, without a hand-made list.
//!
//! Source: the CSV files of Debian's `mecab-ipadic` package (`/usr/share/mecab/dic/ipadic`,
//! EUC-JP), read once at start. Columns (MeCab's IPADIC format): surface, left id, right
//! id, cost, part of speech ×4, conjugation ×2, base form, reading (katakana),
//! pronunciation. lindera's `embed-*` features would download a dictionary at build time,
//! which fails offline (see DEPENDENCIES.md); only the readings are needed here, not a
//! morphological analyser.
//!
//! Stored compactly (one string, sorted offsets: ~8 MB for ~300k words), looked up by
//! exact reading.

use super::normalize::{fold, is_kanji};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Where Debian's `mecab-ipadic` puts the dictionary sources.
pub const DEBIAN_IPADIC: &str = "/usr/share/mecab/dic/ipadic";
/// Readings longer than this are compounds nobody types whole; bounds query segmentation.
const MAX_READING_CHARS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum DictError {
    #[error("reading dictionary {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading dictionary {0}: no IPADIC *.csv files with readings found")]
    Empty(PathBuf),
}

/// Reading (folded hiragana, long vowels dropped) → kanji words.
#[derive(Debug, Default)]
pub struct ReadingDict {
    /// `reading` then `word`, back to back, for every entry.
    blob: String,
    /// (offset into blob, reading bytes, word bytes), sorted by reading then word.
    entries: Vec<(u32, u8, u8)>,
    max_reading_chars: usize,
}

impl ReadingDict {
    /// Reads every `*.csv` under `dir` (IPADIC, EUC-JP).
    pub fn load_ipadic(dir: &Path) -> Result<Self, DictError> {
        let io = |source| DictError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        files.sort();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for file in files {
            let bytes = std::fs::read(&file).map_err(|source| DictError::Io {
                path: file.clone(),
                source,
            })?;
            let (text, _, _) = encoding_rs::EUC_JP.decode(&bytes);
            for line in text.lines() {
                if let Some(pair) = parse_line(line) {
                    pairs.push(pair);
                }
            }
        }
        if pairs.is_empty() {
            return Err(DictError::Empty(dir.to_path_buf()));
        }
        Ok(Self::from_pairs(pairs))
    }

    /// A dictionary from (reading in kana, word) pairs.
    pub fn from_pairs(mut pairs: Vec<(String, String)>) -> Self {
        for p in &mut pairs {
            p.0 = fold(&p.0);
        }
        pairs.retain(|(r, w)| {
            let n = r.chars().count();
            (1..=MAX_READING_CHARS).contains(&n) && w.len() < 256 && r.len() < 256
        });
        pairs.sort_unstable();
        pairs.dedup();
        let mut dict = ReadingDict::default();
        for (r, w) in pairs {
            dict.max_reading_chars = dict.max_reading_chars.max(r.chars().count());
            dict.entries
                .push((dict.blob.len() as u32, r.len() as u8, w.len() as u8));
            dict.blob.push_str(&r);
            dict.blob.push_str(&w);
        }
        dict
    }

    /// The dictionary at `dir`, loaded once per process and shared (tests and rebuilds
    /// would otherwise parse 30 MB each time). A missing dictionary is an error the caller
    /// reports; it is not cached so that installing the package and restarting works.
    pub fn shared(dir: &Path) -> Result<Arc<ReadingDict>, DictError> {
        type Loaded = Vec<(PathBuf, Arc<ReadingDict>)>;
        static CACHE: OnceLock<std::sync::Mutex<Loaded>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, d)) = cache.iter().find(|(p, _)| p == dir) {
            return Ok(d.clone());
        }
        let dict = Arc::new(Self::load_ipadic(dir)?);
        cache.push((dir.to_path_buf(), dict.clone()));
        Ok(dict)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn max_reading_chars(&self) -> usize {
        self.max_reading_chars
    }

    fn reading(&self, i: usize) -> &str {
        let (off, r, _) = self.entries[i];
        &self.blob[off as usize..off as usize + r as usize]
    }

    fn word(&self, i: usize) -> &str {
        let (off, r, w) = self.entries[i];
        let start = off as usize + r as usize;
        &self.blob[start..start + w as usize]
    }

    /// Words whose reading is exactly `reading` (folded hiragana).
    pub fn words<'a>(&'a self, reading: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let first = self.entries.partition_point(|&(off, r, _)| {
            &self.blob[off as usize..off as usize + r as usize] < reading
        });
        (first..self.entries.len())
            .take_while(move |&i| self.reading(i) == reading)
            .map(move |i| self.word(i))
    }
}

impl ReadingDict {
    /// (reading, word) of the entries whose reading starts with `prefix`, in reading order.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let first = self.entries.partition_point(|&(off, r, _)| {
            &self.blob[off as usize..off as usize + r as usize] < prefix
        });
        (first..self.entries.len())
            .take_while(move |&i| self.reading(i).starts_with(prefix))
            .map(move |i| (self.reading(i), self.word(i)))
    }
}

/// (reading, surface) of one IPADIC line, for surfaces that contain a kanji.
fn parse_line(line: &str) -> Option<(String, String)> {
    let mut cols = line.split(',');
    let surface = cols.next()?;
    if !surface.chars().any(is_kanji) {
        return None;
    }
    let reading = cols.nth(10)?;
    if reading.is_empty() || reading == "*" {
        return None;
    }
    Some((reading.to_string(), surface.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipadic_lines_and_looks_up_by_reading() {
        let lines =
            "軽自動車,1285,1285,4785,名詞,一般,*,*,*,*,軽自動車,ケイジドウシャ,ケイジドーシャ\n\
                     すごい,1,1,1,形容詞,*,*,*,*,*,すごい,スゴイ,スゴイ\n\
                     税,1,1,1,名詞,接尾,*,*,*,*,税,ゼイ,ゼイ\n\
                     図書館,1285,1285,4720,名詞,一般,*,*,*,*,図書館,トショカン,トショカン";
        let pairs: Vec<_> = lines.lines().filter_map(parse_line).collect();
        assert_eq!(pairs.len(), 3, "kana-only surfaces are left out: {pairs:?}");
        let d = ReadingDict::from_pairs(pairs);
        assert_eq!(d.words("けいじどうしゃ").collect::<Vec<_>>(), ["軽自動車"]);
        assert_eq!(d.words("としょかん").collect::<Vec<_>>(), ["図書館"]);
        assert_eq!(d.words("ぜい").collect::<Vec<_>>(), ["税"]);
        assert_eq!(d.words("けいじ").count(), 0);
        assert_eq!(
            d.with_prefix("けい").map(|(_, w)| w).collect::<Vec<_>>(),
            ["軽自動車"]
        );
    }

    #[test]
    fn missing_dictionary_is_an_error_with_the_path() {
        let err = ReadingDict::load_ipadic(Path::new("/nonexistent/ipadic")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ipadic"), "{err}");
    }
}
