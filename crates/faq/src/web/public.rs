//! The public FAQ site for citizens: browse, search, read, rate. Only entries that are
//! public and inside their publish window are ever shown.

use super::html::{esc, esc_multiline, public_page, url_enc};
use super::{AppError, Identity, WebResult};
use crate::app::{blocking, App};
use crate::model::Entry;
use crate::search::Visibility;
use crate::{attachments, stats};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

/// Results per search page.
const PER_PAGE: usize = 20;
/// Pages a search can be followed to (the ranking looks at the best 200 candidates).
const MAX_PAGES: usize = 10;

/// Shown until citizens' own searches provide popular keywords.
const DEFAULT_KEYWORDS: &[&str] = &[
    "住民票",
    "マイナンバーカード",
    "ごみ",
    "国民健康保険",
    "児童手当",
    "引越し",
    "税金",
    "避難所",
];

/// Keywords shown on the home page: citizens' most frequent successful searches of the
/// last 30 days that editors approved, or that occur in the question of a published entry
/// (and editors did not hide). Searches alone never put text there: anyone can search.
pub fn shown_keywords(app: &App, now: i64) -> crate::error::Result<Vec<String>> {
    const MAX_SHOWN: usize = 10;
    let today = app.clock.today_jst();
    let idx = app.index();
    let mut out = Vec::new();
    for (q, _) in stats::popular_keywords(&app.db, now - 30 * 86_400, 100)? {
        let ok = match stats::keyword_rule(&app.db, &q)? {
            Some(approved) => approved,
            None => {
                q.chars().count() <= 20 && idx.in_public_question(&q, Visibility::PublicOn(&today))
            }
        };
        if ok {
            out.push(q);
            if out.len() == MAX_SHOWN {
                break;
            }
        }
    }
    Ok(out)
}

pub async fn home(State(app): State<Arc<App>>) -> WebResult<Html<String>> {
    let today = app.clock.today_jst();
    let idx = app.index();
    let mut tree: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut depts: BTreeMap<&str, usize> = BTreeMap::new();
    for d in idx.browse(Visibility::PublicOn(&today)) {
        let (top, sub) = d
            .category
            .split_once('>')
            .map(|(a, b)| (a.trim(), b.trim()))
            .unwrap_or((d.category, ""));
        *tree.entry(top).or_default().entry(sub).or_default() += 1;
        *depts.entry(d.department).or_default() += 1;
    }
    let now = app.clock.now();
    let week = crate::clock::week_start_jst(now);
    let (ranking, keywords) = blocking(&app, move |app| {
        (
            stats::ranking(&app.db, week, now + 1, 20),
            shown_keywords(app, now),
        )
    })
    .await;
    let mut body = String::from("<h1 class=\"vh\">いわき市 よくある質問 トップ</h1>");
    body.push_str("<section aria-labelledby=\"kw\"><h2 id=\"kw\">よく検索されるキーワード</h2><p class=\"chips\">");
    let keywords = keywords?;
    let shown: Vec<&str> = if keywords.is_empty() {
        DEFAULT_KEYWORDS.to_vec()
    } else {
        keywords.iter().map(String::as_str).collect()
    };
    for k in shown {
        let _ = write!(body, "<a href=\"/search?q={}\">{}</a> ", url_enc(k), esc(k));
    }
    body.push_str("</p></section>");
    let popular: Vec<(String, i64)> = ranking?
        .into_iter()
        .filter(|(id, _)| idx.is_visible(id, Visibility::PublicOn(&today)))
        .take(5)
        .collect();
    if !popular.is_empty() {
        body.push_str(
            "<section aria-labelledby=\"pop\"><h2 id=\"pop\">よく見られている質問（今週・月曜から）</h2><ol>",
        );
        for (id, _) in &popular {
            if let Some(d) = idx
                .browse(Visibility::PublicOn(&today))
                .find(|d| d.id == id)
            {
                let _ = write!(
                    body,
                    "<li><a href=\"/faq/{}\">{}</a></li>",
                    url_enc(d.id),
                    esc(d.question)
                );
            }
        }
        body.push_str("</ol></section>");
    }
    // Life events first: that is how citizens think ("I am moving"), not by department.
    let mut tops: Vec<&&str> = tree.keys().collect();
    tops.sort_by_key(|t| (**t != "ライフイベント", **t));
    for top in tops {
        let subs = &tree[*top];
        let heading = if *top == "ライフイベント" {
            "ライフイベントから探す".to_string()
        } else {
            top.to_string()
        };
        let _ = write!(
            body,
            "<section><h2>{}</h2><p class=\"chips\">",
            esc(&heading)
        );
        for (sub, n) in subs {
            let path = if sub.is_empty() {
                top.to_string()
            } else {
                format!("{top} > {sub}")
            };
            let label = if sub.is_empty() { top } else { sub };
            let _ = write!(
                body,
                "<a href=\"/category?c={}\">{}（{n}）</a> ",
                url_enc(&path),
                esc(label)
            );
        }
        body.push_str("</p></section>");
    }
    body.push_str("<section><h2>担当課から探す</h2><p class=\"chips\">");
    for (d, n) in depts {
        let _ = write!(
            body,
            "<a href=\"/department?d={}\">{}（{n}）</a> ",
            url_enc(d),
            esc(d)
        );
    }
    body.push_str("</p></section>");
    Ok(Html(public_page(&app.site, "トップ", "", &body)))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    /// 1-based result page.
    #[serde(default)]
    pub page: Option<usize>,
}

