//! Typed views of the headers the transaction and dialog layers need:
//! Via (§20.42), name-addr headers From/To/Contact/Route (§20.10, §20.20, §20.39), CSeq (§20.16).

use super::uri::{split_hostport, Uri};
use super::Method;
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed header value: {0}")]
pub struct HeaderError(pub &'static str);

/// Split a list header on commas that are outside quotes and angle brackets
/// (RFC 3261 §7.3.1). Empty elements are kept so that `a,,b` can be refused.
///
/// Scans bytes: every delimiter is ASCII and never a UTF-8 continuation byte, so the
/// slice points are character boundaries (and a quoted-pair that escapes a multi-byte
/// character only skips a continuation byte, which could not be a delimiter anyway).
pub fn split_list(s: &str) -> Vec<&str> {
    // Most headers hold one value: no comma, no state machine.
    if !s.as_bytes().contains(&b',') {
        return vec![s.trim()];
    }
    let mut out = Vec::new();
    let (mut in_q, mut in_a, mut esc) = (false, false, false);
    let mut start = 0;
    for (i, &c) in s.as_bytes().iter().enumerate() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            b'\\' if in_q => esc = true,
            b'"' => in_q = !in_q,
            b'<' if !in_q => in_a = true,
            b'>' if !in_q => in_a = false,
            b',' if !in_q && !in_a => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

/// RFC 3261 §25.1 token characters.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c))
}

/// Generic `;name[=value]` parameters, in order. Names compare case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    /// Parse `;a=b;c` (leading ';' required unless empty). LWS around ';' and '=' is allowed.
    pub fn parse(s: &str) -> Result<Params, HeaderError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Params::default());
        }
        let s = s
            .strip_prefix(';')
            .ok_or(HeaderError("parameters must start with ';'"))?;
        let mut out = Vec::new();
        for part in split_outside_quotes(s, b';') {
            let part = part.trim();
            let (name, value) = match part.find('=') {
                Some(eq) => (part[..eq].trim(), Some(part[eq + 1..].trim().to_string())),
                None => (part, None),
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(HeaderError("empty or spaced parameter name"));
            }
            if let Some(v) = &value {
                if v.is_empty() {
                    return Err(HeaderError("empty parameter value"));
                }
            }
            out.push((name.to_string(), value));
        }
        Ok(Params(out))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let v = value.map(str::to_string);
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = v,
            None => self.0.push((name.to_string(), v)),
        }
    }
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

/// Split on an ASCII `sep` outside quoted strings (bytes, see `split_list`).
fn split_outside_quotes(s: &str, sep: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut in_q, mut esc, mut start) = (false, false, 0);
    for (i, &c) in s.as_bytes().iter().enumerate() {
        if esc {
            esc = false;
        } else if c == b'\\' && in_q {
            esc = true;
        } else if c == b'"' {
            in_q = !in_q;
        } else if c == sep && !in_q {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// `[display-name] <uri> *(;param)` or `addr-spec *(;param)` (RFC 3261 §20.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name without quotes (quoted-pairs kept escaped).
    pub display: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    pub fn new(display: Option<&str>, uri: Uri) -> NameAddr {
        NameAddr {
            display: display.map(str::to_string),
            uri,
            params: Params::default(),
        }
    }

    pub fn parse(s: &str) -> Result<NameAddr, HeaderError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(HeaderError("empty name-addr"));
        }
        let (display, rest) = if let Some(q) = s.strip_prefix('"') {
            let end = closing_quote(q).ok_or(HeaderError("unterminated quoted display name"))?;
            let rest = q[end + 1..].trim_start();
            if !rest.starts_with('<') {
                return Err(HeaderError("quoted display name without <uri>"));
            }
            (Some(q[..end].to_string()), rest)
        } else if let Some(lt) = s.find('<') {
            let dn = s[..lt].trim();
            if !dn.is_empty() && !dn.split_whitespace().all(is_token) {
                // RFC 4475 §3.1.2.15: an unquoted display name must be tokens.
                return Err(HeaderError(
                    "display name with non-token characters must be quoted",
                ));
            }
            ((!dn.is_empty()).then(|| dn.to_string()), &s[lt..])
        } else {
            // addr-spec form: parameters after ';' belong to the header, and the URI may
            // not carry '?' headers or ',' (RFC 3261 §20.10, RFC 4475 §3.1.2.13).
            let (u, p) = match s.find(';') {
                Some(i) => (&s[..i], &s[i..]),
                None => (s, ""),
            };
            if u.contains('?') || u.contains(',') {
                return Err(HeaderError("a URI with '?' or ',' must be enclosed in <>"));
            }
            let uri = Uri::parse(u).map_err(|_| HeaderError("bad URI"))?;
            return Ok(NameAddr {
                display: None,
                uri,
                params: Params::parse(p)?,
            });
        };
        let rest = rest.strip_prefix('<').ok_or(HeaderError("expected '<'"))?;
        let gt = rest.find('>').ok_or(HeaderError("missing '>'"))?;
        let inner = &rest[..gt];
        if inner.starts_with(char::is_whitespace) || inner.ends_with(char::is_whitespace) {
            return Err(HeaderError("spaces inside <>"));
        }
        let uri = Uri::parse(inner).map_err(|_| HeaderError("bad URI"))?;
        let params = Params::parse(&rest[gt + 1..])?;
        Ok(NameAddr {
            display,
            uri,
            params,
        })
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag")
    }
}

