//! Civil dates without a time-zone database: the city is in Japan (UTC+9, no daylight
//! saving), so a fixed offset from the configuration is exact and needs no dependency.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (negative before 1970, which never happens here).
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

pub fn from_unix_secs(s: i64) -> SystemTime {
    if s >= 0 {
        UNIX_EPOCH + Duration::from_secs(s as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(s.unsigned_abs())
    }
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day count since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Local civil date and time of `secs` at `offset` seconds east of UTC.
pub fn local_parts(secs: i64, offset: i32) -> (i64, u32, u32, u32, u32, u32) {
    let l = secs + offset as i64;
    let (y, mo, d) = civil_from_days(l.div_euclid(86_400));
    let s = l.rem_euclid(86_400);
    (
        y,
        mo,
        d,
        (s / 3600) as u32,
        (s / 60 % 60) as u32,
        (s % 60) as u32,
    )
}

/// `2026-11-25 14:03:09` in local time.
pub fn format_local(secs: i64, offset: i32) -> String {
    let (y, mo, d, h, mi, s) = local_parts(secs, offset);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// Parses `YYYY-MM-DD` as the local midnight that starts that day, in Unix seconds.
pub fn parse_local_date(s: &str, offset: i32) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > 31 || !(1970..=9999).contains(&y) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Reject 2026-02-31 and friends: the round trip must give the same date back.
    if civil_from_days(days) != (y, m, d) {
        return None;
    }
    Some(days * 86_400 - offset as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in (-1000..40_000).step_by(7) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn japan_date_changes_at_15_utc() {
        // 2026-11-25 14:59:59 UTC is 23:59:59 JST; one second later it is the 26th.
        let t = days_from_civil(2026, 11, 25) * 86_400 + 14 * 3600 + 59 * 60 + 59;
        assert_eq!(format_local(t, 9 * 3600), "2026-11-25 23:59:59");
        assert_eq!(format_local(t + 1, 9 * 3600), "2026-11-26 00:00:00");
    }

    #[test]
    fn dates_are_parsed_strictly() {
        assert_eq!(parse_local_date("1970-01-02", 0), Some(86_400));
        assert_eq!(parse_local_date("2026-02-31", 0), None);
        assert_eq!(parse_local_date("2026-13-01", 0), None);
        assert_eq!(parse_local_date("yesterday", 0), None);
    }
}
