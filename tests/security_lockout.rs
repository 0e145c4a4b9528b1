//! SIP digest lockout per (user, source) (issue 9, Medium 1), against a running switch
//! with our raw SIP client. All operators of an office sit behind one NAT address
//! (here 127.0.0.1): five wrong answers for one user must not lock the others out, one
//! operator's success must not reset the count on a colleague's password, and answers
//! to nonces the switch never sent to that address (a spoofed source) count nothing.

mod common;
use common::*;

/// A REGISTER for `user` answered with `password` from `c`: the final status.
fn register_status(c: &RawSip, sw: &Switch, user: &str, password: &str) -> u16 {
    register_raw(c, sw, user, password, 300).status
}

#[test]
fn five_wrong_answers_for_one_operator_do_not_lock_out_colleagues_behind_the_same_address() {
    let sw = Switch::start("sec-lockout-nat", |t| t);
    let guesser = RawSip::new();
    for i in 0..5 {
        assert_eq!(
            register_status(&guesser, &sw, "1001", &format!("guess{i}")),
            403,
            "wrong password {i}"
        );
    }
    // 1001 is blocked at this address now, even with the right password…
    let phone1 = RawSip::new();
    let blocked = register_raw_expect_block(&phone1, &sw, "1001");
    assert_eq!(blocked, 403, "1001 is blocked at this address");
    // …but 1002, behind the same address, registers.
    let phone2 = RawSip::new();
    assert_eq!(
        register_status(&phone2, &sw, "1002", "madoguchi-1002"),
        200,
        "a colleague behind the same NAT is not locked out:\n{}",
        tail(&sw.log(), 20)
    );
    assert!(sw.registered("1002"));
    assert!(!sw.registered("1001"));
}

#[test]
fn a_colleagues_success_does_not_reset_the_count_on_another_operators_password() {
    let sw = Switch::start("sec-lockout-reset", |t| t);
    let guesser = RawSip::new();
    for i in 0..4 {
        assert_eq!(
            register_status(&guesser, &sw, "1001", &format!("guess{i}")),
            403
        );
    }
    // The guesser's own phone (1002) registers from the same address…
    assert_eq!(
        register_status(&guesser, &sw, "1002", "madoguchi-1002"),
        200
    );
    // …and the fifth guess on 1001 still blocks 1001.
    assert_eq!(register_status(&guesser, &sw, "1001", "guess4"), 403);
    let phone1 = RawSip::new();
    assert_eq!(
        register_raw_expect_block(&phone1, &sw, "1001"),
        403,
        "the fifth failure blocks 1001 although 1002 succeeded in between"
    );
    assert!(sw.metric("madoguchi_sip_auth_blocked_total", "") >= 1.0);
}

#[test]
fn answers_to_forged_nonces_are_challenged_and_count_nothing() {
    let sw = Switch::start("sec-lockout-spoof", |t| t);
    // Someone who never saw a challenge to this address (a spoofed UDP source) answers
    // with made-up nonces, many times.
    let spoofer = RawSip::new();
    let uri = "sip:1001@127.0.0.1";
    for i in 0..10 {
        let nonce = format!("{:064x}", rand_u64() as u128 * 7 + i);
        let auth = format!(
            "Authorization: Digest username=\"1001\", realm=\"127.0.0.1\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"00000000000000000000000000000000\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"x\"\r\n"
        );
        spoofer.send(
            sw.sip,
            &spoofer.request(
                "REGISTER",
                uri,
                "1001",
                &format!("spoof-{i}-{}", rand_u64()),
                1,
                &format!("Expires: 300\r\n{auth}"),
                "",
            ),
        );
        let r = spoofer
            .final_response(3.0, &mut Vec::new())
            .expect("an answer to the forged nonce");
        assert_eq!(r.status, 401, "a forged nonce gets a fresh challenge");
    }
    assert_eq!(sw.metric("madoguchi_sip_auth_failures_total", ""), 0.0);
    let phone = RawSip::new();
    assert_eq!(
        register_status(&phone, &sw, "1001", "madoguchi-1001"),
        200,
        "the real phone at the same address still registers"
    );
}

/// A REGISTER for `user` without credentials: a blocked (user, address) gets 403 at
/// once instead of a challenge.
fn register_raw_expect_block(c: &RawSip, sw: &Switch, user: &str) -> u16 {
    let uri = format!("sip:{user}@127.0.0.1");
    c.send(
        sw.sip,
        &c.request(
            "REGISTER",
            &uri,
            user,
            &format!("blk-{}", rand_u64()),
            1,
            "Expires: 300\r\n",
            "",
        ),
    );
    c.final_response(3.0, &mut Vec::new())
        .expect("an answer")
        .status
}

/// The status line of `GET /api/v1/events` with Basic `user:password` (the desk's feed
/// takes an operator's SIP login); the stream itself is not read.
fn feed_status(sw: &Switch, user: &str, password: &str) -> String {
    use base64::Engine;
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(sw.http).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    s.write_all(
        format!("GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn the_event_feed_is_no_way_around_the_lockout() {
    let sw = Switch::start("sec-lockout-feed", |t| t);
    for i in 0..5 {
        let st = feed_status(&sw, "1001", &format!("guess{i}"));
        assert!(st.contains(" 401 "), "wrong password {i}: {st}");
    }
    let st = feed_status(&sw, "1001", "madoguchi-1001");
    assert!(
        st.contains(" 429 "),
        "after five wrong passwords even the right one is refused for a while: {st}"
    );
    let st = feed_status(&sw, "1002", "madoguchi-1002");
    assert!(
        st.contains(" 200 "),
        "a colleague at the same address is not locked out: {st}"
    );
}
