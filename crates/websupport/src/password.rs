//! Staff passwords: argon2id hashes (PHC strings), random tokens, and the checks both
//! sidecars make before storing a login.

use crate::error::{Error, Result};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Fewer characters than this are refused (no defaults are shipped either: first
/// passwords are generated, or set by an administrator).
pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn hash_password(pw: &str) -> Result<String> {
    Argon2::default()
        .hash_password(pw.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid(vec![format!("password hash: {e}")]))
}

pub fn verify_password(hash: &str, pw: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Spends the time of a real check, for a login ID that does not exist: the response
/// time does not tell which IDs exist.
pub fn verify_nobody(pw: &str) {
    let _ = verify_password(
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        pw,
    );
}

pub fn valid_login(login: &str) -> bool {
    (1..=32).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The problems with a new account's login ID and password, in Japanese for the form.
pub fn account_problems(login: &str, pw: &str) -> Vec<String> {
    let mut p = Vec::new();
    if !valid_login(login) {
        p.push("ログインIDは英数字と . _ - で32文字までです".to_string());
    }
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        p.push(format!(
            "パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください"
        ));
    }
    p
}

/// Compares secrets (CSRF tokens, MACs) in time independent of where they differ.
pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterz"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn logins_and_passwords_are_checked() {
        assert!(account_problems("op.1001", "0123456789").is_empty());
        assert_eq!(account_problems("bad id", "short").len(), 2);
        assert!(!valid_login(&"a".repeat(33)));
        assert!(constant_eq(b"abc", b"abc"));
        assert!(!constant_eq(b"abc", b"abd"));
        assert!(!constant_eq(b"abc", b"ab"));
    }
}
