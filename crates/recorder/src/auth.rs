//! Supervisors' login: HTTP Basic checked against argon2 hashes from the configuration.
//!
//! Why Basic and not a session cookie: the same credentials then work for the web page,
//! the `<audio>` element (the browser resends them for same-origin requests), a
//! download, and scripts calling the JSON API, with no session table and no login form
//! to protect. Its weaknesses are handled here or by the deployment:
//! - the password crosses the wire in every request, so the router must only be
//!   reachable on loopback or through the TLS front proxy (deploy/), never plain HTTP
//!   on the LAN;
//! - argon2 is slow on purpose and needs 19 MiB per check, so (1) a verified header is
//!   remembered (by its SHA-256, not the password) for a few minutes: that is the
//!   session, and a logged-in supervisor's requests never hash; (2) at most
//!   `MAX_HASHING` checks run at once, further ones wait briefly and then get 503; (3)
//!   what can be refused without hashing is refused first (no header, absurd lengths,
//!   control characters, a locked user/source pair);
//! - guessing is limited per (user name, source address): five failures lock that pair
//!   for five minutes, doubling with each further lock (up to an hour). An attacker
//!   thus locks only themself out, never the real supervisor at their own desk, and a
//!   success by one user clears nothing for another. The ops API and the recordings
//!   pages share one `Auth`, so one counter;
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
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CACHE_FOR: Duration = Duration::from_secs(300);
const CACHE_MAX: usize = 1024;
pub const MAX_FAILURES: u32 = 5;
pub const LOCK_FOR: Duration = Duration::from_secs(300);
const LOCK_MAX: Duration = Duration::from_secs(3600);
/// Concurrent argon2 checks (19 MiB each): the machine has two cores anyway.
pub const MAX_HASHING: usize = 2;
/// Logins waiting for a hashing thread; one more is answered 503 at once.
const HASH_QUEUE: usize = 16;

type Job = Box<dyn FnOnce() + Send>;

/// `MAX_HASHING` threads that do nothing but argon2. Not tokio's blocking pool: each of
/// its (up to 512) threads would keep its own malloc arena holding a 19 MiB block after
/// one check (measured: 363 MiB after 40 parallel logins); two threads keep two. The
/// threads end when the `Auth` is dropped.
fn hashing_pool() -> std::sync::mpsc::SyncSender<Job> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(HASH_QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..MAX_HASHING {
        let rx = rx.clone();
        let _ = std::thread::Builder::new()
            .name(format!("login-hash-{i}"))
            .spawn(move || loop {
                let job = match lock(&rx).recv() {
                    Ok(j) => j,
                    Err(_) => return,
                };
                job();
            });
    }
    tx
}
/// Tracked (user, source) pairs; beyond this the oldest unlocked ones are forgotten.
const FAILURES_MAX: usize = 10_000;

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

/// `verify_password` in the calling thread's reused argon2 memory: the login threads
/// allocate their 19 MiB once, instead of once per check (glibc kept those blocks:
/// 40 checks on two threads still grew the switch by 300 MiB).
fn verify_password_reusing(hash: &str, password: &str) -> bool {
    use argon2::{Block, Params, Version};
    thread_local! {
        static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&h.salt, &h.hash) else {
        return false;
    };
    let Ok(alg) = argon2::Algorithm::try_from(h.algorithm.as_str()) else {
        return false;
    };
    let version = match h.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&h) else {
        return false;
    };
    let blocks = params.block_count();
    // A configured hash asking for more than 256 MiB is refused, not obeyed.
    if blocks > 256 * 1024 {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    let ok = MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, Block::default());
        }
        Argon2::new(alg, version, params)
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut m[..blocks])
            .is_ok()
    });
    // Constant time, as the crate's own verify does.
    ok && out.len() == expected.len()
        && out
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
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
    /// Too many logins being checked at once: answer 503 with Retry-After.
    Busy,
}

#[derive(Debug, Clone)]
struct Failures {
    count: u32,
    /// How many times this pair was locked (the next lock is twice as long).
    locks: u32,
    until: Option<Instant>,
    last: Instant,
}

pub struct Auth {
    users: Vec<Supervisor>,
    verified: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    failures: Mutex<HashMap<(String, IpAddr), Failures>>,
    /// Jobs for the hashing threads; full means busy.
    pool: std::sync::mpsc::SyncSender<Job>,
    active: AtomicUsize,
    peak: AtomicUsize,
    hashed: AtomicU64,
}

