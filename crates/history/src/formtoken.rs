//! The web form's time check without a session: the form carries the time it was
//! served and an HMAC-SHA256 (RFC 2104) of it under the server's secret. A submission
//! sooner than a person can type, or hours later, or with a forged time, is refused.

use sha2::{Digest, Sha256};

/// A person needs longer than this to fill in the form.
pub const MIN_SECS: i64 = 3;
/// After this the form is stale (reload it).
pub const MAX_SECS: i64 = 3 * 3600;

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const B: usize = 64;
    let mut k = [0u8; B];
    if key.len() > B {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

pub fn issue(secret: &[u8], now: i64) -> String {
    format!(
        "{now}.{}",
        hex::encode(hmac(secret, now.to_string().as_bytes()))
    )
}

#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Ok,
    TooFast,
    Expired,
    Forged,
}

pub fn check(secret: &[u8], token: &str, now: i64) -> Check {
    let Some((t, mac)) = token.split_once('.') else {
        return Check::Forged;
    };
    let Ok(issued) = t.parse::<i64>() else {
        return Check::Forged;
    };
    let expected = hex::encode(hmac(secret, t.as_bytes()));
    if !websupport::password::constant_eq(expected.as_bytes(), mac.as_bytes()) {
        return Check::Forged;
    }
    match now - issued {
        d if d < MIN_SECS => Check::TooFast,
        d if d > MAX_SECS => Check::Expired,
        _ => Check::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hex::encode(hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn time_window_and_forgery() {
        let s = b"secret-secret-secret-secret-0001";
        let t = issue(s, 1000);
        assert_eq!(check(s, &t, 1001), Check::TooFast);
        assert_eq!(check(s, &t, 1010), Check::Ok);
        assert_eq!(check(s, &t, 1000 + MAX_SECS + 1), Check::Expired);
        assert_eq!(
            check(b"other-secret-other-secret-000002", &t, 1010),
            Check::Forged
        );
        let forged = t.replacen("1000", "0900", 1);
        assert_eq!(check(s, &forged, 1010), Check::Forged);
        assert_eq!(check(s, "garbage", 1010), Check::Forged);
    }
}
