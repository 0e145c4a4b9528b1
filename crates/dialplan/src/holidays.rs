//! Japanese national holidays, computed rather than listed.
//!
//! Rules of 国民の祝日に関する法律 (昭和23年法律第178号) as in force from 2020:
//! - Article 2: the sixteen 国民の祝日, four of them on a Monday ("Happy Monday",
//!   平成10年・13年改正) and the two equinox days, which the Cabinet fixes each
//!   February from the National Astronomical Observatory's ephemeris; here the standard
//!   approximation formula, valid 1980–2099, stands in for that announcement.
//! - Article 3 ⑵ 振替休日: a 国民の祝日 on a Sunday makes the nearest following day that
//!   is not a 国民の祝日 a holiday.
//! - Article 3 ⑶ 国民の休日: a day (not itself a 国民の祝日) between two 国民の祝日.
//!
//! One-off laws that moved or added days, so that past call data is classified right:
//! - 平成30年法律第99号: 2019-05-01 (即位の日) and 2019-10-22 (即位礼正殿の儀) were
//!   holidays treated as 国民の祝日, which made 04-30 and 05-02 国民の休日.
//! - 東京オリンピック・パラリンピック特別措置法 (as amended in 2018 and 2020): 海の日,
//!   スポーツの日 and 山の日 moved in 2020 and 2021.
//!
//! Dates before 2019 follow today's rules except for the emperor's birthday (12-23
//! from 1989 to 2018) and the name 体育の日; older history is out of scope.

use crate::civil::{Date, Weekday};

/// The Japanese name of the holiday on `date`, including 振替休日 and 国民の休日.
pub fn holiday_name(date: Date) -> Option<&'static str> {
    if let Some(name) = national_holiday(date) {
        return Some(name);
    }
    if is_substitute_holiday(date) {
        return Some("振替休日");
    }
    if is_sandwiched(date) {
        return Some("国民の休日");
    }
    None
}

pub fn is_holiday(date: Date) -> bool {
    holiday_name(date).is_some()
}

/// Every holiday of `year` in date order, e.g. for an operator's screen or a report.
pub fn holidays_in_year(year: i32) -> Vec<(Date, &'static str)> {
    let mut out = Vec::new();
    let mut d = Date {
        year,
        month: 1,
        day: 1,
    };
    while d.year == year {
        if let Some(name) = holiday_name(d) {
            out.push((d, name));
        }
        d = d.succ();
    }
    out
}

/// A 国民の祝日 of Article 2, or a one-off day the law treats as one.
fn national_holiday(d: Date) -> Option<&'static str> {
    if let Some(name) = one_off(d) {
        return name;
    }
    let y = d.year;
    let monday = |month, n| Date::nth_weekday(y, month, Weekday::Monday, n) == d;
    let name = match (d.month, d.day) {
        (1, 1) => "元日",
        (1, _) if monday(1, 2) => "成人の日",
        (2, 11) => "建国記念の日",
        (2, 23) if y >= 2020 => "天皇誕生日",
        (3, day) if Some(day) == vernal_equinox_day(y) => "春分の日",
        (4, 29) => "昭和の日",
        (5, 3) => "憲法記念日",
        (5, 4) => "みどりの日",
        (5, 5) => "こどもの日",
        (7, _) if monday(7, 3) => "海の日",
        (8, 11) if y >= 2016 => "山の日",
        (9, _) if monday(9, 3) => "敬老の日",
        (9, day) if Some(day) == autumnal_equinox_day(y) => "秋分の日",
        (10, _) if monday(10, 2) && y >= 2020 => "スポーツの日",
        (10, _) if monday(10, 2) => "体育の日",
        (11, 3) => "文化の日",
        (11, 23) => "勤労感謝の日",
        (12, 23) if (1989..=2018).contains(&y) => "天皇誕生日",
        _ => return None,
    };
    Some(name)
}

/// Days fixed by one-off laws. `Some(None)` means "a regular holiday moved away".
fn one_off(d: Date) -> Option<Option<&'static str>> {
    let moved = |sea: u8, sports: u8, mountain: u8| match (d.month, d.day) {
        (7, day) if day == sea => Some(Some("海の日")),
        (7, day) if day == sports => Some(Some("スポーツの日")),
        (8, day) if day == mountain => Some(Some("山の日")),
        // The regular days of those three holidays are working days in that year.
        (7, _) if Date::nth_weekday(d.year, 7, Weekday::Monday, 3) == d => Some(None),
        (10, _) if Date::nth_weekday(d.year, 10, Weekday::Monday, 2) == d => Some(None),
        (8, 11) => Some(None),
        _ => None,
    };
    match d.year {
        2019 => match (d.month, d.day) {
            (5, 1) => Some(Some("天皇の即位の日")),
            (10, 22) => Some(Some("即位礼正殿の儀の行われる日")),
            _ => None,
        },
        2020 => moved(23, 24, 10),
        2021 => moved(22, 23, 8),
        _ => None,
    }
}

