//! JSON API for other services (the city's AI chatbot): public search and fetch without
//! a key; anything beyond public reads (internal entries, the full export) needs an
//! `X-API-Key`. Rate limits are applied by the middleware.

use super::Identity;
use crate::app::{blocking, App};
use crate::model::Entry;
use crate::search::Visibility;
use crate::{attachments, csv_io};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

fn err(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

#[derive(Serialize)]
struct ApiEntry<'a> {
    id: &'a str,
    category: &'a str,
    question: &'a str,
    answer: &'a str,
    related_faq: Vec<&'a str>,
    related_urls: Vec<&'a str>,
    department: &'a str,
    public: bool,
    publish_start: &'a str,
    publish_end: &'a str,
    /// Path of the entry on the public site.
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<serde_json::Value>>,
}

fn api_entry(e: &Entry, score: Option<f32>) -> ApiEntry<'_> {
    ApiEntry {
        id: &e.id,
        category: &e.category,
        question: &e.question,
        answer: &e.answer,
        related_faq: e.related_ids(),
        related_urls: e.urls(),
        department: &e.department,
        public: e.public,
        publish_start: &e.publish_start,
        publish_end: &e.publish_end,
        url: format!("/faq/{}", e.id),
        score,
        attachments: None,
    }
}

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
    /// With an API key: also search internal and unpublished entries.
    #[serde(default)]
    include_private: bool,
}

pub async fn search(
    State(app): State<Arc<App>>,
    ident: Identity,
    Query(p): Query<SearchParams>,
) -> Response {
    if p.include_private && ident.api_key.is_none() {
        return err(
            StatusCode::UNAUTHORIZED,
            "include_private needs an X-API-Key",
        );
    }
    let limit = p.limit.unwrap_or(10).clamp(1, 50);
    let today = app.clock.today_jst();
    let vis = if p.include_private {
        Visibility::All
    } else {
        Visibility::PublicOn(&today)
    };
    let q: String = p.q.chars().take(200).collect();
    let hits = app.index().search(&q, vis, limit);
    let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
    let entries = match blocking(&app, move |app| app.db.entries_by_ids(&ids)).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("api search: {e}");
            return err(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let results: Vec<ApiEntry> = entries
        .iter()
        .zip(hits.iter())
        .map(|(e, h)| api_entry(e, Some(h.score)))
        .collect();
    Json(json!({ "query": q, "count": results.len(), "results": results })).into_response()
}

pub async fn suggest(State(app): State<Arc<App>>, Query(p): Query<SearchParams>) -> Response {
    let today = app.clock.today_jst();
    let q: String = p.q.chars().take(50).collect();
    let s = app.index().suggest(
        &q,
        Visibility::PublicOn(&today),
        p.limit.unwrap_or(8).clamp(1, 20),
    );
    Json(json!({ "query": q, "suggestions": s })).into_response()
}

pub async fn get_one(
    State(app): State<Arc<App>>,
    ident: Identity,
    Path(id): Path<String>,
) -> Response {
    let today = app.clock.today_jst();
    if ident.api_key.is_none() && !app.index().is_visible(&id, Visibility::PublicOn(&today)) {
        return err(StatusCode::NOT_FOUND, "not found");
    }
    let r = blocking(&app, move |app| -> crate::error::Result<_> {
        Ok((app.db.entry(&id)?, attachments::list(&app.db, &id)?))
    })
    .await;
    match r {
        Ok((Some(e), files)) => {
            let mut a = api_entry(&e, None);
            a.attachments = Some(
                files
                    .iter()
                    .map(|f| json!({ "filename": f.filename, "content_type": f.content_type, "size": f.size, "url": format!("/files/{}", f.id) }))
                    .collect(),
            );
            Json(a).into_response()
        }
        Ok((None, _)) => err(StatusCode::NOT_FOUND, "not found"),
        Err(e) => {
            tracing::error!("api get: {e}");
            err(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RankingParams {
    /// The last N days (1–92; default 7).
    days: Option<i64>,
    /// 1–50; default 10.
    limit: Option<usize>,
}

/// The access ranking: the public entries citizens opened most in the last `days` days
/// (each visitor counted once a day per entry), most viewed first — for the call
/// center's homepage.
pub async fn ranking(State(app): State<Arc<App>>, Query(p): Query<RankingParams>) -> Response {
    let days = p.days.unwrap_or(7).clamp(1, 92);
    let limit = p.limit.unwrap_or(10).clamp(1, 50);
    let now = app.clock.now();
    let from = now - days * 86_400;
    // Counted over more rows than shown: entries no longer public are left out after.
    let counted = blocking(&app, move |app| {
        crate::stats::ranking(&app.db, from, now + 1, (limit * 4) as u32)
    })
    .await;
    let counted = match counted {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("api ranking: {e}");
            return err(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let today = app.clock.today_jst();
    let idx = app.index();
    let shown: Vec<(String, i64)> = counted
        .into_iter()
        .filter(|(id, _)| idx.is_visible(id, Visibility::PublicOn(&today)))
        .take(limit)
        .collect();
    let ids: Vec<String> = shown.iter().map(|(id, _)| id.clone()).collect();
    let entries = match blocking(&app, move |app| app.db.entries_by_ids(&ids)).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("api ranking: {e}");
            return err(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let results: Vec<serde_json::Value> = shown
        .iter()
        .filter_map(|(id, views)| {
            let e = entries.iter().find(|e| &e.id == id)?;
            let mut v = serde_json::to_value(api_entry(e, None)).ok()?;
            v["views"] = json!(views);
            Some(v)
        })
        .collect();
    Json(json!({ "days": days, "results": results })).into_response()
}

pub async fn list_all(State(app): State<Arc<App>>, ident: Identity) -> Response {
    if ident.api_key.is_none() {
        return err(
            StatusCode::UNAUTHORIZED,
            "listing all entries needs an X-API-Key",
        );
    }
    match blocking(&app, |app| app.db.entries()).await {
        Ok(all) => {
            let list: Vec<ApiEntry> = all.iter().map(|e| api_entry(e, None)).collect();
            Json(json!({ "count": list.len(), "entries": list })).into_response()
        }
        Err(e) => {
            tracing::error!("api list: {e}");
            err(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

pub async fn export_csv(State(app): State<Arc<App>>, ident: Identity) -> Response {
    if ident.api_key.is_none() {
        return err(StatusCode::UNAUTHORIZED, "the export needs an X-API-Key");
    }
    match blocking(&app, |app| app.db.entries()).await {
        Ok(all) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"faq.csv\"",
                ),
            ],
            csv_io::export(&all),
        )
            .into_response(),
        Err(e) => {
            tracing::error!("api export: {e}");
            err(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
