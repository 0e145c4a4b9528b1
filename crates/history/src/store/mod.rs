//! The history's own database: SQLite in WAL mode with `synchronous=FULL` (a record the
//! operator saved survives a power cut, 第2-9), its schema applied as numbered
//! migrations so an older file is brought up to date at start.

pub mod accounts;
pub mod backend;
pub mod contacts;
pub mod handovers;
pub mod inquiries;
pub mod outbox;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "postgres")]
pub mod pg_accesslog;
#[cfg(feature = "postgres")]
pub mod pg_accounts;
#[cfg(feature = "postgres")]
pub mod pg_handovers;
#[cfg(feature = "postgres")]
pub mod pg_inquiries;
#[cfg(feature = "postgres")]
pub mod pg_outbox;
pub mod query;

use crate::error::Result;
pub use backend::Store;
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// Each step runs once, in order, inside one transaction with its version bump. Never
/// edit a step that has shipped: add one.
pub const MIGRATIONS: &[&str] = &[
    // 1: contacts, their audit trail, staff accounts and sessions, meta.
    "CREATE TABLE contacts (
       id INTEGER PRIMARY KEY,
       channel TEXT NOT NULL, line TEXT NOT NULL,
       started_at BIGINT NOT NULL, ended_at BIGINT NOT NULL,
       operator TEXT NOT NULL, caller TEXT NOT NULL, caller_name TEXT NOT NULL,
       category TEXT NOT NULL, summary TEXT NOT NULL, faq_ids TEXT NOT NULL,
       outcome TEXT NOT NULL, department TEXT NOT NULL, call_id TEXT NOT NULL,
       search_text TEXT NOT NULL,
       created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
       updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL,
       version BIGINT NOT NULL, masked_at BIGINT);
     CREATE INDEX contacts_started ON contacts(started_at);
     CREATE INDEX contacts_caller ON contacts(caller, started_at);
     CREATE INDEX contacts_call ON contacts(call_id);
     CREATE TABLE audit (
       id INTEGER PRIMARY KEY, contact_id BIGINT NOT NULL, at BIGINT NOT NULL,
       by_user TEXT NOT NULL, action TEXT NOT NULL, before_json TEXT NOT NULL,
       after_json TEXT NOT NULL);
     CREATE INDEX audit_contact ON audit(contact_id, id);
     CREATE TABLE users (
       login TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
       agent_id TEXT NOT NULL, pw_hash TEXT NOT NULL,
       failed BIGINT NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0,
       created_at BIGINT NOT NULL);
     CREATE TABLE sessions (
       token_hash TEXT PRIMARY KEY, login TEXT NOT NULL, csrf TEXT NOT NULL,
       created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
     CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);",
    // 2: the access log (kept at least three months, searchable, 第2-9).
    "CREATE TABLE access_log (
       id INTEGER PRIMARY KEY, at BIGINT NOT NULL, ip TEXT NOT NULL, by_user TEXT NOT NULL,
       method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
       ms INTEGER NOT NULL, ua TEXT NOT NULL);
     CREATE INDEX access_log_at ON access_log(at);",
    // 3: citizens' web inquiries and the mail outbox (queued, retried, never lost).
    "CREATE TABLE inquiries (
       id INTEGER PRIMARY KEY, received_at BIGINT NOT NULL, name TEXT NOT NULL,
       email TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, ip TEXT NOT NULL,
       state TEXT NOT NULL, masked_at BIGINT);
     CREATE INDEX inquiries_received ON inquiries(received_at);
     CREATE TABLE outbox (
       id INTEGER PRIMARY KEY, created_at BIGINT NOT NULL, kind TEXT NOT NULL,
       ref_id BIGINT NOT NULL, to_addr TEXT NOT NULL, subject TEXT NOT NULL,
       body TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0, next_at BIGINT NOT NULL,
       sent_at BIGINT, last_error TEXT NOT NULL DEFAULT '');
     CREATE INDEX outbox_due ON outbox(sent_at, next_at);",
    // 4: callbacks and opinions passed to departments, tracked until done (第3-1 ⑶ イ).
    "CREATE TABLE handovers (
       id INTEGER PRIMARY KEY, contact_id BIGINT NOT NULL, department TEXT NOT NULL,
       kind TEXT NOT NULL, state TEXT NOT NULL, due_at BIGINT NOT NULL,
       created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
       updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL);
     CREATE UNIQUE INDEX handovers_contact ON handovers(contact_id);
     CREATE INDEX handovers_dep ON handovers(department, state);
     CREATE TABLE handover_events (
       id INTEGER PRIMARY KEY, handover_id BIGINT NOT NULL, at BIGINT NOT NULL,
       by_user TEXT NOT NULL, state TEXT NOT NULL, note TEXT NOT NULL);
     CREATE INDEX handover_events_h ON handover_events(handover_id, id);",
    // 5: mail read from the center's Maildir beside the web form's inquiries; the
    // Message-ID keeps a message read twice (a crash between storing and moving it) once.
    "ALTER TABLE inquiries ADD COLUMN channel TEXT NOT NULL DEFAULT 'web';
     ALTER TABLE inquiries ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
     CREATE UNIQUE INDEX inquiries_message ON inquiries(message_id) WHERE message_id <> '';",
    // 6: an account disabled (from the command line) keeps its row and its name in the
    // audit trail, but logs in no more.
    "ALTER TABLE users ADD COLUMN disabled_at BIGINT;",
];

pub struct Db {
    conn: Mutex<Connection>,
}

/// WAL, `synchronous=FULL`, foreign keys: as the FAQ site opens its file.
pub fn open_conn(path: &Path) -> Result<Connection> {
    Ok(websupport::sqlite::open_conn(path)?)
}

/// Brings the schema up to the last migration; returns the version it found.
pub fn migrate(conn: &mut Connection) -> Result<usize> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (v INTEGER NOT NULL)")?;
    let found: usize = conn
        .query_row("SELECT v FROM schema_version", [], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0) as usize;
    if found > MIGRATIONS.len() {
        return Err(crate::error::HistoryError::Invalid(vec![format!(
            "the database is of schema version {found}, newer than this program ({}): use a newer madoguchi",
            MIGRATIONS.len()
        )]));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.execute("DELETE FROM schema_version", [])?;
        tx.execute("INSERT INTO schema_version (v) VALUES (?1)", [i as i64 + 1])?;
        tx.commit()?;
        tracing::info!(version = i + 1, "history database migrated");
    }
    Ok(found)
}

impl Db {
    pub fn open(path: &Path) -> Result<Db> {
        let mut conn = open_conn(path)?;
        migrate(&mut conn)?;
        crate::private_file(path);
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        // SQLite rolls back an unfinished transaction on drop: a poisoned lock is safe.
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_run_once_and_refuse_a_newer_file() {
        let dir = std::env::temp_dir().join(format!("history-mig-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("h.sqlite3");
        let mut c = super::open_conn(&p).unwrap();
        assert_eq!(super::migrate(&mut c).unwrap(), 0);
        assert_eq!(super::migrate(&mut c).unwrap(), super::MIGRATIONS.len());
        c.execute("UPDATE schema_version SET v = 99", []).unwrap();
        assert!(super::migrate(&mut c).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
