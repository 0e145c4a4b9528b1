//! Text normalisation shared by indexing and querying, so that what a citizen types and
//! what an editor wrote meet in the same form: full/half-width folded, katakana as
//! hiragana, long-vowel marks dropped, okurigana inside compounds removed.

/// Width folding only: full-width ASCII to ASCII, half-width katakana to full-width.
/// Keeps the script of each character, which query segmentation needs.
pub fn fold_width(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        i += 1;
        out.push(match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{FF61}'..='\u{FF9F}' => {
                let (full, consumed) = halfwidth_katakana(c, next);
                i += consumed;
                full
            }
            _ => c,
        });
    }
    out
}

/// Splits a (width-folded) query word into content runs (kanji with their inner
/// okurigana, katakana, Latin and digits) and hiragana runs, which in a typed sentence
/// are mostly particles and endings (を, たら, どうなる). `true` marks content.
pub fn segments(word: &str) -> Vec<(String, bool)> {
    let chars: Vec<char> = word.chars().collect();
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let hira = is_hiragana(chars[i]);
        let mut j = i;
        while j < chars.len() && is_hiragana(chars[j]) == hira {
            j += 1;
        }
        let run: String = chars[i..j].iter().collect();
        let inner_okurigana = hira
            && j - i <= 2
            && i > 0
            && j < chars.len()
            && is_kanji(chars[i - 1])
            && is_kanji(chars[j]);
        match out.last_mut() {
            // 申し込み: the し joins 申 and 込 into one content run.
            Some((prev, true)) if inner_okurigana || (!hira && prev_ends_with_okurigana(prev)) => {
                prev.push_str(&run)
            }
            _ => out.push((run, !hira)),
        }
        i = j;
    }
    out
}

fn prev_ends_with_okurigana(prev: &str) -> bool {
    prev.chars().last().is_some_and(is_hiragana)
}

/// Width folding, kana folding and lower-casing. Keeps okurigana (see [`normalize`]).
pub fn fold(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        i += 1;
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{FF61}'..='\u{FF9F}' => {
                let (full, consumed) = halfwidth_katakana(c, next);
                i += consumed;
                full
            }
            _ => c,
        };
        let c = match c {
            // Katakana → hiragana (ァ..ヶ); ヴ becomes ゔ.
            '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            'A'..='Z' => c.to_ascii_lowercase(),
            // Long-vowel marks vary (サーバー/サーバ, メール/メイル is out of reach); drop them.
            'ー' | '－' | '〜' | '～' => continue,
            _ => c,
        };
        out.push(c);
    }
    out
}

/// Full normalisation: [`fold`] then okurigana compaction, so 引っ越し, 引越し and
/// 申し込み/申込み meet. Short hiragana runs (≤ 2 chars) between two kanji are removed;
/// particles that sit between kanji vanish too, which only joins two words.
pub fn normalize(input: &str) -> String {
    let folded: Vec<char> = fold(input).chars().collect();
    let mut out = String::with_capacity(folded.len() * 3);
    let mut i = 0;
    while i < folded.len() {
        let c = folded[i];
        if is_hiragana(c) && i > 0 && is_kanji(folded[i - 1]) {
            let mut j = i;
            while j < folded.len() && is_hiragana(folded[j]) {
                j += 1;
            }
            if j - i <= 2 && j < folded.len() && is_kanji(folded[j]) {
                i = j;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

pub fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '々' | '\u{F900}'..='\u{FAFF}')
}

pub fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}')
}

/// A character that belongs inside a word (everything else separates terms).
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_hiragana(c) || is_kanji(c)
}

/// Half-width katakana to full-width, combining a following (han)dakuten mark.
/// Returns the character and how many extra input characters were consumed.
fn halfwidth_katakana(c: char, next: Option<char>) -> (char, usize) {
    const TABLE: &str = "。「」、・ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン゛゜";
    let idx = (c as u32 - 0xFF61) as usize;
    let base = TABLE.chars().nth(idx).unwrap_or(c);
    match next {
        Some('\u{FF9E}') => {
            if base == 'ウ' {
                return ('ヴ', 1);
            }
            if matches!(base, 'カ'..='ト' | 'ハ'..='ホ') && !matches!(base, 'ッ' | 'ナ'..='ノ')
            {
                if let Some(v) = voiced(base, 1) {
                    return (v, 1);
                }
            }
            (base, 0)
        }
        Some('\u{FF9F}') if matches!(base, 'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ') => {
            (voiced(base, 2).unwrap_or(base), 1)
        }
        _ => (base, 0),
    }
}

/// In Unicode the voiced form follows the plain kana (カ→ガ, ハ→バ→パ).
fn voiced(base: char, step: u32) -> Option<char> {
    char::from_u32(base as u32 + step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_and_kana_fold() {
        assert_eq!(fold("ｺﾝﾋﾞﾆ"), "こんびに");
        assert_eq!(fold("コンビニ"), "こんびに");
        assert_eq!(fold("ＡＢＣ１２３"), "abc123");
        assert_eq!(fold("ﾊﾟｽﾎﾟｰﾄ"), "ぱすぽと");
        assert_eq!(fold("マイナンバー"), "まいなんば");
    }

    #[test]
    fn okurigana_variants_meet() {
        assert_eq!(normalize("引っ越し"), normalize("引越し"));
        assert_eq!(normalize("申し込み"), normalize("申込み"));
        assert_eq!(normalize("払い戻し"), "払戻し");
        // A long hiragana run is a word of its own and stays.
        assert_eq!(normalize("子どもの医療費"), "子どもの医療費");
    }

    #[test]
    fn sentence_segments() {
        let segs: Vec<(String, bool)> = segments("会社をやめたら年金はどうなる");
        let content: Vec<&str> = segs.iter().filter(|s| s.1).map(|s| s.0.as_str()).collect();
        assert_eq!(content, ["会社", "年金"]);
        assert_eq!(segments("申し込み")[0], ("申し込".to_string(), true));
        assert_eq!(
            segments("マイナンバーカードをなくした")[0].0,
            "マイナンバーカード"
        );
    }
}
