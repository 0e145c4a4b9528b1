//! Staff accounts: argon2 password hashes, sessions with a CSRF token each, lockout
//! after repeated failures, and API keys for other services.

use crate::clock::unix_now;
use crate::db::Db;
use crate::error::{FaqError, Result};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rand::RngCore;
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

/// Failures in a row (per ID and address) before login is refused, and for how long.
pub use crate::login_guard::{LOCK_SECS, MAX_FAILURES};
/// A session lasts one working day.
pub const SESSION_SECS: i64 = 9 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Operators: read everything, including internal entries.
    Viewer,
    /// Create, edit, delete, publish, import.
    Editor,
    /// Users, API keys, access log.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "閲覧者",
            Role::Editor => "編集者",
            Role::Admin => "管理者",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SessionUser {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub csrf: String,
}

#[derive(Debug)]
pub enum LoginOutcome {
    /// The session token for the cookie.
    Ok(String),
    BadCredentials,
    Locked,
}

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
        .map_err(|e| FaqError::Invalid(vec![format!("password hash: {e}")]))
}

pub fn verify_password(hash: &str, pw: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

fn valid_login(login: &str) -> bool {
    (1..=32).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

pub fn create_user(db: &Db, login: &str, name: &str, role: Role, pw: &str) -> Result<()> {
    let mut p = Vec::new();
    if !valid_login(login) {
        p.push("ログインIDは英数字と . _ - で32文字までです".to_string());
    }
    if pw.chars().count() < 10 {
        p.push("パスワードは10文字以上にしてください".to_string());
    }
    if !p.is_empty() {
        return Err(FaqError::Invalid(p));
    }
    let hash = hash_password(pw)?;
    db.with(|c| {
        c.execute(
            "INSERT INTO users (login, name, role, pw_hash, created_at) VALUES (?1,?2,?3,?4,?5)
             ON CONFLICT(login) DO UPDATE SET name=?2, role=?3, pw_hash=?4, failed=0, locked_until=0",
            params![login, name, role.as_str(), hash, unix_now()],
        )?;
        // A new password ends the sessions made with the old one.
        c.execute("DELETE FROM sessions WHERE login=?1", [login]).map(|_| ())
    })
}

/// Creates the first administrator when there are no users yet.
pub fn bootstrap_admin(db: &Db, login: &str, pw: &str) -> Result<bool> {
    let n: i64 = db.with(|c| c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)))?;
    if n > 0 {
        return Ok(false);
    }
    create_user(db, login, "管理者", Role::Admin, pw)?;
    Ok(true)
}

/// Checks a password and opens a session. Throttling and lockout are the caller's
/// ([`crate::login_guard`]), in memory per ID and address, so that nobody can lock an
/// account for everyone and concurrent attempts are all counted.
pub fn login(db: &Db, login: &str, pw: &str) -> Result<LoginOutcome> {
    let now = unix_now();
    let row: Option<String> = db.with(|c| {
        c.query_row("SELECT pw_hash FROM users WHERE login=?1", [login], |r| {
            r.get(0)
        })
        .optional()
    })?;
    let Some(hash) = row else {
        // Spend the same time as a real check so response time does not reveal which
        // login IDs exist.
        let _ = verify_password("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", pw);
        return Ok(LoginOutcome::BadCredentials);
    };
    if !verify_password(&hash, pw) {
        tracing::warn!(login = %login.escape_debug(), "login failed");
        return Ok(LoginOutcome::BadCredentials);
    }
    let token = random_hex(32);
    let csrf = random_hex(32);
    db.with(|c| {
        c.execute("UPDATE users SET failed=0, locked_until=0 WHERE login=?1", [login])?;
        c.execute("DELETE FROM sessions WHERE expires_at < ?1", [now])?;
        c.execute(
            "INSERT INTO sessions (token_hash, login, csrf, created_at, expires_at) VALUES (?1,?2,?3,?4,?5)",
            params![sha256_hex(&token), login, csrf, now, now + SESSION_SECS],
        )
    })?;
    Ok(LoginOutcome::Ok(token))
}

pub fn session_user(db: &Db, token: &str) -> Result<Option<SessionUser>> {
    let hash = sha256_hex(token);
    db.with(|c| {
        c.query_row(
            "SELECT u.login, u.name, u.role, s.csrf FROM sessions s JOIN users u ON u.login = s.login
             WHERE s.token_hash=?1 AND s.expires_at > ?2",
            params![hash, unix_now()],
            |r| {
                let role: String = r.get(2)?;
                Ok(SessionUser {
                    login: r.get(0)?,
                    name: r.get(1)?,
                    role: Role::parse(&role).unwrap_or(Role::Viewer),
                    csrf: r.get(3)?,
                })
            },
        )
        .optional()
    })
}

pub fn logout(db: &Db, token: &str) -> Result<()> {
    db.with(|c| {
        c.execute(
            "DELETE FROM sessions WHERE token_hash=?1",
            [sha256_hex(token)],
        )
        .map(|_| ())
    })
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub locked: bool,
}

pub fn users(db: &Db) -> Result<Vec<UserRow>> {
    let now = unix_now();
    db.with(|c| {
        let mut st =
            c.prepare("SELECT login, name, role, locked_until FROM users ORDER BY login")?;
        let rows = st.query_map([], |r| {
            let role: String = r.get(2)?;
            Ok(UserRow {
                login: r.get(0)?,
                name: r.get(1)?,
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                locked: r.get::<_, i64>(3)? > now,
            })
        })?;
        rows.collect()
    })
}

pub fn unlock(db: &Db, login: &str) -> Result<()> {
    db.with(|c| {
        c.execute(
            "UPDATE users SET failed=0, locked_until=0 WHERE login=?1",
            [login],
        )
        .map(|_| ())
    })
}

/// A new API key; only its hash is stored, so the caller shows it once.
pub fn create_api_key(db: &Db, name: &str, by: &str) -> Result<String> {
    let key = format!("faq_{}", random_hex(24));
    db.with(|c| {
        c.execute(
            "INSERT INTO api_keys (name, key_hash, created_at, created_by) VALUES (?1,?2,?3,?4)",
            params![name, sha256_hex(&key), unix_now(), by],
        )
    })?;
    Ok(key)
}

/// The key's name if it is valid and not revoked.
pub fn check_api_key(db: &Db, key: &str) -> Result<Option<String>> {
    db.with(|c| {
        c.query_row(
            "SELECT name FROM api_keys WHERE key_hash=?1 AND revoked=0",
            [sha256_hex(key)],
            |r| r.get(0),
        )
        .optional()
    })
}

pub fn revoke_api_key(db: &Db, id: i64) -> Result<()> {
    db.with(|c| {
        c.execute("UPDATE api_keys SET revoked=1 WHERE id=?1", [id])
            .map(|_| ())
    })
}

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub created_by: String,
    pub revoked: bool,
}

pub fn api_keys(db: &Db) -> Result<Vec<ApiKeyRow>> {
    db.with(|c| {
        let mut st = c.prepare(
            "SELECT id, name, created_at, created_by, revoked FROM api_keys ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(ApiKeyRow {
                id: r.get(0)?,
                name: r.get(1)?,
                created_at: r.get(2)?,
                created_by: r.get(3)?,
                revoked: r.get::<_, i64>(4)? != 0,
            })
        })?;
        rows.collect()
    })
}
