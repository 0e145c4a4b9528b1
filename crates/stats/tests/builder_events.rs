//! Records built from call control's events: a call with a missed offer, an attended
//! transfer and after-call work; a caller lost in the greeting; events of unknown calls.

use callctl::event::{CallUid, Event, EventKind, Origin, Party, Phase, TransferKind};
use stats::builder::{Recorder, WrapupJoin};
use stats::record::{Outcome, TransferPurpose};

fn ev(call: &str, at_ms: u64, kind: EventKind) -> Event {
    Event {
        call: CallUid(call.into()),
        at_ms,
        kind,
    }
}

fn arrived(call: &str, at: u64) -> Event {
    ev(
        call,
        at,
        EventKind::Arrived {
            origin: Origin::Citizen,
            trunk: "carrier".into(),
            dialled: "+81246542111".into(),
            line: "小名浜支所".into(),
            caller: "0246991234".into(),
        },
    )
}

#[test]
fn a_transferred_call_with_after_call_work() {
    let mut rec = Recorder::new();
    let t0 = 1_795_563_000_000;
    let s = |x: u64| t0 + x * 1000;
    let agent = |a: &str| a.to_string();
    let events = [
        arrived("c1", s(0)),
        ev("c1", s(8), EventKind::GreetingDone),
        ev(
            "c1",
            s(8),
            EventKind::Queued {
                queue: "main".into(),
                priority: 0,
            },
        ),
        ev(
            "c1",
            s(10),
            EventKind::Offered {
                agent: agent("1001"),
            },
        ),
        ev(
            "c1",
            s(25),
            EventKind::OfferEnded {
                agent: agent("1001"),
                status: 408,
            },
        ),
        ev(
            "c1",
            s(26),
            EventKind::Offered {
                agent: agent("1002"),
            },
        ),
        ev(
            "c1",
            s(30),
            EventKind::Answered {
                agent: agent("1002"),
            },
        ),
        ev(
            "c1",
            s(100),
            EventKind::TransferStarted {
                agent: agent("1002"),
                kind: TransferKind::Attended,
                target: "税務課".into(),
            },
        ),
        ev(
            "c1",
            s(130),
            EventKind::TransferCompleted {
                agent: agent("1002"),
                target: "税務課".into(),
            },
        ),
        ev(
            "c1",
            s(130),
            EventKind::OperatorLeft {
                agent: agent("1002"),
            },
        ),
    ];
    for e in &events {
        assert_eq!(rec.on_event(e), None);
    }
    assert_eq!(rec.live().len(), 1);
    // Wrap-up ends while the caller still talks to the department: kept for the record.
    assert_eq!(rec.on_wrapup_end("1002", s(150)), WrapupJoin::Pending);
    let r = rec
        .on_event(&ev(
            "c1",
            s(400),
            EventKind::Ended {
                phase: Phase::Talking,
                by: Party::Department,
                outcome: "transferred".into(),
            },
        ))
        .expect("the record");
    assert!(rec.live().is_empty());
    assert_eq!(r.outcome(), Outcome::Answered);
    assert_eq!(
        (r.line.as_str(), r.queue.as_deref(), r.agent.as_deref()),
        ("小名浜支所", Some("main"), Some("1002"))
    );
    assert_eq!(r.offers.len(), 2);
    assert_eq!(
        (r.offers[0].status, r.offers[0].ended_ms),
        (Some(408), Some(s(25)))
    );
    assert_eq!(
        (r.offers[1].status, r.offers[1].ended_ms),
        (None, Some(s(30)))
    );
    assert_eq!(r.answer_wait_ms(), Some(30_000));
    assert_eq!(
        r.talk_ms(),
        Some(100_000),
        "talk ends when the operator left, not at the call's end"
    );
    assert_eq!(r.after_call_work_ms(), Some(20_000));
    assert_eq!(r.completed_transfer(), Some(TransferPurpose::Handover));
    assert_eq!((r.ended_ms, r.ended_by), (s(400), Party::Department));
}

#[test]
fn wrapup_after_the_record_is_written_is_joined_by_uid() {
    let mut rec = Recorder::new();
    rec.on_event(&arrived("c2", 1_000));
    rec.on_event(&ev(
        "c2",
        5_000,
        EventKind::Answered {
            agent: "1001".into(),
        },
    ));
    let r = rec
        .on_event(&ev(
            "c2",
            65_000,
            EventKind::Ended {
                phase: Phase::Talking,
                by: Party::Citizen,
                outcome: "answered".into(),
            },
        ))
        .unwrap();
    assert_eq!(
        (r.talk_ms(), r.after_call_work_ms()),
        (Some(60_000), Some(0))
    );
    assert_eq!(
        rec.on_wrapup_end("1001", 95_000),
        WrapupJoin::Written {
            uid: "c2".into(),
            at_ms: 95_000
        }
    );
    assert_eq!(rec.on_wrapup_end("1001", 96_000), WrapupJoin::None);
}

