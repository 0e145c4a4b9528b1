//! Turning bytes into a `Message` (RFC 3261 §7) and finding message boundaries on
//! stream transports (§18.3). Liberal where the RFC and RFC 4475 ask for it (folding,
//! LWS around ':', compact names, leading CRLFs) and strict where ambiguity would let a
//! message be misread (Content-Length, the request line, status codes).

use super::uri::Uri;
use super::{canonical_name, Header, Headers, Message, Method, Request, Response};
use bytes::Bytes;
use std::borrow::Cow;

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
        // A datagram without the empty line: take all of it as headers (RFC 4475 §3.1.2.15,
        // baddn: the archive's own bytes lack it).
        None if framing == Framing::Datagram => (buf, buf.len()),
        None => return Err(ParseError::new("header section not terminated")),
    };
    // Bytes, not text (RFC 4475 §3.1.1.2): invalid UTF-8 is replaced, never a panic.
    let head_text = match std::str::from_utf8(head) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(head),
    };
    let mut lines = unfold(&head_text).into_iter();
    let start = lines.next().unwrap_or_default();
    let is_request = !start.starts_with("SIP/");
    let err = |reason: String, headers: Option<Headers>| ParseError {
        reason,
        status: 400,
        is_request,
        headers,
        framing: false,
    };

    // A bad header line makes the message unacceptable, but the other lines are still
    // collected so that a request can be answered with 400 (RFC 3261 §8.2.6).
    let mut headers = Headers(Vec::with_capacity(16));
    let mut bad_line: Option<String> = None;
    for line in lines {
        match split_header_line(&line) {
            Ok((name, value)) => headers.0.push(Header {
                name: canonical_name(name),
                value: value.to_string(),
            }),
            Err(reason) => {
                bad_line.get_or_insert(reason);
            }
        }
    }
    if let Some(reason) = bad_line {
        return Err(err(reason, is_request.then_some(headers)));
    }

    // Content-Length: every copy must agree (RFC 4475 §3.3.9) and be a non-negative number
    // (§3.1.2.3).
    let content_length = match content_length(&headers) {
        Ok(cl) => cl,
        Err(reason) => {
            let mut e = err(reason, Some(headers));
            e.framing = true;
            return Err(e);
        }
    };
    let available = buf.len() - body_start;
    let body_len = match (content_length, framing) {
        (Some(n), _) if n <= available => n,
        (Some(n), _) => {
            // RFC 4475 §3.1.2.2: a length past the end of the datagram is a 400.
            let mut e = err(
                format!("Content-Length {n} is larger than the {available} bytes received"),
                Some(headers),
            );
            e.framing = true;
            return Err(e);
        }
        // RFC 3261 §18.3 and RFC 4475 §3.4.1: without Content-Length a datagram's body
        // runs to its end.
        (None, Framing::Datagram) => available,
        (None, Framing::Stream) => {
            let mut e = err(
                "Content-Length is required on a stream transport".into(),
                Some(headers),
            );
            e.framing = true;
            return Err(e);
        }
    };
    // Octets after Content-Length in a datagram are discarded (RFC 4475 §3.1.1.8).
    let body = Bytes::copy_from_slice(&buf[body_start..body_start + body_len]);

    if is_request {
        parse_request_line(&start, headers, body).map_err(|(reason, status, headers)| {
            let mut e = err(reason, Some(headers));
            e.status = status;
            e
        })
    } else {
        let mut parts = start.splitn(3, ' ');
        let v = parts.next().unwrap_or("");
        let code = parts.next().unwrap_or("");
        let reason = parts.next().unwrap_or("");
        if v != "SIP/2.0" {
            return Err(err(format!("bad response version: {}", clip(v)), None));
        }
        // RFC 4475 §3.1.2.19: Status-Code is exactly 3 digits; 4294967301 is junk.
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

/// `Method SP Request-URI SP SIP-Version` (RFC 3261 §7.1), exactly one SP apart: extra or
/// trailing SPs (RFC 4475 §3.1.2.9, §3.1.2.10), LWS in the URI (§3.1.2.8) and `<>` around
/// it (§3.1.2.7) are 400s; escaped headers in the Request-URI (§3.1.2.11) too.
fn parse_request_line(
    start: &str,
    headers: Headers,
    body: Bytes,
) -> Result<Message, (String, u16, Headers)> {
    let mut parts = start.split(' ');
    let (m, u, v) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(u), Some(v), None) if !m.is_empty() && !u.is_empty() => (m, u, v),
        _ => {
            let reason = format!(
                "request line must be 'METHOD SP URI SP SIP/2.0': {}",
                clip(start)
            );
            return Err((reason, 400, headers));
        }
    };
    if !super::headers::is_token(m) {
        return Err((format!("bad method token: {}", clip(m)), 400, headers));
    }
    if !v.starts_with("SIP/") {
        return Err((format!("bad version: {}", clip(v)), 400, headers));
    }
    if v != "SIP/2.0" {
        // RFC 3261 §8.2.2 / RFC 4475 §3.1.2.16.
        return Err((
            format!("SIP version {} is not supported", clip(v)),
            505,
            headers,
        ));
    }
    let uri = match Uri::parse(u) {
        Ok(uri) => uri,
        Err(e) => return Err((format!("{e}: {}", clip(u)), 400, headers)),
    };
    if let Uri::Sip(s) = &uri {
        if s.headers.is_some() {
            return Err((
                "Request-URI must not carry '?' headers".into(),
                400,
                headers,
            ));
        }
    }
    Ok(Message::Request(Request {
        method: Method::from_token(m),
        uri,
        headers,
        body,
    }))
}

