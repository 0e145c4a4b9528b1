//! Civil dates without a time-zone database: the city is in Japan (UTC+9, no daylight
//! saving), so a fixed offset from the configuration is exact. The day arithmetic is
//! the dialplan's (`dialplan::Date`, the one implementation in the workspace).

use dialplan::Date;

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

/// Local civil date and time of `secs` at `offset` seconds east of UTC.
pub fn local_parts(secs: i64, offset: i32) -> (i64, u32, u32, u32, u32, u32) {
    let l = secs + offset as i64;
    let date = Date::from_days_since_epoch(l.div_euclid(86_400));
    let s = l.rem_euclid(86_400);
    (
        date.year as i64,
        date.month as u32,
        date.day as u32,
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
    if !(1970..=9999).contains(&y) || m > 12 || d > 31 {
        return None;
    }
    // Date::new refuses 2026-02-31 and friends.
    let date = Date::new(y as i32, m as u8, d as u8)?;
    Some(date.days_since_epoch() * 86_400 - offset as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japan_date_changes_at_15_utc() {
        // 2026-11-25 14:59:59 UTC is 23:59:59 JST; one second later it is the 26th.
        let day = Date::new(2026, 11, 25).unwrap().days_since_epoch();
        let t = day * 86_400 + 14 * 3600 + 59 * 60 + 59;
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
