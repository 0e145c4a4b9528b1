//! HTTP: the router, and the middleware every request passes (identity, rate limits,
//! access log, security headers).

pub mod admin;
pub mod admin_tools;
pub mod api;
pub mod categories;
pub mod history;
pub mod html;
pub mod insights;
pub mod public;

use crate::app::App;
use crate::auth::{self, SessionUser};
use crate::error::FaqError;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
pub use websupport::web::{constant_eq, cookie};
use websupport::web::{Denied, NotSignedIn, RequestMeta};

pub const SESSION_COOKIE: &str = "faq_session";
/// Requests per minute: anonymous API clients per address, API keys per key, ratings.
pub const API_ANON_PER_MIN: u32 = 120;
pub const API_KEY_PER_MIN: u32 = 1200;
pub const RATE_PER_MIN: u32 = 10;
/// Attachments (PDF, images) up to this size.
pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(public::home))
        .route("/search", get(public::search))
        .route("/category", get(public::category))
        .route("/department", get(public::department))
        .route("/faq/{id}", get(public::entry))
        .route("/faq/{id}/rate", post(public::rate))
        .route("/files/{aid}", get(public::file))
        .route(
            "/static/style.css",
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
        .route(
            "/static/app.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    html::SCRIPT,
                )
            }),
        )
        .route("/api/v1/faq/search", get(api::search))
        .route("/api/v1/faq/suggest", get(api::suggest))
        .route("/api/v1/faq/ranking", get(api::ranking))
        .route("/api/v1/faq", get(api::list_all))
        .route("/api/v1/faq/{id}", get(api::get_one))
        .route("/api/v1/export.csv", get(api::export_csv))
        .route("/admin/login", get(admin::login_form).post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin", get(admin::list))
        .route("/admin/new", get(admin::new_form).post(admin::create))
        .route("/admin/faq/{id}", get(admin::show))
        .route(
            "/admin/faq/{id}/edit",
            get(admin::edit_form).post(admin::update),
        )
        .route("/admin/faq/{id}/publish", post(admin::publish))
        .route("/admin/faq/{id}/restore/{seq}", post(history::restore))
        .route("/admin/faq/{id}/delete", post(admin::delete))
        .route(
            "/admin/faq/{id}/attachments",
            post(admin::upload).layer(DefaultBodyLimit::max(MAX_UPLOAD + 64 * 1024)),
        )
        .route(
            "/admin/attachments/{aid}/delete",
            post(admin::delete_attachment),
        )
        .route("/admin/csv", get(admin_tools::csv_page))
        .route(
            "/admin/categories",
            get(categories::list).post(categories::change),
        )
        .route("/admin/export.csv", get(admin_tools::export_csv))
        .route("/admin/export.xlsx", get(admin_tools::export_xlsx))
        .route(
            "/admin/import",
            post(admin_tools::import_csv).layer(DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/admin/ranking", get(insights::ranking))
        .route("/admin/unfound", get(insights::unfound))
        .route("/admin/unfound.csv", get(insights::unfound_csv))
        .route(
            "/admin/keywords",
            get(insights::keywords).post(insights::set_keyword),
        )
        .route("/admin/ratings", get(admin_tools::ratings))
        .route(
            "/admin/users",
            get(admin_tools::users).post(admin_tools::create_user),
        )
        .route(
            "/admin/users/{login}/unlock",
            post(admin_tools::unlock_user),
        )
        .route(
            "/admin/keys",
            get(admin_tools::keys).post(admin_tools::create_key),
        )
        .route("/admin/keys/{id}/revoke", post(admin_tools::revoke_key))
        .route("/admin/log", get(admin_tools::access_log))
        .fallback(|| async { AppError::NotFound })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware,
        ))
        .with_state(app)
}

/// Who is asking, resolved once per request by the middleware (`websupport`'s, shared
/// with the contact history).
pub type Identity = websupport::web::Identity<SessionUser>;
/// A signed-in staff member; pages that need one redirect to the login form otherwise.
pub type Staff = websupport::web::Staff<SessionUser>;

