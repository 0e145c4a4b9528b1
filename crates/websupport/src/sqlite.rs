//! SQLite as both sidecars open it, and blocking work off the async workers.

use rusqlite::Connection;
use std::path::Path;
use std::sync::Arc;

/// WAL so readers never block the writer; FULL so an acknowledged change survives a
/// power cut (the spec asks for no data loss); foreign keys on; five seconds' patience
/// with a busy writer.
pub fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
    Ok(conn)
}

/// Runs blocking work (SQLite, password hashing) on tokio's blocking pool; a panic in it
/// is carried on in the caller.
pub async fn blocking<A: Send + Sync + 'static, T: Send + 'static>(
    app: &Arc<A>,
    f: impl FnOnce(&A) -> T + Send + 'static,
) -> T {
    let app = app.clone();
    match tokio::task::spawn_blocking(move || f(&app)).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
