//! RFC 4475 torture messages, byte-exact from `tests/conformance/rfc4475/` (override
//! with `RFC4475_DIR`). Each file is parsed as a UDP datagram, then validated as a UAS
//! (REGISTER as a registrar), and the outcome must be the one its INDEX.md row names.
//! Every file is also fed to `frame_stream` as if it had arrived on TCP.

use sip::validate::{check_request, response_for_parse_error, Role};
use sip::{
    frame_stream, parse, parse_datagram, Framing, Message, Method, Request, Response, SipHeaders,
};
use std::path::PathBuf;

/// What our element (a UAS / registrar / B2BUA, not a proxy) does with a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Parses as a request and passes `check_request`: processed normally.
    Process,
    /// Parses as a request; `check_request` answers this status.
    Reject(u16),
    /// Fails to parse; `response_for_parse_error` answers this status.
    ParseReject(u16),
    /// Parses as a response (the transaction layer decides whether to discard it).
    Response,
    /// Fails to parse and is dropped without an answer (a junk response).
    Drop,
}
use Expect::*;

/// All 49 messages plus the CRLF-terminated copy of baddn (INDEX.md, notes).
const TABLE: &[(&str, Expect)] = &[
    ("wsinv", Process),             // 3.1.1.1
    ("intmeth", Reject(501)),       // 3.1.1.2: unknown method at a UAS
    ("esc01", Process),             // 3.1.1.3
    ("escnull", Process),           // 3.1.1.4
    ("esc02", Reject(501)),         // 3.1.1.5: RE%47IST%45R is not REGISTER
    ("lwsdisp", Process),           // 3.1.1.6
    ("longreq", Process),           // 3.1.1.7
    ("dblreq", Process),            // 3.1.1.8
    ("semiuri", Process),           // 3.1.1.9
    ("transports", Process),        // 3.1.1.10
    ("mpart01", Reject(405)),       // 3.1.1.11: parsed and framed; MESSAGE is not implemented
    ("unreason", Response),         // 3.1.1.12
    ("noreason", Response),         // 3.1.1.13
    ("badinv01", Reject(400)),      // 3.1.2.1
    ("clerr", ParseReject(400)),    // 3.1.2.2
    ("ncl", ParseReject(400)),      // 3.1.2.3
    ("scalar02", Reject(400)),      // 3.1.2.4
    ("scalarlg", Response),         // 3.1.2.5: discarded by the transaction layer
    ("quotbal", Reject(400)),       // 3.1.2.6
    ("ltgtruri", ParseReject(400)), // 3.1.2.7
    ("lwsruri", ParseReject(400)),  // 3.1.2.8
    ("lwsstart", ParseReject(400)), // 3.1.2.9
    ("trws", ParseReject(400)),     // 3.1.2.10
    ("escruri", ParseReject(400)),  // 3.1.2.11
    ("baddate", Process),           // 3.1.2.12: Date does not matter to us
    ("regbadct", Reject(400)),      // 3.1.2.13
    ("badaspec", Reject(400)),      // 3.1.2.14
    ("baddn", Reject(400)),         // 3.1.2.15 (archive bytes, no empty line)
    ("baddn.crlf-terminated", Reject(400)),
    ("badvers", ParseReject(505)), // 3.1.2.16
    ("mismatch01", Reject(400)),   // 3.1.2.17
    ("mismatch02", Reject(501)),   // 3.1.2.18
    ("bigcode", Drop),             // 3.1.2.19
    ("badbranch", Process),        // 3.2.1: RFC 2543 matching is the transaction layer's
    ("insuf", Reject(400)),        // 3.3.1
    ("unkscm", Reject(416)),       // 3.3.2
    ("novelsc", Reject(416)),      // 3.3.3
    ("unksm2", Reject(400)),       // 3.3.4 (registrar)
    ("bext01", Reject(420)),       // 3.3.5
    ("invut", Reject(415)),        // 3.3.6
    ("regaut01", Process),         // 3.3.7: the registrar then challenges or accepts
    ("multi01", Reject(400)),      // 3.3.8
    ("mcl01", ParseReject(400)),   // 3.3.9
    ("bcast", Response),           // 3.3.10: discarded by the transaction layer
    ("zeromf", Process),           // 3.3.11: an endpoint ignores Max-Forwards 0
    ("cparam01", Process),         // 3.3.12
    ("cparam02", Process),         // 3.3.13
    ("regescrt", Process),         // 3.3.14
    ("sdp01", Reject(406)),        // 3.3.15
    ("inv2543", Process),          // 3.4.1
];

fn dir() -> PathBuf {
    match std::env::var_os("RFC4475_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/rfc4475"),
    }
}