/// A Basic header that passed the cheap checks, and its cache key.
struct Login {
    user: String,
    password: String,
    key: [u8; 32],
}

impl Auth {
    pub fn new(users: Vec<Supervisor>) -> Auth {
        Auth {
            users,
            verified: Mutex::default(),
            failures: Mutex::default(),
            pool: hashing_pool(),
            active: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            hashed: AtomicU64::new(0),
        }
    }

    /// How many argon2 checks ran so far, and the most that ever ran at once.
    pub fn hash_counts(&self) -> (u64, usize) {
        (
            self.hashed.load(Ordering::Relaxed),
            self.peak.load(Ordering::Relaxed),
        )
    }

    /// Checks the value of an `Authorization` header sent from `source`: the cheap
    /// answers first, then argon2 in a bounded pool off the async workers.
    pub async fn check_request(
        self: &Arc<Self>,
        authorization: Option<&str>,
        source: IpAddr,
    ) -> AuthOutcome {
        if let Err(out) = self.precheck(authorization, source, Instant::now()) {
            return out;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let me = self.clone();
        let value = authorization.map(str::to_owned);
        let job: Job = Box::new(move || {
            // Again in the worker: meanwhile the pair may have been locked, or the
            // same header verified by a parallel request.
            let out = match me.precheck(value.as_deref(), source, Instant::now()) {
                Ok(login) => {
                    let ok = me.hash_check(&login);
                    me.settle(login, ok, source, Instant::now())
                }
                Err(out) => out,
            };
            let _ = tx.send(out);
        });
        if self.pool.try_send(job).is_err() {
            return AuthOutcome::Busy;
        }
        rx.await.unwrap_or(AuthOutcome::BadCredentials)
    }

    /// The same, synchronously and from an unknown source (tests, tools).
    pub fn check(&self, authorization: Option<&str>) -> AuthOutcome {
        let source = IpAddr::from([0u8, 0, 0, 0]);
        match self.precheck(authorization, source, Instant::now()) {
            Ok(login) => {
                let ok = self.hash_check(&login);
                self.settle(login, ok, source, Instant::now())
            }
            Err(out) => out,
        }
    }

    /// Everything that needs no argon2: parse, sanity, the session cache, the lock.
    fn precheck(
        &self,
        authorization: Option<&str>,
        source: IpAddr,
        now: Instant,
    ) -> Result<Login, AuthOutcome> {
        let value = authorization.ok_or(AuthOutcome::Missing)?;
        if value.len() > 1024 {
            return Err(AuthOutcome::BadCredentials);
        }
        let (user, password) = parse_basic(value).ok_or(AuthOutcome::Missing)?;
        // A newline in a user name would forge log lines; nobody's name is 64+ bytes.
        if user.is_empty()
            || user.len() > 64
            || password.len() > 256
            || user.chars().any(char::is_control)
        {
            return Err(AuthOutcome::BadCredentials);
        }
        let key: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        if let Some((u, at)) = lock(&self.verified).get(&key) {
            if now.duration_since(*at) < CACHE_FOR {
                return Err(AuthOutcome::Ok(u.clone()));
            }
        }
        if let Some(f) = lock(&self.failures).get(&(user.clone(), source)) {
            if f.until.is_some_and(|u| now < u) {
                return Err(AuthOutcome::Locked);
            }
        }
        Ok(Login {
            user,
            password,
            key,
        })
    }

    fn hash_check(&self, login: &Login) -> bool {
        let n = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(n, Ordering::Relaxed);
        self.hashed.fetch_add(1, Ordering::Relaxed);
        let ok = match self.users.iter().find(|s| s.user == login.user) {
            Some(s) => verify_password_reusing(&s.password_hash, &login.password),
            None => {
                // The same work as a real check, so timing does not tell which names exist.
                let _ = verify_password_reusing(
                    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    &login.password,
                );
                false
            }
        };
        self.active.fetch_sub(1, Ordering::Relaxed);
        ok
    }

    /// Record the result of a hash check for (user, source).
    fn settle(&self, login: Login, ok: bool, source: IpAddr, now: Instant) -> AuthOutcome {
        let Login { user, key, .. } = login;
        let mut failures = lock(&self.failures);
        let k = (user.clone(), source);
        if ok {
            failures.remove(&k);
            drop(failures);
            let mut v = lock(&self.verified);
            if v.len() >= CACHE_MAX {
                v.retain(|_, (_, at)| now.duration_since(*at) < CACHE_FOR);
                if v.len() >= CACHE_MAX {
                    if let Some(oldest) = v.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k) {
                        v.remove(&oldest);
                    }
                }
            }
            v.insert(key, (user.clone(), now));
            return AuthOutcome::Ok(user);
        }
        if failures.len() >= FAILURES_MAX && !failures.contains_key(&k) {
            failures.retain(|_, f| f.until.is_some_and(|u| now < u));
            if failures.len() >= FAILURES_MAX {
                if let Some(old) = failures
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone())
                {
                    failures.remove(&old);
                }
            }
        }
        let f = failures.entry(k).or_insert(Failures {
            count: 0,
            locks: 0,
            until: None,
            last: now,
        });
        f.last = now;
        if f.until.is_some_and(|u| now < u) {
            return AuthOutcome::Locked;
        }
        f.count += 1;
        tracing::warn!(user = %user.escape_debug(), %source, failures = f.count, "supervisor login failed");
        if f.count >= MAX_FAILURES {
            let factor = 1u32 << f.locks.min(4);
            let for_ = (LOCK_FOR * factor).min(LOCK_MAX);
            f.until = Some(now + for_);
            f.locks += 1;
            f.count = 0;
            return AuthOutcome::Locked;
        }
        AuthOutcome::BadCredentials
    }
}

