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

use crate::accesslog::LogRecord;
use crate::app::App;
use crate::auth::{self, Role, SessionUser};
use crate::error::FaqError;
use crate::tls::ClientAddr;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Instant;

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

/// Who is asking, resolved once per request by the middleware.
#[derive(Clone, Default)]
pub struct Identity {
    pub staff: Option<SessionUser>,
    pub api_key: Option<String>,
    pub ip: String,
}

impl Identity {
    fn log_name(&self) -> String {
        match (&self.staff, &self.api_key) {
            (Some(u), _) => u.login.clone(),
            (None, Some(k)) => format!("apikey:{k}"),
            _ => "-".into(),
        }
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

async fn middleware(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let ip = req
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| {
            app.proxies
                .client_ip(c.0 .0.ip(), req.headers())
                .to_string()
        })
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
            return finish(&app, &id, &req, started, resp);
        }
    }
    let path = req.uri().path().to_string();
    let limited = if path.starts_with("/api/") {
        match &id.api_key {
            Some(k) => !app.limiter.allow(&format!("key:{k}"), API_KEY_PER_MIN),
            None => !app.limiter.allow(&format!("ip:{ip}"), API_ANON_PER_MIN),
        }
    } else if req.method() == Method::POST && path.ends_with("/rate") {
        !app.limiter.allow(&format!("rate:{ip}"), RATE_PER_MIN)
    } else {
        false
    };
    if limited {
        let mut resp = (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded\n").into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return finish(&app, &id, &req, started, resp);
    }
    let method = req.method().clone();
    let uri = req.uri().clone();
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    req.extensions_mut().insert(id.clone());
    let resp = next.run(req).await;
    log_and_harden(&app, &id, method.as_str(), &uri, &ua, started, resp)
}

fn finish(app: &App, id: &Identity, req: &Request, started: Instant, resp: Response) -> Response {
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    log_and_harden(
        app,
        id,
        req.method().as_str(),
        req.uri(),
        &ua,
        started,
        resp,
    )
}

fn log_and_harden(
    app: &App,
    id: &Identity,
    method: &str,
    uri: &axum::http::Uri,
    ua: &str,
    started: Instant,
    resp: Response,
) -> Response {
    let mut resp = render_error(app, resp);
    let h = resp.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=31536000"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    );
    if uri.path().starts_with("/admin") && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    app.log.record(LogRecord {
        at: app.clock.now(),
        ip: id.ip.clone(),
        user: id.log_name(),
        method: method.to_string(),
        path: path.chars().take(2000).collect(),
        status: resp.status().as_u16(),
        ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
        ua: ua.chars().take(300).collect(),
    });
    resp
}

/// A signed-in staff member; pages that need one redirect to the login form otherwise.
pub struct Staff(pub SessionUser);

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts
            .extensions
            .get::<Identity>()
            .and_then(|i| i.staff.clone())
        {
            Some(u) => Ok(Staff(u)),
            None => Err(AppError::Login),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Identity>()
            .cloned()
            .unwrap_or_default())
    }
}

impl Staff {
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.0.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Every state-changing form carries the session's token; compare in constant time.
    pub fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        if constant_eq(token.as_bytes(), self.0.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }
}

pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