/// 振替休日: walking back over consecutive 国民の祝日 reaches one on a Sunday.
fn is_substitute_holiday(d: Date) -> bool {
    let mut p = d.pred();
    while national_holiday(p).is_some() {
        if p.weekday() == Weekday::Sunday {
            return true;
        }
        p = p.pred();
    }
    false
}

/// 国民の休日: both neighbours are 国民の祝日 (the day itself is not one).
fn is_sandwiched(d: Date) -> bool {
    national_holiday(d.pred()).is_some() && national_holiday(d.succ()).is_some()
}

/// Day of March of 春分の日 by the usual approximation, valid for 1980–2099.
fn vernal_equinox_day(year: i32) -> Option<u8> {
    equinox(year, 20_843_100)
}

/// Day of September of 秋分の日 by the usual approximation, valid for 1980–2099.
fn autumnal_equinox_day(year: i32) -> Option<u8> {
    equinox(year, 23_248_800)
}

/// floor(base + 0.242194 × (y − 1980) − floor((y − 1980) / 4)), in millionths so
/// that no floating-point rounding can move a day.
fn equinox(year: i32, base_millionths: i64) -> Option<u8> {
    if !(1980..=2099).contains(&year) {
        return None;
    }
    let n = i64::from(year - 1980);
    let v = base_millionths + 242_194 * n - 1_000_000 * (n / 4);
    Some((v / 1_000_000) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn equinoxes_match_the_observatory_announcements() {
        // NAOJ 暦要項: 春分 2025-03-20, 2026-03-20, 2027-03-21, 2028-03-20;
        // 秋分 2025-09-23, 2026-09-23, 2027-09-23, 2028-09-22.
        let spring: Vec<_> = (2025..=2028).map(vernal_equinox_day).collect();
        assert_eq!(spring, [Some(20), Some(20), Some(21), Some(20)]);
        let autumn: Vec<_> = (2025..=2028).map(autumnal_equinox_day).collect();
        assert_eq!(autumn, [Some(23), Some(23), Some(23), Some(22)]);
        assert_eq!(vernal_equinox_day(2100), None);
    }

    #[test]
    fn one_off_days_of_2019_to_2021() {
        assert_eq!(holiday_name(d(2019, 4, 30)), Some("国民の休日"));
        assert_eq!(holiday_name(d(2019, 5, 1)), Some("天皇の即位の日"));
        assert_eq!(holiday_name(d(2019, 5, 2)), Some("国民の休日"));
        assert_eq!(
            holiday_name(d(2019, 10, 22)),
            Some("即位礼正殿の儀の行われる日")
        );
        assert_eq!(holiday_name(d(2019, 12, 23)), None);
        assert_eq!(holiday_name(d(2020, 2, 23)), Some("天皇誕生日"));
        assert_eq!(holiday_name(d(2020, 7, 20)), None);
        assert_eq!(holiday_name(d(2020, 7, 23)), Some("海の日"));
        assert_eq!(holiday_name(d(2020, 7, 24)), Some("スポーツの日"));
        assert_eq!(holiday_name(d(2020, 8, 10)), Some("山の日"));
        assert_eq!(holiday_name(d(2020, 8, 11)), None);
        assert_eq!(holiday_name(d(2020, 10, 12)), None);
        assert_eq!(holiday_name(d(2021, 7, 19)), None);
        assert_eq!(holiday_name(d(2021, 7, 22)), Some("海の日"));
        assert_eq!(holiday_name(d(2021, 7, 23)), Some("スポーツの日"));
        // 山の日 2021 fell on Sunday 08-08, so Monday 08-09 was 振替休日.
        assert_eq!(holiday_name(d(2021, 8, 8)), Some("山の日"));
        assert_eq!(holiday_name(d(2021, 8, 9)), Some("振替休日"));
        assert_eq!(holiday_name(d(2021, 10, 11)), None);
    }

    #[test]
    fn substitute_skips_over_consecutive_holidays() {
        // 2025: 憲法記念日 Sat, みどりの日 Sun, こどもの日 Mon -> Tuesday 05-06.
        assert_eq!(holiday_name(d(2025, 5, 6)), Some("振替休日"));
        assert_eq!(holiday_name(d(2025, 5, 7)), None);
    }

    #[test]
    fn years_before_2019_keep_the_old_emperors_birthday() {
        assert_eq!(holiday_name(d(2018, 12, 23)), Some("天皇誕生日"));
        assert_eq!(holiday_name(d(2018, 12, 24)), Some("振替休日"));
        assert_eq!(holiday_name(d(2018, 2, 23)), None);
        assert_eq!(holiday_name(d(2018, 10, 8)), Some("体育の日"));
    }
}
