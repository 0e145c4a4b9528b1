//! While an operator's phone rings (queue mode: the caller was answered by the queue and
//! waits in line): the caller hanging up, the ring timing out and the switch being
//! stopped with SIGTERM must each end the ring with CANCEL (RFC 3261 §9.1) and leave
//! the caller, the operator and the media ports in the right state.
//!
//! The operator is a raw SIP endpoint here: it must ring without answering, and answer
//! the CANCEL itself, which an auto-answering softphone will not do.

mod common;
use common::*;
use sip::{Message, SipHeaders};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// Queue mode with a one-second greeting, and `ring` seconds of ringing per offer.
fn queue_mode(ring: u32) -> impl FnOnce(String) -> String {
    move |t: String| {
        t.replace(
            "greeting = [\"greeting\", \"recording-notice\"]",
            "greeting = [\"position-suffix\"]",
        )
        .replace(
            "ring_timeout_secs = 15",
            &format!("ring_timeout_secs = {ring}"),
        )
    }
}

/// The next request with `method` (others are skipped), bounded.
fn next_request(ep: &RawSip, method: sip::Method, secs: f64) -> Option<sip::Request> {
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < secs {
        if let Some(Message::Request(r)) = ep.recv(0.2) {
            if r.method == method {
                return Some(r);
            }
        }
    }
    None
}

/// A citizen on the carrier trunk, answered by the queue (200 and our ACK).
struct Caller {
    ep: RawSip,
    _rtp: UdpSocket,
    ok: sip::Response,
    call_id: String,
}

impl Caller {
    fn call(sw: &Switch, call_id: &str) -> Caller {
        let ep = RawSip::new();
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        ep.invite(
            sw,
            "0246221111",
            "0312345678",
            call_id,
            rtp.local_addr().unwrap(),
        );
        let ok = ep
            .final_response(5.0, &mut Vec::new())
            .expect("the queue answers the caller");
        assert_eq!(ok.status, 200);
        let c = Caller {
            ep,
            _rtp: rtp,
            ok,
            call_id: call_id.to_string(),
        };
        c.send_in_dialog(sw, "ACK", 1);
        c
    }

    fn send_in_dialog(&self, sw: &Switch, method: &str, cseq: u32) {
        let msg = format!(
            "{method} sip:0246221111@{trunk} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{b:x};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            trunk = sw.trunk,
            me = self.ep.addr(),
            b = rand_u64(),
            from = self.ok.headers.get("From").unwrap(),
            to = self.ok.headers.get("To").unwrap(),
            cid = self.call_id,
        );
        self.ep.send(sw.trunk, msg.as_bytes());
    }

    /// Hang up: BYE, and its 200.
    fn hang_up(&self, sw: &Switch) {
        self.send_in_dialog(sw, "BYE", 2);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Some(Message::Response(r)) = self.ep.recv(0.2) {
                if r.cseq().map(|c| c.method) == Some(sip::Method::Bye) {
                    assert_eq!(r.status, 200, "the switch's answer to the caller's BYE");
                    return;
                }
            }
        }
        panic!("no answer to the caller's BYE");
    }
}

/// Operator 1001, registered from a raw endpoint, available.
fn operator(sw: &Switch) -> RawSip {
    let op = RawSip::new();
    assert_eq!(
        register_raw(&op, sw, "1001", "madoguchi-1001", 600).status,
        200
    );
    sw.wait_for("1001 available", 5, |s| {
        agent_status(s, "1001") == "Available"
    });
    op
}

/// The operator's phone is offered the call and rings (180), unanswered.
fn ring(op: &RawSip, sw: &Switch, secs: f64) -> sip::Request {
    let inv = next_request(op, sip::Method::Invite, secs).expect("the operator was not rung");
    let ringing = sip::Response::to_request(&inv, 180, Some("op-ring"));
    op.send(sw.sip, &ringing.to_bytes());
    inv
}

