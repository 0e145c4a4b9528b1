//! The reports on the supervisors' web pages (第3-4): `/reports` shows a period's main
//! figures and offers the xlsx and the CSV, the same files as `madoguchi report`.

use super::{write_csv, xlsx_bytes, Report, NONE};
use crate::period::Period;
use crate::store::Store;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dialplan::{Calendar, Date};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
struct Web {
    db: Arc<PathBuf>,
    calendar: Calendar,
    service_start: Date,
}

#[derive(serde::Deserialize, Default)]
struct Ask {
    kind: Option<String>,
    period: Option<String>,
    format: Option<String>,
}

/// `/reports` and `/reports/download`, with full paths (merge, do not nest).
pub fn router(db: PathBuf, calendar: Calendar, service_start: Date) -> Router {
    Router::new()
        .route("/reports", get(page))
        .route("/reports/download", get(download))
        .with_state(Web {
            db: Arc::new(db),
            calendar,
            service_start,
        })
}

fn esc(s: &str) -> String {
    // & < > " ' → entities, for text and quoted attributes alike.
    html_escape::encode_quoted_attribute(s).into_owned()
}

/// Build the report off the async workers (SQLite reads).
async fn build(w: &Web, kind: &str, period: &str) -> Result<Report, String> {
    let period = Period::parse(kind, period).map_err(|e| e.to_string())?;
    let w = w.clone();
    tokio::task::spawn_blocking(move || {
        let store = Store::open(&w.db).map_err(|e| e.to_string())?;
        let (from, to) = period.range_ms(w.calendar.offset_minutes());
        let records = store.range(from, to).map_err(|e| e.to_string())?;
        Ok(Report::build(
            period,
            &records,
            &w.calendar,
            w.service_start,
        ))
    })
    .await
    .map_err(|e| e.to_string())?
}

const KINDS: [(&str, &str, &str); 4] = [
    ("daily", "日次", "2026-11-25"),
    ("monthly", "月次", "2026-11"),
    ("half", "半期", "2026H1"),
    ("yearly", "年度", "2026"),
];

async fn page(State(w): State<Web>, Query(ask): Query<Ask>) -> Response {
    let kind = ask.kind.clone().unwrap_or_else(|| "daily".into());
    let period = ask.period.clone().unwrap_or_default();
    let options: String = KINDS
        .iter()
        .map(|(k, label, _)| {
            let sel = if *k == kind { " selected" } else { "" };
            format!("<option value=\"{k}\"{sel}>{label}</option>")
        })
        .collect();
    let mut body = format!(
        "<h1>報告書</h1><form method=\"get\" action=\"/reports\" class=\"ask\">\
         <label>種類 <select name=\"kind\">{options}</select></label> \
         <label>期間 <input name=\"period\" value=\"{}\" placeholder=\"2026-11-25 / 2026-11 / 2026H1 / 2026\" required></label> \
         <button type=\"submit\">表示</button></form>\
         <p class=\"hint\">日次は 2026-11-25、月次は 2026-11、半期は 2026H1（4〜9月）・2026H2（10〜3月）、年度は 2026（4月〜翌年3月）。</p>",
        esc(&period)
    );
    let mut status = StatusCode::OK;
    if !period.is_empty() {
        match build(&w, &kind, &period).await {
            Ok(r) => body.push_str(&summary(&r, &kind, &period)),
            Err(e) => {
                status = StatusCode::BAD_REQUEST;
                body.push_str(&format!("<p class=\"ng\" role=\"alert\">{}</p>", esc(&e)));
            }
        }
    }
    let html = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>報告書 — 総合コールセンター</title><style>{}\
         form.ask {{ display:flex; flex-wrap:wrap; gap:.8rem; align-items:end; }}\
         form.ask input, form.ask select, form.ask button, a.button {{ font-size:1rem; min-height:44px; padding:.3rem .7rem; }}\
         a.button {{ display:inline-flex; align-items:center; border:1px solid var(--accent); border-radius:.4rem; color:var(--accent); text-decoration:none; margin-right:.6rem; }}\
         .hint {{ color:var(--muted); }} table {{ max-width:60rem; margin:1rem 0; }}</style></head>\
         <body>{}<main>{body}</main></body></html>",
        crate::look::CSS,
        crate::look::header("/reports"),
    );
    (status, Html(html)).into_response()
}

fn summary(r: &Report, kind: &str, period: &str) -> String {
    let t = &r.breakdown.total;
    let pct = |x: Option<f64>| x.map_or(NONE.into(), |v| format!("{:.1}%", v * 100.0));
    let sec = |x: Option<f64>| x.map_or(NONE.into(), |v| format!("{v:.1}秒"));
    let rows = [
        ("総着信呼数", format!("{} 件", t.offered)),
        ("応答件数", format!("{} 件", t.answered)),
        ("放棄件数", format!("{} 件", t.abandoned)),
        ("受電応答率（目標 90%以上）", pct(t.answer_rate())),
        (
            "平均応答時間（目標 9秒以内）",
            sec(t.average_speed_of_answer()),
        ),
        ("平均放棄呼時間", sec(t.average_abandon_time())),
        ("平均通話時間", sec(t.average_talk_time())),
        ("平均処理時間", sec(t.average_handle_time())),
    ];
    let mut html = format!("<h2>{}</h2><table><tbody>", esc(&r.period.title_ja()));
    for (k, v) in rows {
        html.push_str(&format!(
            "<tr><th scope=\"row\">{k}</th><td class=\"num\">{v}</td></tr>"
        ));
    }
    html.push_str("</tbody></table><table><thead><tr><th>回線</th><th>着信</th><th>応答</th><th>応答率</th></tr></thead><tbody>");
    for (line, lt) in &r.breakdown.by_line {
        html.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&r.line_label(line)),
            lt.offered,
            lt.answered,
            pct(lt.answer_rate())
        ));
    }
    let q = format!("kind={}&period={}", esc(kind), esc(&urlencode(period)));
    html.push_str(&format!(
        "</tbody></table><p><a class=\"button\" href=\"/reports/download?{q}&format=xlsx\">Excel（表とグラフ）をダウンロード</a>\
         <a class=\"button\" href=\"/reports/download?{q}&format=csv\">CSV（全通話）をダウンロード</a></p>"
    ));
    html
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn download(State(w): State<Web>, Query(ask): Query<Ask>) -> Response {
    let (Some(kind), Some(period)) = (ask.kind.as_deref(), ask.period.as_deref()) else {
        return (StatusCode::BAD_REQUEST, "kind と period を指定してください").into_response();
    };
    let r = match build(&w, kind, period).await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let (bytes, ctype, ext) = match ask.format.as_deref() {
        Some("csv") => {
            let mut b = Vec::new();
            if let Err(e) = write_csv(&r, &mut b) {
                return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
            }
            (b, "text/csv; charset=utf-8", "csv")
        }
        Some("xlsx") | None => match xlsx_bytes(&r) {
            Ok(b) => (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ),
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        },
        Some(other) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("format は xlsx か csv です（{other}）"),
            )
                .into_response()
        }
    };
    let name = format!("madoguchi-report-{}.{ext}", r.period.slug());
    (
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
