//! The report as an Excel workbook: 概要 (the indicators against their targets), 回線別
//! and キュー別 (with a chart of the answer rate by line), 時間帯別 (calls by hour, with a
//! chart), 日別 (the trend by day, with a chart), 長時間対応 and 通話一覧. Figures are
//! written as numbers with number formats (a percentage stays a fraction), so the city
//! can compute with them; a missing figure is "—", never an empty cell.

use super::{Report, ReportError, CALL_COLUMNS, NONE};
use crate::kpi::{self, Tally};
use rust_xlsxwriter::{Chart, Format, FormatBorder, Workbook, Worksheet, XlsxError};

#[derive(Clone, Copy)]
enum Kind {
    Count,
    Percent,
    Seconds,
    Rate,
}

/// Whether a figure meets its target: higher is better for rates, lower for the ASA.
#[derive(Clone, Copy)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
}

struct Styles {
    title: Format,
    head: Format,
    text: Format,
    count: Format,
    percent: Format,
    seconds: Format,
    rate: Format,
}

impl Styles {
    fn new() -> Styles {
        let cell = Format::new().set_border(FormatBorder::Thin);
        Styles {
            title: Format::new().set_bold().set_font_size(14),
            head: cell.clone().set_bold().set_background_color(0xDDE7F0),
            text: cell.clone(),
            count: cell.clone().set_num_format("#,##0"),
            percent: cell.clone().set_num_format("0.0%"),
            seconds: cell.clone().set_num_format("0.0"),
            rate: cell.set_num_format("0.00"),
        }
    }

    fn of(&self, k: Kind) -> &Format {
        match k {
            Kind::Count => &self.count,
            Kind::Percent => &self.percent,
            Kind::Seconds => &self.seconds,
            Kind::Rate => &self.rate,
        }
    }
}

fn put(
    ws: &mut Worksheet,
    st: &Styles,
    row: u32,
    col: u16,
    v: Option<f64>,
    k: Kind,
) -> Result<(), XlsxError> {
    match v {
        Some(x) => ws.write_number_with_format(row, col, x, st.of(k))?,
        None => ws.write_string_with_format(row, col, NONE, &st.text)?,
    };
    Ok(())
}

fn header(ws: &mut Worksheet, st: &Styles, row: u32, cols: &[&str]) -> Result<(), XlsxError> {
    for (i, c) in cols.iter().enumerate() {
        ws.write_string_with_format(row, i as u16, *c, &st.head)?;
    }
    Ok(())
}

/// The indicator rows of the summary: label, value, kind, target.
fn indicators(
    t: &Tally,
    open_hours: f64,
) -> Vec<(&'static str, Option<f64>, Kind, Option<Target>)> {
    let n = |x: u64| Some(x as f64);
    use Kind::*;
    vec![
        ("総着信呼数", n(t.offered), Count, None),
        ("応答件数", n(t.answered), Count, None),
        ("放棄件数", n(t.abandoned), Count, None),
        ("　うち案内中の放棄", n(t.abandoned_greeting), Count, None),
        ("　うち待ち中の放棄", n(t.abandoned_queue), Count, None),
        ("　うち呼出中の放棄", n(t.abandoned_ringing), Count, None),
        ("折り返し予約", n(t.callbacks), Count, None),
        ("あふれ", n(t.overflowed), Count, None),
        (
            "時間外着信（総着信に含まない）",
            n(t.after_hours),
            Count,
            None,
        ),
        (
            "受電応答率",
            t.answer_rate(),
            Percent,
            Some(Target::AtLeast(kpi::TARGET_ANSWER_RATE)),
        ),
        (
            "平均応答時間（秒）",
            t.average_speed_of_answer(),
            Seconds,
            Some(Target::AtMost(kpi::TARGET_ASA_SECS)),
        ),
        ("9秒以内の応答件数", n(t.answered_in_target), Count, None),
        (
            "平均放棄呼時間（秒）",
            t.average_abandon_time(),
            Seconds,
            None,
        ),
        ("平均通話時間（秒）", t.average_talk_time(), Seconds, None),
        ("平均処理時間（秒）", t.average_handle_time(), Seconds, None),
        (
            "1時間当たりの応答件数",
            t.answered_per_hour(open_hours),
            Rate,
            None,
        ),
        ("電話交換件数", n(t.switchboard), Count, None),
        ("所管課取次ぎ件数", n(t.handover), Count, None),
        (
            "一次応対完了率",
            t.first_contact_completion(),
            Percent,
            Some(Target::AtLeast(kpi::TARGET_FIRST_CONTACT)),
        ),
        (
            "一次回答率",
            t.first_answer_rate(),
            Percent,
            Some(Target::AtLeast(kpi::TARGET_FIRST_ANSWER)),
        ),
        (
            "利用者満足度（4以上の割合）",
            t.satisfaction(),
            Percent,
            Some(Target::AtLeast(kpi::TARGET_SATISFACTION)),
        ),
        ("満足度の回答数", n(t.survey_answers), Count, None),
    ]
}

