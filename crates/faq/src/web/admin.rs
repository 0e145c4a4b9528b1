//! The internal FAQ system: sign-in, the entry list, viewing (all roles), and creating,
//! editing, publishing, deleting and attaching files (editors and administrators).
//! Every POST checks the session's CSRF token.

use super::html::{csrf_field, esc, esc_multiline, staff_page, url_enc};
use super::{cookie, AppError, Staff, WebResult, SESSION_COOKIE};
use crate::app::{blocking, App};
use crate::auth::{self, LoginOutcome, Role};
use crate::clock::format_jst;
use crate::model::Entry;
use crate::search::Visibility;
use crate::{attachments, stats};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;

const LOGIN_CSRF_COOKIE: &str = "faq_login_csrf";
const PAGE: usize = 100;

fn login_page(site: &super::html::SiteInfo, token: &str, error: Option<&str>) -> String {
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    super::html::public_page(
        site,
        "職員ログイン",
        "",
        &format!(
            "<h1>FAQ管理 ログイン</h1>{err}<form method=\"post\" action=\"/admin/login\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{t}\">\
             <label for=\"login\">ログインID</label><input type=\"text\" id=\"login\" name=\"login\" autocomplete=\"username\" required>\
             <label for=\"password\">パスワード</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <p><button type=\"submit\">ログイン</button></p></form>",
            t = esc(token)
        ),
    )
}

/// The login form carries a token that must match a cookie set with it (double submit),
/// so another site cannot sign a browser in to an attacker's account.
fn with_login_token(app: &App, status: StatusCode, error: Option<&str>) -> Response {
    let token = auth::random_hex(16);
    let cookie =
        format!("{LOGIN_CSRF_COOKIE}={token}; Path=/admin; HttpOnly; Secure; SameSite=Strict");
    (
        status,
        [(header::SET_COOKIE, cookie)],
        Html(login_page(&app.site, &token, error)),
    )
        .into_response()
}

pub async fn login_form(State(app): State<Arc<App>>) -> Response {
    with_login_token(&app, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(app): State<Arc<App>>,
    ident: super::Identity,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> WebResult<Response> {
    use crate::login_guard::{Admit, MAX_PASSWORD_BYTES};
    const WRONG: &str = "ログインIDまたはパスワードが違います";
    const LOCKED: &str = "ログインに続けて失敗したため、しばらくログインできません。15分後に再度お試しいただくか、管理者に連絡してください";
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !super::constant_eq(expected.as_bytes(), f.csrf.as_bytes()) {
        return Err(AppError::Csrf);
    }
    // Cheap refusals first: nothing here costs a hash.
    let login = f.login.trim().to_string();
    if login.is_empty()
        || login.len() > 100
        || f.password.is_empty()
        || f.password.len() > MAX_PASSWORD_BYTES
    {
        return Ok(with_login_token(
            &app,
            StatusCode::UNAUTHORIZED,
            Some(WRONG),
        ));
    }
    let now = app.clock.now();
    if app.guard.admit(&login, &ident.ip, now) == Admit::Locked {
        // The same answer whether or not the ID exists.
        return Ok(with_login_token(
            &app,
            StatusCode::UNAUTHORIZED,
            Some(LOCKED),
        ));
    }
    let Some(slot) = app.guard.hash_slot().await else {
        app.guard.abandon(&login, &ident.ip);
        let mut resp = with_login_token(
            &app,
            StatusCode::SERVICE_UNAVAILABLE,
            Some("ただいま混み合っています。少し待ってからもう一度お試しください"),
        );
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        return Ok(resp);
    };
    let (l2, pw) = (login.clone(), f.password);
    let outcome = blocking(&app, move |app| auth::login(&app.db, &l2, &pw)).await;
    drop(slot);
    let ok = matches!(outcome, Ok(LoginOutcome::Ok(_)));
    app.guard.finish(&login, &ident.ip, ok, now);
    Ok(match outcome? {
        LoginOutcome::Ok(token) => {
            let c = format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                auth::SESSION_SECS
            );
            ([(header::SET_COOKIE, c)], Redirect::to("/admin")).into_response()
        }
        LoginOutcome::BadCredentials => {
            with_login_token(&app, StatusCode::UNAUTHORIZED, Some(WRONG))
        }
        LoginOutcome::Locked => with_login_token(&app, StatusCode::UNAUTHORIZED, Some(LOCKED)),
    })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(app): State<Arc<App>>,
    staff: Staff,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> WebResult<Response> {
    staff.check_csrf(&f.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        blocking(&app, move |app| auth::logout(&app.db, &token)).await?;
    }
    let c = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, c)], Redirect::to("/admin/login")).into_response())
}

