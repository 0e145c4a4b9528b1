//! Request validation: which status a UAS answers to a well-framed but unacceptable
//! request, and what to answer to one that could not be parsed at all.
//!
//! The checks run in the order of RFC 3261 §8.2: method (§8.2.1), header fields (§8.2.2),
//! Request-URI scheme (§8.2.2.1), Require (§8.2.2.3), content (§8.2.3). The first failing
//! step decides the answer, so an unknown method with a bad CSeq is a 501, not a 400
//! (RFC 4475 §3.1.2.18). Everything here is pure: no clock, no I/O.

use crate::message::{
    default_reason, split_list, CSeq, Header, Headers, Method, NameAddr, ParseError, Request,
    Response, SipHeaders, Uri, Via,
};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// What the element is acting as for this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A user agent server (the B2BUA's leg endpoint): REGISTER is not allowed.
    Uas,
    /// A UAS that is also a registrar (RFC 3261 §10.3): REGISTER is allowed and its To
    /// must be a SIP or SIPS address-of-record.
    Registrar,
}

/// Why a request is refused, as the response to send: status, reason phrase and the extra
/// header fields that status calls for (Allow, Unsupported, Accept, Warning).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {reason}")]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
}

/// Option tags accepted in Require (RFC 3261 §8.2.2.3). None yet: every Require is a 420
/// until an extension (e.g. `replaces`, RFC 3891) is implemented above this layer.
pub const SUPPORTED_EXTENSIONS: &[&str] = &[];

/// Methods a plain UAS leg handles. MESSAGE, PUBLISH and PRACK are known methods that
/// madoguchi does not implement: 405 with Allow (RFC 3261 §8.2.1). SUBSCRIBE is the
/// switch's presence (RFC 6665).
const UAS_METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "CANCEL",
    "BYE",
    "OPTIONS",
    "INFO",
    "UPDATE",
    "REFER",
    "NOTIFY",
    "SUBSCRIBE",
];

/// The methods allowed for `role`, in the order they are listed in Allow.
pub fn allowed_methods(role: Role) -> Vec<&'static str> {
    let mut m = UAS_METHODS.to_vec();
    if role == Role::Registrar {
        m.push("REGISTER");
    }
    m
}

/// The Allow header value for `role` (RFC 3261 §20.5).
pub fn allow_header(role: Role) -> String {
    allowed_methods(role).join(", ")
}

/// What a UAS must answer before anything else looks at the request (RFC 3261 §8.2 order:
/// method → headers → URI scheme → Require → content). `Ok` means "process it"; the
/// transaction layer still owns branch matching (RFC 4475 §3.2.1 badbranch) and the
/// registrar owns Expires, Contact `*` with Expires 0, and authentication.
pub fn check_request(req: &Request, role: Role) -> Result<(), Rejection> {
    check_method(req, role)?;
    check_headers(req, role)?;
    check_uri_scheme(req)?;
    check_require(req)?;
    check_content(req)
}

/// The 400/505 to send for a message that failed to parse, when enough headers survived
/// (Via, From, To, Call-ID, CSeq) — None when it was a response or no Via can be found
/// (then it is dropped and counted), and for an ACK, which is never answered (§17.2.3).
pub fn response_for_parse_error(err: &ParseError) -> Option<Response> {
    if !err.is_request {
        return None;
    }
    let headers = err.headers.as_ref()?;
    // The Via is copied raw: a SIP/7.0 Via (RFC 4475 §3.1.2.16) still says where to answer.
    if !headers.get_all("Via").any(|v| !v.trim().is_empty()) {
        return None;
    }
    let cseq_method = headers
        .get("CSeq")
        .and_then(|v| v.split_whitespace().nth(1));
    if cseq_method == Some("ACK") {
        return None;
    }
    let mut r = answer(headers, err.status, default_reason(err.status));
    let warn_text: String = err
        .reason
        .chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .take(100)
        .collect();
    r.headers
        .push("Warning", format!("399 madoguchi \"{warn_text}\""));
    Some(r)
}

impl Rejection {
    fn new(status: u16) -> Rejection {
        Rejection {
            status,
            reason: default_reason(status).to_string(),
            headers: Vec::new(),
        }
    }

