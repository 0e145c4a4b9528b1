//! The supervisors' web pages (`/recordings`) and the JSON API (`/api/v1/recordings`).
//! Everything requires a supervisor login (see `auth` for why HTTP Basic). Every play
//! and download is written to the audit table before a byte of audio is sent.

// Handlers return `Result<_, Response>`: the error *is* the reply, built once, so its
// size does not matter.
#![allow(clippy::result_large_err)]

mod audio;
mod pages;

// Also used by the switch for the XML of presence notifications (same five characters).
pub use pages::{esc, Look};

use crate::auth::{Auth, AuthOutcome, Supervisor};
use crate::catalogue::{RecordingRow, SearchFilter, State};
use crate::error::RecorderError;
use crate::recorder::Recorder;
use crate::time;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use std::time::SystemTime;

/// What the handlers share: the recorder and the supervisors who may use it.
pub struct RecorderState {
    pub recorder: Recorder,
    pub auth: Arc<Auth>,
    /// How the pages are dressed (the ops port's shared look), given by the switch.
    pub look: Look,
    /// Listening sessions already audited (see `audio`).
    sessions: audio::Sessions,
}

impl RecorderState {
    pub fn new(recorder: Recorder, supervisors: Vec<Supervisor>) -> Arc<RecorderState> {
        RecorderState::with_auth(recorder, Arc::new(Auth::new(supervisors)))
    }

    /// Share the login (and its failure counters) with the rest of the ops port.
    pub fn with_auth(recorder: Recorder, auth: Arc<Auth>) -> Arc<RecorderState> {
        RecorderState::dressed(recorder, auth, Look::default())
    }

    /// The same, with the pages in the look of the other supervisors' pages.
    pub fn dressed(recorder: Recorder, auth: Arc<Auth>, look: Look) -> Arc<RecorderState> {
        Arc::new(RecorderState {
            recorder,
            auth,
            look,
            sessions: audio::Sessions::default(),
        })
    }
}

/// The logged-in supervisor, put in the request by the login layer.
#[derive(Debug, Clone)]
pub struct User(pub String);

type S = Arc<RecorderState>;

/// Routes under `/recordings` and `/api/v1/recordings`, with full paths: `merge` it into
/// the switch's router (do not `nest` it).
pub fn router(state: Arc<RecorderState>) -> Router {
    Router::new()
        .route("/recordings", get(search_page))
        .route("/recordings/{id}", get(player_page))
        .route("/recordings/{id}/play", get(audio::play))
        .route("/recordings/{id}/download", get(audio::download))
        .route("/api/v1/recordings", get(search_json))
        .route("/api/v1/recordings/status", get(status))
        .route("/api/v1/recordings/audit", get(audit_json))
        .route(
            "/api/v1/recordings/deletion-requests",
            post(request_deletion),
        )
        .route(
            "/api/v1/recordings/deletion-requests/{id}",
            get(show_request),
        )
        .route(
            "/api/v1/recordings/deletion-requests/{id}/approve",
            post(approve),
        )
        .route("/api/v1/recordings/{id}", get(show_json))
        .route("/api/v1/recordings/{id}/audio", get(audio::download))
        .route("/api/v1/recordings/{id}/delete", post(delete_one))
        .layer(middleware::from_fn_with_state(state.clone(), require_login))
        .with_state(state)
}

async fn require_login(AxState(st): AxState<S>, mut req: Request, next: Next) -> Response {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let source = crate::auth::client_ip(&req);
    let outcome = st.auth.check_request(value.as_deref(), source).await;
    match outcome {
        AuthOutcome::Ok(user) => {
            req.extensions_mut().insert(User(user));
            next.run(req).await
        }
        AuthOutcome::Locked => error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins for this user; try again in five minutes",
        ),
        AuthOutcome::Busy => {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy checking logins; retry",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            r
        }
        AuthOutcome::Missing | AuthOutcome::BadCredentials => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "log in as a supervisor to use the recordings",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"madoguchi recordings\", charset=\"UTF-8\""),
            );
            r
        }
    }
}

/// A JSON error with a sentence that says what is wrong.
fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(serde_json::json!({ "error": msg }))).into_response()
}

