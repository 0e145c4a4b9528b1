//! The screen pop's event stream: `/desk/events` (Server-Sent Events) relays the
//! switch's "this operator's phone rings" events to the desks that follow that operator
//! (the page itself is `desktop.rs`).

use super::Staff;
use crate::app::App;
use crate::auth::Role;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AgentQuery {
    pub(crate) agent: String,
}

/// Whose phone this desk follows: an operator their own agent id; a supervisor may
/// choose one (`?agent=`) or follow all.
pub(crate) fn follows(staff: &Staff, q: &AgentQuery) -> Option<String> {
    if staff.0.role >= Role::Supervisor {
        (!q.agent.is_empty()).then(|| q.agent.clone())
    } else if staff.0.agent_id.is_empty() {
        Some(staff.0.login.clone())
    } else {
        Some(staff.0.agent_id.clone())
    }
}

pub async fn events(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(q): Query<AgentQuery>,
) -> Response {
    let only = follows(&staff, &q);
    let rx = app.ringing.subscribe();
    let stream =
        futures_util::stream::unfold((rx, only, true), |(mut rx, only, first)| async move {
            if first {
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
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                }
            }
        });
    (
        [(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