pub async fn search(
    State(app): State<Arc<App>>,
    Query(sq): Query<SearchQuery>,
) -> WebResult<Html<String>> {
    let q = sq.q.trim().chars().take(200).collect::<String>();
    let page = sq.page.unwrap_or(1).clamp(1, MAX_PAGES);
    let today = app.clock.today_jst();
    let hits = app
        .index()
        .search(&q, Visibility::PublicOn(&today), PER_PAGE * MAX_PAGES);
    let total = hits.len();
    let ids: Vec<String> = hits
        .iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|h| h.id.clone())
        .collect();
    let entries = blocking(&app, move |app| app.db.entries_by_ids(&ids)).await?;
    if !q.is_empty() && page == 1 {
        app.log.searched(&q, total as u32);
    }
    let mut body = format!("<h1>「{}」の検索結果</h1>", esc(&q));
    if total == 0 {
        let _ = write!(
            body,
            "<p>該当する質問が見つかりませんでした。別のことばや、ひらがなで試してください。\
             お困りの場合はコールセンター（<a href=\"tel:{}\">{}</a>）へお電話ください。</p>",
            esc(&app.site.phone.replace('-', "")),
            esc(&app.site.phone)
        );
    } else {
        let first = (page - 1) * PER_PAGE + 1;
        let _ = write!(
            body,
            "<p role=\"status\">{total}件見つかりました（{first}〜{}件目を表示）。</p>",
            first + entries.len().saturating_sub(1)
        );
        body.push_str(&result_list(&entries, &q));
        body.push_str("<nav class=\"pages\" aria-label=\"検索結果のページ\">");
        let link = |p: usize, label: &str| {
            format!(
                "<a href=\"/search?q={}&amp;page={p}\">{label}</a>",
                url_enc(&q)
            )
        };
        body.push_str(&if page > 1 {
            link(page - 1, "前の20件")
        } else {
            "<span></span>".into()
        });
        if total > page * PER_PAGE {
            body.push_str(&link(page + 1, "次の20件"));
        }
        body.push_str("</nav>");
    }
    Ok(Html(public_page(
        &app.site,
        &format!("「{q}」の検索結果"),
        &q,
        &body,
    )))
}

/// Results link to the entry with the query, so an opened result counts as a click for
/// that search (what citizens did not find is what they searched and never opened).
fn result_list(entries: &[Entry], q: &str) -> String {
    let mut out = String::from("<ul class=\"results\">");
    for e in entries {
        let snippet: String = e.answer.chars().take(70).collect();
        let _ = write!(
            out,
            "<li><span class=\"cat\">{}</span><a href=\"/faq/{}?from={}\">{}</a><br><small>{}…</small></li>",
            esc(&e.category),
            url_enc(&e.id),
            url_enc(q),
            esc(&e.question),
            esc(&snippet)
        );
    }
    out.push_str("</ul>");
    out
}

#[derive(Deserialize)]
pub struct CatQuery {
    #[serde(default)]
    c: String,
    #[serde(default)]
    d: String,
}