/// ○ met, × not met, — no figure. A word as well as a mark: not only colour or shape.
fn verdict(v: Option<f64>, target: Option<Target>) -> &'static str {
    match (v, target) {
        (Some(x), Some(Target::AtLeast(t))) if x >= t => "○ 達成",
        (Some(x), Some(Target::AtMost(t))) if x <= t => "○ 達成",
        (Some(_), Some(_)) => "× 未達成",
        _ => NONE,
    }
}

fn target_text(target: Option<Target>) -> String {
    match target {
        Some(Target::AtLeast(t)) => format!("{:.0}%以上", t * 100.0),
        Some(Target::AtMost(t)) => format!("{t:.0}秒以内"),
        None => NONE.into(),
    }
}

fn summary(ws: &mut Worksheet, st: &Styles, r: &Report) -> Result<(), XlsxError> {
    ws.set_name("概要")?;
    ws.write_string_with_format(
        0,
        0,
        format!("総合コールセンター 業務報告 {}", r.period.title_ja()),
        &st.title,
    )?;
    let t = &r.breakdown.total;
    let mut cols = vec!["指標", "実績", "目標", "達成"];
    if let Some((_, a, b)) = &r.judged {
        ws.write_string(
            1,
            0,
            format!(
                "目標判定は {a} から {} まで（サービス開始後半年間は対象外、第3-5 ⑵）",
                b.pred()
            ),
        )?;
        cols.extend(["目標判定の実績", "判定"]);
    }
    header(ws, st, 3, &cols)?;
    let judged = r
        .judged
        .as_ref()
        .map(|(j, _, _)| indicators(j, r.open_hours));
    for (i, (label, v, kind, target)) in indicators(t, r.open_hours).into_iter().enumerate() {
        let row = 4 + i as u32;
        ws.write_string_with_format(row, 0, label, &st.text)?;
        put(ws, st, row, 1, v, kind)?;
        ws.write_string_with_format(row, 2, target_text(target), &st.text)?;
        ws.write_string_with_format(row, 3, verdict(v, target), &st.text)?;
        if let Some(j) = &judged {
            put(ws, st, row, 4, j[i].1, kind)?;
            ws.write_string_with_format(row, 5, verdict(j[i].1, target), &st.text)?;
        }
    }
    let note_row = 5 + indicators(t, r.open_hours).len() as u32;
    if t.resolution_unknown > 0 {
        ws.write_string(
            note_row,
            0,
            format!(
                "注：応対履歴の結果が未連携の応答 {} 件は、一次応対完了率・一次回答率でセンター完結として数えています。",
                t.resolution_unknown
            ),
        )?;
    }
    ws.set_column_width(0, 34)?;
    for c in 1..6 {
        ws.set_column_width(c, 16)?;
    }
    Ok(())
}

const GROUP_COLS: [&str; 8] = [
    "回線",
    "総着信呼数",
    "応答件数",
    "受電応答率",
    "平均応答時間（秒）",
    "放棄件数",
    "平均放棄呼時間（秒）",
    "平均通話時間（秒）",
];

fn group_row(
    ws: &mut Worksheet,
    st: &Styles,
    row: u32,
    label: &str,
    t: &Tally,
) -> Result<(), XlsxError> {
    ws.write_string_with_format(row, 0, label, &st.text)?;
    put(ws, st, row, 1, Some(t.offered as f64), Kind::Count)?;
    put(ws, st, row, 2, Some(t.answered as f64), Kind::Count)?;
    put(ws, st, row, 3, t.answer_rate(), Kind::Percent)?;
    put(ws, st, row, 4, t.average_speed_of_answer(), Kind::Seconds)?;
    put(ws, st, row, 5, Some(t.abandoned as f64), Kind::Count)?;
    put(ws, st, row, 6, t.average_abandon_time(), Kind::Seconds)?;
    put(ws, st, row, 7, t.average_talk_time(), Kind::Seconds)?;
    Ok(())
}

fn column_chart(title: &str, sheet: &str, cats: (u32, u32, u16), values: &[(u16, &str)]) -> Chart {
    let mut c = Chart::new_column();
    c.title().set_name(title);
    for (col, name) in values {
        c.add_series()
            .set_name(*name)
            .set_categories((sheet, cats.0, cats.2, cats.1, cats.2))
            .set_values((sheet, cats.0, *col, cats.1, *col));
    }
    c
}

fn by_line(ws: &mut Worksheet, st: &Styles, r: &Report) -> Result<(), XlsxError> {
    ws.set_name("回線別")?;
    ws.write_string_with_format(
        0,
        0,
        "回線別（代表電話・問合せ電話等の内訳、第3-4 ⑵ ア）",
        &st.title,
    )?;
    header(ws, st, 2, &GROUP_COLS)?;
    let mut row = 3;
    for (line, t) in &r.breakdown.by_line {
        group_row(ws, st, row, &r.line_label(line), t)?;
        row += 1;
    }
    group_row(ws, st, row, "合計", &r.breakdown.total)?;
    if row > 3 {
        let mut c = column_chart(
            "回線別の受電応答率",
            "回線別",
            (3, row - 1, 0),
            &[(3, "受電応答率")],
        );
        c.y_axis().set_num_format("0%").set_min(0.0).set_max(1.0);
        ws.insert_chart(row + 2, 0, &c)?;
    }
    ws.set_column_width(0, 30)?;
    for c in 1..8 {
        ws.set_column_width(c, 14)?;
    }
    Ok(())
}

