//! What editors learn from citizens: the access ranking per week (the spec's 週ごと),
//! the searches that found nothing useful per week (page and CSV: what to write next),
//! and the moderation of the home page's popular keywords.

use super::html::{csrf_field, esc, staff_page, url_enc};
use super::{Staff, WebResult};
use crate::app::{blocking, App};
use crate::auth::Role;
use crate::clock::{format_jst, iso_week_label, parse_iso_week, week_start_jst};
use crate::stats;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;

const WEEK: i64 = 7 * 86_400;

#[derive(Deserialize)]
pub struct WeekQuery {
    #[serde(default)]
    week: String,
}

/// The week asked for (`YYYY-Www`), or the current one.
fn week_of(app: &App, q: &WeekQuery) -> i64 {
    parse_iso_week(q.week.trim()).unwrap_or_else(|| week_start_jst(app.clock.now()))
}

/// Links to the week before and after.
fn week_nav(path: &str, start: i64) -> String {
    format!(
        "<p><a href=\"{path}?week={}\">← 前の週</a>　<strong>{}（{} 〜 {}）</strong>　<a href=\"{path}?week={}\">次の週 →</a></p>",
        iso_week_label(start - WEEK),
        iso_week_label(start),
        &format_jst(start)[..10],
        &format_jst(start + WEEK - 1)[..10],
        iso_week_label(start + WEEK)
    )
}

pub async fn ranking(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(wq): Query<WeekQuery>,
) -> WebResult<Html<String>> {
    let start = week_of(&app, &wq);
    let rows = blocking(&app, move |app| {
        stats::ranking(&app.db, start, start + WEEK, 50)
    })
    .await?;
    let idx = app.index();
    let questions: std::collections::HashMap<&str, &str> = idx
        .browse(crate::search::Visibility::All)
        .map(|d| (d.id, d.question))
        .collect();
    let mut body = week_nav("/admin/ranking", start);
    body.push_str("<table><tr><th>順位</th><th>FAQ</th><th>閲覧数</th></tr>");
    for (i, (id, n)) in rows.iter().enumerate() {
        let q = questions
            .get(id.as_str())
            .copied()
            .unwrap_or("（削除済み）");
        let _ = write!(
            body,
            "<tr><td>{}</td><td><a href=\"/admin/faq/{}\">{} {}</a></td><td class=\"n\">{n}</td></tr>",
            i + 1,
            url_enc(id),
            esc(id),
            esc(q)
        );
    }
    body.push_str("</table>");
    if rows.is_empty() {
        body.push_str("<p>この週の閲覧はありません。</p>");
    }
    Ok(Html(staff_page("週間閲覧ランキング", &staff.0, &body)))
}

pub async fn unfound(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(wq): Query<WeekQuery>,
) -> WebResult<Html<String>> {
    let start = week_of(&app, &wq);
    let rows = blocking(&app, move |app| {
        stats::unfound(&app.db, start, start + WEEK, 500)
    })
    .await?;
    let mut body = week_nav("/admin/unfound", start);
    let _ = write!(
        body,
        "<p>市民が検索したが、結果が無かった、または結果を1件も開かなかった検索語です（多い順）。\
         新しいFAQや言い換え（同義語）を追加する手がかりにしてください。\
         <a class=\"button\" href=\"/admin/unfound.csv?week={}\">CSVでダウンロード</a></p>\
         <table><tr><th>検索語</th><th>検索回数</th><th>結果</th></tr>",
        iso_week_label(start)
    );
    for u in &rows {
        let result = if u.hits == 0 {
            "なし".to_string()
        } else {
            format!("{}件（開かれず）", u.hits)
        };
        let _ = write!(
            body,
            "<tr><td><a href=\"/search?q={}\">{}</a></td><td class=\"n\">{}</td><td>{result}</td></tr>",
            url_enc(&u.q),
            esc(&u.q),
            u.searches
        );
    }
    body.push_str("</table>");
    Ok(Html(staff_page("見つからなかった検索", &staff.0, &body)))
}

pub async fn unfound_csv(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(wq): Query<WeekQuery>,
) -> WebResult<Response> {
    let _ = staff;
    let start = week_of(&app, &wq);
    let rows = blocking(&app, move |app| {
        stats::unfound(&app.db, start, start + WEEK, 100_000)
    })
    .await?;
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        let _ = w.write_record(["週", "検索語", "検索回数", "最大結果件数"]);
        let week = iso_week_label(start);
        for u in &rows {
            let _ = w.write_record([
                week.as_str(),
                &crate::csv_io::guard_formula(&u.q),
                &u.searches.to_string(),
                &u.hits.to_string(),
            ]);
        }
        let _ = w.flush();
    }
    let name = format!(
        "attachment; filename=\"unfound-{}.csv\"",
        iso_week_label(start)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        out,
    )
        .into_response())
}

/// The last 30 days' popular searches with what the home page does with each.
pub async fn keywords(State(app): State<Arc<App>>, staff: Staff) -> WebResult<Html<String>> {
    staff.require(Role::Editor)?;
    let now = app.clock.now();
    let (top, shown) = blocking(&app, move |app| -> crate::error::Result<_> {
        let top = stats::popular_keywords(&app.db, now - 30 * 86_400, 50)?
            .into_iter()
            .map(|(q, n)| {
                let rule = stats::keyword_rule(&app.db, &q)?;
                Ok((q, n, rule))
            })
            .collect::<crate::error::Result<Vec<_>>>()?;
        Ok((top, super::public::shown_keywords(app, now)?))
    })
    .await?;
    let csrf = csrf_field(&staff.0);
    let mut body = String::from(
        "<p>トップページの「よく検索されるキーワード」には、承認した語と、公開中のFAQの質問に含まれる語だけが表示されます。\
         検索されただけの語は表示されません。</p>\
         <table><tr><th>検索語（30日間）</th><th>回数</th><th>状態</th><th>操作</th></tr>",
    );
    for (q, n, rule) in &top {
        let state = match (rule, shown.contains(q)) {
            (Some(true), _) => "承認済み（表示）",
            (Some(false), _) => "非表示",
            (None, true) => "FAQの質問に含まれるため表示",
            (None, false) => "未承認（表示しない）",
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"n\">{n}</td><td>{state}</td><td>\
             <form method=\"post\" action=\"/admin/keywords\" class=\"inline\">{csrf}<input type=\"hidden\" name=\"q\" value=\"{}\">\
             <button type=\"submit\" name=\"approve\" value=\"1\">承認</button> \
             <button type=\"submit\" name=\"approve\" value=\"0\" class=\"secondary\">非表示</button></form></td></tr>",
            esc(q),
            esc(q)
        );
    }
    body.push_str("</table>");
    Ok(Html(staff_page("キーワードの承認", &staff.0, &body)))
}

#[derive(Deserialize)]
pub struct KeywordForm {
    csrf: String,
    q: String,
    approve: String,
}

pub async fn set_keyword(
    State(app): State<Arc<App>>,
    staff: Staff,
    Form(f): Form<KeywordForm>,
) -> WebResult<Redirect> {
    staff.require(Role::Editor)?;
    staff.check_csrf(&f.csrf)?;
    let q: String = f.q.trim().chars().take(100).collect();
    let approve = f.approve == "1";
    let by = staff.0.login.clone();
    let now = app.clock.now();
    blocking(&app, move |app| {
        stats::set_keyword_rule(&app.db, &q, approve, &by, now)
    })
    .await?;
    Ok(Redirect::to("/admin/keywords"))
}