async fn middleware(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let meta = RequestMeta::of(&req);
    let ip = websupport::web::peer_ip(&req)
        .map(|peer| app.proxies.client_ip(peer, req.headers()).to_string())
        .unwrap_or_else(|| "-".into());
    let mut id = Identity {
        ip: ip.clone(),
        ..Identity::default()
    };
    if let Some(token) = cookie(req.headers(), SESSION_COOKIE) {
        id.staff = auth::session_user(&app.db, &token).unwrap_or_else(|e| {
            tracing::error!("session lookup: {e}");
            None
        });
    }
    if let Some(key) = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) {
        id.api_key = auth::check_api_key(&app.db, key).unwrap_or(None);
        if id.api_key.is_none() {
            let resp = AppError::Unauthorized("APIキーが無効です".into()).into_response();
            return log_and_harden(&app, &id, &meta, resp);
        }
    }
    let limited = if meta.path.starts_with("/api/") {
        match &id.api_key {
            Some(k) => !app.limiter.allow(&format!("key:{k}"), API_KEY_PER_MIN),
            None => !app.limiter.allow(&format!("ip:{ip}"), API_ANON_PER_MIN),
        }
    } else if req.method() == Method::POST && meta.path.ends_with("/rate") {
        !app.limiter.allow(&format!("rate:{ip}"), RATE_PER_MIN)
    } else {
        false
    };
    if limited {
        let mut resp = (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded\n").into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return log_and_harden(&app, &id, &meta, resp);
    }
    req.extensions_mut().insert(id.clone());
    let resp = next.run(req).await;
    log_and_harden(&app, &id, &meta, resp)
}

fn log_and_harden(app: &App, id: &Identity, meta: &RequestMeta, resp: Response) -> Response {
    let mut resp = render_error(app, resp);
    let h = resp.headers_mut();
    websupport::web::harden(h);
    if meta.path.starts_with("/admin") {
        websupport::web::no_store(h);
    }
    app.log.record(meta.record(
        app.clock.now(),
        &id.ip,
        &id.log_name(),
        resp.status().as_u16(),
    ));
    resp
}

impl From<NotSignedIn> for AppError {
    fn from(_: NotSignedIn) -> Self {
        AppError::Login
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
    /// Not signed in: browsers go to the login form.
    Login,
    Unauthorized(String),
    Forbidden,
    Csrf,
    BadRequest(String),
    Internal(FaqError),
}

impl From<FaqError> for AppError {
    fn from(e: FaqError) -> Self {
        match e {
            FaqError::NotFound => AppError::NotFound,
            FaqError::Invalid(v) => AppError::BadRequest(v.join("\n")),
            e => AppError::Internal(e),
        }
    }
}

/// An error page; the middleware renders it in the site's frame (it knows the site's
/// configuration, which `IntoResponse` does not).
#[derive(Clone)]
struct ErrorPage(String);

fn error_page(status: StatusCode, msg: &str) -> Response {
    let mut resp = (status, msg.to_string()).into_response();
    resp.extensions_mut().insert(ErrorPage(msg.to_string()));
    resp
}

fn render_error(app: &App, resp: Response) -> Response {
    let Some(ErrorPage(msg)) = resp.extensions().get::<ErrorPage>().cloned() else {
        return resp;
    };
    let status = resp.status();
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/\">トップへ戻る</a></p>",
        status.as_u16(),
        html::esc_multiline(&msg)
    );
    let page = html::public_page(&app.site, msg.lines().next().unwrap_or(""), "", &body);
    let mut out = Html(page).into_response();
    *out.status_mut() = status;
    for (k, v) in parts.headers.iter() {
        out.headers_mut().insert(k.clone(), v.clone());
    }
    out
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => error_page(StatusCode::NOT_FOUND, "ページが見つかりません"),
            AppError::Login => Redirect::to("/admin/login").into_response(),
            AppError::Unauthorized(m) => error_page(StatusCode::UNAUTHORIZED, &m),
            AppError::Forbidden => {
                error_page(StatusCode::FORBIDDEN, "この操作を行う権限がありません")
            }
            AppError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "フォームの有効期限が切れたか、不正な送信です。画面を開き直してください",
            ),
            AppError::BadRequest(m) => error_page(StatusCode::BAD_REQUEST, &m),
            AppError::Internal(e) => {
                tracing::error!("internal error: {e}");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "内部エラーが発生しました",
                )
            }
        }
    }
}

pub type WebResult<T = Response> = Result<T, AppError>;
