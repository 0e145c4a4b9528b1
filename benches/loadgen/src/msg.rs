//! Building the few SIP messages and SDP bodies a load generator needs, with the
//! `sip` crate's types so that what we send is rendered by the same code the switch
//! parses with (Content-Length always right, headers in canonical form).

use anyhow::{anyhow, Result};
use sip::{Method, Request, Uri};
use std::net::SocketAddr;

/// RFC 3261 §17.1.1.1 timer values for UDP.
pub const T1: std::time::Duration = std::time::Duration::from_millis(500);
pub const T2: std::time::Duration = std::time::Duration::from_secs(4);
/// Timer B / F: 64·T1.
pub const TIMER_B: std::time::Duration = std::time::Duration::from_secs(32);

pub struct Head<'a> {
    pub method: Method,
    pub uri: &'a str,
    pub local: SocketAddr,
    pub branch: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub call_id: &'a str,
    pub cseq: u32,
}

pub fn request(h: Head) -> Result<Request> {
    let uri = Uri::parse(h.uri).map_err(|e| anyhow!("{e}: {}", h.uri))?;
    let mut r = Request::new(h.method.clone(), uri);
    r.headers.push(
        "Via",
        format!("SIP/2.0/UDP {};branch={};rport", h.local, h.branch),
    );
    r.headers.push("Max-Forwards", "70");
    r.headers.push("From", h.from);
    r.headers.push("To", h.to);
    r.headers.push("Call-ID", h.call_id);
    r.headers.push("CSeq", format!("{} {}", h.cseq, h.method));
    r.headers.push("User-Agent", "madoguchi-loadgen");
    Ok(r)
}

pub fn with_sdp(mut r: Request, sdp: String) -> Request {
    r.headers.push("Content-Type", "application/sdp");
    r.body = bytes::Bytes::from(sdp);
    r
}

/// The caller's offer: PCMU and PCMA like a carrier would send, plus DTMF events.
pub fn sdp_offer(port: u16, session: u64) -> String {
    format!(
        "v=0\r\no=loadgen {session} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    )
}

/// The operator's answer: PCMU only (the switch offers the caller's codec first, so
/// this keeps the relay on its no-transcoding path, the common case in production).
pub fn sdp_answer(port: u16, session: u64) -> String {
    format!(
        "v=0\r\no=operator {session} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
    )
}

/// The port of the first `m=audio` line.
pub fn sdp_audio_port(body: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(body).ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix("m=audio ")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// The load call index we put in the caller's From user (`lg<idx>`), as the switch
/// hands it to the operator in X-Madoguchi-Caller.
pub fn call_index(caller_uri: &str) -> Option<u64> {
    let rest = caller_uri
        .trim()
        .trim_start_matches('<')
        .strip_prefix("sip:lg")?;
    rest.split('@').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_port_and_index() {
        assert_eq!(sdp_audio_port(sdp_offer(40002, 1).as_bytes()), Some(40002));
        assert_eq!(call_index("sip:lg42@127.0.0.1"), Some(42));
        assert_eq!(call_index("sip:alice@127.0.0.1"), None);
    }

    #[test]
    fn request_renders_and_parses_back() {
        let local: SocketAddr = "127.0.0.1:5999".parse().unwrap();
        let r = request(Head {
            method: Method::Invite,
            uri: "sip:0246221111@127.0.0.1:5080",
            local,
            branch: "z9hG4bKx",
            from: "<sip:lg1@127.0.0.1>;tag=a",
            to: "<sip:0246221111@127.0.0.1:5080>",
            call_id: "c1",
            cseq: 1,
        })
        .unwrap();
        let r = with_sdp(r, sdp_offer(40000, 7));
        let back = sip::parse_datagram(&r.to_bytes()).unwrap();
        assert!(matches!(back, sip::Message::Request(ref q) if q.method == Method::Invite));
    }
}
