//! Digest authentication: published vectors, server/client round trips and the failure
//! modes a registrar must tell apart (wrong password, stale nonce, forged nonce).

use md5::Md5;
use sha2::{Digest, Sha256};
use sip::auth::{
    client_authorization, parse_authorization, preferred_challenge, AuthError, AuthOutcome,
    Credentials, DigestRequest, DigestServer,
};
use std::net::IpAddr;
use std::time::Duration;

const REALM: &str = "madoguchi.example.jp";
const SECRET: [u8; 32] = [7u8; 32];
const T0: u64 = 1_800_000_000;

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}
fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn server() -> DigestServer {
    DigestServer::new(REALM, SECRET, Duration::from_secs(300))
}

const PHONE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10));

/// Verify `auth` as if it came from PHONE with the Request-URI the header names (the
/// replay tests in auth_replay.rs check the other cases).
fn verify(
    srv: &mut DigestServer,
    method: &str,
    auth: &str,
    lookup: impl Fn(&str) -> Option<Credentials>,
    now: u64,
) -> AuthOutcome {
    let uri = parse_authorization(auth)
        .map(|r| r.uri)
        .unwrap_or_else(|_| "sip:x".into());
    let uri = sip::Uri::parse(&uri).unwrap();
    srv.verify(
        &DigestRequest {
            method,
            request_uri: &uri,
            authorization: auth,
            source: PHONE,
        },
        lookup,
        now,
    )
}

fn users(name: &str) -> Option<Credentials> {
    (name == "1001").then(|| Credentials::from_password("1001", REALM, "s3cret"))
}

fn param<'a>(header: &'a str, name: &str) -> &'a str {
    let start = header.find(&format!("{name}=")).expect("param present") + name.len() + 1;
    let rest = &header[start..];
    match rest.strip_prefix('"') {
        Some(q) => &q[..q.find('"').unwrap()],
        None => rest.split(',').next().unwrap().trim(),
    }
}

/// RFC 7616 §3.9.1 (an HTTP example, but the same computation SIP uses). The expected
/// responses are the RFC's; the test also recomputes them step by step with the hash
/// crates directly, so neither the RFC text nor our code is trusted alone.
#[test]
fn rfc7616_example_md5_and_sha256() {
    let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    let opaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    let (user, realm, pass, uri) = (
        "Mufasa",
        "http-auth@example.org",
        "Circle of Life",
        "/dir/index.html",
    );
    for (alg, expected, h) in [
        (
            "MD5",
            "8ca523f5e9506fed4657c9700eebdbec",
            md5_hex as fn(&str) -> String,
        ),
        (
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            sha256_hex,
        ),
    ] {
        let by_hand = h(&format!(
            "{}:{nonce}:00000001:{cnonce}:auth:{}",
            h(&format!("{user}:{realm}:{pass}")),
            h(&format!("GET:{uri}"))
        ));
        assert_eq!(by_hand, expected, "{alg}: RFC value recomputed");

        let challenge = format!(
            "Digest realm=\"{realm}\", qop=\"auth, auth-int\", algorithm={alg}, nonce=\"{nonce}\", opaque=\"{opaque}\""
        );
        let auth = client_authorization(&challenge, "GET", uri, user, pass, cnonce, 1).unwrap();
        let parsed = parse_authorization(&auth).unwrap();
        assert_eq!(parsed.response, expected, "{alg}");
        assert_eq!(parsed.nc.as_deref(), Some("00000001"));
        assert_eq!(parsed.qop.as_deref(), Some("auth"));
        assert_eq!(parsed.opaque.as_deref(), Some(opaque), "opaque echoed");
        assert_eq!(parsed.algorithm.as_deref(), Some(alg));
    }
}

#[test]
fn challenge_offers_sha256_before_md5_with_one_nonce() {
    let c = server().challenge(T0, false, PHONE);
    assert_eq!(c.len(), 2);
    assert!(c[0].contains("algorithm=SHA-256"), "{}", c[0]);
    assert!(c[1].contains("algorithm=MD5"), "{}", c[1]);
    assert_eq!(param(&c[0], "nonce"), param(&c[1], "nonce"));
    assert_eq!(param(&c[0], "realm"), REALM);
    assert_eq!(param(&c[0], "qop"), "auth");
    assert!(!c[0].contains("stale"));
    let s = server().challenge(T0, true, PHONE);
    assert!(s.iter().all(|v| v.ends_with(", stale=true")));
    assert_eq!(
        preferred_challenge(c.iter().rev().map(String::as_str)),
        Some(c[0].as_str())
    );
}

