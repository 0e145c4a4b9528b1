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
        r#"<table id="inquiries"><thead><tr><th>受付番号</th><th>受付日時</th><th>お名前</th><th>メール</th><th>件名</th><th>内容</th><th>受付確認メール</th></tr></thead><tbody>"#,
    );
    for i in &rows {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            receipt(i.id),
            format_jst(i.received_at),
            esc(&i.input.name),
            esc(&i.input.email),
            esc(&i.input.subject),
            esc_multiline(&i.input.body),
            if i.ack_sent { "送信済み" } else { "未送信（再送待ち）" },
        ));
    }
    body.push_str("</tbody></table>");
    Ok(Html(desk_page("Webお問い合わせ", &staff.0, &body)).into_response())
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
