//! Contact records and their audit trail: every change is written in the same
//! transaction as a row naming who, when, and the record before and after (第2-9: no
//! tampering goes unseen).

use super::query::{search_text, Query};
use super::Db;
use crate::error::{HistoryError, Result};
use crate::model::{Channel, Contact, ContactInput, Outcome};
use faq::clock::unix_now;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

pub(crate) const COLS: &str =
    "id, channel, line, started_at, ended_at, operator, caller, caller_name, \
    category, summary, faq_ids, outcome, department, call_id, created_at, created_by, \
    updated_at, updated_by, version, masked_at";

// The statements both stores run (SQLite as written; PostgreSQL through
// `pg::sql_to_postgres`, which writes ?N as $N and instr as strpos).
pub(crate) const INSERT_CONTACT: &str =
    "INSERT INTO contacts (channel, line, started_at, ended_at, operator, caller,
       caller_name, category, summary, faq_ids, outcome, department, call_id,
       search_text, created_at, created_by, updated_at, updated_by, version)
     VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?15,?16,1)";
/// The same values as [`INSERT_CONTACT`] ([`contact_values`]), then the id as ?17.
pub(crate) const UPDATE_CONTACT: &str =
    "UPDATE contacts SET channel=?1, line=?2, started_at=?3, ended_at=?4, operator=?5,
       caller=?6, caller_name=?7, category=?8, summary=?9, faq_ids=?10, outcome=?11,
       department=?12, call_id=?13, search_text=?14, updated_at=?15, updated_by=?16,
       version=version+1
     WHERE id=?17";
pub(crate) const INSERT_AUDIT: &str =
    "INSERT INTO audit (contact_id, at, by_user, action, before_json, after_json) VALUES (?1,?2,?3,?4,?5,?6)";
pub(crate) const SELECT_AUDIT: &str =
    "SELECT id, contact_id, at, by_user, action, before_json, after_json FROM audit
     WHERE contact_id=?1 ORDER BY id DESC";
pub(crate) const MASK_CONTACT: &str =
    "UPDATE contacts SET caller=?2, caller_name=?3, search_text=?4, masked_at=?5,
       updated_at=?5, updated_by=?6, version=version+1 WHERE id=?1";
/// Earlier audit rows carry the personal data too: emptied once a record is masked.
pub(crate) const MASK_AUDIT: &str =
    "UPDATE audit SET before_json = '', after_json = '' WHERE contact_id IN
       (SELECT id FROM contacts WHERE masked_at IS NOT NULL) AND action <> '個人情報マスク'";

/// The record with its personal fields masked (the name only when there was one).
pub(crate) fn masked(i: &ContactInput) -> ContactInput {
    let mut m = i.clone();
    m.caller = MASK.into();
    m.caller_name = if i.caller_name.is_empty() {
        String::new()
    } else {
        MASK.into()
    };
    m
}

/// What a masked personal field reads afterwards.
pub const MASK: &str = "***";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub contact_id: i64,
    pub at: i64,
    pub by: String,
    pub action: String,
    /// The record before the change ("" for a creation) and after, as JSON.
    pub before: String,
    pub after: String,
}

fn row_contact(r: &Row) -> rusqlite::Result<Contact> {
    let channel: String = r.get(1)?;
    let outcome: String = r.get(11)?;
    let faq_ids: String = r.get(10)?;
    let bad = |i: usize, s: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown value {s:?}").into(),
        )
    };
    Ok(Contact {
        id: r.get(0)?,
        input: ContactInput {
            channel: Channel::parse(&channel).ok_or_else(|| bad(1, &channel))?,
            line: r.get(2)?,
            started_at: r.get(3)?,
            ended_at: r.get(4)?,
            operator: r.get(5)?,
            caller: r.get(6)?,
            caller_name: r.get(7)?,
            category: r.get(8)?,
            summary: r.get(9)?,
            faq_ids: faq_ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            outcome: Outcome::parse(&outcome).ok_or_else(|| bad(11, &outcome))?,
            department: r.get(12)?,
            call_id: r.get(13)?,
        },
        created_at: r.get(14)?,
        created_by: r.get(15)?,
        updated_at: r.get(16)?,
        updated_by: r.get(17)?,
        version: r.get(18)?,
        masked_at: r.get(19)?,
    })
}

pub(crate) fn text_of(i: &ContactInput) -> String {
    search_text(&[
        &i.summary,
        &i.category,
        &i.caller_name,
        &i.caller,
        &i.department,
        &i.operator,
        &i.line,
        &i.faq_ids.join(" "),
        i.channel.label(),
        i.outcome.label(),
    ])
}

/// The values of [`INSERT_CONTACT`] and [`UPDATE_CONTACT`], ?1–?16, for both stores.
pub(crate) fn contact_values(i: &ContactInput, now: i64, by: &str) -> Vec<Value> {
    let text = |s: &str| Value::Text(s.to_string());
    vec![
        text(i.channel.as_str()),
        text(&i.line),
        Value::Integer(i.started_at),
        Value::Integer(i.ended_at),
        text(&i.operator),
        text(&i.caller),
        text(&i.caller_name),
        text(&i.category),
        text(&i.summary),
        text(&i.faq_ids.join(",")),
        text(i.outcome.as_str()),
        text(&i.department),
        text(&i.call_id),
        text(&text_of(i)),
        Value::Integer(now),
        text(by),
    ]
}

