//! The citizens' inquiry form (spec 第2-8 ⑵): form → confirmation page → sent, on
//! phones too, with spam protection that needs no third-party service — a rate limit
//! per address, a honeypot field people never see, and a signed time check (no bot
//! fills a form in under three seconds). The JSON endpoint takes the same fields.

use super::html::{esc, esc_multiline};
use crate::app::{blocking, App};
use crate::formtoken::{self, Check};
use crate::store::inquiries::{receipt, InquiryInput};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use faq::clock::unix_now;
use serde::Deserialize;
use std::sync::Arc;

/// Sends per minute per address (burst), and per hour per address (kept in the
/// database, so a restart does not reset it).
pub const PER_MIN: u32 = 3;
pub const PER_HOUR: i64 = 10;
pub const MAX_NAME: usize = 100;
pub const MAX_SUBJECT: usize = 200;
pub const MAX_BODY: usize = 4000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InquiryForm {
    pub name: String,
    pub email: String,
    pub subject: String,
    pub body: String,
    /// The honeypot: hidden from people, filled by bots.
    pub website: String,
    /// The signed time the form was served.
    pub t: String,
}

impl InquiryForm {
    fn input(&self) -> InquiryInput {
        InquiryInput {
            name: self.name.trim().to_string(),
            email: self.email.trim().to_string(),
            subject: self.subject.trim().to_string(),
            body: self.body.replace("\r\n", "\n").trim().to_string(),
        }
    }
}

pub fn validate(i: &InquiryInput) -> Vec<String> {
    let mut p = Vec::new();
    let len = |s: &str| s.chars().count();
    if i.name.is_empty() || len(&i.name) > MAX_NAME {
        p.push(format!("お名前を{MAX_NAME}文字以内で入力してください"));
    }
    if i.email.parse::<lettre::Address>().is_err() || len(&i.email) > 254 {
        p.push("メールアドレスの形式が正しくありません（例：taro@example.jp）".to_string());
    }
    if i.subject.is_empty() || len(&i.subject) > MAX_SUBJECT {
        p.push(format!("件名を{MAX_SUBJECT}文字以内で入力してください"));
    }
    if i.body.is_empty() || len(&i.body) > MAX_BODY {
        p.push(format!(
            "お問い合わせ内容を{MAX_BODY}文字以内で入力してください"
        ));
    }
    let bad = |s: &str, nl: bool| {
        s.chars()
            .any(|c| c.is_control() && !(nl && (c == '\n' || c == '\t')))
    };
    if bad(&i.name, false) || bad(&i.email, false) || bad(&i.subject, false) || bad(&i.body, true) {
        p.push("使えない文字（制御文字）が含まれています".to_string());
    }
    p
}

/// Why a submission was not stored.
#[derive(Debug)]
pub enum Refused {
    Invalid(Vec<String>),
    TooFast,
    Expired,
    Limited,
    /// The honeypot was filled: the sender is told it worked, nothing is stored.
    Bot,
}

/// The checks every submission passes, then the store (with the acknowledgement queued).
async fn accept(
    app: &Arc<App>,
    ip: &str,
    f: &InquiryForm,
    token: Option<&str>,
) -> Result<i64, Refused> {
    if !f.website.is_empty() {
        tracing::info!(%ip, "inquiry honeypot filled; dropped");
        return Err(Refused::Bot);
    }
    if let Some(t) = token {
        match formtoken::check(&app.form_secret, t, unix_now()) {
            Check::Ok => {}
            Check::TooFast | Check::Forged => return Err(Refused::TooFast),
            Check::Expired => return Err(Refused::Expired),
        }
    }
    let input = f.input();
    let p = validate(&input);
    if !p.is_empty() {
        return Err(Refused::Invalid(p));
    }
    if !app.limiter.allow(&format!("inquiry:{ip}"), PER_MIN) {
        return Err(Refused::Limited);
    }
    let ip2 = ip.to_string();
    let now = unix_now();
    let r = blocking(app, move |a| -> crate::error::Result<Option<i64>> {
        if a.db.inquiries_from(&ip2, now - 3600)? >= PER_HOUR {
            return Ok(None);
        }
        a.db.create_inquiry(&input, &ip2, now).map(Some)
    })
    .await;
    match r {
        Ok(Some(id)) => {
            app.mail_wake.notify_one();
            Ok(id)
        }
        Ok(None) => Err(Refused::Limited),
        Err(e) => {
            tracing::error!("storing an inquiry: {e}");
            Err(Refused::Invalid(vec![
                "ただいま受け付けできません。時間をおいてお試しください".into(),
            ]))
        }
    }
}

pub fn public_page(title: &str, body: &str) -> String {
    format!(
        r##"<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | いわき市総合コールセンター</title>
<link rel="stylesheet" href="/static/desk.css">
</head><body>
<header class="site"><a class="brand" href="/">いわき市総合コールセンター</a></header>
<main id="main" class="public"><h1>{title}</h1>
{body}
</main></body></html>"##,
        title = esc(title)
    )
}

