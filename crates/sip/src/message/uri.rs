//! SIP and SIPS URIs (RFC 3261 §19.1). Other schemes are kept as opaque text so that
//! a request for `tel:` or `soap.beep:` can be answered 416 instead of misparsed.

use super::headers::Params;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Uri {
    Sip(SipUri),
    /// Any other absolute URI: (scheme, the rest after the colon).
    Other(String, String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    pub secure: bool,
    /// The user part still %-escaped, as received (RFC 3261 §19.1.4 compares unescaped).
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
    /// The `?hname=hvalue` part, kept raw.
    pub headers: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bad URI: {0}")]
pub struct UriError(pub &'static str);

impl Uri {
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        let s = s.trim();
        let colon = s.find(':').ok_or(UriError("no scheme"))?;
        let scheme = &s[..colon];
        if scheme.is_empty()
            || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(UriError("bad scheme"));
        }
        // Bytes first; Unicode spaces (U+3000 from a Japanese IME, NBSP) only if non-ASCII.
        let bad_byte = |b: u8| {
            matches!(
                b,
                b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c | b'<' | b'>' | b'"'
            )
        };
        if s.bytes().any(bad_byte) || (!s.is_ascii() && s.chars().any(char::is_whitespace)) {
            return Err(UriError("whitespace or <>\" inside a URI"));
        }
        // Schemes are case-insensitive (RFC 3261 §19.1.4).
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_after_scheme(&s[colon + 1..], false).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_after_scheme(&s[colon + 1..], true).map(Uri::Sip)
        } else {
            Ok(Uri::Other(scheme.to_string(), s[colon + 1..].to_string()))
        }
    }

    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            Uri::Other(..) => None,
        }
    }

    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) if u.secure => "sips",
            Uri::Sip(_) => "sip",
            Uri::Other(s, _) => s,
        }
    }

    /// The user part, unescaped; None for non-SIP URIs or URIs without a user.
    pub fn user(&self) -> Option<String> {
        self.as_sip().and_then(|u| u.user.as_deref().map(unescape))
    }
}

impl SipUri {
    pub fn new(user: Option<&str>, host: &str, port: Option<u16>) -> SipUri {
        SipUri {
            secure: false,
            user: user.map(str::to_string),
            password: None,
            host: host.to_string(),
            port,
            params: Params::default(),
            headers: None,
        }
    }

    fn parse_after_scheme(rest: &str, secure: bool) -> Result<SipUri, UriError> {
        // RFC 3261 §25.1: neither user nor password may hold an unescaped '@', so the
        // first '@' ends the userinfo. The user part may hold ';' (RFC 4475 §3.1.1.9) and
        // '?' (user-unreserved, §3.1.1.2 intmeth), so '?' headers are looked for only in
        // what follows; there a lenient '@' (Replaces=callid@host in a Refer-To) is kept.
        let (userinfo, rest) = match rest.find('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let (headers, hostpart) = match rest.find('?') {
            Some(q) => (Some(rest[q + 1..].to_string()), &rest[..q]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            Some(ui) => {
                if ui.is_empty() {
                    return Err(UriError("empty user"));
                }
                match ui.find(':') {
                    Some(c) => (Some(ui[..c].to_string()), Some(ui[c + 1..].to_string())),
                    None => (Some(ui.to_string()), None),
                }
            }
            None => (None, None),
        };
        let (hostport, params) = match hostpart.find(';') {
            Some(p) => (
                &hostpart[..p],
                Params::parse(&hostpart[p..]).map_err(|_| UriError("bad uri-parameter"))?,
            ),
            None => (hostpart, Params::default()),
        };
        let (host, port) = split_hostport(hostport).ok_or(UriError("bad host or port"))?;
        Ok(SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }
    pub fn has_param(&self, name: &str) -> bool {
        self.params.has(name)
    }

    /// host[:port] as written in a URI.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{}", self.host, p),
            None => self.host.clone(),
        }
    }
}

