//! The whole database as CSV and back. The format is the sample corpus's: UTF-8 with a
//! BOM (so Excel opens it as UTF-8), RFC 4180 quoting, CRLF line ends. An import is
//! checked completely before anything is written, and then applied all-or-nothing.
//!
//! What Excel writes back is accepted too: Shift_JIS (CP932, Excel's "CSV" on Japanese
//! Windows) as well as UTF-8 with or without BOM, and dates as 2025/07/01 or 2025/7/1.
//! Cells that a spreadsheet would run as a formula (= + - @, tab, CR first) are exported
//! with a leading apostrophe (OWASP "CSV injection"), which import removes again.

use crate::model::Entry;
use std::collections::HashMap;

pub const HEADER: [&str; 10] = [
    "FAQ-ID",
    "カテゴリ",
    "質問",
    "回答",
    "関連FAQ",
    "関連URL",
    "担当課",
    "公開",
    "公開開始日",
    "公開終了日",
];
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One rejected line of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file where the record starts (the header is line 1).
    pub line: u64,
    pub reasons: Vec<String>,
}

/// A cell as written to a CSV: text that a spreadsheet would take for a formula gets a
/// leading `'`, which makes Excel and LibreOffice show it as text.
pub fn guard_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The inverse of [`guard_formula`] on import.
fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Dates as Excel writes them back (2025/07/01, 2025/7/1, 2025-7-1, a trailing 0:00)
/// as YYYY-MM-DD; anything else unchanged, for validation to report.
pub fn excel_date(cell: &str) -> String {
    let date = cell.trim().split(' ').next().unwrap_or("");
    let parts: Vec<&str> = date.split(['/', '-']).collect();
    if let [y, m, d] = parts[..] {
        let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
            n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if digits(y, 4..=4) && digits(m, 1..=2) && digits(d, 1..=2) {
            let (m, d): (u32, u32) = (m.parse().unwrap_or(0), d.parse().unwrap_or(0));
            return format!("{y}-{m:02}-{d:02}");
        }
    }
    cell.trim().to_string()
}

/// The text of an uploaded CSV: UTF-8 (BOM or not), else CP932.
fn decode(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, RowError> {
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if std::str::from_utf8(body).is_ok() {
        return Ok(body.into());
    }
    // encoding_rs's Shift_JIS is the WHATWG one, i.e. Windows-31J/CP932 with NEC and IBM
    // extensions (①, ㈱, 髙), which is what Excel writes.
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(body);
    if had_errors {
        // Name the lines that are neither, so the editor can find them.
        let bad: Vec<String> = body
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| {
                std::str::from_utf8(l).is_err()
                    && encoding_rs::SHIFT_JIS.decode_without_bom_handling(l).1
            })
            .map(|(i, _)| (i + 1).to_string())
            .take(20)
            .collect();
        return Err(RowError {
            line: bad.first().and_then(|l| l.parse().ok()).unwrap_or(1),
            reasons: vec![format!(
                "文字コードが UTF-8 でも Shift_JIS（CP932）でもありません（{}行目）",
                bad.join("・")
            )],
        });
    }
    // CP932's 0x8160 is JIS X 0208's wave dash (8:30〜17:15), which Windows writes for
    // 〜; decoders give U+FF5E. Read it as the 〜 the entries were written with, or every
    // round trip through Excel would change every entry with opening hours.
    Ok(text.replace('\u{FF5E}', "\u{301C}").into_bytes().into())
}

pub fn export(entries: &[Entry]) -> Vec<u8> {
    let mut out = BOM.to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to a Vec cannot fail; the results are still checked by the type.
        let _ = w.write_record(HEADER);
        for e in entries {
            let _ = w.write_record(
                [
                    e.id.as_str(),
                    &e.category,
                    &e.question,
                    &e.answer,
                    &e.related_faq,
                    &e.related_url,
                    &e.department,
                    if e.public { "1" } else { "0" },
                    &e.publish_start,
                    &e.publish_end,
                ]
                .map(guard_formula)
                .iter()
                .map(|c| c.as_bytes()),
            );
        }
        let _ = w.flush();
    }
    out
}

