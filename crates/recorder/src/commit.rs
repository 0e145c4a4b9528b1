//! Group commit for the per-call rows of the catalogue (a recording started, an
//! operator noted, a recording finished). Each still waits until its row is on the disk
//! (`synchronous=FULL`: the WAL fsynced), as before; but the rows that arrive while one
//! commit is in progress go to the disk together in the next one. At a few hundred
//! calls per second that is a few dozen fsyncs a second instead of one per row, and no
//! caller holds the catalogue's lock across an fsync of its own (issue 10 goal 3).
//! Nothing changes for a kill -9: a caller learns its row is stored only after the
//! commit that stored it.
//!
//! Callers on the runtime await [`Committed`] instead of blocking a thread: a blocking
//! wait held one of the runtime's blocking threads for the whole commit, and when an
//! fsync stalled the pool grew to its cap and stayed there (the soak's slow RSS rise,
//! issue 10 goal 6).
//!
//! Each row runs in its own savepoint, so one refused row (a duplicate call id) does
//! not spoil the others of its batch.

use crate::error::{RecorderError, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::oneshot;

/// The most rows one commit carries: bounds how long the lock is held.
const MAX_BATCH: usize = 256;

pub(crate) enum Op {
    Insert {
        call_id: String,
        number: String,
        caller: String,
        started_at: i64,
        path: String,
    },
    AddOperator {
        id: i64,
        operator: String,
    },
    Finish {
        id: i64,
        state: &'static str,
        ended_at: i64,
        duration_ms: i64,
        size_bytes: i64,
        sha256: String,
    },
}

/// Where a row's result goes: a thread blocked on it, or a task awaiting it.
enum Reply {
    Blocking(SyncSender<Result<i64>>),
    Task(oneshot::Sender<Result<i64>>),
}

impl Reply {
    fn send(self, r: Result<i64>) {
        // A waiter that has gone (its call ended, its task was cancelled) needs no answer.
        let _ = match self {
            Reply::Blocking(tx) => tx.send(r).map_err(drop),
            Reply::Task(tx) => tx.send(r).map_err(drop),
        };
    }
}

impl Op {
    pub(crate) fn insert(
        call_id: &str,
        number: &str,
        caller: &str,
        started_at: i64,
        path: &str,
    ) -> Op {
        Op::Insert {
            call_id: call_id.to_string(),
            number: number.to_string(),
            caller: caller.to_string(),
            started_at,
            path: path.to_string(),
        }
    }
}

type Job = (Op, Reply);

/// A row handed to the committer: resolves once the commit that carries it is on the
/// disk. Dropping it does not withdraw the row.
pub(crate) struct Committed(CommittedInner);

enum CommittedInner {
    Closed,
    Waiting(oneshot::Receiver<Result<i64>>),
}

impl Future for Committed {
    type Output = Result<i64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<i64>> {
        match &mut self.get_mut().0 {
            CommittedInner::Closed => Poll::Ready(Err(closed())),
            CommittedInner::Waiting(rx) => Pin::new(rx)
                .poll(cx)
                .map(|r| r.unwrap_or_else(|_| Err(stopped()))),
        }
    }
}

fn closed() -> RecorderError {
    RecorderError::Invalid("the catalogue is closed".into())
}

fn stopped() -> RecorderError {
    RecorderError::Invalid("the catalogue committer stopped".into())
}

/// The sending side; the committing thread ends when the catalogue is dropped.
pub(crate) struct GroupCommit {
    tx: Mutex<Sender<Job>>,
}

impl GroupCommit {
    pub fn start(conn: Arc<Mutex<Connection>>) -> std::io::Result<GroupCommit> {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("catalogue-commit".into())
            .spawn(move || committer(conn, rx))?;
        Ok(GroupCommit { tx: Mutex::new(tx) })
    }

    /// Runs `op` in the next commit and blocks this thread until that commit is on the
    /// disk (for code off the runtime: start-up repair). Returns the row id for
    /// `Insert`, 0 otherwise.
    pub fn run(&self, op: Op) -> Result<i64> {
        let (reply, done) = sync_channel(1);
        if !self.send(op, Reply::Blocking(reply)) {
            return Err(closed());
        }
        done.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Hands `op` to the next commit now (rows keep the order they were submitted in)
    /// and returns what to await for its result, without holding a thread meanwhile.
    pub fn submit(&self, op: Op) -> Committed {
        let (reply, done) = oneshot::channel();
        if self.send(op, Reply::Task(reply)) {
            Committed(CommittedInner::Waiting(done))
        } else {
            Committed(CommittedInner::Closed)
        }
    }

    fn send(&self, op: Op, reply: Reply) -> bool {
        self.tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send((op, reply))
            .is_ok()
    }
}

fn committer(conn: Arc<Mutex<Connection>>, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let results = commit_batch(&mut c, &batch);
        drop(c);
        for ((_, reply), r) in batch.into_iter().zip(results) {
            reply.send(r);
        }
    }
}

/// One transaction, one savepoint per row; every row's result, or the commit's error
/// for all of them.
fn commit_batch(c: &mut Connection, batch: &[Job]) -> Vec<Result<i64>> {
    // IMMEDIATE: take the write lock first. A deferred transaction that reads and then
    // writes gets SQLITE_BUSY at once, without its busy timeout, when another
    // connection (the `recorder` tool, a backup) is writing: calls went unrecorded.
    let mut tx = match c.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(t) => t,
        Err(e) => return batch.iter().map(|_| Err(clone_db(&e))).collect(),
    };
    let mut out = Vec::with_capacity(batch.len());
    for (op, _) in batch {
        let r = (|| -> Result<i64> {
            let sp = tx.savepoint()?;
            let v = apply(&sp, op)?;
            sp.commit()?;
            Ok(v)
        })();
        out.push(r);
    }
    match tx.commit() {
        Ok(()) => out,
        Err(e) => batch.iter().map(|_| Err(clone_db(&e))).collect(),
    }
}