pub fn status_label(e: &Entry, today: &str) -> &'static str {
    if !e.public {
        "非公開"
    } else if !e.publish_start.is_empty() && today < e.publish_start.as_str() {
        "公開予定"
    } else if !e.publish_end.is_empty() && today > e.publish_end.as_str() {
        "公開終了"
    } else {
        "公開中"
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: usize,
}

pub async fn list(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(lq): Query<ListQuery>,
) -> WebResult<Html<String>> {
    let idx = app.index();
    let ids: Vec<String> = if lq.q.trim().is_empty() {
        idx.browse(Visibility::All)
            .skip(lq.page * PAGE)
            .take(PAGE)
            .map(|d| d.id.to_string())
            .collect()
    } else {
        idx.search(&lq.q, Visibility::All, PAGE)
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    let entries = blocking(&app, move |app| app.db.entries_by_ids(&ids)).await?;
    let today = app.clock.today_jst();
    let mut body = format!(
        "<form role=\"search\" method=\"get\" action=\"/admin\"><label for=\"aq\">検索（内部向けFAQを含む）</label>\
         <input type=\"text\" id=\"aq\" name=\"q\" value=\"{}\"> <button type=\"submit\">検索</button></form>\
         <p>全{}件</p><table><thead><tr><th>FAQ-ID</th><th>質問</th><th>カテゴリ</th><th>状態</th></tr></thead><tbody>",
        esc(&lq.q),
        idx.len()
    );
    for e in &entries {
        let _ = write!(
            body,
            "<tr><td>{}</td><td><a href=\"/admin/faq/{}\">{}</a></td><td>{}</td><td><span class=\"badge\">{}</span></td></tr>",
            esc(&e.id),
            url_enc(&e.id),
            esc(&e.question),
            esc(&e.category),
            status_label(e, &today)
        );
    }
    body.push_str("</tbody></table>");
    if lq.q.trim().is_empty() && idx.len() > PAGE {
        body.push_str("<p>");
        for p in 0..idx.len().div_ceil(PAGE) {
            let _ = write!(body, "<a href=\"/admin?page={p}\">{}</a> ", p + 1);
        }
        body.push_str("</p>");
    }
    Ok(Html(staff_page("FAQ一覧", &staff.0, &body)))
}

/// The category picker: the managed list grouped by kind, the entry's own category kept
/// even when it has left the list.
fn category_select(list: &[crate::categories::Category], current: &str) -> String {
    let mut out = String::from("<select id=\"category\" name=\"category\" required><option value=\"\">選んでください</option>");
    if !current.is_empty() && !list.iter().any(|c| c.path == current) {
        let _ = write!(
            out,
            "<option value=\"{0}\" selected>{0}（一覧にありません）</option>",
            esc(current)
        );
    }
    for kind in crate::categories::KINDS {
        let _ = write!(out, "<optgroup label=\"{kind}\">");
        for c in list.iter().filter(|c| c.kind == kind) {
            let sel = if c.path == current { " selected" } else { "" };
            let _ = write!(out, "<option value=\"{0}\"{sel}>{0}</option>", esc(&c.path));
        }
        out.push_str("</optgroup>");
    }
    out.push_str("</select>");
    out
}

fn entry_form(
    staff: &Staff,
    e: &Entry,
    action: &str,
    is_new: bool,
    errors: &[String],
    categories: &[crate::categories::Category],
) -> String {
    let mut out = String::new();
    if !errors.is_empty() {
        out.push_str("<div class=\"error\" role=\"alert\"><p>保存できませんでした：</p><ul>");
        for er in errors {
            let _ = write!(out, "<li>{}</li>", esc(er));
        }
        out.push_str("</ul></div>");
    }
    let id_field = if is_new {
        format!("<label for=\"id\">FAQ-ID</label><input type=\"text\" id=\"id\" name=\"id\" value=\"{}\" required pattern=\"[A-Za-z0-9_\\-]{{1,32}}\">", esc(&e.id))
    } else {
        format!("<p>FAQ-ID：{}</p>", esc(&e.id))
    };
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{action}\">{csrf}{id_field}\
         <label for=\"category\">カテゴリ（一覧は<a href=\"/admin/categories\">カテゴリ管理</a>で）</label>{cat}\
         <label for=\"question\">質問</label><input type=\"text\" id=\"question\" name=\"question\" value=\"{q}\" required>\
         <label for=\"answer\">回答</label><textarea id=\"answer\" name=\"answer\" rows=\"10\" required>{a}</textarea>\
         <label for=\"related_faq\">関連FAQ（FAQ-IDを ; 区切り）</label><input type=\"text\" id=\"related_faq\" name=\"related_faq\" value=\"{rf}\">\
         <label for=\"related_url\">関連URL（; 区切り）</label><input type=\"text\" id=\"related_url\" name=\"related_url\" value=\"{ru}\">\
         <label for=\"department\">担当課</label><input type=\"text\" id=\"department\" name=\"department\" value=\"{d}\">\
         <label><input type=\"checkbox\" name=\"public\" value=\"1\"{pub}> 公開する</label>\
         <label for=\"publish_start\">公開開始日</label><input type=\"date\" id=\"publish_start\" name=\"publish_start\" value=\"{ps}\">\
         <label for=\"publish_end\">公開終了日</label><input type=\"date\" id=\"publish_end\" name=\"publish_end\" value=\"{pe}\">\
         <p><button type=\"submit\">保存</button></p></form>",
        csrf = csrf_field(&staff.0),
        cat = category_select(categories, &e.category),
        q = esc(&e.question),
        a = esc(&e.answer),
        rf = esc(&e.related_faq),
        ru = esc(&e.related_url),
        d = esc(&e.department),
        pub = if e.public { " checked" } else { "" },
        ps = esc(&e.publish_start),
        pe = esc(&e.publish_end),
    );
    out
}

