//! Exports of a search or a selection (CSV, Shift_JIS CSV, xlsx), the JSON search, and
//! the access log page.

use super::forms::SearchForm;
use super::html::{desk_page, esc};
use super::{AppError, Staff, WebResult};
use crate::accesslog::LogQuery;
use crate::app::{blocking, App};
use crate::auth::Role;
use crate::model::Contact;
use crate::store::query::MAX_LIMIT;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use faq::clock::format_jst;
use serde::Deserialize;
use std::sync::Arc;

/// All rows of a search (up to [`MAX_LIMIT`]) for an export.
async fn export_rows(app: &Arc<App>, f: &SearchForm) -> WebResult<Vec<Contact>> {
    let mut q = f
        .to_query()
        .map_err(|p| AppError::BadRequest(p.join("\n")))?;
    q.limit = MAX_LIMIT;
    q.offset = 0;
    let (rows, total) = blocking(app, move |a| a.db.search(&q)).await?;
    if total > u64::from(MAX_LIMIT) {
        return Err(AppError::BadRequest(format!(
            "{total}件は一度に書き出せません（{MAX_LIMIT}件まで）。期間を分けてください"
        )));
    }
    Ok(rows)
}

fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `sel` checkboxes of the results table arrive as repeated parameters; they become
/// the `ids` selection.
fn with_selection(mut f: SearchForm, raw: Option<&str>) -> SearchForm {
    if let Some(raw) = raw {
        let sel: Vec<String> = raw
            .split('&')
            .filter_map(|kv| kv.strip_prefix("sel="))
            .map(String::from)
            .collect();
        if !sel.is_empty() {
            f.ids = sel.join(",");
        }
    }
    f
}

pub async fn export_csv(
    State(app): State<Arc<App>>,
    _staff: Staff,
    uri: axum::http::Uri,
    Query(f): Query<SearchForm>,
) -> WebResult {
    let f = with_selection(f, uri.query());
    let rows = export_rows(&app, &f).await?;
    let stamp = faq::clock::today_jst();
    Ok(if f.enc == "sjis" {
        download(
            crate::export::csv_sjis(&rows)?,
            "text/csv; charset=Shift_JIS",
            &format!("contacts-{stamp}-sjis.csv"),
        )
    } else {
        download(
            crate::export::csv_utf8(&rows)?,
            "text/csv; charset=utf-8",
            &format!("contacts-{stamp}.csv"),
        )
    })
}

pub async fn export_xlsx(
    State(app): State<Arc<App>>,
    _staff: Staff,
    uri: axum::http::Uri,
    Query(f): Query<SearchForm>,
) -> WebResult {
    let f = with_selection(f, uri.query());
    let rows = export_rows(&app, &f).await?;
    let bytes = blocking(&app, move |_| crate::export::xlsx(&rows)).await?;
    Ok(download(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("contacts-{}.xlsx", faq::clock::today_jst()),
    ))
}

/// JSON search for the desktop's scripts and other internal tools.
pub async fn api_search(
    State(app): State<Arc<App>>,
    _staff: Staff,
    Query(f): Query<SearchForm>,
) -> WebResult {
    let q = f
        .to_query()
        .map_err(|p| AppError::BadRequest(p.join("\n")))?;
    let (rows, total) = blocking(&app, move |a| a.db.search(&q)).await?;
    Ok(Json(serde_json::json!({"total": total, "contacts": rows})).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LogForm {
    from: String,
    to: String,
    user: String,
    ip: String,
    path: String,
    status: u16,
}

pub async fn access_log(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(f): Query<LogForm>,
) -> WebResult {
    staff.require(Role::Supervisor)?;
    let q = LogQuery {
        from: faq::clock::parse_date_jst(&f.from).unwrap_or(0),
        to: faq::clock::parse_date_jst(&f.to)
            .map(|t| t + 86_400)
            .unwrap_or(0),
        user: f.user.clone(),
        ip: f.ip.clone(),
        path_contains: f.path.clone(),
        status: f.status,
        limit: 500,
    };
    let rows = blocking(&app, move |a| a.log.search(&q)).await?;
    let mut body = format!(
        r#"<form method="get" action="/desk/log"><div class="grid">
<div><label for="l-from">から</label><input id="l-from" name="from" type="date" value="{}"></div>
<div><label for="l-to">まで</label><input id="l-to" name="to" type="date" value="{}"></div>
<div><label for="l-user">利用者</label><input id="l-user" name="user" type="text" value="{}"></div>
<div><label for="l-ip">IPアドレス</label><input id="l-ip" name="ip" type="text" value="{}"></div>
<div><label for="l-path">パスに含む</label><input id="l-path" name="path" type="text" value="{}"></div>
</div><p><button type="submit">検索</button></p></form>
<table id="log"><thead><tr><th>日時</th><th>利用者</th><th>IP</th><th>要求</th><th>結果</th><th>ms</th></tr></thead><tbody>"#,
        esc(&f.from),
        esc(&f.to),
        esc(&f.user),
        esc(&f.ip),
        esc(&f.path)
    );
    for r in &rows {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
            format_jst(r.at),
            esc(&r.user),
            esc(&r.ip),
            esc(&r.method),
            esc(&r.path),
            r.status,
            r.ms
        ));
    }
    body.push_str("</tbody></table>");
    Ok(Html(desk_page("アクセスログ", &staff.0, &body)).into_response())
}
