//! HTTP on the ops port: `/metrics` for Prometheus and a small JSON API.

use crate::queue::QueueCmd;
use crate::Shared;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use tokio::sync::watch;

pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    recordings: axum::Router,
    shutdown: watch::Receiver<bool>,
) {
    // Changes need a supervisor's login (HTTP Basic, as for the recordings), and so do
    // the lists that name people or their addresses (registrations: operators' IPs;
    // the audit log: supervisors' names). Status, queues and metrics do not.
    let guarded = Router::new()
        .route("/api/v1/agents/{id}/{op}", axum::routing::post(agent_op))
        .route("/api/v1/operating/night", axum::routing::post(night))
        .route("/api/v1/operating/extend", axum::routing::post(extend))
        .route("/api/v1/operating/clear", axum::routing::post(clear))
        .route("/api/v1/registrations", get(registrations))
        .route("/api/v1/operating/audit", get(audit))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            require_supervisor,
        ));
    // The wallboard and the reports: supervisors only, like the recordings.
    let wallboard = crate::stats_web::wallboard(&shared)
        .merge(crate::stats_web::reports(&shared))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            require_supervisor,
        ));
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/queues", get(queues))
        .route("/api/v1/operating", get(operating))
        // The department directory with each one's state now, and the pause reasons (the
        // operators' desk shows them beside the call).
        .route("/api/v1/directory", get(directory))
        // The desktop's event feed (SSE; its own login check, see feed.rs).
        .route("/api/v1/events", get(crate::feed::events))
        .merge(guarded)
        .with_state(shared)
        // The recordings' pages and API (login required, every play and download audited).
        .merge(recordings)
        .merge(wallboard)
        .layer(axum::middleware::from_fn(json_changes_only))
        .layer(axum::middleware::from_fn(not_framed));
    crate::http_serve::serve(listener, app, Default::default(), tls, shutdown).await;
}

async fn metrics(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    s.metrics.refresh_ports(&s.ports);
    s.metrics.refresh_malloc();
    let mut text = s.metrics.render();
    text.push_str(&s.recorder.stats().to_prometheus());
    ([("content-type", "text/plain; version=0.0.4")], text)
}

async fn status(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    Json(serde_json::json!({
        "calls_active": s.metrics.calls_active.get(),
        // Recordings of ended calls still being written out and sealed (`sealing`).
        "recordings_sealing": s.sealing.running(),
        "registrations": s.metrics.registrations.get(),
        "transactions": s.metrics.transactions.get(),
        "sip": s.agent_addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "trunks": s.trunk_addrs.iter().map(|(a, n, _)| serde_json::json!({"name": n, "listen": a.to_string()})).collect::<Vec<_>>(),
    }))
}

async fn registrations(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    let list = s
        .registrations
        .read()
        .map(|l| l.clone())
        .unwrap_or_default();
    Json(serde_json::json!(list
        .iter()
        .map(|b| serde_json::json!({
            "aor": b.aor, "contact": b.contact, "source": b.source.to_string(),
            "transport": b.transport, "expires_at": b.expires_at, "user_agent": b.user_agent,
        }))
        .collect::<Vec<_>>()))
}

