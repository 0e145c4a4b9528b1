//! One binding of an address-of-record to a contact (RFC 3261 §10.3), and the helpers to
//! read a Contact value: q-values (§20.10) and URI equivalence (§19.1.4).

use crate::message::unescape;
use crate::message::{NameAddr, SipUri, Uri};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// A contact registered for an AOR. Times are wall-clock unix seconds so that a binding
/// saved before a restart still expires at the right moment after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// Canonical AOR, `user@domain` (§10.3 step 5).
    pub aor: String,
    /// The contact URI exactly as received, URI parameters and escaped `?headers`
    /// included (RFC 4475 §3.3.13 cparam02, §3.3.14 regescrt).
    pub contact: String,
    /// contact-params other than `q` and `expires`, kept apart from the URI
    /// (RFC 4475 §3.3.12 cparam01), e.g. `+sip.instance`, `reg-id`.
    pub contact_params: Vec<(String, Option<String>)>,
    /// q-value in thousandths (`q=0.5` is 500); None when the contact gave none.
    pub q: Option<u16>,
    pub expires_at: u64,
    /// When this binding was last added or refreshed (orders equal-q bindings).
    pub updated_at: u64,
    pub call_id: String,
    pub cseq: u32,
    /// Where the REGISTER came from: a contact behind NAT is reached through this
    /// address and transport (RFC 5626 §5 "flow", RFC 3581 symmetric response).
    pub source: SocketAddr,
    /// "UDP", "TCP", "TLS", "WS", "WSS".
    pub transport: String,
    /// Path header values (RFC 3327), for a front proxy such as Kamailio.
    #[serde(default)]
    pub path: Vec<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl Binding {
    /// Seconds left at `now` (0 once expired).
    pub fn remaining(&self, now_unix_secs: u64) -> u64 {
        self.expires_at.saturating_sub(now_unix_secs)
    }

    /// q in thousandths with the customary default of 1.0 for ordering.
    pub fn q_or_default(&self) -> u16 {
        self.q.unwrap_or(1000)
    }

    /// The contact as a parsed URI (None only if the stored text was tampered with).
    pub fn uri(&self) -> Option<Uri> {
        Uri::parse(&self.contact).ok()
    }

    /// `<uri>;q=0.5;params;expires=N` for a 200 to REGISTER (§10.3 step 8).
    pub fn contact_header_value(&self, now_unix_secs: u64) -> String {
        let mut v = format!("<{}>", self.contact);
        if let Some(q) = self.q {
            v.push_str(";q=");
            v.push_str(&format_q(q));
        }
        for (n, val) in &self.contact_params {
            match val {
                Some(val) => v.push_str(&format!(";{n}={val}")),
                None => v.push_str(&format!(";{n}")),
            }
        }
        v.push_str(&format!(";expires={}", self.remaining(now_unix_secs)));
        v
    }
}

/// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 3261 §25.1).
pub(crate) fn parse_q(s: &str) -> Option<u16> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

