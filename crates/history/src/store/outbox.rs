//! The mail outbox: a message is a row before anyone is told it will be sent, so a
//! relay that is down, or a restart, loses nothing (第2-9); the sender retries with a
//! growing delay and the desk shows what is still waiting and why.

use super::Db;
use crate::error::Result;
use rusqlite::{params, Connection};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutMail {
    pub id: i64,
    pub created_at: i64,
    /// `ack` (acknowledgement of a web inquiry), `reply` (an operator's answer).
    pub kind: String,
    pub ref_id: i64,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
    pub next_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: String,
}

pub(crate) const COLS: &str =
    "id, created_at, kind, ref_id, to_addr, subject, body, attempts, next_at, sent_at, last_error";

// The statements both stores run (PostgreSQL through `pg::sql_to_postgres`).
pub(crate) const INSERT: &str = "INSERT INTO outbox (created_at, kind, ref_id, to_addr, subject, body, next_at) VALUES (?1,?2,?3,?4,?5,?6,?1)";
/// After `SELECT COLS`: unsent messages due at ?1, oldest first, at most ?2.
pub(crate) const DUE: &str =
    "FROM outbox WHERE sent_at IS NULL AND next_at <= ?1 ORDER BY id LIMIT ?2";
pub(crate) const NEXT_AT: &str = "SELECT MIN(next_at) FROM outbox WHERE sent_at IS NULL";
pub(crate) const SENT: &str =
    "UPDATE outbox SET sent_at=?2, attempts=attempts+1, last_error='' WHERE id=?1";
pub(crate) const ATTEMPTS: &str = "SELECT attempts FROM outbox WHERE id=?1";
pub(crate) const FAILED: &str =
    "UPDATE outbox SET attempts=attempts+1, next_at=?2, last_error=?3 WHERE id=?1";
/// After `SELECT COLS`: unsent first, then the latest sent, at most ?1.
pub(crate) const LIST: &str = "FROM outbox ORDER BY sent_at IS NOT NULL, id DESC LIMIT ?1";

/// The relay's error as kept (its first 500 characters).
pub(crate) fn last_error(error: &str) -> String {
    error.chars().take(500).collect()
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<OutMail> {
    Ok(OutMail {
        id: r.get(0)?,
        created_at: r.get(1)?,
        kind: r.get(2)?,
        ref_id: r.get(3)?,
        to_addr: r.get(4)?,
        subject: r.get(5)?,
        body: r.get(6)?,
        attempts: r.get(7)?,
        next_at: r.get(8)?,
        sent_at: r.get(9)?,
        last_error: r.get(10)?,
    })
}

/// Queues a message inside the caller's transaction (with what it acknowledges).
pub fn enqueue_in(
    c: &Connection,
    now: i64,
    kind: &str,
    ref_id: i64,
    to: &str,
    subject: &str,
    body: &str,
) -> rusqlite::Result<i64> {
    c.execute(INSERT, params![now, kind, ref_id, to, subject, body])?;
    Ok(c.last_insert_rowid())
}

/// Delay before attempt `n + 1` after `n` failures: base, 2×base, 4×base … at most an hour.
pub fn backoff(base_secs: i64, attempts: i64) -> i64 {
    (base_secs.max(1) << attempts.clamp(0, 20)).min(3600)
}

impl Db {
    pub fn enqueue_mail(
        &self,
        now: i64,
        kind: &str,
        ref_id: i64,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<i64> {
        self.with(|c| enqueue_in(c, now, kind, ref_id, to, subject, body))
    }

    /// Unsent messages due at `now`, oldest first.
    pub fn due_mail(&self, now: i64, limit: u32) -> Result<Vec<OutMail>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("SELECT {COLS} {DUE}"))?;
            let rows = st.query_map(params![now, limit], row)?;
            rows.collect()
        })
    }

    /// When the next unsent message falls due, if any.
    pub fn next_mail_at(&self) -> Result<Option<i64>> {
        self.with(|c| c.query_row(NEXT_AT, [], |r| r.get(0)))
    }

    pub fn mail_sent(&self, id: i64, now: i64) -> Result<()> {
        self.with(|c| c.execute(SENT, params![id, now]).map(|_| ()))
    }

    pub fn mail_failed(&self, id: i64, now: i64, base_secs: i64, error: &str) -> Result<()> {
        self.with(|c| {
            let attempts: i64 = c.query_row(ATTEMPTS, [id], |r| r.get(0))?;
            c.execute(
                FAILED,
                params![id, now + backoff(base_secs, attempts), last_error(error)],
            )
            .map(|_| ())
        })
    }

    /// The outbox for the desk: unsent first, then the latest sent.
    pub fn mail_list(&self, limit: u32) -> Result<Vec<OutMail>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("SELECT {COLS} {LIST}"))?;
            let rows = st.query_map([limit], row)?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(super::backoff(30, 0), 30);
        assert_eq!(super::backoff(30, 3), 240);
        assert_eq!(super::backoff(30, 60), 3600);
        assert_eq!(super::backoff(0, 0), 1);
    }
}
