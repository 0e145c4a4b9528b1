//! The access log: every request (who, when, what, result), written by a background
//! thread in batches so requests never wait on it; kept for a configurable number of days
//! (at least the 3 months the spec asks) and searchable by administrators.

use crate::clock::Clock;
use crate::db::open_conn;
use crate::error::Result;
use rusqlite::{params, Connection};
use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct LogRecord {
    pub at: i64,
    pub ip: String,
    pub user: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub ms: u32,
    pub ua: String,
}

/// What the background writer stores: requests, and the counters that feed the access
/// ranking and popular keywords (written the same batched way, off the request path).
enum Msg {
    Access(LogRecord),
    View { faq_id: String, at: i64 },
    Search { q: String, at: i64, hits: u32 },
    Click { q: String, faq_id: String, at: i64 },
}

pub struct AccessLog {
    tx: Mutex<Option<mpsc::Sender<Msg>>>,
    reader: Mutex<Connection>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    clock: Clock,
}

/// The spec's minimum is three months; never keep less than that.
pub const MIN_RETENTION_DAYS: u32 = 92;

impl AccessLog {
    pub fn open(db_path: &Path, retention_days: u32, clock: Clock) -> Result<AccessLog> {
        let writer_conn = open_conn(db_path)?;
        // The log can lose the last instant on power loss without harm; no fsync each time.
        writer_conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        let reader = open_conn(db_path)?;
        let keep_secs = i64::from(retention_days.max(MIN_RETENTION_DAYS)) * 86_400;
        let (tx, rx) = mpsc::channel::<Msg>();
        let handle = std::thread::Builder::new().name("faq-access-log".into()).spawn(move || {
            let mut conn = writer_conn;
            let mut last_purge = 0;
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter().take(1000));
                if let Err(e) = write_batch(&mut conn, &batch) {
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
            }
        })?;
        Ok(AccessLog {
            tx: Mutex::new(Some(tx)),
            reader: Mutex::new(reader),
            writer: Mutex::new(Some(handle)),
            clock,
        })
    }

    fn send(&self, m: Msg) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = tx.send(m);
        }
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
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }

    pub fn search(&self, q: &LogQuery) -> Result<Vec<LogRecord>> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = conn.prepare_cached(
            "SELECT at, ip, user, method, path, status, ms, ua FROM access_log
             WHERE at >= ?1 AND at < ?2
               AND (?3 = '' OR user = ?3) AND (?4 = '' OR ip = ?4)
               AND (?5 = '' OR instr(path, ?5) > 0) AND (?6 = 0 OR status = ?6)
             ORDER BY id DESC LIMIT ?7",
        )?;
        let rows = st.query_map(
            params![
                q.from,
                q.to,
                q.user,
                q.ip,
                q.path_contains,
                q.status,
                q.limit
            ],
            |r| {
                Ok(LogRecord {
                    at: r.get(0)?,
                    ip: r.get(1)?,
                    user: r.get(2)?,
                    method: r.get(3)?,
                    path: r.get(4)?,
                    status: r.get(5)?,
                    ms: r.get(6)?,
                    ua: r.get(7)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        self.close();
    }
}

#[derive(Debug, Clone)]
pub struct LogQuery {
    pub from: i64,
    pub to: i64,
    pub user: String,
    pub ip: String,
    pub path_contains: String,
    pub status: u16,
    pub limit: u32,
}

fn write_batch(conn: &mut Connection, batch: &[Msg]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for m in batch {
        match m {
            Msg::Access(r) => {
                tx.prepare_cached(
                    "INSERT INTO access_log (at, ip, user, method, path, status, ms, ua) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                )?
                .execute(params![r.at, r.ip, r.user, r.method, r.path, r.status, r.ms, r.ua])?;
            }
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