fn get_in(c: &Connection, id: i64) -> rusqlite::Result<Option<Contact>> {
    c.query_row(
        &format!("SELECT {COLS} FROM contacts WHERE id=?1"),
        [id],
        row_contact,
    )
    .optional()
}

fn audit_in(
    c: &Connection,
    id: i64,
    by: &str,
    action: &str,
    before: Option<&Contact>,
    after: &Contact,
) -> rusqlite::Result<()> {
    let json = |x: &Contact| serde_json::to_string(x).unwrap_or_default();
    c.execute(
        INSERT_AUDIT,
        params![
            id,
            unix_now(),
            by,
            action,
            before.map(json).unwrap_or_default(),
            json(after)
        ],
    )?;
    Ok(())
}

impl Db {
    /// Stores a new record (already validated) and audits its creation.
    pub fn create_contact(&self, i: &ContactInput, by: &str) -> Result<Contact> {
        let now = unix_now();
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(INSERT_CONTACT, params_from_iter(contact_values(i, now, by)))?;
            let id = tx.last_insert_rowid();
            let stored = get_in(&tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            audit_in(&tx, id, by, "作成", None, &stored)?;
            super::handovers::open_for_in(&tx, &stored, by, now)?;
            tx.commit()?;
            Ok(stored)
        })
    }

    /// Changes a record if it is still at `version`; Conflict otherwise (someone else
    /// saved in between). Nothing changed: the record is returned and nothing audited.
    pub fn update_contact(
        &self,
        id: i64,
        version: i64,
        i: &ContactInput,
        by: &str,
    ) -> Result<Contact> {
        let now = unix_now();
        let mut c = self.lock();
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let old = get_in(&tx, id)?.ok_or(HistoryError::NotFound)?;
        if old.version != version {
            return Err(HistoryError::Conflict);
        }
        if old.masked_at.is_some() {
            return Err(HistoryError::Invalid(vec![
                "保存期間を過ぎて個人情報を消去した記録は変更できません".into(),
            ]));
        }
        if &old.input == i {
            return Ok(old);
        }
        let mut values = contact_values(i, now, by);
        values.push(Value::Integer(id));
        tx.execute(UPDATE_CONTACT, params_from_iter(values))?;
        let new = get_in(&tx, id)?.ok_or(HistoryError::NotFound)?;
        audit_in(&tx, id, by, "更新", Some(&old), &new)?;
        super::handovers::open_for_in(&tx, &new, by, now)?;
        tx.commit()?;
        Ok(new)
    }

    pub fn contact(&self, id: i64) -> Result<Option<Contact>> {
        self.with(|c| get_in(c, id))
    }

    /// Matching records, newest first, and how many match in all.
    pub fn search(&self, q: &Query) -> Result<(Vec<Contact>, u64)> {
        let sql = q.to_sql();
        self.with(|c| {
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM contacts WHERE {}", sql.clause),
                params_from_iter(sql.values.iter()),
                |r| r.get(0),
            )?;
            let mut st = c.prepare(&format!(
                "SELECT {COLS} FROM contacts WHERE {} ORDER BY started_at DESC, id DESC LIMIT {} OFFSET {}",
                sql.clause,
                q.effective_limit(),
                q.offset
            ))?;
            let rows = st.query_map(params_from_iter(sql.values.iter()), row_contact)?;
            Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total as u64))
        })
    }

    pub fn audit(&self, contact_id: i64) -> Result<Vec<AuditRow>> {
        self.with(|c| {
            let mut st = c.prepare(SELECT_AUDIT)?;
            let rows = st.query_map([contact_id], |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    contact_id: r.get(1)?,
                    at: r.get(2)?,
                    by: r.get(3)?,
                    action: r.get(4)?,
                    before: r.get(5)?,
                    after: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Masks the personal fields (caller, name) of records that started before
    /// `cutoff` and are not masked yet (第3-12 ⑵: not kept beyond need). The summary
    /// stays: it is what the statistics and the city's reports need. Audited as the
    /// system. Returns how many records were masked.
    pub fn mask_before(&self, cutoff: i64, by: &str) -> Result<usize> {
        let now = unix_now();
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let ids: Vec<i64> = {
                let mut st = tx.prepare(
                    "SELECT id FROM contacts WHERE started_at < ?1 AND masked_at IS NULL",
                )?;
                let rows = st.query_map([cutoff], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for id in &ids {
                let Some(old) = get_in(&tx, *id)? else {
                    continue;
                };
                let masked = masked(&old.input);
                tx.execute(
                    MASK_CONTACT,
                    params![
                        id,
                        masked.caller,
                        masked.caller_name,
                        text_of(&masked),
                        now,
                        by
                    ],
                )?;
                let new = get_in(&tx, *id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                // The audit keeps the change, not the personal data it removed.
                let mut before = old.clone();
                before.input.caller = MASK.into();
                before.input.caller_name = masked.caller_name.clone();
                audit_in(&tx, *id, by, "個人情報マスク", Some(&before), &new)?;
            }
            tx.execute(MASK_AUDIT, [])?;
            tx.commit()?;
            Ok(ids.len())
        })
    }
}
