//! HTTP on the ops port: `/metrics` for Prometheus and a small JSON API.

use crate::Shared;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use tokio::sync::watch;

pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/registrations", get(registrations))
        .with_state(shared);
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.changed().await;
        })
        .await;
}

async fn metrics(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    ([("content-type", "text/plain; version=0.0.4")], s.metrics.render())
}

async fn status(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    Json(serde_json::json!({
        "calls_active": s.metrics.calls_active.get(),
        "registrations": s.metrics.registrations.get(),
        "transactions": s.metrics.transactions.get(),
        "sip": s.agent_addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "trunks": s.trunk_addrs.iter().map(|(a, n, _)| serde_json::json!({"name": n, "listen": a.to_string()})).collect::<Vec<_>>(),
    }))
}

async fn registrations(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    let list = s.registrations.read().map(|l| l.clone()).unwrap_or_default();
    Json(serde_json::json!(list
        .iter()
        .map(|b| serde_json::json!({
            "aor": b.aor, "contact": b.contact, "source": b.source.to_string(),
            "transport": b.transport, "expires_at": b.expires_at, "user_agent": b.user_agent,
        }))
        .collect::<Vec<_>>()))
}