#[derive(Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    related_faq: String,
    #[serde(default)]
    related_url: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    public: Option<String>,
    #[serde(default)]
    publish_start: String,
    #[serde(default)]
    publish_end: String,
}

impl EntryForm {
    fn entry(&self, id: &str) -> Entry {
        Entry {
            id: id.trim().to_string(),
            category: self.category.trim().to_string(),
            question: self.question.trim().to_string(),
            answer: self.answer.replace("\r\n", "\n").trim().to_string(),
            related_faq: self.related_faq.trim().to_string(),
            related_url: self.related_url.trim().to_string(),
            department: self.department.trim().to_string(),
            public: self.public.is_some(),
            publish_start: self.publish_start.trim().to_string(),
            publish_end: self.publish_end.trim().to_string(),
        }
    }
}

pub async fn new_form(State(app): State<Arc<App>>, staff: Staff) -> WebResult<Html<String>> {
    staff.require(Role::Editor)?;
    let e = Entry {
        publish_start: app.clock.today_jst(),
        ..Entry::default()
    };
    let cats = blocking(&app, |app| crate::categories::list(&app.db)).await?;
    Ok(Html(staff_page(
        "FAQの新規作成",
        &staff.0,
        &entry_form(&staff, &e, "/admin/new", true, &[], &cats),
    )))
}

pub async fn create(
    State(app): State<Arc<App>>,
    staff: Staff,
    Form(f): Form<EntryForm>,
) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    staff.check_csrf(&f.csrf)?;
    let e = f.entry(&f.id);
    save(&app, staff, e, true).await
}

pub async fn update(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<EntryForm>,
) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    staff.check_csrf(&f.csrf)?;
    let e = f.entry(&id);
    save(&app, staff, e, false).await
}