/// The ring ends with CANCEL for that INVITE: answer it (200, then 487 to the INVITE,
/// RFC 3261 §9.2) and expect the switch's ACK for the 487.
fn cancelled(op: &RawSip, sw: &Switch, inv: &sip::Request, secs: f64) {
    let t0 = Instant::now();
    let cancel = loop {
        assert!(
            t0.elapsed().as_secs_f64() < secs,
            "the ringing operator got no CANCEL; switch log tail:\n{}",
            tail(&sw.log(), 40)
        );
        match op.recv(0.2) {
            Some(Message::Request(r)) if r.method == sip::Method::Cancel => break r,
            Some(Message::Request(r)) if r.method == sip::Method::Bye => {
                panic!("the ring was ended with BYE, not CANCEL")
            }
            _ => {}
        }
    };
    assert_eq!(
        cancel.headers.get("Call-ID"),
        inv.headers.get("Call-ID"),
        "CANCEL for another call"
    );
    assert_eq!(
        cancel
            .top_via()
            .and_then(|v| v.branch().map(str::to_string)),
        inv.top_via().and_then(|v| v.branch().map(str::to_string)),
        "a CANCEL carries its INVITE's branch (RFC 3261 §9.1)"
    );
    op.send(
        sw.sip,
        &sip::Response::to_request(&cancel, 200, None).to_bytes(),
    );
    op.send(
        sw.sip,
        &sip::Response::to_request(inv, 487, Some("op-ring")).to_bytes(),
    );
    assert!(
        next_request(op, sip::Method::Ack, 5.0).is_some(),
        "the switch did not acknowledge the 487"
    );
}

fn queue_json(s: &Switch) -> serde_json::Value {
    serde_json::from_str(&http_get(s.http, "/api/v1/queues").expect("the queues API")).unwrap()
}

