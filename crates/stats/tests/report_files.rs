//! The reports opened by an independent reader (calamine for xlsx, the csv crate for
//! CSV): the figures in the cells are the hand-computed ones of `common::ten_calls`.

mod common;

use calamine::{open_workbook, Data, Reader, Xlsx};
use common::*;
use stats::period::Period;
use stats::report::{write_csv, write_xlsx, Report, SERVICE_START};

fn calendar() -> dialplan::Calendar {
    dialplan::Calendar::new(&dialplan::default_config().hours)
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("stats-report-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// The value in column `col` of the first row whose first cell is `label`.
fn cell(
    wb: &mut Xlsx<std::io::BufReader<std::fs::File>>,
    sheet: &str,
    label: &str,
    col: usize,
) -> Data {
    let range = wb.worksheet_range(sheet).unwrap();
    let row = range
        .rows()
        .find(|r| r.first().is_some_and(|c| c == label))
        .unwrap_or_else(|| panic!("no row {label} in {sheet}"));
    row[col].clone()
}

fn num(d: Data) -> f64 {
    match d {
        Data::Float(f) => f,
        Data::Int(i) => i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

/// The report of Wednesday 2026-11-25 with the ten hand-computed calls.
fn ten_calls_report() -> Report {
    Report::build(
        Period::Day(date(2026, 11, 25)),
        &ten_calls(),
        &calendar(),
        SERVICE_START,
    )
}

#[test]
fn daily_xlsx_holds_the_hand_computed_figures_and_three_charts() {
    let r = ten_calls_report();
    let path = tmp("daily.xlsx");
    write_xlsx(&r, &path).unwrap();

    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "概要",
            "回線別",
            "キュー別",
            "時間帯別",
            "日別",
            "長時間対応",
            "通話一覧"
        ]
    );
    assert_eq!(num(cell(&mut wb, "概要", "総着信呼数", 1)), 8.0);
    assert_eq!(num(cell(&mut wb, "概要", "応答件数", 1)), 5.0);
    assert_eq!(num(cell(&mut wb, "概要", "受電応答率", 1)), 0.625);
    assert_eq!(
        cell(&mut wb, "概要", "受電応答率", 3).to_string(),
        "× 未達成"
    );
    assert_eq!(num(cell(&mut wb, "概要", "平均応答時間（秒）", 1)), 10.0);
    assert_eq!(num(cell(&mut wb, "概要", "平均放棄呼時間（秒）", 1)), 17.0);
    assert_eq!(num(cell(&mut wb, "概要", "平均処理時間（秒）", 1)), 134.0);
    assert_eq!(num(cell(&mut wb, "概要", "一次回答率", 1)), 0.5);
    assert!((num(cell(&mut wb, "概要", "1時間当たりの応答件数", 1)) - 5.0 / 10.5).abs() < 1e-9);
    // The line's name beside its number; per-line figures.
    assert_eq!(
        num(cell(&mut wb, "回線別", "市代表（0246-22-1111）", 1)),
        5.0
    );
    assert_eq!(
        num(cell(&mut wb, "回線別", "市代表（0246-22-1111）", 2)),
        3.0
    );
    assert!(
        (num(cell(&mut wb, "回線別", "小名浜支所（0246-54-2111）", 3)) - 2.0 / 3.0).abs() < 1e-9
    );
    assert_eq!(num(cell(&mut wb, "時間帯別", "09時台", 1)), 3.0);
    assert_eq!(num(cell(&mut wb, "時間帯別", "10時台", 2)), 1.0);
    // Every call is listed; no operator is "—", not an empty cell.
    let list = wb.worksheet_range("通話一覧").unwrap();
    assert_eq!(list.height(), 1 + 10);
    let abandoned = list.rows().find(|r| r[0] == "4").unwrap();
    assert_eq!(abandoned[7].to_string(), "—");
    assert_eq!(abandoned[8].to_string(), "放棄（待ち）");
    assert_eq!(abandoned[9].to_string(), "30.0");

    // Three charts: answer rate by line, calls by hour, trend by day.
    let zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let charts = zip
        .file_names()
        .filter(|n| n.as_ref().is_ok_and(|n| n.starts_with("xl/charts/chart")))
        .count();
    assert_eq!(charts, 3);
}

#[test]
fn yearly_xlsx_judges_without_the_first_half_year() {
    // One answered call in the first half-year (slow) and one after it (fast).
    let recs = vec![
        answered(call("a", "市代表", at(2025, 8, 4, 10, 0, 0)), 60, 30, 0),
        abandoned(
            call("b", "市代表", at(2025, 8, 4, 10, 5, 0)),
            20,
            stats::record::Phase::Queue,
        ),
        answered(call("c", "市代表", at(2026, 2, 2, 10, 0, 0)), 4, 30, 0),
    ];
    let r = Report::build(
        Period::Year { fiscal_year: 2025 },
        &recs,
        &calendar(),
        SERVICE_START,
    );
    let path = tmp("yearly.xlsx");
    write_xlsx(&r, &path).unwrap();
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    // Whole year: 2 of 3, ASA 32 s. Judged (2026-01 … 2026-03): 1 of 1, ASA 4 s.
    assert!((num(cell(&mut wb, "概要", "受電応答率", 1)) - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(num(cell(&mut wb, "概要", "平均応答時間（秒）", 1)), 32.0);
    assert_eq!(num(cell(&mut wb, "概要", "受電応答率", 4)), 1.0);
    assert_eq!(num(cell(&mut wb, "概要", "平均応答時間（秒）", 4)), 4.0);
    assert_eq!(
        cell(&mut wb, "概要", "平均応答時間（秒）", 5).to_string(),
        "○ 達成"
    );
}

#[test]
fn csv_lists_every_call_with_a_bom() {
    let r = ten_calls_report();
    let mut buf = Vec::new();
    write_csv(&r, &mut buf).unwrap();
    assert!(buf.starts_with("\u{feff}".as_bytes()));
    let mut rd = csv::Reader::from_reader(&buf[3..]);
    assert_eq!(&rd.headers().unwrap()[7], "オペレーター");
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 10);
    let first = rows.iter().find(|r| &r[0] == "1").unwrap();
    assert_eq!(&first[1], "2026-11-25 09:00:00");
    assert_eq!(&first[2], "市代表");
    assert_eq!(&first[7], "1001");
    assert_eq!(&first[9], "6.0");
    let sb = rows.iter().find(|r| &r[0] == "2").unwrap();
    assert_eq!((&sb[12], &sb[13]), ("電話交換", "税務課"));
}
