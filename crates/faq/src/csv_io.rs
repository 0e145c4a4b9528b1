//! The whole database as CSV and back. The format is the sample corpus's: UTF-8 with a
//! BOM (so Excel opens it as UTF-8), RFC 4180 quoting, CRLF line ends. An import is
//! checked completely before anything is written, and then applied all-or-nothing.

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

pub fn export(entries: &[Entry]) -> Vec<u8> {
    let mut out = BOM.to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to a Vec cannot fail; the results are still checked by the type.
        let _ = w.write_record(HEADER);
        for e in entries {
            let _ = w.write_record([
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
            ]);
        }
        let _ = w.flush();
    }
    out
}

/// Parses and validates a whole file. Either every row is good, or every bad row is
/// reported with its line number.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, Vec<RowError>> {
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut errors = Vec::new();
    let mut entries = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut rec = csv::ByteRecord::new();
    let mut header_seen = false;
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
        let fields: Result<Vec<&str>, _> = rec.iter().map(std::str::from_utf8).collect();
        let Ok(fields) = fields else {
            errors.push(RowError {
                line,
                reasons: vec!["UTF-8ではない文字が含まれています".into()],
            });
            continue;
        };
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
        let public = match fields[7] {
            "1" => true,
            "0" => false,
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
            publish_start: fields[8].to_string(),
            publish_end: fields[9].to_string(),
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
