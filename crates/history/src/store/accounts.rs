//! Accounts and sessions in the SQLite file (`auth::Accounts`; the rules are in `auth`).

use super::Db;
use crate::auth::{
    Accounts, Role, SessionUser, StoredCredentials, UserRow, AGENT_OWNER, COUNT_USERS, CREDENTIALS,
    DISABLE, FAILED, LIST_USERS, RESET_PASSWORD, SESSION_SECS, SESSION_USER_COLS, SET_PASSWORD,
    UNLOCK, UPSERT_USER,
};
use crate::error::Result;
use rusqlite::{params, OptionalExtension};
use websupport::sessions;

impl Accounts for Db {
    fn user_count(&self) -> Result<i64> {
        self.with(|c| c.query_row(COUNT_USERS, [], |r| r.get(0)))
    }

    fn upsert_user(
        &self,
        login: &str,
        name: &str,
        role: Role,
        agent_id: &str,
        hash: &str,
        now: i64,
    ) -> Result<()> {
        self.with(|c| {
            c.execute(
                UPSERT_USER,
                params![login, name, role.as_str(), agent_id, hash, now],
            )?;
            sessions::close_all(c, login)
        })
    }

    fn credentials(&self, login: &str) -> Result<Option<StoredCredentials>> {
        self.with(|c| {
            c.query_row(CREDENTIALS, [login], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
        })
    }

    fn record_failure(&self, login: &str, failed: i64, locked_until: i64) -> Result<()> {
        self.with(|c| c.execute(FAILED, params![login, failed, locked_until]))?;
        Ok(())
    }

    fn open_session(&self, login: &str, now: i64) -> Result<String> {
        self.with(|c| {
            c.execute(UNLOCK, [login])?;
            sessions::open(c, login, now, SESSION_SECS)
        })
    }

    fn session_user(&self, token: &str, now: i64) -> Result<Option<SessionUser>> {
        self.with(|c| {
            sessions::lookup(c, token, now, SESSION_USER_COLS, |r| {
                let role: String = r.get(2)?;
                Ok(SessionUser {
                    login: r.get(0)?,
                    name: r.get(1)?,
                    role: Role::parse(&role).unwrap_or(Role::Operator),
                    agent_id: r.get(3)?,
                    csrf: r.get(4)?,
                })
            })
        })
    }

    fn close_session(&self, token: &str) -> Result<()> {
        self.with(|c| sessions::close(c, token))
    }

    fn list_users(&self, now: i64) -> Result<Vec<UserRow>> {
        self.with(|c| {
            let mut st = c.prepare(LIST_USERS)?;
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

    fn agent_owner(&self, agent_id: &str, login: &str) -> Result<Option<String>> {
        self.with(|c| {
            c.query_row(AGENT_OWNER, params![agent_id, login], |r| r.get(0))
                .optional()
        })
    }

    fn unlock(&self, login: &str) -> Result<()> {
        self.with(|c| c.execute(UNLOCK, [login]).map(|_| ()))
    }

    fn store_password(&self, login: &str, hash: &str, clear_lock: bool) -> Result<bool> {
        let sql = if clear_lock {
            RESET_PASSWORD
        } else {
            SET_PASSWORD
        };
        self.with(|c| {
            let n = c.execute(sql, params![login, hash])?;
            sessions::close_all(c, login)?;
            Ok(n > 0)
        })
    }

    fn store_disabled(&self, login: &str, at: Option<i64>) -> Result<bool> {
        self.with(|c| {
            let n = c.execute(DISABLE, params![login, at])?;
            sessions::close_all(c, login)?;
            Ok(n > 0)
        })
    }
}
