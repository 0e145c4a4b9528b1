//! Overflow by configuration, with the call machine deciding from the ACD's typed answer
//! (issue 8: a string compared with "callback" once sent every overflow to the guard room):
//! to another queue (the caller stays on the line and in line, and that queue's operator
//! answers), and to a callback (the caller is offered the key, presses 1, is released).
//! Also the SIP details a B2BUA needs: a late offer and Max-Forwards.

mod common;
use common::pjsua::*;
use common::*;

/// Callers in line in the first queue, from the ACD's snapshot (99 when it is unreadable,
/// so that no wait passes by accident).
fn queue_waiting(s: &Switch) -> u64 {
    http_get(s.http, "/api/v1/queues")
        .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
        .and_then(|v| v["queues"][0]["waiting"].as_u64())
        .unwrap_or(99)
}

#[test]
fn overflow_to_another_queue_reaches_that_queues_operator() {
    let sw = Switch::start("ovf-queue", |t| {
        no_greeting(t)
            .replacen(
                "agents = [\"1001\", \"1002\", \"1003\", \"1004\"]",
                "agents = [\"1001\"]",
                1,
            )
            .replace(
                "pause_on_no_answer = false",
                "pause_on_no_answer = false\nmax_wait_secs = 3\noverflow = \"queue:second\"",
            )
            + "\n[[queue]]\nname = \"second\"\nstrategy = \"ring-all\"\nagents = [\"1002\"]\nring_timeout_secs = 15\nwrapup_secs = 5\ngreeting = []\n"
    });
    let dir = sw.dir.clone();
    let t1000 = dir.join("1000.wav");
    tone_wav(&t1000, 1000.0, 20.0);
    let t1000 = t1000.display().to_string();
    // 1002 serves only the second queue; nobody serves the first.
    let mut op = operator(
        &sw,
        &dir,
        "1002",
        &["--auto-answer", "--play", &t1000, "--exit-after", "30"],
    );
    let c = RawSip::new();
    c.invite(&sw, "0246221111", "0312345678", "ovf-q-1", c.addr());
    // After 3 s in the first line, the same caller rings the second queue's operator.
    let inc = op.wait_event("the second queue's offer", 20, |e| is(e, "incoming"));
    assert_eq!(inc["headers"]["X-Madoguchi-DNIS"], "+81246221111", "{inc}");
    let ok = c
        .final_response(10.0, &mut Vec::new())
        .expect("the caller answered");
    assert_eq!(ok.status, 200, "answered by the second queue's operator");
    assert!(
        sw.log().contains("Overflowed") || sw.log().contains("overflow"),
        "{}",
        tail(&sw.log(), 30)
    );
    let events = std::fs::read_to_string(sw.dir.join("data/queue-events.jsonl")).unwrap();
    assert!(events.contains("CallOverflowed"), "{events}");
    assert!(
        !events.contains("\"Route\""),
        "not sent to the guard room: {events}"
    );
}

#[test]
fn overflow_to_callback_offers_the_key_and_takes_the_request() {
    let sw = Switch::start("ovf-callback", |t| {
        t.replace(
            "greeting = [\"greeting\", \"recording-notice\"]",
            "greeting = [\"position-suffix\"]",
        )
        .replace(
            "pause_on_no_answer = false",
            "pause_on_no_answer = false\nmax_wait_secs = 3\noverflow = \"callback\"",
        )
    });
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let c = RawSip::new();
    c.invite(
        &sw,
        "0246221111",
        "0312345678",
        "ovf-cb-1",
        rtp.local_addr().unwrap(),
    );
    let ok = c.final_response(5.0, &mut Vec::new()).expect("answered");
    assert_eq!(ok.status, 200);
    let body = String::from_utf8_lossy(&ok.body).to_string();
    let port: u16 = body
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .expect("our media port");
    let media_at: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    sw.wait_for("the caller in line", 10, |s| queue_waiting(s) == 1);
    // Nobody is logged in: after 3 s the caller leaves the line with the callback offer.
    sw.wait_for("the line to empty", 10, |s| queue_waiting(s) == 0);
    press_dtmf(&rtp, media_at, 1);
    // The confirmation, then the switch hangs up: the request was taken.
    let t0 = std::time::Instant::now();
    let bye = loop {
        assert!(
            t0.elapsed().as_secs() < 30,
            "no BYE after the callback was taken"
        );
        match c.recv(1.0) {
            Some(sip::Message::Request(r)) if r.method == sip::Method::Bye => break r,
            _ => continue,
        }
    };
    c.send(
        sw.trunk,
        &sip::Response::to_request(&bye, 200, None).to_bytes(),
    );
    sw.wait_for("the call to end", 10, |s| s.idle());
    assert_eq!(
        sw.metric("madoguchi_calls_total", "outcome=\"callback-requested\""),
        1.0,
        "{}",
        tail(&sw.log(), 30)
    );
    // Never the guard room.
    assert!(!sw.log().contains("2999@"), "{}", tail(&sw.log(), 30));
}

#[test]
fn max_forwards_zero_is_a_loop_483() {
    let sw = Switch::start("max-forwards", no_greeting);
    let c = RawSip::new();
    let uri = format!("sip:0246221111@{}", sw.trunk);
    let inv = String::from_utf8(c.request(
        "INVITE",
        &uri,
        "0312345678",
        "mf-0",
        1,
        "Content-Type: application/sdp\r\n",
        &sdp_offer(c.addr()),
    ))
    .unwrap()
    .replace("Max-Forwards: 70", "Max-Forwards: 0");
    c.send(sw.trunk, inv.as_bytes());
    let r = c.final_response(5.0, &mut Vec::new()).expect("an answer");
    assert_eq!(r.status, 483, "RFC 3261 §16.3 / RFC 7332");
}

#[test]
fn a_late_offer_is_answered_with_our_offer_and_the_ack_answers_it() {
    let sw = Switch::start("late-offer", |t| t);
    let c = RawSip::new();
    let uri = format!("sip:0246221111@{}", sw.trunk);
    // An INVITE without SDP (RFC 3261 §13.2.1): our 200 must carry the offer.
    c.send(
        sw.trunk,
        &c.request("INVITE", &uri, "0312345678", "late-1", 1, "", ""),
    );
    let ok = c.final_response(5.0, &mut Vec::new()).expect("answered");
    assert_eq!(ok.status, 200);
    let offer = String::from_utf8_lossy(&ok.body).to_string();
    assert!(offer.contains("m=audio "), "our offer in the 200: {offer}");
    // The answer comes in the ACK; the greeting then reaches our RTP socket.
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    rtp.set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let ack = String::from_utf8(c.request(
        "ACK",
        &uri,
        "0312345678",
        "late-1",
        1,
        "Content-Type: application/sdp\r\n",
        &sdp_offer(rtp.local_addr().unwrap()),
    ))
    .unwrap()
    .replace(
        &format!("To: <{uri}>"),
        &format!("To: <{uri}>;tag={}", sip::SipHeaders::to_tag(&ok).unwrap()),
    );
    c.send(sw.trunk, ack.as_bytes());
    let mut buf = [0u8; 2048];
    let t0 = std::time::Instant::now();
    let mut packets = 0;
    while t0.elapsed().as_secs() < 10 && packets < 25 {
        if let Ok((n, _)) = rtp.recv_from(&mut buf) {
            if n >= 12 {
                packets += 1;
            }
        }
    }
    assert!(
        packets >= 25,
        "the greeting's RTP reached the caller ({packets} packets)"
    );
}
