//! Citizens' inquiries and mail read from the mailbox on PostgreSQL (feature
//! `postgres`): the statements of `super::inquiries`, an inquiry stored with its queued
//! acknowledgement in one transaction, a Message-ID stored once.

use super::inquiries::{
    ack_mail, reply_mail, Inquiry, InquiryInput, ANSWERED, BY_ID, FROM_IP, INSERT_MAIL, INSERT_WEB,
    LATEST, MASK, SELECT,
};
use super::pg::{sql_to_postgres, PgStore};
use super::pg_outbox::enqueue_in;
use crate::error::{HistoryError, Result};

impl PgStore {
    /// Stores an inquiry and queues its acknowledgement; returns the inquiry id.
    pub fn create_inquiry(&self, i: &InquiryInput, ip: &str, now: i64) -> Result<i64> {
        let mut c = self.lock();
        let mut tx = c.transaction()?;
        let id: i64 = tx
            .query_one(
                &format!("{} RETURNING id", sql_to_postgres(INSERT_WEB)),
                &[&now, &i.name, &i.email, &i.subject, &i.body, &ip],
            )?
            .try_get(0)?;
        let (subject, body) = ack_mail(id, &i.name);
        enqueue_in(&mut tx, now, "ack", id, &i.email, &subject, &body)?;
        tx.commit()?;
        Ok(id)
    }

    /// Stores a mail read from the mailbox; None when that Message-ID is already stored.
    pub fn create_mail_inquiry(
        &self,
        i: &InquiryInput,
        message_id: &str,
        received_at: i64,
    ) -> Result<Option<i64>> {
        let row = self.lock().query_opt(
            &format!("{} RETURNING id", sql_to_postgres(INSERT_MAIL)),
            &[
                &received_at,
                &i.name,
                &i.email,
                &i.subject,
                &i.body,
                &message_id,
            ],
        )?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// The latest inquiries, newest first.
    pub fn inquiries(&self, limit: u32) -> Result<Vec<Inquiry>> {
        self.inquiries_where(LATEST, i64::from(limit))
    }

    pub fn inquiry(&self, id: i64) -> Result<Option<Inquiry>> {
        Ok(self.inquiries_where(BY_ID, id)?.pop())
    }

    fn inquiries_where(&self, clause: &str, arg: i64) -> Result<Vec<Inquiry>> {
        let rows = self
            .lock()
            .query(&sql_to_postgres(&format!("{SELECT} {clause}")), &[&arg])?;
        rows.iter()
            .map(|r| {
                Ok(Inquiry {
                    id: r.try_get(0)?,
                    received_at: r.try_get(1)?,
                    input: InquiryInput {
                        name: r.try_get(2)?,
                        email: r.try_get(3)?,
                        subject: r.try_get(4)?,
                        body: r.try_get(5)?,
                    },
                    state: r.try_get(6)?,
                    ack_sent: r.try_get(7)?,
                    channel: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// As `Db::mask_inquiries_before`.
    pub fn mask_inquiries_before(&self, cutoff: i64, now: i64) -> Result<usize> {
        Ok(self
            .lock()
            .execute(&sql_to_postgres(MASK), &[&cutoff, &now])? as usize)
    }

    /// How many inquiries an address sent since `since`.
    pub fn inquiries_from(&self, ip: &str, since: i64) -> Result<i64> {
        Ok(self
            .lock()
            .query_one(&sql_to_postgres(FROM_IP), &[&ip, &since])?
            .try_get(0)?)
    }

    /// An operator's answer by mail: queued and the inquiry marked answered, in one
    /// transaction. Returns the outbox id.
    pub fn reply_inquiry(&self, id: i64, text: &str, now: i64) -> Result<i64> {
        let inq = self.inquiry(id)?.ok_or(HistoryError::NotFound)?;
        let (subject, body) = reply_mail(&inq, text);
        let mut c = self.lock();
        let mut tx = c.transaction()?;
        let out = enqueue_in(&mut tx, now, "reply", id, &inq.input.email, &subject, &body)?;
        tx.execute(&sql_to_postgres(ANSWERED), &[&id])?;
        tx.commit()?;
        Ok(out)
    }
}
