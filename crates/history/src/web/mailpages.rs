//! The desk's view of the web inquiries and of the mail outbox: what is still waiting
//! for the relay, how often it was tried and why it failed.

use super::html::{desk_page, esc, esc_multiline};
use super::{Staff, WebResult};
use crate::app::{blocking, App};
use crate::store::inquiries::receipt;
use axum::extract::State;
use axum::response::{Html, IntoResponse};
use faq::clock::format_jst;
use std::sync::Arc;

pub async fn inquiries(State(app): State<Arc<App>>, staff: Staff) -> WebResult {
    let rows = blocking(&app, |a| a.db.inquiries(200)).await?;
    let mut body = String::from(
        r#"<table id="inquiries"><thead><tr><th>受付番号</th><th>経路</th><th>受付日時</th><th>お名前</th><th>メール</th><th>件名</th><th>内容</th><th>受付確認メール</th></tr></thead><tbody>"#,
    );
    for i in &rows {
        let mail = i.channel == "email";
        body.push_str(&format!(
            "<tr><td><a href=\"/desk/inquiries/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i.id,
            receipt(i.id),
            if mail { "メール" } else { "Webフォーム" },
            format_jst(i.received_at),
            esc(&i.input.name),
            esc(&i.input.email),
            esc(&i.input.subject),
            esc_multiline(&i.input.body),
            if mail {
                "—（送りません）"
            } else if i.ack_sent {
                "送信済み"
            } else {
                "未送信（再送待ち）"
            },
        ));
    }
    body.push_str("</tbody></table>");
    Ok(Html(desk_page("お問い合わせ（Web・メール）", &staff.0, &body)).into_response())
}

pub async fn outbox(State(app): State<Arc<App>>, staff: Staff) -> WebResult {
    let rows = blocking(&app, |a| a.db.mail_list(200)).await?;
    let waiting = rows.iter().filter(|m| m.sent_at.is_none()).count();
    let mut body = format!(
        r#"<p id="waiting" role="status">送信待ち {waiting}件</p>
<table id="outbox"><thead><tr><th>ID</th><th>種類</th><th>宛先</th><th>件名</th><th>状態</th><th>試行</th><th>次の試行</th><th>最後のエラー</th></tr></thead><tbody>"#
    );
    for m in &rows {
        let state = match m.sent_at {
            Some(t) => format!("送信済み {}", format_jst(t)),
            None => "送信待ち".into(),
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.id,
            if m.kind == "ack" { "受付確認" } else { "回答" },
            esc(&m.to_addr),
            esc(&m.subject),
            state,
            m.attempts,
            if m.sent_at.is_none() { format_jst(m.next_at) } else { String::new() },
            esc(&m.last_error),
        ));
    }
    body.push_str("</tbody></table>");
    Ok(Html(desk_page("送信メール", &staff.0, &body)).into_response())
}

/// One inquiry, with the form to answer it by mail (the answer is also recorded as a
/// contact of the web channel, with the operator and category, for the statistics).
pub async fn inquiry(
    State(app): State<Arc<App>>,
    staff: Staff,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> WebResult {
    let i = blocking(&app, move |a| a.db.inquiry(id))
        .await?
        .ok_or(super::AppError::NotFound)?;
    let cats = super::html::options(
        app.categories().iter().map(|c| (c.as_str(), c.as_str())),
        "",
        Some("（未選択）"),
    );
    let mut body = format!(
        r#"<table class="record"><tbody><tr><th>受付番号</th><td>{r}</td></tr><tr><th>受付日時</th><td>{at}</td></tr>
<tr><th>お名前</th><td>{name}</td></tr><tr><th>メール</th><td>{email}</td></tr><tr><th>件名</th><td>{subj}</td></tr>
<tr><th>内容</th><td>{text}</td></tr><tr><th>状態</th><td id="state">{state}</td></tr></tbody></table>"#,
        r = receipt(i.id),
        at = format_jst(i.received_at),
        name = esc(&i.input.name),
        email = esc(&i.input.email),
        subj = esc(&i.input.subject),
        text = esc_multiline(&i.input.body),
        state = if i.state == "answered" {
            "回答済み"
        } else {
            "未回答"
        },
    );
    if i.state != "answered" {
        body.push_str(&format!(
            r#"<h2>メールで回答</h2><form method="post" action="/desk/inquiries/{id}">{csrf}
<label for="category">分類</label><select id="category" name="category">{cats}</select>
<label for="reply">回答</label><textarea id="reply" name="reply" rows="8" required></textarea>
<p><button type="submit" id="send-reply">回答を送信</button></p></form>"#,
            id = i.id,
            csrf = super::html::csrf_field(&staff.0),
        ));
    }
    Ok(Html(desk_page(
        &format!("お問い合わせ {}", receipt(i.id)),
        &staff.0,
        &body,
    ))
    .into_response())
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ReplyForm {
    csrf: String,
    category: String,
    reply: String,
}

pub async fn reply(
    State(app): State<Arc<App>>,
    staff: Staff,
    axum::extract::Path(id): axum::extract::Path<i64>,
    axum::Form(f): axum::Form<ReplyForm>,
) -> WebResult {
    staff.check_csrf(&f.csrf)?;
    let text = f.reply.replace("\r\n", "\n").trim().to_string();
    if text.is_empty() || text.chars().count() > 8000 {
        return Err(super::AppError::BadRequest(
            "回答を8000文字以内で入力してください".into(),
        ));
    }
    let i = blocking(&app, move |a| a.db.inquiry(id))
        .await?
        .ok_or(super::AppError::NotFound)?;
    if i.state == "answered" {
        return Err(super::AppError::BadRequest(
            "このお問い合わせには回答済みです".into(),
        ));
    }
    let mail = i.channel == "email";
    let input = crate::model::ContactInput {
        channel: if mail {
            crate::model::Channel::Email
        } else {
            crate::model::Channel::Web
        },
        line: if mail { "メール" } else { "Webフォーム" }.into(),
        started_at: i.received_at,
        ended_at: faq::clock::unix_now(),
        operator: if staff.0.agent_id.is_empty() {
            staff.0.login.clone()
        } else {
            staff.0.agent_id.clone()
        },
        caller: i.input.email.clone(),
        caller_name: i.input.name.clone(),
        category: f.category.clone(),
        summary: format!("{}（{}）\n回答：{}", i.input.subject, receipt(i.id), text),
        faq_ids: vec![],
        outcome: crate::model::Outcome::Answered,
        department: String::new(),
        call_id: String::new(),
    };
    let p = input.validate(app.categories(), app.departments());
    if !p.is_empty() {
        return Err(super::AppError::BadRequest(p.join("\n")));
    }
    let by = staff.0.login.clone();
    blocking(&app, move |a| -> crate::error::Result<()> {
        a.db.create_contact(&input, &by)?;
        a.db.reply_inquiry(id, &text, faq::clock::unix_now())?;
        Ok(())
    })
    .await?;
    app.mail_wake.notify_one();
    Ok(axum::response::Redirect::to(&format!("/desk/inquiries/{id}")).into_response())
}
