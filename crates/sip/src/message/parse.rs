//! Turning bytes into a `Message` (RFC 3261 §7) and finding message boundaries on
//! stream transports (§18.3). Liberal where the RFC and RFC 4475 ask for it (folding,
//! LWS around ':', compact names, leading CRLFs) and strict where ambiguity would let a
//! message be misread (Content-Length, the request line, status codes).

use super::uri::Uri;
use super::{canonical_name, Header, Headers, Message, Method, Request, Response};
use bytes::Bytes;

/// How the message arrived, which decides what a missing Content-Length means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// UDP: the datagram is the message; no Content-Length means "to the end" (§18.3).
    Datagram,
    /// TCP/TLS: Content-Length is mandatory and marks the end.
    Stream,
}

/// Why a message could not be taken. When the headers were readable they are kept, so a
/// request can still be answered (400/505) with the right Via, From, To, Call-ID, CSeq.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    pub reason: String,
    /// The status a UAS should answer with: 400, or 505 for an unknown SIP version.
    pub status: u16,
    /// True when the start line looked like a request (responses are never answered).
    pub is_request: bool,
    pub headers: Option<Headers>,
    /// The framing itself failed: on a stream, the connection must be closed.
    pub framing: bool,
}

impl ParseError {
    fn new(reason: impl Into<String>) -> ParseError {
        ParseError {
            reason: reason.into(),
            status: 400,
            is_request: false,
            headers: None,
            framing: false,
        }
    }
}

/// Parse one UDP datagram.
pub fn parse_datagram(buf: &[u8]) -> Result<Message, ParseError> {
    parse(buf, Framing::Datagram)
}

/// Parse a complete message (for streams, one that `frame_stream` delimited).
pub fn parse(buf: &[u8], framing: Framing) -> Result<Message, ParseError> {
    let buf = skip_leading_crlf(buf);
    if buf.is_empty() {
        return Err(ParseError::new("empty message"));
    }
    let (head, body_start) = match find_header_end(buf) {
        Some((h, b)) => (&buf[..h], b),
        // A datagram without the empty line: take all of it as headers (RFC 4475 baddn).
        None if framing == Framing::Datagram => (buf, buf.len()),
        None => return Err(ParseError::new("header section not terminated")),
    };
    let head_text = String::from_utf8_lossy(head);
    let mut lines = unfold(&head_text).into_iter();
    let start = lines.next().unwrap_or_default();
    let is_request = !start.starts_with("SIP/");
    let mut err = |reason: String, headers: Option<Headers>| ParseError {
        reason,
        status: 400,
        is_request,
        headers,
        framing: false,
    };

    let mut headers = Headers::new();
    for line in lines {
        let Some(colon) = line.find(':') else {
            return Err(err(format!("header line without ':': {}", clip(&line)), None));
        };
        let name = line[..colon].trim_end();
        if !super::headers::is_token(name) {
            return Err(err(format!("bad header name: {}", clip(name)), None));
        }
        headers.0.push(Header {
            name: canonical_name(name),
            value: line[colon + 1..].trim().to_string(),
        });
    }

    // Content-Length: every copy must agree (RFC 4475 §3.3.9) and be a non-negative number.
    let mut content_length: Option<usize> = None;
    for v in headers.get_all("Content-Length") {
        let n: usize = match v.trim().parse() {
            Ok(n) => n,
            Err(_) => {
                let mut e = err(format!("bad Content-Length: {}", clip(v)), Some(headers.clone()));
                e.framing = true;
                return Err(e);
            }
        };
        if content_length.is_some_and(|c| c != n) {
            let mut e = err("conflicting Content-Length values".into(), Some(headers.clone()));
            e.framing = true;
            return Err(e);
        }
        content_length = Some(n);
    }
    let available = buf.len() - body_start;
    let body_len = match (content_length, framing) {
        (Some(n), _) if n <= available => n,
        (Some(n), _) => {
            // RFC 4475 §3.1.2.2: a length past the end of the datagram is a 400.
            let mut e = err(
                format!("Content-Length {n} is larger than the {available} bytes received"),
                Some(headers.clone()),
            );
            e.framing = true;
            return Err(e);
        }
        (None, Framing::Datagram) => available,
        (None, Framing::Stream) => {
            let mut e = err("Content-Length is required on a stream transport".into(), Some(headers.clone()));
            e.framing = true;
            return Err(e);
        }
    };
    // Octets after Content-Length in a datagram are discarded (RFC 4475 §3.1.1.8).
    let body = Bytes::copy_from_slice(&buf[body_start..body_start + body_len]);

    if is_request {
        let mut parts = start.split(' ');
        let (m, u, v) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(m), Some(u), Some(v), None) if !m.is_empty() && !u.is_empty() => (m, u, v),
            _ => {
                return Err(err(
                    format!("request line must be 'METHOD SP URI SP SIP/2.0': {}", clip(&start)),
                    Some(headers),
                ))
            }
        };
        if !super::headers::is_token(m) {
            return Err(err(format!("bad method token: {}", clip(m)), Some(headers)));
        }
        if !v.starts_with("SIP/") {
            return Err(err(format!("bad version: {}", clip(v)), Some(headers)));
        }
        if v != "SIP/2.0" {
            let mut e = err(format!("SIP version {} is not supported", clip(v)), Some(headers));
            e.status = 505;
            return Err(e);
        }
        let uri = Uri::parse(u).map_err(|e| err(format!("{e}: {}", clip(u)), Some(headers.clone())))?;
        if let Uri::Sip(s) = &uri {
            // RFC 4475 §3.1.2.11: headers in a Request-URI are not allowed.
            if s.headers.is_some() {
                return Err(err("Request-URI must not carry '?' headers".into(), Some(headers)));
            }
        }
        Ok(Message::Request(Request {
            method: Method::from_token(m),
            uri,
            headers,
            body,
        }))
    } else {
        let mut parts = start.splitn(3, ' ');
        let v = parts.next().unwrap_or("");
        let code = parts.next().unwrap_or("");
        let reason = parts.next().unwrap_or("");
        if v != "SIP/2.0" {
            return Err(err(format!("bad response version: {}", clip(v)), None));
        }
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(format!("bad status code: {}", clip(code)), None));
        }
        let status: u16 = code.parse().unwrap_or(0);
        if !(100..=699).contains(&status) {
            return Err(err(format!("status code out of range: {status}"), None));
        }
        Ok(Message::Response(Response {
            status,
            reason: reason.to_string(),
            headers,
            body,
        }))
    }
}