pub async fn category(
    State(app): State<Arc<App>>,
    Query(cq): Query<CatQuery>,
) -> WebResult<Html<String>> {
    browse_page(&app, &cq.c, |d| {
        d.category == cq.c || d.category.starts_with(&format!("{} >", cq.c))
    })
}

pub async fn department(
    State(app): State<Arc<App>>,
    Query(cq): Query<CatQuery>,
) -> WebResult<Html<String>> {
    browse_page(&app, &cq.d, |d| d.department == cq.d)
}

fn browse_page(
    app: &App,
    title: &str,
    keep: impl Fn(&crate::search::DocInfo) -> bool,
) -> WebResult<Html<String>> {
    let today = app.clock.today_jst();
    let idx = app.index();
    let mut body = format!("<h1>{}</h1><ul class=\"results\">", esc(title));
    let mut n = 0;
    for d in idx.browse(Visibility::PublicOn(&today)).filter(|d| keep(d)) {
        n += 1;
        let _ = write!(
            body,
            "<li><a href=\"/faq/{}\">{}</a></li>",
            url_enc(d.id),
            esc(d.question)
        );
    }
    body.push_str("</ul>");
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(Html(public_page(&app.site, title, "", &body)))
}

#[derive(Deserialize)]
pub struct EntryQuery {
    #[serde(default)]
    rated: Option<String>,
    /// The search this entry was opened from.
    #[serde(default)]
    from: Option<String>,
}

/// The visitor id of a request's signed cookie; or, for a new visitor, None, the id
/// issued now and the Set-Cookie that carries it.
fn visitor(app: &App, headers: &HeaderMap) -> (Option<String>, Option<(String, String)>) {
    match super::cookie(headers, crate::visitor::COOKIE)
        .as_deref()
        .and_then(|c| app.visitors.verify(c))
    {
        Some(id) => (Some(id.to_string()), None),
        None => {
            let c = app.visitors.issue();
            let id = c.split('.').next().unwrap_or_default().to_string();
            let set = format!(
                "{}={c}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=31536000",
                crate::visitor::COOKIE
            );
            (None, Some((id, set)))
        }
    }
}

pub async fn entry(
    State(app): State<Arc<App>>,
    ident: Identity,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(eq): Query<EntryQuery>,
) -> WebResult<Response> {
    let today = app.clock.today_jst();
    let idx = app.index();
    if !idx.is_visible(&id, Visibility::PublicOn(&today)) {
        return Err(AppError::NotFound);
    }
    let id2 = id.clone();
    let (e, files) = blocking(&app, move |app| -> crate::error::Result<_> {
        let e = app
            .db
            .entry(&id2)?
            .ok_or(crate::error::FaqError::NotFound)?;
        let files = attachments::list(&app.db, &id2)?;
        Ok((e, files))
    })
    .await?;
    let (visitor_id, issued) = visitor(&app, &headers);
    if app.visitors.count_view(
        visitor_id.as_deref(),
        issued.as_ref().map(|(id, _)| id.as_str()),
        &ident.ip,
        &id,
        app.clock.now(),
    ) {
        app.log.view(&id);
        if let Some(q) = eq.from.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            app.log.clicked(q, &id);
        }
    }
    let mut body = String::new();
    let _ = write!(
        body,
        "<p class=\"cat\"><a href=\"/category?c={}\">{}</a></p>",
        url_enc(&e.category),
        esc(&e.category)
    );
    let _ = write!(
        body,
        "<h1>{}</h1><div class=\"answer\">{}</div>",
        esc(&e.question),
        esc_multiline(&e.answer)
    );
    let _ = write!(body, "<p>担当：{}</p>", esc(&e.department));
    if !files.is_empty() || !e.urls().is_empty() {
        body.push_str("<h2>関連資料・リンク</h2><ul>");
        for f in &files {
            let _ = write!(
                body,
                "<li><a href=\"/files/{}\">{}</a>（{}KB）</li>",
                f.id,
                esc(&f.filename),
                (f.size + 1023) / 1024
            );
        }
        for u in e.urls() {
            let _ = write!(
                body,
                "<li><a href=\"{0}\" rel=\"noopener\">{0}</a></li>",
                esc(u)
            );
        }
        body.push_str("</ul>");
    }
    let related: Vec<&str> = e
        .related_ids()
        .into_iter()
        .filter(|r| idx.is_visible(r, Visibility::PublicOn(&today)))
        .collect();
    if !related.is_empty() {
        body.push_str("<h2>関連する質問</h2><ul>");
        for r in related {
            if let Some(d) = idx.browse(Visibility::PublicOn(&today)).find(|d| d.id == r) {
                let _ = write!(
                    body,
                    "<li><a href=\"/faq/{}\">{}</a></li>",
                    url_enc(d.id),
                    esc(d.question)
                );
            }
        }
        body.push_str("</ul>");
    }
    body.push_str("<section id=\"rating\" aria-labelledby=\"rh\"><h2 id=\"rh\">この回答は役に立ちましたか？</h2>");
    match eq.rated.as_deref() {
        Some("again") => body.push_str("<p class=\"notice\" role=\"status\">この質問にはすでにご回答いただいています。ありがとうございました。</p>"),
        Some(_) => body.push_str("<p class=\"notice\" role=\"status\">ご回答ありがとうございました。</p>"),
        None => {}
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/faq/{}/rate\"><fieldset class=\"rating\"><legend>満足度（5がとても役に立った）</legend>",
        url_enc(&e.id)
    );
    for s in 1..=5 {
        let _ = write!(
            body,
            "<label><input type=\"radio\" name=\"score\" value=\"{s}\" required> {s}</label>"
        );
    }
    body.push_str("</fieldset><label for=\"comment\">ご意見（任意・個人情報は書かないでください）</label><textarea id=\"comment\" name=\"comment\" rows=\"3\" maxlength=\"1000\"></textarea><p><button type=\"submit\">送信する</button></p></form></section>");
    let page = Html(public_page(&app.site, &e.question, "", &body));
    Ok(match issued {
        Some((_, c)) => ([(header::SET_COOKIE, c)], page).into_response(),
        None => page.into_response(),
    })
}

