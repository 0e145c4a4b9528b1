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
