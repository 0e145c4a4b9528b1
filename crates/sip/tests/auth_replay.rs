//! Digest replay (RFC 7616 §5.5; issue 9 High 1): what a sniffer on the operators' LAN
//! can do with a captured header, against the sans-IO `DigestServer`.

use sip::auth::{
    client_authorization, AuthOutcome, Credentials, DigestRequest, DigestServer, DEFAULT_NONCE_TTL,
};
use sip::Uri;
use std::net::IpAddr;

const REALM: &str = "madoguchi.example.jp";
const T0: u64 = 1_800_000_000;

fn phone() -> IpAddr {
    "192.0.2.10".parse().unwrap()
}
fn attacker() -> IpAddr {
    "192.0.2.66".parse().unwrap()
}

fn users(name: &str) -> Option<Credentials> {
    (name == "1001").then(|| Credentials::from_password("1001", REALM, "s3cret"))
}

fn server() -> DigestServer {
    DigestServer::new(REALM, [3u8; 32], DEFAULT_NONCE_TTL)
}

/// The phone's answer to a challenge sent to `to`.
fn answer(srv: &mut DigestServer, to: IpAddr, method: &str, uri: &str, nc: u32) -> String {
    let ch = srv.challenge(T0, false, to)[0].clone();
    client_authorization(&ch, method, uri, "1001", "s3cret", "cafe", nc).unwrap()
}

fn check(
    srv: &mut DigestServer,
    method: &str,
    request_uri: &str,
    auth: &str,
    from: IpAddr,
    now: u64,
) -> AuthOutcome {
    let uri = Uri::parse(request_uri).unwrap();
    srv.verify(
        &DigestRequest {
            method,
            request_uri: &uri,
            authorization: auth,
            source: from,
        },
        users,
        now,
    )
}

fn ok() -> AuthOutcome {
    AuthOutcome::Ok {
        user: "1001".into(),
    }
}

#[test]
fn the_same_nonce_count_is_accepted_once() {
    let mut srv = server();
    let uri = "sip:madoguchi.example.jp";
    let auth = answer(&mut srv, phone(), "REGISTER", uri, 1);
    assert_eq!(
        check(&mut srv, "REGISTER", uri, &auth, phone(), T0 + 1),
        ok()
    );
    assert_eq!(
        check(&mut srv, "REGISTER", uri, &auth, phone(), T0 + 2),
        AuthOutcome::Replayed {
            user: "1001".into()
        },
        "a replay of the same header is refused"
    );
}

#[test]
fn a_phone_reusing_its_nonce_with_the_next_count_is_accepted() {
    let mut srv = server();
    let uri = "sip:*23@madoguchi.example.jp";
    let ch = srv.challenge(T0, false, phone())[0].clone();
    for nc in 1..=3 {
        let auth = client_authorization(&ch, "INVITE", uri, "1001", "s3cret", "c", nc).unwrap();
        assert_eq!(
            check(&mut srv, "INVITE", uri, &auth, phone(), T0 + nc as u64),
            ok(),
            "nc {nc}"
        );
    }
}

#[test]
fn a_nonce_only_works_from_the_address_it_was_sent_to() {
    let mut srv = server();
    let uri = "sip:madoguchi.example.jp";
    let auth = answer(&mut srv, phone(), "REGISTER", uri, 1);
    assert!(matches!(
        check(&mut srv, "REGISTER", uri, &auth, attacker(), T0 + 1),
        AuthOutcome::ForeignNonce { .. }
    ));
    // The refused attempt did not spend the phone's count.
    assert_eq!(
        check(&mut srv, "REGISTER", uri, &auth, phone(), T0 + 1),
        ok()
    );
}

