//! The steps of the request middleware both sidecars run (who is asking, hardening
//! headers, the access-log record), and the extractors for a signed-in staff member.
//! What differs stays in each sidecar: its roles, its login page, its error pages (a
//! sidecar's `AppError` converts from [`NotSignedIn`] and [`Denied`]).

use crate::accesslog::LogRecord;
use crate::tls::ClientAddr;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue};
use std::net::IpAddr;
use std::time::Instant;

pub use crate::password::constant_eq;

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

/// The peer's address as the TLS listener saw it.
pub fn peer_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0 .0.ip())
}

/// The headers every response carries: no sniffing, no framing, no referrer to other
/// sites, HTTPS only, and a content policy that allows only the site's own scripts.
pub fn harden(h: &mut HeaderMap) {
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
}

/// Personal data or staff pages: never in a shared cache or the back/forward cache.
pub fn no_store(h: &mut HeaderMap) {
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// What the access log keeps of a request, taken before the handler consumes it.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub started: Instant,
    pub method: String,
    pub path: String,
    /// The path and query, cut to 2,000 characters.
    pub path_and_query: String,
    pub ua: String,
}

impl RequestMeta {
    pub fn of(req: &Request) -> RequestMeta {
        RequestMeta {
            started: Instant::now(),
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            path_and_query: req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .chars()
                .take(2000)
                .collect(),
            ua: req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .chars()
                .take(300)
                .collect(),
        }
    }

    pub fn record(&self, at: i64, ip: &str, user: &str, status: u16) -> LogRecord {
        LogRecord {
            at,
            ip: ip.to_string(),
            user: user.to_string(),
            method: self.method.clone(),
            path: self.path_and_query.clone(),
            status,
            ms: self.started.elapsed().as_millis().min(u32::MAX as u128) as u32,
            ua: self.ua.clone(),
        }
    }
}

/// A sidecar's signed-in user type.
pub trait StaffUser: Clone + Send + Sync + 'static {
    type Role: PartialOrd + Copy;
    /// The sidecar's error, built from the extractor's refusal.
    type Rejection: axum::response::IntoResponse + From<NotSignedIn>;
    fn login(&self) -> &str;
    fn role(&self) -> Self::Role;
    fn csrf(&self) -> &str;
}

/// Who is asking, resolved once per request by the middleware and kept in the
/// request's extensions.
#[derive(Clone)]
pub struct Identity<U> {
    pub staff: Option<U>,
    /// The name of a valid API key (FAQ API clients).
    pub api_key: Option<String>,
    pub ip: String,
}

impl<U> Default for Identity<U> {
    fn default() -> Self {
        Identity {
            staff: None,
            api_key: None,
            ip: String::new(),
        }
    }
}

impl<U: StaffUser> Identity<U> {
    /// The name the access log records.
    pub fn log_name(&self) -> String {
        match (&self.staff, &self.api_key) {
            (Some(u), _) => u.login().to_string(),
            (None, Some(k)) => format!("apikey:{k}"),
            _ => "-".into(),
        }
    }
}

impl<S: Send + Sync, U: StaffUser> FromRequestParts<S> for Identity<U> {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Identity<U>>()
            .cloned()
            .unwrap_or_default())
    }
}

/// Not signed in: an API path (`/api/…`) gets 401, a page goes to the login form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotSignedIn {
    pub api: bool,
}

/// Signed in, but the role is too low or the form's CSRF token is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Forbidden,
    Csrf,
}

/// A signed-in staff member.
pub struct Staff<U>(pub U);

impl<S: Send + Sync, U: StaffUser> FromRequestParts<S> for Staff<U> {
    type Rejection = U::Rejection;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts
            .extensions
            .get::<Identity<U>>()
            .and_then(|i| i.staff.clone())
        {
            Some(u) => Ok(Staff(u)),
            None => Err(NotSignedIn {
                api: parts.uri.path().starts_with("/api/"),
            }
            .into()),
        }
    }
}

impl<U: StaffUser> Staff<U> {
    pub fn require(&self, role: U::Role) -> Result<(), Denied> {
        if self.0.role() >= role {
            Ok(())
        } else {
            Err(Denied::Forbidden)
        }
    }

    /// Every state-changing form carries the session's token; compared in constant time.
    pub fn check_csrf(&self, token: &str) -> Result<(), Denied> {
        if constant_eq(token.as_bytes(), self.0.csrf().as_bytes()) {
            Ok(())
        } else {
            Err(Denied::Csrf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; faq_session=xyz"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("history_session=abc"),
        );
        assert_eq!(cookie(&h, "faq_session").as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "history_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "session"), None);
    }
}