/// The index of the '"' that closes a quoted string whose opening quote is already
/// consumed, honouring quoted-pairs (RFC 3261 §25.1).
fn closing_quote(s: &str) -> Option<usize> {
    let mut esc = false;
    for (i, &c) in s.as_bytes().iter().enumerate() {
        if esc {
            esc = false;
        } else if c == b'\\' {
            esc = true;
        } else if c == b'"' {
            return Some(i);
        }
    }
    None
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{d}\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// One Via value (RFC 3261 §20.42).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// "UDP", "TCP", … upper-cased.
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    pub fn parse(s: &str) -> Result<Via, HeaderError> {
        // sent-protocol = "SIP" SLASH "2.0" SLASH transport, with LWS allowed around SLASH.
        let mut rest = s.trim();
        let mut parts = Vec::with_capacity(3);
        for i in 0..3 {
            let end = rest
                .find(|c: char| c == '/' || c.is_whitespace())
                .unwrap_or(rest.len());
            let tok = &rest[..end];
            if !is_token(tok) {
                return Err(HeaderError("bad sent-protocol"));
            }
            parts.push(tok);
            rest = rest[end..].trim_start();
            if i < 2 {
                rest = rest
                    .strip_prefix('/')
                    .ok_or(HeaderError("expected '/'"))?
                    .trim_start();
            }
        }
        if !parts[0].eq_ignore_ascii_case("SIP") || parts[1] != "2.0" {
            return Err(HeaderError("not SIP/2.0"));
        }
        let (sent_by, params) = match rest.find(';') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = split_hostport(sent_by).ok_or(HeaderError("bad sent-by"))?;
        Ok(Via {
            transport: parts[2].to_ascii_uppercase(),
            host,
            port,
            params: Params::parse(params)?,
        })
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch")
    }
    pub fn received(&self) -> Option<&str> {
        self.params.get("received")
    }
    /// `Some(None)` when `rport` is present without a value (a request asking for it).
    pub fn rport(&self) -> Option<Option<u16>> {
        if !self.params.has("rport") {
            return None;
        }
        Some(self.params.get("rport").and_then(|v| v.parse().ok()))
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// CSeq (RFC 3261 §20.16): a 32-bit sequence number and the method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(s: &str) -> Result<CSeq, HeaderError> {
        let mut it = s.split_whitespace();
        let n = it.next().ok_or(HeaderError("empty CSeq"))?;
        let m = it.next().ok_or(HeaderError("CSeq without method"))?;
        if it.next().is_some() || !is_token(m) || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HeaderError("bad CSeq"));
        }
        // RFC 3261 §8.1.1.5: the sequence number must be below 2**31 when chosen, and
        // anything beyond 2**32-1 is malformed (RFC 4475 §3.1.2.4).
        let seq = n
            .parse::<u32>()
            .map_err(|_| HeaderError("CSeq number too large"))?;
        Ok(CSeq {
            seq,
            method: Method::from_token(m),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_lws_around_slashes() {
        let v = Via::parse("SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.0.2.2");
        assert_eq!(v.branch(), Some("390skdjuw"));
        let v = Via::parse("SIP/2.0/UDP 10.0.0.1:5062;rport;branch=z9hG4bK1").unwrap();
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.port, Some(5062));
    }

    #[test]
    fn via_rejects_stray_separators() {
        let l = split_list("SIP/2.0/UDP 192.0.2.15;;,;,,");
        assert!(l.iter().any(|v| Via::parse(v).is_err()));
    }

    #[test]
    fn name_addr_forms() {
        let n =
            NameAddr::parse("\"J Rosenberg \\\\\\\"\"  <sip:jdrosen@example.com> ; tag = 98asjd8")
                .unwrap();
        assert_eq!(n.tag(), Some("98asjd8"));
        let n = NameAddr::parse("sip:caller@example.net;tag=134161461246").unwrap();
        assert_eq!(n.tag(), Some("134161461246"));
        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(n.display.as_deref(), Some("caller"));
        assert!(NameAddr::parse("Bell, Alexander <sip:a.g.bell@example.com>;tag=43").is_err());
        assert!(NameAddr::parse("\"Mr. J. User <sip:j.user@example.com>").is_err());
        assert!(NameAddr::parse("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err());
    }

    #[test]
    fn cseq_bounds() {
        assert_eq!(CSeq::parse("0009 INVITE").unwrap().seq, 9);
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse("1").is_err());
    }

    #[test]
    fn list_split_respects_quotes() {
        let l = split_list("\"a, b\" <sip:x@y>, <sip:z@w;p=1,>");
        assert_eq!(l.len(), 2);
    }
}
