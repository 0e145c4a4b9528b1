//! The switch's call records survive kill -9 (issue 15 item 1; spec 第2-7 ⑵ エ): 100
//! citizens call the carrier trunk from our raw SIP client in overlapping waves, each
//! INVITE → 200 (the greeting answers) → ACK → BYE after a short random hold. Part-way
//! the switch is killed with SIGKILL and started again on the same data. Then, in
//! data/calls.sqlite:
//! - every call whose BYE was answered 200 before the kill has exactly one record
//!   (matched by its caller number): a finished call is not lost, and is not written
//!   twice. The switch answers the BYE that ends a call only once the call's record is
//!   committed (before, a call ended a few ms before the kill could lose its record);
//! - the database passes SQLite's integrity check after the crash;
//! - the calls made after the restart get records whose ids are greater than every id
//!   given before it (ids unique across restarts).
//!
//! The store-level proof (crates/stats/tests/store_crash.rs) kills a writer between
//! commits; this one kills the real switch with calls in flight, so that the path from a
//! call's end through the statistics service to the disk is covered too.

mod common;
use common::*;
use sip::{Message, SipHeaders};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CALLS: usize = 100;
const WAVE: usize = 10;
/// The kill comes once this many calls have ended (about half of them).
const KILL_AFTER: usize = 50;

fn caller_number(i: usize) -> String {
    format!("039800{i:04}")
}

/// One citizen's call; `Some(when the BYE was answered 200)` when it went through.
/// Any missing answer (the switch being killed meanwhile) ends it with `None`.
fn one_call(trunk: SocketAddr, caller: &str) -> Option<Instant> {
    let ep = RawSip::new();
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let call_id = format!("crash-{caller}-{:x}", rand_u64());
    let uri = format!("sip:0246221111@{trunk}");
    ep.send(
        trunk,
        &ep.request(
            "INVITE",
            &uri,
            caller,
            &call_id,
            1,
            "Content-Type: application/sdp\r\n",
            &sdp_offer(rtp.local_addr().unwrap()),
        ),
    );
    // Bounded: on a loaded 2-core machine a debug build may take a while.
    let ok = ep.final_response(10.0, &mut Vec::new())?;
    if ok.status != 200 {
        return None;
    }
    let in_dialog = |method: &str, cseq: u32| {
        let msg = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{b:x};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            me = ep.addr(),
            b = rand_u64(),
            from = ok.headers.get("From").unwrap(),
            to = ok.headers.get("To").unwrap(),
        );
        ep.send(trunk, msg.as_bytes());
    };
    in_dialog("ACK", 1);
    // A short random hold, listening to the greeting.
    std::thread::sleep(Duration::from_millis(200 + rand_u64() % 1000));
    in_dialog("BYE", 2);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if let Some(Message::Response(r)) = ep.recv(0.2) {
            if r.cseq().map(|c| c.method) == Some(sip::Method::Bye) {
                return (r.status == 200).then(Instant::now);
            }
        }
    }
    None
}

/// Every record as (id, caller number), read from the database file.
fn records(db: &std::path::Path) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut st = conn
        .prepare("SELECT id, record FROM calls ORDER BY id")
        .unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .unwrap();
    rows.map(|row| {
        let (id, json) = row.unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).expect("a record's JSON");
        (id, v["caller"].as_str().unwrap_or_default().to_string())
    })
    .collect()
}

fn count_by_caller(recs: &[(i64, String)]) -> HashMap<&str, usize> {
    let mut n = HashMap::new();
    for (_, c) in recs {
        *n.entry(c.as_str()).or_insert(0) += 1;
    }
    n
}

