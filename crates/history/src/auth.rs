//! Staff accounts of the desktop: argon2 hashes and sessions with a CSRF token each
//! (the `websupport` crate's, shared with the FAQ site), lockout after repeated failures. Hashing is bounded by the
//! caller (`App::hash_slots`): a flood of logins queues instead of eating both cores
//! the switch needs.

use crate::error::{HistoryError, Result};
use crate::store::Db;
use faq::clock::unix_now;
use rusqlite::{params, OptionalExtension};
use websupport::password::{account_problems, hash_password, verify_nobody, verify_password};
use websupport::sessions;

pub const MAX_FAILURES: i64 = 5;
pub const LOCK_SECS: i64 = 15 * 60;
/// A session lasts one working day.
pub const SESSION_SECS: i64 = 12 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Records contacts, searches, exports their own searches.
    Operator,
    /// Also sees the access log and edits anyone's record.
    Supervisor,
    /// Also manages accounts.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "operator" => Some(Role::Operator),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Operator => "オペレーター",
            Role::Supervisor => "SV",
            Role::Admin => "管理者",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SessionUser {
    pub login: String,
    pub name: String,
    pub role: Role,
    /// The operator's agent id on the switch (screen pop is for this agent).
    pub agent_id: String,
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
    Ok(String),
    BadCredentials,
    Locked,
}