/// `name HCOLON value` (RFC 3261 §7.3.1): LWS may precede the colon (RFC 4475 §3.1.1.1).
fn split_header_line(line: &str) -> Result<(&str, &str), String> {
    let Some(colon) = line.find(':') else {
        return Err(format!("header line without ':': {}", clip(line)));
    };
    let name = line[..colon].trim_end_matches([' ', '\t']);
    if !super::headers::is_token(name) {
        return Err(format!("bad header name: {}", clip(name)));
    }
    Ok((name, line[colon + 1..].trim()))
}

/// The one Content-Length of a header set, `Err` when a copy is not 1*DIGIT or the copies
/// disagree (RFC 4475 §3.1.2.3 negative, §3.3.9 two different values).
fn content_length(headers: &Headers) -> Result<Option<usize>, String> {
    let mut cl: Option<usize> = None;
    for h in headers.0.iter().filter(|h| h.name == "Content-Length") {
        let n = parse_length(&h.value)
            .ok_or_else(|| format!("bad Content-Length: {}", clip(&h.value)))?;
        if cl.is_some_and(|c| c != n) {
            return Err("conflicting Content-Length values".into());
        }
        cl = Some(n);
    }
    Ok(cl)
}

/// 1*DIGIT only: Rust's integer parser would also take a leading '+'.
fn parse_length(v: &str) -> Option<usize> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// On a stream: `Ok(Some(n))` when the first `n` bytes of `buf` (after leading CRLFs,
/// which are counted in `n`) hold one whole message; `Ok(None)` when more bytes are
/// needed; `Err` when the stream can't be framed (no or bad Content-Length, or more than
/// `max` bytes) and the connection should be closed (RFC 3261 §18.3). The error carries
/// the headers of a request so that it can still be answered with a 400 first.
///
/// Work is linear in the header section: the scan stops at the first empty line, so a
/// buffer holding many pipelined messages is not rescanned to its end for each one.
pub fn frame_stream(buf: &[u8], max: usize) -> Result<Option<usize>, ParseError> {
    let skipped = buf.len() - skip_leading_crlf(buf).len();
    let rest = &buf[skipped..];
    let Some((head_end, body_start)) = find_header_end(rest) else {
        if rest.len() > max {
            let mut e = ParseError::new(format!("header section exceeds {max} bytes"));
            e.framing = true;
            e.is_request = !rest.starts_with(b"SIP/");
            return Err(e);
        }
        return Ok(None);
    };
    let framing_error = |reason: String| {
        // Parse the head alone (as if it were a datagram without body) for its headers.
        let head = &rest[..head_end];
        let mut e = ParseError::new(reason);
        e.framing = true;
        e.is_request = !head.starts_with(b"SIP/");
        if e.is_request {
            e.headers = match parse(head, Framing::Datagram) {
                Ok(m) => Some(m.headers().clone()),
                Err(pe) => pe.headers,
            };
        }
        e
    };
    let mut cl: Option<usize> = None;
    for value in content_length_values(&rest[..head_end]) {
        let Some(n) = std::str::from_utf8(&value).ok().and_then(parse_length) else {
            let shown = String::from_utf8_lossy(&value).into_owned();
            return Err(framing_error(format!(
                "bad Content-Length on a stream: {}",
                clip(&shown)
            )));
        };
        if cl.is_some_and(|x| x != n) {
            return Err(framing_error(
                "conflicting Content-Length on a stream".into(),
            ));
        }
        cl = Some(n);
    }
    let Some(cl) = cl else {
        return Err(framing_error(
            "Content-Length is required on a stream transport".into(),
        ));
    };
    let len = match body_start.checked_add(cl) {
        Some(len) if len <= max => len,
        _ => {
            return Err(framing_error(format!(
                "message of {body_start} + {cl} bytes exceeds {max}"
            )))
        }
    };
    let total = skipped + len;
    Ok((buf.len() >= total).then_some(total))
}

