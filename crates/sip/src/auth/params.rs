//! The `Digest` auth-param list of WWW-Authenticate / Authorization (RFC 3261 §25.1
//! `challenge` / `credentials`, RFC 7616 §3.3–3.4): `Digest name=token, name="quoted"`.

use super::AuthError;

/// Split `Digest a=b, c="d,e"` into lower-cased names and unquoted values.
/// A header whose scheme is not Digest gives `NotDigest` (RFC 4475 §3.3.7 regaut01: the
/// caller then challenges with Digest). Duplicate names are refused: a second `response`
/// or `realm` would make the meaning depend on which one a parser keeps.
pub(crate) fn parse_digest_params(value: &str) -> Result<Vec<(String, String)>, AuthError> {
    let value = value.trim();
    let (scheme, rest) = match value.find(|c: char| c.is_whitespace()) {
        Some(i) => (&value[..i], value[i..].trim_start()),
        None => (value, ""),
    };
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(AuthError::NotDigest);
    }
    let mut out: Vec<(String, String)> = Vec::new();
    let b = rest.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let name = rest[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if name.is_empty() || i >= b.len() || b[i] != b'=' {
            return Err(AuthError::Malformed("auth-param without '='"));
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let val = if i < b.len() && b[i] == b'"' {
            // quoted-string with quoted-pair (RFC 3261 §25.1).
            i += 1;
            let mut v = Vec::new();
            loop {
                match b.get(i) {
                    None => return Err(AuthError::Malformed("unterminated quoted string")),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if i + 1 < b.len() => {
                        v.push(b[i + 1]);
                        i += 2;
                    }
                    Some(&c) => {
                        v.push(c);
                        i += 1;
                    }
                }
            }
            String::from_utf8(v).map_err(|_| AuthError::Malformed("quoted string is not UTF-8"))?
        } else {
            let s = i;
            while i < b.len() && b[i] != b',' && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            rest[s..i].to_string()
        };
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] != b',' {
            return Err(AuthError::Malformed("expected ',' between auth-params"));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(AuthError::Malformed("duplicate auth-param"));
        }
        out.push((name, val));
    }
    Ok(out)
}

pub(crate) fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Quote a value for a quoted-string, escaping `"` and `\` (RFC 3261 §25.1 quoted-pair).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The fields of an Authorization / Proxy-Authorization Digest value (RFC 3261 §22.4,
/// RFC 7616 §3.4). Exposed so the caller can compare `uri` with the Request-URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestResponse {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    /// `None` when absent, which means MD5 (RFC 7616 §3.3).
    pub algorithm: Option<String>,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
    pub qop: Option<String>,
    /// Nonce count as sent: exactly 8 hex digits (RFC 7616 §3.4).
    pub nc: Option<String>,
}

/// Parse an Authorization value. Required: username, realm, nonce, uri, response
/// (RFC 3261 §22.4 "MUST be present"); cnonce and nc whenever qop is present.
pub fn parse_authorization(value: &str) -> Result<DigestResponse, AuthError> {
    let p = parse_digest_params(value)?;
    let req = |n: &'static str| {
        get(&p, n)
            .map(str::to_string)
            .ok_or(AuthError::Malformed(n))
    };
    let r = DigestResponse {
        username: req("username")?,
        realm: req("realm")?,
        nonce: req("nonce")?,
        uri: req("uri")?,
        response: req("response")?,
        algorithm: get(&p, "algorithm").map(str::to_string),
        cnonce: get(&p, "cnonce").map(str::to_string),
        opaque: get(&p, "opaque").map(str::to_string),
        qop: get(&p, "qop").map(str::to_string),
        nc: get(&p, "nc").map(str::to_string),
    };
    if r.uri.is_empty() {
        return Err(AuthError::Malformed("empty uri"));
    }
    if r.qop.is_some() {
        if r.cnonce.as_deref().is_none_or(str::is_empty) {
            return Err(AuthError::Malformed("qop without cnonce"));
        }
        let nc_ok =
            r.nc.as_deref()
                .is_some_and(|nc| nc.len() == 8 && nc.bytes().all(|c| c.is_ascii_hexdigit()));
        if !nc_ok {
            return Err(AuthError::Malformed("qop without a valid 8-digit nc"));
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_token_values() {
        let p = parse_digest_params(
            "Digest realm=\"a\\\"b, c\" ,nonce=\"n\",algorithm=SHA-256,  qop=\"auth,auth-int\"",
        )
        .unwrap();
        assert_eq!(get(&p, "realm"), Some("a\"b, c"));
        assert_eq!(get(&p, "algorithm"), Some("SHA-256"));
        assert_eq!(get(&p, "qop"), Some("auth,auth-int"));
    }

    #[test]
    fn refuses_other_schemes_and_garbage() {
        assert_eq!(
            parse_digest_params("NoOneKnowsThisScheme opaque-data=here"),
            Err(AuthError::NotDigest)
        );
        assert!(parse_digest_params("Digest realm=\"x").is_err());
        assert!(parse_digest_params("Digest realm").is_err());
        assert!(parse_digest_params("Digest realm=a realm2=b").is_err());
        assert!(parse_digest_params("Digest realm=a, realm=b").is_err());
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote("a\"b\\"), "\"a\\\"b\\\\\"");
    }
}