fn load(name: &str) -> Vec<u8> {
    let p = dir().join(format!("{name}.sip"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (set RFC4475_DIR)", p.display()))
}

fn role_for(req: &Request) -> Role {
    if req.method == Method::Register {
        Role::Registrar
    } else {
        Role::Uas
    }
}

fn request(name: &str) -> Request {
    match parse_datagram(&load(name)) {
        Ok(Message::Request(r)) => r,
        other => panic!("{name}: expected a request, got {other:?}"),
    }
}

fn response(name: &str) -> Response {
    match parse_datagram(&load(name)) {
        Ok(Message::Response(r)) => r,
        other => panic!("{name}: expected a response, got {other:?}"),
    }
}

/// What we actually do with the bytes, in the terms of `Expect`.
fn outcome(bytes: &[u8]) -> Expect {
    match parse_datagram(bytes) {
        Ok(Message::Request(r)) => match check_request(&r, role_for(&r)) {
            Ok(()) => Process,
            Err(rej) => {
                let resp = rej
                    .response(&r)
                    .expect("a rejection of a non-ACK is answered");
                assert_eq!(resp.status, rej.status);
                assert_eq!(resp.call_id(), r.call_id());
                Reject(rej.status)
            }
        },
        Ok(Message::Response(_)) => Response,
        Err(e) => match response_for_parse_error(&e) {
            Some(resp) => {
                assert_eq!(resp.status, e.status);
                assert!(resp.headers.get("Via").is_some());
                ParseReject(resp.status)
            }
            None => Drop,
        },
    }
}

#[test]
fn every_file_gets_the_answer_the_index_names() {
    let mut wrong = Vec::new();
    for &(name, want) in TABLE {
        let got = outcome(&load(name));
        if got != want {
            wrong.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_table_covers_every_file_in_the_folder() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .expect("conformance folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".sip").map(str::to_string))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = TABLE.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn wsinv_folding_and_odd_whitespace() {
    let r = request("wsinv");
    assert_eq!(r.method, Method::Invite);
    // Two Via header lines ("Via  :" and "v:"), folded, the second with two values.
    assert_eq!(r.headers.count("Via"), 2);
    let vias = r.vias();
    assert_eq!(vias.len(), 3);
    assert_eq!(
        (vias[0].transport.as_str(), vias[0].host.as_str()),
        ("UDP", "192.0.2.2")
    );
    assert_eq!(vias[0].branch(), Some("390skdjuw"));
    assert_eq!(
        (vias[1].transport.as_str(), vias[1].host.as_str()),
        ("TCP", "spindle.example.com")
    );
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(r.to_tag().as_deref(), Some("1918181833n"));
    assert_eq!(r.from_tag().as_deref(), Some("98asjd8"));
    assert_eq!(
        r.from_hdr().unwrap().display.as_deref(),
        Some(r#"J Rosenberg \\\""#)
    );
    assert_eq!(
        r.cseq().map(|c| (c.seq, c.method)),
        Some((9, Method::Invite))
    );
    assert_eq!(r.headers.get("Max-Forwards"), Some("0068"));
    assert_eq!(r.headers.get("Subject"), Some(""));
    assert_eq!(
        r.headers.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        r.headers.get("UnknownHeaderWithUnusualValue"),
        Some(";;,,;;,;")
    );
    let contact = &r.contacts()[0];
    assert_eq!(contact.params.get("newparam"), Some("newvalue"));
    assert_eq!(contact.params.get("q"), Some("0.33"));
    assert!(contact.params.has("secondparam"));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn intmeth_wide_range_of_characters() {
    let r = request("intmeth");
    assert_eq!(
        r.method,
        Method::Other("!interesting-Method0123456789_*+`.%indeed'~".into())
    );
    let uri = r.uri.as_sip().unwrap();
    assert_eq!(
        uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        uri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(uri.host, "example.com");
    let to = r.to_hdr().unwrap();
    assert_eq!(
        to.display.as_deref(),
        Some("BEL:\\\x07 NUL:\\\0 DEL:\\\x7f")
    );
    assert_eq!(r.from_tag().as_deref(), Some("_token~1'+`*%!-."));
    assert_eq!(
        r.headers.get("extensionHeader-!.%*+_`'~"),
        Some("\u{feff}大停電")
    );
    assert_eq!(
        r.call_id(),
        Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
}

#[test]
fn esc01_unescapes_once_and_only_where_allowed() {
    let r = request("esc01");
    assert_eq!(r.uri.user().as_deref(), Some("sips:user@example.com"));
    assert_eq!(r.to_hdr().unwrap().uri.user().as_deref(), Some("user"));
    assert_eq!(
        r.from_hdr().unwrap().uri.user().as_deref(),
        Some("I have spaces")
    );
    let c = &r.contacts()[0];
    assert_eq!(c.uri.user().as_deref(), Some("caller"));
    let p = &c.uri.as_sip().unwrap().params;
    assert!(p.has("%6C%72"));
    // `value%41` after one unescape, which must stay distinct from `valueA`.
    assert_eq!(sip::unescape(p.get("n%61me").unwrap()), "value%41");
}

#[test]
fn escnull_keeps_escaped_nuls() {
    let r = request("escnull");
    assert_eq!(
        r.to_hdr().unwrap().uri.user().as_deref(),
        Some("null-\0-null")
    );
    let users: Vec<String> = r.contacts().iter().filter_map(|c| c.uri.user()).collect();
    assert_eq!(users, ["\0", "\0\0"]);
}

#[test]
fn esc02_percent_is_not_an_escape_outside_uris() {
    let r = request("esc02");
    assert_eq!(r.method, Method::Other("RE%47IST%45R".into()));
    assert_eq!(
        r.cseq().unwrap().method,
        Method::Other("RE%47IST%45R".into())
    );
    // `C%6Fntact` is another header, so there are 2 Contact values, not 3.
    assert_eq!(r.contacts().len(), 2);
    assert_eq!(r.headers.count("C%6Fntact"), 1);
    assert_eq!(r.to_hdr().unwrap().display.as_deref(), Some("%Z%45"));
}

#[test]
fn lwsdisp_display_name_without_space() {
    let r = request("lwsdisp");
    let from = r.from_hdr().unwrap();
    assert_eq!(from.display.as_deref(), Some("caller"));
    assert_eq!(from.tag(), Some("323"));
}

/// The text of `raw` between `after` and the next byte in `stop` (or CRLF).
fn between<'a>(raw: &'a str, after: &str, stop: &[char]) -> &'a str {
    let start = raw.find(after).map(|i| i + after.len()).expect(after);
    let rest = &raw[start..];
    &rest[..rest
        .find(|c: char| stop.contains(&c) || c == '\r')
        .unwrap_or(rest.len())]
}

#[test]
fn longreq_is_not_truncated() {
    let raw = String::from_utf8(load("longreq")).unwrap();
    let r = request("longreq");
    let vias = r.vias();
    assert_eq!(vias.len(), 34);
    assert_eq!(r.headers.values("Via").len(), 34);
    assert_eq!(vias[0].host, "sip33.example.com");
    let last = &vias[33];
    assert_eq!(last.received(), Some("192.0.2.5"));
    let branch = between(&raw, "branch=", &[]);
    assert!(branch.len() > 200);
    assert_eq!(last.branch(), Some(branch));
    let to = r.to_hdr().unwrap();
    assert_eq!(to.display.as_deref(), Some(between(&raw, "To: \"", &['"'])));
    assert_eq!(to.uri.as_sip().unwrap().port, Some(6000));
    assert_eq!(to.uri.as_sip().unwrap().params.0.len(), 3);
    assert_eq!(
        r.from_tag().as_deref(),
        Some(between(&raw, ";tag=", &[';']))
    );
    assert_eq!(r.call_id(), Some(between(&raw, "Call-ID: ", &[])));
    let long_header = between(&raw, "-Name: ", &[]);
    assert!(long_header.len() > 200);
    assert!(r
        .headers
        .0
        .iter()
        .any(|h| h.name.starts_with("Unknown-LongLong") && h.value == long_header));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn dblreq_trailing_invite_is_discarded() {
    let r = request("dblreq");
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty());
    assert!(!r.to_bytes().windows(6).any(|w| w == b"INVITE"));
}

#[test]
fn semiuri_user_part_holds_the_semicolon() {
    let r = request("semiuri");
    let u = r.uri.as_sip().unwrap();
    assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
    assert_eq!(r.uri.user().as_deref(), Some("user;par=u@example.net"));
    assert_eq!(u.host, "example.com");
    assert!(u.params.0.is_empty());
}

#[test]
fn transports_unknown_transport_is_harmless() {
    let r = request("transports");
    let t: Vec<String> = r.vias().into_iter().map(|v| v.transport).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn mpart01_binary_body_framed_by_content_length() {
    let bytes = load("mpart01");
    let r = request("mpart01");
    assert_eq!(r.body.len(), 553);
    assert_eq!(&r.body[..], &bytes[bytes.len() - 553..]);
    assert!(r.body.contains(&0));
    assert_eq!(r.content_type().as_deref(), Some("multipart/mixed"));
}

#[test]
fn inv2543_body_runs_to_the_end_of_the_datagram() {
    let bytes = load("inv2543");
    let r = request("inv2543");
    assert!(r.headers.get("Content-Length").is_none());
    assert_eq!(r.body.len(), 105);
    assert!(bytes.ends_with(&r.body));
    assert_eq!(r.top_via().unwrap().branch(), None);
    assert_eq!(r.from_tag(), None);
}

#[test]
fn contact_params_belong_where_the_brackets_say() {
    let c = request("cparam01").contacts().remove(0);
    assert!(c.params.has("unknownparam"));
    assert!(!c.uri.as_sip().unwrap().has_param("unknownparam"));
    let c = request("cparam02").contacts().remove(0);
    assert!(c.params.0.is_empty());
    assert!(c.uri.as_sip().unwrap().has_param("unknownparam"));
    let c = request("regescrt").contacts().remove(0);
    assert_eq!(
        c.uri.as_sip().unwrap().headers.as_deref(),
        Some("Route=%3Csip:sip.example.com%3E")
    );
}

#[test]
fn rejections_carry_the_headers_their_status_needs() {
    let header = |name: &str, h: &str| {
        let r = request(name);
        let rej = check_request(&r, role_for(&r)).unwrap_err();
        rej.headers
            .iter()
            .find(|(n, _)| n == h)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("bext01", "Unsupported").as_deref(),
        Some("nothingSupportsThis, nothingSupportsThisEither")
    );
    assert_eq!(
        header("invut", "Accept").as_deref(),
        Some("application/sdp")
    );
    assert!(header("intmeth", "Allow").is_some_and(|a| a.contains("INVITE")));
    assert!(header("esc02", "Allow").is_some());
    assert!(header("sdp01", "Warning").is_some_and(|w| w.starts_with("399 ")));
}

#[test]
fn responses_parse_and_keep_their_odd_fields() {
    let r = response("unreason");
    assert_eq!(r.status, 200);
    assert_eq!(r.reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
    assert_eq!(r.body.len(), 154);
    let r = response("noreason");
    assert_eq!((r.status, r.reason.as_str()), (100, ""));
    let r = response("scalarlg");
    assert_eq!(r.status, 503);
    assert!(
        r.cseq().is_none(),
        "a CSeq above 2**32-1 has no typed value"
    );
    let r = response("bcast");
    assert_eq!(r.vias().len(), 2);
    assert!(parse_datagram(&load("bigcode")).is_err());
}

#[test]
fn badbranch_and_zeromf_parse() {
    assert_eq!(
        request("badbranch").top_via().unwrap().branch(),
        Some("z9hG4bK")
    );
    assert_eq!(request("zeromf").headers.get("Max-Forwards"), Some("0"));
}

#[test]
fn parse_errors_keep_the_headers_for_the_answer() {
    for name in ["clerr", "ncl", "mcl01", "ltgtruri", "badvers"] {
        let e = parse_datagram(&load(name)).unwrap_err();
        let resp = response_for_parse_error(&e).unwrap();
        assert!(
            resp.headers
                .get("Call-ID")
                .is_some_and(|c| c.starts_with(name)),
            "{name}"
        );
        assert!(
            resp.to_tag().is_some(),
            "{name}: a final response gets a To tag"
        );
    }
    let e = parse_datagram(&load("ncl")).unwrap_err();
    assert!(e.framing, "a negative Content-Length is a framing error");
}

/// As if each file had arrived on a TCP connection: no panic, framing errors where the
/// length is missing, negative or conflicting, and byte-by-byte arrival frames the same.
#[test]
fn every_file_on_a_stream() {
    for &(name, _) in TABLE {
        let b = load(name);
        let framed = frame_stream(&b, 65_535);
        match name {
            // No Content-Length (RFC 2543 style), negative, two different values.
            "inv2543" | "ncl" | "mcl01" => {
                let e = framed.expect_err(name);
                assert!(e.framing && e.is_request, "{name}");
                assert_eq!(
                    response_for_parse_error(&e).map(|r| r.status),
                    Some(400),
                    "{name}"
                );
            }
            // Content-Length past the end, or a header section never closed: wait for more.
            "clerr" | "baddn" => assert_eq!(framed.unwrap(), None, "{name}"),
            _ => {
                let n = framed
                    .unwrap()
                    .unwrap_or_else(|| panic!("{name}: not framed"));
                assert!(n <= b.len());
                if name == "dblreq" {
                    assert_eq!(n, 300, "the REGISTER alone");
                    assert!(matches!(
                        frame_stream(&b[n..], 65_535),
                        Ok(Some(_)) | Ok(None)
                    ));
                }
                for cut in 0..n {
                    assert_eq!(
                        frame_stream(&b[..cut], 65_535).unwrap(),
                        None,
                        "{name} cut at {cut}"
                    );
                }
                let on_stream = parse(&b[..n], Framing::Stream);
                assert_eq!(on_stream.is_ok(), parse_datagram(&b).is_ok(), "{name}");
            }
        }
        // A limit smaller than the message is a framing error, never a panic.
        let small = frame_stream(&b, 64);
        assert!(small.is_err() || small.unwrap().is_none(), "{name}");
    }
}
