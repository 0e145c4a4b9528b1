//! The FAQ's own SQLite file (WAL): schema, entries and their change history.
//! Other tables (users, ratings, logs …) are read and written by their own modules
//! through [`Db::with`].

use crate::clock::unix_now;
use crate::error::Result;
use crate::model::Entry;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
  id TEXT PRIMARY KEY, category TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
  related_faq TEXT NOT NULL, related_url TEXT NOT NULL, department TEXT NOT NULL,
  public INTEGER NOT NULL, publish_start TEXT NOT NULL, publish_end TEXT NOT NULL,
  updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
  seq INTEGER PRIMARY KEY, faq_id TEXT NOT NULL, at INTEGER NOT NULL, user TEXT NOT NULL,
  action TEXT NOT NULL, snapshot TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_faq ON history(faq_id, seq);
CREATE TABLE IF NOT EXISTS users (
  login TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, pw_hash TEXT NOT NULL,
  failed INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY, login TEXT NOT NULL, csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL, created_by TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS ratings (
  id INTEGER PRIMARY KEY, faq_id TEXT NOT NULL, at INTEGER NOT NULL,
  score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5), comment TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ratings_faq ON ratings(faq_id, at);
CREATE TABLE IF NOT EXISTS views (faq_id TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS views_at ON views(at);
CREATE TABLE IF NOT EXISTS searches (q TEXT NOT NULL, at INTEGER NOT NULL, hits INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS searches_at ON searches(at);
CREATE TABLE IF NOT EXISTS search_clicks (q TEXT NOT NULL, faq_id TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS search_clicks_at ON search_clicks(at);
CREATE TABLE IF NOT EXISTS categories (path TEXT PRIMARY KEY, kind TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keywords (
  q TEXT PRIMARY KEY, approved INTEGER NOT NULL, by TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS access_log (
  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, ip TEXT NOT NULL, user TEXT NOT NULL,
  method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL, ms INTEGER NOT NULL,
  ua TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS access_log_at ON access_log(at);
CREATE TABLE IF NOT EXISTS attachments (
  id INTEGER PRIMARY KEY, faq_id TEXT NOT NULL, filename TEXT NOT NULL,
  content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
  at INTEGER NOT NULL, by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
";

pub struct Db {
    conn: Mutex<Connection>,
}

/// WAL, `synchronous=FULL` (an acknowledged edit survives a power cut), foreign keys:
/// as the contact history opens its file (`websupport::sqlite`).
pub fn open_conn(path: &Path) -> Result<Connection> {
    Ok(websupport::sqlite::open_conn(path)?)
}

impl Db {
    pub fn open(path: &Path) -> Result<Db> {
        let conn = open_conn(path)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll
        // back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        Ok(f(&mut self.lock())?)
    }

    pub fn meta(&self, k: &str) -> Result<Option<String>> {
        self.with(|c| {
            c.query_row("SELECT v FROM meta WHERE k=?1", [k], |r| r.get(0))
                .optional()
        })
    }

    pub fn set_meta(&self, k: &str, v: &str) -> Result<()> {
        self.with(|c| {
            c.execute("INSERT OR REPLACE INTO meta(k,v) VALUES(?1,?2)", [k, v])
                .map(|_| ())
        })
    }

    pub fn entries(&self) -> Result<Vec<Entry>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("SELECT {COLS} FROM entries ORDER BY id"))?;
            let rows = st.query_map([], row_entry)?;
            rows.collect()
        })
    }

    pub fn entry(&self, id: &str) -> Result<Option<Entry>> {
        self.with(|c| get_entry(c, id))
    }

    /// Several entries by id, in the order asked (missing ones skipped).
    pub fn entries_by_ids(&self, ids: &[String]) -> Result<Vec<Entry>> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!("SELECT {COLS} FROM entries WHERE id=?1"))?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(e) = st.query_row([id], row_entry).optional()? {
                    out.push(e);
                }
            }
            Ok(out)
        })
    }

    /// Creates or replaces an entry and records the change. Returns false when nothing
    /// changed (no history row then). Write transactions here read first, so they take
    /// the write lock at BEGIN (IMMEDIATE): a deferred one that reads and then writes
    /// fails at once with SQLITE_BUSY, whatever the busy timeout, when the access log's
    /// own connection committed in between (a 500 on an edit, seen under load).
    pub fn save(&self, e: &Entry, user: &str, action: &str) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let changed = save_in(&tx, e, user, action)?;
            tx.commit()?;
            Ok(changed)
        })
    }

    pub fn delete(&self, id: &str, user: &str) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let Some(old) = get_entry(&tx, id)? else {
                return Ok(false);
            };
            tx.execute("DELETE FROM entries WHERE id=?1", [id])?;
            record(&tx, &old, user, "削除")?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Applies all entries in one transaction: every row or none.
    pub fn save_all(&self, entries: &[Entry], user: &str, action: &str) -> Result<usize> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut changed = 0;
            for e in entries {
                if save_in(&tx, e, user, action)? {
                    changed += 1;
                }
            }
            tx.commit()?;
            Ok(changed)
        })
    }

    pub fn history(&self, id: &str) -> Result<Vec<HistoryRow>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT seq, at, user, action, snapshot FROM history WHERE faq_id=?1 ORDER BY seq DESC",
            )?;
            let rows = st.query_map([id], |r| {
                Ok(HistoryRow { seq: r.get(0)?, at: r.get(1)?, user: r.get(2)?, action: r.get(3)?, snapshot: r.get(4)? })
            })?;
            rows.collect()
        })
    }
}

#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub seq: i64,
    pub at: i64,
    pub user: String,
    pub action: String,
    /// The entry as it was after the change (or before, for a deletion), as JSON.
    pub snapshot: String,
}

const COLS: &str =
    "id, category, question, answer, related_faq, related_url, department, public, publish_start, publish_end";

fn row_entry(r: &Row) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        category: r.get(1)?,
        question: r.get(2)?,
        answer: r.get(3)?,
        related_faq: r.get(4)?,
        related_url: r.get(5)?,
        department: r.get(6)?,
        public: r.get::<_, i64>(7)? != 0,
        publish_start: r.get(8)?,
        publish_end: r.get(9)?,
    })
}

fn get_entry(c: &Connection, id: &str) -> rusqlite::Result<Option<Entry>> {
    c.query_row(
        &format!("SELECT {COLS} FROM entries WHERE id=?1"),
        [id],
        row_entry,
    )
    .optional()
}

fn save_in(c: &Connection, e: &Entry, user: &str, action: &str) -> rusqlite::Result<bool> {
    if get_entry(c, &e.id)?.as_ref() == Some(e) {
        return Ok(false);
    }
    c.execute(
        &format!("INSERT OR REPLACE INTO entries ({COLS}, updated_at, updated_by) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"),
        params![
            e.id, e.category, e.question, e.answer, e.related_faq, e.related_url, e.department,
            e.public as i64, e.publish_start, e.publish_end, unix_now(), user
        ],
    )?;
    record(c, e, user, action)?;
    Ok(true)
}

fn record(c: &Connection, e: &Entry, user: &str, action: &str) -> rusqlite::Result<()> {
    let snapshot = serde_json::to_string(e).unwrap_or_default();
    c.execute(
        "INSERT INTO history (faq_id, at, user, action, snapshot) VALUES (?1,?2,?3,?4,?5)",
        params![e.id, unix_now(), user, action, snapshot],
    )?;
    Ok(())
}
