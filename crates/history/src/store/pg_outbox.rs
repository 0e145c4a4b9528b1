//! The mail outbox on PostgreSQL (feature `postgres`): the statements of
//! `super::outbox`, the same retry rule (`outbox::backoff`). A step towards the whole
//! service on PostgreSQL; the running service still queues in its SQLite file.

use super::outbox::{
    backoff, last_error, OutMail, ATTEMPTS, COLS, DUE, FAILED, INSERT, LIST, NEXT_AT, SENT,
};
use super::pg::{sql_to_postgres, PgStore};
use crate::error::Result;
use postgres::{GenericClient, Row};

fn row(r: &Row) -> Result<OutMail> {
    Ok(OutMail {
        id: r.try_get(0)?,
        created_at: r.try_get(1)?,
        kind: r.try_get(2)?,
        ref_id: r.try_get(3)?,
        to_addr: r.try_get(4)?,
        subject: r.try_get(5)?,
        body: r.try_get(6)?,
        attempts: r.try_get(7)?,
        next_at: r.try_get(8)?,
        sent_at: r.try_get(9)?,
        last_error: r.try_get(10)?,
    })
}

/// Queues a message inside the caller's transaction (with what it acknowledges).
pub(crate) fn enqueue_in(
    c: &mut impl GenericClient,
    now: i64,
    kind: &str,
    ref_id: i64,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<i64> {
    Ok(c.query_one(
        &format!("{} RETURNING id", sql_to_postgres(INSERT)),
        &[&now, &kind, &ref_id, &to, &subject, &body],
    )?
    .try_get(0)?)
}

impl PgStore {
    pub fn enqueue_mail(
        &self,
        now: i64,
        kind: &str,
        ref_id: i64,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<i64> {
        enqueue_in(&mut *self.lock(), now, kind, ref_id, to, subject, body)
    }

    /// Unsent messages due at `now`, oldest first.
    pub fn due_mail(&self, now: i64, limit: u32) -> Result<Vec<OutMail>> {
        let rows = self.lock().query(
            &sql_to_postgres(&format!("SELECT {COLS} {DUE}")),
            &[&now, &i64::from(limit)],
        )?;
        rows.iter().map(row).collect()
    }

    /// When the next unsent message falls due, if any.
    pub fn next_mail_at(&self) -> Result<Option<i64>> {
        Ok(self.lock().query_one(NEXT_AT, &[])?.try_get(0)?)
    }

    pub fn mail_sent(&self, id: i64, now: i64) -> Result<()> {
        self.lock().execute(&sql_to_postgres(SENT), &[&id, &now])?;
        Ok(())
    }

    pub fn mail_failed(&self, id: i64, now: i64, base_secs: i64, error: &str) -> Result<()> {
        let mut c = self.lock();
        let mut tx = c.transaction()?;
        // FOR UPDATE: two senders counting the same message's attempts take turns.
        let attempts: i64 = tx
            .query_one(&format!("{} FOR UPDATE", sql_to_postgres(ATTEMPTS)), &[&id])?
            .try_get(0)?;
        tx.execute(
            &sql_to_postgres(FAILED),
            &[
                &id,
                &(now + backoff(base_secs, attempts)),
                &last_error(error),
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The outbox for the desk: unsent first, then the latest sent.
    pub fn mail_list(&self, limit: u32) -> Result<Vec<OutMail>> {
        let rows = self.lock().query(
            &sql_to_postgres(&format!("SELECT {COLS} {LIST}")),
            &[&i64::from(limit)],
        )?;
        rows.iter().map(row).collect()
    }
}
