//! Opening hours (spec §2, 第1-6): weekdays 08:30–19:00; Saturdays, Sundays and
//! national holidays 08:30–17:00; closed 29 December – 3 January. The hours and closed
//! days come from `[hours]`; holidays are computed (`holidays`).

use crate::civil::{Date, LocalDateTime};
use crate::config::{DailyHours, Hours};
use crate::holidays::holiday_name;
use crate::values::MonthDay;

/// What kind of day a date is for the center.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    Weekday,
    Weekend,
    /// A national holiday (with its name), on weekend hours.
    Holiday(&'static str),
    /// One of `closed_dates`: no hours at all.
    Closed,
}

/// The regular opening hours, from `[hours]`. Pure: the time is always a parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    offset_minutes: i32,
    weekday: DailyHours,
    weekend_and_holidays: DailyHours,
    closed_dates: Vec<MonthDay>,
}

/// How far `next_change` looks ahead; any real schedule changes within a day or a week.
const SEARCH_DAYS: i64 = 400;

impl Calendar {
    pub fn new(hours: &Hours) -> Calendar {
        Calendar {
            offset_minutes: hours.timezone_offset_minutes,
            weekday: hours.weekday,
            weekend_and_holidays: hours.weekend_and_holidays,
            closed_dates: hours.closed_dates.clone(),
        }
    }

    /// Minutes east of UTC of the local times this calendar speaks in.
    pub fn offset_minutes(&self) -> i32 {
        self.offset_minutes
    }

    /// The local wall-clock time at Unix time `unix`.
    pub fn local(&self, unix: u64) -> LocalDateTime {
        LocalDateTime::from_unix(unix, self.offset_minutes)
    }

    pub fn day_kind(&self, date: Date) -> DayKind {
        let md = MonthDay {
            month: date.month,
            day: date.day,
        };
        // 12-29 … 01-03 win over 元日 and weekends: the center is closed, full stop.
        if self.closed_dates.contains(&md) {
            return DayKind::Closed;
        }
        if let Some(name) = holiday_name(date) {
            return DayKind::Holiday(name);
        }
        if date.weekday().is_weekend() {
            DayKind::Weekend
        } else {
            DayKind::Weekday
        }
    }

    /// The hours of `date`, or `None` if the center is closed all day.
    pub fn hours_on(&self, date: Date) -> Option<DailyHours> {
        match self.day_kind(date) {
            DayKind::Weekday => Some(self.weekday),
            DayKind::Weekend | DayKind::Holiday(_) => Some(self.weekend_and_holidays),
            DayKind::Closed => None,
        }
    }

    /// Open from the opening minute until just before the closing minute
    /// (08:30:00 open, 18:59:59 open, 19:00:00 closed).
    pub fn is_open(&self, local: LocalDateTime) -> bool {
        self.hours_on(local.date).is_some_and(|h| {
            let t = local.secs_of_day;
            u32::from(h.open.minutes()) * 60 <= t && t < u32::from(h.close.minutes()) * 60
        })
    }

    pub fn is_open_at(&self, unix: u64) -> bool {
        self.is_open(self.local(unix))
    }

    /// The first moment after `local` at which `is_open` changes: the next opening
    /// when closed, the next closing when open. `None` if it does not change within
    /// about a year (a configuration closed every day).
    pub fn next_change(&self, local: LocalDateTime) -> Option<LocalDateTime> {
        let now_open = self.is_open(local);
        (0..SEARCH_DAYS).find_map(|n| {
            let date = local.date.add_days(n);
            let h = self.hours_on(date)?;
            [h.open, h.close]
                .into_iter()
                .map(|b| LocalDateTime::at_minutes(date, b.minutes()))
                .find(|&t| t > local && self.is_open(t) != now_open)
        })
    }

