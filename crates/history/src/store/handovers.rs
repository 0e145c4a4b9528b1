//! Callbacks and opinions passed to a department (spec 第3-1 ⑶ イ), tracked until the
//! department reports them done: open → handed over → done, every step with who, when
//! and a note. A record whose outcome is a callback or a pass-on gets one, in the same
//! transaction. Overdue: not done by its due time (a callback within a working day).

use super::Db;
use crate::error::{HistoryError, Result};
use crate::model::{Contact, Outcome};
use rusqlite::{params, Connection, OptionalExtension};

/// Hours until a callback, and a passed-on opinion, is overdue.
pub const CALLBACK_DUE_HOURS: i64 = 24;
pub const PASSED_ON_DUE_HOURS: i64 = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Open,
    HandedOver,
    Done,
}

impl State {
    pub const ALL: [State; 3] = [State::Open, State::HandedOver, State::Done];
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::HandedOver => "handed_over",
            State::Done => "done",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            State::Open => "未対応",
            State::HandedOver => "担当課へ引継済み",
            State::Done => "完了",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Handover {
    pub id: i64,
    pub contact_id: i64,
    pub department: String,
    /// `callback` or `passed_on` (the outcome that made it).
    pub kind: String,
    pub state: State,
    pub due_at: i64,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
    /// The record's summary, for the list.
    pub summary: String,
}

impl Handover {
    pub fn overdue(&self, now: i64) -> bool {
        self.state != State::Done && now > self.due_at
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    pub at: i64,
    pub by: String,
    pub state: State,
    pub note: String,
}

// The statements both stores run (PostgreSQL through `pg::sql_to_postgres`).
pub(crate) const FIND_FOR_CONTACT: &str = "SELECT id FROM handovers WHERE contact_id=?1";
pub(crate) const INSERT_HANDOVER: &str =
    "INSERT INTO handovers (contact_id, department, kind, state, due_at, created_at, created_by, updated_at, updated_by)
     VALUES (?1,?2,?3,'open',?4,?5,?6,?5,?6)";
pub(crate) const INSERT_OPENED: &str =
    "INSERT INTO handover_events (handover_id, at, by_user, state, note) VALUES (?1,?2,?3,'open','')";

/// The due time of the handover a record needs; None when it needs none.
pub(crate) fn due_for(contact: &Contact) -> Option<i64> {
    let hours = match contact.input.outcome {
        Outcome::Callback => CALLBACK_DUE_HOURS,
        Outcome::PassedOn => PASSED_ON_DUE_HOURS,
        _ => return None,
    };
    Some(contact.input.started_at + hours * 3600)
}

/// Opens a handover for a record that needs one and has none (called inside the
/// record's transaction).
pub fn open_for_in(c: &Connection, contact: &Contact, by: &str, now: i64) -> rusqlite::Result<()> {
    let Some(due) = due_for(contact) else {
        return Ok(());
    };
    let exists: Option<i64> = c
        .query_row(FIND_FOR_CONTACT, [contact.id], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Ok(());
    }
    c.execute(
        INSERT_HANDOVER,
        params![
            contact.id,
            contact.input.department,
            contact.input.outcome.as_str(),
            due,
            now,
            by
        ],
    )?;
    let id = c.last_insert_rowid();
    c.execute(INSERT_OPENED, params![id, now, by])?;
    Ok(())
}

pub(crate) const SELECT: &str = "SELECT h.id, h.contact_id, h.department, h.kind, h.state, h.due_at, h.created_at,
    h.created_by, h.updated_at, h.updated_by, c.summary FROM handovers h JOIN contacts c ON c.id = h.contact_id";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Handover> {
    let state: String = r.get(4)?;
    Ok(Handover {
        id: r.get(0)?,
        contact_id: r.get(1)?,
        department: r.get(2)?,
        kind: r.get(3)?,
        state: State::parse(&state).unwrap_or(State::Open),
        due_at: r.get(5)?,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
        updated_at: r.get(8)?,
        updated_by: r.get(9)?,
        summary: r.get(10)?,
    })
}

/// ?1 the department ('' for all), ?2 the state ('' for any); not done first.
pub(crate) const LIST_WHERE: &str =
    "WHERE (?1 = '' OR h.department = ?1) AND (?2 = '' OR h.state = ?2)
     ORDER BY h.state = 'done', h.due_at, h.id LIMIT 1000";

pub(crate) const BY_ID: &str = "WHERE h.id=?1";
pub(crate) const EVENTS: &str =
    "SELECT at, by_user, state, note FROM handover_events WHERE handover_id=?1 ORDER BY id";
pub(crate) const CURRENT_STATE: &str = "SELECT state FROM handovers WHERE id=?1";
pub(crate) const SET_STATE: &str =
    "UPDATE handovers SET state=?2, updated_at=?3, updated_by=?4 WHERE id=?1";
pub(crate) const INSERT_EVENT: &str =
    "INSERT INTO handover_events (handover_id, at, by_user, state, note) VALUES (?1,?2,?3,?4,?5)";

/// The counts of [`Summary`], in its order: the first three take ?1 from, ?2 to; the
/// last two ?1 to.
pub(crate) fn summary_sql() -> [String; 5] {
    let not_done = "NOT EXISTS (SELECT 1 FROM handover_events e WHERE e.handover_id=h.id AND e.state='done' AND e.at < ?1)";
    [
        "SELECT COUNT(*) FROM handovers WHERE created_at >= ?1 AND created_at < ?2".into(),
        "SELECT COUNT(*) FROM handovers WHERE kind='callback' AND created_at >= ?1 AND created_at < ?2".into(),
        "SELECT COUNT(DISTINCT handover_id) FROM handover_events WHERE state='done' AND at >= ?1 AND at < ?2".into(),
        format!("SELECT COUNT(*) FROM handovers h WHERE h.created_at < ?1 AND {not_done}"),
        format!("SELECT COUNT(*) FROM handovers h WHERE h.created_at < ?1 AND h.due_at < ?1 AND {not_done}"),
    ]
}

/// Whether a handover now in `cur` may move to `state`: the note to record, None when
/// nothing changes (same state, no note); done is final.
pub(crate) fn state_change(
    cur: Option<String>,
    state: State,
    note: &str,
) -> Result<Option<String>> {
    let cur = cur.ok_or(HistoryError::NotFound)?;
    if cur == "done" {
        return Err(HistoryError::Invalid(vec![
            "完了した引継ぎは変更できません".into(),
        ]));
    }
    if cur == state.as_str() && note.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(note.trim().chars().take(1000).collect()))
}