/// Split `host[:port]`, with IPv6 references in brackets (RFC 3261 §25.1 hostport).
pub fn split_hostport(s: &str) -> Option<(String, Option<u16>)> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = format!("[{}]", &rest[..end]);
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return None,
        };
        (host, port)
    } else {
        match s.rfind(':') {
            Some(c) => (s[..c].to_string(), Some(&s[c + 1..])),
            None => (s.to_string(), None),
        }
    };
    // A ':' or brackets outside an IPv6 reference can't be part of a hostname or IPv4.
    let allowed = if host.starts_with('[') { "-.[]:" } else { "-." };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || allowed.contains(c))
    {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

/// %HH unescaping (RFC 3261 §19.1.2); invalid escapes are kept literally, and an escaped
/// NUL stays in the result (RFC 4475 §3.1.1.4): the user is never cut at `%00`.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            // Byte-wise: slicing the str here could split a UTF-8 character and panic.
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Other(s, r) => write!(f, "{s}:{r}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_host_port_params() {
        let u = Uri::parse("sip:1001@127.0.0.1:5060;transport=udp").unwrap();
        let s = u.as_sip().unwrap();
        assert_eq!(s.user.as_deref(), Some("1001"));
        assert_eq!(s.host, "127.0.0.1");
        assert_eq!(s.port, Some(5060));
        assert_eq!(s.param("transport"), Some("udp"));
        assert_eq!(u.to_string(), "sip:1001@127.0.0.1:5060;transport=udp");
    }

    #[test]
    fn ipv6_reference() {
        let u = Uri::parse("sip:alice@[::1]:5070").unwrap();
        assert_eq!(u.as_sip().unwrap().host, "[::1]");
        assert_eq!(u.as_sip().unwrap().port, Some(5070));
    }

    #[test]
    fn semicolon_in_user_part() {
        // RFC 4475 §3.1.1.9
        let u = Uri::parse("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(
            u.as_sip().unwrap().user.as_deref(),
            Some("user;par=u%40example.net")
        );
        assert_eq!(u.as_sip().unwrap().host, "example.com");
    }

    #[test]
    fn other_scheme_kept() {
        let u = Uri::parse("soap.beep://192.0.2.103:3002").unwrap();
        assert_eq!(u.scheme(), "soap.beep");
        assert!(u.as_sip().is_none());
    }

    #[test]
    fn rejects_spaces_and_brackets() {
        assert!(Uri::parse("<sip:user@example.com>").is_err());
        assert!(Uri::parse("sip:user@exa mple.com").is_err());
        assert!(Uri::parse("sip:user@host:99999").is_err());
    }

    #[test]
    fn unescape_keeps_nul() {
        assert_eq!(unescape("sip%00x"), "sip\0x");
        assert_eq!(unescape("value%41"), "valueA");
        assert_eq!(unescape("%Z%45"), "%ZE");
    }

    #[test]
    fn question_mark_in_user_and_at_sign_in_headers() {
        // RFC 4475 §3.1.1.2: '?' is user-unreserved.
        let u = Uri::parse("sip:a?b@example.com").unwrap();
        assert_eq!(u.as_sip().unwrap().user.as_deref(), Some("a?b"));
        assert_eq!(u.as_sip().unwrap().headers, None);
        // A Refer-To with an unescaped Call-ID in Replaces, as some phones send it.
        let u = Uri::parse("sip:bob@pbx.example.com?Replaces=123@10.0.0.1").unwrap();
        let s = u.as_sip().unwrap();
        assert_eq!(
            (s.user.as_deref(), s.host.as_str()),
            (Some("bob"), "pbx.example.com")
        );
        assert_eq!(s.headers.as_deref(), Some("Replaces=123@10.0.0.1"));
    }

    #[test]
    fn unescape_never_splits_a_character() {
        assert_eq!(unescape("%a\u{e9}"), "%a\u{e9}");
        assert_eq!(unescape("%+1"), "%+1");
        assert!(Uri::parse("sip:a@\u{3000}host").is_err());
    }
}
