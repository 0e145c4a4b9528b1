//! What every parser of untrusted bytes must survive, one function per fuzz target: the
//! SIP parser and framer with the validation answers, SDP with offer/answer, the digest
//! `Authorization` parser and verifier, RTP/RTCP/RFC 4733. Each function panics only on
//! a bug (a panic in the code under test, or an invariant below broken); bad input must
//! give an error, never a panic (DESIGN.md principle 4).
//!
//! Two drivers: `fuzz/` (cargo-fuzz, libFuzzer, coverage-guided, run by hand or a
//! nightly job: `cargo +nightly fuzz run sip_message`) and `tests/bounded.rs` here
//! (seeded mutations of the corpus in `fuzz/corpus/`, a fixed number per target, in
//! every CI run).

use media::sdp::{answer, negotiated_from_answer};
use media::{Codec, SessionDescription};
use sip::auth::{parse_authorization, Credentials, DigestRequest, DigestServer};
use sip::validate::{check_request, response_for_parse_error, Role};
use sip::{frame_stream, parse, parse_datagram, Framing, Message, SipHeaders};
use std::net::IpAddr;
use std::time::Duration;

/// The SIP parser (both framings), the stream framer, the validation answers, and the
/// rendering round trip: whatever parses re-parses from its own bytes, identically.
pub fn sip_message(data: &[u8]) {
    for framing in [Framing::Datagram, Framing::Stream] {
        match parse(data, framing) {
            Ok(msg) => {
                let _ = (msg.call_id(), msg.cseq(), msg.from_hdr(), msg.to_hdr());
                let _ = (msg.top_via(), msg.vias(), msg.contacts(), msg.expires());
                let once = msg.to_bytes();
                let again = parse(&once, Framing::Stream)
                    .unwrap_or_else(|e| panic!("own rendering does not re-parse ({e})"));
                assert_eq!(again.to_bytes(), once, "rendering is not stable");
                if let Message::Request(r) = &msg {
                    let _ = (r.uri.user(), r.uri.to_string());
                    for role in [Role::Uas, Role::Registrar] {
                        if let Err(rej) = check_request(r, role) {
                            if let Some(resp) = rej.response(r) {
                                let b = resp.to_bytes();
                                assert!(
                                    matches!(parse_datagram(&b), Ok(Message::Response(_))),
                                    "our {} does not parse",
                                    rej.status
                                );
                            }
                        }
                    }
                }
            }
            Err(e) => {
                if let Some(resp) = response_for_parse_error(&e) {
                    assert!(matches!(
                        parse_datagram(&resp.to_bytes()),
                        Ok(Message::Response(_))
                    ));
                }
            }
        }
    }
    if let Ok(Some(n)) = frame_stream(data, 65_535) {
        assert!(n <= data.len());
    }
}

/// SDP (RFC 4566): parse, render and re-parse; answer it as the switch would, and read it
/// as an answer to itself.
pub fn sdp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sd) = SessionDescription::parse(text) else {
        return;
    };
    let rendered = sd.to_string();
    let again = SessionDescription::parse(&rendered)
        .unwrap_or_else(|e| panic!("own rendering does not re-parse ({e}): {rendered:?}"));
    assert_eq!(again.to_string(), rendered, "rendering is not stable");
    let ip: IpAddr = [192, 0, 2, 1].into();
    if let Ok((ans, _)) = answer(
        &sd,
        ip,
        20_000,
        &[Codec::Pcmu, Codec::Pcma],
        1,
        1,
        media::sdp::crypto::Sdes::Optional,
    ) {
        assert!(SessionDescription::parse(&ans.to_string()).is_ok());
    }
    let _ = negotiated_from_answer(&sd, &sd);
}

/// The digest `Authorization` parser and verifier (RFC 7616 / RFC 3261 §22.4), against a
/// server with one user.
pub fn digest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_authorization(text);
    let mut srv = DigestServer::new("madoguchi.example.jp", [7u8; 32], Duration::from_secs(30));
    let uri = sip::Uri::parse("sip:madoguchi.example.jp").expect("uri");
    let creds = Credentials::from_password("1001", "madoguchi.example.jp", "s3cret");
    let _ = srv.verify(
        &DigestRequest {
            method: "REGISTER",
            request_uri: &uri,
            authorization: text,
            source: [192, 0, 2, 9].into(),
        },
        |u| (u == "1001").then(|| creds.clone()),
        1_700_000_000,
    );
}

/// RTP (RFC 3550 §5.1), RTCP (§6) and telephone-events (RFC 4733 §2.3) from the wire.
pub fn rtp(data: &[u8]) {
    if let Ok(p) = media::rtp::RtpPacket::parse(data) {
        let _ = media::dtmf::TelephoneEvent::parse(p.payload());
    }
    let _ = media::rtp::is_rtcp(data);
    let _ = media::rtcp::parse(data, 0x1234_5678);
    let _ = media::dtmf::TelephoneEvent::parse(data);
    srtp(data);
}

/// SRTP/SRTCP (RFC 3711) on arbitrary datagrams: unprotecting what anyone may send to an
/// SRTP leg's port, and protecting what the forwarder may hand the relay.
fn srtp(data: &[u8]) {
    use media::srtp::{MasterKey, SrtpSession, Suite, MAX_RTP_OVERHEAD, RTCP_OVERHEAD};
    let key = MasterKey {
        key: [7; 16],
        salt: [9; 14],
    };
    let n = data.len().min(1500);
    let mut buf = [0u8; 1500 + MAX_RTP_OVERHEAD + RTCP_OVERHEAD];
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        let mut s = SrtpSession::new(suite, &key);
        buf[..n].copy_from_slice(&data[..n]);
        let _ = s.unprotect_rtp(&mut buf, n);
        buf[..n].copy_from_slice(&data[..n]);
        let _ = s.unprotect_rtcp(&mut buf, n);
        buf[..n].copy_from_slice(&data[..n]);
        if let Ok(m) = s.protect_rtp(&mut buf, n) {
            let mut rx = SrtpSession::new(suite, &key);
            assert_eq!(rx.unprotect_rtp(&mut buf, m), Ok(n), "own SRTP round trip");
            assert_eq!(buf[..n], data[..n], "own SRTP round trip");
        }
        buf[..n].copy_from_slice(&data[..n]);
        let _ = s.protect_rtcp(&mut buf, n);
    }
    let _ = media::srtp::CryptoAttr::parse(&String::from_utf8_lossy(data));
}