async fn save(app: &Arc<App>, staff: Staff, e: Entry, is_new: bool) -> WebResult<Response> {
    let mut problems = e.problems();
    let id = e.id.clone();
    let (old, cats) = blocking(app, move |app| -> crate::error::Result<_> {
        Ok((app.db.entry(&id)?, crate::categories::list(&app.db)?))
    })
    .await?;
    let exists = old.is_some();
    // A category from the list, or the one the entry already had (kept until changed).
    let kept = old.as_ref().is_some_and(|o| o.category == e.category);
    if !e.category.is_empty() && !kept && !cats.iter().any(|c| c.path == e.category) {
        problems.push(format!(
            "カテゴリ「{}」は一覧にありません（カテゴリ管理で追加してください）",
            e.category
        ));
    }
    if is_new && exists {
        problems.push(format!("FAQ-ID {} はすでに使われています", e.id));
    }
    if !is_new && !exists {
        return Err(AppError::NotFound);
    }
    if !problems.is_empty() {
        let action = if is_new {
            "/admin/new".to_string()
        } else {
            format!("/admin/faq/{}/edit", url_enc(&e.id))
        };
        let page = staff_page(
            "FAQの編集",
            &staff.0,
            &entry_form(&staff, &e, &action, is_new, &problems, &cats),
        );
        return Ok((StatusCode::BAD_REQUEST, Html(page)).into_response());
    }
    let user = staff.0.login.clone();
    let id = e.id.clone();
    blocking(app, move |app| -> crate::error::Result<()> {
        app.db
            .save(&e, &user, if is_new { "作成" } else { "更新" })?;
        app.reindex()
    })
    .await?;
    Ok(Redirect::to(&format!("/admin/faq/{}?saved=1", url_enc(&id))).into_response())
}

pub async fn edit_form(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Html<String>> {
    staff.require(Role::Editor)?;
    let (e, cats) = blocking(&app, move |app| -> crate::error::Result<_> {
        Ok((app.db.entry(&id)?, crate::categories::list(&app.db)?))
    })
    .await?;
    let e = e.ok_or(AppError::NotFound)?;
    let action = format!("/admin/faq/{}/edit", url_enc(&e.id));
    Ok(Html(staff_page(
        "FAQの編集",
        &staff.0,
        &entry_form(&staff, &e, &action, false, &[], &cats),
    )))
}

#[derive(Deserialize)]
pub struct ShowQuery {
    saved: Option<String>,
}

pub async fn show(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<String>,
    Query(sq): Query<ShowQuery>,
) -> WebResult<Html<String>> {
    let id2 = id.clone();
    let (e, history, files, ratings, comments) =
        blocking(&app, move |app| -> crate::error::Result<_> {
            let e = app
                .db
                .entry(&id2)?
                .ok_or(crate::error::FaqError::NotFound)?;
            Ok((
                e,
                app.db.history(&id2)?,
                attachments::list(&app.db, &id2)?,
                stats::rating_stats(&app.db, Some(&id2))?,
                stats::comments(&app.db, &id2, 20)?,
            ))
        })
        .await?;
    app.log.view(&id);
    let today = app.clock.today_jst();
    let csrf = csrf_field(&staff.0);
    let eid = url_enc(&e.id);
    let mut body = String::new();
    if sq.saved.is_some() {
        body.push_str("<p class=\"notice\" role=\"status\">保存しました。</p>");
    }
    let _ = write!(
        body,
        "<p><span class=\"badge\">{st}</span> {cat}</p><h2>{q}</h2><div class=\"answer\">{a}</div>\
         <table><tr><th>FAQ-ID</th><td>{id}</td></tr><tr><th>担当課</th><td>{d}</td></tr>\
         <tr><th>関連FAQ</th><td>{rf}</td></tr><tr><th>関連URL</th><td>{ru}</td></tr>\
         <tr><th>公開期間</th><td>{ps} 〜 {pe}</td></tr></table>",
        st = status_label(&e, &today),
        cat = esc(&e.category),
        q = esc(&e.question),
        a = esc_multiline(&e.answer),
        id = esc(&e.id),
        d = esc(&e.department),
        rf = esc(&e.related_faq),
        ru = esc(&e.related_url),
        ps = esc(&e.publish_start),
        pe = esc(&e.publish_end),
    );
    let editor = staff.0.role >= Role::Editor;
    if editor {
        let (label, val) = if e.public {
            ("非公開にする", "0")
        } else {
            ("公開する", "1")
        };
        let _ = write!(
            body,
            "<p><a class=\"button\" href=\"/admin/faq/{eid}/edit\">編集</a> \
             <form class=\"inline\" method=\"post\" action=\"/admin/faq/{eid}/publish\">{csrf}<input type=\"hidden\" name=\"public\" value=\"{val}\"><button type=\"submit\" class=\"secondary\">{label}</button></form> \
             <form class=\"inline\" method=\"post\" action=\"/admin/faq/{eid}/delete\">{csrf}<button type=\"submit\" class=\"danger\">削除</button></form></p>"
        );
    }
    body.push_str("<h2>添付ファイル</h2><ul>");
    for f in &files {
        let _ = write!(
            body,
            "<li><a href=\"/files/{}\">{}</a>（{}、{}バイト）",
            f.id,
            esc(&f.filename),
            esc(&f.content_type),
            f.size
        );
        if editor {
            let _ = write!(body, " <form class=\"inline\" method=\"post\" action=\"/admin/attachments/{}/delete\">{csrf}<button type=\"submit\" class=\"secondary\">外す</button></form>", f.id);
        }
        body.push_str("</li>");
    }
    body.push_str("</ul>");
    if editor {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/admin/faq/{eid}/attachments\" enctype=\"multipart/form-data\">{csrf}\
             <label for=\"file\">ファイルを添付（PDF・画像、10MBまで）</label><input type=\"file\" id=\"file\" name=\"file\" accept=\"application/pdf,image/*\" required> \
             <button type=\"submit\">添付</button></form>"
        );
    }
    body.push_str("<h2>評価（月別）</h2>");
    body.push_str(&super::history::rating_chart(&ratings));
    body.push_str("<h3>ご意見</h3><ul>");
    for (at, score, c) in &comments {
        let _ = write!(body, "<li>{}（{}）{}</li>", format_jst(*at), score, esc(c));
    }
    body.push_str("</ul><h2>変更履歴</h2>");
    body.push_str(&super::history::history_table(&e.id, &history, &staff));
    Ok(Html(staff_page(
        &format!("{} {}", e.id, e.question),
        &staff.0,
        &body,
    )))
}

