//! Call records for the statistics tests, written through the record builder as call
//! control's events would produce them.
#![allow(dead_code)]

use callctl::event::{CallUid, Event, EventKind, Origin, Party, Phase};
use std::path::Path;

/// 2026-11-25 09:00 JST in unix ms.
const NINE: u64 = 1_795_564_800_000;

fn ev(call: &str, at_ms: u64, kind: EventKind) -> Event {
    Event {
        call: CallUid(call.into()),
        at_ms,
        kind,
    }
}

/// Four calls through the record builder: two answered (waits 5 s and 15 s), one
/// abandoned in the queue, one on the Onahama line answered in 4 s.
pub fn write_records(db: &Path) {
    let store = stats::Store::open(db).unwrap();
    let mut rec = stats::Recorder::new();
    let calls: [(&str, &str, &str, u64, Option<u64>); 4] = [
        ("a", "市代表", "+81246221111", 0, Some(5)),
        ("b", "市代表", "+81246221111", 600, Some(15)),
        ("c", "市代表", "+81246221111", 1200, None),
        ("d", "小名浜支所", "+81246542111", 1800, Some(4)),
    ];
    for (uid, line, dialled, start, answer) in calls {
        let t = NINE + start * 1000;
        let mut evs = vec![
            ev(
                uid,
                t,
                EventKind::Arrived {
                    origin: Origin::Citizen,
                    trunk: "carrier".into(),
                    dialled: dialled.into(),
                    line: line.into(),
                    caller: "0246990000".into(),
                },
            ),
            ev(uid, t + 2000, EventKind::GreetingDone),
            ev(
                uid,
                t + 2000,
                EventKind::Queued {
                    queue: "main".into(),
                    priority: 0,
                },
            ),
        ];
        match answer {
            Some(w) => {
                evs.push(ev(
                    uid,
                    t + w * 1000,
                    EventKind::Answered {
                        agent: "1001".into(),
                    },
                ));
                evs.push(ev(
                    uid,
                    t + (w + 60) * 1000,
                    EventKind::Ended {
                        phase: Phase::Talking,
                        by: Party::Citizen,
                        outcome: "answered".into(),
                    },
                ));
            }
            None => evs.push(ev(
                uid,
                t + 40_000,
                EventKind::Ended {
                    phase: Phase::Queue,
                    by: Party::Citizen,
                    outcome: "abandoned".into(),
                },
            )),
        }
        for e in &evs {
            if let Some(r) = rec.on_event(e) {
                store.insert(&r).unwrap();
            }
        }
    }
}