#[test]
fn round_trip_each_algorithm() {
    let mut srv = server();
    let challenges = srv.challenge(T0, false, PHONE);
    // Both values carry one nonce, so each answer uses the next nonce count.
    for (i, ch) in challenges.iter().enumerate() {
        let auth = client_authorization(
            ch,
            "REGISTER",
            "sip:madoguchi.example.jp",
            "1001",
            "s3cret",
            "abc123",
            i as u32 + 1,
        )
        .unwrap();
        assert_eq!(
            verify(&mut srv, "REGISTER", &auth, users, T0 + 10),
            AuthOutcome::Ok {
                user: "1001".into()
            },
            "{ch}"
        );
        // The digest covers the method: the same header does not authorise an INVITE.
        assert!(matches!(
            verify(&mut srv, "INVITE", &auth, users, T0 + 10),
            AuthOutcome::Failed { .. }
        ));
    }
}

#[test]
fn session_variant_round_trip() {
    let mut srv = server();
    let ch =
        srv.challenge(T0, false, PHONE)[0].replace("algorithm=SHA-256", "algorithm=SHA-256-sess");
    let auth = client_authorization(&ch, "INVITE", "sip:100@x", "1001", "s3cret", "cn", 3).unwrap();
    assert_eq!(
        verify(&mut srv, "INVITE", &auth, users, T0),
        AuthOutcome::Ok {
            user: "1001".into()
        }
    );
}

#[test]
fn wrong_password_and_unknown_user_fail() {
    let mut srv = server();
    let ch = &srv.challenge(T0, false, PHONE)[0];
    let bad = client_authorization(ch, "REGISTER", "sip:x", "1001", "guess", "c", 1).unwrap();
    assert_eq!(
        verify(&mut srv, "REGISTER", &bad, users, T0),
        AuthOutcome::Failed {
            user: Some("1001".into()),
            reason: "wrong response"
        }
    );
    let nobody = client_authorization(ch, "REGISTER", "sip:x", "9999", "s3cret", "c", 1).unwrap();
    assert!(
        matches!(verify(&mut srv, "REGISTER", &nobody, users, T0), AuthOutcome::Failed { user: Some(u), .. } if u == "9999")
    );
}

#[test]
fn expired_nonce_is_stale_only_when_the_digest_is_right() {
    let mut srv = server();
    let ch = &srv.challenge(T0, false, PHONE)[0];
    let good = client_authorization(ch, "REGISTER", "sip:x", "1001", "s3cret", "c", 1).unwrap();
    assert_eq!(
        verify(&mut srv, "REGISTER", &good, users, T0 + 300),
        AuthOutcome::Ok {
            user: "1001".into()
        }
    );
    assert_eq!(
        verify(&mut srv, "REGISTER", &good, users, T0 + 301),
        AuthOutcome::Stale
    );
    let bad = client_authorization(ch, "REGISTER", "sip:x", "1001", "nope", "c", 1).unwrap();
    assert!(matches!(
        verify(&mut srv, "REGISTER", &bad, users, T0 + 301),
        AuthOutcome::Failed { .. }
    ));
}

#[test]
fn tampered_or_foreign_nonce_is_foreign_not_a_counted_failure() {
    let mut srv = server();
    let ch = srv.challenge(T0, false, PHONE)[0].clone();
    let nonce = param(&ch, "nonce").to_string();
    // Move the timestamp forward to try to extend the nonce's life: the MAC no longer fits.
    let later = format!("{:016x}{}", T0 + 10_000, &nonce[16..]);
    let forged = ch.replace(&nonce, &later);
    let auth =
        client_authorization(&forged, "REGISTER", "sip:x", "1001", "s3cret", "c", 1).unwrap();
    assert_eq!(
        verify(&mut srv, "REGISTER", &auth, users, T0 + 10_000),
        AuthOutcome::ForeignNonce {
            user: "1001".into()
        }
    );
    // A nonce from a server with another secret is not ours either.
    let mut other = DigestServer::new(REALM, [9u8; 32], Duration::from_secs(300));
    let och = &other.challenge(T0, false, PHONE)[0];
    let auth = client_authorization(och, "REGISTER", "sip:x", "1001", "wrong", "c", 1).unwrap();
    assert!(matches!(
        verify(&mut srv, "REGISTER", &auth, users, T0),
        AuthOutcome::ForeignNonce { .. }
    ));
}

#[test]
fn legacy_rfc2069_answer_without_qop() {
    let mut srv = server();
    let nonce = param(&srv.challenge(T0, false, PHONE)[1], "nonce").to_string();
    let ha1 = md5_hex(&format!("1001:{REALM}:s3cret"));
    let resp = md5_hex(&format!("{ha1}:{nonce}:{}", md5_hex("REGISTER:sip:x")));
    let auth = format!("Digest username=\"1001\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"sip:x\", response=\"{resp}\"");
    assert_eq!(
        verify(&mut srv, "REGISTER", &auth, users, T0),
        AuthOutcome::Ok {
            user: "1001".into()
        }
    );
    let mut strict = server().allow_rfc2069(false);
    assert!(matches!(
        verify(&mut strict, "REGISTER", &auth, users, T0),
        AuthOutcome::Failed { .. }
    ));
    // The same header built by our client from a qop-less challenge.
    let ch = format!("Digest realm=\"{REALM}\", nonce=\"{nonce}\"");
    let ours = client_authorization(&ch, "REGISTER", "sip:x", "1001", "s3cret", "c", 1).unwrap();
    assert_eq!(parse_authorization(&ours).unwrap().response, resp);
}

