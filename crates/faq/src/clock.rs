//! Dates: the service only needs "today in Japan" for publish windows, ISO timestamps
//! for logs, and date validation; the calendar arithmetic is `dialplan::Date`'s.

use std::time::{SystemTime, UNIX_EPOCH};

/// Japan has no daylight saving time: JST is always UTC+9.
const JST_OFFSET: i64 = 9 * 3600;

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 → (year, month, day): the workspace's one calendar
/// arithmetic (`dialplan::Date`, shared with the switch and the recorder).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let d = dialplan::Date::from_days_since_epoch(z);
    (i64::from(d.year), u32::from(d.month), u32::from(d.day))
}

/// (year, month, day) → days since 1970-01-01; out-of-range days count on, as the
/// callers' arithmetic expects (day 0 is the last day of the month before).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let first = dialplan::Date {
        year: y as i32,
        month: m.clamp(1, 12) as u8,
        day: 1,
    };
    first.days_since_epoch() + i64::from(d) - 1
}

pub fn date_of(unix: i64, offset: i64) -> String {
    let (y, m, d) = civil_from_days((unix + offset).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Today's date in Japan, `YYYY-MM-DD`, by the system clock.
pub fn today_jst() -> String {
    date_of(unix_now(), JST_OFFSET)
}

/// The service's clock: the system clock, or one shifted to start at a given moment and
/// run on from there. Everything that decides by the date (publish windows, the weekly
/// ranking, ratings per month) reads this, so tests pin the calendar and do not start
/// failing on the day a fixture's publish window opens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Seconds added to the system clock.
    offset: i64,
}

impl Clock {
    pub const SYSTEM: Clock = Clock { offset: 0 };

    /// A clock that reads `unix` now and runs on in real time.
    pub fn starting_at(unix: i64) -> Clock {
        Clock {
            offset: unix - unix_now(),
        }
    }

    /// A clock that reads 12:00 JST on `date` (`YYYY-MM-DD`) now; None if not a date.
    pub fn starting_on_jst(date: &str) -> Option<Clock> {
        parse_date_jst(date).map(|t| Clock::starting_at(t + 12 * 3600))
    }

    pub fn now(&self) -> i64 {
        unix_now() + self.offset
    }

    pub fn today_jst(&self) -> String {
        date_of(self.now(), JST_OFFSET)
    }
}

/// A timestamp shown to staff: Japan time, `YYYY-MM-DD HH:MM:SS`.
pub fn format_jst(unix: i64) -> String {
    let t = unix + JST_OFFSET;
    let s = t.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        date_of(unix, JST_OFFSET),
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Monday 00:00 JST of the week holding `unix` (weeks run Monday to Sunday, ISO 8601).
pub fn week_start_jst(unix: i64) -> i64 {
    let days = (unix + JST_OFFSET).div_euclid(86_400);
    // 1970-01-01 was a Thursday: days + 3 is 0 on Mondays (mod 7).
    let monday = days - (days + 3).rem_euclid(7);
    monday * 86_400 - JST_OFFSET
}

/// The ISO week of a Monday as `YYYY-Www` (the year is the one its Thursday falls in).
pub fn iso_week_label(week_start: i64) -> String {
    let thursday = week_start + 3 * 86_400;
    let (y, _, _) = civil_from_days((thursday + JST_OFFSET).div_euclid(86_400));
    let jan4 = days_from_civil(y, 1, 4) * 86_400 - JST_OFFSET;
    let week1 = week_start_jst(jan4);
    format!("{y}-W{:02}", (week_start - week1) / (7 * 86_400) + 1)
}

/// The Monday 00:00 JST of `YYYY-Www`; None if malformed or out of range.
pub fn parse_iso_week(s: &str) -> Option<i64> {
    let (y, w) = s.split_once("-W")?;
    let (y, w): (i64, i64) = (y.parse().ok()?, w.parse().ok()?);
    if !(1..=53).contains(&w) || !(1970..=9999).contains(&y) {
        return None;
    }
    let jan4 = days_from_civil(y, 1, 4) * 86_400 - JST_OFFSET;
    let start = week_start_jst(jan4) + (w - 1) * 7 * 86_400;
    (iso_week_label(start) == format!("{y}-W{w:02}")).then_some(start)
}

/// `YYYY-MM` of a unix time in Japan (rating statistics are per month).
pub fn month_jst(unix: i64) -> String {
    date_of(unix, JST_OFFSET)[..7].to_string()
}

/// Parses `YYYY-MM-DD` into unix seconds at 00:00 JST; None if not a real date.
pub fn parse_date_jst(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Round trip rejects 2025-02-30 and friends.
    if civil_from_days(days) != (y, m, d) {
        return None;
    }
    Some(days * 86_400 - JST_OFFSET)
}

pub fn is_valid_date(s: &str) -> bool {
    parse_date_jst(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_of(0, 0), "1970-01-01");
        assert!(is_valid_date("2024-02-29"));
        assert!(!is_valid_date("2025-02-29"));
        assert!(!is_valid_date("2025-13-01"));
        assert!(!is_valid_date("2025/01/01"));
        let t = parse_date_jst("2025-07-01").unwrap();
        assert_eq!(date_of(t, JST_OFFSET), "2025-07-01");
        assert_eq!(month_jst(t), "2025-07");
    }

    #[test]
    fn iso_weeks_in_japan_time() {
        // 2026-06-01 is a Monday; 2026-06-07 23:59 JST is still that week.
        let mon = parse_date_jst("2026-06-01").unwrap();
        assert_eq!(week_start_jst(mon + 6 * 86_400 + 86_399), mon);
        assert_eq!(week_start_jst(mon - 1), mon - 7 * 86_400);
        assert_eq!(iso_week_label(mon), "2026-W23");
        assert_eq!(parse_iso_week("2026-W23"), Some(mon));
        // 2021-01-03 (Sunday) belongs to 2020-W53.
        assert_eq!(
            iso_week_label(week_start_jst(parse_date_jst("2021-01-03").unwrap())),
            "2020-W53"
        );
        assert_eq!(parse_iso_week("2021-W53"), None);
        assert_eq!(parse_iso_week("2026-23"), None);
    }

    #[test]
    fn a_clock_pinned_to_a_day_reads_that_day() {
        let c = Clock::starting_on_jst("2026-06-01").unwrap();
        assert_eq!(c.today_jst(), "2026-06-01");
        assert!(Clock::starting_on_jst("2026-02-30").is_none());
        assert_eq!(Clock::SYSTEM.today_jst(), today_jst());
    }
}
