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
use std::sync::Mutex;
use websupport::accesslog::{self as shared, Batcher};
pub use websupport::accesslog::{LogQuery, LogRecord, MIN_RETENTION_DAYS};

pub const MASKED_IP: &str = "-masked-";
/// The column naming the user (`user` is reserved in PostgreSQL).
const USER_COL: &str = "by_user";

pub struct AccessLog {
    writer: Batcher<LogRecord>,
    reader: Reader,
}

/// The connection searches and housekeeping use (the writer thread has its own).
enum Reader {
    Sqlite(Mutex<Connection>),
    #[cfg(feature = "postgres")]
    Postgres(Mutex<crate::store::pg::OffRuntime>),
}

impl AccessLog {
    /// The table already exists (migration 2).
    pub fn open(db_path: &Path) -> Result<AccessLog> {
        let writer_conn = open_conn(db_path)?;
        // Losing the last instant of the log on power loss is harmless: no fsync each time.
        writer_conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        let reader = open_conn(db_path)?;
        let writer = Batcher::spawn("history-access-log", writer_conn, |conn, batch| {
            if let Err(e) = write_batch(conn, batch) {
                tracing::error!("access log write failed: {e}");
            }
        })?;
        Ok(AccessLog {
            writer,
            reader: Reader::Sqlite(Mutex::new(reader)),
        })
    }

    /// The same log in PostgreSQL (`params` as for `PgStore::open`, which created the
    /// table): a client for the writer thread and one for searches.
    #[cfg(feature = "postgres")]
    pub fn open_postgres(params: &str) -> Result<AccessLog> {
        use crate::store::pg_accesslog;
        let writer_client = postgres::Client::connect(params, postgres::NoTls)?;
        let reader = postgres::Client::connect(params, postgres::NoTls)?;
        let writer = Batcher::spawn("history-access-log", writer_client, |c, batch| {
            if let Err(e) = pg_accesslog::write_batch(c, batch) {
                tracing::error!("access log write failed: {e}");
            }
        })?;
        Ok(AccessLog {
            writer,
            reader: Reader::Postgres(Mutex::new(crate::store::pg::OffRuntime::new(reader))),
        })
    }

    pub fn record(&self, rec: LogRecord) {
        self.writer.send(rec);
    }

    /// Stops the writer after it has written everything queued.
    pub fn close(&self) {
        self.writer.close();
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
        match &self.reader {
            Reader::Sqlite(c) => {
                let c = c.lock().unwrap_or_else(|e| e.into_inner());
                let deleted = c.execute("DELETE FROM access_log WHERE at < ?1", [now - keep])?;
                let masked = c.execute(
                    "UPDATE access_log SET ip=?2,
                       path = CASE WHEN instr(path, '?') > 0 THEN substr(path, 1, instr(path, '?')) || '***' ELSE path END
                     WHERE at < ?1 AND ip <> ?2",
                    params![now - personal, MASKED_IP],
                )?;
                Ok((deleted, masked))
            }
            #[cfg(feature = "postgres")]
            Reader::Postgres(c) => crate::store::pg_accesslog::housekeep(
                &mut c.lock().unwrap_or_else(|e| e.into_inner()),
                now - keep,
                now - personal,
                MASKED_IP,
            ),
        }
    }

    pub fn search(&self, q: &LogQuery) -> Result<Vec<LogRecord>> {
        match &self.reader {
            Reader::Sqlite(c) => {
                let c = c.lock().unwrap_or_else(|e| e.into_inner());
                Ok(shared::search(&c, USER_COL, q)?)
            }
            #[cfg(feature = "postgres")]
            Reader::Postgres(c) => crate::store::pg_accesslog::search(
                &mut c.lock().unwrap_or_else(|e| e.into_inner()),
                q,
            ),
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[LogRecord]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for r in batch {
        shared::insert(&tx, USER_COL, r)?;
    }
    tx.commit()
}

/// Now, for callers that have no clock of their own.
pub fn now() -> i64 {
    unix_now()
}
