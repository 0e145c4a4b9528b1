//! Issue 9's Low list, against a running switch: multicast SDP is refused, no page of
//! the ops port can be framed by another site, and a SIGTERM while the far side ignores
//! our BYE still leaves the recording complete (it was repaired as "interrupted").

mod common;
use common::*;
use sip::Message;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn sdp_at(c: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc={c}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    )
}

#[test]
fn multicast_media_is_refused_with_488() {
    let sw = Switch::start("sec-low-multicast", |t| t);
    for (i, c) in [
        "IN IP4 239.1.2.3/127",
        "IN IP4 255.255.255.255",
        "IN IP6 ff0e::101",
    ]
    .iter()
    .enumerate()
    {
        let citizen = RawSip::new();
        let uri = format!("sip:0246221111@{}", sw.trunk);
        let bytes = citizen.request(
            "INVITE",
            &uri,
            "0312345678",
            &format!("mc-{i}-{}", rand_u64()),
            1,
            "Content-Type: application/sdp\r\n",
            &sdp_at(c, 40_000),
        );
        citizen.send(sw.trunk, &bytes);
        let r = citizen
            .final_response(5.0, &mut Vec::new())
            .expect("a final answer");
        assert_eq!(r.status, 488, "media on {c} must be refused");
        // ACK the 488 (RFC 3261 §17.1.1.3: the INVITE's Via, the answer's To).
        let Ok(Message::Request(inv)) = sip::parse_datagram(&bytes) else {
            panic!("our INVITE parses")
        };
        let h = |n: &str| inv.headers.get(n).unwrap().to_string();
        let ack = format!(
            "ACK {uri} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
            h("Via"),
            h("From"),
            r.headers.get("To").unwrap(),
            h("Call-ID")
        );
        citizen.send(sw.trunk, ack.as_bytes());
    }
    sw.wait_for("no call left", 10, |s| s.idle());
}

/// The response head of a GET (status line and headers), over plain HTTP.
fn head(sw: &Switch, path: &str, auth: Option<&str>) -> String {
    let mut s = std::net::TcpStream::connect(sw.http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

#[test]
fn no_page_of_the_ops_port_can_be_framed() {
    let sw = Switch::start("sec-low-frames", |t| t);
    let login = std::fs::read_to_string(sw.login_file()).unwrap();
    let mut l = login.lines();
    let (u, p) = (l.next().unwrap(), l.next().unwrap());
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
    );
    for (path, auth) in [
        ("/recordings", Some(basic.as_str())),
        ("/wallboard", Some(basic.as_str())),
        ("/api/v1/status", None),
        ("/recordings", None),
    ] {
        let h = head(&sw, path, auth);
        assert!(h.starts_with("http/1.1 "), "{path}: {h}");
        let csp = h
            .lines()
            .find(|l| l.starts_with("content-security-policy:"))
            .unwrap_or_else(|| panic!("{path}: no CSP:\n{h}"));
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(h.contains("x-frame-options: deny"), "{path}:\n{h}");
    }
    // The recordings' own policy is kept, with frame-ancestors added.
    let h = head(&sw, "/recordings", Some(&basic));
    assert!(h.contains("default-src 'none'"), "{h}");
}

fn next_request(c: &RawSip, m: sip::Method, secs: f64) -> Option<sip::Request> {
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < secs {
        if let Some(Message::Request(r)) = c.recv(0.2) {
            if r.method == m {
                return Some(r);
            }
        }
    }
    None
}

#[test]
fn a_sigterm_seals_the_recording_although_the_far_side_never_answers_bye() {
    // Hunt-group mode (no greeting): the call is answered, so recorded, when the
    // operator answers.
    let mut sw = Switch::start("sec-low-sigterm", no_greeting);
    let op = RawSip::new();
    assert_eq!(
        register_raw(&op, &sw, "1001", "madoguchi-1001", 600).status,
        200
    );
    let citizen = RawSip::new();
    citizen.invite(
        &sw,
        "0246221111",
        "0312345678",
        &format!("st-{}", rand_u64()),
        citizen.addr(),
    );
    let inv = next_request(&op, sip::Method::Invite, 10.0).expect("the operator is rung");
    let mut ok = sip::Response::to_request(&inv, 200, Some("op-answer"));
    ok.headers
        .push("Contact", format!("<sip:1001@{}>", op.addr()));
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = bytes::Bytes::from(sdp_at("IN IP4 127.0.0.1", op.addr().port()));
    op.send(sw.sip, &ok.to_bytes());
    // The citizen's side is answered: the recording runs.
    let answered = citizen
        .final_response(10.0, &mut Vec::new())
        .expect("the citizen's call is answered");
    assert_eq!(answered.status, 200);
    sw.wait_for("the recording to start", 10, |s| {
        s.log().contains("recording") && s.status()["calls_active"] == 1
    });
    std::thread::sleep(Duration::from_millis(1500));

    // Stop the switch; neither side will ever answer its BYE.
    sw.send_sigterm();
    let st = sw.wait_stopped(20);
    assert!(st.success(), "serve exits cleanly after SIGTERM: {st}");
    assert!(
        next_request(&op, sip::Method::Bye, 1.0).is_some() || sw.log().contains("BYE"),
        "the operator was sent BYE"
    );
    // Start again (a crash-interrupted recording would be repaired now) and look.
    sw.restart();
    let (_, body) = http_request_as(
        sw.http,
        "GET",
        "/api/v1/recordings",
        None,
        Some(&sw.supervisor()),
    )
    .expect("the recordings API");
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let rows = v
        .as_array()
        .or_else(|| v["recordings"].as_array())
        .unwrap_or_else(|| panic!("a list of recordings: {body}"));
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(
        rows[0]["state"], "complete",
        "the recording was sealed at the SIGTERM, not repaired later: {body}"
    );
}
