//! The call records on disk: SQLite in WAL mode with `synchronous=FULL`, one transaction
//! per finished call, so a record `insert` returned for survives kill -9 and power loss
//! (DESIGN principle 4; spec 第2-7 ⑵ エ). Row ids are AUTOINCREMENT (never reused, so
//! unique across restarts) and the call's `uid` is UNIQUE: a record written twice (a
//! replay after a crash) stays one row.
//!
//! The whole record is kept as JSON beside the columns that queries filter on; the
//! fields joined later (after-call work, survey, resolution) are updated in both.

use crate::record::{mask_number, CallRecord, Resolution};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("call records database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("call records database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("call record {uid} is unreadable: {source}")]
    Corrupt {
        uid: String,
        source: serde_json::Error,
    },
    #[error("no call record {0}")]
    Unknown(String),
    #[error("a satisfaction answer is 1 to 5, not {0}")]
    Survey(u8),
    #[error("statistics cannot start: {0}")]
    Setup(String),
}

pub struct Store {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    arrived_ms INTEGER NOT NULL,
    ended_ms INTEGER NOT NULL,
    line TEXT NOT NULL,
    queue TEXT,
    agent TEXT,
    outcome TEXT NOT NULL,
    caller_masked INTEGER NOT NULL DEFAULT 0,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_arrived ON calls(arrived_ms);
CREATE INDEX IF NOT EXISTS calls_unmasked ON calls(caller_masked, arrived_ms);
";

impl Store {
    /// Open (or create) the database, 0600 in a 0700 folder: it holds callers' numbers.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir);
        }
        let conn = Connection::open(path).map_err(open_err)?;
        private_file(path);
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        // FULL: the WAL is synced at every commit, so a committed record survives power
        // loss too, not only a killed process.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        Ok(Store { conn })
    }

    /// Write a finished call. Returns the row id; writing the same `uid` again replaces
    /// the record and keeps the id.
    pub fn insert(&self, r: &CallRecord) -> Result<i64, StoreError> {
        let json = serde_json::to_string(r).expect("records serialize");
        let id = self.conn.query_row(
            "INSERT INTO calls (uid, arrived_ms, ended_ms, line, queue, agent, outcome, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(uid) DO UPDATE SET arrived_ms=excluded.arrived_ms,
               ended_ms=excluded.ended_ms, line=excluded.line, queue=excluded.queue,
               agent=excluded.agent, outcome=excluded.outcome, record=excluded.record
             RETURNING id",
            params![
                r.uid,
                sql_ms(r.arrived_ms),
                sql_ms(r.ended_ms),
                r.line,
                r.queue,
                r.agent,
                r.outcome().key(),
                json
            ],
            |row| row.get(0),
        )?;
        Ok(id)
    }

    /// Several records in one transaction, so one fsync covers them all (group commit:
    /// at 200 calls/s one fsync per record was 8 % of the switch's CPU). A record that
    /// fails gets its error in its place; the others are still written. None is
    /// durable before this returns, as with `insert`.
    pub fn insert_all(
        &self,
        records: &[&CallRecord],
    ) -> Result<Vec<Result<i64, StoreError>>, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let out = records.iter().map(|r| self.insert(r)).collect();
        tx.commit()?;
        Ok(out)
    }

    pub fn get(&self, uid: &str) -> Result<Option<CallRecord>, StoreError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT record FROM calls WHERE uid = ?1", [uid], |r| {
                r.get(0)
            })
            .optional()?;
        json.map(|j| parse(uid, &j)).transpose()
    }

    /// Records that arrived in `[from_ms, to_ms)`, oldest first.
    pub fn range(&self, from_ms: u64, to_ms: u64) -> Result<Vec<CallRecord>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT uid, record FROM calls WHERE arrived_ms >= ?1 AND arrived_ms < ?2
             ORDER BY arrived_ms, id",
        )?;
        let rows = st.query_map(params![sql_ms(from_ms), sql_ms(to_ms)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.map(|row| {
            let (uid, json) = row?;
            parse(&uid, &json)
        })
        .collect()
    }

    pub fn count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM calls", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Change one record's JSON in a transaction.
    fn update(&self, uid: &str, f: impl FnOnce(&mut CallRecord)) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut r = self
            .get(uid)?
            .ok_or_else(|| StoreError::Unknown(uid.into()))?;
        f(&mut r);
        tx.execute(
            "UPDATE calls SET record = ?2 WHERE uid = ?1",
            params![uid, serde_json::to_string(&r).expect("records serialize")],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The operator's after-call work for this call ended (the ACD's wrap-up).
    pub fn set_wrapup_end(&self, uid: &str, at_ms: u64) -> Result<(), StoreError> {
        self.update(uid, |r| r.wrapup_end_ms = Some(at_ms))
    }

    /// The citizen's satisfaction answer, 1–5 (issue 15 item 7).
    pub fn set_survey(&self, uid: &str, score: u8) -> Result<(), StoreError> {
        if !(1..=5).contains(&score) {
            return Err(StoreError::Survey(score));
        }
        self.update(uid, |r| r.survey = Some(score))
    }

    /// The contact history's verdict for this call.
    pub fn set_resolution(&self, uid: &str, res: Resolution) -> Result<(), StoreError> {
        self.update(uid, |r| r.resolution = Some(res))
    }

    /// Mask the callers' numbers of calls that arrived before `cutoff_ms` (the recordings'
    /// retention: what is not kept as audio is not kept as a number either). Returns how
    /// many records were masked.
    pub fn mask_callers_before(&self, cutoff_ms: u64) -> Result<usize, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let due: Vec<(String, String)> = {
            let mut st = tx.prepare(
                "SELECT uid, record FROM calls WHERE caller_masked = 0 AND arrived_ms < ?1",
            )?;
            let rows = st.query_map([sql_ms(cutoff_ms)], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (uid, json) in &due {
            let mut r = parse(uid, json)?;
            r.caller = mask_number(&r.caller);
            if let Some(n) = r.callback_number.as_mut() {
                *n = mask_number(n);
            }
            tx.execute(
                "UPDATE calls SET record = ?2, caller_masked = 1 WHERE uid = ?1",
                params![uid, serde_json::to_string(&r).expect("records serialize")],
            )?;
        }
        tx.commit()?;
        Ok(due.len())
    }
}

/// SQLite integers are signed: clamp so that `u64::MAX` ("no upper bound") stays the largest.
fn sql_ms(ms: u64) -> i64 {
    ms.min(i64::MAX as u64) as i64
}

fn parse(uid: &str, json: &str) -> Result<CallRecord, StoreError> {
    serde_json::from_str(json).map_err(|source| StoreError::Corrupt {
        uid: uid.into(),
        source,
    })
}

#[cfg(unix)]
fn private_dir(dir: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    // Only a folder we create is made private; an existing data folder is the operator's.
    if !dir.exists() {
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
    }
}

#[cfg(unix)]
fn private_file(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) {
    let _ = std::fs::create_dir_all(dir);
}

#[cfg(not(unix))]
fn private_file(_: &Path) {}
