//! `madoguchi report`: the built binary reads the call records of the data folder and
//! writes the xlsx and the CSV; an independent reader (calamine) checks the figures.
//! Bad periods and a missing database get a sentence and a non-zero exit.

use calamine::{open_workbook, Data, Reader, Xlsx};
mod stats_records;

use stats_records::write_records;
use std::path::Path;
use std::process::Command;

fn madoguchi(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(args)
        .current_dir(dir)
        .env_remove("MADOGUCHI_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn report_daily_xlsx_and_csv_from_the_records() {
    let dir = std::env::temp_dir().join(format!("madoguchi-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();

    // No records yet: a sentence, not an empty report.
    let o = madoguchi(&dir, &["report", "daily", "2026-11-25", "--out", "r.xlsx"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no call records"),
        "{o:?}"
    );

    write_records(&dir.join("data/calls.sqlite"));
    let o = madoguchi(&dir, &["report", "daily", "2026-11-25", "--out", "r.xlsx"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut wb: Xlsx<_> = open_workbook(dir.join("r.xlsx")).unwrap();
    let summary = wb.worksheet_range("概要").unwrap();
    let value = |label: &str| {
        summary
            .rows()
            .find(|r| r[0] == label)
            .map(|r| r[1].clone())
            .unwrap()
    };
    // 4 offered, 3 answered: 75 %; ASA (5 + 15 + 4) / 3 = 8 s; abandon 40 s.
    assert_eq!(value("総着信呼数"), Data::Float(4.0));
    assert_eq!(value("受電応答率"), Data::Float(0.75));
    assert_eq!(value("平均応答時間（秒）"), Data::Float(8.0));
    assert_eq!(value("平均放棄呼時間（秒）"), Data::Float(40.0));
    let lines = wb.worksheet_range("回線別").unwrap();
    let ona = lines
        .rows()
        .find(|r| r[0] == "小名浜支所（0246-54-2111）")
        .unwrap();
    assert_eq!(
        (ona[1].clone(), ona[3].clone()),
        (Data::Float(1.0), Data::Float(1.0))
    );

    let o = madoguchi(&dir, &["report", "daily", "2026-11-25", "--out", "r.csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(dir.join("r.csv")).unwrap();
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("c,") && l.contains(",—,放棄（待ち）,")),
        "{text}"
    );

    // The month holds the same calls; another day holds none.
    let o = madoguchi(&dir, &["report", "monthly", "2026-11", "--out", "m.csv"]);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.join("m.csv"))
            .unwrap()
            .lines()
            .count(),
        5
    );
    let o = madoguchi(&dir, &["report", "daily", "2026-11-26", "--out", "n.csv"]);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.join("n.csv"))
            .unwrap()
            .lines()
            .count(),
        1
    );

    // Bad input: a sentence and a failure.
    let o = madoguchi(&dir, &["report", "monthly", "2026-13", "--out", "x.xlsx"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("2026-11 のように"),
        "{o:?}"
    );
    let o = madoguchi(&dir, &["report", "half", "2026H1", "--out", "x.pdf"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(".xlsx"),
        "{o:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