#[test]
fn kill_9_with_calls_in_flight_loses_no_finished_record() {
    let mut sw = Switch::start("call_records_crash", |t| t);
    let db = sw.dir.join("data/calls.sqlite");
    let trunk = sw.trunk;
    let ended: Mutex<Vec<(String, Instant)>> = Mutex::new(Vec::new());
    let paused = AtomicBool::new(false);
    let (kill_at, max_before) = std::thread::scope(|s| {
        let launcher = s.spawn(|| {
            std::thread::scope(|calls| {
                for wave in 0..CALLS / WAVE {
                    // While the switch is down, no new call starts (bounded).
                    let t0 = Instant::now();
                    while paused.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(60) {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    for k in 0..WAVE {
                        let caller = caller_number(wave * WAVE + k);
                        let ended = &ended;
                        calls.spawn(move || {
                            if let Some(at) = one_call(trunk, &caller) {
                                ended.lock().unwrap().push((caller, at));
                            }
                        });
                        // The calls of a wave arrive spread out, not in one burst.
                        std::thread::sleep(Duration::from_millis(30));
                    }
                    // The next wave starts while this one is still talking.
                    std::thread::sleep(Duration::from_millis(400));
                }
            })
        });
        let t0 = Instant::now();
        while ended.lock().unwrap().len() < KILL_AFTER {
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "only {} calls ended before the kill; switch log tail:\n{}",
                ended.lock().unwrap().len(),
                tail(&sw.log(), 40)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        paused.store(true, Ordering::SeqCst);
        let kill_at = Instant::now();
        sw.restart();
        // Every id given before the crash (the restarted switch has taken no call yet).
        let max_before = records(&db).iter().map(|r| r.0).max().unwrap_or(0);
        paused.store(false, Ordering::SeqCst);
        launcher.join().unwrap();
        (kill_at, max_before)
    });
    let ended = ended.into_inner().unwrap();
    let before: Vec<&str> = ended
        .iter()
        .filter(|(_, at)| *at <= kill_at)
        .map(|(c, _)| c.as_str())
        .collect();
    let after: Vec<&str> = ended
        .iter()
        .filter(|(_, at)| *at > kill_at)
        .map(|(c, _)| c.as_str())
        .collect();
    eprintln!(
        "{} calls ended, {} of them before the kill, {} after the restart",
        ended.len(),
        before.len(),
        after.len()
    );
    assert!(
        before.len() >= 20,
        "too few calls ended before the kill to prove anything: {}",
        before.len()
    );
    assert!(
        after.len() >= 5,
        "too few calls went through after the restart: {}; switch log tail:\n{}",
        after.len(),
        tail(&sw.log(), 40)
    );

    // The database opens cleanly after the crash.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "integrity check of calls.sqlite after kill -9");
    }

    // Every call whose end was confirmed before the kill: exactly one record.
    let recs = records(&db);
    let n = count_by_caller(&recs);
    let lost: Vec<&&str> = before.iter().filter(|c| !n.contains_key(**c)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} calls whose BYE was answered before kill -9 have no record: {lost:?}",
        lost.len(),
        before.len()
    );
    for c in &before {
        assert_eq!(n[*c], 1, "call from {c}: one record, not {}", n[*c]);
    }
    // The calls after the restart: written (asynchronously: bounded wait), once each,
    // with ids above every id given before the crash.
    let t0 = Instant::now();
    let recs = loop {
        let recs = records(&db);
        let n = count_by_caller(&recs);
        if after.iter().all(|c| n.contains_key(*c)) || t0.elapsed() > Duration::from_secs(20) {
            break recs;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let n = count_by_caller(&recs);
    for c in &after {
        assert_eq!(
            n.get(*c).copied().unwrap_or(0),
            1,
            "call from {c} after the restart: one record"
        );
    }
    for (id, c) in recs.iter().filter(|(_, c)| after.contains(&c.as_str())) {
        assert!(
            *id > max_before,
            "record of {c} after the restart has id {id}, not above {max_before}"
        );
    }
    let ids: std::collections::HashSet<i64> = recs.iter().map(|r| r.0).collect();
    assert_eq!(ids.len(), recs.len(), "record ids are unique");
}
