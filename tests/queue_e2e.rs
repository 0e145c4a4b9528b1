//! The queue with real phones: callers beyond the free operators wait with the
//! please-wait announcement and are connected when an operator hangs up and finishes
//! after-call work; outside hours (and in manual night mode at noon) callers hear the
//! after-hours message and the guard room is rung over the PBX trunk.

mod common;
use common::*;
use sip::Message;
use std::process::Command;

fn prompt(name: &str) -> std::path::PathBuf {
    repo_root().join("prompts/ja").join(format!("{name}.wav"))
}

#[test]
fn third_caller_waits_with_announcements_then_gets_the_freed_operator() {
    let sw = Switch::start("queue-3-callers", |t| {
        t.replace("wrapup_secs = 30", "wrapup_secs = 3")
            .replace("announce_every_secs = 30", "announce_every_secs = 6")
    });
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 120.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 120.0);
    let _op1 = baresip_operator(&sw, "1001", &dir.join("1000.wav"), 120);
    let _op2 = baresip_operator(&sw, "1002", &dir.join("1000.wav"), 120);
    sw.wait_for("both operators to register", 10, |s| {
        s.registered("1001") && s.registered("1002")
    });

    // The greeting and recording notice take ~10 s, then each caller is offered.
    let mut c1 = baresip_caller(
        &sw,
        "caller1",
        "0246221111",
        &dir.join("440.wav"),
        40,
        "PCMU",
    );
    let _c2 = baresip_caller(
        &sw,
        "caller2",
        "0246542111",
        &dir.join("440.wav"),
        70,
        "PCMU",
    );
    sw.wait_for("two calls connected", 25, |s| {
        s.metric("madoguchi_calls_active", "") == 2.0
            && queue_waiting(s) == 0
            && agents_on_call(s) == 2
    });
    let mut c3 = baresip_caller(
        &sw,
        "caller3",
        "0246632111",
        &dir.join("440.wav"),
        55,
        "PCMU",
    );
    // Caller 3 hears the greeting, then waits in line: nobody is free.
    sw.wait_for("caller 3 waiting in the queue", 20, |s| {
        queue_waiting(s) == 1
    });
    // Caller 1 hangs up; after 3 s of wrap-up operator 1001 gets caller 3.
    assert!(c1.wait_exit(40));
    sw.wait_for("caller 3 connected", 20, |s| {
        queue_waiting(s) == 0 && agents_on_call(s) == 2
    });
    assert!(c3.wait_exit(50));

    let rx = c3.received_wavs();
    assert!(!rx.is_empty(), "caller 3 recorded nothing");
    // The announcements arrived: the recording notice and the please-wait message.
    let notice = contains_prompt(&rx[0], &prompt("recording-notice"));
    let wait = contains_prompt(&rx[0], &prompt("please-wait"));
    assert!(
        notice > 0.8,
        "recording notice not heard (correlation {notice:.2})"
    );
    assert!(wait > 0.8, "please-wait not heard (correlation {wait:.2})");
    // And the operator at the end: the last seconds are the operator's 1000 Hz tone.
    let (f, loud) = dominant_tail(&rx[0], 3.0, &[440.0, 1000.0]);
    assert!(
        loud > 2 * 8000,
        "caller 3's last 3 s are almost silent ({loud} loud samples)"
    );
    assert_eq!(f, Some(1000.0), "caller 3 was not connected to an operator");
    // Each state change was written to the event log the statistics will read.
    let events = std::fs::read_to_string(sw.dir.join("data/queue-events.jsonl")).unwrap();
    assert_eq!(events.matches("CallAnswered").count(), 3, "{events}");
    assert!(events.contains("WrapUpEnded"), "{events}");
}

fn queue_json(s: &Switch) -> serde_json::Value {
    let body = http_get(s.http, "/api/v1/queues").unwrap_or_else(|| {
        panic!(
            "/api/v1/queues did not answer; switch log tail:\n{}",
            tail(&s.log(), 40)
        )
    });
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("/api/v1/queues: {e}: {body}"))
}

fn queue_waiting(s: &Switch) -> u64 {
    queue_json(s)["queues"][0]["waiting"].as_u64().unwrap_or(99)
}

fn agents_on_call(s: &Switch) -> usize {
    queue_json(s)["agents"]
        .as_array()
        .map(|a| a.iter().filter(|x| x["status"] == "OnCall").count())
        .unwrap_or(0)
}

