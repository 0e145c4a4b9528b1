//! The department directory of the attendant console (spec 第2-7 ⑵ ア, 第3-1 ⑵ イ):
//! find a department by extension, name or number, list it for the operator's screen,
//! and say whether it takes transfers now. Transfers go only within the department's
//! office hours (業務取扱時間); outside them the operator (or a prompt) tells the caller
//! the department's number and hours instead (第3-1 ⑵ イ).
//!
//! Pure: the time is a parameter.

use serde::Serialize;

use crate::calendar::{Calendar, DayKind};
use crate::civil::{LocalDateTime, Weekday};
use crate::config::{Config, DailyHours, Department, OfficeDays};
use crate::lookup::normalize_number;
use crate::values::ClockTime;

/// Why a department takes no transfer now, in words for the operator's screen and for a
/// prompt read to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason_ja}")]
pub struct Closed {
    /// E.g. "本日は土曜日のため、市民課は閉庁日です。"
    pub reason_ja: String,
    /// E.g. "平日（土日・祝日・年末年始を除く）午前8時30分から午後5時15分まで"
    pub hours_text_ja: String,
}

/// One line of the directory as the operator's screen shows it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The configuration's name, e.g. "shimin".
    pub name: String,
    /// What people read, e.g. "市民課".
    pub label: String,
    pub extension: String,
    pub trunk: String,
    /// As written in the configuration, e.g. "0246-22-7101".
    pub outside_number: Option<String>,
    pub hours_text_ja: String,
    /// Takes transfers at the time the list was made.
    pub open: bool,
    /// Why not, when closed.
    pub closed_reason_ja: Option<String>,
}

/// The department reached at `extension` (exactly as configured).
pub fn by_extension<'a>(cfg: &'a Config, extension: &str) -> Option<&'a Department> {
    let extension = extension.trim();
    cfg.departments.iter().find(|d| d.extension == extension)
}

/// The department called `name`: its configuration name ("shimin") or its label
/// ("市民課").
pub fn by_name<'a>(cfg: &'a Config, name: &str) -> Option<&'a Department> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    cfg.departments
        .iter()
        .find(|d| d.name == name)
        .or_else(|| cfg.departments.iter().find(|d| d.label == name))
}

/// The department whose own outside number is `number`, in any form a carrier or an
/// operator writes it ("0246-22-7101", "+81246227101").
pub fn by_outside_number<'a>(cfg: &'a Config, number: &str) -> Option<&'a Department> {
    let wanted = normalize_number(number)?;
    cfg.departments.iter().find(|d| {
        d.outside_number
            .as_deref()
            .and_then(normalize_number)
            .is_some_and(|n| n == wanted)
    })
}

/// Departments whose label, name, extension or outside number contains `query` (for
/// the operator's search box); every department for an empty query. Directory order.
pub fn search<'a>(cfg: &'a Config, query: &str) -> Vec<&'a Department> {
    let query = query.trim();
    let digits = normalize_number(query);
    cfg.departments
        .iter()
        .filter(|d| {
            query.is_empty()
                || d.label.contains(query)
                || d.name.contains(query)
                || d.extension.contains(query)
                || digits.as_deref().is_some_and(|q| {
                    d.outside_number
                        .as_deref()
                        .and_then(normalize_number)
                        .is_some_and(|n| n.contains(q))
                })
        })
        .collect()
}

/// The whole directory with each department's state at `now_unix`.
pub fn list(cfg: &Config, calendar: &Calendar, now_unix: u64) -> Vec<Entry> {
    cfg.departments
        .iter()
        .map(|d| {
            let state = is_open(cfg, calendar, d, now_unix);
            Entry {
                name: d.name.clone(),
                label: d.label.clone(),
                extension: d.extension.clone(),
                trunk: d.trunk.clone(),
                outside_number: d.outside_number.clone(),
                hours_text_ja: hours_text_ja(cfg, d),
                open: state.is_ok(),
                closed_reason_ja: state.err().map(|c| c.reason_ja),
            }
        })
        .collect()
}

/// The days `dept.hours` apply on, defaults filled in.
pub fn office_days(dept: &Department) -> OfficeDays {
    dept.days.unwrap_or(if dept.hours.is_some() {
        OfficeDays::Office
    } else {
        OfficeDays::EveryDay
    })
}

