//! HTTP: the router, and the middleware every request passes (identity, rate limits,
//! access log, security headers).

pub mod desk;
pub mod desktop;
pub mod forms;
pub mod handovers;
pub mod home;
pub mod html;
pub mod inquiry;
pub mod mailpages;
pub mod reports;
pub mod screenpop;
pub mod users;

use crate::app::App;
use crate::auth::{self, SessionUser};
use crate::error::HistoryError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use faq::clock::unix_now;
use std::sync::Arc;
use websupport::web::{cookie, Denied, NotSignedIn, RequestMeta};

pub const SESSION_COOKIE: &str = "history_session";
/// Login attempts per minute per address (the lockout per account is in `auth`).
pub const LOGIN_PER_MIN: u32 = 20;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home::home))
        .route(
            "/static/desk.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    html::STYLE,
                )
            }),
        )
        .route("/inquiry", get(inquiry::form))
        .route("/inquiry/confirm", post(inquiry::confirm))
        .route("/inquiry/edit", post(inquiry::edit))
        .route("/inquiry/send", post(inquiry::send))
        .route("/api/v1/inquiries", post(inquiry::api_create))
        .route("/desk/inquiries", get(mailpages::inquiries))
        .route(
            "/desk/inquiries/{id}",
            get(mailpages::inquiry).post(mailpages::reply),
        )
        .route("/desk/handovers", get(handovers::list))
        .route(
            "/desk/handovers/{id}",
            get(handovers::show).post(handovers::update),
        )
        .route("/api/v1/handovers/summary", get(handovers::summary))
        .route("/desk/mail", get(mailpages::outbox))
        .route("/desk/phone", get(desktop::phone))
        .route("/desk/faq", get(desktop::faq_search))
        .route("/desk/directory", get(desktop::directory))
        .route(
            "/desk/state",
            get(desktop::state).post(desktop::change_state),
        )
        .route("/desk/events", get(screenpop::events))
        .route(
            "/static/desk.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    desktop::SCRIPT,
                )
            }),
        )
        .route("/desk/login", get(desk::login_form).post(desk::login))
        .route("/desk/logout", post(desk::logout))
        .route("/desk", get(desk::list))
        .route("/desk/contacts/new", get(desk::new_form))
        .route("/desk/contacts", post(desk::create))
        .route("/desk/contacts/{id}", get(desk::show).post(desk::update))
        .route("/desk/contacts/{id}/edit", get(desk::edit_form))
        .route("/desk/export.csv", get(reports::export_csv))
        .route("/desk/export.xlsx", get(reports::export_xlsx))
        .route("/desk/log", get(reports::access_log))
        .route("/desk/users", get(users::list).post(users::save))
        .route("/desk/users/{login}/unlock", post(users::unlock))
        .route(
            "/desk/password",
            get(users::password_form).post(users::change_password),
        )
        .route("/api/v1/contacts", get(reports::api_search))
        .fallback(|| async { AppError::NotFound })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware,
        ))
        .with_state(app)
}

/// Who is asking, resolved once per request by the middleware (`websupport`'s, shared
/// with the FAQ site).
pub type Identity = websupport::web::Identity<SessionUser>;
/// A signed-in staff member; pages that need one redirect to the login form otherwise,
/// the API answers 401.
pub type Staff = websupport::web::Staff<SessionUser>;

async fn middleware(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let meta = RequestMeta::of(&req);
    let ip = websupport::web::peer_ip(&req)
        .map(|a| a.to_string())
        .unwrap_or_else(|| "-".into());
    let mut id = Identity {
        ip: ip.clone(),
        ..Identity::default()
    };
    if let Some(token) = cookie(req.headers(), SESSION_COOKIE) {
        id.staff = crate::app::blocking(&app, move |a| auth::session_user(&a.db, &token))
            .await
            .unwrap_or_else(|e| {
                tracing::error!("session lookup: {e}");
                None
            });
    }
    let limited = meta.method == "POST"
        && meta.path == "/desk/login"
        && !app.limiter.allow(&format!("login:{ip}"), LOGIN_PER_MIN);
    req.extensions_mut().insert(id.clone());
    let mut resp = if limited {
        let mut r = (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded\n").into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        r
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    websupport::web::harden(h);
    if meta.path.starts_with("/desk") || meta.path.starts_with("/api/") {
        // Personal data: never in a shared cache or the browser's back/forward cache.
        websupport::web::no_store(h);
    }
    app.log
        .record(meta.record(unix_now(), &ip, &id.log_name(), resp.status().as_u16()));
    resp
}

impl From<NotSignedIn> for AppError {
    fn from(n: NotSignedIn) -> Self {
        if n.api {
            AppError::Unauthorized
        } else {
            AppError::Login
        }
    }
}

impl From<Denied> for AppError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Forbidden => AppError::Forbidden,
            Denied::Csrf => AppError::Csrf,
        }
    }
}

#[derive(Debug)]
pub enum AppError {
    NotFound,
    Login,
    Unauthorized,
    Forbidden,
    Csrf,
    Conflict,
    Busy,
    BadRequest(String),
    Internal(String),
}

impl From<HistoryError> for AppError {
    fn from(e: HistoryError) -> Self {
        match e {
            HistoryError::NotFound => AppError::NotFound,
            HistoryError::Invalid(v) => AppError::BadRequest(v.join("\n")),
            HistoryError::Conflict => AppError::Conflict,
            e => AppError::Internal(e.to_string()),
        }
    }
}

fn error_page(status: StatusCode, msg: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/desk\">デスクへ戻る</a></p>",
        status.as_u16(),
        html::esc_multiline(msg)
    );
    (
        status,
        Html(html::bare_page(msg.lines().next().unwrap_or(""), &body)),
    )
        .into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => error_page(StatusCode::NOT_FOUND, "ページが見つかりません"),
            AppError::Login => Redirect::to("/desk/login").into_response(),
            AppError::Unauthorized => error_page(StatusCode::UNAUTHORIZED, "ログインしてください"),
            AppError::Forbidden => error_page(StatusCode::FORBIDDEN, "この操作を行う権限がありません"),
            AppError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "フォームの有効期限が切れたか、不正な送信です。画面を開き直してください",
            ),
            AppError::Conflict => error_page(
                StatusCode::CONFLICT,
                "ほかの人がこの記録を先に更新しました。記録を開き直して、変更をもう一度入力してください",
            ),
            AppError::Busy => {
                let mut r = error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "混み合っています。少し待ってからもう一度お試しください",
                );
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
            AppError::BadRequest(m) => error_page(StatusCode::BAD_REQUEST, &m),
            AppError::Internal(e) => {
                tracing::error!("internal error: {e}");
                error_page(StatusCode::INTERNAL_SERVER_ERROR, "内部エラーが発生しました")
            }
        }
    }
}

pub type WebResult<T = Response> = Result<T, AppError>;
