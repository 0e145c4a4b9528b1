//! The SQLite catalogue of recordings, and the audit log of everything done to them.
//!
//! WAL with `synchronous=FULL`: each commit waits for the WAL to reach the disk. With
//! NORMAL a power cut may roll back the last commits, and the rows that matter here are
//! exactly the ones written just before something irreversible (an approval before files
//! are removed, a tombstone, an audit line for a download). The per-call rows (started,
//! operator, finished: three per call, hundreds a second under load) go through a group
//! commit (`commit.rs`): still on the disk before the caller goes on, but many per fsync.

use crate::commit::{GroupCommit, Op};
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS recordings (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL UNIQUE,
    number TEXT NOT NULL,
    caller TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    duration_ms INTEGER,
    size_bytes INTEGER,
    sha256 TEXT,
    state TEXT NOT NULL CHECK (state IN ('recording','complete','interrupted','due','deleted')),
    path TEXT NOT NULL,
    deleted_at INTEGER,
    deleted_by TEXT,
    delete_reason TEXT
);
CREATE INDEX IF NOT EXISTS recordings_started ON recordings(started_at);
CREATE INDEX IF NOT EXISTS recordings_state ON recordings(state);
CREATE TABLE IF NOT EXISTS recording_operators (
    recording_id INTEGER NOT NULL REFERENCES recordings(id),
    operator TEXT NOT NULL,
    PRIMARY KEY (recording_id, operator)
);
CREATE TABLE IF NOT EXISTS deletion_requests (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending','approved')),
    approved_at INTEGER,
    approved_by TEXT,
    reference TEXT
);
CREATE TABLE IF NOT EXISTS deletion_request_items (
    request_id INTEGER NOT NULL REFERENCES deletion_requests(id),
    recording_id INTEGER NOT NULL REFERENCES recordings(id),
    PRIMARY KEY (request_id, recording_id)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    recording_id INTEGER,
    request_id INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_recording ON audit(recording_id);
";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Recording,
    Complete,
    Interrupted,
    Due,
    Deleted,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Recording => "recording",
            State::Complete => "complete",
            State::Interrupted => "interrupted",
            State::Due => "due",
            State::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "recording" => State::Recording,
            "complete" => State::Complete,
            "interrupted" => State::Interrupted,
            "due" => State::Due,
            "deleted" => State::Deleted,
            _ => return None,
        })
    }

    /// The word shown to supervisors.
    pub fn label_ja(self) -> &'static str {
        match self {
            State::Recording => "録音中",
            State::Complete => "完了",
            State::Interrupted => "中断",
            State::Due => "削除対象",
            State::Deleted => "削除済み",
        }
    }
}

/// One row of the catalogue. Times are Unix seconds; `path` is relative to the
/// recordings directory so the directory can move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingRow {
    pub id: i64,
    pub call_id: String,
    pub number: String,
    pub caller: String,
    pub operators: Vec<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub state: State,
    pub path: String,
    pub deleted_at: Option<i64>,
    pub deleted_by: Option<String>,
    pub delete_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub who: String,
    pub action: String,
    pub recording_id: Option<i64>,
    pub request_id: Option<i64>,
    pub detail: String,
}

/// Search criteria; every field is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// Calls started at or after this Unix second.
    pub from: Option<i64>,
    /// Calls started before this Unix second.
    pub to: Option<i64>,
    /// Part of the representative number dialled.
    pub number: Option<String>,
    /// An operator who took part, exactly.
    pub operator: Option<String>,
    /// Part of the caller's number.
    pub caller: Option<String>,
    pub state: Option<State>,
    /// Tombstones are left out unless asked for.
    pub include_deleted: bool,
    /// At most this many rows, newest first (0 means 500).
    pub limit: u32,
    /// Rows to skip first (paging: the page's first row is `offset + 1` of `count`).
    pub offset: u32,
}

pub struct Catalogue {
    conn: Arc<Mutex<Connection>>,
    /// Never called while holding `conn` (its thread takes that lock).
    group: GroupCommit,
}