fn form_page(app: &App, f: &InquiryForm, errors: &[String]) -> String {
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
    let t = formtoken::issue(&app.form_secret, unix_now());
    public_page(
        "お問い合わせフォーム",
        &format!(
            r#"<p>市政やくらしの手続きについてのお問い合わせを受け付けます。受付後、確認のメールを自動でお送りします。原則として受付の当日または翌開庁日にお返事します。</p>{err}
<form method="post" action="/inquiry/confirm" id="inquiry">
<input type="hidden" name="t" value="{t}">
<div class="hp" aria-hidden="true"><label for="website">この欄には何も入力しないでください</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off" value=""></div>
<label for="name">お名前（必須）</label><input id="name" name="name" type="text" autocomplete="name" maxlength="{MAX_NAME}" required value="{name}">
<label for="email">メールアドレス（必須）</label><input id="email" name="email" type="email" autocomplete="email" inputmode="email" required value="{email}">
<label for="subject">件名（必須）</label><input id="subject" name="subject" type="text" maxlength="{MAX_SUBJECT}" required value="{subject}">
<label for="body">お問い合わせ内容（必須）</label><textarea id="body" name="body" rows="8" maxlength="{MAX_BODY}" required>{body}</textarea>
<p><button type="submit" id="to-confirm">確認画面へ</button></p></form>"#,
            name = esc(&f.name),
            email = esc(&f.email),
            subject = esc(&f.subject),
            body = esc(&f.body),
        ),
    )
}

pub async fn form(State(app): State<Arc<App>>) -> Html<String> {
    Html(form_page(&app, &InquiryForm::default(), &[]))
}

/// Back from the confirmation page to change something.
pub async fn edit(State(app): State<Arc<App>>, Form(f): Form<InquiryForm>) -> Html<String> {
    Html(form_page(&app, &f, &[]))
}

pub async fn confirm(State(app): State<Arc<App>>, Form(f): Form<InquiryForm>) -> Response {
    let p = validate(&f.input());
    if !p.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(form_page(&app, &f, &p)),
        )
            .into_response();
    }
    let i = f.input();
    let hidden =
        |k: &str, v: &str| format!(r#"<input type="hidden" name="{k}" value="{}">"#, esc(v));
    let fields = [
        hidden("name", &i.name),
        hidden("email", &i.email),
        hidden("subject", &i.subject),
        hidden("body", &i.body),
        hidden("website", &f.website),
        hidden("t", &f.t),
    ]
    .concat();
    Html(public_page(
        "入力内容の確認",
        &format!(
            r#"<p>以下の内容で送信します。よろしければ「送信する」を押してください。</p>
<table class="record"><tbody><tr><th>お名前</th><td>{name}</td></tr><tr><th>メールアドレス</th><td>{email}</td></tr>
<tr><th>件名</th><td>{subject}</td></tr><tr><th>お問い合わせ内容</th><td>{body}</td></tr></tbody></table>
<form method="post" action="/inquiry/send">{fields}<p><button type="submit" id="send">送信する</button>
<button type="submit" class="secondary" formaction="/inquiry/edit">修正する</button></p></form>"#,
            name = esc(&i.name),
            email = esc(&i.email),
            subject = esc(&i.subject),
            body = esc_multiline(&i.body),
        ),
    ))
    .into_response()
}

fn thanks(id: Option<i64>) -> Response {
    let number = id.map(receipt).unwrap_or_else(|| "W-000000".into());
    Html(public_page(
        "送信しました",
        &format!(
            r#"<p class="notice" role="status">お問い合わせを受け付けました。受付番号は <strong id="receipt">{number}</strong> です。</p>
<p>確認のメールをお送りしました。届かない場合は、メールアドレスをご確認のうえ、お電話（0246-22-1111）でお問い合わせください。</p>"#
        ),
    ))
    .into_response()
}

pub async fn send(
    State(app): State<Arc<App>>,
    id: super::Identity,
    Form(f): Form<InquiryForm>,
) -> Response {
    match accept(&app, &id.ip, &f, Some(&f.t)).await {
        Ok(n) => thanks(Some(n)),
        // A bot sees the same page as a person; it learns nothing.
        Err(Refused::Bot) => thanks(None),
        Err(Refused::Invalid(p)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(form_page(&app, &f, &p)),
        )
            .into_response(),
        Err(Refused::TooFast) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(form_page(
                &app,
                &f,
                &["送信を確認できませんでした。少し待ってから、もう一度送信してください".into()],
            )),
        )
            .into_response(),
        Err(Refused::Expired) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(form_page(
                &app,
                &f,
                &["入力から時間がたちすぎました。内容を確認して、もう一度送信してください".into()],
            )),
        )
            .into_response(),
        Err(Refused::Limited) => (
            StatusCode::TOO_MANY_REQUESTS,
            Html(public_page(
                "送信が続いています",
                "<p>短い時間に多くの送信がありました。しばらくしてからお試しください。</p>",
            )),
        )
            .into_response(),
    }
}

/// `POST /api/v1/inquiries` with `name`, `email`, `subject`, `body` (JSON).
pub async fn api_create(
    State(app): State<Arc<App>>,
    id: super::Identity,
    body: axum::body::Bytes,
) -> Response {
    let f: InquiryForm = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"errors": [format!("JSONとして読めません: {e}")]})),
            )
                .into_response()
        }
    };
    match accept(&app, &id.ip, &f, None).await {
        Ok(n) => (
            StatusCode::CREATED,
            Json(serde_json::json!({"id": n, "receipt": receipt(n)})),
        )
            .into_response(),
        Err(Refused::Bot) => (
            StatusCode::CREATED,
            Json(serde_json::json!({"id": 0, "receipt": receipt(0)})),
        )
            .into_response(),
        Err(Refused::Invalid(p)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({"errors": p})),
        )
            .into_response(),
        Err(Refused::Limited) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, "60")],
            Json(serde_json::json!({"errors": ["rate limit exceeded"]})),
        )
            .into_response(),
        Err(Refused::TooFast) | Err(Refused::Expired) => {
            StatusCode::UNPROCESSABLE_ENTITY.into_response()
        }
    }
}
