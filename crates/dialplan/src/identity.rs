//! Numbers from SIP headers: who is calling (P-Asserted-Identity, RFC 3325) and which
//! number they originally dialled before a carrier diverted the call to the center
//! (History-Info, RFC 7044; Diversion, RFC 5806). Re-exported by `lookup`.
//!
//! The switch hands over raw header values (one `&str` per header line, in message
//! order); a value may hold several comma-separated entries.

use crate::lookup::normalize_number;

/// The caller's number in national form, for the operator's screen and for a callback.
///
/// From a `trusted` trunk (one whose peers assert identities, RFC 3325 §4 "Spec(T)"),
/// the first number in P-Asserted-Identity wins: the carrier vouches for it, while the
/// From header is whatever the caller's equipment wrote (issue 9 item 5: a From of a
/// premium number made callbacks ring it). Without a usable asserted identity, the
/// From user part. `None` when neither is a number ("anonymous").
///
/// A caller who withheld their number (184, `Privacy: id`; see `withholds_identity`)
/// still has it asserted here; the switch must not show it or call it back.
pub fn asserted_caller(
    p_asserted_identity: Option<&str>,
    from_user: &str,
    trusted: bool,
) -> Option<String> {
    let asserted = p_asserted_identity
        .filter(|_| trusted)
        .and_then(|v| entries(v).find_map(|e| uri_number(entry_uri(e))));
    asserted.or_else(|| normalize_number(&percent_decode(from_user)))
}

/// Whether `Privacy` header values ask that the caller's identity be withheld
/// (RFC 3323 §4.2 `user`, `header`; RFC 3325 §9.3 `id`): the caller dialled 184.
pub fn withholds_identity(privacy: &[&str]) -> bool {
    privacy
        .iter()
        .flat_map(|v| v.split([';', ',']))
        .map(str::trim)
        .any(|t| {
            ["id", "user", "header"]
                .iter()
                .any(|w| t.eq_ignore_ascii_case(w))
        })
}

/// The number the citizen dialled before the call was diverted to the center, in
/// national form; `None` when the headers carry no diversion with a number.
///
/// History-Info (RFC 7044, standards track) is preferred: its entry with `index=1`
/// (§4.3.1: the first hi-entry, the Request-URI as first sent), or the first entry when
/// none is indexed 1. Else Diversion (RFC 5806, historic but what many carriers send):
/// each diverting server adds its entry at the top, so the original dialled number is
/// the bottom-most entry.
pub fn original_dialled(diversion: &[&str], history_info: &[&str]) -> Option<String> {
    let hi: Vec<&str> = history_info.iter().flat_map(|v| entries(v)).collect();
    let first = hi
        .iter()
        .find(|e| param(e, "index").is_some_and(|i| i == "1"))
        .or_else(|| hi.first());
    if let Some(n) = first.and_then(|e| uri_number(entry_uri(e))) {
        return Some(n);
    }
    diversion
        .iter()
        .flat_map(|v| entries(v))
        .last()
        .and_then(|e| uri_number(entry_uri(e)))
}

/// Splits a header value at the commas between entries (RFC 3261 §7.3.1), not those
/// inside a quoted display name or a `<…>` URI.
fn entries(value: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty())
}

/// The URI of a name-addr (`"Name" <uri>;params`) or addr-spec (`uri;params`).
fn entry_uri(entry: &str) -> &str {
    let rest = after_display_name(entry);
    match rest.find('<') {
        Some(a) => {
            let inner = &rest[a + 1..];
            &inner[..inner.find('>').unwrap_or(inner.len())]
        }
        // An addr-spec's parameters belong to the header (RFC 3261 §20).
        None => rest.split(';').next().unwrap_or_default(),
    }
}

/// `entry` after a leading quoted display name (which may hold '<', ',' and '\"').
fn after_display_name(entry: &str) -> &str {
    let Some(body) = entry.strip_prefix('"') else {
        return entry;
    };
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return &body[i + 1..],
            _ => {}
        }
    }
    ""
}

/// The value of header parameter `name` after the URI of `entry`.
fn param<'e>(entry: &'e str, name: &str) -> Option<&'e str> {
    let rest = after_display_name(entry);
    let after = match rest.rfind('>') {
        Some(b) => &rest[b + 1..],
        None => rest.split_once(';').map_or("", |(_, p)| p),
    };
    after.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

/// The telephone number of a sip:/sips: URI's user part or a tel: URI.
fn uri_number(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.trim().split_once(':')?;
    // URI headers (`?Reason=…` in History-Info) are not part of the address.
    let rest = rest.split('?').next().unwrap_or_default();
    let user = if scheme.eq_ignore_ascii_case("tel") {
        rest
    } else if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        rest.split_once('@')?.0
    } else {
        return None;
    };
    normalize_number(&percent_decode(user))
}

/// RFC 3986 §2.1 percent-decoding of a URI user part (`%2B81…` is `+81…`, `%2A21` is
/// `*21`, a label like 市民課 arrives UTF-8 encoded); malformed input as it came.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
