//! The service inside the switch: events in, today's figures out (for the wallboard), the
//! record in SQLite, the metrics counted; after-call work joined after the record exists.

use callctl::event::{CallUid, Event, EventKind, Origin, Party, Phase};
use std::time::{Duration, Instant};

fn ev(at_ms: u64, kind: EventKind) -> Event {
    Event {
        call: CallUid("svc-1".into()),
        at_ms,
        kind,
    }
}

/// The service on a fresh database in a temporary folder named `name`, its clock fixed at
/// `now_ms`: the handle, the folder, the database file and the metrics registry.
fn start_service(
    name: &str,
    now_ms: u64,
) -> (
    stats::StatsHandle,
    std::path::PathBuf,
    std::path::PathBuf,
    prometheus::Registry,
) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = dir.join("calls.sqlite");
    let reg = prometheus::Registry::new();
    let h = stats::service::start(
        stats::StatsConfig {
            db: db.clone(),
            lines: vec!["市代表".into()],
            queues: vec!["main".into()],
            offset_minutes: 540,
            retention_days: 92,
        },
        &reg,
        move || now_ms,
    )
    .unwrap();
    (h, dir, db, reg)
}

#[tokio::test]
async fn events_become_a_stored_record_todays_figures_and_metrics() {
    // 2026-11-25 10:00 JST.
    let t0 = 1_795_568_400_000u64;
    let (h, dir, db, reg) = start_service("stats-service", t0 + 120_000);
    let arrived = EventKind::Arrived {
        origin: Origin::Citizen,
        trunk: "carrier".into(),
        dialled: "+81246221111".into(),
        line: "市代表".into(),
        caller: "0246991234".into(),
    };
    h.event(ev(t0, arrived));
    h.event(ev(
        t0 + 7_000,
        EventKind::Answered {
            agent: "1001".into(),
        },
    ));
    h.event(ev(
        t0 + 67_000,
        EventKind::Ended {
            phase: Phase::Talking,
            by: Party::Citizen,
            outcome: "answered".into(),
        },
    ));
    let mut today = h.today.clone();
    let start = Instant::now();
    while today.borrow().total.answered < 1 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "today's figures never showed the call"
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), today.changed()).await;
    }
    assert_eq!(today.borrow().by_line["市代表"].offered, 1);
    h.wrapup_end("1001", t0 + 97_000);
    // The writer thread commits the record, then the after-call work.
    let store = stats::Store::open(&db).unwrap();
    let start = Instant::now();
    loop {
        let r = store.get("svc-1").unwrap();
        if let Some(r) = r.filter(|r| r.wrapup_end_ms.is_some()) {
            assert_eq!(r.after_call_work_ms(), Some(30_000));
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "record or its wrap-up not written"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = {
        use prometheus::Encoder;
        let mut b = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&reg.gather(), &mut b)
            .unwrap();
        String::from_utf8(b).unwrap()
    };
    assert!(
        text.contains("madoguchi_line_answered_total{line=\"市代表\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("madoguchi_answer_wait_seconds_sum{queue=\"other\"} 7"),
        "{text}"
    );
    assert_eq!(h.dropped(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A burst of ended calls larger than any fixed inbox (a busy hour ending at once, or the
/// service thread descheduled on a loaded machine): every call still gets its record and
/// nothing is counted as dropped. The events are all handed over before the service task
/// runs once (a current-thread runtime), so a bounded inbox would have to refuse some.
#[tokio::test(flavor = "current_thread")]
async fn a_burst_of_calls_loses_no_record() {
    // 2026-11-25 10:00 JST.
    let t0 = 1_795_568_400_000u64;
    let (h, dir, db, _reg) = start_service("stats-burst", t0 + 120_000);
    const CALLS: u64 = 3_000;
    for i in 0..CALLS {
        let call = CallUid(format!("burst-{i}"));
        let at = t0 + i;
        let send = |at_ms, kind| {
            h.event(Event {
                call: call.clone(),
                at_ms,
                kind,
            })
        };
        send(
            at,
            EventKind::Arrived {
                origin: Origin::Citizen,
                trunk: "carrier".into(),
                dialled: "+81246221111".into(),
                line: "市代表".into(),
                caller: "0246991234".into(),
            },
        );
        send(
            at + 1,
            EventKind::Answered {
                agent: "1001".into(),
            },
        );
        send(
            at + 2,
            EventKind::Ended {
                phase: Phase::Talking,
                by: Party::Citizen,
                outcome: "answered".into(),
            },
        );
    }
    assert_eq!(h.dropped(), 0, "events refused by the stats inbox");
    let mut today = h.today.clone();
    let start = Instant::now();
    while today.borrow().total.answered < CALLS {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "today's figures show {} of {CALLS} calls",
            today.borrow().total.answered
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), today.changed()).await;
    }
    let store = stats::Store::open(&db).unwrap();
    let start = Instant::now();
    while store
        .get(&format!("burst-{}", CALLS - 1))
        .unwrap()
        .is_none()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "last record never written"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored = store.range(t0 - 1, t0 + 86_400_000).unwrap().len();
    assert_eq!(stored as u64, CALLS, "records in calls.sqlite");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The wallboard's "calls in progress" counts citizens' calls that arrived and have not
/// ended, not an operator's own outgoing call, and follows a batch of events.
#[tokio::test]
async fn live_calls_count_the_citizens_calls_in_progress() {
    // 2026-11-25 10:00 JST.
    let t0 = 1_795_568_400_000u64;
    let (h, dir, _db, _reg) = start_service("stats-live", t0 + 60_000);
    let arrive = |id: &str, origin: Origin, at: u64| {
        h.event(Event {
            call: CallUid(id.into()),
            at_ms: at,
            kind: EventKind::Arrived {
                origin,
                trunk: "carrier".into(),
                dialled: "+81246221111".into(),
                line: "市代表".into(),
                caller: "0246991234".into(),
            },
        })
    };
    let end = |id: &str, at: u64| {
        h.event(Event {
            call: CallUid(id.into()),
            at_ms: at,
            kind: EventKind::Ended {
                phase: Phase::Queue,
                by: Party::Citizen,
                outcome: "abandoned".into(),
            },
        })
    };
    let mut today = h.today.clone();
    let wait_for = |today: &mut tokio::sync::watch::Receiver<stats::service::Today>, n: usize| {
        let mut rx = today.clone();
        async move {
            let start = Instant::now();
            while rx.borrow_and_update().live_calls != n {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "live calls {} instead of {n}",
                    rx.borrow().live_calls
                );
                let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
            }
        }
    };
    for i in 0..5 {
        arrive(&format!("live-{i}"), Origin::Citizen, t0 + i);
    }
    arrive("own-call", Origin::Operator, t0 + 10);
    wait_for(&mut today, 5).await;
    end("live-0", t0 + 20);
    end("live-3", t0 + 21);
    wait_for(&mut today, 3).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The end of a call can be waited for: `event_durable` fires once the record is
/// committed (call control answers the caller's BYE only then), and an event that
/// finishes no record fires nothing (its receiver reports the sender gone).
#[tokio::test]
async fn an_ended_call_is_confirmed_only_once_its_record_is_on_disk() {
    // 2026-11-25 10:00 JST.
    let t0 = 1_795_568_400_000u64;
    let (h, dir, db, _reg) = start_service("stats-durable", t0 + 60_000);
    let store = stats::Store::open(&db).unwrap();
    for i in 0..20u64 {
        let uid = format!("durable-{i}");
        h.event(Event {
            call: CallUid(uid.clone()),
            at_ms: t0 + i,
            kind: EventKind::Arrived {
                origin: Origin::Citizen,
                trunk: "carrier".into(),
                dialled: "+81246221111".into(),
                line: "市代表".into(),
                caller: "0246991234".into(),
            },
        });
        let durable = h.event_durable(Event {
            call: CallUid(uid.clone()),
            at_ms: t0 + i + 5,
            kind: EventKind::Ended {
                phase: Phase::Queue,
                by: Party::Citizen,
                outcome: "abandoned".into(),
            },
        });
        tokio::time::timeout(Duration::from_secs(10), durable)
            .await
            .expect("confirmed in time")
            .expect("confirmed, not dropped");
        // No polling: once confirmed, another connection reads it at once.
        assert!(
            store.get(&uid).unwrap().is_some(),
            "{uid} confirmed but not on disk"
        );
    }
    // An end for a call never seen arriving finishes no record: nothing to confirm.
    let orphan = h.event_durable(Event {
        call: CallUid("never-arrived".into()),
        at_ms: t0,
        kind: EventKind::Ended {
            phase: Phase::Queue,
            by: Party::Citizen,
            outcome: "abandoned".into(),
        },
    });
    let r = tokio::time::timeout(Duration::from_secs(10), orphan).await;
    assert!(
        matches!(r, Ok(Err(_))),
        "an orphan end is not confirmed: {r:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