/// A 4xx with a sentence, as JSON (`{"error": "..."}`).
fn bad(status: StatusCode, msg: impl Into<String>) -> axum::response::Response {
    (status, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

async fn queues(State(s): State<Arc<Shared>>) -> axum::response::Response {
    let (reply, rx) = tokio::sync::oneshot::channel();
    if s.queue.send(QueueCmd::Snapshot { reply }).await.is_err() {
        return bad(StatusCode::SERVICE_UNAVAILABLE, "the queue is not running");
    }
    match rx.await {
        Ok(v) => Json(v).into_response(),
        Err(_) => bad(StatusCode::SERVICE_UNAVAILABLE, "the queue is not running"),
    }
}

#[derive(serde::Deserialize, Default)]
struct AgentBody {
    reason: Option<String>,
    who: Option<String>,
}

async fn agent_op(
    State(s): State<Arc<Shared>>,
    axum::Extension(login): axum::Extension<Supervisor>,
    Path((id, op)): Path<(String, String)>,
    body: Option<Json<AgentBody>>,
) -> axum::response::Response {
    let body = body.map(|b| b.0).unwrap_or_default();
    let op = match crate::queue::parse_agent_op(&op, body.reason.as_deref()) {
        Ok(op) => op,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    let (reply, rx) = tokio::sync::oneshot::channel();
    let who = who(&login, body.who.as_deref());
    if s.queue
        .send(QueueCmd::Agent {
            agent: id,
            op,
            who,
            reply,
        })
        .await
        .is_err()
    {
        return bad(StatusCode::SERVICE_UNAVAILABLE, "the queue is not running");
    }
    match rx.await {
        Ok(Ok(())) => Json(serde_json::json!({ "ok": true })).into_response(),
        Ok(Err(e)) if e.contains("unknown agent") || e.contains("no agent") => {
            bad(StatusCode::NOT_FOUND, e)
        }
        Ok(Err(e)) => bad(StatusCode::CONFLICT, e),
        Err(_) => bad(StatusCode::SERVICE_UNAVAILABLE, "the queue is not running"),
    }
}

async fn directory(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    Json(serde_json::json!({
        "departments": dialplan::directory::list(&s.cfg, &s.calendar, s.now_unix()),
        "pause_reasons": s.cfg.dialing.pause_reasons,
    }))
}

fn operating_json(s: &Shared) -> serde_json::Value {
    let now = s.now_unix();
    let state = s
        .operating
        .lock()
        .map(|g| g.state().clone())
        .unwrap_or_default();
    let effective = state.effective_open(&s.calendar, now);
    serde_json::json!({
        "now": now,
        "night_mode": state.night_mode,
        "extended_until": state.extended_until,
        "effective": effective,
        "open": effective.is_open(),
    })
}

/// Apply one change to the operating state (written to the audit log by the store) and
/// answer with the new state, or a 400 with the store's sentence.
fn change_operating(
    s: &Shared,
    f: impl FnOnce(
        &mut dialplan::StateStore,
        u64,
    ) -> Result<dialplan::AuditRecord, dialplan::PersistError>,
) -> axum::response::Response {
    let now = s.now_unix();
    let r = s
        .operating
        .lock()
        .map_err(|_| "state lock poisoned".to_string())
        .and_then(|mut g| f(&mut g, now).map_err(|e| e.to_string()));
    match r {
        Ok(_) => Json(operating_json(s)).into_response(),
        Err(e) => bad(StatusCode::BAD_REQUEST, e),
    }
}

async fn operating(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    Json(operating_json(&s))
}

#[derive(serde::Deserialize)]
struct NightBody {
    on: bool,
    who: Option<String>,
}

async fn night(
    State(s): State<Arc<Shared>>,
    axum::Extension(login): axum::Extension<Supervisor>,
    body: Result<Json<NightBody>, axum::extract::rejection::JsonRejection>,
) -> axum::response::Response {
    let Ok(Json(b)) = body else {
        return bad(
            StatusCode::BAD_REQUEST,
            "send JSON like {\"on\": true, \"who\": \"supervisor name\"}",
        );
    };
    let who = who(&login, b.who.as_deref());
    change_operating(&s, |g, now| g.set_night_mode(b.on, &who, now))
}

#[derive(serde::Deserialize)]
struct ExtendBody {
    /// Unix seconds, or local time "YYYY-MM-DDTHH:MM".
    until: serde_json::Value,
    who: Option<String>,
}

async fn extend(
    State(s): State<Arc<Shared>>,
    axum::Extension(login): axum::Extension<Supervisor>,
    body: Result<Json<ExtendBody>, axum::extract::rejection::JsonRejection>,
) -> axum::response::Response {
    let Ok(Json(b)) = body else {
        return bad(
            StatusCode::BAD_REQUEST,
            "send JSON like {\"until\": \"2026-11-25T21:00\", \"who\": \"supervisor name\"}",
        );
    };
    let until = match &b.until {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(t) => parse_local(t, s.cfg.hours.timezone_offset_minutes),
        _ => None,
    };
    let Some(until) = until else {
        return bad(
            StatusCode::BAD_REQUEST,
            "until must be unix seconds or local time like 2026-11-25T21:00",
        );
    };
    let who = who(&login, b.who.as_deref());
    change_operating(&s, |g, now| g.extend_until(until, &who, now))
}

#[derive(serde::Deserialize)]
struct WhoBody {
    who: Option<String>,
}

async fn clear(
    State(s): State<Arc<Shared>>,
    axum::Extension(login): axum::Extension<Supervisor>,
    body: Result<Json<WhoBody>, axum::extract::rejection::JsonRejection>,
) -> axum::response::Response {
    let Ok(Json(b)) = body else {
        return bad(
            StatusCode::BAD_REQUEST,
            "send JSON like {\"who\": \"supervisor name\"}",
        );
    };
    let who = who(&login, b.who.as_deref());
    change_operating(&s, |g, now| g.clear(&who, now))
}

async fn audit(State(s): State<Arc<Shared>>) -> axum::response::Response {
    let r = s
        .operating
        .lock()
        .map_err(|_| "state lock poisoned".to_string())
        .and_then(|g| g.audit_log().map_err(|e| e.to_string()));
    match r {
        Ok(list) => Json(serde_json::to_value(list).unwrap_or_default()).into_response(),
        Err(e) => bad(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// "YYYY-MM-DDTHH:MM" in the center's local time → unix seconds.
pub fn parse_local(t: &str, offset_minutes: i32) -> Option<u64> {
    let (d, hm) = t.split_once('T')?;
    let mut dp = d.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (dp.next()??, dp.next()??, dp.next()??);
    let (h, mi) = hm.split_once(':')?;
    let dt = dialplan::LocalDateTime::new(
        y as i32,
        m as u8,
        day as u8,
        h.parse().ok()?,
        mi.get(..2)?.parse().ok()?,
    )?;
    Some(dt.to_unix(offset_minutes))
}

/// Browsers send Basic credentials with cross-site requests too, and a cross-site form
/// may POST `text/plain`, form-encoded or multipart without a CORS preflight. Every
/// change here takes JSON, so any other type (or none) is refused before the login is
/// even looked at: 415.
async fn json_changes_only(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let json = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if changes && !json {
        return bad(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "changes take a JSON body (Content-Type: application/json)",
        );
    }
    next.run(req).await
}

/// No page of the ops port may be shown inside another site's frame (clickjacking a
/// supervisor into approving a deletion; issue 9 Low: the recordings pages lacked
/// `frame-ancestors`): CSP level 2 `frame-ancestors 'none'` and, for older browsers,
/// `X-Frame-Options: DENY`; and no content sniffing of the JSON and WAV answers.
async fn not_framed(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A page's own policy (the recordings' player) keeps its rules and gains this one.
    let csp = match h
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
    {
        Some(p) if p.contains("frame-ancestors") => None,
        Some(p) => HeaderValue::from_str(&format!("{p}; frame-ancestors 'none'")).ok(),
        None => Some(HeaderValue::from_static("frame-ancestors 'none'")),
    };
    if let Some(v) = csp {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// The logged-in supervisor, for the audit log.
#[derive(Clone)]
struct Supervisor(String);

async fn require_supervisor(
    State(s): State<Arc<Shared>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let value = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let source = recorder::auth::client_ip(&req);
    let outcome = s.supervisors.check_request(value.as_deref(), source).await;
    match outcome {
        recorder::auth::AuthOutcome::Ok(user) => {
            req.extensions_mut().insert(Supervisor(user));
            next.run(req).await
        }
        recorder::auth::AuthOutcome::Locked => bad(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins for this user; try again in five minutes",
        ),
        recorder::auth::AuthOutcome::Busy => {
            let mut r = bad(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy checking logins; retry",
            );
            r.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("2"));
            r
        }
        _ => {
            let mut r = bad(
                StatusCode::UNAUTHORIZED,
                "log in as a supervisor to change the switch",
            );
            r.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static(
                    "Basic realm=\"madoguchi\", charset=\"UTF-8\"",
                ),
            );
            r
        }
    }
}

/// "who" for the audit log: the login, and the name typed in the request if it differs.
/// The typed name is cut to 64 characters without control characters: it goes into
/// the audit log (a 2 MB or multi-line `who` was accepted before, issue 9 Low).
fn who(login: &Supervisor, typed: Option<&str>) -> String {
    let typed: Option<String> =
        typed.map(|t| t.chars().filter(|c| !c.is_control()).take(64).collect());
    match typed {
        Some(t) if !t.is_empty() && t != login.0 => format!("{t} (login {})", login.0),
        _ => login.0.clone(),
    }
}