/// A guard room on the PBX side of the gateway: a raw SIP endpoint at the pbx trunk's
/// proxy address that rings (180) and records what it was sent.
fn guard_room() -> RawSip {
    RawSip::new()
}

fn with_guard_room(t: String, guard: &RawSip) -> String {
    t.replace(
        "proxy = \"127.0.0.1:5092\"",
        &format!("proxy = \"{}\"", guard.addr()),
    )
}

fn expect_guard_room_rung(guard: &RawSip, secs: f64) -> sip::Request {
    let t0 = std::time::Instant::now();
    while t0.elapsed().as_secs_f64() < secs {
        if let Some(Message::Request(r)) = guard.recv(0.5) {
            if r.method == sip::Method::Invite {
                return r;
            }
        }
    }
    panic!("the guard room was not rung");
}

#[test]
fn after_hours_the_caller_hears_the_message_and_the_guard_room_rings() {
    let guard = guard_room();
    // Wednesday 2026-11-25 20:00 JST: weekdays close at 19:00.
    let sw = Switch::start_at("after-hours", "2026-11-25T20:00", |t| {
        with_guard_room(t, &guard)
    });
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 60.0);
    let mut c = baresip_caller(
        &sw,
        "caller",
        "0246221111",
        &dir.join("440.wav"),
        30,
        "PCMU",
    );
    // The after-hours message (opening hours, then "connecting you to the guard room")
    // plays first; the guard room is rung when it ends.
    let inv = expect_guard_room_rung(&guard, 35.0);
    assert_eq!(
        inv.uri.user().as_deref(),
        Some("2999"),
        "the guard room's extension"
    );
    assert_eq!(inv.headers.get("X-Madoguchi-DNIS"), Some("+81246221111"));
    assert!(c.wait_exit(30));
    let rx = c.received_wavs();
    assert!(!rx.is_empty());
    let m = contains_prompt(&rx[0], &prompt("after-hours"));
    assert!(
        m > 0.8,
        "after-hours message not heard (correlation {m:.2})"
    );
}

#[test]
fn manual_night_mode_at_noon_routes_to_the_guard_room_and_is_audited() {
    let guard = guard_room();
    let prompts = prompts_with_short_after_hours("night-noon-prompts");
    let mut sw = Switch::start_at("night-noon", "2026-11-25T12:00", |t| {
        with_prompts(with_guard_room(t, &guard), &prompts)
    });
    let api = format!("http://{}", sw.http);
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "night",
            "on",
            "--who",
            "supervisor-sato",
            "--api",
            &api,
            "--login",
        ])
        .arg(sw.login_file())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = RawSip::new();
    c.invite(&sw, "0246262111", "0312345678", "night-1", c.addr());
    let inv = expect_guard_room_rung(&guard, 20.0);
    assert_eq!(inv.headers.get("X-Madoguchi-DNIS"), Some("+81246262111"));
    let first_leg = inv.headers.get("Call-ID").map(str::to_string);
    let first_leg = first_leg.as_deref();
    // The change is in the audit log with who made it, and survives a restart.
    let audit = sw.get("/api/v1/operating/audit").unwrap();
    assert!(audit.contains("supervisor-sato"), "{audit}");
    sw.restart();
    let st: serde_json::Value =
        serde_json::from_str(&http_get(sw.http, "/api/v1/operating").unwrap()).unwrap();
    assert_eq!(st["night_mode"], true, "night mode lost across a restart");
    // Bad parameters get a 4xx with a sentence.
    // Changes need a supervisor's login.
    let (code, _) = http_request(
        sw.http,
        "POST",
        "/api/v1/operating/night",
        Some("{\"on\": false}"),
    )
    .unwrap();
    assert_eq!(code, 401, "changing night mode without a login");
    let (code, body) = sw.post(
        "/api/v1/operating/extend",
        "{\"until\": \"tomorrow\", \"who\": \"x\"}",
    );
    assert_eq!(code, 400);
    assert!(body.contains("until"), "{body}");
    let (code, body) = sw.post("/api/v1/agents/1009/pause", "{}");
    assert!((400..500).contains(&code), "{code} {body}");
    // Night mode off: the next call goes to the queue again (greeting, no guard room).
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "night",
            "off",
            "--who",
            "supervisor-sato",
            "--api",
            &api,
            "--login",
        ])
        .arg(sw.login_file())
        .output()
        .unwrap();
    assert!(out.status.success());
    let c2 = RawSip::new();
    c2.invite(&sw, "0246262111", "0312345679", "night-2", c2.addr());
    let r = c2
        .final_response(5.0, &mut Vec::new())
        .expect("the queue answers the caller");
    assert_eq!(r.status, 200);
    // After the greeting the caller waits in line (nobody is logged in), and the guard
    // room is not rung: watched for 8 s, several times what the (shortened, 1 s)
    // after-hours message before its ring takes — the first call above rang it within
    // about a second of being answered.
    sw.wait_for("the caller waiting in the queue", 25, |s| {
        queue_waiting(s) == 1
    });
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(8) {
        if let Some(Message::Request(q)) = guard.recv(0.5) {
            // Retransmissions of the first call's INVITE (never answered) may still be
            // queued on the socket; a new call would have a new Call-ID.
            assert!(
                q.method != sip::Method::Invite || q.headers.get("Call-ID") == first_leg,
                "guard room rung with night mode off: {} (first call {first_leg:?})",
                q.headers.get("Call-ID").unwrap_or_default()
            );
        }
    }
    assert_eq!(queue_waiting(&sw), 1, "the caller left the line");
}

