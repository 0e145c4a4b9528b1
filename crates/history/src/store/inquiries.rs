//! Citizens' web inquiries (spec 第2-8 ⑵): stored with their acknowledgement mail in
//! one transaction, so an inquiry never exists without its queued acknowledgement; and
//! mail read from the center's mailbox (`intake.rs`), stored the same way without an
//! acknowledgement (an automatic answer to mail invites mail loops).

use super::outbox::enqueue_in;
use super::Db;
use crate::error::Result;
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InquiryInput {
    pub name: String,
    pub email: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Inquiry {
    pub id: i64,
    pub received_at: i64,
    #[serde(flatten)]
    pub input: InquiryInput,
    /// `new`, `answered`.
    pub state: String,
    /// `web` (the form) or `email` (read from the mailbox).
    pub channel: String,
    /// Whether the acknowledgement has reached the relay.
    pub ack_sent: bool,
}

/// The receipt number a citizen quotes: W-000123.
pub fn receipt(id: i64) -> String {
    format!("W-{id:06}")
}

/// The acknowledgement text. It repeats nothing the sender typed (not even the
/// subject): the form cannot be used to send someone else a message of one's choosing.
pub fn ack_mail(id: i64, name: &str) -> (String, String) {
    let subject = format!(
        "【いわき市総合コールセンター】お問い合わせを受け付けました（{}）",
        receipt(id)
    );
    let body = format!(
        "{name} 様\n\n\
         いわき市総合コールセンターです。\n\
         お問い合わせを受け付けました。受付番号は {r} です。\n\n\
         内容を確認のうえ、原則として受付の当日または翌開庁日に、担当よりお返事します。\n\
         お急ぎの場合は、受付番号をお伝えのうえ、お電話（0246-22-1111）でお問い合わせください。\n\n\
         このメールは送信専用のアドレスから自動でお送りしています。\n\
         お心当たりのない場合は、このメールを破棄してください。\n",
        r = receipt(id)
    );
    (subject, body)
}

// The statements both stores run (PostgreSQL through `pg::sql_to_postgres`).
pub(crate) const INSERT_WEB: &str = "INSERT INTO inquiries (received_at, name, email, subject, body, ip, state) VALUES (?1,?2,?3,?4,?5,?6,'new')";
/// A Message-ID already stored (the partial unique index) inserts nothing.
pub(crate) const INSERT_MAIL: &str = "INSERT INTO inquiries (received_at, name, email, subject, body, ip, state, channel, message_id)
     VALUES (?1,?2,?3,?4,?5,'',  'new', 'email', ?6) ON CONFLICT DO NOTHING";
/// Followed by a WHERE clause ([`LATEST`], [`BY_ID`]).
pub(crate) const SELECT: &str = "SELECT i.id, i.received_at, i.name, i.email, i.subject, i.body, i.state,
       EXISTS (SELECT 1 FROM outbox o WHERE o.kind='ack' AND o.ref_id=i.id AND o.sent_at IS NOT NULL),
       i.channel
     FROM inquiries i WHERE";
pub(crate) const LATEST: &str = "1=1 ORDER BY i.id DESC LIMIT ?1";
pub(crate) const BY_ID: &str = "i.id = ?1";
pub(crate) const MASK: &str =
    "UPDATE inquiries SET name='***', email='***', body='***', ip='***', masked_at=?2
     WHERE received_at < ?1 AND masked_at IS NULL";
pub(crate) const FROM_IP: &str = "SELECT COUNT(*) FROM inquiries WHERE ip=?1 AND received_at >= ?2";
pub(crate) const ANSWERED: &str = "UPDATE inquiries SET state='answered' WHERE id=?1";

impl Db {
    /// Stores an inquiry and queues its acknowledgement; returns the inquiry id.
    pub fn create_inquiry(&self, i: &InquiryInput, ip: &str, now: i64) -> Result<i64> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                INSERT_WEB,
                params![now, i.name, i.email, i.subject, i.body, ip],
            )?;
            let id = tx.last_insert_rowid();
            let (subject, body) = ack_mail(id, &i.name);
            enqueue_in(&tx, now, "ack", id, &i.email, &subject, &body)?;
            tx.commit()?;
            Ok(id)
        })
    }

    /// Stores a mail read from the mailbox; None when that Message-ID is already stored.
    pub fn create_mail_inquiry(
        &self,
        i: &InquiryInput,
        message_id: &str,
        received_at: i64,
    ) -> Result<Option<i64>> {
        self.with(|c| {
            let n = c.execute(
                INSERT_MAIL,
                params![received_at, i.name, i.email, i.subject, i.body, message_id],
            )?;
            Ok((n == 1).then(|| c.last_insert_rowid()))
        })
    }

    /// The latest inquiries, newest first.
    pub fn inquiries(&self, limit: u32) -> Result<Vec<Inquiry>> {
        self.inquiries_where(LATEST, i64::from(limit))
    }

    pub fn inquiry(&self, id: i64) -> Result<Option<Inquiry>> {
        Ok(self.inquiries_where(BY_ID, id)?.pop())
    }

    fn inquiries_where(&self, clause: &str, arg: i64) -> Result<Vec<Inquiry>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("{SELECT} {clause}"))?;
            let rows = st.query_map([arg], |r| {
                Ok(Inquiry {
                    id: r.get(0)?,
                    received_at: r.get(1)?,
                    input: InquiryInput {
                        name: r.get(2)?,
                        email: r.get(3)?,
                        subject: r.get(4)?,
                        body: r.get(5)?,
                    },
                    state: r.get(6)?,
                    ack_sent: r.get(7)?,
                    channel: r.get(8)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Masks name, address, text and client address of inquiries received before
    /// `cutoff` (the record made from it keeps the summary).
    pub fn mask_inquiries_before(&self, cutoff: i64, now: i64) -> Result<usize> {
        self.with(|c| c.execute(MASK, params![cutoff, now]))
    }

    /// How many inquiries an address sent since `since` (a second rate limit that
    /// survives restarts).
    pub fn inquiries_from(&self, ip: &str, since: i64) -> Result<i64> {
        self.with(|c| {
            c.query_row(FROM_IP, params![ip, since], |r| r.get(0))
                .optional()
                .map(|n| n.unwrap_or(0))
        })
    }
}

impl Db {
    /// An operator's answer by mail: queued in the outbox and the inquiry marked
    /// answered, in one transaction. Returns the outbox id.
    pub fn reply_inquiry(&self, id: i64, text: &str, now: i64) -> Result<i64> {
        let inq = self
            .inquiry(id)?
            .ok_or(crate::error::HistoryError::NotFound)?;
        let (subject, body) = reply_mail(&inq, text);
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let out = enqueue_in(&tx, now, "reply", id, &inq.input.email, &subject, &body)?;
            tx.execute(ANSWERED, [id])?;
            tx.commit()?;
            Ok(out)
        })
    }
}

/// An operator's answer as mailed: subject and body.
pub(crate) fn reply_mail(inq: &Inquiry, text: &str) -> (String, String) {
    let id = inq.id;
    // A mail is answered as mail is (Re: its subject); the form's sender gets the
    // center's subject, which repeats nothing they typed.
    let subject = if inq.channel == "email" {
        format!(
            "Re: {}（{}）",
            inq.input.subject.trim_start_matches("Re: "),
            receipt(id)
        )
    } else {
        format!(
            "【いわき市総合コールセンター】お問い合わせへの回答（{}）",
            receipt(id)
        )
    };
    let body = format!(
            "{} 様\n\nいわき市総合コールセンターです。お問い合わせ（受付番号 {}）にお答えします。\n\n{}\n\n\
             ご不明な点は、受付番号をお伝えのうえ、お電話（0246-22-1111）でお問い合わせください。\n",
            inq.input.name,
            receipt(id),
            text.trim()
        );
    (subject, body)
}