const COLUMNS: &str =
    "id, call_id, number, caller, started_at, ended_at, duration_ms, size_bytes, \
     sha256, state, path, deleted_at, deleted_by, delete_reason";

/// `select` with the WHERE clause of `f` and its arguments (shared by search and count).
fn where_clause(f: &SearchFilter, select: &str) -> (String, Vec<rusqlite::types::Value>) {
    let mut sql = format!("{select} WHERE 1=1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut push = |clause: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(t) = f.from {
        push(" AND started_at >= ?", t.into());
    }
    if let Some(t) = f.to {
        push(" AND started_at < ?", t.into());
    }
    if let Some(n) = f.number.as_deref().filter(|s| !s.is_empty()) {
        push(" AND number LIKE ? ESCAPE '\\'", like_pattern(n).into());
    }
    if let Some(n) = f.caller.as_deref().filter(|s| !s.is_empty()) {
        push(" AND caller LIKE ? ESCAPE '\\'", like_pattern(n).into());
    }
    if let Some(o) = f.operator.as_deref().filter(|s| !s.is_empty()) {
        push(
            " AND EXISTS (SELECT 1 FROM recording_operators o WHERE o.recording_id = recordings.id AND o.operator = ?)",
            o.to_string().into(),
        );
    }
    if let Some(s) = f.state {
        push(" AND state = ?", s.as_str().to_string().into());
    } else if !f.include_deleted {
        sql.push_str(" AND state <> 'deleted'");
    }
    (sql, args)
}

fn like_pattern(s: &str) -> String {
    let esc = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{esc}%")
}