impl IntoResponse for RecorderError {
    fn into_response(self) -> Response {
        use RecorderError::*;
        let status = match &self {
            UnknownRecording(_) | UnknownRequest(_) => StatusCode::NOT_FOUND,
            AlreadyDeleted(_) | AlreadyApproved(_) | StillRecording(_) | NothingDue
            | DuplicateCall(_) | NotRecorded(_) => StatusCode::CONFLICT,
            Invalid(_) => StatusCode::BAD_REQUEST,
            DiskFull { .. } => StatusCode::INSUFFICIENT_STORAGE,
            Db(_) | Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "recordings API");
        }
        error(status, &self.to_string())
    }
}

type ApiResult<T> = Result<T, Response>;

fn parse_id(s: &str) -> ApiResult<i64> {
    s.parse::<i64>().ok().filter(|&i| i > 0).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("'{s}' is not a recording number"),
        )
    })
}

/// Search criteria as they come in the query string; dates are local `YYYY-MM-DD`.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub number: Option<String>,
    pub operator: Option<String>,
    pub caller: Option<String>,
    pub state: Option<String>,
    pub limit: Option<u32>,
    /// Rows to skip (the next page starts at offset + limit).
    pub offset: Option<u32>,
}

impl SearchQuery {
    fn filter(&self, offset: i32) -> ApiResult<SearchFilter> {
        let date = |name: &str, v: &Option<String>| -> ApiResult<Option<i64>> {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => time::parse_local_date(s, offset).map(Some).ok_or_else(|| {
                    error(
                        StatusCode::BAD_REQUEST,
                        &format!("{name} must be a date like 2026-11-25, not '{s}'"),
                    )
                }),
            }
        };
        let state = match self.state.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(State::parse(s).ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "state must be recording, complete, interrupted, due or deleted, not '{s}'"
                    ),
                )
            })?),
        };
        let from = date("from", &self.from)?;
        // `to` names the last day wanted, so the bound is the midnight after it.
        let to = date("to", &self.to)?.map(|t| t + 86_400);
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err(error(StatusCode::BAD_REQUEST, "from must not be after to"));
            }
        }
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(SearchFilter {
            from,
            to,
            number: clean(&self.number),
            operator: clean(&self.operator),
            caller: clean(&self.caller),
            state,
            include_deleted: state == Some(State::Deleted),
            limit: self.limit.unwrap_or(PAGE).clamp(1, 1000),
            offset: self.offset.unwrap_or(0),
        })
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RecorderError> + Send + 'static,
) -> ApiResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(IntoResponse::into_response),
        Err(_) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
    }
}

/// Rows per page when the query names no limit.
pub const PAGE: u32 = 200;

/// One page of rows and how many match in all.
async fn page_of(st: &S, f: SearchFilter) -> ApiResult<(Vec<RecordingRow>, u64)> {
    let r = st.recorder.clone();
    blocking(move || Ok((r.catalogue().search(&f)?, r.catalogue().count(&f)?))).await
}

/// The rows of one page (`limit`, `offset`); the total that match is in `X-Total-Count`,
/// so a client knows when 200 rows are not all there is.
async fn search_json(AxState(st): AxState<S>, Query(q): Query<SearchQuery>) -> ApiResult<Response> {
    let f = q.filter(st.recorder.config().utc_offset_secs)?;
    let (rows, total) = page_of(&st, f).await?;
    Ok((
        [(
            header::HeaderName::from_static("x-total-count"),
            HeaderValue::from(total),
        )],
        Json(rows),
    )
        .into_response())
}