fn agent_status(s: &Switch, id: &str) -> String {
    let q = queue_json(s);
    let agents = q["agents"].as_array().cloned().unwrap_or_default();
    agents
        .iter()
        .find(|a| a["name"] == id)
        .map(|a| a["status"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[test]
fn a_second_queue_on_a_sixth_number_by_configuration_only() {
    // A "special call center" (特定コールセンター, 第4-5): its own number and queue.
    let sw = Switch::start("sixth-number", |t| {
        no_greeting(t).replace(
            "[[agent]]\nid = \"1001\"",
            "[[number]]\nnumber = \"0246279999\"\nname = \"特定コールセンター\"\nqueue = \"special\"\n\n[[queue]]\nname = \"special\"\nstrategy = \"ring-all\"\nagents = [\"1004\"]\nring_timeout_secs = 15\nwrapup_secs = 5\ngreeting = []\n\n[[agent]]\nid = \"1001\"",
        )
    });
    let op = RawSip::new();
    assert_eq!(
        register_raw(&op, &sw, "1004", "madoguchi-1004", 600).status,
        200
    );
    sw.wait_for("1004 available", 5, |s| {
        agent_status(s, "1004") == "Available"
    });
    let c = RawSip::new();
    c.invite(&sw, "0246279999", "0312345678", "sixth-1", c.addr());
    match op.recv(5.0) {
        Some(Message::Request(r)) => {
            assert_eq!(r.method, sip::Method::Invite);
            assert_eq!(r.headers.get("X-Madoguchi-DNIS"), Some("+81246279999"));
            assert!(r
                .headers
                .get("From")
                .unwrap()
                .contains("特定コールセンター"));
        }
        other => panic!("the special queue's agent was not rung: {other:?}"),
    }
}

#[test]
fn feature_codes_from_the_softphone_pause_and_resume_the_operator() {
    let sw = Switch::start("feature-codes", |t| t);
    let op = RawSip::new();
    assert_eq!(
        register_raw(&op, &sw, "1001", "madoguchi-1001", 600).status,
        200
    );
    sw.wait_for("1001 available", 5, |s| {
        agent_status(s, "1001") == "Available"
    });
    let dial = |code: &str| -> sip::Response {
        let uri = format!("sip:{code}@127.0.0.1");
        let cid = format!("fc-{}", rand_u64());
        op.send(
            sw.sip,
            &op.request(
                "INVITE",
                &uri,
                "1001",
                &cid,
                1,
                "Content-Type: application/sdp\r\n",
                &sdp_offer(op.addr()),
            ),
        );
        let chal = op.final_response(3.0, &mut Vec::new()).unwrap();
        assert_eq!(
            chal.status, 407,
            "an operator's own call is authenticated first"
        );
        let pa = chal.headers.get("Proxy-Authenticate").unwrap();
        let auth = sip::auth::client_authorization(
            pa,
            "INVITE",
            &uri,
            "1001",
            "madoguchi-1001",
            "c0ffee",
            1,
        )
        .unwrap();
        op.send(
            sw.sip,
            &op.request(
                "INVITE",
                &uri,
                "1001",
                &cid,
                2,
                &format!("Proxy-Authorization: {auth}\r\nContent-Type: application/sdp\r\n"),
                &sdp_offer(op.addr()),
            ),
        );
        // Answered like a mature PBX does: 200, a spoken confirmation, then our BYE.
        let ok = op.final_response(3.0, &mut Vec::new()).unwrap();
        assert_eq!(ok.status, 200, "{} {}", ok.status, ok.reason);
        let ack = String::from_utf8(op.request("ACK", &uri, "1001", &cid, 2, "", "")).unwrap();
        let ack = ack.replace(
            &format!("To: <{uri}>"),
            &format!("To: <{uri}>;tag={}", sip::SipHeaders::to_tag(&ok).unwrap()),
        );
        op.send(sw.sip, ack.as_bytes());
        let t0 = std::time::Instant::now();
        let bye = loop {
            assert!(
                t0.elapsed().as_secs() < 10,
                "no BYE after the confirmation prompt"
            );
            match op.recv(1.0) {
                Some(Message::Request(r)) if r.method == sip::Method::Bye => break r,
                _ => continue,
            }
        };
        op.send(
            sw.sip,
            &sip::Response::to_request(&bye, 200, None).to_bytes(),
        );
        ok
    };
    let r = dial("*23");
    assert!(
        r.headers.get("Warning").is_none(),
        "{:?}",
        r.headers.get("Warning")
    );
    sw.wait_for("1001 paused", 5, |s| agent_status(s, "1001") == "Paused");
    // Ending after-call work when there is none is refused: the error prompt, and the
    // reason in a Warning header (RFC 3261 §20.43) for the phone's display.
    let r = dial("*25");
    let w = r
        .headers
        .get("Warning")
        .expect("a refused feature code says why")
        .to_string();
    assert!(w.starts_with("399 "), "{w}");
    assert_eq!(agent_status(&sw, "1001"), "Paused");
    let r = dial("*24");
    assert!(r.headers.get("Warning").is_none());
    sw.wait_for("1001 available again", 5, |s| {
        agent_status(s, "1001") == "Available"
    });
    // The same through the HTTP API and the command line.
    let api = format!("http://{}", sw.http);
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "agent", "1001", "pause", "--reason", "研修", "--api", &api, "--login",
        ])
        .arg(sw.login_file())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sw.wait_for("1001 paused by the API", 5, |s| {
        agent_status(s, "1001") == "Paused"
    });
    let (code, body) = sw.post("/api/v1/agents/1001/dance", "{}");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("unknown operation"), "{body}");
}

