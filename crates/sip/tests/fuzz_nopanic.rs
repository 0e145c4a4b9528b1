//! Bounded, seeded mutation fuzzing of the parser (DESIGN.md principle 4: bad input gets
//! an error response or is dropped, never a panic). Seeds are the RFC 4475 messages
//! (`RFC4475_DIR` or `tests/conformance/rfc4475/`) and a typical softphone INVITE; each
//! case gets 1–4 mutations: byte flips, truncation, duplicated or deleted ranges, random
//! header lines, CRLF→LF. For every case `parse`, `frame_stream`, `check_request`,
//! `response_for_parse_error` and `to_bytes` must not panic, and whatever parses must
//! re-parse from its own `to_bytes()` to a message that renders identically.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sip::validate::{check_request, response_for_parse_error, Role};
use sip::{frame_stream, parse, parse_datagram, Framing, Message, SipHeaders};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

const ITERATIONS: usize = 20_000;
const SEED: u64 = 0x6d61_646f_6775_6368; // "madoguch"

const INVITE: &[u8] = b"INVITE sip:0246221111@192.0.2.10:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.55:52734;branch=z9hG4bK-524287-1---a1b2c3d4;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:operator07@192.0.2.55:52734;transport=UDP>\r\n\
To: <sip:0246221111@192.0.2.10>\r\n\
From: \"Operator 07\" <sip:operator07@192.0.2.10>;tag=8f3a2b1c\r\n\
Call-ID: YzE4ZjM2NWU4ZTQ3NDQ2ZmI0OGU2ZGQ5NjA0ZWZhNDM.\r\n\
CSeq: 1 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, OPTIONS, INFO\r\n\
Content-Type: application/sdp\r\n\
Supported: replaces, timer\r\n\
Content-Length: 129\r\n\
\r\n\
v=0\r\n\
o=Z 1700000000000 1 IN IP4 192.0.2.55\r\n\
s=Z\r\n\
c=IN IP4 192.0.2.55\r\n\
t=0 0\r\n\
m=audio 8000 RTP/AVP 0 8 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n";

/// Header lines that poke at the parser's edges: lengths, escapes, quoting, folding.
const LINES: &[&str] = &[
    "Content-Length: -1",
    "Content-Length: 18446744073709551615",
    "Content-Length: 99999999999999999999999",
    "l: +5",
    "Content-Length: 0",
    "Via: SIP/2.0/UDP [::1",
    "Via: SIP/2.0/UDP [::1]:99999;branch=z9hG4bK",
    "v: ,,,",
    "Via: SIP/2.0/UDP host;branch=\"unterminated",
    "To: \"",
    "To: <sip:%E0%80%@host>;tag=%",
    "From: <sip:a@b>;tag=\u{00e9}\u{00e9}",
    "f: sip:%g0@[",
    "CSeq: 4294967296 INVITE",
    "CSeq: 1",
    "i: ",
    "Contact: *",
    "m: <sip:a@b?x=y@z>, <",
    "Require: 100rel, , replaces",
    "Accept: ",
    "c: application/sdp;;",
    "Max-Forwards: 1e3",
    " folded continuation",
    "\tfolded continuation",
    ":no-name",
    "bad name: value",
    "X-Utf8: \u{5927}\u{505c}\u{96fb}",
];

const INTERESTING: &[u8] = b"\r\n:;,<>\"\\% \t\0@?=/[]*\xff\xc3";

fn seeds() -> Vec<Vec<u8>> {
    let dir = match std::env::var_os("RFC4475_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/rfc4475"),
    };
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (set RFC4475_DIR)", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sip"))
        .map(|e| std::fs::read(e.path()).expect("readable seed"))
        .collect();
    out.sort();
    assert!(
        out.len() >= 49,
        "expected the RFC 4475 messages in {}",
        dir.display()
    );
    out.push(INVITE.to_vec());
    out
}

