//! The desk's contact pages: login, search and list, create, view with the audit trail,
//! edit, exports, the access log.

use super::forms::{ContactForm, SearchForm, PAGE_SIZE};
use super::html::{self, csrf_field, desk_page, esc, esc_multiline, options};
use super::{AppError, Staff, WebResult, SESSION_COOKIE};
use crate::app::{blocking, App};
use crate::auth::{self, LoginOutcome, Role};
use crate::model::{Channel, Contact, Outcome};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Redirect};
use axum::Form;
use faq::clock::{format_jst, unix_now};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    login: String,
    password: String,
}

fn login_page(msg: &str) -> Html<String> {
    let err = if msg.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="error" role="alert">{}</p>"#, esc(msg))
    };
    Html(html::bare_page(
        "ログイン",
        &format!(
            r#"<h1>オペレーターデスク ログイン</h1>{err}
<form method="post" action="/desk/login" style="max-width:24rem">
<label for="login">ログインID</label><input id="login" name="login" type="text" autocomplete="username" required>
<label for="password">パスワード</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit">ログイン</button></p></form>"#
        ),
    ))
}

pub async fn login_form() -> Html<String> {
    login_page("")
}

pub async fn login(State(app): State<Arc<App>>, Form(f): Form<LoginForm>) -> WebResult {
    if f.login.len() > 64 || f.password.len() > 256 {
        return Ok(login_page("ログインIDまたはパスワードが違います").into_response());
    }
    // argon2 is bounded: wait a little for a slot, else say we are busy.
    let permit = tokio::time::timeout(Duration::from_secs(5), app.hash_slots.acquire())
        .await
        .map_err(|_| AppError::Busy)?
        .map_err(|_| AppError::Busy)?;
    let outcome = blocking(&app, move |a| auth::login(&a.db, &f.login, &f.password)).await?;
    drop(permit);
    Ok(match outcome {
        LoginOutcome::Ok(token) => {
            let mut r = Redirect::to("/desk").into_response();
            let c = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict");
            r.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&c).map_err(|e| AppError::Internal(e.to_string()))?,
            );
            r
        }
        LoginOutcome::BadCredentials => {
            login_page("ログインIDまたはパスワードが違います").into_response()
        }
        LoginOutcome::Locked => {
            login_page("失敗が続いたため、しばらくログインできません").into_response()
        }
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(app): State<Arc<App>>,
    staff: Staff,
    headers: axum::http::HeaderMap,
    Form(f): Form<CsrfForm>,
) -> WebResult {
    staff.check_csrf(&f.csrf)?;
    if let Some(token) = faq::web::cookie(&headers, SESSION_COOKIE) {
        blocking(&app, move |a| auth::logout(&a.db, &token)).await?;
    }
    let mut r = Redirect::to("/desk/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "history_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
        ),
    );
    Ok(r)
}

fn search_form_html(app: &App, f: &SearchForm) -> String {
    let channels = options(
        Channel::ALL.iter().map(|c| (c.as_str(), c.label())),
        &f.channel,
        Some("すべて"),
    );
    let outcomes = options(
        Outcome::ALL.iter().map(|o| (o.as_str(), o.label())),
        &f.outcome,
        Some("すべて"),
    );
    let cats = options(
        app.categories().iter().map(|c| (c.as_str(), c.as_str())),
        &f.category,
        Some("すべて"),
    );
    let deps = options(
        app.departments().iter().map(|c| (c.as_str(), c.as_str())),
        &f.department,
        Some("すべて"),
    );
    format!(
        r#"<form method="get" action="/desk" role="search" aria-label="応対履歴の検索"><div class="grid">
<div><label for="s-from">期間（から）</label><input id="s-from" name="from" type="date" value="{from}"></div>
<div><label for="s-to">期間（まで）</label><input id="s-to" name="to" type="date" value="{to}"></div>
<div><label for="s-channel">チャネル</label><select id="s-channel" name="channel">{channels}</select></div>
<div><label for="s-line">回線</label><input id="s-line" name="line" type="text" value="{line}"></div>
<div><label for="s-category">分類</label><select id="s-category" name="category">{cats}</select></div>
<div><label for="s-operator">オペレーター</label><input id="s-operator" name="operator" type="text" value="{operator}"></div>
<div><label for="s-outcome">対応結果</label><select id="s-outcome" name="outcome">{outcomes}</select></div>
<div><label for="s-department">担当課</label><select id="s-department" name="department">{deps}</select></div>
<div><label for="s-caller">相手先（番号・アドレス）</label><input id="s-caller" name="caller" type="text" value="{caller}"></div>
<div><label for="s-q">キーワード</label><input id="s-q" name="q" type="text" value="{q}" placeholder="例：住民票 郵送"></div>
</div><p><button type="submit">検索</button> <a class="button secondary" href="/desk">条件をクリア</a></p></form>"#,
        from = esc(&f.from),
        to = esc(&f.to),
        line = esc(&f.line),
        operator = esc(&f.operator),
        caller = esc(&f.caller),
        q = esc(&f.q),
    )
}