#[test]
fn the_digest_uri_must_be_the_request_uri() {
    let mut srv = server();
    let auth = answer(
        &mut srv,
        phone(),
        "INVITE",
        "sip:*24@madoguchi.example.jp",
        1,
    );
    assert_eq!(
        check(
            &mut srv,
            "INVITE",
            "sip:*22@madoguchi.example.jp",
            &auth,
            phone(),
            T0 + 1
        ),
        AuthOutcome::Failed {
            user: Some("1001".into()),
            reason: "digest uri is not the Request-URI"
        },
        "a *24 credential does not log the operator out as *22"
    );
    // The host's case is not significant (RFC 3261 §19.1.4).
    assert_eq!(
        check(
            &mut srv,
            "INVITE",
            "sip:*24@MADOGUCHI.example.jp",
            &auth,
            phone(),
            T0 + 1
        ),
        ok()
    );
}

#[test]
fn nonces_from_before_a_restart_are_re_challenged_not_accepted() {
    let mut before = server();
    let uri = "sip:madoguchi.example.jp";
    let auth = answer(&mut before, phone(), "REGISTER", uri, 1);
    // Same key (kept in the data folder), new process: the book is empty.
    let mut after = server();
    assert_eq!(
        check(&mut after, "REGISTER", uri, &auth, phone(), T0 + 1),
        AuthOutcome::Replayed {
            user: "1001".into()
        }
    );
}

/// A cluster (issue 10 goal 5): Kamailio forks each REGISTER to every node; the phone
/// answers one node's nonce, and every node (same key) accepts it, each count once.
#[test]
fn nodes_sharing_the_key_accept_a_peers_nonce_each_count_once() {
    let uri = "sip:madoguchi.example.jp";
    let mut a = server().accept_peer_nonces(true);
    let mut b = server().accept_peer_nonces(true);
    let auth = answer(&mut a, phone(), "REGISTER", uri, 1);
    assert_eq!(check(&mut a, "REGISTER", uri, &auth, phone(), T0 + 1), ok());
    assert_eq!(check(&mut b, "REGISTER", uri, &auth, phone(), T0 + 1), ok());
    assert!(
        matches!(
            check(&mut b, "REGISTER", uri, &auth, phone(), T0 + 2),
            AuthOutcome::Replayed { .. }
        ),
        "the peer's nonce count is spent at b too"
    );
    // Still bound to the address the challenge went to, and to its lifetime.
    let auth2 = answer(&mut a, phone(), "REGISTER", uri, 1);
    assert!(matches!(
        check(&mut b, "REGISTER", uri, &auth2, attacker(), T0 + 1),
        AuthOutcome::ForeignNonce { .. }
    ));
    let ttl = DEFAULT_NONCE_TTL.as_secs();
    assert_eq!(
        check(&mut b, "REGISTER", uri, &auth2, phone(), T0 + ttl + 1),
        AuthOutcome::Stale
    );
}

#[test]
fn nonces_lapse_quickly() {
    let mut srv = server();
    let uri = "sip:madoguchi.example.jp";
    let auth = answer(&mut srv, phone(), "REGISTER", uri, 1);
    let ttl = DEFAULT_NONCE_TTL.as_secs();
    assert_eq!(
        check(&mut srv, "REGISTER", uri, &auth, phone(), T0 + ttl + 1),
        AuthOutcome::Stale
    );
}

#[test]
fn an_answer_without_qop_signs_one_request() {
    use md5::{Digest, Md5};
    let h = |s: String| hex::encode(Md5::digest(s.as_bytes()));
    let mut srv = server();
    let ch = &srv.challenge(T0, false, phone())[1];
    let start = ch.find("nonce=\"").unwrap() + 7;
    let nonce = ch[start..start + 64].to_string();
    let ha1 = h(format!("1001:{REALM}:s3cret"));
    let resp = h(format!("{ha1}:{nonce}:{}", h("REGISTER:sip:x".into())));
    let auth = format!("Digest username=\"1001\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"sip:x\", response=\"{resp}\"");
    assert_eq!(
        check(&mut srv, "REGISTER", "sip:x", &auth, phone(), T0),
        ok()
    );
    assert!(matches!(
        check(&mut srv, "REGISTER", "sip:x", &auth, phone(), T0),
        AuthOutcome::Replayed { .. }
    ));
}
