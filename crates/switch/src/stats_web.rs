//! The supervisors' statistics pages on the ops port (issue 15): the wallboard joins the
//! ACD's snapshot (asked of the queue task) with today's figures from `stats`; the
//! reports page reads the call records.

use crate::queue::QueueCmd;
use crate::Shared;
use std::sync::Arc;

/// `/wallboard` and its event stream; the caller puts the supervisor login in front.
pub fn wallboard(shared: &Arc<Shared>) -> axum::Router {
    let queue = shared.queue.clone();
    let snapshot: stats::wallboard::SnapshotFn = Arc::new(move || {
        let queue = queue.clone();
        Box::pin(async move {
            let (reply, rx) = tokio::sync::oneshot::channel();
            queue.send(QueueCmd::Snapshot { reply }).await.ok()?;
            rx.await.ok()
        })
    });
    // Each line once, in configuration order, with its number (市代表 0246-22-1111).
    let mut lines: Vec<(String, String)> = Vec::new();
    for n in &shared.cfg.numbers {
        if !lines.iter().any(|(name, _)| *name == n.name) {
            lines.push((n.name.clone(), n.number.clone()));
        }
    }
    stats::wallboard::router(shared.stats.clone(), snapshot, lines)
}

/// `/reports`: the city's reports from the call records (xlsx and CSV downloads).
pub fn reports(shared: &Arc<Shared>) -> axum::Router {
    stats::report::web::router(
        shared.data_dir.join("calls.sqlite"),
        shared.calendar.clone(),
        stats::report::SERVICE_START,
    )
}