    /// `next_change` in Unix time, for arming a timer.
    pub fn next_change_at(&self, unix: u64) -> Option<u64> {
        self.next_change(self.local(unix))
            .map(|t| t.to_unix(self.offset_minutes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::default_config;

    fn cal() -> Calendar {
        Calendar::new(&default_config().hours)
    }

    fn at(y: i32, m: u8, d: u8, h: u8, min: u8) -> LocalDateTime {
        LocalDateTime::new(y, m, d, h, min).unwrap()
    }

    #[test]
    fn weekday_boundaries() {
        let c = cal();
        // Wednesday 2026-11-25.
        assert!(!c.is_open(at(2026, 11, 25, 8, 29)));
        assert!(c.is_open(at(2026, 11, 25, 8, 30)));
        assert!(c.is_open(at(2026, 11, 25, 18, 59)));
        assert!(!c.is_open(at(2026, 11, 25, 19, 0)));
        let last_second = LocalDateTime {
            secs_of_day: 19 * 3600 - 1,
            ..at(2026, 11, 25, 0, 0)
        };
        assert!(c.is_open(last_second));
    }

    #[test]
    fn weekend_and_holiday_close_at_five() {
        let c = cal();
        // Saturday 2026-11-28.
        assert!(c.is_open(at(2026, 11, 28, 8, 30)));
        assert!(c.is_open(at(2026, 11, 28, 16, 59)));
        assert!(!c.is_open(at(2026, 11, 28, 17, 0)));
        // Monday 2026-11-23 is 勤労感謝の日: weekend hours on a weekday.
        assert_eq!(
            c.day_kind(Date::new(2026, 11, 23).unwrap()),
            DayKind::Holiday("勤労感謝の日")
        );
        assert!(!c.is_open(at(2026, 11, 23, 17, 0)));
        assert!(c.is_open(at(2026, 11, 24, 17, 0)));
    }

    #[test]
    fn year_end_closure() {
        let c = cal();
        assert!(c.is_open(at(2026, 12, 28, 18, 59)));
        assert!(!c.is_open(at(2026, 12, 29, 12, 0)));
        assert!(!c.is_open(at(2027, 1, 1, 12, 0)));
        assert!(!c.is_open(at(2027, 1, 3, 12, 0)));
        // 2027-01-04 is a Monday: open again at 08:30.
        assert!(!c.is_open(at(2027, 1, 4, 8, 29)));
        assert!(c.is_open(at(2027, 1, 4, 8, 30)));
    }

    #[test]
    fn next_change_finds_closing_and_opening() {
        let c = cal();
        assert_eq!(
            c.next_change(at(2026, 11, 25, 12, 0)),
            Some(at(2026, 11, 25, 19, 0))
        );
        assert_eq!(
            c.next_change(at(2026, 11, 25, 19, 0)),
            Some(at(2026, 11, 26, 8, 30))
        );
        assert_eq!(
            c.next_change(at(2026, 11, 25, 7, 0)),
            Some(at(2026, 11, 25, 8, 30))
        );
        // Friday evening -> Saturday morning; Saturday noon -> 17:00.
        assert_eq!(
            c.next_change(at(2026, 11, 27, 20, 0)),
            Some(at(2026, 11, 28, 8, 30))
        );
        assert_eq!(
            c.next_change(at(2026, 11, 28, 12, 0)),
            Some(at(2026, 11, 28, 17, 0))
        );
        // Over the year-end closure.
        assert_eq!(
            c.next_change(at(2026, 12, 28, 19, 0)),
            Some(at(2027, 1, 4, 8, 30))
        );
    }

    #[test]
    fn unix_time_helpers_use_the_configured_offset() {
        let c = cal();
        let noon_jst = at(2026, 11, 25, 12, 0).to_unix(540);
        assert!(c.is_open_at(noon_jst));
        assert_eq!(c.next_change_at(noon_jst), Some(noon_jst + 7 * 3600));
    }

    #[test]
    fn a_closing_time_of_midnight_is_allowed() {
        let mut hours = default_config().hours;
        hours.weekday.close = "24:00".parse().unwrap();
        let c = Calendar::new(&hours);
        assert!(c.is_open(LocalDateTime {
            secs_of_day: 86_399,
            ..at(2026, 11, 25, 0, 0)
        }));
        assert_eq!(
            c.next_change(at(2026, 11, 25, 23, 0)),
            Some(at(2026, 11, 26, 0, 0))
        );
    }
}
