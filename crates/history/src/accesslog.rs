//! The access log of the desktop, the form and the API (spec 第2-9: kept at least three
//! months, searchable). Written by a background thread in batches so requests never
//! wait on the disk. Housekeeping ([`AccessLog::housekeep`]) deletes rows past the
//! retention and masks the personal data in rows past the personal-data period: the
//! client address and the query string (a search by caller number is personal data).

use crate::error::Result;
use crate::store::open_conn;
use faq::clock::unix_now;
use rusqlite::{params, Connection};
use std::path::Path;
use std::sync::{mpsc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

/// The spec's minimum is three months; never keep less.
pub const MIN_RETENTION_DAYS: u32 = 92;
pub const MASKED_IP: &str = "-masked-";

pub struct AccessLog {
    tx: Mutex<Option<mpsc::Sender<LogRecord>>>,
    reader: Mutex<Connection>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub from: i64,
    pub to: i64,
    pub user: String,
    pub ip: String,
    pub path_contains: String,
    pub status: u16,
    pub limit: u32,
}

impl AccessLog {
    /// The table already exists (migration 2).
    pub fn open(db_path: &Path) -> Result<AccessLog> {
        let writer_conn = open_conn(db_path)?;
        // Losing the last instant of the log on power loss is harmless: no fsync each time.
        writer_conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        let reader = open_conn(db_path)?;
        let (tx, rx) = mpsc::channel::<LogRecord>();
        let handle = std::thread::Builder::new()
            .name("history-access-log".into())
            .spawn(move || {
                let mut conn = writer_conn;
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter().take(1000));
                    if let Err(e) = write_batch(&mut conn, &batch) {
                        tracing::error!("access log write failed: {e}");
                    }
                }
            })?;
        Ok(AccessLog {
            tx: Mutex::new(Some(tx)),
            reader: Mutex::new(reader),
            writer: Mutex::new(Some(handle)),
        })
    }

    pub fn record(&self, rec: LogRecord) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = tx.send(rec);
        }
    }

    /// Stops the writer after it has written everything queued.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }

    /// Deletes rows older than `keep_days` (at least three months) and masks address
    /// and query string of rows older than `personal_days`. Returns (deleted, masked).
    pub fn housekeep(
        &self,
        now: i64,
        keep_days: u32,
        personal_days: u32,
    ) -> Result<(usize, usize)> {
        let keep = i64::from(keep_days.max(MIN_RETENTION_DAYS)) * 86_400;
        let personal = i64::from(personal_days) * 86_400;
        let c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let deleted = c.execute("DELETE FROM access_log WHERE at < ?1", [now - keep])?;
        let masked = c.execute(
            "UPDATE access_log SET ip=?2,
               path = CASE WHEN instr(path, '?') > 0 THEN substr(path, 1, instr(path, '?')) || '***' ELSE path END
             WHERE at < ?1 AND ip <> ?2",
            params![now - personal, MASKED_IP],
        )?;
        Ok((deleted, masked))
    }

    pub fn search(&self, q: &LogQuery) -> Result<Vec<LogRecord>> {
        let c = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = c.prepare_cached(
            "SELECT at, ip, by_user, method, path, status, ms, ua FROM access_log
             WHERE at >= ?1 AND at < ?2
               AND (?3 = '' OR by_user = ?3) AND (?4 = '' OR ip = ?4)
               AND (?5 = '' OR instr(path, ?5) > 0) AND (?6 = 0 OR status = ?6)
             ORDER BY id DESC LIMIT ?7",
        )?;
        let rows = st.query_map(
            params![
                q.from,
                if q.to == 0 { i64::MAX } else { q.to },
                q.user,
                q.ip,
                q.path_contains,
                q.status,
                q.limit.clamp(1, 5000)
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

fn write_batch(conn: &mut Connection, batch: &[LogRecord]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for r in batch {
        tx.prepare_cached(
            "INSERT INTO access_log (at, ip, by_user, method, path, status, ms, ua) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
        )?
        .execute(params![r.at, r.ip, r.user, r.method, r.path, r.status, r.ms, r.ua])?;
    }
    tx.commit()
}

/// Now, for callers that have no clock of their own.
pub fn now() -> i64 {
    unix_now()
}
