//! SIP messages (RFC 3261 §7): the owned representation every layer above works on.
//!
//! Headers are kept as (canonical name, raw value) in arrival order; typed views
//! (`Via`, `NameAddr`, `CSeq`) are parsed on demand by the accessors, so an unknown or
//! odd header costs nothing until someone asks for it and is forwarded unchanged.

mod headers;
mod parse;
mod render;
mod uri;

pub use headers::{split_list, CSeq, NameAddr, Params, Via};
pub use parse::{frame_stream, parse, parse_datagram, Framing, ParseError};
pub use uri::{unescape, SipUri, Uri};

use bytes::Bytes;
use std::fmt;

/// The request method (RFC 3261 §7.1). Unknown methods are kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Update,
    Refer,
    Notify,
    Subscribe,
    Message,
    Prack,
    Publish,
    Other(String),
}

impl Method {
    pub fn from_token(s: &str) -> Method {
        // Methods are case-sensitive (RFC 3261 §7.1).
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            "PRACK" => Method::Prack,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header line: the canonical (long-form) name and the unfolded value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// Header fields in arrival order (order matters for Via, Route, Record-Route).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// First value of a header, by canonical or compact name, case-insensitive.
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = lookup_name(name);
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// All header lines with this name.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        // Known names need no copy of `name` to outlive this call.
        let name: std::borrow::Cow<'static, str> = match known_name(name) {
            Some(n) => n.into(),
            None => name.to_string().into(),
        };
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(&name))
            .map(|h| h.value.as_str())
    }

    /// All comma-separated values across every line of a list header (Via, Contact, Route).
    pub fn values(&self, name: &str) -> Vec<String> {
        self.get_all(name)
            .flat_map(|v| split_list(v).into_iter().map(|s| s.to_string()))
            .collect()
    }

    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push(Header {
            name: canonical_name(name),
            value: value.into(),
        });
    }

    /// Insert a header before all others (used for Via on forwarding).
    pub fn push_front(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(
            0,
            Header {
                name: canonical_name(name),
                value: value.into(),
            },
        );
    }

    pub fn remove(&mut self, name: &str) {
        let name = canonical_name(name);
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(&name));
    }

    /// Replace every line of `name` by one line with `value`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let canon = canonical_name(name);
        let value = value.into();
        if let Some(pos) = self
            .0
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(&canon))
        {
            self.0[pos].value = value;
            let mut i = 0;
            self.0.retain(|h| {
                i += 1;
                i - 1 == pos || !h.name.eq_ignore_ascii_case(&canon)
            });
        } else {
            self.push(&canon, value);
        }
    }

    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }
}

/// RFC 3261 §7.3.3 compact forms, plus canonical capitalisation for common names.
pub fn canonical_name(name: &str) -> String {
    known_name(name).map_or_else(|| name.to_string(), str::to_string)
}

/// The canonical spelling of a known header name (long or compact, any case), without
/// allocating: this runs for every header line of every message and every lookup.
/// Compact forms per RFC 3261 §7.3.3 and the IANA registry (RFC 3265 `o`/`u`, RFC 3515
/// `r`, RFC 3892 `b`, RFC 4028 `x`).
fn known_name(name: &str) -> Option<&'static str> {
    let b = name.as_bytes();
    let mut buf = [0u8; 20];
    if b.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(b) {
        *d = s.to_ascii_lowercase();
    }
    Some(match &buf[..b.len()] {
        b"i" | b"call-id" => "Call-ID",
        b"m" | b"contact" => "Contact",
        b"e" | b"content-encoding" => "Content-Encoding",
        b"l" | b"content-length" => "Content-Length",
        b"c" | b"content-type" => "Content-Type",
        b"f" | b"from" => "From",
        b"s" | b"subject" => "Subject",
        b"k" | b"supported" => "Supported",
        b"t" | b"to" => "To",
        b"v" | b"via" => "Via",
        b"o" | b"event" => "Event",
        b"r" | b"refer-to" => "Refer-To",
        b"b" | b"referred-by" => "Referred-By",
        b"x" | b"session-expires" => "Session-Expires",
        b"u" | b"allow-events" => "Allow-Events",
        b"cseq" => "CSeq",
        b"max-forwards" => "Max-Forwards",
        b"route" => "Route",
        b"record-route" => "Record-Route",
        b"www-authenticate" => "WWW-Authenticate",
        b"authorization" => "Authorization",
        b"proxy-authenticate" => "Proxy-Authenticate",
        b"proxy-authorization" => "Proxy-Authorization",
        b"expires" => "Expires",
        b"user-agent" => "User-Agent",
        b"server" => "Server",
        b"allow" => "Allow",
        b"require" => "Require",
        b"proxy-require" => "Proxy-Require",
        b"unsupported" => "Unsupported",
        b"accept" => "Accept",
        b"retry-after" => "Retry-After",
        b"min-expires" => "Min-Expires",
        _ => return None,
    })
}

