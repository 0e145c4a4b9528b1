//! Exports of a search result or a selection (spec 第2-8 ⑴ ウ, 第3-4 ⑵ "all contact
//! history as CSV"): CSV in UTF-8 with a BOM (Excel recognises it), CSV in Shift_JIS on
//! request (older Excel and the city's own tools), and xlsx.

use crate::error::Result;
use crate::model::Contact;
use faq::clock::format_jst;

pub const HEADER: [&str; 16] = [
    "記録ID",
    "受付日時",
    "終了日時",
    "チャネル",
    "回線",
    "オペレーター",
    "相手先",
    "氏名",
    "分類",
    "内容",
    "使用FAQ",
    "対応結果",
    "担当課",
    "通話ID",
    "最終更新",
    "更新者",
];

fn cells(c: &Contact) -> [String; 16] {
    let i = &c.input;
    [
        c.id.to_string(),
        format_jst(i.started_at),
        if i.ended_at > 0 {
            format_jst(i.ended_at)
        } else {
            String::new()
        },
        i.channel.label().to_string(),
        i.line.clone(),
        i.operator.clone(),
        i.caller.clone(),
        i.caller_name.clone(),
        i.category.clone(),
        i.summary.clone(),
        i.faq_ids.join(" "),
        i.outcome.label().to_string(),
        i.department.clone(),
        i.call_id.clone(),
        format_jst(c.updated_at),
        c.updated_by.clone(),
    ]
}

/// A cell that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with
/// an apostrophe: a citizen's text must never execute on an operator's PC (CSV injection).
fn defuse(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

pub fn csv_utf8(rows: &[Contact]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::from(b"\xEF\xBB\xBF".as_slice()));
    w.write_record(HEADER)?;
    for c in rows {
        w.write_record(cells(c).map(defuse))?;
    }
    w.into_inner()
        .map_err(|e| crate::error::HistoryError::Io(e.into_error()))
}

/// The same table in Shift_JIS (Windows-31J). Characters it cannot hold (some
/// variant kanji, emoji) become the HTML-style reference `&#NNNN;`, so nothing is
/// silently dropped.
pub fn csv_sjis(rows: &[Contact]) -> Result<Vec<u8>> {
    let utf8 = csv_utf8(rows)?;
    let text = std::str::from_utf8(&utf8[3..]).unwrap_or_default();
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    Ok(bytes.into_owned())
}

pub fn xlsx(rows: &[Contact]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("応対履歴")?;
    let bold = Format::new().set_bold();
    for (col, h) in HEADER.iter().enumerate() {
        ws.write_string_with_format(0, col as u16, *h, &bold)?;
    }
    for (r, c) in rows.iter().enumerate() {
        for (col, v) in cells(c).iter().enumerate() {
            // write_string keeps "=..." as text: xlsx cells are typed, no defusing needed.
            ws.write_string(r as u32 + 1, col as u16, v)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.set_column_width(1, 20)?;
    ws.set_column_width(9, 60)?;
    Ok(wb.save_to_buffer()?)
}
