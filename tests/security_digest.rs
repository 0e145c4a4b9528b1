//! Digest replay (issue 9, High 1): a captured `Authorization` must not work a second
//! time, from another address, or for another Request-URI. Each test replays what a
//! sniffer on the operators' LAN would have seen, against a running switch.

mod common;
use common::*;
use std::net::UdpSocket;
use std::time::Duration;

/// A raw SIP endpoint on another loopback address: the attacker's machine.
fn attacker() -> RawSip {
    let sock = UdpSocket::bind("127.0.0.2:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    RawSip { sock }
}

/// The registrations as a supervisor sees them (the list needs a login once item
/// Medium-5 is in; sending it does no harm before).
fn registrations(sw: &Switch) -> String {
    http_request_as(
        sw.http,
        "GET",
        "/api/v1/registrations",
        None,
        Some(&sw.supervisor()),
    )
    .map(|(_, b)| b)
    .unwrap_or_default()
}

/// Challenge, answer with `method`/`uri` as a real phone does (digest uri = Request-URI),
/// and return the authenticated answer with the Authorization value that was sent.
fn authenticated(
    c: &RawSip,
    sw: &Switch,
    method: &str,
    uri: &str,
    user: &str,
    extra: &str,
) -> (sip::Response, String) {
    let call_id = format!("sec-{}", rand_u64());
    c.send(
        sw.sip,
        &c.request(method, uri, user, &call_id, 1, extra, ""),
    );
    let chal = c.final_response(3.0, &mut Vec::new()).expect("challenge");
    let (hdr, answer) = match chal.status {
        401 => ("WWW-Authenticate", "Authorization"),
        407 => ("Proxy-Authenticate", "Proxy-Authorization"),
        s => panic!("{method} must be challenged first, got {s}"),
    };
    let auth = sip::auth::client_authorization(
        chal.headers.get(hdr).unwrap(),
        method,
        uri,
        user,
        &format!("madoguchi-{user}"),
        "5ec0c0ffee",
        1,
    )
    .unwrap();
    c.send(
        sw.sip,
        &c.request(
            method,
            uri,
            user,
            &call_id,
            2,
            &format!("{extra}{answer}: {auth}\r\n"),
            "",
        ),
    );
    let resp = c
        .final_response(3.0, &mut Vec::new())
        .expect("answer to the authenticated request");
    (resp, format!("{answer}: {auth}\r\n"))
}

#[test]
fn a_captured_register_replayed_from_another_address_does_not_steal_the_binding() {
    let sw = Switch::start("sec-replay-register", |t| t);
    let phone = RawSip::new();
    let uri = "sip:1001@127.0.0.1";
    let (ok, auth) = authenticated(&phone, &sw, "REGISTER", uri, "1001", "Expires: 600\r\n");
    assert_eq!(ok.status, 200, "the real phone registers");
    assert!(registrations(&sw).contains(&phone.addr().to_string()));

    // The attacker replays the captured header with its own Contact, from 127.0.0.2.
    let evil = attacker();
    evil.send(
        sw.sip,
        &evil.request(
            "REGISTER",
            uri,
            "1001",
            &format!("evil-{}", rand_u64()),
            1,
            &format!("Expires: 600\r\n{auth}"),
            "",
        ),
    );
    let r = evil
        .final_response(3.0, &mut Vec::new())
        .expect("an answer to the replay");
    assert_ne!(
        r.status / 100,
        2,
        "a replayed REGISTER from elsewhere is refused"
    );
    assert!(
        !registrations(&sw).contains("127.0.0.2"),
        "the attacker's contact must not be bound: {}",
        registrations(&sw)
    );

    // Replayed from the same address (a sniffer spoofing the phone's source): the
    // nonce count was used, so this is refused too.
    phone.send(
        sw.sip,
        &phone.request(
            "REGISTER",
            uri,
            "1001",
            &format!("again-{}", rand_u64()),
            1,
            &format!("Expires: 0\r\n{auth}"),
            "",
        ),
    );
    let r = phone
        .final_response(3.0, &mut Vec::new())
        .expect("an answer to the replay");
    assert_ne!(r.status / 100, 2, "an exact replay (same nc) is refused");
    assert!(
        sw.registered("1001"),
        "the replayed Expires: 0 did not unregister the phone"
    );
}

#[test]
fn a_pause_credential_cannot_be_replayed_as_logout() {
    let sw = Switch::start("sec-replay-feature", |t| t);
    let phone = RawSip::new();
    let (ok, _) = authenticated(
        &phone,
        &sw,
        "REGISTER",
        "sip:1001@127.0.0.1",
        "1001",
        "Expires: 600\r\n",
    );
    assert_eq!(ok.status, 200);
    let star23 = format!("sip:*23@{}", sw.sip);
    let (r, auth) = authenticated(&phone, &sw, "INVITE", &star23, "1001", "");
    assert!(
        !matches!(r.status, 401 | 403 | 407),
        "the phone's own *23 (pause) is accepted (got {})",
        r.status
    );
    // The captured Proxy-Authorization for *23, sent to *22 from the same phone address.
    let star22 = format!("sip:*22@{}", sw.sip);
    phone.send(
        sw.sip,
        &phone.request(
            "INVITE",
            &star22,
            "1001",
            &format!("evil22-{}", rand_u64()),
            1,
            &auth,
            "",
        ),
    );
    let r = phone
        .final_response(3.0, &mut Vec::new())
        .expect("an answer to the replay");
    assert!(
        matches!(r.status, 401 | 403 | 407),
        "a *23 credential replayed as *22 must not log the operator out (got {} {})",
        r.status,
        r.reason
    );
}
