//! Records for the tests, written the way a hand-made table reads.
#![allow(dead_code)]

use dialplan::{Date, LocalDateTime};
use stats::record::{
    CallRecord, Origin, Party, Phase, Resolution, Transfer, TransferKind, TransferPurpose,
};

pub const JST: i32 = 540;

/// Unix ms of a local (JST) time.
pub fn at(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u32) -> u64 {
    let t = LocalDateTime::new(y, mo, d, h, mi).unwrap();
    (t.to_unix(JST) + u64::from(s)) * 1000
}

pub fn date(y: i32, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

/// A citizen's call on `line` that arrived at `arrived`, not yet answered or ended.
pub fn call(uid: &str, line: &str, arrived: u64) -> CallRecord {
    CallRecord {
        uid: uid.into(),
        origin: Origin::Citizen,
        trunk: "carrier".into(),
        dialled: match line {
            "小名浜支所" => "+81246542111".into(),
            _ => "+81246221111".into(),
        },
        line: line.into(),
        caller: "0246991234".into(),
        arrived_ms: arrived,
        greeting_done_ms: Some(arrived + 3_000),
        queued_ms: Some(arrived + 3_000),
        queue: Some("main".into()),
        offers: vec![],
        answered_ms: None,
        agent: None,
        operator_left_ms: None,
        wrapup_end_ms: None,
        transfers: vec![],
        callback_number: None,
        overflowed_to: None,
        after_hours: false,
        ended_ms: arrived,
        end_phase: Phase::Queue,
        ended_by: Party::Citizen,
        survey: None,
        resolution: None,
        supervisions: vec![],
    }
}

/// Answered `wait_s` after arrival, `talk_s` of talk, `acw_s` of after-call work (0 =
/// not reported).
pub fn answered(mut r: CallRecord, wait_s: u64, talk_s: u64, acw_s: u64) -> CallRecord {
    let a = r.arrived_ms + wait_s * 1000;
    r.answered_ms = Some(a);
    r.agent = Some("1001".into());
    r.operator_left_ms = Some(a + talk_s * 1000);
    r.ended_ms = a + talk_s * 1000;
    r.end_phase = Phase::Talking;
    r.ended_by = Party::Operator;
    r.wrapup_end_ms = (acw_s > 0).then(|| a + (talk_s + acw_s) * 1000);
    r
}

/// The operator's talk ended with a completed transfer of this kind; the caller stayed
/// on with the department for `after_s` more.
pub fn transferred(mut r: CallRecord, kind: TransferKind, after_s: u64) -> CallRecord {
    let left = r.operator_left_ms.unwrap();
    r.transfers.push(Transfer {
        at_ms: left - 10_000,
        agent: "1001".into(),
        kind,
        purpose: TransferPurpose::from_kind(kind),
        target: "税務課".into(),
        completed_ms: Some(left),
        failed: None,
    });
    r.ended_ms = left + after_s * 1000;
    r.ended_by = Party::Department;
    r
}

/// The caller hung up `after_s` after arrival, in `phase`.
pub fn abandoned(mut r: CallRecord, after_s: u64, phase: Phase) -> CallRecord {
    r.ended_ms = r.arrived_ms + after_s * 1000;
    r.end_phase = phase;
    r.ended_by = Party::Citizen;
    if phase == Phase::Greeting {
        r.greeting_done_ms = None;
        r.queued_ms = None;
        r.queue = None;
    }
    r
}

pub fn with_resolution(mut r: CallRecord, res: Resolution) -> CallRecord {
    r.resolution = Some(res);
    r
}

pub fn with_survey(mut r: CallRecord, s: u8) -> CallRecord {
    r.survey = Some(s);
    r
}

/// Ten calls on Wednesday 2026-11-25 (JST):
///
/// | # | time  | line     | what                                   | wait | talk | acw |
/// |---|-------|----------|----------------------------------------|------|------|-----|
/// | 1 | 09:00 | 市代表   | answered                               | 6    | 120  | 30  |
/// | 2 | 09:10 | 市代表   | answered, blind transfer (電話交換)     | 12   | 60   | 20  |
/// | 3 | 09:20 | 小名浜   | answered, attended transfer (取次ぎ)    | 9    | 200  | 40  |
/// | 4 | 10:05 | 市代表   | hung up in the queue after 30 s        |      |      |     |
/// | 5 | 10:06 | 小名浜   | hung up in the greeting after 4 s      |      |      |     |
/// | 6 | 10:30 | 市代表   | answered, history: not completed, 5/5  | 3    | 90   | —   |
/// | 7 | 11:00 | 市代表   | asked for a callback                   |      |      |     |
/// | 8 | 20:00 | 市代表   | after hours                            |      |      |     |
/// | 9 | 11:30 | —        | the center calling back (outbound)     |      |      |     |
/// |10 | 11:40 | 小名浜   | answered, history: completed, 3/5      | 20   | 100  | 10  |
pub fn ten_calls() -> Vec<stats::CallRecord> {
    let t = |h, m| at(2026, 11, 25, h, m, 0);
    let mut cb = abandoned(call("7", "市代表", t(11, 0)), 40, Phase::Queue);
    cb.callback_number = Some("0246991234".into());
    let mut ah = call("8", "市代表", t(20, 0));
    ah.after_hours = true;
    ah.queue = None;
    ah.end_phase = Phase::Forward;
    let mut out = answered(call("9", "", t(11, 30)), 0, 60, 0);
    out.origin = Origin::Callback;
    vec![
        answered(call("1", "市代表", t(9, 0)), 6, 120, 30),
        transferred(
            answered(call("2", "市代表", t(9, 10)), 12, 60, 20),
            TransferKind::Blind,
            240,
        ),
        transferred(
            answered(call("3", "小名浜支所", t(9, 20)), 9, 200, 40),
            TransferKind::Attended,
            100,
        ),
        abandoned(call("4", "市代表", t(10, 5)), 30, Phase::Queue),
        abandoned(call("5", "小名浜支所", t(10, 6)), 4, Phase::Greeting),
        with_survey(
            with_resolution(
                answered(call("6", "市代表", t(10, 30)), 3, 90, 0),
                Resolution::NotCompleted,
            ),
            5,
        ),
        cb,
        ah,
        out,
        with_survey(
            with_resolution(
                answered(call("10", "小名浜支所", t(11, 40)), 20, 100, 10),
                Resolution::Completed,
            ),
            3,
        ),
    ]
}
