//! Distributed password guessing (issue 9): one operator's password tried from many
//! source addresses (here 127.0.0.2 … 127.0.0.41, all loopback), each staying under the
//! per-(user, source) lockout. The user's failure budget runs out and further sources
//! get 403 without a challenge, while the real phone, from the address it registered
//! from before, still registers.

mod common;
use common::*;
use std::net::UdpSocket;
use std::time::Duration;

/// Our raw SIP endpoint bound to another loopback address (a different "source").
fn raw_from(addr: &str) -> RawSip {
    let sock = UdpSocket::bind((addr, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    RawSip { sock }
}

#[test]
fn many_sources_guessing_one_password_are_refused_but_the_real_phone_still_registers() {
    let sw = Switch::start("sec-distributed", |t| t);
    let phone = RawSip::new(); // 127.0.0.1, the operator's own phone
    assert_eq!(
        register_raw(&phone, &sw, "1001", "madoguchi-1001", 300).status,
        200
    );
    // Four wrong guesses from each of 40 addresses: never five from one source.
    let mut refused_without_challenge = 0;
    for s in 2..42 {
        let g = raw_from(&format!("127.0.0.{s}"));
        for i in 0..4 {
            let uri = "sip:1001@127.0.0.1";
            g.send(
                sw.sip,
                &g.request(
                    "REGISTER",
                    uri,
                    "1001",
                    &format!("g-{s}-{i}-{}", rand_u64()),
                    1,
                    "Expires: 300\r\n",
                    "",
                ),
            );
            let r = g.final_response(3.0, &mut Vec::new()).expect("an answer");
            if r.status == 403 {
                // Refused before any challenge: the budget is spent.
                refused_without_challenge += 1;
                continue;
            }
            assert_eq!(r.status, 401);
            let www = r.headers.get("WWW-Authenticate").unwrap();
            let auth = sip::auth::client_authorization(
                www,
                "REGISTER",
                uri,
                "1001",
                &format!("guess-{s}-{i}"),
                "c0ffee",
                1,
            )
            .unwrap();
            g.send(
                sw.sip,
                &g.request(
                    "REGISTER",
                    uri,
                    "1001",
                    &format!("g2-{s}-{i}-{}", rand_u64()),
                    2,
                    &format!("Expires: 300\r\nAuthorization: {auth}\r\n"),
                    "",
                ),
            );
            let r = g.final_response(3.0, &mut Vec::new()).expect("an answer");
            assert_eq!(r.status, 403, "a wrong guess from 127.0.0.{s}");
        }
    }
    assert!(
        refused_without_challenge >= 100,
        "after the user's budget, new sources are refused without a challenge ({refused_without_challenge} of 160)\n{}",
        tail(&sw.log(), 20)
    );
    // Even the right password from a new address is refused for now…
    let newcomer = raw_from("127.0.0.99");
    let uri = "sip:1001@127.0.0.1";
    newcomer.send(
        sw.sip,
        &newcomer.request("REGISTER", uri, "1001", "nc-1", 1, "Expires: 300\r\n", ""),
    );
    assert_eq!(
        newcomer
            .final_response(3.0, &mut Vec::new())
            .unwrap()
            .status,
        403
    );
    // …but the operator's own phone registers again, and a colleague is untouched.
    assert_eq!(
        register_raw(&phone, &sw, "1001", "madoguchi-1001", 300).status,
        200,
        "the real phone from its known address is not locked out"
    );
    let colleague = raw_from("127.0.0.50");
    assert_eq!(
        register_raw(&colleague, &sw, "1002", "madoguchi-1002", 300).status,
        200
    );
    assert!(sw.metric("madoguchi_sip_auth_blocked_total", "") >= 100.0);
}
