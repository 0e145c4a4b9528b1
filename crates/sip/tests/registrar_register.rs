//! REGISTER processing (RFC 3261 §10.3): adding, refreshing and removing bindings,
//! `*`, intervals, CSeq ordering and the refusals.

use sip::message::{parse_datagram, Message, Request};
use sip::registrar::{RegisterError, Registrar, RegistrarConfig};
use std::net::SocketAddr;

const T0: u64 = 1_800_000_000;

fn src() -> SocketAddr {
    "198.51.100.20:40123".parse().unwrap()
}

fn reg() -> Registrar {
    Registrar::new("pbx.example.jp", RegistrarConfig::default())
}

/// A REGISTER for 1001 with the given Call-ID, CSeq, Contact lines and Expires.
fn register(call_id: &str, cseq: u32, contacts: &[&str], expires: Option<&str>) -> Request {
    let mut s = format!(
        "REGISTER sip:pbx.example.jp SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.20:40123;branch=z9hG4bK{cseq}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@pbx.example.jp>;tag=a1\r\n\
         To: <sip:1001@pbx.example.jp>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         User-Agent: TestPhone/1.0\r\n"
    );
    for c in contacts {
        s.push_str(&format!("Contact: {c}\r\n"));
    }
    if let Some(e) = expires {
        s.push_str(&format!("Expires: {e}\r\n"));
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    match parse_datagram(s.as_bytes()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!("built a request"),
    }
}

#[test]
fn two_contacts_then_refresh_then_remove_one() {
    let mut r = reg();
    let ok = r
        .register(
            &register(
                "c1",
                1,
                &[
                    "<sip:1001@10.0.0.5:5060>;q=0.5",
                    "<sip:1001@10.0.0.6:5062;transport=tcp>;q=1.0",
                ],
                Some("600"),
            ),
            src(),
            "udp",
            T0,
        )
        .unwrap();
    assert_eq!(ok.aor, "1001@pbx.example.jp");
    assert_eq!(
        ok.contact_header_values(),
        vec![
            "<sip:1001@10.0.0.6:5062;transport=tcp>;q=1;expires=600".to_string(),
            "<sip:1001@10.0.0.5:5060>;q=0.5;expires=600".to_string(),
        ]
    );
    let b = &ok.bindings[0];
    assert_eq!((b.source, b.transport.as_str()), (src(), "UDP"));
    assert_eq!(b.user_agent.as_deref(), Some("TestPhone/1.0"));
    assert_eq!(r.bindings_count(), 2);

    // Refresh one contact 100 s later with a longer interval: same binding, new expiry.
    let ok = r
        .register(
            &register(
                "c1",
                2,
                &["<sip:1001@10.0.0.5:5060>;q=0.5;expires=1200"],
                None,
            ),
            src(),
            "UDP",
            T0 + 100,
        )
        .unwrap();
    assert_eq!(ok.bindings.len(), 2);
    let refreshed = ok
        .bindings
        .iter()
        .find(|b| b.contact == "sip:1001@10.0.0.5:5060")
        .unwrap();
    assert_eq!(refreshed.expires_at, T0 + 1300);
    assert!(ok
        .contact_header_values()
        .contains(&"<sip:1001@10.0.0.5:5060>;q=0.5;expires=1200".to_string()));
    assert!(ok
        .contact_header_values()
        .contains(&"<sip:1001@10.0.0.6:5062;transport=tcp>;q=1;expires=500".to_string()));

    // Unregister the other one with expires=0 (URI compared per §19.1.4: case of host
    // and transport value do not matter).
    let ok = r
        .register(
            &register(
                "c1",
                3,
                &["<sip:1001@10.0.0.6:5062;transport=TCP>;expires=0"],
                None,
            ),
            src(),
            "UDP",
            T0 + 200,
        )
        .unwrap();
    assert_eq!(ok.bindings.len(), 1);
    assert_eq!(ok.bindings[0].contact, "sip:1001@10.0.0.5:5060");
    assert_eq!(r.lookup("1001", T0 + 200).len(), 1);
    assert_eq!(r.lookup("1001@pbx.example.jp", T0 + 200).len(), 1);
    assert!(r.lookup("1001@elsewhere.example", T0 + 200).is_empty());
}

#[test]
fn lookup_orders_by_q_then_most_recent_and_expire_removes() {
    let mut r = reg();
    r.register(
        &register("a", 1, &["<sip:1001@10.0.0.1>"], Some("120")),
        src(),
        "UDP",
        T0,
    )
    .unwrap();
    r.register(
        &register("b", 1, &["<sip:1001@10.0.0.2>"], Some("3600")),
        src(),
        "UDP",
        T0 + 10,
    )
    .unwrap();
    r.register(
        &register("c", 1, &["<sip:1001@10.0.0.3>;q=0.9"], Some("3600")),
        src(),
        "UDP",
        T0 + 20,
    )
    .unwrap();
    let order: Vec<String> = r
        .lookup("1001", T0 + 30)
        .into_iter()
        .map(|b| b.contact)
        .collect();
    assert_eq!(
        order,
        [
            "sip:1001@10.0.0.2",
            "sip:1001@10.0.0.1",
            "sip:1001@10.0.0.3"
        ]
    );
    // The 120 s binding is gone from lookups at once and from the table after expire().
    assert_eq!(r.lookup("1001", T0 + 120).len(), 2);
    assert_eq!(r.bindings_count(), 3);
    assert_eq!(r.expire(T0 + 120), 1);
    assert_eq!(r.bindings_count(), 2);
    assert_eq!(r.expire(T0 + 120), 0);
}

#[test]
fn star_with_expires_zero_clears_all() {
    let mut r = reg();
    r.register(
        &register(
            "c1",
            1,
            &["<sip:1001@10.0.0.5>", "<sip:1001@10.0.0.6>"],
            None,
        ),
        src(),
        "UDP",
        T0,
    )
    .unwrap();
    r.register(
        &register("c2", 1, &["<sip:1001@10.0.0.7>"], None),
        src(),
        "UDP",
        T0,
    )
    .unwrap();
    assert_eq!(r.bindings_count(), 3);
    let ok = r
        .register(&register("c3", 1, &["*"], Some("0")), src(), "UDP", T0 + 1)
        .unwrap();
    assert!(ok.bindings.is_empty());
    assert!(ok.contact_header_values().is_empty());
    assert_eq!(r.bindings_count(), 0);
}

#[test]
fn star_misuse_is_400_and_changes_nothing() {
    let mut r = reg();
    r.register(
        &register("c1", 1, &["<sip:1001@10.0.0.5>"], None),
        src(),
        "UDP",
        T0,
    )
    .unwrap();
    let with_other = register("c2", 1, &["*", "<sip:1001@10.0.0.6>"], Some("0"));
    let e = r.register(&with_other, src(), "UDP", T0).unwrap_err();
    assert!(matches!(e, RegisterError::BadRequest(_)));
    assert_eq!(e.to_response(&with_other, Some("t")).status, 400);
    let without_zero = register("c2", 2, &["*"], Some("3600"));
    assert!(matches!(
        r.register(&without_zero, src(), "UDP", T0),
        Err(RegisterError::BadRequest(_))
    ));
    let no_expires = register("c2", 3, &["*"], None);
    assert!(matches!(
        r.register(&no_expires, src(), "UDP", T0),
        Err(RegisterError::BadRequest(_))
    ));
    assert_eq!(r.bindings_count(), 1);
}

#[test]
fn too_brief_is_423_with_min_expires_and_long_is_clamped() {
    let mut r = reg();
    let brief = register(
        "c1",
        1,
        &["<sip:1001@10.0.0.5>", "<sip:1001@10.0.0.6>;expires=30"],
        Some("600"),
    );
    let e = r.register(&brief, src(), "UDP", T0).unwrap_err();
    assert_eq!(e, RegisterError::IntervalTooBrief { min_expires: 60 });
    let resp = e.to_response(&brief, Some("t"));
    assert_eq!(resp.status, 423);
    assert_eq!(resp.headers.get("Min-Expires"), Some("60"));
    assert_eq!(
        r.bindings_count(),
        0,
        "the valid contact of a refused request is not bound either"
    );

    let ok = r
        .register(
            &register("c1", 2, &["<sip:1001@10.0.0.5>"], Some("86400")),
            src(),
            "UDP",
            T0,
        )
        .unwrap();
    assert_eq!(
        ok.contact_header_values(),
        vec!["<sip:1001@10.0.0.5>;expires=3600".to_string()]
    );
    let ok = r
        .register(
            &register("c1", 3, &["<sip:1001@10.0.0.5>"], None),
            src(),
            "UDP",
            T0,
        )
        .unwrap();
    assert_eq!(ok.bindings[0].expires_at, T0 + 3600, "default expires");
}

#[test]
fn out_of_order_cseq_from_same_call_id_is_ignored() {
    let mut r = reg();
    r.register(
        &register("c1", 5, &["<sip:1001@10.0.0.5>"], Some("3600")),
        src(),
        "UDP",
        T0,
    )
    .unwrap();
    // A delayed older REGISTER (CSeq 4) that would remove the binding.
    let ok = r
        .register(
            &register("c1", 4, &["<sip:1001@10.0.0.5>"], Some("0")),
            src(),
            "UDP",
            T0 + 5,
        )
        .unwrap();
    assert_eq!(ok.ignored, vec!["sip:1001@10.0.0.5".to_string()]);
    assert_eq!(ok.bindings.len(), 1);
    assert_eq!(ok.bindings[0].cseq, 5);
    // Equal CSeq is ignored too (a repeat, not a new request).
    let ok = r
        .register(
            &register("c1", 5, &["<sip:1001@10.0.0.5>"], Some("60")),
            src(),
            "UDP",
            T0 + 5,
        )
        .unwrap();
    assert_eq!(ok.bindings[0].expires_at, T0 + 3600);
    // "*" from the same Call-ID with an old CSeq does not remove it either.
    let ok = r
        .register(&register("c1", 3, &["*"], Some("0")), src(), "UDP", T0 + 5)
        .unwrap();
    assert_eq!(ok.bindings.len(), 1);
    // Another Call-ID (the phone rebooted) may update it whatever its CSeq.
    let ok = r
        .register(
            &register("c2", 1, &["<sip:1001@10.0.0.5>"], Some("0")),
            src(),
            "UDP",
            T0 + 6,
        )
        .unwrap();
    assert!(ok.bindings.is_empty());
}

#[test]
fn query_without_contact_lists_bindings() {
    let mut r = reg();
    r.register(
        &register("c1", 1, &["<sip:1001@10.0.0.5>"], Some("600")),
        src(),
        "UDP",
        T0,
    )
    .unwrap();
    let ok = r
        .register(&register("c9", 1, &[], None), src(), "UDP", T0 + 60)
        .unwrap();
    assert_eq!(
        ok.contact_header_values(),
        vec!["<sip:1001@10.0.0.5>;expires=540".to_string()]
    );
    let resp = ok.to_response(&register("c9", 1, &[], None), Some("x"));
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.headers.get("Contact"),
        Some("<sip:1001@10.0.0.5>;expires=540")
    );
}

