//! The live wallboard (issue 15 item 3): `/wallboard` (the page) and
//! `/wallboard/events` (Server-Sent Events, one JSON board per second and at once on
//! every change). The switch mounts the router behind its supervisor login.
//!
//! The board joins two sources: the ACD's snapshot (callers waiting, longest wait, each
//! operator's state and time in it) and today's figures from the call records.

mod page;

use crate::kpi::{Tally, TARGET_ANSWER_RATE, TARGET_ASA_SECS};
use crate::service::{StatsHandle, Today};
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Asks the ACD for its snapshot (`acd::Snapshot` as JSON); `None` when the queue is
/// not running.
pub type SnapshotFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<Value>> + Send>> + Send + Sync>;

#[derive(Clone)]
struct Board {
    stats: StatsHandle,
    snapshot: SnapshotFn,
    /// (line name, dialled number) in configuration order.
    lines: Arc<Vec<(String, String)>>,
}

/// `/wallboard` and `/wallboard/events`, with full paths (merge, do not nest).
pub fn router(stats: StatsHandle, snapshot: SnapshotFn, lines: Vec<(String, String)>) -> Router {
    let board = Board {
        stats,
        snapshot,
        lines: Arc::new(lines),
    };
    Router::new()
        .route("/wallboard", get(page_handler))
        .route("/wallboard/events", get(events))
        .route("/wallboard/board.json", get(board_json))
        .with_state(board)
}

async fn page_handler() -> impl IntoResponse {
    Html(page::page())
}

async fn board_json(State(b): State<Board>) -> impl IntoResponse {
    let snap = (b.snapshot)().await;
    let today = b.stats.today.borrow().clone();
    axum::Json(compose(snap.as_ref(), &today, &b.lines))
}

/// A board now, then one whenever today's figures change or a second passes (operators'
/// time in state moves every second).
async fn events(State(b): State<Board>) -> impl IntoResponse {
    let rx = b.stats.today.clone();
    let stream = futures_util::stream::unfold((b, rx, true), |(b, mut rx, first)| async move {
        if !first {
            // The service stopped (the switch is shutting down): end the stream rather
            // than spin on a closed channel.
            if let Ok(Err(_)) = tokio::time::timeout(Duration::from_secs(1), rx.changed()).await {
                return None;
            }
        }
        let snap = (b.snapshot)().await;
        let today = rx.borrow_and_update().clone();
        let data = compose(snap.as_ref(), &today, &b.lines).to_string();
        let ev = SseEvent::default().event("board").data(data);
        Some((Ok::<_, std::convert::Infallible>(ev), (b, rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn secs(d: &Value) -> f64 {
    d["secs"].as_f64().unwrap_or(0.0) + d["nanos"].as_f64().unwrap_or(0.0) / 1e9
}

/// Japanese label of an ACD agent status, and a mark that does not rely on colour.
pub fn status_ja(status: &str) -> (&'static str, &'static str) {
    match status {
        "Available" => ("受付可", "○"),
        "Ringing" => ("呼出中", "☎"),
        "OnCall" => ("通話中", "●"),
        "WrapUp" => ("後処理", "✎"),
        "Paused" => ("離席", "―"),
        _ => ("ログオフ", "×"),
    }
}

fn figures(t: &Tally) -> Value {
    json!({
        "offered": t.offered,
        "answered": t.answered,
        "abandoned": t.abandoned,
        "answer_rate": t.answer_rate(),
        "asa": t.average_speed_of_answer(),
        "answer_rate_ok": t.answer_rate().map(|r| r >= TARGET_ANSWER_RATE),
        "asa_ok": t.average_speed_of_answer().map(|a| a <= TARGET_ASA_SECS),
    })
}

/// The board as the page draws it.
pub fn compose(snap: Option<&Value>, today: &Today, lines: &[(String, String)]) -> Value {
    let empty = Value::Null;
    let snap = snap.unwrap_or(&empty);
    let at = secs(&snap["at"]);
    let queues = snap["queues"].as_array().cloned().unwrap_or_default();
    let waiting: u64 = queues
        .iter()
        .map(|q| q["waiting"].as_u64().unwrap_or(0))
        .sum();
    let callbacks: u64 = queues
        .iter()
        .map(|q| q["callbacks"].as_u64().unwrap_or(0))
        .sum();
    let longest = queues
        .iter()
        .filter(|q| !q["longest_wait"].is_null())
        .map(|q| secs(&q["longest_wait"]))
        .fold(None, |m: Option<f64>, w| Some(m.map_or(w, |m| m.max(w))));
    let agents: Vec<Value> = snap["agents"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|a| a["status"] != "LoggedOut")
        .map(|a| {
            let status = a["status"].as_str().unwrap_or("LoggedOut");
            let (label, mark) = status_ja(status);
            json!({
                "name": a["name"],
                "status": status,
                "label": label,
                "mark": mark,
                "secs": (at - secs(&a["since"])).max(0.0).floor(),
                "reason": a["pause_reason"],
            })
        })
        .collect();
    let mut names: Vec<(String, String)> = lines.to_vec();
    for l in today.by_line.keys() {
        if !names.iter().any(|(n, _)| n == l) {
            names.push((l.clone(), String::new()));
        }
    }
    let per_line: Vec<Value> = names
        .iter()
        .map(|(name, number)| {
            let t = today.by_line.get(name).cloned().unwrap_or_default();
            let mut v = figures(&t);
            v["name"] = json!(name);
            v["number"] = json!(crate::report::display_number(number));
            v
        })
        .collect();
    json!({
        "queue_running": !snap.is_null(),
        "waiting": waiting,
        "callbacks": callbacks,
        "longest_wait": longest,
        "agents": agents,
        "today": figures(&today.total),
        "lines": per_line,
        "live_calls": today.live_calls,
        "targets": { "answer_rate": TARGET_ANSWER_RATE, "asa": TARGET_ASA_SECS },
    })
}
