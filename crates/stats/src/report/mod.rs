//! Reports for the city (第3-4): daily, monthly, half-yearly and yearly, as `.xlsx` with
//! tables and charts (`xlsx`) and the calls as CSV (`write_csv`). A report is computed
//! once (`Report::build`) and then written; both writers read the same figures.

pub mod web;
mod xlsx;

use crate::kpi::{open_hours, Breakdown, Tally};
use crate::period::{date_start_ms, judged_dates, local_of_ms, Period};
use crate::record::CallRecord;
use dialplan::{Calendar, Date};
use std::io::Write;

pub use xlsx::{write_xlsx, xlsx_bytes};

/// The city's General Call Center started on 2025-07-01 (第1-2 契約期間); the first
/// half-year after it is not judged against the targets (第3-5 ⑵).
pub const SERVICE_START: Date = Date {
    year: 2025,
    month: 7,
    day: 1,
};

/// A call counts as long (長時間対応案件, 第3-4 ⑵ エ) from 20 minutes of talk.
pub const LONG_CALL_MS: u64 = 20 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the xlsx report: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Everything a report shows.
pub struct Report {
    pub period: Period,
    pub offset_minutes: i32,
    pub breakdown: Breakdown,
    /// The center's open hours in the period (for answered calls per hour).
    pub open_hours: f64,
    /// For half-years and years: the figures the targets are judged on (without the
    /// first half-year after the service started), and the dates they cover.
    pub judged: Option<(Tally, Date, Date)>,
    /// The calls of the period, oldest first (incoming and the center's own calls).
    pub calls: Vec<CallRecord>,
    /// The dialled number of each line name (for "市代表 0246-22-1111").
    pub line_numbers: Vec<(String, String)>,
}

impl Report {
    /// `records` may hold more than the period: only the period's calls are used.
    pub fn build(
        period: Period,
        records: &[CallRecord],
        calendar: &Calendar,
        service_start: Date,
    ) -> Report {
        let offset = calendar.offset_minutes();
        let (from, to) = period.range_ms(offset);
        let (first, end) = period.dates();
        let breakdown = Breakdown::of(records, from, to, offset);
        let judged = match period {
            Period::Half { .. } | Period::Year { .. } => {
                judged_dates(period, service_start).map(|(a, b)| {
                    let t = Breakdown::of(
                        records,
                        date_start_ms(a, offset),
                        date_start_ms(b, offset),
                        offset,
                    )
                    .total;
                    (t, a, b)
                })
            }
            _ => None,
        };
        let calls: Vec<CallRecord> = records
            .iter()
            .filter(|r| r.arrived_ms >= from && r.arrived_ms < to)
            .cloned()
            .collect();
        let mut line_numbers: Vec<(String, String)> = calls
            .iter()
            .filter(|r| !r.line.is_empty())
            .map(|r| (r.line.clone(), r.dialled.clone()))
            .collect();
        line_numbers.sort();
        line_numbers.dedup_by(|a, b| a.0 == b.0);
        Report {
            period,
            offset_minutes: offset,
            breakdown,
            open_hours: open_hours(calendar, first, end),
            judged,
            calls,
            line_numbers,
        }
    }

    /// "市代表（0246-22-1111）", or the name alone when the number is unknown.
    pub fn line_label(&self, line: &str) -> String {
        match self.line_numbers.iter().find(|(l, _)| l == line) {
            Some((_, n)) => format!("{line}（{}）", display_number(n)),
            None if line.is_empty() => "（回線なし）".into(),
            None => line.to_string(),
        }
    }

    /// Answered calls whose talk reached `LONG_CALL_MS`.
    pub fn long_calls(&self) -> impl Iterator<Item = &CallRecord> {
        self.calls
            .iter()
            .filter(|r| r.talk_ms().is_some_and(|t| t >= LONG_CALL_MS))
    }

    fn local(&self, ms: u64) -> String {
        let t = local_of_ms(ms, self.offset_minutes);
        format!(
            "{} {:02}:{:02}:{:02}",
            t.date,
            t.hour(),
            t.minute(),
            t.secs_of_day % 60
        )
    }
}

/// +81246221111 → 0246-22-1111 (the form the city prints); other numbers unchanged.
pub fn display_number(n: &str) -> String {
    let national = match n.strip_prefix("+81") {
        Some(rest) => format!("0{rest}"),
        None => n.to_string(),
    };
    if national.len() == 10
        && national.starts_with("0246")
        && national.bytes().all(|b| b.is_ascii_digit())
    {
        format!("{}-{}-{}", &national[..4], &national[4..6], &national[6..])
    } else {
        national
    }
}

/// "—" for a value that does not exist (no operator, no answer), never an empty cell.
pub const NONE: &str = "—";

/// The columns of the call list, shared by the CSV and the xlsx sheet.
pub const CALL_COLUMNS: [&str; 15] = [
    "通話ID",
    "着信日時",
    "回線",
    "着信番号",
    "発信者番号",
    "種別",
    "キュー",
    "オペレーター",
    "結果",
    "待ち時間（秒）",
    "通話時間（秒）",
    "後処理時間（秒）",
    "転送",
    "転送先",
    "終了日時",
];

fn secs(ms: Option<u64>) -> String {
    ms.map(|v| format!("{:.1}", v as f64 / 1000.0))
        .unwrap_or_else(|| NONE.into())
}

fn origin_ja(r: &CallRecord) -> &'static str {
    use crate::record::Origin::*;
    match r.origin {
        Citizen => "市民",
        Staff => "職員（9発信）",
        DepartmentReturn => "所管課から戻り",
        Callback => "折り返し発信",
        Operator => "オペレーター発信",
        Fax => "FAX",
    }
}

impl Report {
    /// One call as the row of the call list (text cells).
    pub fn call_row(&self, r: &CallRecord) -> [String; 15] {
        let transfer = r.transfers.iter().rev().find(|t| t.completed_ms.is_some());
        [
            r.uid.clone(),
            self.local(r.arrived_ms),
            if r.line.is_empty() {
                NONE.into()
            } else {
                r.line.clone()
            },
            display_number(&r.dialled),
            r.caller.clone(),
            origin_ja(r).into(),
            r.queue.clone().unwrap_or_else(|| NONE.into()),
            r.agent.clone().unwrap_or_else(|| NONE.into()),
            r.outcome().label_ja().into(),
            secs(r.answer_wait_ms().or(r.abandon_wait_ms())),
            secs(r.talk_ms()),
            secs(r.after_call_work_ms()),
            transfer
                .map(|t| t.purpose.label_ja().to_string())
                .unwrap_or_else(|| NONE.into()),
            transfer
                .map(|t| t.target.clone())
                .unwrap_or_else(|| NONE.into()),
            self.local(r.ended_ms),
        ]
    }
}

/// The period's calls as CSV (UTF-8 with a byte-order mark, so that Excel reads the
/// Japanese correctly): 第3-4 ⑵ "すべての応対履歴のデータ（CSV形式等）".
pub fn write_csv(report: &Report, out: impl Write) -> Result<(), ReportError> {
    let mut out = out;
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CALL_COLUMNS)?;
    for r in &report.calls {
        w.write_record(report.call_row(r))?;
    }
    w.flush()?;
    Ok(())
}