    /// A 400 whose reason phrase says what was wrong (RFC 3261 §21.4.1 allows it).
    fn bad(why: impl std::fmt::Display) -> Rejection {
        Rejection {
            status: 400,
            reason: format!("Bad Request ({why})"),
            headers: Vec::new(),
        }
    }

    fn with(mut self, name: &str, value: impl Into<String>) -> Rejection {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The response to `req` carrying this rejection (RFC 3261 §8.2.6): Via, From, To (with
    /// a To tag), Call-ID and CSeq copied, then the rejection's own headers. None for ACK,
    /// to which no response is ever sent (§17.2.3).
    pub fn response(&self, req: &Request) -> Option<Response> {
        if req.method == Method::Ack {
            return None;
        }
        let mut r = answer(&req.headers, self.status, &self.reason);
        for (n, v) in &self.headers {
            r.headers.push(n, v.clone());
        }
        Some(r)
    }
}

/// A stateless final response built from a request's headers (RFC 3261 §8.2.6.2, §8.2.7):
/// every Via line, and the first From, To, Call-ID and CSeq (a duplicated one is what
/// multi01 is refused for; echoing both would make the answer malformed too).
fn answer(req: &Headers, status: u16, reason: &str) -> Response {
    let mut r = Response::new(status, reason);
    for h in req.0.iter().filter(|h| h.name == "Via") {
        r.headers.0.push(h.clone());
    }
    for name in ["From", "To", "Call-ID", "CSeq"] {
        let Some(v) = req.get(name) else { continue };
        let mut value = v.to_string();
        if name == "To" {
            let has_tag = NameAddr::parse(v)
                .map(|n| n.tag().is_some())
                .unwrap_or(true);
            if !has_tag && status > 100 {
                value.push_str(";tag=");
                value.push_str(&stateless_tag(req));
            }
        }
        r.headers.0.push(Header {
            name: name.to_string(),
            value,
        });
    }
    r
}

/// RFC 3261 §8.2.7: a stateless UAS must give a retransmitted request the same To tag.
/// A hash of the transaction's identity under a per-process secret is stable across
/// retransmissions and unguessable from outside (§19.3).
fn stateless_tag(req: &Headers) -> String {
    static SECRET: OnceLock<[u8; 16]> = OnceLock::new();
    let secret = SECRET.get_or_init(rand::random);
    let mut h = Sha256::new();
    h.update(secret);
    for name in ["Call-ID", "From", "CSeq"] {
        h.update(req.get(name).unwrap_or("").as_bytes());
        h.update([0]);
    }
    if let Some(v) = req.get("Via") {
        h.update(split_list(v).first().copied().unwrap_or("").as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// §8.2.1: an unknown method is 501 (RFC 4475 §3.1.1.2, §3.1.1.5), a known one that this
/// element does not implement is 405; both list what is allowed.
fn check_method(req: &Request, role: Role) -> Result<(), Rejection> {
    let allowed = allowed_methods(role);
    let status = match &req.method {
        Method::Other(_) => 501,
        m if !allowed.contains(&m.as_str()) => 405,
        _ => return Ok(()),
    };
    Err(Rejection::new(status).with("Allow", allowed.join(", ")))
}

/// §8.2.2 and §8.1.1: the mandatory headers are present once and well-formed.
fn check_headers(req: &Request, role: Role) -> Result<(), Rejection> {
    let h = &req.headers;
    // Max-Forwards is mandatory in RFC 3261 but absent from RFC 2543 requests, which a
    // backward-compatible element accepts (RFC 4475 §3.4.1): it is not required here.
    let missing: Vec<&str> = ["Via", "From", "To", "Call-ID", "CSeq"]
        .into_iter()
        .filter(|n| h.get(n).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Rejection::bad(format_args!(
            "missing {}",
            missing.join(", ")
        )));
    }
    // RFC 4475 §3.3.8: one value each. To/From are counted by list element, so an
    // unquoted display name with a comma (§3.1.2.15 baddn) also ends up here. Call-ID
    // and CSeq are counted by line: a Call-ID word may hold '"' and '<' (§3.1.1.2).
    const SINGLE: [&str; 6] = [
        "Call-ID",
        "To",
        "From",
        "CSeq",
        "Max-Forwards",
        "Content-Length",
    ];
    for name in SINGLE {
        let n: usize = match name {
            "Call-ID" | "CSeq" => h.count(name),
            _ => h.get_all(name).map(|v| split_list(v).len()).sum(),
        };
        if n > 1 {
            return Err(Rejection::bad(format_args!("{n} {name} values")));
        }
    }
    // RFC 4475 §3.1.2.1: stray ';' and ',' in Via.
    if h.get_all("Via")
        .flat_map(split_list)
        .any(|v| Via::parse(v).is_err())
    {
        return Err(Rejection::bad("malformed Via"));
    }
    for name in ["From", "To"] {
        if NameAddr::parse(h.get(name).unwrap_or("")).is_err() {
            // §3.1.2.6 unterminated quote, §3.1.2.14 spaces in the addr-spec.
            return Err(Rejection::bad(format_args!("malformed {name}")));
        }
    }
    check_contacts(req)?;
    let call_id = h.get("Call-ID").unwrap_or("").trim();
    if call_id.is_empty() || call_id.contains(char::is_whitespace) {
        return Err(Rejection::bad("malformed Call-ID"));
    }
    // §3.1.2.4: a CSeq number above 2**32-1 is malformed.
    let cseq =
        CSeq::parse(h.get("CSeq").unwrap_or("")).map_err(|_| Rejection::bad("malformed CSeq"))?;
    if let Some(mf) = h.get("Max-Forwards") {
        // An overlarge value is tolerated (§3.1.2.4); a non-number is not.
        let mf = mf.trim();
        if mf.is_empty() || !mf.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::bad("malformed Max-Forwards"));
        }
    }
    // §8.2.2 / RFC 4475 §3.1.2.17: the CSeq method must match the request method.
    if cseq.method != req.method {
        return Err(Rejection::bad("CSeq method does not match the request"));
    }
    // RFC 3261 §10.3 step 5 / RFC 4475 §3.3.4: an address-of-record is a SIP or SIPS URI.
    if role == Role::Registrar && req.method == Method::Register {
        let to_is_sip = req.to_hdr().is_some_and(|n| n.uri.as_sip().is_some());
        if !to_is_sip {
            return Err(Rejection::bad(
                "the To of a REGISTER must be a SIP or SIPS URI",
            ));
        }
    }
    Ok(())
}

/// Every Contact value is a name-addr or addr-spec (an addr-spec with '?' headers must be
/// in `<>`, RFC 4475 §3.1.2.13); `*` only alone in a REGISTER (RFC 3261 §10.2.2).
fn check_contacts(req: &Request) -> Result<(), Rejection> {
    let total: usize = req
        .headers
        .get_all("Contact")
        .map(|v| split_list(v).len())
        .sum();
    for c in req.headers.get_all("Contact").flat_map(split_list) {
        let ok = if c == "*" {
            req.method == Method::Register && total == 1
        } else {
            NameAddr::parse(c).is_ok()
        };
        if !ok {
            return Err(Rejection::bad("malformed Contact"));
        }
    }
    Ok(())
}

/// §8.2.2.1: only sip: and sips: Request-URIs are handled (RFC 4475 §3.3.2, §3.3.3).
fn check_uri_scheme(req: &Request) -> Result<(), Rejection> {
    match req.uri {
        Uri::Sip(_) => Ok(()),
        Uri::Other(..) => Err(Rejection::new(416)),
    }
}

/// §8.2.2.3: unknown option tags in Require are a 420 listing them in Unsupported
/// (RFC 4475 §3.3.5). Proxy-Require is for proxies and ignored by a UAS; Require in ACK
/// and CANCEL must be ignored.
fn check_require(req: &Request) -> Result<(), Rejection> {
    if matches!(req.method, Method::Ack | Method::Cancel) {
        return Ok(());
    }
    let unknown: Vec<String> = req
        .headers
        .values("Require")
        .into_iter()
        .filter(|t| !t.is_empty())
        .filter(|t| {
            !SUPPORTED_EXTENSIONS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(t))
        })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Rejection::new(420).with("Unsupported", unknown.join(", ")))
}