/// Counts for the daily report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Made in the period.
    pub created: i64,
    pub created_callbacks: i64,
    /// Reported done in the period.
    pub done: i64,
    /// Not done at the end of the period, and of those past due.
    pub open: i64,
    pub overdue: i64,
}

impl Db {
    /// Handovers of a department (all departments when empty), not-done first then by
    /// due time; `state` filters.
    pub fn handovers(&self, department: &str, state: Option<State>) -> Result<Vec<Handover>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("{SELECT} {LIST_WHERE}"))?;
            let rows = st.query_map(
                params![department, state.map(|s| s.as_str()).unwrap_or("")],
                row,
            )?;
            rows.collect()
        })
    }

    pub fn handover(&self, id: i64) -> Result<Option<(Handover, Vec<Event>)>> {
        self.with(|c| {
            let Some(h) = c
                .query_row(&format!("{SELECT} {BY_ID}"), [id], row)
                .optional()?
            else {
                return Ok(None);
            };
            let mut st = c.prepare(EVENTS)?;
            let ev = st
                .query_map([id], |r| {
                    let s: String = r.get(2)?;
                    Ok(Event {
                        at: r.get(0)?,
                        by: r.get(1)?,
                        state: State::parse(&s).unwrap_or(State::Open),
                        note: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some((h, ev)))
        })
    }

    /// Moves a handover to `state` with a note. Done is final.
    pub fn set_handover_state(
        &self,
        id: i64,
        state: State,
        note: &str,
        by: &str,
        now: i64,
    ) -> Result<()> {
        let mut c = self.lock();
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let cur: Option<String> = tx.query_row(CURRENT_STATE, [id], |r| r.get(0)).optional()?;
        let Some(note) = state_change(cur, state, note)? else {
            return Ok(());
        };
        tx.execute(SET_STATE, params![id, state.as_str(), now, by])?;
        tx.execute(INSERT_EVENT, params![id, now, by, state.as_str(), note])?;
        tx.commit()?;
        Ok(())
    }

    /// Counts for the period [from, to): made, made as callbacks, reported done; open
    /// and overdue as of `to`.
    pub fn handover_summary(&self, from: i64, to: i64) -> Result<Summary> {
        self.with(|c| {
            let one =
                |sql: &str, p: &[&dyn rusqlite::ToSql]| c.query_row(sql, p, |r| r.get::<_, i64>(0));
            let [created, created_callbacks, done, open, overdue] = summary_sql();
            Ok(Summary {
                created: one(&created, &[&from, &to])?,
                created_callbacks: one(&created_callbacks, &[&from, &to])?,
                done: one(&done, &[&from, &to])?,
                open: one(&open, &[&to])?,
                overdue: one(&overdue, &[&to])?,
            })
        })
    }
}