#[test]
fn a_caller_who_presses_1_is_called_back_through_the_carrier_when_an_agent_frees() {
    let carrier = RawSip::new();
    let sw = Switch::start("callback", |t| {
        t.replace(
            "greeting = [\"greeting\", \"recording-notice\"]",
            "greeting = [\"position-suffix\"]",
        )
        .replace(
            "proxy = \"127.0.0.1:5090\"",
            &format!("proxy = \"{}\"", carrier.addr()),
        )
    });
    let op = RawSip::new();
    assert_eq!(
        register_raw(&op, &sw, "1001", "madoguchi-1001", 600).status,
        200
    );
    sw.wait_for("1001 available", 5, |s| {
        agent_status(s, "1001") == "Available"
    });
    let (code, _) = sw.post("/api/v1/agents/1001/pause", "{}");
    assert_eq!(code, 200);

    // The citizen calls with its media on `rtp`, is answered and waits in line.
    let caller = RawSip::new();
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let uri = format!("sip:0246221111@{}", sw.trunk);
    caller.invite(
        &sw,
        "0246221111",
        "0312345678",
        "cb-1",
        rtp.local_addr().unwrap(),
    );
    let ok = caller
        .final_response(5.0, &mut Vec::new())
        .expect("the queue answers");
    assert_eq!(ok.status, 200);
    let ack = format!(
        "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKcbAck;rport\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: cb-1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        caller.addr(),
        ok.headers.get("From").unwrap(),
        ok.headers.get("To").unwrap()
    );
    caller.send(sw.trunk, ack.as_bytes());
    let answer = String::from_utf8_lossy(&ok.body).to_string();
    let port: u16 = answer
        .lines()
        .find(|l| l.starts_with("m=audio"))
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let media_at: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    sw.wait_for("the caller waiting", 10, |s| queue_waiting(s) == 1);

    // A second citizen calls after the first and stays on the line.
    let second = RawSip::new();
    second.invite(&sw, "0246221111", "0312345679", "cb-2", second.addr());
    let ok2 = second
        .final_response(5.0, &mut Vec::new())
        .expect("the queue answers the second caller");
    assert_eq!(ok2.status, 200);
    let ack2 = format!(
        "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKcbAck2;rport\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: cb-2\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        second.addr(),
        ok2.headers.get("From").unwrap(),
        ok2.headers.get("To").unwrap()
    );
    second.send(sw.trunk, ack2.as_bytes());
    sw.wait_for("both callers waiting", 10, |s| queue_waiting(s) == 2);

    // "1" for a callback: the caller keeps their place without holding the line.
    press_dtmf(&rtp, media_at, 1);
    sw.wait_for("the callback request in line", 10, |s| {
        queue_json(s)["queues"][0]["callbacks"] == 1
    });
    // Their line is released: the switch hangs up on them (after the confirmation).
    let t0 = std::time::Instant::now();
    let bye = loop {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "the first caller's line was not released after the callback request"
        );
        if let Some(Message::Request(q)) = caller.recv(0.2) {
            if q.method == sip::Method::Bye {
                break q;
            }
        }
    };
    caller.send(
        sw.trunk,
        &sip::Response::to_request(&bye, 200, None).to_bytes(),
    );
    sw.wait_for("only the second caller's call up", 10, |s| {
        s.status()["calls_active"] == 1
    });
    assert_eq!(queue_waiting(&sw), 2, "the callback lost its place in line");

    // The agent comes back: rung first, with the number to call back.
    let (code, _) = sw.post("/api/v1/agents/1001/unpause", "{}");
    assert_eq!(code, 200);
    let inv = loop {
        match op.recv(10.0) {
            Some(Message::Request(r)) if r.method == sip::Method::Invite => break r,
            Some(_) => continue,
            None => panic!("the agent was not rung for the callback"),
        }
    };
    // The first caller's place was kept: their callback comes before the second
    // caller, who waited on the line but arrived later.
    assert_eq!(inv.headers.get("X-Madoguchi-Callback"), Some("0312345678"));
    let op_rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    answer_200_at(&op, sw.sip, &inv, op_rtp.local_addr().unwrap());
    // Then the citizen, through the carrier trunk's proxy.
    let inv2 = loop {
        match carrier.recv(10.0) {
            Some(Message::Request(r)) if r.method == sip::Method::Invite => break r,
            Some(_) => continue,
            None => panic!("the citizen was not called back through the carrier"),
        }
    };
    assert_eq!(inv2.uri.user().as_deref(), Some("0312345678"));
    let citizen_rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    answer_200_at(&carrier, sw.trunk, &inv2, citizen_rtp.local_addr().unwrap());
    let acked = (0..20).any(
        |_| matches!(carrier.recv(0.5), Some(Message::Request(r)) if r.method == sip::Method::Ack),
    );
    assert!(acked, "the switch did not ACK the citizen's answer");
    sw.wait_for("the agent on the callback", 5, |s| {
        agent_status(s, "1001") == "OnCall"
    });
    // Connected: the citizen first hears the recording notice (4.75 s: every recorded
    // call has it, issue 8), then operator (1000 Hz) and citizen (440 Hz) hear each other.
    let (to_op_leg, to_citizen_leg) = (sdp_port(&inv.body), sdp_port(&inv2.body));
    let op_side = std::thread::spawn(move || talk_and_listen(&op_rtp, to_op_leg, 1000.0, 400, 3));
    let at_citizen = talk_and_listen(&citizen_rtp, to_citizen_leg, 440.0, 400, 4);
    let at_op = op_side.join().unwrap();
    for (heard, want, who) in [
        (&at_citizen, 1000.0, "citizen"),
        (&at_op, 440.0, "operator"),
    ] {
        let last = &heard[heard.len().saturating_sub(8000)..];
        assert!(
            media::tone::rms(last) > 3000.0,
            "the {who} hears (almost) nothing on the callback: {} samples",
            heard.len()
        );
        assert_eq!(
            media::tone::dominant_frequency(last, 8000, &[440.0, 1000.0]),
            Some(want),
            "the {who}"
        );
    }
    // The second caller is still in line, waiting for the next free operator.
    assert_eq!(queue_waiting(&sw), 1);
    let events = std::fs::read_to_string(sw.dir.join("data/queue-events.jsonl")).unwrap();
    assert!(
        events.contains("CallbackRequested") && events.contains("CallbackPlaced"),
        "{events}"
    );
}