#[test]
fn realm_opaque_and_stored_ha1_are_checked() {
    let mut srv = server();
    let ch = &srv.challenge(T0, false, PHONE)[0];
    let good = client_authorization(ch, "REGISTER", "sip:x", "1001", "s3cret", "c", 1).unwrap();
    let other_realm = good.replace(&format!("realm=\"{REALM}\""), "realm=\"evil.example\"");
    assert!(matches!(
        verify(&mut srv, "REGISTER", &other_realm, users, T0),
        AuthOutcome::Failed { .. }
    ));
    let opaque = param(ch, "opaque");
    let bad_opaque = good.replace(opaque, "00000000");
    assert!(matches!(
        verify(&mut srv, "REGISTER", &bad_opaque, users, T0),
        AuthOutcome::Failed { .. }
    ));
    // A user provisioned with SHA-256 only cannot be authenticated with MD5.
    let sha_only = |n: &str| {
        users(n).map(|mut c| {
            c.ha1_md5 = None;
            c
        })
    };
    let md5 = client_authorization(
        &srv.challenge(T0, false, PHONE)[1],
        "REGISTER",
        "sip:x",
        "1001",
        "s3cret",
        "c",
        1,
    )
    .unwrap();
    assert!(matches!(
        verify(&mut srv, "REGISTER", &md5, sha_only, T0),
        AuthOutcome::Failed { .. }
    ));
    assert_eq!(
        verify(&mut srv, "REGISTER", &good, sha_only, T0),
        AuthOutcome::Ok {
            user: "1001".into()
        }
    );
}

#[test]
fn malformed_and_foreign_schemes() {
    let mut srv = server();
    // RFC 4475 §3.3.7 regaut01: an unknown scheme is answered with a Digest challenge.
    assert_eq!(
        verify(
            &mut srv,
            "REGISTER",
            "NoOneKnowsThisScheme opaque-data=here",
            users,
            T0
        ),
        AuthOutcome::Malformed
    );
    let ch = &srv.challenge(T0, false, PHONE)[0];
    let good = client_authorization(ch, "REGISTER", "sip:x", "1001", "s3cret", "c", 1).unwrap();
    let no_uri = good.replace("uri=\"sip:x\", ", "");
    assert_eq!(
        verify(&mut srv, "REGISTER", &no_uri, users, T0),
        AuthOutcome::Malformed
    );
    let bad_nc = good.replace("nc=00000001", "nc=1");
    assert_eq!(
        verify(&mut srv, "REGISTER", &bad_nc, users, T0),
        AuthOutcome::Malformed
    );
    assert_eq!(
        verify(&mut srv, "REGISTER", "Digest username=\"1001", users, T0),
        AuthOutcome::Malformed
    );
}

#[test]
fn client_refuses_what_it_cannot_answer() {
    let r = client_authorization(
        "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256",
        "INVITE",
        "sip:a",
        "u",
        "p",
        "c",
        1,
    );
    assert_eq!(
        r,
        Err(AuthError::UnsupportedAlgorithm("SHA-512-256".into()))
    );
    let r = client_authorization(
        "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
        "INVITE",
        "sip:a",
        "u",
        "p",
        "c",
        1,
    );
    assert!(matches!(r, Err(AuthError::UnsupportedQop(_))));
    let r = client_authorization("Basic realm=\"r\"", "INVITE", "sip:a", "u", "p", "c", 1);
    assert_eq!(r, Err(AuthError::NotDigest));
    let r = client_authorization("Digest realm=\"r\"", "INVITE", "sip:a", "u", "p", "c", 1);
    assert!(matches!(r, Err(AuthError::Malformed(_))));
}

#[test]
fn credentials_hold_ha1_not_the_password() {
    let c = Credentials::from_password("1001", REALM, "s3cret");
    assert_eq!(
        c.ha1_md5.as_deref(),
        Some(md5_hex(&format!("1001:{REALM}:s3cret")).as_str())
    );
    assert_eq!(
        c.ha1_sha256.as_deref(),
        Some(sha256_hex(&format!("1001:{REALM}:s3cret")).as_str())
    );
    // H(A1) logs in within the realm as well as the password would: keep it out of logs.
    let shown = format!("{c:?}");
    assert!(
        !shown.contains(c.ha1_md5.as_deref().unwrap())
            && !shown.contains(c.ha1_sha256.as_deref().unwrap())
    );
    assert!(shown.contains("1001"));
}