/// The client's address for the login counters: the connection's peer as the ops
/// server records it (`ConnectInfo`); unspecified when served without it.
pub fn client_ip<B>(req: &axum::http::Request<B>) -> IpAddr {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0u8, 0, 0, 0]))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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

    fn sv() -> Vec<Supervisor> {
        vec![Supervisor {
            user: "sv".into(),
            password_hash: hash_password("kanri-2026").unwrap(),
        }]
    }

    #[tokio::test]
    async fn lockout_is_per_user_and_source_with_backoff_and_sessions_skip_argon2() {
        let auth = Arc::new(Auth::new(sv()));
        let attacker: IpAddr = "192.0.2.66".parse().unwrap();
        let desk: IpAddr = "192.0.2.10".parse().unwrap();
        let good = basic("sv", "kanri-2026");
        for _ in 0..MAX_FAILURES - 1 {
            assert_eq!(
                auth.check_request(Some(&basic("sv", "x")), attacker).await,
                AuthOutcome::BadCredentials
            );
        }
        assert_eq!(
            auth.check_request(Some(&basic("sv", "x")), attacker).await,
            AuthOutcome::Locked
        );
        assert_eq!(
            auth.check_request(Some(&good), attacker).await,
            AuthOutcome::Locked
        );
        // The supervisor's own desk is not locked by the attacker.
        assert_eq!(
            auth.check_request(Some(&good), desk).await,
            AuthOutcome::Ok("sv".into())
        );
        // A verified header is a session: no argon2 for the next requests.
        let (hashed, peak) = auth.hash_counts();
        for _ in 0..10 {
            assert_eq!(
                auth.check_request(Some(&good), desk).await,
                AuthOutcome::Ok("sv".into())
            );
        }
        assert_eq!(auth.hash_counts().0, hashed);
        assert!(peak <= MAX_HASHING);
        // The second lock lasts twice as long.
        let now = Instant::now();
        let login = |p: &str| auth.precheck(Some(&basic("sv", p)), attacker, now + LOCK_FOR);
        let l = login("y")
            .map_err(|_| ())
            .expect("the first lock has run out");
        for _ in 0..MAX_FAILURES - 1 {
            let l = login("y").map_err(|_| ()).unwrap();
            assert_eq!(
                auth.settle(l, false, attacker, now + LOCK_FOR),
                AuthOutcome::BadCredentials
            );
        }
        assert_eq!(
            auth.settle(l, false, attacker, now + LOCK_FOR),
            AuthOutcome::Locked
        );
        let later = now + LOCK_FOR + LOCK_FOR + Duration::from_secs(1);
        assert_eq!(
            auth.precheck(Some(&basic("sv", "z")), attacker, later)
                .err(),
            Some(AuthOutcome::Locked),
            "still locked after one lock period"
        );
    }

    #[tokio::test]
    async fn absurd_headers_are_refused_without_hashing() {
        let auth = Arc::new(Auth::new(sv()));
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        for h in [
            basic("sv\nFORGED log line", "x"),
            basic(&"u".repeat(100), "x"),
            basic("sv", &"p".repeat(300)),
            format!("Basic {}", "A".repeat(2000)),
        ] {
            assert_eq!(
                auth.check_request(Some(&h), src).await,
                AuthOutcome::BadCredentials
            );
        }
        assert_eq!(auth.hash_counts().0, 0);
    }
}
