//! The access log both sidecars keep (spec 第2-9: at least three months, searchable):
//! the record of a request, a background writer that stores messages in batches so a
//! request never waits on the disk, and the search over the `access_log` table.
//!
//! The table is each sidecar's (it sits in its own database, created by its own
//! schema); only the column naming the user differs (`user` in the FAQ's,
//! `by_user` in the history's, where `user` would be a reserved word in PostgreSQL).

use rusqlite::{params, Connection};
use std::sync::{mpsc, Mutex};

/// The spec's minimum is three months; never keep less.
pub const MIN_RETENTION_DAYS: u32 = 92;

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

#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub from: i64,
    /// 0: no upper bound.
    pub to: i64,
    pub user: String,
    pub ip: String,
    pub path_contains: String,
    /// 0: any.
    pub status: u16,
    /// Clamped to 1..=5000.
    pub limit: u32,
}

/// A thread that owns a connection and writes what it is sent, in batches of up to
/// 1,001 messages per transaction.
pub struct Batcher<M> {
    tx: Mutex<Option<mpsc::Sender<M>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl<M: Send + 'static> Batcher<M> {
    /// `write` stores one batch (its errors are its own to log).
    /// `conn` is whatever the writer writes with (a SQLite connection, a PostgreSQL
    /// client): the thread owns it.
    pub fn spawn<C: Send + 'static>(
        name: &str,
        mut conn: C,
        mut write: impl FnMut(&mut C, &[M]) + Send + 'static,
    ) -> std::io::Result<Batcher<M>> {
        let (tx, rx) = mpsc::channel::<M>();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter().take(1000));
                    write(&mut conn, &batch);
                }
            })?;
        Ok(Batcher {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
        })
    }

    pub fn send(&self, m: M) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = tx.send(m);
        }
    }

    /// Stops the writer after it has written everything queued.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl<M> Drop for Batcher<M> {
    fn drop(&mut self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

/// Inserts one record (inside the writer's transaction).
pub fn insert(c: &Connection, user_col: &str, r: &LogRecord) -> rusqlite::Result<()> {
    c.prepare_cached(&format!(
        "INSERT INTO access_log (at, ip, {user_col}, method, path, status, ms, ua) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"
    ))?
    .execute(params![r.at, r.ip, r.user, r.method, r.path, r.status, r.ms, r.ua])
    .map(|_| ())
}

/// Newest first.
pub fn search(c: &Connection, user_col: &str, q: &LogQuery) -> rusqlite::Result<Vec<LogRecord>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT at, ip, {user_col}, method, path, status, ms, ua FROM access_log
         WHERE at >= ?1 AND at < ?2
           AND (?3 = '' OR {user_col} = ?3) AND (?4 = '' OR ip = ?4)
           AND (?5 = '' OR instr(path, ?5) > 0) AND (?6 = 0 OR status = ?6)
         ORDER BY id DESC LIMIT ?7"
    ))?;
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
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at: i64, user: &str, path: &str, status: u16) -> LogRecord {
        LogRecord {
            at,
            ip: "127.0.0.1".into(),
            user: user.into(),
            method: "GET".into(),
            path: path.into(),
            status,
            ms: 1,
            ua: "t".into(),
        }
    }

    #[test]
    fn the_writer_stores_every_record_before_close_returns_and_search_filters() {
        let dir =
            std::env::temp_dir().join(format!("websupport-log-{}", crate::password::random_hex(4)));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("log.sqlite3");
        let c = crate::sqlite::open_conn(&p).unwrap();
        c.execute_batch(
            "CREATE TABLE access_log (id INTEGER PRIMARY KEY, at BIGINT, ip TEXT, by_user TEXT,
               method TEXT, path TEXT, status INTEGER, ms INTEGER, ua TEXT);",
        )
        .unwrap();
        let b = Batcher::spawn(
            "t",
            crate::sqlite::open_conn(&p).unwrap(),
            |c, batch: &[LogRecord]| {
                let tx = c.transaction().unwrap();
                for r in batch {
                    insert(&tx, "by_user", r).unwrap();
                }
                tx.commit().unwrap();
            },
        )
        .unwrap();
        for i in 0..2500 {
            b.send(rec(
                i,
                if i % 2 == 0 { "op1" } else { "-" },
                &format!("/desk?q={i}"),
                200,
            ));
        }
        b.send(rec(3000, "op1", "/desk/login", 429));
        b.close();
        let all = search(
            &c,
            "by_user",
            &LogQuery {
                limit: 9999,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(all.len(), 2501);
        assert_eq!(all[0].status, 429, "newest first");
        let q = LogQuery {
            user: "op1".into(),
            path_contains: "q=24".into(),
            to: 2500,
            limit: 100,
            ..Default::default()
        };
        let hits = search(&c, "by_user", &q).unwrap();
        assert!(hits
            .iter()
            .all(|r| r.user == "op1" && r.path.contains("q=24")));
        assert_eq!(hits.len(), 56, "24, 240-249, 2400-2499 even ones");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