fn clone_db(e: &rusqlite::Error) -> RecorderError {
    RecorderError::Invalid(format!("catalogue: {e}"))
}

fn apply(c: &Connection, op: &Op) -> Result<i64> {
    match op {
        Op::Insert {
            call_id,
            number,
            caller,
            started_at,
            path,
        } => {
            // Cached statements: compiling the SQL for every row was 3 % of the switch's
            // CPU at 200 calls/s (a profile of the soak, issue 10).
            let exists: Option<i64> = c
                .prepare_cached("SELECT id FROM recordings WHERE call_id=?1")?
                .query_row([call_id], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Err(RecorderError::DuplicateCall(call_id.clone()));
            }
            c.prepare_cached(
                "INSERT INTO recordings (call_id, number, caller, started_at, state, path)
                 VALUES (?1, ?2, ?3, ?4, 'recording', ?5)",
            )?
            .execute(params![call_id, number, caller, started_at, path])?;
            Ok(c.last_insert_rowid())
        }
        Op::AddOperator { id, operator } => {
            c.prepare_cached(
                "INSERT OR IGNORE INTO recording_operators (recording_id, operator) VALUES (?1, ?2)",
            )?
            .execute(params![id, operator])?;
            Ok(0)
        }
        Op::Finish {
            id,
            state,
            ended_at,
            duration_ms,
            size_bytes,
            sha256,
        } => {
            c.prepare_cached(
                "UPDATE recordings SET state=?2, ended_at=?3, duration_ms=?4, size_bytes=?5, sha256=?6
                 WHERE id=?1",
            )?
            .execute(params![id, state, ended_at, duration_ms, size_bytes, sha256])?;
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::catalogue::{Catalogue, State};
    use crate::error::RecorderError;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_from_many_tasks_commit_and_a_refused_one_spoils_none() {
        let dir = std::env::temp_dir().join(format!(
            "madoguchi-commit-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let cat = Arc::new(Catalogue::open(&dir.join("c.sqlite")).unwrap());
        // 8 tasks × 25 calls, each inserted, given an operator and finished; every task
        // also retries one call id of its own, which must be refused. One plain thread
        // inserts alongside them with the blocking call (start-up repair's way in).
        let blocking = {
            let cat = cat.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let call = format!("b-{i}");
                    cat.insert_recording(&call, "0246", "090", 1, &call)
                        .unwrap();
                }
                let dup = cat.insert_recording("b-0", "0246", "090", 1, "x");
                assert!(matches!(dup, Err(RecorderError::DuplicateCall(_))));
            })
        };
        let tasks: Vec<_> = (0..8)
            .map(|t| {
                let cat = cat.clone();
                tokio::spawn(async move {
                    for i in 0..25 {
                        let call = format!("c-{t}-{i}");
                        let id = cat
                            .insert_recording_async(&call, "0246", "090", 1, &call)
                            .await
                            .unwrap();
                        if i == 3 {
                            let dup = cat
                                .insert_recording_async(&call, "0246", "090", 1, "x")
                                .await;
                            assert!(matches!(dup, Err(RecorderError::DuplicateCall(_))));
                        }
                        cat.add_operator(id, &format!("op-{t}")).await.unwrap();
                        cat.finish(id, State::Complete, 2, 1000, 44, "abc")
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        blocking.join().unwrap();
        assert_eq!(cat.in_state(State::Recording).unwrap().len(), 25);
        let done = cat.in_state(State::Complete).unwrap();
        assert_eq!(done.len(), 200);
        let row = done.iter().find(|r| r.call_id == "c-5-3").unwrap();
        assert_eq!(row.operators, vec!["op-5".to_string()]);
        assert_eq!(row.duration_ms, Some(1000));
        drop(done);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
