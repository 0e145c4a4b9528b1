//! Civil (proleptic Gregorian) dates and local wall-clock times.
//!
//! The calendar needs only dates, weekdays and minutes of the day in one fixed
//! offset (Japan has no daylight saving time), so a few lines of arithmetic
//! replace a date-time crate. The day-count algorithms are Howard Hinnant's
//! `days_from_civil` / `civil_from_days` (public domain).

use std::fmt;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// Day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// Monday = 0 … Sunday = 6.
    pub fn index(self) -> u8 {
        self as u8
    }

    pub fn is_weekend(self) -> bool {
        matches!(self, Weekday::Saturday | Weekday::Sunday)
    }
}

pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// A date, or `None` if it does not exist (2025-02-29, month 13, …).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        (day >= 1 && day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday (index 3).
        match (self.days_since_epoch() + 3).rem_euclid(7) {
            0 => Weekday::Monday,
            1 => Weekday::Tuesday,
            2 => Weekday::Wednesday,
            3 => Weekday::Thursday,
            4 => Weekday::Friday,
            5 => Weekday::Saturday,
            _ => Weekday::Sunday,
        }
    }

    pub fn add_days(self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + days)
    }

    pub fn succ(self) -> Date {
        self.add_days(1)
    }

    pub fn pred(self) -> Date {
        self.add_days(-1)
    }

    /// The `n`-th (1-based) `weekday` of a month, e.g. the second Monday of January.
    pub fn nth_weekday(year: i32, month: u8, weekday: Weekday, n: u8) -> Date {
        let first = Date {
            year,
            month,
            day: 1,
        };
        let offset = (7 + weekday.index() - first.weekday().index()) % 7;
        Date {
            year,
            month,
            day: 1 + offset + 7 * (n - 1),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

pub const SECS_PER_DAY: u32 = 86_400;

/// A wall-clock time in a fixed UTC offset (JST for this city), to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDateTime {
    pub date: Date,
    /// Seconds since local midnight, `0..86_400`.
    pub secs_of_day: u32,
}

impl LocalDateTime {
    /// A local time at `hour:minute:00`; `None` for an impossible date or time.
    pub fn new(year: i32, month: u8, day: u8, hour: u8, minute: u8) -> Option<LocalDateTime> {
        if hour >= 24 || minute >= 60 {
            return None;
        }
        let date = Date::new(year, month, day)?;
        Some(LocalDateTime {
            date,
            secs_of_day: u32::from(hour) * 3600 + u32::from(minute) * 60,
        })
    }

    /// The wall-clock time `offset_minutes` east of UTC at the Unix time `secs`.
    pub fn from_unix(secs: u64, offset_minutes: i32) -> LocalDateTime {
        let local = secs as i64 + i64::from(offset_minutes) * 60;
        let day = i64::from(SECS_PER_DAY);
        LocalDateTime {
            date: Date::from_days_since_epoch(local.div_euclid(day)),
            secs_of_day: local.rem_euclid(day) as u32,
        }
    }

    /// The Unix time of this wall-clock time; 0 for times before 1970.
    pub fn to_unix(self, offset_minutes: i32) -> u64 {
        let local = self.date.days_since_epoch() * i64::from(SECS_PER_DAY)
            + i64::from(self.secs_of_day)
            - i64::from(offset_minutes) * 60;
        local.max(0) as u64
    }

    /// Local midnight at the start of `date`, plus `minutes` (may be 1440 = next midnight).
    pub fn at_minutes(date: Date, minutes: u16) -> LocalDateTime {
        let extra_days = i64::from(minutes / 1440);
        LocalDateTime {
            date: date.add_days(extra_days),
            secs_of_day: u32::from(minutes % 1440) * 60,
        }
    }

    pub fn hour(self) -> u8 {
        (self.secs_of_day / 3600) as u8
    }

    pub fn minute(self) -> u8 {
        (self.secs_of_day / 60 % 60) as u8
    }

    pub fn weekday(self) -> Weekday {
        self.date.weekday()
    }
}

impl fmt::Display for LocalDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.secs_of_day;
        write!(f, "{} {:02}:{:02}", self.date, s / 3600, s / 60 % 60)?;
        if !s.is_multiple_of(60) {
            write!(f, ":{:02}", s % 60)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_count_round_trips_and_matches_known_days() {
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Date::new(2000, 3, 1).unwrap().days_since_epoch(), 11_017);
        assert_eq!(
            Date::from_days_since_epoch(-1),
            Date::new(1969, 12, 31).unwrap()
        );
        for days in (-800_000..800_000).step_by(997) {
            assert_eq!(Date::from_days_since_epoch(days).days_since_epoch(), days);
        }
    }

    #[test]
    fn weekdays_of_known_dates() {
        assert_eq!(Date::new(2025, 7, 1).unwrap().weekday(), Weekday::Tuesday);
        assert_eq!(
            Date::new(2026, 11, 25).unwrap().weekday(),
            Weekday::Wednesday
        );
        assert_eq!(Date::new(2027, 3, 21).unwrap().weekday(), Weekday::Sunday);
        assert_eq!(Date::new(2024, 2, 29).unwrap().weekday(), Weekday::Thursday);
    }

    #[test]
    fn invalid_dates_are_refused() {
        assert!(Date::new(2025, 2, 29).is_none());
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2100, 2, 29).is_none());
        assert!(Date::new(2025, 13, 1).is_none());
        assert!(Date::new(2025, 4, 31).is_none());
    }

    #[test]
    fn nth_weekday_finds_happy_mondays() {
        let second_monday = Date::nth_weekday(2025, 1, Weekday::Monday, 2);
        assert_eq!(second_monday, Date::new(2025, 1, 13).unwrap());
        let third_monday = Date::nth_weekday(2026, 9, Weekday::Monday, 3);
        assert_eq!(third_monday, Date::new(2026, 9, 21).unwrap());
    }

    #[test]
    fn unix_to_jst_and_back() {
        // 2025-11-25T13:22:21Z is 22:22:21 in Japan.
        let t = LocalDateTime::from_unix(1_764_076_941, 540);
        assert_eq!(t.date, Date::new(2025, 11, 25).unwrap());
        assert_eq!((t.hour(), t.minute()), (22, 22));
        assert_eq!(t.to_unix(540), 1_764_076_941);
        // 23:30 UTC is already the next day in Japan.
        let next = LocalDateTime::from_unix(86_400 - 1800, 540);
        assert_eq!(next.date, Date::new(1970, 1, 2).unwrap());
        assert_eq!(next.to_string(), "1970-01-02 08:30");
    }
}