/// On a stream: `Ok(Some(n))` when the first `n` bytes of `buf` (after leading CRLFs,
/// which are counted in `n`) hold one whole message; `Ok(None)` when more bytes are
/// needed; `Err` when the stream can't be framed (no or bad Content-Length, or more than
/// `max` bytes) and the connection should be closed.
pub fn frame_stream(buf: &[u8], max: usize) -> Result<Option<usize>, ParseError> {
    let skipped = buf.len() - skip_leading_crlf(buf).len();
    let rest = &buf[skipped..];
    let Some((head_end, body_start)) = find_header_end(rest) else {
        if rest.len() > max {
            let mut e = ParseError::new(format!("header section exceeds {max} bytes"));
            e.framing = true;
            return Err(e);
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&rest[..head_end]);
    let mut cl: Option<usize> = None;
    for line in unfold(&head).iter().skip(1) {
        if let Some(c) = line.find(':') {
            if canonical_name(line[..c].trim()) == "Content-Length" {
                let n: usize = line[c + 1..].trim().parse().map_err(|_| {
                    let mut e = ParseError::new("bad Content-Length on a stream");
                    e.framing = true;
                    e
                })?;
                if cl.is_some_and(|x| x != n) {
                    let mut e = ParseError::new("conflicting Content-Length on a stream");
                    e.framing = true;
                    return Err(e);
                }
                cl = Some(n);
            }
        }
    }
    let Some(cl) = cl else {
        let mut e = ParseError::new("Content-Length is required on a stream transport");
        e.framing = true;
        return Err(e);
    };
    let total = skipped + body_start + cl;
    if total - skipped > max {
        let mut e = ParseError::new(format!("message of {} bytes exceeds {max}", total - skipped));
        e.framing = true;
        return Err(e);
    }
    Ok((buf.len() >= total).then_some(total))
}

fn skip_leading_crlf(mut buf: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = buf {
        buf = rest;
    }
    buf
}

/// (end of the header lines, start of the body). Accepts CRLF CRLF and, liberally, LF LF.
fn find_header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4));
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Split header text into logical lines, joining folded continuations (RFC 3261 §7.3.1):
/// a line that starts with SP or HT continues the previous one, replaced by one SP.
fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(line.trim_start());
                continue;
            }
        }
        if line.is_empty() {
            continue;
        }
        out.push(line.to_string());
    }
    out
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::SipHeaders;

    const INVITE: &[u8] = b"INVITE sip:0246221111@127.0.0.1:5080 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:0246221111@127.0.0.1>\r\n\
From: \"Caller\" <sip:09012345678@127.0.0.1>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@127.0.0.1\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:caller@127.0.0.1:5070>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\r\nv=0\n";

    #[test]
    fn parses_a_typical_invite() {
        let Message::Request(r) = parse_datagram(INVITE).unwrap() else { panic!() };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri.user().as_deref(), Some("0246221111"));
        assert_eq!(r.cseq().unwrap().seq, 314159);
        assert_eq!(r.from_tag().as_deref(), Some("1928301774"));
        assert_eq!(r.top_via().unwrap().branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(&r.body[..], b"v=0\n");
    }

    #[test]
    fn frames_back_to_back_messages_on_a_stream() {
        let mut two = INVITE.to_vec();
        two.extend_from_slice(INVITE);
        let n = frame_stream(&two, 65535).unwrap().unwrap();
        assert_eq!(n, INVITE.len());
        assert_eq!(frame_stream(&two[..n - 1], 65535).unwrap(), None);
    }

    #[test]
    fn content_length_too_large_is_refused_with_headers() {
        let bad = String::from_utf8_lossy(INVITE).replace("Content-Length: 4", "Content-Length: 9999");
        let e = parse_datagram(bad.as_bytes()).unwrap_err();
        assert!(e.is_request);
        assert!(e.headers.is_some());
    }

    #[test]
    fn version_7_is_505() {
        let bad = String::from_utf8_lossy(INVITE).replacen("SIP/2.0\r\n", "SIP/7.0\r\n", 1);
        assert_eq!(parse_datagram(bad.as_bytes()).unwrap_err().status, 505);
    }

    #[test]
    fn response_status_range() {
        assert!(parse_datagram(b"SIP/2.0 4294967301 better not break the receiver\r\nl: 0\r\n\r\n").is_err());
        let Message::Response(r) = parse_datagram(b"SIP/2.0 100 \r\nl: 0\r\n\r\n").unwrap() else { panic!() };
        assert_eq!(r.status, 100);
        assert_eq!(r.reason, "");
    }
}
