//! Report periods (第3-4): a day, a month, a fiscal half-year, a fiscal year.
//!
//! A city's year is the fiscal year (年度), April to March: FY2025 runs from 2025-04-01 to
//! 2026-03-31; its first half (上期) is April–September, its second (下期) October–March.
//! Periods are half-open ranges of local dates `[first, end)`.

use dialplan::{Date, LocalDateTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Day(Date),
    Month {
        year: i32,
        month: u8,
    },
    /// Fiscal half: `half` is 1 (April–September) or 2 (October–March).
    Half {
        fiscal_year: i32,
        half: u8,
    },
    Year {
        fiscal_year: i32,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeriodError {
    #[error("「{0}」は日付として読めません。日次は 2026-11-25 のように書いてください")]
    Day(String),
    #[error("「{0}」は月として読めません。月次は 2026-11 のように書いてください")]
    Month(String),
    #[error("「{0}」は半期として読めません。2026H1（2026年度上期、4〜9月）または 2026H2（下期、10〜3月）のように書いてください")]
    Half(String),
    #[error("「{0}」は年度として読めません。2026（2026年4月〜2027年3月）のように書いてください")]
    Year(String),
    #[error("report kind must be daily, monthly, half or yearly, not {0:?}")]
    Kind(String),
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl Period {
    /// `kind` is `daily`, `monthly`, `half` or `yearly`; `text` the period in the form the
    /// error messages show.
    pub fn parse(kind: &str, text: &str) -> Result<Period, PeriodError> {
        let t = text.trim();
        match kind {
            "daily" | "day" => {
                let mut p = t.split('-');
                let d = (|| Date::new(num(p.next()?)?, num(p.next()?)?, num(p.next()?)?))()
                    .filter(|_| p.next().is_none());
                d.map(Period::Day).ok_or_else(|| PeriodError::Day(t.into()))
            }
            "monthly" | "month" => {
                let (y, m) = t
                    .split_once('-')
                    .ok_or_else(|| PeriodError::Month(t.into()))?;
                match (num::<i32>(y), num::<u8>(m)) {
                    (Some(year), Some(month)) if (1..=12).contains(&month) && year > 1970 => {
                        Ok(Period::Month { year, month })
                    }
                    _ => Err(PeriodError::Month(t.into())),
                }
            }
            "half" => {
                let up = t.to_ascii_uppercase();
                let (y, h) = up
                    .rsplit_once('H')
                    .map(|(y, h)| (y.trim_end_matches('-'), h))
                    .ok_or_else(|| PeriodError::Half(t.into()))?;
                match (num::<i32>(y), num::<u8>(h)) {
                    (Some(fiscal_year), Some(half))
                        if (1..=2).contains(&half) && fiscal_year > 1970 =>
                    {
                        Ok(Period::Half { fiscal_year, half })
                    }
                    _ => Err(PeriodError::Half(t.into())),
                }
            }
            "yearly" | "year" => {
                let y = t.strip_prefix("FY").unwrap_or(t);
                num::<i32>(y)
                    .filter(|y| *y > 1970)
                    .map(|fiscal_year| Period::Year { fiscal_year })
                    .ok_or_else(|| PeriodError::Year(t.into()))
            }
            other => Err(PeriodError::Kind(other.into())),
        }
    }

    /// The local dates covered: `[first, end)`.
    pub fn dates(self) -> (Date, Date) {
        let d = |y, m| Date::new(y, m, 1).expect("first of a month");
        match self {
            Period::Day(x) => (x, x.succ()),
            Period::Month { year, month } => (
                d(year, month),
                if month == 12 {
                    d(year + 1, 1)
                } else {
                    d(year, month + 1)
                },
            ),
            Period::Half {
                fiscal_year: y,
                half: 1,
            } => (d(y, 4), d(y, 10)),
            Period::Half { fiscal_year: y, .. } => (d(y, 10), d(y + 1, 4)),
            Period::Year { fiscal_year: y } => (d(y, 4), d(y + 1, 4)),
        }
    }

    /// The same range in unix milliseconds, for local midnight in `offset_minutes`.
    pub fn range_ms(self, offset_minutes: i32) -> (u64, u64) {
        let (a, b) = self.dates();
        (
            date_start_ms(a, offset_minutes),
            date_start_ms(b, offset_minutes),
        )
    }

    /// A Japanese title: 2026年11月25日, 2026年11月, 2026年度上期, 2026年度.
    pub fn title_ja(self) -> String {
        match self {
            Period::Day(d) => format!("{}年{}月{}日", d.year, d.month, d.day),
            Period::Month { year, month } => format!("{year}年{month}月"),
            Period::Half { fiscal_year, half } => {
                format!(
                    "{fiscal_year}年度{}",
                    if half == 1 { "上期" } else { "下期" }
                )
            }
            Period::Year { fiscal_year } => format!("{fiscal_year}年度"),
        }
    }

    /// Short file-name form: 2026-11-25, 2026-11, 2026H1, FY2026.
    pub fn slug(self) -> String {
        match self {
            Period::Day(d) => d.to_string(),
            Period::Month { year, month } => format!("{year}-{month:02}"),
            Period::Half { fiscal_year, half } => format!("{fiscal_year}H{half}"),
            Period::Year { fiscal_year } => format!("FY{fiscal_year}"),
        }
    }
}

pub fn date_start_ms(d: Date, offset_minutes: i32) -> u64 {
    LocalDateTime::at_minutes(d, 0).to_unix(offset_minutes) * 1000
}

/// The local date and hour of a unix-ms instant.
pub fn local_of_ms(ms: u64, offset_minutes: i32) -> LocalDateTime {
    LocalDateTime::from_unix(ms / 1000, offset_minutes)
}

/// The date six months after `d` (same day of the month, clamped to the month's end).
pub fn add_months(d: Date, months: u32) -> Date {
    let m0 = d.month as u32 - 1 + months;
    let year = d.year + (m0 / 12) as i32;
    let month = (m0 % 12 + 1) as u8;
    let day = d.day.min(dialplan::civil::days_in_month(year, month));
    Date::new(year, month, day).expect("valid date")
}

/// The dates of `period` over which the service levels are judged (第3-5 ⑵): the
/// first half-year after the service started (`service_start`) does not count. `None`
/// when the whole period falls inside it.
pub fn judged_dates(period: Period, service_start: Date) -> Option<(Date, Date)> {
    let (a, b) = period.dates();
    let from = a.max(add_months(service_start, 6));
    (from < b).then_some((from, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u8, d: u8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    #[test]
    fn parses_each_kind_and_refuses_nonsense() {
        assert_eq!(
            Period::parse("daily", "2026-11-25"),
            Ok(Period::Day(date(2026, 11, 25)))
        );
        assert_eq!(
            Period::parse("monthly", "2026-02"),
            Ok(Period::Month {
                year: 2026,
                month: 2
            })
        );
        assert_eq!(
            Period::parse("half", "2025h2"),
            Ok(Period::Half {
                fiscal_year: 2025,
                half: 2
            })
        );
        assert_eq!(
            Period::parse("yearly", "FY2025"),
            Ok(Period::Year { fiscal_year: 2025 })
        );
        assert!(matches!(
            Period::parse("daily", "2026-02-30"),
            Err(PeriodError::Day(_))
        ));
        assert!(matches!(
            Period::parse("monthly", "2026-13"),
            Err(PeriodError::Month(_))
        ));
        assert!(matches!(
            Period::parse("half", "2026H3"),
            Err(PeriodError::Half(_))
        ));
        assert!(matches!(
            Period::parse("yearly", "-1"),
            Err(PeriodError::Year(_))
        ));
        assert!(matches!(
            Period::parse("weekly", "x"),
            Err(PeriodError::Kind(_))
        ));
    }

    #[test]
    fn fiscal_periods_run_april_to_march() {
        assert_eq!(
            Period::Year { fiscal_year: 2025 }.dates(),
            (date(2025, 4, 1), date(2026, 4, 1))
        );
        assert_eq!(
            Period::Half {
                fiscal_year: 2025,
                half: 2
            }
            .dates(),
            (date(2025, 10, 1), date(2026, 4, 1))
        );
        assert_eq!(
            Period::Month {
                year: 2025,
                month: 12
            }
            .dates(),
            (date(2025, 12, 1), date(2026, 1, 1))
        );
        // JST midnight is 15:00 UTC the day before.
        let (a, _) = Period::Day(date(2026, 1, 1)).range_ms(540);
        assert_eq!(a, 1_767_193_200_000);
    }

    #[test]
    fn the_first_half_year_after_the_start_is_not_judged() {
        let start = date(2025, 7, 1);
        // FY2025 (2025-04 … 2026-03): only January to March 2026 count.
        assert_eq!(
            judged_dates(Period::Year { fiscal_year: 2025 }, start),
            Some((date(2026, 1, 1), date(2026, 4, 1)))
        );
        // FY2026 is judged whole.
        assert_eq!(
            judged_dates(Period::Year { fiscal_year: 2026 }, start),
            Some((date(2026, 4, 1), date(2027, 4, 1)))
        );
        assert_eq!(
            judged_dates(
                Period::Half {
                    fiscal_year: 2025,
                    half: 1
                },
                start
            ),
            None
        );
        assert_eq!(add_months(date(2025, 8, 31), 6), date(2026, 2, 28));
    }
}