fn mutate(rng: &mut StdRng, buf: &mut Vec<u8>) {
    let at = |rng: &mut StdRng, len: usize| rng.random_range(0..=len);
    match rng.random_range(0..7) {
        0 if !buf.is_empty() => {
            let i = rng.random_range(0..buf.len());
            buf[i] = if rng.random_bool(0.5) {
                INTERESTING[rng.random_range(0..INTERESTING.len())]
            } else {
                rng.random()
            };
        }
        1 => {
            let n = at(rng, buf.len());
            buf.truncate(n);
        }
        2 if !buf.is_empty() => {
            let a = rng.random_range(0..buf.len());
            let b = (a + rng.random_range(1..=64)).min(buf.len());
            let piece = buf[a..b].to_vec();
            let i = at(rng, buf.len());
            buf.splice(i..i, piece);
        }
        3 if !buf.is_empty() => {
            let a = rng.random_range(0..buf.len());
            let b = (a + rng.random_range(1..=32)).min(buf.len());
            buf.drain(a..b);
        }
        4 => {
            // A header line inserted after some line end (or at the very start).
            let line = LINES[rng.random_range(0..LINES.len())];
            let ends: Vec<usize> = buf
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1)
                .collect();
            let i = if ends.is_empty() {
                0
            } else {
                ends[rng.random_range(0..ends.len())]
            };
            let mut ins = line.as_bytes().to_vec();
            ins.extend_from_slice(b"\r\n");
            buf.splice(i..i, ins);
        }
        5 => {
            let s = String::from_utf8_lossy(buf).replace("\r\n", "\n");
            *buf = s.into_bytes();
        }
        _ => {
            let n = rng.random_range(1..=8);
            let i = at(rng, buf.len());
            let junk: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            buf.splice(i..i, junk);
        }
    }
}

/// Everything a receiver does with one input; panics (caught by the caller) on failure.
fn exercise(buf: &[u8]) {
    for framing in [Framing::Datagram, Framing::Stream] {
        match parse(buf, framing) {
            Ok(msg) => {
                touch(&msg);
                let once = msg.to_bytes();
                let again = parse(&once, Framing::Stream)
                    .unwrap_or_else(|e| panic!("own rendering does not re-parse ({e}): {once:?}"));
                assert_eq!(again.to_bytes(), once, "rendering is not stable");
                if let Message::Request(r) = &msg {
                    for role in [Role::Uas, Role::Registrar] {
                        if let Err(rej) = check_request(r, role) {
                            if let Some(resp) = rej.response(r) {
                                let bytes = resp.to_bytes();
                                assert!(
                                    matches!(parse_datagram(&bytes), Ok(Message::Response(_))),
                                    "our {} does not parse: {bytes:?}",
                                    rej.status
                                );
                            }
                        }
                    }
                }
            }
            Err(e) => {
                if let Some(resp) = response_for_parse_error(&e) {
                    let bytes = resp.to_bytes();
                    assert!(
                        matches!(parse_datagram(&bytes), Ok(Message::Response(_))),
                        "our {} does not parse: {bytes:?}",
                        resp.status
                    );
                }
            }
        }
    }
    for max in [65_535, 200] {
        match frame_stream(buf, max) {
            Ok(Some(n)) => {
                assert!(n <= buf.len());
                // The framer and the parser must agree on the length they read.
                if let Err(e) = parse(&buf[..n], Framing::Stream) {
                    assert!(!e.framing, "framed {n} bytes that then fail to frame: {e}");
                }
            }
            Ok(None) => {}
            Err(e) => {
                assert!(e.framing);
                let _ = response_for_parse_error(&e);
            }
        }
    }
}

/// The typed accessors the layers above call on every message.
fn touch(msg: &Message) {
    let _ = (
        msg.call_id(),
        msg.cseq(),
        msg.from_hdr(),
        msg.to_hdr(),
        msg.from_tag(),
        msg.to_tag(),
    );
    let _ = (
        msg.top_via(),
        msg.vias(),
        msg.contacts(),
        msg.content_type(),
        msg.expires(),
    );
    for na in msg.header_uris("Route").iter().chain(&msg.contacts()) {
        let _ = (na.uri.user(), na.uri.to_string(), na.to_string());
    }
    for na in [msg.from_hdr(), msg.to_hdr()].into_iter().flatten() {
        let _ = (na.uri.user(), na.to_string());
    }
    if let Message::Request(r) = msg {
        let _ = (r.uri.user(), r.uri.to_string(), r.uri.scheme());
    }
}

#[test]
fn mutated_messages_never_panic() {
    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut parsed = 0usize;
    for i in 0..ITERATIONS {
        let mut buf = seeds[rng.random_range(0..seeds.len())].clone();
        for _ in 0..rng.random_range(1..=4) {
            mutate(&mut rng, &mut buf);
        }
        if parse_datagram(&buf).is_ok() {
            parsed += 1;
        }
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| exercise(&buf))) {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "iteration {i}: {what}\ninput: {:?}",
                String::from_utf8_lossy(&buf)
            );
        }
    }
    // The mutations must leave enough valid messages to test the render round trip.
    assert!(
        parsed > ITERATIONS / 10,
        "only {parsed} of {ITERATIONS} cases parsed"
    );
}

#[test]
fn unmutated_seeds_round_trip() {
    for s in seeds() {
        exercise(&s);
    }
}