#[derive(Deserialize)]
pub struct RateForm {
    score: u8,
    #[serde(default)]
    comment: String,
}

pub async fn rate(
    State(app): State<Arc<App>>,
    ident: Identity,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<RateForm>,
) -> WebResult<Redirect> {
    if !app
        .index()
        .is_visible(&id, Visibility::PublicOn(&app.clock.today_jst()))
    {
        return Err(AppError::NotFound);
    }
    if !(1..=5).contains(&f.score) {
        return Err(AppError::BadRequest("評価は1〜5です".into()));
    }
    let visitor_id = super::cookie(&headers, crate::visitor::COOKIE)
        .and_then(|c| app.visitors.verify(&c).map(str::to_string));
    if !app
        .visitors
        .count_rating(visitor_id.as_deref(), &ident.ip, &id, app.clock.now())
    {
        return Ok(Redirect::to(&format!(
            "/faq/{}?rated=again#rating",
            url_enc(&id)
        )));
    }
    let id2 = id.clone();
    blocking(&app, move |app| {
        stats::add_rating(&app.db, app.clock.now(), &id2, f.score, &f.comment)
    })
    .await?;
    Ok(Redirect::to(&format!(
        "/faq/{}?rated=1#rating",
        url_enc(&id)
    )))
}

pub async fn file(
    State(app): State<Arc<App>>,
    ident: Identity,
    Path(aid): Path<i64>,
) -> WebResult<Response> {
    let a = blocking(&app, move |app| attachments::get(&app.db, aid))
        .await?
        .ok_or(AppError::NotFound)?;
    // Staff may open files of internal entries; citizens only those of visible ones.
    if ident.staff.is_none()
        && !app
            .index()
            .is_visible(&a.faq_id, Visibility::PublicOn(&app.clock.today_jst()))
    {
        return Err(AppError::NotFound);
    }
    let path = attachments::path_of(&app.attachments_dir(), &a.sha256);
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let disp = format!("inline; filename*=UTF-8''{}", url_enc(&a.filename));
    Ok((
        [
            (header::CONTENT_TYPE, a.content_type.clone()),
            (header::CONTENT_DISPOSITION, disp),
            (header::CACHE_CONTROL, "private, max-age=300".to_string()),
        ],
        bytes,
    )
        .into_response())
}