fn agent_status(s: &Switch, id: &str) -> String {
    queue_json(s)["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["name"] == id).cloned())
        .and_then(|a| a["status"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn waiting(s: &Switch) -> serde_json::Value {
    queue_json(s)["queues"][0]["waiting"].clone()
}

#[test]
fn the_caller_hanging_up_while_the_operator_rings_cancels_the_ring() {
    let sw = Switch::start("ring-caller-bye", queue_mode(30));
    let op = operator(&sw);
    let caller = Caller::call(&sw, "ring-bye-1");
    let inv = ring(&op, &sw, 15.0);
    sw.wait_for("1001 ringing", 5, |s| agent_status(s, "1001") == "Ringing");
    caller.hang_up(&sw);
    cancelled(&op, &sw, &inv, 5.0);
    sw.wait_for("the call to end", 10, |s| s.idle());
    assert_eq!(waiting(&sw), 0, "the caller left the line");
    // The operator missed nothing of theirs: available again, not paused, no wrap-up.
    sw.wait_for("1001 available again", 5, |s| {
        agent_status(s, "1001") == "Available"
    });
    sw.wait_for("the media ports to be freed", 5, |s| s.rtp_ports_all_free());
    let events = std::fs::read_to_string(sw.dir.join("data/queue-events.jsonl")).unwrap();
    assert!(events.contains("CallAbandoned"), "{events}");
    assert!(!events.contains("CallAnswered"), "{events}");
}

#[test]
fn a_ring_that_times_out_is_cancelled_and_the_caller_keeps_waiting() {
    let sw = Switch::start("ring-timeout", queue_mode(3));
    let op = operator(&sw);
    let caller = Caller::call(&sw, "ring-timeout-1");
    let inv = ring(&op, &sw, 15.0);
    let rung = Instant::now();
    cancelled(&op, &sw, &inv, 15.0);
    // Not before the configured 3 s (a lower bound on behaviour, not a speed check).
    assert!(
        rung.elapsed() >= Duration::from_millis(2500),
        "the ring was cancelled after {:?}, before ring_timeout_secs = 3",
        rung.elapsed()
    );
    // The caller is still connected and in line; nobody hung up on them.
    assert_eq!(sw.status()["calls_active"], 1, "the caller's call ended");
    assert_eq!(waiting(&sw), 1, "the caller lost their place");
    if let Some(bye) = next_request(&caller.ep, sip::Method::Bye, 2.0) {
        panic!("the caller got a BYE after the ring timed out: {}", bye.uri);
    }
    // pause_on_no_answer = false: the operator is not paused by the missed ring.
    assert_ne!(agent_status(&sw, "1001"), "Paused");
    caller.hang_up(&sw);
    sw.wait_for("the call to end", 10, |s| s.idle());
}

#[test]
fn sigterm_while_an_operator_rings_cancels_the_ring_and_ends_the_caller_with_bye() {
    let mut sw = Switch::start("ring-sigterm", queue_mode(30));
    let op = operator(&sw);
    let caller = Caller::call(&sw, "ring-term-1");
    let inv = ring(&op, &sw, 15.0);
    sw.wait_for("1001 ringing", 5, |s| agent_status(s, "1001") == "Ringing");
    sw.send_sigterm();
    cancelled(&op, &sw, &inv, 10.0);
    let bye = next_request(&caller.ep, sip::Method::Bye, 10.0).unwrap_or_else(|| {
        panic!(
            "the caller got no BYE on SIGTERM; switch log tail:\n{}",
            tail(&sw.log(), 40)
        )
    });
    assert_eq!(bye.headers.get("Call-ID"), Some("ring-term-1"));
    caller.ep.send(
        sw.trunk,
        &sip::Response::to_request(&bye, 200, None).to_bytes(),
    );
    let st = sw.wait_stopped(15);
    assert!(st.success(), "madoguchi exited with {st}");
}

/// `n` 20 ms PCMU packets of `freq` from `sock` to `to`, paced.
fn send_tone(sock: &UdpSocket, to: std::net::SocketAddr, freq: f64, n: usize) {
    let pcm = media::tone::sine(freq, n as f64 * 0.02, 12000);
    let t0 = Instant::now();
    for (i, c) in pcm.chunks(160).enumerate() {
        let mut p = vec![0x80, 0, (i >> 8) as u8, i as u8];
        p.extend_from_slice(&((i * 160) as u32).to_be_bytes());
        p.extend_from_slice(&[0x0e, 0xa1, 0x1e, 0x00]);
        let mut enc = vec![0u8; c.len()];
        media::g711::encode_frame(media::Codec::Pcmu, c, &mut enc);
        p.extend_from_slice(&enc);
        let _ = sock.send_to(&p, to);
        std::thread::sleep(
            (t0 + Duration::from_millis(20 * (i as u64 + 1)))
                .saturating_duration_since(Instant::now()),
        );
    }
}

/// Decoded PCMU arriving on `sock` for `secs`.
fn listen(sock: &UdpSocket, secs: f64) -> Vec<i16> {
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1500];
    while t0.elapsed().as_secs_f64() < secs {
        if let Ok((k, _)) = sock.recv_from(&mut buf) {
            if k > 12 && buf[1] & 0x7f == 0 {
                let mut out = vec![0i16; k - 12];
                media::g711::decode_frame(media::Codec::Pcmu, &buf[12..k], &mut out);
                got.extend(out);
            }
        }
    }
    got
}

#[test]
fn early_media_from_the_ringing_operator_reaches_the_unanswered_caller() {
    // Hunt-group mode: the caller is not answered until the operator answers.
    let sw = Switch::start("early-media", no_greeting);
    let op = operator(&sw);
    let op_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let caller = RawSip::new();
    let c_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    caller.invite(
        &sw,
        "0246221111",
        "0312345678",
        "early-1",
        c_rtp.local_addr().unwrap(),
    );
    let inv = next_request(&op, sip::Method::Invite, 10.0).expect("the operator was not rung");
    // The operator's side plays something before answering (RFC 3960): 183 with SDP.
    let mut early = sip::Response::to_request(&inv, 183, Some("op-early"));
    early
        .headers
        .push("Contact", format!("<sip:1001@{}>", op.addr()));
    early.headers.push("Content-Type", "application/sdp");
    early.body = bytes::Bytes::from(sdp_offer(op_rtp.local_addr().unwrap()));
    op.send(sw.sip, &early.to_bytes());
    // The caller gets a 183 with the switch's SDP, and no final answer yet.
    let t0 = Instant::now();
    let progress = loop {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "no 183 with SDP at the caller"
        );
        match caller.recv(0.2) {
            Some(Message::Response(r)) if r.status == 183 && !r.body.is_empty() => break r,
            Some(Message::Response(r)) if r.status >= 200 => {
                panic!("the caller got {} before the operator answered", r.status)
            }
            _ => {}
        }
    };
    let _ = sdp_port(&progress.body);
    let to_switch = sdp_port(&inv.body);
    let listener = std::thread::spawn(move || listen(&c_rtp, 2.5));
    send_tone(&op_rtp, to_switch, 1000.0, 100);
    let heard = listener.join().unwrap();
    let last = &heard[heard.len().saturating_sub(8000)..];
    assert!(
        media::tone::rms(last) > 3000.0,
        "the unanswered caller hears (almost) nothing: {} samples, RMS {:.0}",
        heard.len(),
        media::tone::rms(last)
    );
    assert_eq!(
        media::tone::dominant_frequency(last, 8000, &[440.0, 1000.0]),
        Some(1000.0)
    );
    // Still unanswered: no final response reached the caller meanwhile.
    assert!(
        !matches!(caller.recv(0.3), Some(Message::Response(r)) if r.status >= 200),
        "the caller was answered without the operator answering"
    );
    // Now the operator answers: the caller gets its 200.
    let mut ok = sip::Response::to_request(&inv, 200, Some("op-early"));
    ok.headers
        .push("Contact", format!("<sip:1001@{}>", op.addr()));
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = bytes::Bytes::from(sdp_offer(op_rtp.local_addr().unwrap()));
    op.send(sw.sip, &ok.to_bytes());
    let fin = caller
        .final_response(5.0, &mut Vec::new())
        .expect("the caller was not answered");
    assert_eq!(fin.status, 200);
}