fn results_table(rows: &[Contact]) -> String {
    let mut t = String::from(
        r#"<table id="results"><thead><tr><th>選択</th><th>ID</th><th>受付日時</th><th>チャネル</th><th>回線</th><th>分類</th><th>内容</th><th>対応結果</th><th>担当課</th><th>オペレーター</th></tr></thead><tbody>"#,
    );
    for c in rows {
        let i = &c.input;
        let summary: String = i.summary.chars().take(80).collect();
        t.push_str(&format!(
            r#"<tr><td><input type="checkbox" name="sel" value="{id}" form="selection" aria-label="記録{id}を選択"></td><td><a href="/desk/contacts/{id}">{id}</a></td><td>{at}</td><td>{ch}</td><td>{line}</td><td>{cat}</td><td>{sum}</td><td>{out}</td><td>{dep}</td><td>{op}</td></tr>"#,
            id = c.id,
            at = format_jst(i.started_at),
            ch = i.channel.label(),
            line = esc(&i.line),
            cat = esc(&i.category),
            sum = esc(&summary),
            out = i.outcome.label(),
            dep = esc(&i.department),
            op = esc(&i.operator),
        ));
    }
    t.push_str("</tbody></table>");
    t
}

pub async fn list(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(f): Query<SearchForm>,
) -> WebResult {
    let mut body = search_form_html(&app, &f);
    match f.to_query() {
        Err(p) => body.push_str(&format!(
            r#"<div class="error" role="alert">{}</div>"#,
            esc_multiline(&p.join("\n"))
        )),
        Ok(q) => {
            let (rows, total) = blocking(&app, move |a| a.db.search(&q)).await?;
            let qs = f.query_string();
            body.push_str(&format!(
                r#"<p id="count" role="status">{total}件</p>
<p>書き出し（この条件の全件）：<a href="/desk/export.csv?{qs}">CSV (UTF-8)</a> ・ <a href="/desk/export.csv?{qs}&amp;enc=sjis">CSV (Shift_JIS)</a> ・ <a href="/desk/export.xlsx?{qs}">Excel</a></p>
<form id="selection" method="get" action="/desk/export.csv" class="inline"><input type="hidden" name="ids" value=""><button type="submit" class="secondary" id="export-selected">選択した記録をCSVで書き出し</button></form>"#,
                qs = esc(&qs)
            ));
            body.push_str(&results_table(&rows));
            let pages = total.div_ceil(PAGE_SIZE as u64);
            if pages > 1 {
                body.push_str(r#"<nav aria-label="ページ"><p>"#);
                let base = f.query_string();
                if f.page > 0 {
                    body.push_str(&format!(
                        r#"<a href="/desk?{}&amp;page={}">前へ</a> "#,
                        esc(&base),
                        f.page - 1
                    ));
                }
                body.push_str(&format!("{} / {} ", f.page + 1, pages));
                if u64::from(f.page) + 1 < pages {
                    body.push_str(&format!(
                        r#"<a href="/desk?{}&amp;page={}">次へ</a>"#,
                        esc(&base),
                        f.page + 1
                    ));
                }
                body.push_str("</p></nav>");
            }
        }
    }
    Ok(Html(desk_page("応対履歴", &staff.0, &body)).into_response())
}

pub(crate) fn contact_form_html(
    app: &App,
    staff: &Staff,
    f: &ContactForm,
    action: &str,
    errors: &[String],
) -> String {
    let err = if errors.is_empty() {
        String::new()
    } else {
        format!(
            r#"<div class="error" role="alert"><ul>{}</ul></div>"#,
            errors
                .iter()
                .map(|e| format!("<li>{}</li>", esc(e)))
                .collect::<String>()
        )
    };
    let channels = options(
        Channel::ALL.iter().map(|c| (c.as_str(), c.label())),
        &f.channel,
        None,
    );
    let outcomes = options(
        Outcome::ALL.iter().map(|o| (o.as_str(), o.label())),
        &f.outcome,
        None,
    );
    let cats = options(
        app.categories().iter().map(|c| (c.as_str(), c.as_str())),
        &f.category,
        Some("（未選択）"),
    );
    let deps = options(
        app.departments().iter().map(|c| (c.as_str(), c.as_str())),
        &f.department,
        Some("（なし）"),
    );
    format!(
        r#"{err}<form method="post" action="{action}" id="contact-form">{csrf}<input type="hidden" name="version" value="{version}">
<div class="grid">
<div><label for="channel">チャネル</label><select id="channel" name="channel">{channels}</select></div>
<div><label for="line">回線（着信番号）</label><input id="line" name="line" type="text" value="{line}"></div>
<div><label for="started">受付日時</label><input id="started" name="started" type="datetime-local" value="{started}" required></div>
<div><label for="ended">終了日時</label><input id="ended" name="ended" type="datetime-local" value="{ended}"></div>
<div><label for="operator">オペレーター</label><input id="operator" name="operator" type="text" value="{operator}"></div>
<div><label for="caller">相手先（番号・アドレス）</label><input id="caller" name="caller" type="text" value="{caller}"></div>
<div><label for="caller_name">氏名（回答に必要な場合のみ）</label><input id="caller_name" name="caller_name" type="text" value="{caller_name}"></div>
<div><label for="category">分類</label><select id="category" name="category">{cats}</select></div>
<div><label for="outcome">対応結果</label><select id="outcome" name="outcome">{outcomes}</select></div>
<div><label for="department">担当課（転送・折り返し・伝達先）</label><select id="department" name="department">{deps}</select></div>
<div><label for="faq_ids">使用したFAQ-ID（カンマ区切り）</label><input id="faq_ids" name="faq_ids" type="text" value="{faq_ids}"></div>
<div><label for="call_id">通話ID</label><input id="call_id" name="call_id" type="text" value="{call_id}"></div>
</div>
<label for="summary">内容</label><textarea id="summary" name="summary" rows="6">{summary}</textarea>
<p><button type="submit" id="save">保存</button></p></form>"#,
        csrf = csrf_field(&staff.0),
        version = f.version,
        line = esc(&f.line),
        started = esc(&f.started),
        ended = esc(&f.ended),
        operator = esc(&f.operator),
        caller = esc(&f.caller),
        caller_name = esc(&f.caller_name),
        faq_ids = esc(&f.faq_ids),
        call_id = esc(&f.call_id),
        summary = esc(&f.summary),
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewParams {
    /// Pre-filled by the screen pop.
    line: String,
    caller: String,
    call_id: String,
    channel: String,
}

pub async fn new_form(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(p): Query<NewParams>,
) -> WebResult {
    let f = ContactForm {
        channel: if p.channel.is_empty() {
            "phone".into()
        } else {
            p.channel
        },
        outcome: "answered".into(),
        started: super::forms::to_local_input(unix_now()),
        operator: if staff.0.agent_id.is_empty() {
            staff.0.login.clone()
        } else {
            staff.0.agent_id.clone()
        },
        line: p.line,
        caller: p.caller,
        call_id: p.call_id,
        ..Default::default()
    };
    let body = contact_form_html(&app, &staff, &f, "/desk/contacts", &[]);
    Ok(Html(desk_page("応対記録の作成", &staff.0, &body)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BackParams {
    /// `phone`: saved from the phone desk's after-call-work form; go back there.
    back: String,
}

pub async fn create(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(b): Query<BackParams>,
    Form(f): Form<ContactForm>,
) -> WebResult {
    staff.check_csrf(&f.csrf)?;
    let from_phone = b.back == "phone";
    let action = if from_phone {
        "/desk/contacts?back=phone"
    } else {
        "/desk/contacts"
    };
    match f.to_input(app.categories(), app.departments()) {
        Err(p) => {
            let body = contact_form_html(&app, &staff, &f, action, &p);
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                Html(desk_page("応対記録の作成", &staff.0, &body)),
            )
                .into_response())
        }
        Ok(input) => {
            let by = staff.0.login.clone();
            let c = blocking(&app, move |a| a.db.create_contact(&input, &by)).await?;
            Ok(if from_phone {
                Redirect::to(&format!("/desk/phone?saved={}", c.id))
            } else {
                Redirect::to(&format!("/desk/contacts/{}?saved=1", c.id))
            }
            .into_response())
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ShowParams {
    saved: u8,
}

pub async fn show(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(p): Query<ShowParams>,
) -> WebResult {
    let (c, audit) = blocking(&app, move |a| -> crate::error::Result<_> {
        Ok((a.db.contact(id)?, a.db.audit(id)?))
    })
    .await?;
    let c = c.ok_or(AppError::NotFound)?;
    let i = &c.input;
    let mut body = String::new();
    if p.saved == 1 {
        body.push_str(r#"<p class="notice" role="status" id="saved">保存しました</p>"#);
    }
    let faqs: String = i
        .faq_ids
        .iter()
        .map(|f| {
            format!(
                r#"<a href="https://127.0.0.1:8443/faq/{0}">{0}</a> "#,
                esc(f)
            )
        })
        .collect();
    body.push_str(&format!(
        r#"<table class="record"><tbody>
<tr><th>記録ID</th><td id="record-id">{id}</td></tr>
<tr><th>チャネル</th><td>{ch}</td></tr><tr><th>回線</th><td>{line}</td></tr>
<tr><th>受付日時</th><td>{start}</td></tr><tr><th>終了日時</th><td>{end}</td></tr>
<tr><th>オペレーター</th><td>{op}</td></tr><tr><th>相手先</th><td>{caller}</td></tr><tr><th>氏名</th><td>{name}</td></tr>
<tr><th>分類</th><td>{cat}</td></tr><tr><th>内容</th><td>{sum}</td></tr><tr><th>使用FAQ</th><td>{faqs}</td></tr>
<tr><th>対応結果</th><td>{out}</td></tr><tr><th>担当課</th><td>{dep}</td></tr><tr><th>通話ID</th><td>{call}</td></tr>
<tr><th>最終更新</th><td>{upd}（{by}、版{ver}）</td></tr>
</tbody></table><p><a class="button" href="/desk/contacts/{id}/edit">編集</a></p>"#,
        id = c.id,
        ch = i.channel.label(),
        line = esc(&i.line),
        start = format_jst(i.started_at),
        end = if i.ended_at > 0 { format_jst(i.ended_at) } else { String::new() },
        op = esc(&i.operator),
        caller = esc(&i.caller),
        name = esc(&i.caller_name),
        cat = esc(&i.category),
        sum = esc_multiline(&i.summary),
        out = i.outcome.label(),
        dep = esc(&i.department),
        call = esc(&i.call_id),
        upd = format_jst(c.updated_at),
        by = esc(&c.updated_by),
        ver = c.version,
    ));
    body.push_str(r#"<h2>変更履歴</h2><table id="audit"><thead><tr><th>日時</th><th>操作</th><th>担当</th></tr></thead><tbody>"#);
    for a in &audit {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            format_jst(a.at),
            esc(&a.action),
            esc(&a.by)
        ));
    }
    body.push_str("</tbody></table>");
    Ok(Html(desk_page(&format!("応対記録 {}", c.id), &staff.0, &body)).into_response())
}

pub async fn edit_form(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<i64>,
) -> WebResult {
    let c = blocking(&app, move |a| a.db.contact(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let f = ContactForm::from_input(&c.input, c.version);
    let body = contact_form_html(&app, &staff, &f, &format!("/desk/contacts/{id}"), &[]);
    Ok(Html(desk_page(&format!("応対記録 {id} の編集"), &staff.0, &body)).into_response())
}

pub async fn update(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<ContactForm>,
) -> WebResult {
    staff.check_csrf(&f.csrf)?;
    let old = blocking(&app, move |a| a.db.contact(id))
        .await?
        .ok_or(AppError::NotFound)?;
    // Operators edit their own records; supervisors anyone's.
    if staff.0.role < Role::Supervisor && old.created_by != staff.0.login {
        return Err(AppError::Forbidden);
    }
    match f.to_input(app.categories(), app.departments()) {
        Err(p) => {
            let body = contact_form_html(&app, &staff, &f, &format!("/desk/contacts/{id}"), &p);
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                Html(desk_page("応対記録の編集", &staff.0, &body)),
            )
                .into_response())
        }
        Ok(input) => {
            let by = staff.0.login.clone();
            let version = f.version;
            blocking(&app, move |a| a.db.update_contact(id, version, &input, &by)).await?;
            Ok(Redirect::to(&format!("/desk/contacts/{id}?saved=1")).into_response())
        }
    }
}