fn by_queue(ws: &mut Worksheet, st: &Styles, r: &Report) -> Result<(), XlsxError> {
    ws.set_name("キュー別")?;
    let mut cols = GROUP_COLS;
    cols[0] = "キュー";
    header(ws, st, 0, &cols)?;
    for (i, (q, t)) in r.breakdown.by_queue.iter().enumerate() {
        let label = if q.is_empty() {
            "（待ちに入る前）"
        } else {
            q
        };
        group_row(ws, st, 1 + i as u32, label, t)?;
    }
    ws.set_column_width(0, 24)?;
    Ok(())
}

fn by_hour(ws: &mut Worksheet, st: &Styles, r: &Report) -> Result<(), XlsxError> {
    ws.set_name("時間帯別")?;
    header(ws, st, 0, &["時間帯", "着信件数", "応答件数"])?;
    for (h, c) in r.breakdown.total.by_hour.iter().enumerate() {
        let row = 1 + h as u32;
        ws.write_string_with_format(row, 0, format!("{h:02}時台"), &st.text)?;
        put(ws, st, row, 1, Some(c.offered as f64), Kind::Count)?;
        put(ws, st, row, 2, Some(c.answered as f64), Kind::Count)?;
    }
    let c = column_chart(
        "時間帯別処理件数",
        "時間帯別",
        (1, 24, 0),
        &[(1, "着信件数"), (2, "応答件数")],
    );
    ws.insert_chart(1, 4, &c)?;
    Ok(())
}

fn by_day(ws: &mut Worksheet, st: &Styles, r: &Report) -> Result<(), XlsxError> {
    ws.set_name("日別")?;
    header(
        ws,
        st,
        0,
        &[
            "日付",
            "総着信呼数",
            "応答件数",
            "受電応答率",
            "平均応答時間（秒）",
        ],
    )?;
    let mut row = 1;
    for (d, t) in &r.breakdown.by_day {
        ws.write_string_with_format(row, 0, d.to_string(), &st.text)?;
        put(ws, st, row, 1, Some(t.offered as f64), Kind::Count)?;
        put(ws, st, row, 2, Some(t.answered as f64), Kind::Count)?;
        put(ws, st, row, 3, t.answer_rate(), Kind::Percent)?;
        put(ws, st, row, 4, t.average_speed_of_answer(), Kind::Seconds)?;
        row += 1;
    }
    if row > 1 {
        let mut c = Chart::new_line();
        c.title().set_name("日別の推移");
        for (col, name) in [(1u16, "総着信呼数"), (2, "応答件数")] {
            c.add_series()
                .set_name(name)
                .set_categories(("日別", 1, 0, row - 1, 0))
                .set_values(("日別", 1, col, row - 1, col));
        }
        ws.insert_chart(1, 6, &c)?;
    }
    ws.set_column_width(0, 12)?;
    Ok(())
}

fn call_list(
    ws: &mut Worksheet,
    st: &Styles,
    name: &str,
    r: &Report,
    calls: &[&crate::CallRecord],
) -> Result<(), XlsxError> {
    ws.set_name(name)?;
    header(ws, st, 0, &CALL_COLUMNS)?;
    for (i, c) in calls.iter().enumerate() {
        for (j, cell) in r.call_row(c).iter().enumerate() {
            ws.write_string_with_format(1 + i as u32, j as u16, cell, &st.text)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.set_column_width(0, 22)?;
    ws.set_column_width(1, 20)?;
    ws.set_column_width(14, 20)?;
    Ok(())
}

/// Write the workbook to `path`.
pub fn write_xlsx(r: &Report, path: &std::path::Path) -> Result<(), ReportError> {
    std::fs::write(path, xlsx_bytes(r)?)?;
    Ok(())
}

/// The workbook as bytes (for a download).
pub fn xlsx_bytes(r: &Report) -> Result<Vec<u8>, ReportError> {
    let st = Styles::new();
    let mut wb = Workbook::new();
    summary(wb.add_worksheet(), &st, r)?;
    by_line(wb.add_worksheet(), &st, r)?;
    by_queue(wb.add_worksheet(), &st, r)?;
    by_hour(wb.add_worksheet(), &st, r)?;
    by_day(wb.add_worksheet(), &st, r)?;
    let long: Vec<_> = r.long_calls().collect();
    call_list(wb.add_worksheet(), &st, "長時間対応", r, &long)?;
    let all: Vec<_> = r.calls.iter().collect();
    call_list(wb.add_worksheet(), &st, "通話一覧", r, &all)?;
    Ok(wb.save_to_buffer()?)
}
