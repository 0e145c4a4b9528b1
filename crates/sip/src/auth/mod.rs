//! Digest authentication (RFC 3261 §22 with the RFC 7616 algorithms that RFC 8760 adopts
//! for SIP), for both sides: the switch challenging phones (`DigestServer`) and the
//! switch answering a carrier's challenge (`client_authorization`), plus the
//! failed-attempt limiter that keeps password guessers away (`AuthLimiter`).
//!
//! # Why credentials are stored as H(A1), and why not argon2
//! Digest never sends the password: the client proves it knows
//! `H(A1) = H(user ":" realm ":" password)` by hashing it with the server's nonce. To check
//! that proof the server must compute the same `H(A1)`, so it needs either the plaintext
//! or `H(A1)` itself. A slow salted hash such as argon2 or bcrypt yields a value the
//! client cannot compute (it knows no salt and the result is not `H(A1)`), so it cannot
//! stand in for the stored secret. The best a SIP server can do is what Kamailio does:
//! keep only `H(A1)` per algorithm (`Credentials`), which is bound to this realm and is
//! useless for logging in anywhere else, and protect the file like a private key.

mod client;
mod limiter;
mod nonces;
mod params;
mod server;

pub use client::{client_authorization, preferred_challenge};
pub use limiter::{AuthLimiter, LimiterConfig};
pub use nonces::{NcVerdict, NonceBook};
pub use params::{parse_authorization, DigestResponse};
pub use server::{AuthOutcome, DigestRequest, DigestServer, DEFAULT_NONCE_TTL};

use md5::Md5;
use sha2::{Digest, Sha256};
use std::fmt;

/// Digest algorithms (RFC 7616 §3.2 / RFC 8760 §2.2). SHA-512-256 is left out: no SIP
/// phone we must serve implements it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    /// Parse the `algorithm` parameter; tokens are case-insensitive (RFC 7616 §3.3).
    pub fn from_token(s: &str) -> Option<Algorithm> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MD5" => Some(Algorithm::Md5),
            "MD5-SESS" => Some(Algorithm::Md5Sess),
            "SHA-256" => Some(Algorithm::Sha256),
            "SHA-256-SESS" => Some(Algorithm::Sha256Sess),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// The `-sess` variants hash the nonce and cnonce into A1 (RFC 7616 §3.4.2).
    pub fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Lower-case hex of the algorithm's hash of `data` (RFC 7616 §3.4: H()).
    pub fn hash_hex(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex::encode(Md5::digest(data)),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex::encode(Sha256::digest(data)),
        }
    }

    fn is_sha256(self) -> bool {
        matches!(self, Algorithm::Sha256 | Algorithm::Sha256Sess)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user's stored secret: H(A1) for each hash, never the password (see the module doc).
/// H(A1) is password-equivalent within the realm, so `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub realm: String,
    /// hex MD5(user:realm:password); `None` disables MD5 for this user.
    pub ha1_md5: Option<String>,
    /// hex SHA-256(user:realm:password).
    pub ha1_sha256: Option<String>,
}

impl Credentials {
    /// Compute both H(A1) values at config load, after which the password can be dropped.
    pub fn from_password(user: &str, realm: &str, password: &str) -> Credentials {
        let a1 = format!("{user}:{realm}:{password}");
        Credentials {
            user: user.to_string(),
            realm: realm.to_string(),
            ha1_md5: Some(Algorithm::Md5.hash_hex(a1.as_bytes())),
            ha1_sha256: Some(Algorithm::Sha256.hash_hex(a1.as_bytes())),
        }
    }

    /// The stored H(A1) for the hash `alg` uses (the `-sess` step is applied later).
    pub fn ha1(&self, alg: Algorithm) -> Option<&str> {
        if alg.is_sha256() {
            self.ha1_sha256.as_deref()
        } else {
            self.ha1_md5.as_deref()
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |h: &Option<String>| h.as_ref().map(|_| "<redacted>");
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("realm", &self.realm)
            .field("ha1_md5", &shown(&self.ha1_md5))
            .field("ha1_sha256", &shown(&self.ha1_sha256))
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("malformed digest header: {0}")]
    Malformed(&'static str),
    #[error("authentication scheme is not Digest")]
    NotDigest,
    #[error("unsupported digest algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("unsupported qop {0} (only auth)")]
    UnsupportedQop(String),
}

/// The digest of RFC 7616 §3.4.1 (qop=auth) or RFC 2069 (no qop), from a stored H(A1).
/// `qop` is `Some((nc, cnonce))` for qop=auth. `nc` is the 8-hex-digit string as sent.
pub(crate) fn compute_response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    qop: Option<(&str, &str)>,
    method: &str,
    uri: &str,
) -> String {
    // RFC 7616 §3.4.2: for -sess, A1 = H(user:realm:pass) ":" nonce ":" cnonce.
    let ha1 = match (alg.is_session(), qop) {
        (true, Some((_, cnonce))) => alg.hash_hex(format!("{ha1}:{nonce}:{cnonce}").as_bytes()),
        _ => ha1.to_string(),
    };
    let ha2 = alg.hash_hex(format!("{method}:{uri}").as_bytes());
    let kd = match qop {
        Some((nc, cnonce)) => format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"),
        None => format!("{ha1}:{nonce}:{ha2}"),
    };
    alg.hash_hex(kd.as_bytes())
}

/// HMAC-SHA256 (RFC 2104). Written out because it is eight lines over `sha2` and saves a
/// dependency; checked against RFC 4231 test case 2 in the tests below.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Compare secrets without an early exit, so timing does not reveal how many leading
/// characters of a guessed response or nonce MAC were right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_rfc4231_case2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_sha256_long_key_rfc4231_case6() {
        let key = [0xaau8; 131];
        let mac = hmac_sha256(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn constant_time_eq_detects_difference() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