/// §8.2.3 for the methods whose bodies madoguchi reads (session descriptions in INVITE and
/// UPDATE): anything but application/sdp is a 415 with Accept (RFC 4475 §3.3.6), a
/// content coding other than identity a 415 with Accept-Encoding. Then the response side
/// (RFC 3261 §20.1): an Accept that rules out application/sdp is a 406 (RFC 4475 §3.3.15).
fn check_content(req: &Request) -> Result<(), Rejection> {
    const SDP: &str = "application/sdp";
    if !req.body.is_empty() && matches!(req.method, Method::Invite | Method::Update) {
        let Some(ct) = req.content_type() else {
            // RFC 3261 §20.15: a non-empty body must say what it is.
            return Err(Rejection::bad("a body without Content-Type"));
        };
        let coded = req
            .headers
            .values("Content-Encoding")
            .iter()
            .any(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"));
        if coded {
            return Err(Rejection::new(415).with("Accept-Encoding", "identity"));
        }
        if ct != SDP {
            return Err(Rejection::new(415).with("Accept", SDP));
        }
    }
    if matches!(req.method, Method::Invite | Method::Options) && req.headers.get("Accept").is_some()
    {
        let ranges: Vec<String> = req
            .headers
            .values("Accept")
            .iter()
            .map(|r| {
                r.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|r| !r.is_empty())
            .collect();
        // An empty Accept means no body is acceptable: fine for an OPTIONS, answered
        // without one, but the 2xx to an INVITE must carry SDP.
        let empty_ok = ranges.is_empty() && req.method == Method::Options;
        let sdp_ok = ranges
            .iter()
            .any(|r| r == SDP || r == "application/*" || r == "*/*");
        if !empty_ok && !sdp_ok {
            return Err(Rejection::new(406).with("Accept", SDP).with(
                "Warning",
                "399 madoguchi \"Only application/sdp bodies are supported\"",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{parse_datagram, Message};

    fn req(extra: &str, method: &str) -> Request {
        let raw = format!(
            "{method} sip:1001@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKv\r\n\
             From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:1001@192.0.2.1>\r\nCall-ID: c1\r\n\
             CSeq: 1 {method}\r\nMax-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse_datagram(raw.as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => panic!("not a request"),
        }
    }

    #[test]
    fn contact_star_only_alone_in_register() {
        let r = req("Contact: *\r\nExpires: 0\r\n", "REGISTER");
        assert_eq!(check_request(&r, Role::Registrar), Ok(()));
        let r = req("Contact: *, <sip:a@b>\r\n", "REGISTER");
        assert_eq!(check_request(&r, Role::Registrar).unwrap_err().status, 400);
        let r = req("Contact: *\r\n", "OPTIONS");
        assert_eq!(check_request(&r, Role::Uas).unwrap_err().status, 400);
    }

    #[test]
    fn register_at_a_plain_uas_is_405_with_allow() {
        let e = check_request(&req("", "REGISTER"), Role::Uas).unwrap_err();
        assert_eq!(e.status, 405);
        assert!(e
            .headers
            .iter()
            .any(|(n, v)| n == "Allow" && !v.contains("REGISTER")));
    }

    #[test]
    fn accept_ranges() {
        assert_eq!(
            check_request(&req("Accept: application/*\r\n", "OPTIONS"), Role::Uas),
            Ok(())
        );
        assert_eq!(
            check_request(&req("Accept:\r\n", "OPTIONS"), Role::Uas),
            Ok(())
        );
        assert_eq!(
            check_request(&req("Accept:\r\n", "INVITE"), Role::Uas)
                .unwrap_err()
                .status,
            406
        );
    }

    #[test]
    fn rejection_response_tags_to_and_skips_ack() {
        let r = req("Require: 100rel\r\n", "INVITE");
        let rej = check_request(&r, Role::Uas).unwrap_err();
        assert_eq!(rej.status, 420);
        let resp = rej.response(&r).unwrap();
        assert_eq!(resp.headers.get("Unsupported"), Some("100rel"));
        let tag = resp.to_tag().unwrap();
        // Stateless: a retransmission gets the same tag (RFC 3261 §8.2.7).
        assert_eq!(rej.response(&r).unwrap().to_tag(), Some(tag));
        let ack = req("Require: 100rel\r\n", "ACK");
        assert!(Rejection::new(400).response(&ack).is_none());
    }
}
