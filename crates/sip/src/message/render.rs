//! Serialising messages. Content-Length is always written from the body we hold, so a
//! message we send can never be mis-framed by a stale header (RFC 3261 §18.3).

use super::{Message, Request, Response};
use bytes::{BufMut, Bytes, BytesMut};
use std::borrow::Cow;
use std::fmt::Write;

fn write_head(out: &mut String, headers: &super::Headers, body_len: usize) {
    for h in &headers.0 {
        if h.name == "Content-Length" {
            continue;
        }
        let _ = write!(out, "{}: {}\r\n", h.name, one_line(&h.value));
    }
    let _ = write!(out, "Content-Length: {body_len}\r\n\r\n");
}

impl Request {
    pub fn to_bytes(&self) -> Bytes {
        let mut head = String::with_capacity(512);
        let _ = write!(head, "{} {} SIP/2.0\r\n", self.method, self.uri);
        write_head(&mut head, &self.headers, self.body.len());
        join(head, &self.body)
    }
}

impl Response {
    pub fn to_bytes(&self) -> Bytes {
        let mut head = String::with_capacity(512);
        let _ = write!(
            head,
            "SIP/2.0 {} {}\r\n",
            self.status,
            one_line(&self.reason)
        );
        write_head(&mut head, &self.headers, self.body.len());
        join(head, &self.body)
    }
}

impl Message {
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

/// A value set by code (a display name from the directory, a reason phrase) must not be
/// able to end its line and inject header fields: CR and LF become SP, which is what a
/// receiver makes of folded LWS anyway (RFC 3261 §7.3.1).
fn one_line(v: &str) -> Cow<'_, str> {
    if v.contains(['\r', '\n']) {
        Cow::Owned(v.replace(['\r', '\n'], " "))
    } else {
        Cow::Borrowed(v)
    }
}

fn join(head: String, body: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(head.len() + body.len());
    b.put_slice(head.as_bytes());
    b.put_slice(body);
    b.freeze()
}

#[cfg(test)]
mod tests {
    use crate::message::*;

    #[test]
    fn round_trip_keeps_headers_and_body() {
        let mut r = Request::new(Method::Options, Uri::parse("sip:127.0.0.1").unwrap());
        r.headers
            .push("v", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKx");
        r.headers.push("Call-ID", "abc");
        r.headers.push("CSeq", "1 OPTIONS");
        r.body = bytes::Bytes::from_static(b"hello");
        let b = r.to_bytes();
        let Message::Request(p) = parse_datagram(&b).unwrap() else {
            panic!()
        };
        // The parsed copy carries the Content-Length we wrote, computed from the body.
        r.headers.push("Content-Length", "5");
        assert_eq!(p, r);
    }

    #[test]
    fn values_cannot_inject_header_lines() {
        let mut r = Response::new(200, "OK\r\nX-Evil: 1");
        r.headers
            .push("Subject", "hi\r\nContact: <sip:evil@example.com>");
        let Message::Response(p) = parse_datagram(&r.to_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(p.headers.count("Contact"), 0);
        assert_eq!(p.headers.count("X-Evil"), 0);
        assert_eq!(
            p.headers.get("Subject"),
            Some("hi  Contact: <sip:evil@example.com>")
        );
    }
}
