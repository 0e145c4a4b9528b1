//! The access log: every request (who, when, what, result), written by a background
//! thread in batches so requests never wait on it; kept for a configurable number of days
//! (at least the 3 months the spec asks) and searchable by administrators.

use crate::clock::Clock;
use crate::db::open_conn;
use crate::error::Result;
use rusqlite::{params, Connection};
use std::path::Path;
use std::sync::Mutex;
use websupport::accesslog::{self as shared, Batcher};
pub use websupport::accesslog::{LogQuery, LogRecord, MIN_RETENTION_DAYS};

/// What the background writer stores: requests, and the counters that feed the access
/// ranking and popular keywords (written the same batched way, off the request path).
enum Msg {
    Access(LogRecord),
    View { faq_id: String, at: i64 },
    Search { q: String, at: i64, hits: u32 },
    Click { q: String, faq_id: String, at: i64 },
}

pub struct AccessLog {
    writer: Batcher<Msg>,
    reader: Mutex<Connection>,
    clock: Clock,
}

impl AccessLog {
    pub fn open(db_path: &Path, retention_days: u32, clock: Clock) -> Result<AccessLog> {
        let writer_conn = open_conn(db_path)?;
        // The log can lose the last instant on power loss without harm; no fsync each time.
        writer_conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        let reader = open_conn(db_path)?;
        let keep_secs = i64::from(retention_days.max(MIN_RETENTION_DAYS)) * 86_400;
        let mut last_purge = 0;
        let writer = Batcher::spawn("faq-access-log", writer_conn, move |conn, batch: &[Msg]| {
            if let Err(e) = write_batch(conn, batch) {
                tracing::error!("access log write failed: {e}");
            }
            let now = clock.now();
            if now - last_purge > 3600 {
                last_purge = now;
                // Views and searches are aggregates of the same requests; same retention.
                let purge = conn.execute_batch(&format!(
                    "DELETE FROM access_log WHERE at < {t}; DELETE FROM views WHERE at < {t}; DELETE FROM searches WHERE at < {t}; DELETE FROM search_clicks WHERE at < {t};",
                    t = now - keep_secs
                ));
                if let Err(e) = purge {
                    tracing::error!("access log purge failed: {e}");
                }
            }
        })?;
        Ok(AccessLog {
            writer,
            reader: Mutex::new(reader),
            clock,
        })
    }

    fn send(&self, m: Msg) {
        self.writer.send(m);
    }

    pub fn record(&self, rec: LogRecord) {
        self.send(Msg::Access(rec));
    }

    /// A citizen or operator opened an entry (feeds the weekly ranking).
    pub fn view(&self, faq_id: &str) {
        self.send(Msg::View {
            faq_id: faq_id.to_string(),
            at: self.clock.now(),
        });
    }

    /// A public search (feeds the popular keywords).
    pub fn searched(&self, q: &str, hits: u32) {
        self.send(Msg::Search {
            q: q.chars().take(100).collect(),
            at: self.clock.now(),
            hits,
        });
    }

    /// A citizen opened `faq_id` from the results of searching `q`.
    pub fn clicked(&self, q: &str, faq_id: &str) {
        self.send(Msg::Click {
            q: q.chars().take(100).collect(),
            faq_id: faq_id.to_string(),
            at: self.clock.now(),
        });
    }

    /// Stops the writer after it has written everything queued.
    pub fn close(&self) {
        self.writer.close();
    }

    pub fn search(&self, q: &LogQuery) -> Result<Vec<LogRecord>> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(shared::search(&conn, "user", q)?)
    }
}

fn write_batch(conn: &mut Connection, batch: &[Msg]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for m in batch {
        match m {
            Msg::Access(r) => shared::insert(&tx, "user", r)?,
            Msg::View { faq_id, at } => {
                tx.prepare_cached("INSERT INTO views (faq_id, at) VALUES (?1, ?2)")?
                    .execute(params![faq_id, at])?;
            }
            Msg::Search { q, at, hits } => {
                tx.prepare_cached("INSERT INTO searches (q, at, hits) VALUES (?1, ?2, ?3)")?
                    .execute(params![q, at, hits])?;
            }
            Msg::Click { q, faq_id, at } => {
                tx.prepare_cached("INSERT INTO search_clicks (q, faq_id, at) VALUES (?1, ?2, ?3)")?
                    .execute(params![q, faq_id, at])?;
            }
        }
    }
    tx.commit()
}