/// The raw values of every Content-Length (or `l`) line of a header section, folded
/// continuations joined, read straight from the bytes: framing runs on every read from a
/// connection and should not build the whole header list (`parse` does that once).
fn content_length_values(head: &[u8]) -> Vec<Vec<u8>> {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let mut out = Vec::new();
    // Skip the start line; lines that begin with SP/HT continue a previous line.
    let mut lines = head.split(|&b| b == b'\n').skip(1).peekable();
    while let Some(line) = lines.next() {
        if line.first().is_some_and(is_ws) {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let mut name = &line[..colon];
        while let [rest @ .., last] = name {
            if !is_ws(last) {
                break;
            }
            name = rest;
        }
        if !name.eq_ignore_ascii_case(b"content-length") && !name.eq_ignore_ascii_case(b"l") {
            continue;
        }
        // As in `unfold`: one CR before each LF belongs to the line end.
        let strip_cr = |l: &[u8]| -> Vec<u8> { l.strip_suffix(b"\r").unwrap_or(l).to_vec() };
        let mut value = strip_cr(&line[colon + 1..]);
        while let Some(next) = lines.next_if(|l| l.first().is_some_and(is_ws)) {
            value.push(b' ');
            value.extend_from_slice(&strip_cr(next));
        }
        out.push(value);
    }
    out
}

fn skip_leading_crlf(mut buf: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = buf {
        buf = rest;
    }
    buf
}

/// (end of the header lines, start of the body): the first empty line, CRLF CRLF or,
/// liberally, LF LF (or LF CRLF). One pass that stops there, never into the body.
fn find_header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
        let lf = i + off;
        let head_end = if lf > 0 && buf[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        match buf.get(lf + 1..) {
            Some([b'\n', ..]) => return Some((head_end, lf + 2)),
            Some([b'\r', b'\n', ..]) => return Some((head_end, lf + 3)),
            _ => i = lf + 1,
        }
    }
    None
}

/// Split header text into logical lines, joining folded continuations (RFC 3261 §7.3.1):
/// a line that starts with SP or HT continues the previous one, replaced by one SP.
/// Lines that are not folded are borrowed, not copied.
fn unfold(text: &str) -> Vec<Cow<'_, str>> {
    let mut out: Vec<Cow<'_, str>> = Vec::with_capacity(24);
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                let last = last.to_mut();
                last.push(' ');
                last.push_str(line.trim_start());
                continue;
            }
        }
        if line.is_empty() {
            continue;
        }
        out.push(Cow::Borrowed(line));
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
        let Message::Request(r) = parse_datagram(INVITE).unwrap() else {
            panic!()
        };
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
        let bad =
            String::from_utf8_lossy(INVITE).replace("Content-Length: 4", "Content-Length: 9999");
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
        assert!(parse_datagram(
            b"SIP/2.0 4294967301 better not break the receiver\r\nl: 0\r\n\r\n"
        )
        .is_err());
        let Message::Response(r) = parse_datagram(b"SIP/2.0 100 \r\nl: 0\r\n\r\n").unwrap() else {
            panic!()
        };
        assert_eq!(r.status, 100);
        assert_eq!(r.reason, "");
    }

    #[test]
    fn overflowing_content_length_on_a_stream_is_a_framing_error() {
        let bad = String::from_utf8_lossy(INVITE)
            .replace("Content-Length: 4", "Content-Length: 18446744073709551615");
        let e = frame_stream(bad.as_bytes(), 65535).unwrap_err();
        assert!(e.framing && e.is_request);
        assert_eq!(
            e.headers.unwrap().get("Call-ID"),
            Some("a84b4c76e66710@127.0.0.1")
        );
        let plus =
            String::from_utf8_lossy(INVITE).replace("Content-Length: 4", "Content-Length: +4");
        assert!(parse_datagram(plus.as_bytes()).unwrap_err().framing);
    }

    #[test]
    fn a_bad_header_line_keeps_the_others_for_the_400() {
        let bad = String::from_utf8_lossy(INVITE).replace("Max-Forwards: 70", "Max-Forwards 70");
        let e = parse_datagram(bad.as_bytes()).unwrap_err();
        assert_eq!(e.headers.unwrap().get("CSeq"), Some("314159 INVITE"));
    }

    #[test]
    fn header_end_is_the_first_empty_line() {
        assert_eq!(find_header_end(b"A\r\nB\r\n\r\nC\n\nD"), Some((4, 8)));
        assert_eq!(find_header_end(b"A\nB\n\nC\r\n\r\n"), Some((3, 5)));
        assert_eq!(find_header_end(b"A\r\nB\r\n"), None);
    }
}
