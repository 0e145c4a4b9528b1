//! Finding the configured number a caller dialled, and the trunk a packet came from.

use std::net::{IpAddr, SocketAddr};

use crate::config::{Config, Number, Trunk};

pub use crate::identity::{asserted_caller, original_dialled, withholds_identity};

/// Japan's country code: carriers send the same number as "0246221111",
/// "+81246221111" or "81246221111".
const COUNTRY_CODE: &str = "81";

/// A dialled number in national form ("0246221111"), or `None` if it is not a number.
///
/// Accepts E.164 ("+81 246-22-1111"), E.164 without the plus ("81246221111"), RFC 3966
/// visual separators (`-` `.` `(` `)`, and spaces), a leading "tel:" and trailing
/// parameters (";phone-context=…"). Numbers of other countries stay in "+CC…" form, so
/// they never equal a national one.
pub fn normalize_number(text: &str) -> Option<String> {
    let text = text.strip_prefix("tel:").unwrap_or(text);
    let text = text.split(';').next().unwrap_or_default();
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let national = |subscriber: &str| format!("0{subscriber}");
    match digits.strip_prefix(COUNTRY_CODE) {
        Some(subscriber) if plus => Some(national(subscriber)),
        // Without '+', "81…" is international only when long enough to be a full number
        // (a national number has 9 or 10 digits after its leading 0); "8123" is an extension.
        Some(subscriber) if subscriber.len() >= 9 && !subscriber.starts_with('0') => {
            Some(national(subscriber))
        }
        _ if plus => Some(format!("+{digits}")),
        _ => Some(digits),
    }
}

impl Config {
    /// The `[[number]]` the caller dialled, whatever form the carrier wrote it in.
    pub fn number_for(&self, dialled_user: &str) -> Option<&Number> {
        let dialled = normalize_number(dialled_user)?;
        self.numbers
            .iter()
            .find(|n| normalize_number(&n.number).as_deref() == Some(&dialled))
    }

    /// The trunk a packet belongs to: the one listening on `listener` whose `peers`
    /// contain `source`. Headers (From, Via, P-Asserted-Identity) are never consulted:
    /// a caller can write those, but cannot choose where its packets arrive or come from.
    pub fn trunk_for(&self, listener: SocketAddr, source: IpAddr) -> Option<&Trunk> {
        self.trunks.iter().find(|t| {
            listener_matches(t.listen, listener) && t.peers.iter().any(|p| p.contains(source))
        })
    }
}

/// Whether a packet received on the socket address `actual` arrived on `configured`;
/// a wildcard (0.0.0.0 or ::) listener takes every address on its port.
pub fn listener_matches(configured: SocketAddr, actual: SocketAddr) -> bool {
    configured.port() == actual.port()
        && (configured.ip().is_unspecified()
            || configured.ip().to_canonical() == actual.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_the_forms_carriers_send() {
        let want = Some("0246221111".to_string());
        for form in [
            "0246221111",
            "0246-22-1111",
            "+81246221111",
            "+81-246-22-1111",
            "81246221111",
            "tel:+81-246-22-1111",
            "(0246)22-1111",
            "0246.22.1111",
            "+81 246 22 1111",
            "0246221111;phone-context=+81",
        ] {
            assert_eq!(normalize_number(form), want, "{form}");
        }
    }

    #[test]
    fn other_countries_and_non_numbers_do_not_become_national() {
        assert_eq!(
            normalize_number("+1246221111").as_deref(),
            Some("+1246221111")
        );
        assert_eq!(normalize_number("8123").as_deref(), Some("8123"));
        assert_eq!(normalize_number("9").as_deref(), Some("9"));
        assert_eq!(normalize_number("operator"), None);
        assert_eq!(normalize_number(""), None);
        assert_eq!(normalize_number("+"), None);
    }

    #[test]
    fn wildcard_listeners_take_any_address_on_their_port() {
        let any: SocketAddr = "0.0.0.0:5080".parse().unwrap();
        assert!(listener_matches(any, "192.0.2.1:5080".parse().unwrap()));
        assert!(!listener_matches(any, "192.0.2.1:5081".parse().unwrap()));
        let one: SocketAddr = "192.0.2.1:5080".parse().unwrap();
        assert!(!listener_matches(one, "192.0.2.2:5080".parse().unwrap()));
        assert!(listener_matches(
            one,
            "[::ffff:192.0.2.1]:5080".parse().unwrap()
        ));
    }
}
