//! Staff accounts of the desktop: argon2 hashes and sessions with a CSRF token each
//! (the `websupport` crate's, shared with the FAQ site), lockout after repeated failures. Hashing is bounded by the
//! caller (`App::hash_slots`): a flood of logins queues instead of eating both cores
//! the switch needs.

use crate::error::{HistoryError, Result};
use faq::clock::unix_now;
use websupport::password::{account_problems, hash_password, verify_nobody, verify_password};

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

// The statements both stores run (PostgreSQL through `store::pg::sql_to_postgres`).
pub(crate) const UPSERT_USER: &str = "INSERT INTO users (login, name, role, agent_id, pw_hash, created_at) VALUES (?1,?2,?3,?4,?5,?6)
     ON CONFLICT(login) DO UPDATE SET name=?2, role=?3, agent_id=?4, pw_hash=?5, failed=0, locked_until=0";
pub(crate) const CREDENTIALS: &str =
    "SELECT pw_hash, failed, locked_until, disabled_at FROM users WHERE login=?1";
pub(crate) const FAILED: &str = "UPDATE users SET failed=?2, locked_until=?3 WHERE login=?1";
pub(crate) const UNLOCK: &str = "UPDATE users SET failed=0, locked_until=0 WHERE login=?1";
pub(crate) const SESSION_USER_COLS: &str = "u.login, u.name, u.role, u.agent_id";
pub(crate) const LIST_USERS: &str =
    "SELECT login, name, role, agent_id, locked_until, disabled_at FROM users ORDER BY login";
pub(crate) const RESET_PASSWORD: &str =
    "UPDATE users SET pw_hash=?2, failed=0, locked_until=0 WHERE login=?1";
pub(crate) const SET_PASSWORD: &str = "UPDATE users SET pw_hash=?2 WHERE login=?1";
pub(crate) const COUNT_USERS: &str = "SELECT COUNT(*) FROM users";
pub(crate) const AGENT_OWNER: &str = "SELECT login FROM users WHERE agent_id=?1 AND login<>?2";
pub(crate) const DISABLE: &str = "UPDATE users SET disabled_at=?2 WHERE login=?1";

/// After a wrong password: the failures to store and the lock's end (0: not locked).
/// The fifth failure in a row locks the account for [`LOCK_SECS`] and starts the count
/// again.
pub(crate) fn after_failure(failed: i64, now: i64) -> (i64, i64) {
    let failed = failed + 1;
    if failed >= MAX_FAILURES {
        (0, now + LOCK_SECS)
    } else {
        (failed, 0)
    }
}

/// What a login is checked against: (hash, failures, locked until, disabled at).
pub type StoredCredentials = (String, i64, i64, Option<i64>);

/// Where the accounts and sessions are kept: the SQLite file (`store::accounts`) or
/// PostgreSQL (`store::pg_accounts`). The rules (lockout, disabled accounts, password
/// checks, hashing) are this module's, once, over either.
pub trait Accounts {
    fn user_count(&self) -> Result<i64>;
    /// Creates or replaces the account (lockout cleared) and ends its sessions.
    fn upsert_user(
        &self,
        login: &str,
        name: &str,
        role: Role,
        agent_id: &str,
        hash: &str,
        now: i64,
    ) -> Result<()>;
    /// (hash, failures, locked until, disabled at): see [`StoredCredentials`].
    fn credentials(&self, login: &str) -> Result<Option<StoredCredentials>>;
    fn record_failure(&self, login: &str, failed: i64, locked_until: i64) -> Result<()>;
    /// Clears the failures and opens a session; the cookie's token.
    fn open_session(&self, login: &str, now: i64) -> Result<String>;
    fn session_user(&self, token: &str, now: i64) -> Result<Option<SessionUser>>;
    fn close_session(&self, token: &str) -> Result<()>;
    fn list_users(&self, now: i64) -> Result<Vec<UserRow>>;
    /// Another account that has this agent id.
    fn agent_owner(&self, agent_id: &str, login: &str) -> Result<Option<String>>;
    fn unlock(&self, login: &str) -> Result<()>;
    /// A new hash (lockout cleared when `clear_lock`); ends the sessions. False: no
    /// such account.
    fn store_password(&self, login: &str, hash: &str, clear_lock: bool) -> Result<bool>;
    /// Ends the sessions too. False: no such account.
    fn store_disabled(&self, login: &str, at: Option<i64>) -> Result<bool>;
}

pub fn create_user(
    db: &impl Accounts,
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
    db.upsert_user(login, name, role, agent_id, &hash, unix_now())
}

/// Creates the first administrator when there are no users yet.
pub fn bootstrap_admin(db: &impl Accounts, login: &str, pw: &str) -> Result<bool> {
    if db.user_count()? > 0 {
        return Ok(false);
    }
    create_user(db, login, "管理者", Role::Admin, "", pw)?;
    Ok(true)
}

pub fn login(db: &impl Accounts, login: &str, pw: &str) -> Result<LoginOutcome> {
    let now = unix_now();
    let Some((hash, failed, locked_until, disabled_at)) = db.credentials(login)? else {
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
        let (failed, lock) = after_failure(failed, now);
        db.record_failure(login, failed, lock)?;
        tracing::warn!(login, failed, locked = lock > 0, "desk login failed");
        return Ok(if lock > 0 {
            LoginOutcome::Locked
        } else {
            LoginOutcome::BadCredentials
        });
    }
    Ok(LoginOutcome::Ok(db.open_session(login, now)?))
}

pub fn session_user(db: &impl Accounts, token: &str) -> Result<Option<SessionUser>> {
    db.session_user(token, unix_now())
}

pub fn logout(db: &impl Accounts, token: &str) -> Result<()> {
    db.close_session(token)
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

pub fn users(db: &impl Accounts) -> Result<Vec<UserRow>> {
    db.list_users(unix_now())
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
pub fn save_account(db: &impl Accounts, agents: &[String], a: &NewAccount) -> Result<()> {
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
        if let Some(o) = db.agent_owner(agent, &a.login)? {
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

pub fn unlock(db: &impl Accounts, login: &str) -> Result<()> {
    db.unlock(login)
}

/// The signed-in user's own new password; the current one must be given. Other
/// sessions of the account end (the caller opens a fresh one).
pub fn change_password(db: &impl Accounts, login: &str, current: &str, new: &str) -> Result<bool> {
    let Some((hash, ..)) = db.credentials(login)? else {
        return Ok(false);
    };
    if !verify_password(&hash, current) {
        return Ok(false);
    }
    let p = account_problems(login, new);
    if !p.is_empty() {
        return Err(HistoryError::Invalid(p));
    }
    db.store_password(login, &hash_password(new)?, false)
}

/// An administrator's reset of an account's password (the command line's `passwd`): no
/// current password asked, the same rules as a new account, lockout cleared, the
/// account's sessions ended. False when there is no such account.
pub fn set_password(db: &impl Accounts, login: &str, pw: &str) -> Result<bool> {
    let p = account_problems(login, pw);
    if !p.is_empty() {
        return Err(HistoryError::Invalid(p));
    }
    db.store_password(login, &hash_password(pw)?, true)
}

/// Disables (its sessions end at once) or enables an account. False when there is no
/// such account.
pub fn set_disabled(db: &impl Accounts, login: &str, disabled: bool) -> Result<bool> {
    db.store_disabled(login, disabled.then(unix_now))
}