#[derive(Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    csrf: String,
    public: String,
}

pub async fn publish(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<PublishForm>,
) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    staff.check_csrf(&f.csrf)?;
    let public = f.public == "1";
    let user = staff.0.login.clone();
    let id2 = id.clone();
    blocking(&app, move |app| -> crate::error::Result<()> {
        let mut e = app
            .db
            .entry(&id2)?
            .ok_or(crate::error::FaqError::NotFound)?;
        e.public = public;
        app.db
            .save(&e, &user, if public { "公開" } else { "非公開" })?;
        app.reindex()
    })
    .await?;
    Ok(Redirect::to(&format!("/admin/faq/{}?saved=1", url_enc(&id))).into_response())
}

pub async fn delete(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    staff.check_csrf(&f.csrf)?;
    let user = staff.0.login.clone();
    let found = blocking(&app, move |app| -> crate::error::Result<bool> {
        let found = app.db.delete(&id, &user)?;
        app.reindex()?;
        Ok(found)
    })
    .await?;
    if !found {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/admin").into_response())
}

/// A staff upload form: its CSRF token and the file (name, bytes), as both the
/// attachment and the CSV import forms send them.
pub(crate) async fn read_upload(
    mp: &mut Multipart,
) -> WebResult<(String, Option<(String, axum::body::Bytes)>)> {
    let bad = |e: axum::extract::multipart::MultipartError| AppError::BadRequest(e.to_string());
    let (mut csrf, mut file) = (String::new(), None);
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(bad)?,
            Some("file") => {
                let name = field.file_name().unwrap_or("file").to_string();
                file = Some((name, field.bytes().await.map_err(bad)?));
            }
            _ => {}
        }
    }
    Ok((csrf, file))
}

pub async fn upload(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<String>,
    mut mp: Multipart,
) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    let (csrf, file) = read_upload(&mut mp).await?;
    staff.check_csrf(&csrf)?;
    let (name, bytes) = file.ok_or_else(|| AppError::BadRequest("ファイルがありません".into()))?;
    let user = staff.0.login.clone();
    let id2 = id.clone();
    blocking(&app, move |app| -> crate::error::Result<i64> {
        app.db
            .entry(&id2)?
            .ok_or(crate::error::FaqError::NotFound)?;
        attachments::save(&app.db, &app.attachments_dir(), &id2, &name, &bytes, &user)
    })
    .await?;
    Ok(Redirect::to(&format!("/admin/faq/{}?saved=1", url_enc(&id))).into_response())
}

pub async fn delete_attachment(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(aid): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    staff.check_csrf(&f.csrf)?;
    let a = blocking(&app, move |app| {
        attachments::delete(&app.db, &app.attachments_dir(), aid)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&format!("/admin/faq/{}", url_enc(&a.faq_id))).into_response())
}
