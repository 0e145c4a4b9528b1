//! Bindings survive a restart: save, load, and expiry measured in wall-clock seconds.

use sip::message::{parse_datagram, Message, Request};
use sip::registrar::{Registrar, RegistrarConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

const T0: u64 = 1_800_000_000;

fn register(user: &str, contact: &str, expires: u32) -> Request {
    let s = format!(
        "REGISTER sip:pbx.example.jp SIP/2.0\r\n\
         Via: SIP/2.0/TCP 198.51.100.20:40123;branch=z9hG4bK1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@pbx.example.jp>;tag=a1\r\n\
         To: <sip:{user}@pbx.example.jp>\r\n\
         Call-ID: persist-{user}\r\n\
         CSeq: 1 REGISTER\r\n\
         Path: <sip:edge.example.jp;lr>\r\n\
         Contact: {contact};expires={expires}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match parse_datagram(s.as_bytes()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

/// A fresh directory under the system temp dir (no tempfile dependency needed).
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("madoguchi-registrar-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn save_load_round_trip_drops_expired() {
    let dir = scratch("roundtrip");
    let path = dir.join("bindings.json");
    let src: SocketAddr = "[2001:db8::20]:40123".parse().unwrap();
    let mut r = Registrar::new("pbx.example.jp", RegistrarConfig::default());
    r.register(
        &register(
            "1001",
            "<sip:1001@10.0.0.5;ob>;+sip.instance=\"<urn:uuid:1>\";q=0.7",
            3600,
        ),
        src,
        "tcp",
        T0,
    )
    .unwrap();
    r.register(
        &register("1002", "<sip:1002@10.0.0.6?Route=%3Csip:x%3E>", 120),
        src,
        "udp",
        T0,
    )
    .unwrap();
    r.save(&path).unwrap();
    assert!(
        !dir.join("bindings.json.tmp").exists(),
        "temporary file renamed away"
    );

    // Restart before anything expired: everything is back, field for field.
    let back =
        Registrar::load(&path, "pbx.example.jp", RegistrarConfig::default(), T0 + 60).unwrap();
    assert_eq!(back.bindings_count(), 2);
    for user in ["1001", "1002"] {
        assert_eq!(
            back.lookup(user, T0 + 60),
            r.lookup(user, T0 + 60),
            "{user}"
        );
    }
    let b = &back.lookup("1001", T0 + 60)[0];
    assert_eq!(
        (b.source, b.transport.as_str(), b.q),
        (src, "TCP", Some(700))
    );
    assert_eq!(b.path, vec!["<sip:edge.example.jp;lr>".to_string()]);
    assert_eq!(
        b.contact_header_value(T0 + 60),
        "<sip:1001@10.0.0.5;ob>;q=0.7;+sip.instance=\"<urn:uuid:1>\";expires=3540"
    );

    // Restart after the 120 s binding ran out: only the long one is loaded.
    let later = Registrar::load(
        &path,
        "pbx.example.jp",
        RegistrarConfig::default(),
        T0 + 120,
    )
    .unwrap();
    assert_eq!(later.bindings_count(), 1);
    assert!(later.lookup("1002", T0 + 120).is_empty());
    assert_eq!(later.lookup("1001", T0 + 120).len(), 1);

    // Saving again replaces the file atomically.
    later.save(&path).unwrap();
    let again = Registrar::load(
        &path,
        "pbx.example.jp",
        RegistrarConfig::default(),
        T0 + 120,
    )
    .unwrap();
    assert_eq!(again.bindings_count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn load_reports_missing_and_corrupt_files() {
    let dir = scratch("errors");
    let missing =
        Registrar::load(&dir.join("none.json"), "d", RegistrarConfig::default(), T0).unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    let bad = dir.join("bad.json");
    std::fs::write(&bad, b"{\"version\":1,\"bindings\":[").unwrap();
    let e = Registrar::load(&bad, "d", RegistrarConfig::default(), T0).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    std::fs::remove_dir_all(&dir).unwrap();
}
