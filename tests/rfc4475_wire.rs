//! RFC 4475 over the wire: every torture message, byte-exact, is sent to the running
//! switch over UDP and over TCP, and the answer must be the one `INDEX.md` asks of an
//! element like ours (a UAS and registrar, not a proxy). None may crash or hang it.
//!
//! REGISTERs go to the operators' listener (the registrar, which challenges first);
//! everything else to the carrier trunk listener (where unknown numbers are 404).

mod common;
use common::*;
use sip::SipHeaders;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// (file, expected status over UDP, expected status over TCP). `None`: no answer at all.
const CASES: &[(&str, Option<u16>, Option<u16>)] = &[
    ("wsinv", Some(481), Some(481)), // valid, but its To has a tag of no dialog of ours
    ("intmeth", Some(501), Some(501)), // unknown method
    ("esc01", Some(404), Some(404)), // valid INVITE; no such number here
    ("escnull", Some(401), Some(401)), // valid REGISTER; the registrar challenges first
    ("esc02", Some(501), Some(501)), // RE%47IST%45R is not REGISTER
    ("lwsdisp", Some(200), Some(200)),
    ("longreq", Some(404), Some(404)),
    ("dblreq", Some(401), Some(401)), // trailing INVITE bytes discarded (UDP)
    ("semiuri", Some(200), Some(200)),
    ("transports", Some(200), Some(200)),
    ("mpart01", Some(405), Some(405)), // MESSAGE parsed, framed by Content-Length, not offered
    ("unreason", None, None),          // responses to nothing of ours are dropped
    ("noreason", None, None),
    ("badinv01", Some(400), Some(400)),
    ("clerr", Some(400), None), // on a stream the receiver waits for the missing bytes
    ("ncl", Some(400), Some(400)),
    ("scalar02", Some(400), Some(400)),
    ("scalarlg", None, None),
    ("quotbal", Some(400), Some(400)),
    ("ltgtruri", Some(400), Some(400)),
    ("lwsruri", Some(400), Some(400)),
    ("lwsstart", Some(400), Some(400)),
    ("trws", Some(400), Some(400)),
    ("escruri", Some(400), Some(400)),
    ("baddate", Some(404), Some(404)), // the odd Date does not matter to us
    ("regbadct", Some(400), Some(400)),
    ("badaspec", Some(400), Some(400)),
    ("baddn", Some(400), None), // no empty line: on a stream the header never ends
    ("baddn.crlf-terminated", Some(400), Some(400)),
    ("badvers", Some(505), Some(505)),
    ("mismatch01", Some(400), Some(400)),
    ("mismatch02", Some(501), Some(501)),
    ("bigcode", None, None),
    ("badbranch", Some(200), Some(200)), // RFC 2543-style matching, then answered normally
    ("insuf", Some(400), Some(400)),
    ("unkscm", Some(416), Some(416)),
    ("novelsc", Some(416), Some(416)),
    ("unksm2", Some(400), Some(400)), // a registrar needs a SIP AOR in To
    ("bext01", Some(420), Some(420)),
    ("invut", Some(415), Some(415)),
    ("regaut01", Some(401), Some(401)), // unknown scheme: challenge with Digest
    ("multi01", Some(400), Some(400)),
    ("mcl01", Some(400), Some(400)),
    ("bcast", None, None),
    ("zeromf", Some(200), Some(200)), // Max-Forwards 0 is fine for an endpoint
    ("cparam01", Some(401), Some(401)),
    ("cparam02", Some(401), Some(401)),
    ("regescrt", Some(401), Some(401)),
    ("sdp01", Some(406), Some(406)),
    ("inv2543", Some(404), Some(400)), // no Content-Length: fine in a datagram, not on a stream
];

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/rfc4475")
}

fn target(sw: &Switch, bytes: &[u8]) -> std::net::SocketAddr {
    if bytes.starts_with(b"REGISTER ") {
        sw.sip
    } else {
        sw.trunk
    }
}

/// What a UAS matches a request's transaction on: top Via branch and sent-by, and the
/// method (ACK and CANCEL aside, which none of these files are).
fn transaction_key(bytes: &[u8]) -> String {
    match sip::parse_datagram(bytes) {
        Ok(sip::Message::Request(r)) => {
            let v = r
                .top_via()
                .map(|v| format!("{}|{}|{:?}", v.branch().unwrap_or(""), v.host, v.port))
                .unwrap_or_default();
            format!("{v}|{}", r.method)
        }
        _ => String::new(),
    }
}