#[test]
fn refusals_for_bad_to_domain_contact_and_count() {
    let mut r = Registrar::new(
        "pbx.example.jp",
        RegistrarConfig {
            max_contacts_per_aor: 2,
            ..RegistrarConfig::default()
        },
    );
    let mut other_domain = register("c1", 1, &["<sip:1001@10.0.0.5>"], None);
    other_domain
        .headers
        .set("To", "<sip:1001@elsewhere.example>");
    assert!(matches!(
        r.register(&other_domain, src(), "UDP", T0),
        Err(RegisterError::NotFound(_))
    ));
    r.add_alias("192.0.2.1");
    let mut by_ip = other_domain.clone();
    by_ip.headers.set("To", "<sip:1001@192.0.2.1>");
    assert_eq!(
        r.register(&by_ip, src(), "UDP", T0).unwrap().aor,
        "1001@pbx.example.jp"
    );

    let bad_q = register("c1", 2, &["<sip:1001@10.0.0.5>;q=2"], None);
    assert!(matches!(
        r.register(&bad_q, src(), "UDP", T0),
        Err(RegisterError::BadRequest(_))
    ));
    let bad_exp = register("c1", 3, &["<sip:1001@10.0.0.5>"], Some("soon"));
    assert!(matches!(
        r.register(&bad_exp, src(), "UDP", T0),
        Err(RegisterError::BadRequest(_))
    ));

    let three = register(
        "c3",
        1,
        &["<sip:1001@10.0.0.6>", "<sip:1001@10.0.0.7>"],
        None,
    );
    let e = r.register(&three, src(), "UDP", T0).unwrap_err();
    assert_eq!(e, RegisterError::TooManyContacts { max: 2 });
    assert_eq!(e.status(), 403);
    assert_eq!(r.bindings_count(), 1);
}