#[test]
fn greeting_abandon_unknown_calls_and_expiry() {
    let mut rec = Recorder::new();
    rec.on_event(&arrived("c3", 1_000));
    let r = rec
        .on_event(&ev(
            "c3",
            4_000,
            EventKind::Ended {
                phase: Phase::Greeting,
                by: Party::Citizen,
                outcome: "abandoned".into(),
            },
        ))
        .unwrap();
    assert_eq!(r.outcome(), Outcome::Abandoned(Phase::Greeting));
    assert_eq!(r.abandon_wait_ms(), Some(3_000));
    // An event for a call that never arrived (a restart mid-call) is counted, not a panic.
    assert_eq!(
        rec.on_event(&ev("ghost", 5_000, EventKind::GreetingDone)),
        None
    );
    assert_eq!(rec.orphan_events, 1);
    // A call whose end never comes is closed as the switch's failure after the limit.
    rec.on_event(&arrived("c4", 10_000));
    assert!(rec.expire(20_000, 60_000).is_empty());
    let gone = rec.expire(80_000, 60_000);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].outcome(), Outcome::Failed);
}

#[test]
fn a_supervision_is_kept_in_the_record_with_its_times() {
    use callctl::event::SuperviseMode;
    let mut rec = Recorder::new();
    let t0 = 1_795_563_000_000;
    let s = |x: u64| t0 + x * 1000;
    let events = [
        arrived("c9", s(0)),
        ev(
            "c9",
            s(5),
            EventKind::Answered {
                agent: "1001".into(),
            },
        ),
        ev(
            "c9",
            s(20),
            EventKind::SupervisionStarted {
                supervisor: "1901".into(),
                agent: "1001".into(),
                mode: SuperviseMode::Whisper,
            },
        ),
        ev(
            "c9",
            s(50),
            EventKind::SupervisionEnded {
                supervisor: "1901".into(),
            },
        ),
        ev(
            "c9",
            s(60),
            EventKind::SupervisionStarted {
                supervisor: "1902".into(),
                agent: "1001".into(),
                mode: SuperviseMode::Barge,
            },
        ),
        ev(
            "c9",
            s(90),
            EventKind::Ended {
                phase: Phase::Talking,
                by: Party::Citizen,
                outcome: "answered".into(),
            },
        ),
    ];
    let mut done = None;
    for e in &events {
        done = rec.on_event(e).or(done);
    }
    let r = done.expect("the record is written at the end");
    assert_eq!(r.supervisions.len(), 2);
    assert_eq!(r.supervisions[0].mode, SuperviseMode::Whisper);
    assert_eq!(
        (r.supervisions[0].at_ms, r.supervisions[0].ended_ms),
        (s(20), Some(s(50)))
    );
    // The second never said it ended before the call did: open, not invented.
    assert_eq!(r.supervisions[1].supervisor, "1902");
    assert_eq!(r.supervisions[1].ended_ms, None);
    assert_eq!(
        r.outcome(),
        Outcome::Answered,
        "supervision changes no figure"
    );
}

#[test]
fn the_survey_answer_is_in_the_record_and_feeds_satisfaction() {
    let mut rec = Recorder::new();
    let t0 = 1_795_563_000_000;
    let mut records = Vec::new();
    for (i, score) in [Some(5u8), Some(4), Some(2), None].into_iter().enumerate() {
        let c = format!("s{i}");
        let mut events = vec![
            arrived(&c, t0),
            ev(
                &c,
                t0 + 5_000,
                EventKind::Answered {
                    agent: "1001".into(),
                },
            ),
            ev(
                &c,
                t0 + 60_000,
                EventKind::OperatorLeft {
                    agent: "1001".into(),
                },
            ),
            ev(&c, t0 + 60_000, EventKind::SurveyOffered),
        ];
        if let Some(score) = score {
            events.push(ev(&c, t0 + 70_000, EventKind::SurveyAnswered { score }));
        }
        events.push(ev(
            &c,
            t0 + 75_000,
            EventKind::Ended {
                phase: Phase::Talking,
                by: Party::Citizen,
                outcome: "answered".into(),
            },
        ));
        for e in &events {
            records.extend(rec.on_event(e));
        }
    }
    let scores: Vec<_> = records.iter().map(|r| r.survey).collect();
    assert_eq!(scores, [Some(5), Some(4), Some(2), None]);
    // The talk time ends when the operator left, not with the survey.
    assert_eq!(records[0].talk_ms(), Some(55_000));
    let mut k = stats::kpi::Tally::default();
    for r in &records {
        k.add(r, 540);
    }
    let s = k.satisfaction().unwrap();
    assert!(
        (s - 2.0 / 3.0).abs() < 1e-9,
        "two of three answers are 4 or 5: {s}"
    );
}

#[test]
fn a_called_back_citizens_rating_counts_for_satisfaction_not_as_an_offered_call() {
    let mut rec = Recorder::new();
    let t0 = 1_795_563_000_000;
    let events = [
        ev(
            "cb",
            t0,
            EventKind::Arrived {
                origin: Origin::Callback,
                trunk: String::new(),
                dialled: "+81246221111".into(),
                line: "市代表".into(),
                caller: "0246991234".into(),
            },
        ),
        ev(
            "cb",
            t0 + 3_000,
            EventKind::Answered {
                agent: "1001".into(),
            },
        ),
        ev("cb", t0 + 60_000, EventKind::SurveyAnswered { score: 5 }),
        ev(
            "cb",
            t0 + 65_000,
            EventKind::Ended {
                phase: Phase::Talking,
                by: Party::Switch,
                outcome: "callback".into(),
            },
        ),
    ];
    let mut done = None;
    for e in &events {
        done = rec.on_event(e).or(done);
    }
    let r = done.unwrap();
    let mut k = stats::kpi::Tally::default();
    k.add(&r, 540);
    assert_eq!(k.offered, 0, "a callback is not an offered call");
    assert_eq!(k.satisfaction(), Some(1.0));
}