/// The first switch of the pool that has not seen this transaction (a new one if none).
fn pick<'a>(pool: &'a mut Vec<(Switch, HashSet<String>)>, key: &str, name: &str) -> &'a Switch {
    let i = match pool
        .iter()
        .position(|(_, seen)| key.is_empty() || !seen.contains(key))
    {
        Some(i) => i,
        None => {
            pool.push((
                Switch::start(&format!("{name}-{}", pool.len()), |t| t),
                HashSet::new(),
            ));
            pool.len() - 1
        }
    };
    if !key.is_empty() {
        pool[i].1.insert(key.to_string());
    }
    &pool[i].0
}

/// The status of the first response in `data`, if any.
fn first_status(data: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(data);
    let line = text.lines().find(|l| l.starts_with("SIP/2.0 "))?;
    line.split(' ').nth(1)?.parse().ok()
}

#[test]
fn every_torture_message_gets_the_right_answer_over_udp_and_tcp() {
    // Several switches: two messages with the same branch, sent-by and method (the RFC's
    // files reuse `z9hG4bKkdjuw`) are one transaction to a correct element (§17.2.3), so
    // the second would be absorbed as a retransmission of the first. Such a message goes
    // to a switch that has not seen that transaction, and UDP and TCP get their own.
    let mut udp_pool: Vec<(Switch, HashSet<String>)> = Vec::new();
    let mut tcp_pool: Vec<(Switch, HashSet<String>)> = Vec::new();
    // Every message of the corpus has an expected answer here, and every case names a
    // file of the corpus (49 messages of the RFC plus the CRLF-terminated baddn): a
    // file added to the corpus, or a case misspelt, fails instead of going untested.
    let mut files: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".sip").map(str::to_string)
        })
        .collect();
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    cases.sort();
    assert_eq!(cases, files, "CASES and the corpus's .sip files differ");
    let mut failures = Vec::new();
    for (name, udp_want, tcp_want) in CASES {
        let bytes = std::fs::read(corpus().join(format!("{name}.sip"))).unwrap();
        let key = transaction_key(&bytes);
        let sw = pick(&mut udp_pool, &key, "rfc4475-udp");
        let to = target(sw, &bytes);

        // UDP: collect answers for a moment; skip 100 Trying.
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        s.send_to(&bytes, to).unwrap();
        let mut got = None;
        let t0 = Instant::now();
        let wait = if udp_want.is_some() { 3000 } else { 600 };
        let mut buf = vec![0u8; 65536];
        while t0.elapsed() < Duration::from_millis(wait) && got.is_none() {
            if let Ok((n, _)) = s.recv_from(&mut buf) {
                got = first_status(&buf[..n]).filter(|c| *c >= 200);
            }
        }
        if got != *udp_want {
            failures.push(format!("{name} over UDP: want {udp_want:?}, got {got:?}"));
        }

        // TCP: a fresh connection per message.
        let sw_tcp = pick(&mut tcp_pool, &key, "rfc4475-tcp");
        let mut c = std::net::TcpStream::connect(target(sw_tcp, &bytes)).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        c.write_all(&bytes).unwrap();
        let mut got = None;
        let mut acc = Vec::new();
        let t0 = Instant::now();
        let wait = if tcp_want.is_some() { 3000 } else { 600 };
        while t0.elapsed() < Duration::from_millis(wait) && got.is_none() {
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    acc.extend_from_slice(&buf[..n]);
                    got = String::from_utf8_lossy(&acc)
                        .split("SIP/2.0 ")
                        .skip(1)
                        .filter_map(|r| r.get(..3)?.parse::<u16>().ok())
                        .find(|c| *c >= 200);
                }
                Err(_) => {}
            }
        }
        if got != *tcp_want {
            failures.push(format!("{name} over TCP: want {tcp_want:?}, got {got:?}"));
        }
    }
    // Every switch is still alive and answering after all of it.
    for (i, (sw, _)) in udp_pool.iter().chain(tcp_pool.iter()).enumerate() {
        let c = RawSip::new();
        c.send(
            sw.trunk,
            &c.request(
                "OPTIONS",
                "sip:127.0.0.1",
                "probe",
                &format!("alive-{i}"),
                1,
                "",
                "",
            ),
        );
        let alive = c.final_response(3.0, &mut Vec::new()).map(|r| r.status);
        assert_eq!(
            alive,
            Some(200),
            "switch not answering after the torture set; log:\n{}",
            tail(&sw.log(), 40)
        );
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