#[test]
fn a_caller_who_waited_too_long_overflows_to_the_guard_room() {
    let guard = guard_room();
    let sw = Switch::start("overflow", |t| {
        with_guard_room(t, &guard)
            .replace(
                "greeting = [\"greeting\", \"recording-notice\"]",
                "greeting = [\"position-suffix\"]",
            )
            .replace(
                "pause_on_no_answer = false",
                "pause_on_no_answer = false\nmax_wait_secs = 3\noverflow = \"after-hours\"",
            )
    });
    let c = RawSip::new();
    c.invite(&sw, "0246221111", "0312345678", "ovf-1", c.addr());
    assert_eq!(
        c.final_response(5.0, &mut Vec::new()).map(|r| r.status),
        Some(200)
    );
    sw.wait_for("the caller in line", 10, |s| queue_waiting(s) == 1);
    // Nobody is logged in: after 3 s the caller leaves the line; after the after-hours
    // message (~17 s) the guard room rings.
    sw.wait_for("the line to empty", 10, |s| queue_waiting(s) == 0);
    let inv = expect_guard_room_rung(&guard, 30.0);
    assert_eq!(inv.uri.user().as_deref(), Some("2999"));
    let events = std::fs::read_to_string(sw.dir.join("data/queue-events.jsonl")).unwrap();
    assert!(events.contains("CallOverflowed"), "{events}");
}