pub(crate) fn format_q(q: u16) -> String {
    if q >= 1000 {
        return "1".to_string();
    }
    let s = format!("0.{q:03}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// delta-seconds (§25.1): digits only; values past u32 saturate, since an overlarge
/// Expires may fall back to the maximum (RFC 4475 §3.1.2.4).
pub(crate) fn parse_delta(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u64>().unwrap_or(u64::MAX))
}

/// URI comparison of RFC 3261 §19.1.4, which decides whether a Contact in a REGISTER
/// refreshes an existing binding (§10.3 step 7). Non-SIP URIs compare as text,
/// scheme case-insensitively.
pub(crate) fn same_uri(a: &Uri, b: &Uri) -> bool {
    match (a, b) {
        (Uri::Sip(a), Uri::Sip(b)) => same_sip_uri(a, b),
        (Uri::Other(sa, ra), Uri::Other(sb, rb)) => sa.eq_ignore_ascii_case(sb) && ra == rb,
        _ => false,
    }
}

fn same_sip_uri(a: &SipUri, b: &SipUri) -> bool {
    use crate::message::Params;
    let unesc = |s: &Option<String>| s.as_deref().map(unescape);
    if a.secure != b.secure
        || unesc(&a.user) != unesc(&b.user)
        || unesc(&a.password) != unesc(&b.password)
        || !a.host.eq_ignore_ascii_case(&b.host)
        || a.port != b.port
    {
        return false;
    }
    let val = |p: &Params, n: &str| p.get(n).map(|v| unescape(v).to_ascii_lowercase());
    // user, ttl, method, maddr and transport must match when either side has them.
    for n in ["user", "ttl", "method", "maddr", "transport"] {
        if a.params.has(n) != b.params.has(n) || val(&a.params, n) != val(&b.params, n) {
            return false;
        }
    }
    // Any other parameter present on both sides must agree.
    for (n, _) in &a.params.0 {
        if b.params.has(n) && val(&a.params, n) != val(&b.params, n) {
            return false;
        }
    }
    // Headers are compared as a set; order does not matter.
    let hdrs = |s: &Option<String>| {
        let mut v: Vec<String> = s
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|h| !h.is_empty())
            .map(|h| match h.split_once('=') {
                Some((n, v)) => format!("{}={}", unescape(n).to_ascii_lowercase(), unescape(v)),
                None => unescape(h).to_ascii_lowercase(),
            })
            .collect();
        v.sort();
        v
    };
    hdrs(&a.headers) == hdrs(&b.headers)
}

/// One parsed Contact value of a REGISTER.
#[derive(Debug)]
pub(crate) struct ContactSpec {
    pub uri: Uri,
    pub text: String,
    pub q: Option<u16>,
    pub expires: Option<u64>,
    pub params: Vec<(String, Option<String>)>,
}

pub(crate) fn contact_spec(na: NameAddr) -> Result<ContactSpec, &'static str> {
    let mut q = None;
    let mut expires = None;
    let mut params = Vec::new();
    for (n, v) in na.params.0 {
        if n.eq_ignore_ascii_case("q") {
            q = Some(
                v.as_deref()
                    .and_then(parse_q)
                    .ok_or("bad q-value in Contact")?,
            );
        } else if n.eq_ignore_ascii_case("expires") {
            expires = Some(
                v.as_deref()
                    .and_then(parse_delta)
                    .ok_or("bad expires in Contact")?,
            );
        } else {
            params.push((n, v));
        }
    }
    Ok(ContactSpec {
        text: na.uri.to_string(),
        uri: na.uri,
        q,
        expires,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values() {
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("0.123"), Some(123));
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("1.5"), None);
        assert_eq!(parse_q("0.1234"), None);
        assert_eq!(parse_q("2"), None);
        assert_eq!(format_q(500), "0.5");
        assert_eq!(format_q(123), "0.123");
        assert_eq!(format_q(0), "0");
    }

    #[test]
    fn uri_equivalence_rules() {
        let u = |s| Uri::parse(s).unwrap();
        assert!(same_uri(
            &u("sip:%61lice@ATLANTA.com;transport=TCP"),
            &u("sip:alice@AtLanTa.CoM;Transport=tcp")
        ));
        assert!(!same_uri(
            &u("sip:alice@atlanta.com"),
            &u("sip:ALICE@atlanta.com")
        ));
        assert!(!same_uri(
            &u("sip:bob@biloxi.com"),
            &u("sip:bob@biloxi.com:5060")
        ));
        assert!(!same_uri(
            &u("sip:bob@biloxi.com"),
            &u("sip:bob@biloxi.com;transport=udp")
        ));
        assert!(same_uri(
            &u("sip:carol@chicago.com"),
            &u("sip:carol@chicago.com;newparam=5")
        ));
        assert!(!same_uri(
            &u("sip:carol@chicago.com;security=on"),
            &u("sip:carol@chicago.com;security=off")
        ));
        assert!(same_uri(
            &u("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com"),
            &u("sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com")
        ));
        assert!(!same_uri(&u("sip:a@b?Route=x"), &u("sip:a@b")));
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse_delta("0"), Some(0));
        assert_eq!(parse_delta(" 3600 "), Some(3600));
        assert_eq!(parse_delta("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(parse_delta("-1"), None);
        assert_eq!(parse_delta("1h"), None);
    }
}