/// Parses and validates a whole file. Either every row is good, or every bad row is
/// reported with its line number.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, Vec<RowError>> {
    let body = decode(bytes).map_err(|e| vec![e])?;
    let body = &body[..];
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut errors = Vec::new();
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    let mut rec = csv::ByteRecord::new();
    let mut lines = LineCounter::default();
    loop {
        let line = lines.line_at(body, rdr.position().byte() as usize);
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| lines.line_at(body, p.byte() as usize))
                    .unwrap_or(line);
                errors.push(RowError {
                    line,
                    reasons: vec![format!("CSVとして読めません: {e}")],
                });
                continue;
            }
        }
        let line = rec
            .position()
            .map(|p| lines.line_at(body, p.byte() as usize))
            .unwrap_or(line);
        // decode() made the whole body UTF-8.
        let fields: Vec<&str> = rec
            .iter()
            .map(|f| std::str::from_utf8(f).unwrap_or(""))
            .collect();
        rows.push((line, fields.iter().map(|f| f.to_string()).collect()));
    }
    validate(rows, errors)
}

/// Checks rows of cells (the header first) as one import: every row good, or every bad
/// row listed with its line. Shared by CSV and xlsx import.
pub fn validate(
    rows: Vec<(u64, Vec<String>)>,
    mut errors: Vec<RowError>,
) -> Result<Vec<Entry>, Vec<RowError>> {
    let mut entries = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut header_seen = false;
    for (line, fields) in rows {
        let fields: Vec<&str> = fields.iter().map(|f| unguard(f)).collect();
        if !header_seen {
            header_seen = true;
            if fields != HEADER {
                errors.push(RowError {
                    line,
                    reasons: vec![format!("見出し行が違います。期待: {}", HEADER.join(","))],
                });
                return Err(errors);
            }
            continue;
        }
        if fields.iter().all(|f| f.is_empty()) {
            continue; // a trailing blank line from a spreadsheet
        }
        if fields.len() != HEADER.len() {
            errors.push(RowError {
                line,
                reasons: vec![format!(
                    "列の数が{}です（{}列必要）",
                    fields.len(),
                    HEADER.len()
                )],
            });
            continue;
        }
        let mut reasons = Vec::new();
        let public = match fields[7].trim() {
            "1" | "TRUE" => true,
            "0" | "FALSE" => false,
            other => {
                reasons.push(format!("公開は 1 か 0 です: {other:?}"));
                false
            }
        };
        let e = Entry {
            id: fields[0].to_string(),
            category: fields[1].to_string(),
            question: fields[2].to_string(),
            answer: fields[3].to_string(),
            related_faq: fields[4].to_string(),
            related_url: fields[5].to_string(),
            department: fields[6].to_string(),
            public,
            publish_start: excel_date(fields[8]),
            publish_end: excel_date(fields[9]),
        };
        reasons.extend(e.problems());
        if let Some(first) = first_line.get(&e.id) {
            reasons.push(format!("FAQ-ID {} が{}行目と重複しています", e.id, first));
        } else {
            first_line.insert(e.id.clone(), line);
        }
        if reasons.is_empty() {
            entries.push(e);
        } else {
            errors.push(RowError { line, reasons });
        }
    }
    if !header_seen {
        errors.push(RowError {
            line: 1,
            reasons: vec!["ファイルが空です".into()],
        });
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// Line numbers from byte offsets. The csv crate's own line count lags by one after the
/// first record (it counts a terminator when it reads the next record), and its byte
/// offset of a record points at the previous record's line feed; so skip line-end bytes
/// and count line feeds ourselves, incrementally.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    fn line_at(&mut self, body: &[u8], byte: usize) -> u64 {
        let mut start = byte.min(body.len());
        while start < body.len() && (body[start] == b'\n' || body[start] == b'\r') {
            start += 1;
        }
        if start < self.offset {
            self.offset = 0;
            self.line = 0;
        }
        self.line += body[self.offset..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = start;
        self.line + 1
    }
}