async fn search_page(
    AxState(st): AxState<S>,
    Query(q): Query<SearchQuery>,
    Extension(user): Extension<User>,
) -> Response {
    let offset = st.recorder.config().utc_offset_secs;
    let (rows, total, problem) = match q.filter(offset) {
        Ok(f) => match page_of(&st, f).await {
            Ok((rows, total)) => (rows, total, None),
            Err(resp) => return resp,
        },
        Err(_) => (
            Vec::new(),
            0,
            Some("日付は 2026-11-25 のように入力してください。"),
        ),
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(
        status,
        pages::search(&st.look, &q, &rows, total, problem, &user.0, offset),
    )
}

async fn row_or_404(st: &S, id: i64) -> ApiResult<RecordingRow> {
    let r = st.recorder.clone();
    blocking(move || r.catalogue().get(id))
        .await?
        .ok_or_else(|| RecorderError::UnknownRecording(id.to_string()).into_response())
}

async fn player_page(
    AxState(st): AxState<S>,
    Path(id): Path<String>,
    Extension(user): Extension<User>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match row_or_404(&st, id).await {
        Ok(row) => html(
            StatusCode::OK,
            pages::player(
                &st.look,
                &row,
                &user.0,
                st.recorder.config().utc_offset_secs,
                &audio::new_session(),
            ),
        ),
        Err(r) => r,
    }
}

async fn show_json(
    AxState(st): AxState<S>,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordingRow>> {
    Ok(Json(row_or_404(&st, parse_id(&id)?).await?))
}

async fn status(AxState(st): AxState<S>) -> Json<crate::stats::StatsSnapshot> {
    Json(st.recorder.stats())
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    recording_id: Option<i64>,
    limit: Option<u32>,
}

async fn audit_json(
    AxState(st): AxState<S>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<crate::AuditEntry>>> {
    let r = st.recorder.clone();
    let limit = q.limit.unwrap_or(200).min(5000);
    Ok(Json(
        blocking(move || r.catalogue().audit_log(q.recording_id, limit)).await?,
    ))
}

/// A JSON body, or a 4xx with a sentence. A body that is not `application/json` gets
/// 415: that refusal is what keeps cross-site forms from acting with a supervisor's
/// credentials.
fn body<T>(b: Result<Json<T>, JsonRejection>, example: &str) -> ApiResult<T> {
    match b {
        Ok(Json(v)) => Ok(v),
        Err(JsonRejection::MissingJsonContentType(_)) => Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with Content-Type: application/json",
        )),
        Err(_) => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("the body must be JSON like {example}"),
        )),
    }
}

#[derive(Debug, Deserialize)]
struct Empty {}

async fn request_deletion(
    AxState(st): AxState<S>,
    Extension(user): Extension<User>,
    b: Result<Json<Empty>, JsonRejection>,
) -> ApiResult<Json<crate::DeletionRequest>> {
    body(b, "{}")?;
    let r = st.recorder.clone();
    Ok(Json(
        blocking(move || r.create_deletion_request(SystemTime::now(), &user.0)).await?,
    ))
}

async fn show_request(
    AxState(st): AxState<S>,
    Path(id): Path<String>,
) -> ApiResult<Json<crate::DeletionRequest>> {
    let id = id.parse::<i64>().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("'{id}' is not a deletion request number"),
        )
    })?;
    let r = st.recorder.clone();
    Ok(Json(blocking(move || r.deletion_request(id)).await?))
}

#[derive(Debug, Deserialize)]
struct ApproveBody {
    /// The official who approved (as on the approval document).
    approved_by: String,
    /// The approval document's number.
    reference: String,
}

async fn approve(
    AxState(st): AxState<S>,
    Path(id): Path<String>,
    Extension(user): Extension<User>,
    b: Result<Json<ApproveBody>, JsonRejection>,
) -> ApiResult<Json<crate::Approval>> {
    let id = id.parse::<i64>().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("'{id}' is not a deletion request number"),
        )
    })?;
    let a = body(
        b,
        r#"{"approved_by": "市民協働課長", "reference": "いわき市第123号"}"#,
    )?;
    let r = st.recorder.clone();
    // The approver is who the document names; the audit line also says who entered it.
    let who = format!("{} (entered by {})", a.approved_by.trim(), user.0);
    if a.approved_by.trim().is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "approved_by must name who approved",
        ));
    }
    Ok(Json(
        blocking(move || r.approve(id, &who, &a.reference, SystemTime::now())).await?,
    ))
}

#[derive(Debug, Deserialize)]
struct DeleteBody {
    reason: String,
}

async fn delete_one(
    AxState(st): AxState<S>,
    Path(id): Path<String>,
    Extension(user): Extension<User>,
    b: Result<Json<DeleteBody>, JsonRejection>,
) -> ApiResult<Json<RecordingRow>> {
    let id = parse_id(&id)?;
    let d = body(b, r#"{"reason": "市民からの削除依頼"}"#)?;
    let r = st.recorder.clone();
    Ok(Json(
        blocking(move || r.delete_one(id, &user.0, &d.reason, SystemTime::now())).await?,
    ))
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // No scripts at all on these pages; media only from here.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; form-action 'self'"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Html(body),
    )
        .into_response()
}