/// The name to compare stored (canonical) names with, case-insensitively.
fn lookup_name(name: &str) -> &str {
    known_name(name).unwrap_or(name)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }
}

/// Typed accessors shared by requests and responses.
pub trait SipHeaders {
    fn hdrs(&self) -> &Headers;

    fn call_id(&self) -> Option<&str> {
        self.hdrs().get("Call-ID").map(str::trim)
    }
    fn cseq(&self) -> Option<CSeq> {
        self.hdrs().get("CSeq").and_then(|v| CSeq::parse(v).ok())
    }
    // "from" names the SIP header field here, not a conversion.
    #[allow(clippy::wrong_self_convention)]
    fn from_hdr(&self) -> Option<NameAddr> {
        self.hdrs()
            .get("From")
            .and_then(|v| NameAddr::parse(v).ok())
    }
    fn to_hdr(&self) -> Option<NameAddr> {
        self.hdrs().get("To").and_then(|v| NameAddr::parse(v).ok())
    }
    #[allow(clippy::wrong_self_convention)]
    fn from_tag(&self) -> Option<String> {
        self.from_hdr().and_then(|n| n.tag().map(str::to_string))
    }
    fn to_tag(&self) -> Option<String> {
        self.to_hdr().and_then(|n| n.tag().map(str::to_string))
    }
    /// The topmost Via (RFC 3261 §8.1.1.7, §17 transaction matching).
    fn top_via(&self) -> Option<Via> {
        self.hdrs()
            .get("Via")
            .and_then(|v| split_list(v).first().and_then(|s| Via::parse(s).ok()))
    }
    fn vias(&self) -> Vec<Via> {
        self.hdrs()
            .values("Via")
            .iter()
            .filter_map(|s| Via::parse(s).ok())
            .collect()
    }
    fn contacts(&self) -> Vec<NameAddr> {
        self.hdrs()
            .values("Contact")
            .iter()
            .filter_map(|s| NameAddr::parse(s).ok())
            .collect()
    }
    fn header_uris(&self, name: &str) -> Vec<NameAddr> {
        self.hdrs()
            .values(name)
            .iter()
            .filter_map(|s| NameAddr::parse(s).ok())
            .collect()
    }
    fn content_type(&self) -> Option<String> {
        self.hdrs().get("Content-Type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
    fn expires(&self) -> Option<u32> {
        self.hdrs()
            .get("Expires")
            .and_then(|v| v.trim().parse().ok())
    }
}

impl SipHeaders for Request {
    fn hdrs(&self) -> &Headers {
        &self.headers
    }
}
impl SipHeaders for Response {
    fn hdrs(&self) -> &Headers {
        &self.headers
    }
}
impl SipHeaders for Message {
    fn hdrs(&self) -> &Headers {
        self.headers()
    }
}

impl Request {
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }
}

impl Response {
    pub fn new(status: u16, reason: impl Into<String>) -> Response {
        Response {
            status,
            reason: reason.into(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Build a response to `req` (RFC 3261 §8.2.6.2): Via, From, To, Call-ID and CSeq
    /// copied; To gets `to_tag` if it has none and one is given.
    pub fn to_request(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
        let mut r = Response::new(status, default_reason(status));
        for h in &req.headers.0 {
            match h.name.as_str() {
                "Via" | "From" | "Call-ID" | "CSeq" => r.headers.0.push(h.clone()),
                "To" => {
                    let mut v = h.value.clone();
                    if let Some(tag) = to_tag {
                        let has_tag = NameAddr::parse(&v)
                            .map(|n| n.tag().is_some())
                            .unwrap_or(true);
                        if !has_tag {
                            v.push_str(";tag=");
                            v.push_str(tag);
                        }
                    }
                    r.headers.0.push(Header {
                        name: "To".into(),
                        value: v,
                    });
                }
                _ => {}
            }
        }
        r
    }

    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The reason phrases of RFC 3261 §21 and the RFCs this switch uses.
pub fn default_reason(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Unknown",
    }
}
