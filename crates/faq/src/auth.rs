//! Staff accounts: argon2 password hashes, sessions with a CSRF token each, lockout
//! after repeated failures, and API keys for other services. Passwords and sessions are
//! the shared `websupport` crate's (the contact history uses the same).

use crate::clock::unix_now;
use crate::db::Db;
use crate::error::{FaqError, Result};
use rusqlite::{params, OptionalExtension};
use websupport::password::{account_problems, verify_nobody};
pub use websupport::password::{hash_password, random_hex, sha256_hex, verify_password};
use websupport::sessions;

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

impl websupport::web::StaffUser for SessionUser {
    type Role = Role;
    type Rejection = crate::web::AppError;
    fn login(&self) -> &str {
        &self.login
    }
    fn role(&self) -> Role {
        self.role
    }
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Debug)]
pub enum LoginOutcome {
    /// The session token for the cookie.
    Ok(String),
    BadCredentials,
    Locked,
}

pub fn create_user(db: &Db, login: &str, name: &str, role: Role, pw: &str) -> Result<()> {
    let p = account_problems(login, pw);
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
        sessions::close_all(c, login)
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
        verify_nobody(pw);
        return Ok(LoginOutcome::BadCredentials);
    };
    if !verify_password(&hash, pw) {
        tracing::warn!(login = %login.escape_debug(), "login failed");
        return Ok(LoginOutcome::BadCredentials);
    }
    let token = db.with(|c| {
        c.execute(
            "UPDATE users SET failed=0, locked_until=0 WHERE login=?1",
            [login],
        )?;
        sessions::open(c, login, now, SESSION_SECS)
    })?;
    Ok(LoginOutcome::Ok(token))
}

pub fn session_user(db: &Db, token: &str) -> Result<Option<SessionUser>> {
    db.with(|c| {
        sessions::lookup(c, token, unix_now(), "u.login, u.name, u.role", |r| {
            let role: String = r.get(2)?;
            Ok(SessionUser {
                login: r.get(0)?,
                name: r.get(1)?,
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                csrf: r.get(3)?,
            })
        })
    })
}

pub fn logout(db: &Db, token: &str) -> Result<()> {
    db.with(|c| sessions::close(c, token))
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
