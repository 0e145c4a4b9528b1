//! Callbacks and pass-ons on PostgreSQL (feature `postgres`): listed, one with its
//! steps, moved on (done is final), counted for the daily report — the statements and
//! the rule of `super::handovers`.

use super::handovers::{
    state_change, summary_sql, Event, Handover, State, Summary, BY_ID, CURRENT_STATE, EVENTS,
    INSERT_EVENT, LIST_WHERE, SELECT, SET_STATE,
};
use super::pg::{sql_to_postgres as pg, PgStore};
use crate::error::Result;
use postgres::Row;

fn row(r: &Row) -> Result<Handover> {
    let state: String = r.try_get(4)?;
    Ok(Handover {
        id: r.try_get(0)?,
        contact_id: r.try_get(1)?,
        department: r.try_get(2)?,
        kind: r.try_get(3)?,
        state: State::parse(&state).unwrap_or(State::Open),
        due_at: r.try_get(5)?,
        created_at: r.try_get(6)?,
        created_by: r.try_get(7)?,
        updated_at: r.try_get(8)?,
        updated_by: r.try_get(9)?,
        summary: r.try_get(10)?,
    })
}

impl PgStore {
    /// Handovers of a department (all when empty), not done first, then by due time.
    pub fn handovers(&self, department: &str, state: Option<State>) -> Result<Vec<Handover>> {
        let st = state.map(|s| s.as_str()).unwrap_or("");
        let rows = self
            .lock()
            .query(&pg(&format!("{SELECT} {LIST_WHERE}")), &[&department, &st])?;
        rows.iter().map(row).collect()
    }

    pub fn handover(&self, id: i64) -> Result<Option<(Handover, Vec<Event>)>> {
        let mut c = self.lock();
        let Some(h) = c.query_opt(&pg(&format!("{SELECT} {BY_ID}")), &[&id])? else {
            return Ok(None);
        };
        let events = c
            .query(&pg(EVENTS), &[&id])?
            .iter()
            .map(|r| {
                let s: String = r.try_get(2)?;
                Ok(Event {
                    at: r.try_get(0)?,
                    by: r.try_get(1)?,
                    state: State::parse(&s).unwrap_or(State::Open),
                    note: r.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some((row(&h)?, events)))
    }

    /// As `Db::set_handover_state`: done is final; the row locked while it changes.
    pub fn set_handover_state(
        &self,
        id: i64,
        state: State,
        note: &str,
        by: &str,
        now: i64,
    ) -> Result<()> {
        let mut c = self.lock();
        let mut tx = c.transaction()?;
        let cur: Option<String> = tx
            .query_opt(&format!("{} FOR UPDATE", pg(CURRENT_STATE)), &[&id])?
            .map(|r| r.try_get(0))
            .transpose()?;
        let Some(note) = state_change(cur, state, note)? else {
            return Ok(());
        };
        tx.execute(&pg(SET_STATE), &[&id, &state.as_str(), &now, &by])?;
        tx.execute(&pg(INSERT_EVENT), &[&id, &now, &by, &state.as_str(), &note])?;
        tx.commit()?;
        Ok(())
    }

    /// As `Db::handover_summary`.
    pub fn handover_summary(&self, from: i64, to: i64) -> Result<Summary> {
        let mut c = self.lock();
        let [created, created_callbacks, done, open, overdue] = summary_sql();
        let mut two =
            |sql: &str| -> Result<i64> { Ok(c.query_one(&pg(sql), &[&from, &to])?.try_get(0)?) };
        let (created, created_callbacks, done) =
            (two(&created)?, two(&created_callbacks)?, two(&done)?);
        let mut one = |sql: &str| -> Result<i64> { Ok(c.query_one(&pg(sql), &[&to])?.try_get(0)?) };
        Ok(Summary {
            created,
            created_callbacks,
            done,
            open: one(&open)?,
            overdue: one(&overdue)?,
        })
    }
}
