//! Playing and downloading a recording: byte ranges (RFC 9110 §14) so the browser's
//! player can seek, and one audit row per listening session rather than per request.
//!
//! The file is served by tower-http's `ServeFile` (Range, If-Range, 206/416,
//! Last-Modified). A seek is a new request with a `Range`; auditing each would fill the
//! audit table with rows for one listening. So the player page gives its `<audio>` a
//! session token (`?session=…`), and the first request of a (supervisor, recording,
//! token) is audited — before a byte is sent, as always — and the rest are not. A
//! request without a token (a download, the API, an old link) is audited every time.

use super::{error, parse_id, row_or_404, ApiResult, User, S};
use crate::catalogue::State;
use crate::time;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};
use tower::ServiceExt;
use tower_http::services::ServeFile;

/// A listening session is forgotten after this long (a supervisor who comes back to the
/// open page the next day is audited again).
const SESSION_TTL: Duration = Duration::from_secs(4 * 3600);
/// Bounded memory, whatever a client sends.
const MAX_SESSIONS: usize = 10_000;

type SessionKey = (String, i64, String);

#[derive(Default)]
pub(super) struct Sessions(Mutex<HashMap<SessionKey, Instant>>);

impl Sessions {
    /// True the first time this session asks (it must be audited), false afterwards.
    fn start(&self, key: &SessionKey, now: Instant) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= MAX_SESSIONS {
            m.retain(|_, t| now.duration_since(*t) < SESSION_TTL);
        }
        match m.get(key) {
            Some(t) if now.duration_since(*t) < SESSION_TTL => false,
            _ if m.len() >= MAX_SESSIONS => true, // full of live sessions: audit, keep none
            _ => {
                m.insert(key.clone(), now);
                true
            }
        }
    }

    /// The audit row could not be written: the next request must try again.
    fn forget(&self, key: &SessionKey) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// A fresh session token for the player page.
pub(super) fn new_session() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AudioQuery {
    session: Option<String>,
}

pub(super) async fn play(
    st: AxState<S>,
    id: Path<String>,
    user: Extension<User>,
    q: Query<AudioQuery>,
    req: Request,
) -> ApiResult<Response> {
    serve(st, id, user, q.0.session, req, "play").await
}

pub(super) async fn download(
    st: AxState<S>,
    id: Path<String>,
    user: Extension<User>,
    req: Request,
) -> ApiResult<Response> {
    serve(st, id, user, None, req, "download").await
}

async fn serve(
    AxState(st): AxState<S>,
    Path(id): Path<String>,
    Extension(user): Extension<User>,
    session: Option<String>,
    req: Request,
    action: &'static str,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let row = row_or_404(&st, id).await?;
    if row.state == State::Deleted {
        return Err(error(
            StatusCode::GONE,
            &format!("recording {id} was deleted; only its catalogue entry remains"),
        ));
    }
    // A token is ours only if it looks like one: anything else is audited every time.
    let key = session
        .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|t| (user.0.clone(), id, t));
    let first = key
        .as_ref()
        .is_none_or(|k| st.sessions.start(k, Instant::now()));
    if first {
        let r = st.recorder.clone();
        let who = user.0.clone();
        let detail = format!("{} via web, {}", row.call_id, row.path);
        // Audit first: if the line cannot be written, the audio is not sent.
        let audited = super::blocking(move || {
            r.catalogue().audit(
                time::unix_secs(SystemTime::now()),
                &who,
                action,
                Some(id),
                &detail,
            )
        })
        .await;
        if let Err(resp) = audited {
            if let Some(k) = &key {
                st.sessions.forget(k);
            }
            return Err(resp);
        }
    }
    let path = st.recorder.file_path(&row.path);
    let mut resp = match ServeFile::new(&path).oneshot(req).await {
        Ok(r) => r.map(axum::body::Body::new),
        Err(e) => match e {},
    };
    if resp.status() == StatusCode::NOT_FOUND {
        tracing::error!(id, path = %path.display(), "a catalogued recording's file is missing");
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the file of recording {id} is missing on disk"),
        ));
    }
    let name = std::path::Path::new(&row.path)
        .file_name()
        .map(|n| n.to_string_lossy().replace(['"', '\\'], "_"))
        .unwrap_or_else(|| format!("{id}.wav"));
    let disposition = if action == "play" {
        "inline"
    } else {
        "attachment"
    };
    let cd = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let h = resp.headers_mut();
    if h.contains_key(header::CONTENT_TYPE) {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    }
    h.insert(header::CONTENT_DISPOSITION, cd);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_audited_once_until_it_expires() {
        let s = Sessions::default();
        let k = ("sv".to_string(), 7, new_session());
        let t0 = Instant::now();
        assert!(s.start(&k, t0));
        assert!(!s.start(&k, t0 + Duration::from_secs(60)));
        assert!(s.start(&k, t0 + SESSION_TTL + Duration::from_secs(1)));
        s.forget(&k);
        assert!(s.start(&k, t0 + SESSION_TTL + Duration::from_secs(2)));
        // Another supervisor or recording with the same token is another session.
        assert!(s.start(&("sv2".to_string(), 7, k.2.clone()), t0));
        assert!(s.start(&("sv".to_string(), 8, k.2.clone()), t0));
    }
}
