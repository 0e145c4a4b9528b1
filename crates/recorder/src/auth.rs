//! Supervisors' login: HTTP Basic checked against argon2 hashes from the configuration.
//!
//! Why Basic and not a session cookie: the same credentials then work for the web page,
//! the `<audio>` element (the browser resends them for same-origin requests), a
//! download, and scripts calling the JSON API, with no session table and no login form
//! to protect. Its weaknesses are handled here or by the deployment:
//! - the password crosses the wire in every request, so the router must only be
//!   reachable on loopback or through the TLS front proxy (deploy/), never plain HTTP
//!   on the LAN;
//! - argon2 is slow on purpose, so a verified header is remembered (by its SHA-256, not
//!   the password) for a few minutes instead of being re-hashed for every request;
//! - guessing is limited: five failures lock that user name for five minutes;
//! - browsers attach Basic credentials to cross-site requests too, so every state
//!   change is a POST with a JSON body; a cross-site form cannot send
//!   `application/json` without a CORS preflight, which this router never answers.
//!
//! There is no logout with Basic (the browser forgets on close); sessions are short
//! anyway for a supervisor's workstation.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CACHE_FOR: Duration = Duration::from_secs(300);
const CACHE_MAX: usize = 64;
pub const MAX_FAILURES: u32 = 5;
pub const LOCK_FOR: Duration = Duration::from_secs(300);

/// A supervisor account from the configuration.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Supervisor {
    pub user: String,
    /// An argon2 PHC string (`$argon2id$v=19$…`), made with [`hash_password`].
    pub password_hash: String,
}

/// The PHC string to put in the configuration for `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hash: {e}"))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The user name of a supervisor.
    Ok(String),
    /// No usable `Authorization: Basic` header.
    Missing,
    BadCredentials,
    Locked,
}

pub struct Auth {
    users: Vec<Supervisor>,
    verified: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    failures: Mutex<HashMap<String, (u32, Option<Instant>)>>,
}

impl Auth {
    pub fn new(users: Vec<Supervisor>) -> Auth {
        Auth {
            users,
            verified: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    /// Checks the value of an `Authorization` header.
    pub fn check(&self, authorization: Option<&str>) -> AuthOutcome {
        let Some(value) = authorization else {
            return AuthOutcome::Missing;
        };
        let Some((user, password)) = parse_basic(value) else {
            return AuthOutcome::Missing;
        };
        let key: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        let now = Instant::now();
        if let Some((u, at)) = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if now.duration_since(*at) < CACHE_FOR {
                return AuthOutcome::Ok(u.clone());
            }
        }
        {
            let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, Some(until))) = failures.get(&user) {
                if now < *until {
                    return AuthOutcome::Locked;
                }
            }
        }
        let ok = match self.users.iter().find(|s| s.user == user) {
            Some(s) => verify_password(&s.password_hash, &password),
            None => {
                // The same work as a real check, so timing does not tell which names exist.
                let _ = verify_password(
                    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    &password,
                );
                false
            }
        };
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            failures.remove(&user);
            let mut v = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if v.len() >= CACHE_MAX {
                v.retain(|_, (_, at)| now.duration_since(*at) < CACHE_FOR);
                if v.len() >= CACHE_MAX {
                    v.clear();
                }
            }
            v.insert(key, (user.clone(), now));
            return AuthOutcome::Ok(user);
        }
        let e = failures.entry(user.clone()).or_insert((0, None));
        e.0 += 1;
        tracing::warn!(user = %user, failures = e.0, "recordings login failed");
        if e.0 >= MAX_FAILURES {
            *e = (0, Some(now + LOCK_FOR));
            return AuthOutcome::Locked;
        }
        AuthOutcome::BadCredentials
    }
}

/// `Basic dXNlcjpwYXNz` → ("user", "pass").
fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, b64) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(u: &str, p: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    }

    #[test]
    fn right_password_passes_wrong_one_locks_after_five() {
        let users = vec![Supervisor {
            user: "sv".into(),
            password_hash: hash_password("kanri-2026").unwrap(),
        }];
        let auth = Auth::new(users.clone());
        assert_eq!(
            auth.check(Some(&basic("sv", "kanri-2026"))),
            AuthOutcome::Ok("sv".into())
        );
        assert_eq!(auth.check(None), AuthOutcome::Missing);
        assert_eq!(auth.check(Some("Bearer x")), AuthOutcome::Missing);
        assert_eq!(
            auth.check(Some(&basic("nobody", "kanri-2026"))),
            AuthOutcome::BadCredentials
        );

        let auth = Auth::new(users);
        for _ in 0..MAX_FAILURES - 1 {
            assert_eq!(
                auth.check(Some(&basic("sv", "guess"))),
                AuthOutcome::BadCredentials
            );
        }
        assert_eq!(auth.check(Some(&basic("sv", "guess"))), AuthOutcome::Locked);
        // Once locked, even the right password is refused until the lock expires.
        assert_eq!(
            auth.check(Some(&basic("sv", "kanri-2026"))),
            AuthOutcome::Locked
        );
    }
}