pub fn create_user(
    db: &Db,
    login: &str,
    name: &str,
    role: Role,
    agent_id: &str,
    pw: &str,
) -> Result<()> {
    let p = account_problems(login, pw);
    if !p.is_empty() {
        return Err(HistoryError::Invalid(p));
    }
    let hash = hash_password(pw)?;
    db.with(|c| {
        c.execute(
            "INSERT INTO users (login, name, role, agent_id, pw_hash, created_at) VALUES (?1,?2,?3,?4,?5,?6)
             ON CONFLICT(login) DO UPDATE SET name=?2, role=?3, agent_id=?4, pw_hash=?5, failed=0, locked_until=0",
            params![login, name, role.as_str(), agent_id, hash, unix_now()],
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
    create_user(db, login, "管理者", Role::Admin, "", pw)?;
    Ok(true)
}

pub fn login(db: &Db, login: &str, pw: &str) -> Result<LoginOutcome> {
    let now = unix_now();
    let row: Option<(String, i64, i64, Option<i64>)> = db.with(|c| {
        c.query_row(
            "SELECT pw_hash, failed, locked_until, disabled_at FROM users WHERE login=?1",
            [login],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
    })?;
    let Some((hash, failed, locked_until, disabled_at)) = row else {
        verify_nobody(pw);
        return Ok(LoginOutcome::BadCredentials);
    };
    if disabled_at.is_some() {
        // Answered as a wrong password, after the same work, so a disabled account is
        // not told apart from an unknown one.
        verify_password(&hash, pw);
        return Ok(LoginOutcome::BadCredentials);
    }
    if locked_until > now {
        return Ok(LoginOutcome::Locked);
    }
    if !verify_password(&hash, pw) {
        let failed = failed + 1;
        let lock = if failed >= MAX_FAILURES {
            now + LOCK_SECS
        } else {
            0
        };
        db.with(|c| {
            c.execute(
                "UPDATE users SET failed=?2, locked_until=?3 WHERE login=?1",
                params![login, if lock > 0 { 0 } else { failed }, lock],
            )
        })?;
        tracing::warn!(login, failed, locked = lock > 0, "desk login failed");
        return Ok(if lock > 0 {
            LoginOutcome::Locked
        } else {
            LoginOutcome::BadCredentials
        });
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
        sessions::lookup(
            c,
            token,
            unix_now(),
            "u.login, u.name, u.role, u.agent_id",
            |r| {
                let role: String = r.get(2)?;
                Ok(SessionUser {
                    login: r.get(0)?,
                    name: r.get(1)?,
                    role: Role::parse(&role).unwrap_or(Role::Operator),
                    agent_id: r.get(3)?,
                    csrf: r.get(4)?,
                })
            },
        )
    })
}

pub fn logout(db: &Db, token: &str) -> Result<()> {
    db.with(|c| sessions::close(c, token))
}

/// A staff account as the accounts page lists it.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub agent_id: String,
    pub locked: bool,
    /// Disabled (`madoguchi history account disable`): logs in no more.
    pub disabled: bool,
}

pub fn users(db: &Db) -> Result<Vec<UserRow>> {
    let now = unix_now();
    db.with(|c| {
        let mut st = c.prepare(
            "SELECT login, name, role, agent_id, locked_until, disabled_at FROM users ORDER BY login",
        )?;
        let rows = st.query_map([], |r| {
            let role: String = r.get(2)?;
            Ok(UserRow {
                login: r.get(0)?,
                name: r.get(1)?,
                role: Role::parse(&role).unwrap_or(Role::Operator),
                agent_id: r.get(3)?,
                locked: r.get::<_, i64>(4)? > now,
                disabled: r.get::<_, Option<i64>>(5)?.is_some(),
            })
        })?;
        rows.collect()
    })
}

/// An account an administrator creates or changes on the accounts page.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub login: String,
    pub name: String,
    pub role: String,
    pub agent_id: String,
    pub password: String,
}

/// Creates or replaces an operator's or supervisor's account. An operator is one of the
/// switch's agents (`agents`: the ids of its configuration; empty when the sidecar runs
/// without one, then any id is taken) and each agent id belongs to one account, since
/// the screen pop and the state buttons act for that agent.
pub fn save_account(db: &Db, agents: &[String], a: &NewAccount) -> Result<()> {
    let mut p = Vec::new();
    let role = Role::parse(&a.role);
    let agent = a.agent_id.trim();
    if a.name.trim().is_empty() || a.name.chars().count() > 40 {
        p.push("氏名を40文字までで入力してください".to_string());
    }
    match role {
        None => p.push("役割を選んでください".to_string()),
        Some(Role::Operator) if agent.is_empty() => {
            p.push("オペレーターには交換機のオペレーターIDが必要です".to_string())
        }
        _ => {}
    }
    if !agent.is_empty() && !agents.is_empty() && !agents.iter().any(|x| x == agent) {
        p.push(format!(
            "オペレーターID {agent} は交換機の設定にありません（{}）",
            agents.join("、")
        ));
    }
    if !agent.is_empty() {
        let owner: Option<String> = db.with(|c| {
            c.query_row(
                "SELECT login FROM users WHERE agent_id=?1 AND login<>?2",
                params![agent, a.login],
                |r| r.get(0),
            )
            .optional()
        })?;
        if let Some(o) = owner {
            p.push(format!("オペレーターID {agent} は {o} が使っています"));
        }
    }
    if !p.is_empty() {
        return Err(HistoryError::Invalid(p));
    }
    create_user(
        db,
        &a.login,
        a.name.trim(),
        role.unwrap_or(Role::Operator),
        agent,
        &a.password,
    )
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

/// The signed-in user's own new password; the current one must be given. Other
/// sessions of the account end (the caller opens a fresh one).
pub fn change_password(db: &Db, login: &str, current: &str, new: &str) -> Result<bool> {
    let hash: Option<String> = db.with(|c| {
        c.query_row("SELECT pw_hash FROM users WHERE login=?1", [login], |r| {
            r.get(0)
        })
        .optional()
    })?;
    let Some(hash) = hash else {
        return Ok(false);
    };
    if !verify_password(&hash, current) {
        return Ok(false);
    }
    let p = account_problems(login, new);
    if !p.is_empty() {
        return Err(HistoryError::Invalid(p));
    }
    let new_hash = hash_password(new)?;
    db.with(|c| {
        c.execute(
            "UPDATE users SET pw_hash=?2 WHERE login=?1",
            params![login, new_hash],
        )?;
        sessions::close_all(c, login)
    })?;
    Ok(true)
}

/// An administrator's reset of an account's password (the command line's `passwd`): no
/// current password asked, the same rules as a new account, lockout cleared, the
/// account's sessions ended. False when there is no such account.
pub fn set_password(db: &Db, login: &str, pw: &str) -> Result<bool> {
    let p = account_problems(login, pw);
    if !p.is_empty() {
        return Err(HistoryError::Invalid(p));
    }
    let hash = hash_password(pw)?;
    db.with(|c| {
        let n = c.execute(
            "UPDATE users SET pw_hash=?2, failed=0, locked_until=0 WHERE login=?1",
            params![login, hash],
        )?;
        sessions::close_all(c, login)?;
        Ok(n > 0)
    })
}

/// Disables (its sessions end at once) or enables an account. False when there is no
/// such account.
pub fn set_disabled(db: &Db, login: &str, disabled: bool) -> Result<bool> {
    let at = disabled.then(unix_now);
    db.with(|c| {
        let n = c.execute(
            "UPDATE users SET disabled_at=?2 WHERE login=?1",
            params![login, at],
        )?;
        sessions::close_all(c, login)?;
        Ok(n > 0)
    })
}