/// Whether `dept` takes a transfer at `now_unix`: on its days (the city's office days
/// by default, from `calendar`), within its hours (open from the first minute until
/// just before the closing one, like the center's own hours).
pub fn is_open(
    cfg: &Config,
    calendar: &Calendar,
    dept: &Department,
    now_unix: u64,
) -> Result<(), Closed> {
    let local = calendar.local(now_unix);
    let closed = |reason_ja: String| Closed {
        reason_ja,
        hours_text_ja: hours_text_ja(cfg, dept),
    };
    let label = &dept.label;
    if office_days(dept) == OfficeDays::Office {
        match calendar.day_kind(local.date) {
            DayKind::Weekday => {}
            DayKind::Weekend => {
                return Err(closed(format!(
                    "本日は{}のため、{label}は閉庁日です。",
                    weekday_ja(local.date.weekday())
                )))
            }
            DayKind::Holiday(name) => {
                return Err(closed(format!(
                    "本日は祝日（{name}）のため、{label}は閉庁日です。"
                )))
            }
            DayKind::Closed => {
                return Err(closed(format!(
                    "本日（{}月{}日）は{}のため、{label}は閉庁日です。",
                    local.date.month,
                    local.date.day,
                    closure_name(cfg)
                )))
            }
        }
    }
    let Some(h) = dept.hours else { return Ok(()) };
    let t = local.secs_of_day;
    if u32::from(h.open.minutes()) * 60 <= t && t < u32::from(h.close.minutes()) * 60 {
        return Ok(());
    }
    let when = if t < u32::from(h.open.minutes()) * 60 {
        "受付開始前"
    } else {
        "受付終了後"
    };
    Err(closed(format!(
        "{label}は{when}です（受付時間 {}〜{}）。",
        h.open, h.close
    )))
}

/// The first moment at or after `now_unix` when `dept` takes transfers (`now_unix`
/// itself when open now), for "受付は明日の午前8時30分からです"; `None` if it does not
/// open within about a year.
pub fn next_open(
    cfg: &Config,
    calendar: &Calendar,
    dept: &Department,
    now_unix: u64,
) -> Option<u64> {
    if is_open(cfg, calendar, dept, now_unix).is_ok() {
        return Some(now_unix);
    }
    let today = calendar.local(now_unix).date;
    let open_minute = dept.hours.map_or(0, |h| h.open.minutes());
    (0..400)
        .map(|n| LocalDateTime::at_minutes(today.add_days(n), open_minute))
        .map(|t| t.to_unix(calendar.offset_minutes()))
        .find(|&t| t > now_unix && is_open(cfg, calendar, dept, t).is_ok())
}

/// What the operator says (or a prompt reads) when `dept` is closed: the reason, then
/// the department's number and hours (第3-1 ⑵ イ: 所管課の電話番号及び執務時間を案内).
pub fn closed_message_ja(dept: &Department, closed: &Closed) -> String {
    let label = &dept.label;
    match &dept.outside_number {
        Some(n) => format!(
            "{}{label}の電話番号は{n}、受付時間は{}です。",
            closed.reason_ja, closed.hours_text_ja
        ),
        None => format!(
            "{}{label}の受付時間は{}です。",
            closed.reason_ja, closed.hours_text_ja
        ),
    }
}

/// The department's hours as read to a caller, e.g.
/// "平日（土日・祝日・年末年始を除く）午前8時30分から午後5時15分まで".
pub fn hours_text_ja(cfg: &Config, dept: &Department) -> String {
    let days = match office_days(dept) {
        OfficeDays::Office => format!("平日（土日・祝日・{}を除く）", closure_name(cfg)),
        OfficeDays::EveryDay => "毎日".to_string(),
    };
    match dept.hours {
        None if office_days(dept) == OfficeDays::EveryDay => "24時間".to_string(),
        None => format!("{days}終日"),
        Some(DailyHours { open, close }) => {
            format!("{days}{}から{}まで", spoken_time(open), spoken_time(close))
        }
    }
}

/// What the configured closed dates are called: 年末年始 when they are all in the
/// year-end weeks (the default 12-29 … 01-03), else 閉庁日.
fn closure_name(cfg: &Config) -> &'static str {
    let year_end = |m: u8, d: u8| (m == 12 && d >= 25) || (m == 1 && d <= 7);
    let dates = &cfg.hours.closed_dates;
    if !dates.is_empty() && dates.iter().all(|md| year_end(md.month, md.day)) {
        "年末年始"
    } else {
        "閉庁日"
    }
}

fn weekday_ja(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "月曜日",
        Weekday::Tuesday => "火曜日",
        Weekday::Wednesday => "水曜日",
        Weekday::Thursday => "木曜日",
        Weekday::Friday => "金曜日",
        Weekday::Saturday => "土曜日",
        Weekday::Sunday => "日曜日",
    }
}

/// A time as said to a caller: "午前8時30分", "正午", "午後5時", "午前0時".
pub fn spoken_time(t: ClockTime) -> String {
    let m = t.minutes() % 1440;
    let (h, min) = (m / 60, m % 60);
    if h == 12 && min == 0 {
        return "正午".into();
    }
    let (half, h12) = if h < 12 {
        ("午前", h)
    } else {
        ("午後", h - 12)
    };
    if min == 0 {
        format!("{half}{h12}時")
    } else {
        format!("{half}{h12}時{min}分")
    }
}

#[cfg(test)]
#[path = "directory_tests.rs"]
mod tests;
