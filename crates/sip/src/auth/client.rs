//! The answering side, for the switch's own requests to a carrier trunk or the PBX
//! gateway (RFC 3261 §22.2 / §22.3 as a UAC, RFC 8760 §2.4 choice of algorithm).

use super::params::{get, parse_digest_params, quote};
use super::{compute_response, Algorithm, AuthError};

/// Build the Authorization / Proxy-Authorization value answering one WWW-Authenticate /
/// Proxy-Authenticate value. `uri` is the Request-URI of the retried request, `cnonce` a
/// fresh random string, `nc` how many requests this nonce has signed (starting at 1).
pub fn client_authorization(
    challenge_header_value: &str,
    method: &str,
    uri: &str,
    user: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Result<String, AuthError> {
    let p = parse_digest_params(challenge_header_value)?;
    let realm = get(&p, "realm").ok_or(AuthError::Malformed("challenge without realm"))?;
    let nonce = get(&p, "nonce").ok_or(AuthError::Malformed("challenge without nonce"))?;
    let alg = match get(&p, "algorithm") {
        None => Algorithm::Md5,
        Some(a) => Algorithm::from_token(a)
            .ok_or_else(|| AuthError::UnsupportedAlgorithm(a.to_string()))?,
    };
    // qop-options is a quoted comma list (RFC 7616 §3.3); we only do "auth".
    let qop_auth = match get(&p, "qop") {
        None => false,
        Some(list)
            if list
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth")) =>
        {
            true
        }
        Some(list) => return Err(AuthError::UnsupportedQop(list.to_string())),
    };
    if alg.is_session() && !qop_auth {
        // -sess hashes the cnonce into A1, which only exists with qop.
        return Err(AuthError::UnsupportedQop("none with -sess".to_string()));
    }
    if cnonce.is_empty() || cnonce.contains('"') {
        return Err(AuthError::Malformed(
            "cnonce must be non-empty and quotable",
        ));
    }
    let nc = format!("{nc:08x}");
    let ha1 = alg.hash_hex(format!("{user}:{realm}:{password}").as_bytes());
    let qop = qop_auth.then_some((nc.as_str(), cnonce));
    let response = compute_response(alg, &ha1, nonce, qop, method, uri);

    let mut v = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={alg}",
        quote(user),
        quote(realm),
        quote(nonce),
        quote(uri)
    );
    if qop_auth {
        // qop and nc are unquoted tokens in credentials (RFC 7616 §3.4).
        v.push_str(&format!(", cnonce={}, qop=auth, nc={nc}", quote(cnonce)));
    }
    if let Some(opaque) = get(&p, "opaque") {
        // The opaque value must be echoed unchanged (RFC 7616 §3.3).
        v.push_str(&format!(", opaque={}", quote(opaque)));
    }
    Ok(v)
}

/// Of several challenge values (one per algorithm, RFC 8760 §2.4), the one to answer:
/// the strongest algorithm we support; the server's order breaks ties.
pub fn preferred_challenge<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let rank = |v: &str| -> Option<u8> {
        let p = parse_digest_params(v).ok()?;
        let alg = match get(&p, "algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_token(a)?,
        };
        Some(match alg {
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
        })
    };
    let mut best: Option<(u8, &'a str)> = None;
    for v in values {
        if let Some(r) = rank(v) {
            if best.is_none_or(|(b, _)| r > b) {
                best = Some((r, v));
            }
        }
    }
    best.map(|(_, v)| v)
}