impl Catalogue {
    pub fn open(path: &Path) -> Result<Catalogue> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let conn = Arc::new(Mutex::new(conn));
        Ok(Catalogue {
            group: GroupCommit::start(conn.clone())?,
            conn,
        })
    }

    /// The connection, for the modules that run their own transactions. A panic while
    /// holding it cannot leave a half-done transaction (rusqlite rolls back on drop), so
    /// a poisoned lock is safe to take over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new recording's row, on the disk when this returns (group commit). Blocks the
    /// thread: for code off the runtime (start-up repair, tools).
    pub fn insert_recording(
        &self,
        call_id: &str,
        number: &str,
        caller: &str,
        started_at: i64,
        path: &str,
    ) -> Result<i64> {
        self.group
            .run(Op::insert(call_id, number, caller, started_at, path))
    }

    /// [`Catalogue::insert_recording`] for tasks: the same commit, awaited.
    pub async fn insert_recording_async(
        &self,
        call_id: &str,
        number: &str,
        caller: &str,
        started_at: i64,
        path: &str,
    ) -> Result<i64> {
        self.group
            .submit(Op::insert(call_id, number, caller, started_at, path))
            .await
    }

    /// Notes an operator who took part; done when the commit is on the disk.
    pub async fn add_operator(&self, id: i64, operator: &str) -> Result<()> {
        self.group
            .submit(Op::AddOperator {
                id,
                operator: operator.to_string(),
            })
            .await?;
        Ok(())
    }

    /// Records the end of a recording: `state` is complete or interrupted.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish(
        &self,
        id: i64,
        state: State,
        ended_at: i64,
        duration_ms: i64,
        size_bytes: i64,
        sha256: &str,
    ) -> Result<()> {
        self.group
            .submit(Op::Finish {
                id,
                state: state.as_str(),
                ended_at,
                duration_ms,
                size_bytes,
                sha256: sha256.to_string(),
            })
            .await?;
        Ok(())
    }

    pub fn get(&self, id: i64) -> Result<Option<RecordingRow>> {
        let c = self.lock();
        let sql = format!("SELECT {COLUMNS} FROM recordings WHERE id=?1");
        let row = c.query_row(&sql, [id], read_row).optional()?;
        row.map(|r| with_operators(&c, r)).transpose()
    }

    pub fn get_by_call_id(&self, call_id: &str) -> Result<Option<RecordingRow>> {
        let c = self.lock();
        let sql = format!("SELECT {COLUMNS} FROM recordings WHERE call_id=?1");
        let row = c.query_row(&sql, [call_id], read_row).optional()?;
        row.map(|r| with_operators(&c, r)).transpose()
    }

    pub fn in_state(&self, state: State) -> Result<Vec<RecordingRow>> {
        self.search(&SearchFilter {
            state: Some(state),
            include_deleted: state == State::Deleted,
            limit: u32::MAX,
            ..Default::default()
        })
    }

    pub fn search(&self, f: &SearchFilter) -> Result<Vec<RecordingRow>> {
        let (mut sql, args) = where_clause(f, &format!("SELECT {COLUMNS} FROM recordings"));
        let limit = if f.limit == 0 { 500 } else { f.limit };
        sql.push_str(&format!(
            " ORDER BY started_at DESC, id DESC LIMIT {limit} OFFSET {}",
            f.offset
        ));
        let c = self.lock();
        let mut st = c.prepare(&sql)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(args), read_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| with_operators(&c, r)).collect()
    }

    /// How many rows match `f` in all (its limit and offset aside): the total a page of
    /// results is out of.
    pub fn count(&self, f: &SearchFilter) -> Result<u64> {
        let (sql, args) = where_clause(f, "SELECT COUNT(*) FROM recordings");
        let n: i64 = self
            .lock()
            .query_row(&sql, rusqlite::params_from_iter(args), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Audit lines, newest first; only those of one recording when `recording_id` is set.
    pub fn audit_log(&self, recording_id: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        let c = self.lock();
        let mut st = c.prepare(
            "SELECT id, at, who, action, recording_id, request_id, detail FROM audit
             WHERE (?1 IS NULL OR recording_id = ?1) ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![recording_id, limit], |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    who: r.get(2)?,
                    action: r.get(3)?,
                    recording_id: r.get(4)?,
                    request_id: r.get(5)?,
                    detail: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Writes one audit line in its own transaction.
    pub fn audit(
        &self,
        at: i64,
        who: &str,
        action: &str,
        recording_id: Option<i64>,
        detail: &str,
    ) -> Result<()> {
        audit(&self.lock(), at, who, action, recording_id, None, detail)
    }
}

/// Writes one audit line on `c` (inside the caller's transaction if it has one).
pub(crate) fn audit(
    c: &Connection,
    at: i64,
    who: &str,
    action: &str,
    recording_id: Option<i64>,
    request_id: Option<i64>,
    detail: &str,
) -> Result<()> {
    c.execute(
        "INSERT INTO audit (at, who, action, recording_id, request_id, detail) VALUES (?1,?2,?3,?4,?5,?6)",
        params![at, who, action, recording_id, request_id, detail],
    )?;
    Ok(())
}

pub(crate) fn get_row(c: &Connection, id: i64) -> Result<Option<RecordingRow>> {
    let sql = format!("SELECT {COLUMNS} FROM recordings WHERE id=?1");
    let row = c.query_row(&sql, [id], read_row).optional()?;
    row.map(|r| with_operators(c, r)).transpose()
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<RecordingRow> {
    let state: String = r.get(9)?;
    Ok(RecordingRow {
        id: r.get(0)?,
        call_id: r.get(1)?,
        number: r.get(2)?,
        caller: r.get(3)?,
        operators: Vec::new(),
        started_at: r.get(4)?,
        ended_at: r.get(5)?,
        duration_ms: r.get(6)?,
        size_bytes: r.get(7)?,
        sha256: r.get(8)?,
        // The CHECK constraint keeps other words out of the column.
        state: State::parse(&state).unwrap_or(State::Interrupted),
        path: r.get(10)?,
        deleted_at: r.get(11)?,
        deleted_by: r.get(12)?,
        delete_reason: r.get(13)?,
    })
}

fn with_operators(c: &Connection, mut row: RecordingRow) -> Result<RecordingRow> {
    let mut st = c.prepare_cached(
        "SELECT operator FROM recording_operators WHERE recording_id=?1 ORDER BY rowid",
    )?;
    row.operators = st
        .query_map([row.id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(row)
}
