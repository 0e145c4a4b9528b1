//! The indicators against tables computed by hand (the expected numbers are worked out in
//! the comments, not by the code under test).

mod common;

use common::*;
use stats::kpi::{open_hours, Breakdown};
use stats::period::{judged_dates, Period};
use stats::record::Phase;

fn close(a: Option<f64>, b: f64) {
    let a = a.expect("a value");
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn one_day_by_hand() {
    let recs = ten_calls();
    let (from, to) = Period::Day(date(2026, 11, 25)).range_ms(JST);
    let b = Breakdown::of(&recs, from, to, JST);
    let t = &b.total;
    // Offered: 1-7 and 10 (8 is after hours, 9 outbound) = 8; answered 1,2,3,6,10 = 5.
    assert_eq!((t.offered, t.answered, t.after_hours), (8, 5, 1));
    assert_eq!(
        (t.abandoned, t.abandoned_greeting, t.abandoned_queue),
        (2, 1, 1)
    );
    assert_eq!(t.callbacks, 1);
    close(t.answer_rate(), 5.0 / 8.0);
    // ASA: (6 + 12 + 9 + 3 + 20) / 5 = 10 s; within 9 s: calls 1, 3, 6.
    close(t.average_speed_of_answer(), 10.0);
    assert_eq!(t.answered_in_target, 3);
    // Abandon: (30 + 4) / 2 = 17 s (the callback request is not an abandon).
    close(t.average_abandon_time(), 17.0);
    // Talk: (120 + 60 + 200 + 90 + 100) / 5 = 114 s; handle adds 30+20+40+0+10 → 134 s.
    close(t.average_talk_time(), 114.0);
    close(t.average_handle_time(), 134.0);
    // Switchboard 1 (call 2), handover 1 (call 3), not completed 1 (call 6), unknown 1 (call 1).
    assert_eq!(
        (
            t.switchboard,
            t.handover,
            t.not_completed,
            t.resolution_unknown
        ),
        (1, 1, 1, 1)
    );
    // 一次応対完了率 = (5 - 1) / 5; 一次回答率 = (4 - 1 handover - 1 not completed) / (5 - 1).
    close(t.first_contact_completion(), 0.8);
    close(t.first_answer_rate(), 0.5);
    // Satisfaction: answers 5 and 3 → one of two is 4 or more.
    close(t.satisfaction(), 0.5);
    // By hour: 9 h: 3 offered 3 answered; 10 h: 3/1; 11 h: 2/1; 20 h: nothing offered.
    let h: Vec<(u64, u64)> = [9, 10, 11, 20]
        .iter()
        .map(|&i| (t.by_hour[i].offered, t.by_hour[i].answered))
        .collect();
    assert_eq!(h, vec![(3, 3), (3, 1), (2, 1), (0, 0)]);
    // Per line: 市代表 offered 1,2,4,6,7 answered 1,2,6; 小名浜支所 3,5,10 answered 3,10.
    let main = &b.by_line["市代表"];
    let ona = &b.by_line["小名浜支所"];
    assert_eq!(
        (main.offered, main.answered, ona.offered, ona.answered),
        (5, 3, 3, 2)
    );
    close(ona.answer_rate(), 2.0 / 3.0);
    // The greeting abandon never reached a queue.
    assert_eq!(b.by_queue[""].offered, 1);
    assert_eq!(b.by_queue["main"].offered, 7);
    // A weekday is open 08:30–19:00: 10.5 h, so 5 / 10.5 answered per hour.
    let cal = dialplan::Calendar::new(&dialplan::default_config().hours);
    let hours = open_hours(&cal, date(2026, 11, 25), date(2026, 11, 26));
    assert_eq!(hours, 10.5);
    close(t.answered_per_hour(hours), 5.0 / 10.5);
}

#[test]
fn nothing_offered_gives_no_rates_rather_than_zero_or_nan() {
    let b = Breakdown::of(&[], 0, u64::MAX, JST);
    assert_eq!(b.total.answer_rate(), None);
    assert_eq!(b.total.average_speed_of_answer(), None);
    assert_eq!(b.total.first_answer_rate(), None);
    assert_eq!(b.total.satisfaction(), None);
}

#[test]
fn open_hours_follow_the_calendar() {
    let cal = dialplan::Calendar::new(&dialplan::default_config().hours);
    // 2026-12-28 (Mon) open 10.5 h; 29 Dec – 3 Jan closed; 2027-01-04 (Mon) 10.5 h.
    assert_eq!(open_hours(&cal, date(2026, 12, 28), date(2027, 1, 5)), 21.0);
    // Saturday 2026-11-28: 08:30–17:00 = 8.5 h; Monday 2026-11-23 勤労感謝の日 8.5 h.
    assert_eq!(
        open_hours(&cal, date(2026, 11, 28), date(2026, 11, 29)),
        8.5
    );
    assert_eq!(
        open_hours(&cal, date(2026, 11, 23), date(2026, 11, 24)),
        8.5
    );
}

/// FY2025 with the service starting 2025-07-01. The yearly figure the targets are judged
/// on (第3-5 ⑵) leaves out July–December 2025.
///
/// | when       | offered | answered | waits (s)   |
/// |------------|---------|----------|-------------|
/// | 2025-08-04 | 4       | 1        | 60          |
/// | 2025-12-01 | 2       | 2        | 30, 30      |
/// | 2026-01-05 | 3       | 3        | 4, 8, 6     |
/// | 2026-03-02 | 2       | 1        | 2           |
///
/// Whole year: 7/11 answered, ASA (60+30+30+4+8+6+2)/7 = 20 s.
/// Judged (Jan–Mar): 4/5 = 80 %, ASA (4+8+6+2)/4 = 5 s.
#[test]
fn yearly_average_leaves_out_the_first_half_year() {
    let mut recs = vec![];
    let mut n = 0;
    let mut day =
        |recs: &mut Vec<_>, (y, m, d): (i32, u8, u8), waits: &[u64], unanswered: usize| {
            for w in waits {
                n += 1;
                recs.push(answered(
                    call(&n.to_string(), "市代表", at(y, m, d, 10, n as u8, 0)),
                    *w,
                    60,
                    0,
                ));
            }
            for _ in 0..unanswered {
                n += 1;
                recs.push(abandoned(
                    call(&n.to_string(), "市代表", at(y, m, d, 11, n as u8, 0)),
                    50,
                    Phase::Queue,
                ));
            }
        };
    day(&mut recs, (2025, 8, 4), &[60], 3);
    day(&mut recs, (2025, 12, 1), &[30, 30], 0);
    day(&mut recs, (2026, 1, 5), &[4, 8, 6], 0);
    day(&mut recs, (2026, 3, 2), &[2], 1);

    let year = Period::Year { fiscal_year: 2025 };
    let (from, to) = year.range_ms(JST);
    let whole = Breakdown::of(&recs, from, to, JST).total;
    assert_eq!((whole.offered, whole.answered), (11, 7));
    close(whole.average_speed_of_answer(), 20.0);

    let (a, b) = judged_dates(year, date(2025, 7, 1)).unwrap();
    let judged = Breakdown::of(
        &recs,
        stats::period::date_start_ms(a, JST),
        stats::period::date_start_ms(b, JST),
        JST,
    )
    .total;
    assert_eq!((judged.offered, judged.answered), (5, 4));
    close(judged.answer_rate(), 0.8);
    close(judged.average_speed_of_answer(), 5.0);

    // The year is the sum of its months (ratios of sums, not means of monthly ratios).
    let mut merged = stats::Tally::default();
    for m in [(2025, 8), (2025, 12), (2026, 1), (2026, 3)] {
        let (f, t) = Period::Month {
            year: m.0,
            month: m.1,
        }
        .range_ms(JST);
        merged.merge(&Breakdown::of(&recs, f, t, JST).total);
    }
    assert_eq!(merged, whole);
}
