//! The live event feed for the operators' desktop (issue 11): `GET /api/v1/events` on
//! the ops port streams Server-Sent Events (WHATWG HTML §9.2) — today one kind,
//! `ringing`: "operator X's phone is ringing for call C, dialled line L, caller N" —
//! so the history sidecar can pop the caller's record on the operator's screen.
//!
//! Supervisors' login (HTTP Basic) sees every operator; an operator logging in with
//! their own SIP account sees only their own phone. Publishing never waits: a desk that
//! reads too slowly loses old events (broadcast lag), never the switch's time.
//!
//! The sender is process-wide (one switch per process); the call task publishes each
//! `callctl` `Offered` event here, with the line and caller of the call's `Arrived`.

use crate::Shared;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::broadcast;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ringing {
    /// The operator (agent id) whose phone rings.
    pub agent: String,
    /// The switch's call reference.
    pub call: String,
    /// The representative number dialled (national form) and its name (市代表 …).
    pub dialled: String,
    pub line: String,
    /// The calling number as the trunk gave it.
    pub caller: String,
    /// Unix milliseconds.
    pub at_ms: u64,
}

fn sender() -> &'static broadcast::Sender<Arc<Ringing>> {
    static FEED: OnceLock<broadcast::Sender<Arc<Ringing>>> = OnceLock::new();
    FEED.get_or_init(|| broadcast::channel(256).0)
}

/// Called by the call task when the call machine offers the call to an operator
/// (`callctl` `Offered` event): `dialled` in national form, `line` its name.
pub fn ringing(agent: &str, call: &str, dialled: &str, line: &str, caller: &str, at_ms: u64) {
    let ev = Ringing {
        agent: agent.to_string(),
        call: call.to_string(),
        dialled: dialled.to_string(),
        line: line.to_string(),
        caller: caller.to_string(),
        at_ms,
    };
    // No subscriber is fine: nobody's desk is open.
    let _ = sender().send(Arc::new(ev));
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FeedQuery {
    /// Only this operator's events (supervisors may choose; operators get their own).
    agent: String,
}

/// Who may read the feed: a supervisor (any agent) or an operator (their own).
// The error is the HTTP answer itself, built once per refused request.
#[allow(clippy::result_large_err)]
fn viewer(
    s: &Shared,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
) -> Result<Option<String>, Response> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let recorder::auth::AuthOutcome::Ok(_) = s.supervisors.check(value) {
        return Ok(None);
    }
    // An operator: Basic with their SIP account (id and password from the configuration).
    // Failures count per (user, source) like digest's, or the feed would be a way to
    // guess an operator's SIP password without limit.
    if let Some((user, pw)) = value.and_then(basic) {
        let now = std::time::Instant::now();
        let mut lim = s.feed_logins.lock().unwrap_or_else(|p| p.into_inner());
        if lim.is_blocked(&user, ip, now) {
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed logins; try again later\n",
            )
                .into_response());
        }
        if let Some(a) = s.cfg.agent(&user) {
            if constant_eq(a.password.as_bytes(), pw.as_bytes()) {
                lim.record_success(&user, ip, now);
                return Ok(Some(user));
            }
        }
        lim.record_failure(&user, ip, now);
    }
    let mut r = (
        StatusCode::UNAUTHORIZED,
        "log in as a supervisor or operator\n",
    )
        .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Basic realm=\"madoguchi\", charset=\"UTF-8\""),
    );
    Err(r)
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Basic base64(user:password)` → (user, password).
fn basic(v: &str) -> Option<(String, String)> {
    let b64 = v.strip_prefix("Basic ")?.trim();
    let raw = decode_b64(b64)?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    Some(out)
}

/// `GET /api/v1/events`: `text/event-stream`, one `event: ringing` per ring, a comment
/// every 15 s so proxies and clients notice a dead connection.
// `viewer`'s error is the HTTP answer itself (see there), also through spawn_blocking.
#[allow(clippy::result_large_err)]
pub async fn events(
    State(s): State<Arc<Shared>>,
    axum::extract::ConnectInfo(remote): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<FeedQuery>,
) -> Response {
    let s2 = s.clone();
    let who = match tokio::task::spawn_blocking(move || viewer(&s2, &headers, remote.ip())).await {
        Ok(Ok(w)) => w,
        Ok(Err(r)) => return r,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let only = who.or((!q.agent.is_empty()).then_some(q.agent));
    let rx = sender().subscribe();
    let stream =
        futures_util::stream::unfold((rx, only, true), |(mut rx, only, first)| async move {
            if first {
                // Tells the client the stream is open (and how long to wait before reconnecting).
                return Some((
                    Ok::<_, Infallible>("retry: 2000\n: ok\n\n".to_string()),
                    (rx, only, false),
                ));
            }
            loop {
                match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
                    Err(_) => return Some((Ok(": keep-alive\n\n".to_string()), (rx, only, false))),
                    Ok(Ok(ev)) => {
                        if only.as_ref().is_some_and(|a| a != &ev.agent) {
                            continue;
                        }
                        let data = serde_json::to_string(&*ev).unwrap_or_default();
                        return Some((
                            Ok(format!("event: ringing\ndata: {data}\n\n")),
                            (rx, only, false),
                        ));
                    }
                    Ok(Err(broadcast::error::RecvError::Lagged(n))) => {
                        tracing::warn!(skipped = n, "event feed reader too slow");
                    }
                    Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                }
            }
        });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_credentials() {
        // "1001:madoguchi-1001"
        assert_eq!(
            super::basic("Basic MTAwMTptYWRvZ3VjaGktMTAwMQ=="),
            Some(("1001".into(), "madoguchi-1001".into()))
        );
        assert_eq!(super::basic("Bearer x"), None);
        assert_eq!(super::basic("Basic !!!"), None);
    }
}
