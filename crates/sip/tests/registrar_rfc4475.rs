//! The RFC 4475 torture messages that concern a registrar, read from the shared
//! conformance files (`tests/conformance/rfc4475/` (a byte-exact copy of the shared set), or `RFC4475_DIR`),
//! with the outcome that folder's INDEX.md states.

use sip::message::{parse_datagram, Message, Request};
use sip::registrar::{RegisterError, Registrar, RegistrarConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

const T0: u64 = 1_800_000_000;

fn load(name: &str) -> Request {
    let dir = match std::env::var_os("RFC4475_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/rfc4475"),
    };
    let path = dir.join(format!("{name}.sip"));
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set RFC4475_DIR)", path.display()));
    match parse_datagram(&bytes).unwrap_or_else(|e| panic!("{name}: {e}")) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{name} is a request"),
    }
}

fn src() -> SocketAddr {
    "192.0.2.50:5060".parse().unwrap()
}

fn reg() -> Registrar {
    Registrar::new("example.com", RegistrarConfig::default())
}

/// §3.3.12: `unknownparam` follows an addr-spec, so it is a contact-param; it must not
/// become part of the bound URI, now or in later fetches.
#[test]
fn cparam01_contact_param_stays_out_of_the_uri() {
    let mut r = reg();
    let ok = r.register(&load("cparam01"), src(), "UDP", T0).unwrap();
    assert_eq!(ok.aor, "watson@example.com");
    let b = &ok.bindings[0];
    assert_eq!(b.contact, "sip:+19725552222@gw1.example.net");
    assert_eq!(b.contact_params, vec![("unknownparam".to_string(), None)]);
    let fetched = r.lookup("watson", T0 + 1);
    assert_eq!(fetched[0].contact, "sip:+19725552222@gw1.example.net");
    assert!(!fetched[0]
        .uri()
        .unwrap()
        .as_sip()
        .unwrap()
        .has_param("unknownparam"));
    assert_eq!(
        ok.contact_header_values(),
        vec!["<sip:+19725552222@gw1.example.net>;unknownparam;expires=3600".to_string()]
    );
}

/// §3.3.13: inside `<>`, `unknownparam` is a URI parameter and is kept in the binding.
#[test]
fn cparam02_uri_param_is_kept() {
    let mut r = reg();
    let ok = r.register(&load("cparam02"), src(), "UDP", T0).unwrap();
    let b = &ok.bindings[0];
    assert_eq!(b.contact, "sip:+19725552222@gw1.example.net;unknownparam");
    assert!(b.contact_params.is_empty());
    assert_eq!(
        r.lookup("watson", T0)[0].contact_header_value(T0),
        "<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600"
    );
}

/// Both in turn: by §19.1.4 a parameter present on one side only does not make the URIs
/// differ, so cparam02 (another Call-ID) refreshes cparam01's binding and its URI is
/// the one stored afterwards.
#[test]
fn cparam02_refreshes_cparam01_binding() {
    let mut r = reg();
    r.register(&load("cparam01"), src(), "UDP", T0).unwrap();
    let ok = r.register(&load("cparam02"), src(), "UDP", T0 + 1).unwrap();
    assert_eq!(ok.bindings.len(), 1);
    assert_eq!(
        ok.bindings[0].contact,
        "sip:+19725552222@gw1.example.net;unknownparam"
    );
}

/// §3.3.14: the escaped Route header stays inside the contact URI, byte for byte.
#[test]
fn regescrt_escaped_header_is_kept() {
    let mut r = reg();
    let ok = r.register(&load("regescrt"), src(), "UDP", T0).unwrap();
    assert_eq!(ok.aor, "user@example.com");
    let uri = "sip:user@example.com?Route=%3Csip:sip.example.com%3E";
    assert_eq!(ok.bindings[0].contact, uri);
    assert_eq!(ok.bindings[0].cseq, 14398234);
    let fetched = r.lookup("user", T0 + 10);
    assert_eq!(fetched[0].contact, uri);
    assert_eq!(
        fetched[0].contact_header_value(T0 + 10),
        format!("<{uri}>;expires=3590")
    );
}

/// §3.3.4: the AOR in To is `isbn:`, not SIP or SIPS, so a registrar answers 400.
#[test]
fn unksm2_non_sip_to_is_400() {
    let mut r = reg();
    let req = load("unksm2");
    let e = r.register(&req, src(), "UDP", T0).unwrap_err();
    assert!(matches!(e, RegisterError::BadRequest(_)), "{e:?}");
    assert_eq!(e.to_response(&req, Some("x")).status, 400);
    assert_eq!(r.bindings_count(), 0);
}

/// §3.1.1.4: two distinct contacts differing only by escaped NULs.
#[test]
fn escnull_registers_two_contacts() {
    let mut r = reg();
    let req = load("escnull");
    let ok = r.register(&req, src(), "UDP", T0).unwrap();
    assert_eq!(ok.bindings.len(), 2, "{:?}", ok.bindings);
}
