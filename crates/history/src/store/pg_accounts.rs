//! Accounts and sessions on PostgreSQL (feature `postgres`): `auth::Accounts` with the
//! statements of `auth` and `websupport::sessions` (`?N` as `$N`); the rules stay in
//! `auth`, once for both stores.

use super::pg::{sql_to_postgres as pg, PgStore};
use crate::auth::{
    Accounts, Role, SessionUser, StoredCredentials, UserRow, AGENT_OWNER, COUNT_USERS, CREDENTIALS,
    DISABLE, FAILED, LIST_USERS, RESET_PASSWORD, SESSION_SECS, SESSION_USER_COLS, SET_PASSWORD,
    UNLOCK, UPSERT_USER,
};
use crate::error::Result;
use postgres::GenericClient;
use websupport::password::{random_hex, sha256_hex};
use websupport::sessions;

fn close_all(c: &mut impl GenericClient, login: &str) -> Result<()> {
    c.execute(&pg(sessions::CLOSE_ALL), &[&login])?;
    Ok(())
}

impl Accounts for PgStore {
    fn user_count(&self) -> Result<i64> {
        Ok(self.lock().query_one(COUNT_USERS, &[])?.try_get(0)?)
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
        let mut c = self.lock();
        let mut tx = c.transaction()?;
        tx.execute(
            &pg(UPSERT_USER),
            &[&login, &name, &role.as_str(), &agent_id, &hash, &now],
        )?;
        close_all(&mut tx, login)?;
        tx.commit()?;
        Ok(())
    }

    fn credentials(&self, login: &str) -> Result<Option<StoredCredentials>> {
        let row = self.lock().query_opt(&pg(CREDENTIALS), &[&login])?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .transpose()
    }

    fn record_failure(&self, login: &str, failed: i64, locked_until: i64) -> Result<()> {
        self.lock()
            .execute(&pg(FAILED), &[&login, &failed, &locked_until])?;
        Ok(())
    }

    fn open_session(&self, login: &str, now: i64) -> Result<String> {
        // As websupport::sessions::open: only the token's hash is stored.
        let token = random_hex(32);
        let csrf = random_hex(32);
        let mut c = self.lock();
        let mut tx = c.transaction()?;
        tx.execute(&pg(UNLOCK), &[&login])?;
        tx.execute(&pg(sessions::EXPIRE), &[&now])?;
        tx.execute(
            &pg(sessions::INSERT),
            &[
                &sha256_hex(&token),
                &login,
                &csrf,
                &now,
                &(now + SESSION_SECS),
            ],
        )?;
        tx.commit()?;
        Ok(token)
    }

    fn session_user(&self, token: &str, now: i64) -> Result<Option<SessionUser>> {
        let row = self.lock().query_opt(
            &pg(&sessions::lookup_sql(SESSION_USER_COLS)),
            &[&sha256_hex(token), &now],
        )?;
        row.map(|r| {
            let role: String = r.try_get(2)?;
            Ok(SessionUser {
                login: r.try_get(0)?,
                name: r.try_get(1)?,
                role: Role::parse(&role).unwrap_or(Role::Operator),
                agent_id: r.try_get(3)?,
                csrf: r.try_get(4)?,
            })
        })
        .transpose()
    }

    fn close_session(&self, token: &str) -> Result<()> {
        self.lock()
            .execute(&pg(sessions::CLOSE), &[&sha256_hex(token)])?;
        Ok(())
    }

    fn list_users(&self, now: i64) -> Result<Vec<UserRow>> {
        let rows = self.lock().query(LIST_USERS, &[])?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get(2)?;
                Ok(UserRow {
                    login: r.try_get(0)?,
                    name: r.try_get(1)?,
                    role: Role::parse(&role).unwrap_or(Role::Operator),
                    agent_id: r.try_get(3)?,
                    locked: r.try_get::<_, i64>(4)? > now,
                    disabled: r.try_get::<_, Option<i64>>(5)?.is_some(),
                })
            })
            .collect()
    }

    fn agent_owner(&self, agent_id: &str, login: &str) -> Result<Option<String>> {
        let row = self
            .lock()
            .query_opt(&pg(AGENT_OWNER), &[&agent_id, &login])?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn unlock(&self, login: &str) -> Result<()> {
        self.lock().execute(&pg(UNLOCK), &[&login])?;
        Ok(())
    }

    fn store_password(&self, login: &str, hash: &str, clear_lock: bool) -> Result<bool> {
        let sql = if clear_lock {
            RESET_PASSWORD
        } else {
            SET_PASSWORD
        };
        let mut c = self.lock();
        let mut tx = c.transaction()?;
        let n = tx.execute(&pg(sql), &[&login, &hash])?;
        close_all(&mut tx, login)?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn store_disabled(&self, login: &str, at: Option<i64>) -> Result<bool> {
        let mut c = self.lock();
        let mut tx = c.transaction()?;
        let n = tx.execute(&pg(DISABLE), &[&login, &at])?;
        close_all(&mut tx, login)?;
        tx.commit()?;
        Ok(n > 0)
    }
}
