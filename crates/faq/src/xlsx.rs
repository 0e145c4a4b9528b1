//! Excel export (the spec's "Excel on request") and import: the same columns as the CSV,
//! checked by the same all-or-nothing validation.

use crate::csv_io::{validate, RowError, HEADER};
use crate::error::Result;
use crate::model::Entry;
use rust_xlsxwriter::{Format, Workbook};

pub fn export(entries: &[Entry]) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("FAQ")?;
    let bold = Format::new().set_bold();
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, e) in entries.iter().enumerate() {
        let r = i as u32 + 1;
        let cells = [
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
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(r, c as u16, *v)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.set_column_width(2, 40)?;
    ws.set_column_width(3, 80)?;
    Ok(wb.save_to_buffer()?)
}

/// Whether an upload is an xlsx workbook (a zip file) rather than CSV text.
pub fn looks_like_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Rows of the first worksheet, validated like a CSV import. Line numbers are the
/// spreadsheet's row numbers.
pub fn parse(bytes: &[u8]) -> std::result::Result<Vec<Entry>, Vec<RowError>> {
    use calamine::{Reader, Xlsx};
    let unreadable = |e: String| {
        vec![RowError {
            line: 1,
            reasons: vec![format!("Excelファイルとして読めません: {e}")],
        }]
    };
    let mut wb: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(e.to_string()))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable("シートがありません".into()))?
        .map_err(|e| unreadable(e.to_string()))?;
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    let first_col = range.start().map(|(_, c)| c as usize).unwrap_or(0);
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, row)| {
            // Columns left of the used range are empty cells too.
            let mut cells = vec![String::new(); first_col];
            cells.extend(row.iter().map(cell_text));
            while cells.len() > HEADER.len() && cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            // A column left empty in every row is outside the used range.
            if cells.len() < HEADER.len() && cells.iter().any(|c| !c.is_empty()) {
                cells.resize(HEADER.len(), String::new());
            }
            (first_row + i as u64 + 1, cells)
        })
        .collect();
    validate(rows, Vec::new())
}

/// A cell as the text the CSV would hold: numbers without a trailing .0, date cells as
/// YYYY-MM-DD (Excel turns a typed 2025/7/1 into a date serial).
fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => (*f as i64).to_string(),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Data::DateTime(d) => {
            // Serial days since 1899-12-30; 25569 of them before 1970-01-01.
            let days = d.as_f64().floor() as i64 - 25_569;
            let (y, m, d) = crate::clock::civil_from_days(days);
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}