#[test]
fn check_refuses_a_limit_without_an_overflow_target() {
    let dir = workdir("check-overflow");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        default_toml().replace(
            "pause_on_no_answer = false",
            "pause_on_no_answer = false\nmax_wait_secs = 60",
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("check")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("general") && err.contains("overflow"), "{err}");
}

/// No INVITE (other than retransmissions of `except`'s Call-ID) reaches the guard room
/// for `secs` seconds.
fn guard_room_silent(guard: &RawSip, secs: u64, except: Option<&str>) {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(secs) {
        if let Some(Message::Request(q)) = guard.recv(0.5) {
            assert!(
                q.method != sip::Method::Invite || q.headers.get("Call-ID") == except,
                "the guard room was rung: {}",
                q.headers.get("Call-ID").unwrap_or_default()
            );
        }
    }
}

#[test]
fn extend_keeps_the_queue_open_after_closing_and_clear_restores_the_guard_room() {
    let guard = guard_room();
    let prompts = prompts_with_short_after_hours("extend-prompts");
    // Wednesday 20:00: closed since 19:00.
    let sw = Switch::start_at("extend", "2026-11-25T20:00", |t| {
        with_prompts(with_guard_room(t, &guard), &prompts)
    });
    // The command finds the API and the login from the switch's configuration.
    let extend = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
            .arg("extend")
            .args(args)
            .args(["--who", "supervisor-sato", "--config"])
            .arg(&sw.config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "extend {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    extend(&["2026-11-25T23:00"]);
    let st: serde_json::Value =
        serde_json::from_str(&http_get(sw.http, "/api/v1/operating").unwrap()).unwrap();
    assert_eq!(st["effective"], "extended", "{st}");
    assert_eq!(st["open"], true, "{st}");
    // Until 23:00 local, three hours after the switch's 20:00.
    let left = st["extended_until"].as_i64().unwrap() - st["now"].as_i64().unwrap();
    assert!((3 * 3600 - 120..=3 * 3600).contains(&left), "{st}");
    // A call at 20:00 now goes to the queue: answered, in line, the guard room not rung
    // (watched for several times the 1 s after-hours message it would otherwise hear).
    let c = RawSip::new();
    c.invite(&sw, "0246221111", "0312345678", "ext-1", c.addr());
    assert_eq!(
        c.final_response(5.0, &mut Vec::new()).map(|r| r.status),
        Some(200)
    );
    sw.wait_for("the caller in line", 25, |s| queue_waiting(s) == 1);
    guard_room_silent(&guard, 6, None);
    let (code, audit) = http_request_as(
        sw.http,
        "GET",
        "/api/v1/operating/audit",
        None,
        Some(&sw.supervisor()),
    )
    .expect("the audit API");
    assert_eq!(code, 200, "{audit}");
    assert!(audit.contains("supervisor-sato"), "{audit}");
    // Cleared: closed again, the next caller hears after-hours and the guard room rings.
    extend(&["--clear"]);
    let c2 = RawSip::new();
    c2.invite(&sw, "0246221111", "0312345679", "ext-2", c2.addr());
    let inv = expect_guard_room_rung(&guard, 20.0);
    assert_eq!(inv.uri.user().as_deref(), Some("2999"));
}

#[test]
fn the_guard_room_forward_is_answered_and_bridged_both_ways() {
    let guard = guard_room();
    let guard_rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let prompts = prompts_with_short_after_hours("guard-bridge-prompts");
    let sw = Switch::start_at("guard-bridge", "2026-11-25T20:00", |t| {
        with_prompts(with_guard_room(t, &guard), &prompts)
    });
    // The citizen, with media on its own socket, answered for the after-hours message.
    let c = RawSip::new();
    let c_rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    c.invite(
        &sw,
        "0246221111",
        "0312345678",
        "gb-1",
        c_rtp.local_addr().unwrap(),
    );
    let ok = c
        .final_response(5.0, &mut Vec::new())
        .expect("the caller is answered");
    assert_eq!(ok.status, 200);
    let ack = format!(
        "ACK sip:0246221111@{} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKgbAck;rport\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: gb-1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        sw.trunk,
        c.addr(),
        ok.headers.get("From").unwrap(),
        ok.headers.get("To").unwrap()
    );
    c.send(sw.trunk, ack.as_bytes());
    let to_switch_from_caller = sdp_port(&ok.body);

    // The guard room picks up: 200 with its own media address, and is ACKed.
    let inv = expect_guard_room_rung(&guard, 20.0);
    let to_switch_from_guard = sdp_port(&inv.body);
    let mut r = sip::Response::to_request(&inv, 200, Some("guard200"));
    r.headers
        .push("Contact", format!("<sip:2999@{}>", guard.addr()));
    r.headers.push("Content-Type", "application/sdp");
    r.body = bytes::Bytes::from(sdp_offer(guard_rtp.local_addr().unwrap()));
    guard.send(sw.pbx, &r.to_bytes());
    let acked = (0..20).any(
        |_| matches!(guard.recv(0.5), Some(Message::Request(q)) if q.method == sip::Method::Ack),
    );
    assert!(acked, "the switch did not ACK the guard room's answer");

    // Both talk at once for 3 s: each must hear the other's tone, loud.
    let guard_side = std::thread::spawn(move || {
        talk_and_listen(&guard_rtp, to_switch_from_guard, 1000.0, 150, 2)
    });
    let at_caller = talk_and_listen(&c_rtp, to_switch_from_caller, 440.0, 150, 1);
    let at_guard = guard_side.join().unwrap();
    let tones = [440.0, 700.0, 1000.0];
    // The last second, well after the bridge (the caller heard the prompt before).
    let last = |v: &[i16]| v[v.len().saturating_sub(8000)..].to_vec();
    let (ac, ag) = (last(&at_caller), last(&at_guard));
    assert!(
        media::tone::rms(&ac) > 3000.0,
        "the caller hears (almost) nothing from the guard room: {} samples, RMS {:.0}",
        at_caller.len(),
        media::tone::rms(&ac)
    );
    assert_eq!(
        media::tone::dominant_frequency(&ac, 8000, &tones),
        Some(1000.0)
    );
    assert!(
        media::tone::rms(&ag) > 3000.0,
        "the guard room hears (almost) nothing from the caller: {} samples, RMS {:.0}",
        at_guard.len(),
        media::tone::rms(&ag)
    );
    assert_eq!(
        media::tone::dominant_frequency(&ag, 8000, &tones),
        Some(440.0)
    );
    assert_eq!(sw.status()["calls_active"], 1, "one call, two legs");
}
