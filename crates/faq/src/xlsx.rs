//! Excel export (the spec's "Excel on request"): the same columns as the CSV.

use crate::csv_io::HEADER;
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
