//! The operator's phone desk, `/desk/phone`: on the left the screen pop (within a second
//! of their phone ringing: the dialled line, the caller's number, earlier contacts) and
//! the contact form, prefilled from the pop, to fill in during after-call work; on the
//! right the operator's own state on the switch with its buttons (pause with a reason,
//! back, end after-call work), the FAQ search (the FAQ site's API) and the department
//! directory for transfers (the switch's). The page's script calls the small JSON
//! endpoints below, which call the switch and the FAQ site (`peers.rs`).

use super::desk::contact_form_html;
use super::forms::{to_local_input, ContactForm};
use super::html::{desk_page, esc};
use super::screenpop::{follows, AgentQuery};
use super::{AppError, Staff, WebResult};
use crate::app::{blocking, App};
use crate::auth::Role;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use faq::clock::unix_now;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PhoneParams {
    agent: String,
    /// The record just saved from the after-call-work form.
    saved: i64,
}

pub async fn phone(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(p): Query<PhoneParams>,
) -> WebResult {
    let agent = follows(&staff, &AgentQuery { agent: p.agent }).unwrap_or_default();
    let saved = if p.saved > 0 {
        format!(
            r#"<p class="notice" role="status" id="saved">応対記録を保存しました（<a href="/desk/contacts/{0}">記録 {0}</a>）。後処理が終わったら「後処理終了」を押してください。</p>"#,
            p.saved
        )
    } else {
        String::new()
    };
    let form = ContactForm {
        channel: "phone".into(),
        outcome: "answered".into(),
        started: to_local_input(unix_now()),
        operator: if staff.0.agent_id.is_empty() {
            agent.clone()
        } else {
            staff.0.agent_id.clone()
        },
        ..Default::default()
    };
    let acw = contact_form_html(&app, &staff, &form, "/desk/contacts?back=phone", &[]);
    let faq_box = if app.faq.is_some() {
        r#"<form id="faq-form" role="search" aria-label="FAQサイトの検索"><label for="faq-q">FAQ検索</label>
<input id="faq-q" name="q" type="search" placeholder="例：住民票 郵送"> <button type="submit">検索</button></form>
<ol id="faq-results" aria-live="polite"></ol>"#
    } else {
        r#"<p class="muted">FAQサイトが設定されていません。</p>"#
    };
    let body = format!(
        r#"{saved}<div class="desk-grid">
<div class="desk-main">
<p class="muted">着信すると、ここに発信者の情報が表示されます（{who}）。</p>
<section id="pop" data-agent="{agent}" hidden aria-live="assertive" class="notice">
<h2>着信中</h2>
<p>着信回線：<strong id="pop-line"></strong></p>
<p>発信者番号：<strong id="pop-caller"></strong></p>
<p><a class="button" id="pop-new" href="/desk/contacts/new">この通話の応対記録を別画面で作成</a></p>
<h3>過去の応対</h3><ul id="pop-history"></ul>
</section>
<section id="acw" hidden aria-label="応対記録（後処理）"><h2>応対記録（後処理）</h2>{acw}</section>
</div>
<aside class="desk-side">
<section id="state" data-agent="{agent}" aria-label="受付状態"><h2>受付状態</h2>
<p>現在：<strong id="state-now">—</strong> <span id="state-reason"></span></p>
<p><label for="pause-reason">休憩の理由</label><select id="pause-reason"></select>
<button type="button" id="btn-pause">休憩</button> <button type="button" id="btn-unpause">休憩終了</button>
<button type="button" id="btn-end-wrapup">後処理終了</button></p>
<p id="state-msg" role="status"></p></section>
<section aria-label="FAQ"><h2>FAQ</h2>{faq_box}</section>
<section aria-label="転送先"><h2>転送先（部署）</h2>
<table id="directory"><thead><tr><th>部署</th><th>内線</th><th>状態</th></tr></thead><tbody></tbody></table></section>
</aside></div>
<script src="/static/desk.js" defer></script>"#,
        who = if agent.is_empty() {
            "全オペレーター".to_string()
        } else {
            format!("オペレーター {}", esc(&agent))
        },
        agent = esc(&agent),
    );
    Ok(Html(desk_page("電話応対", &staff.0, &body)).into_response())
}

fn json_error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FaqParams {
    q: String,
}

/// The FAQ site's search, for the box beside the pop.
pub async fn faq_search(
    State(app): State<Arc<App>>,
    _staff: Staff,
    Query(p): Query<FaqParams>,
) -> Response {
    let q: String = p.q.trim().chars().take(200).collect();
    if q.is_empty() {
        return Json(json!({ "results": [] })).into_response();
    }
    if app.faq.is_none() {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "FAQサイトが設定されていません",
        );
    }
    match blocking(&app, move |a| a.faq.as_ref().map(|f| f.search(&q, 8))).await {
        Some(Ok(hits)) => Json(json!({ "results": hits })).into_response(),
        Some(Err(e)) => json_error(StatusCode::BAD_GATEWAY, &e),
        None => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "FAQサイトが設定されていません",
        ),
    }
}

/// The switch's department directory (and its pause reasons).
pub async fn directory(State(app): State<Arc<App>>, _staff: Staff) -> Response {
    match blocking(&app, |a| a.switch.as_ref().map(|s| s.directory())).await {
        Some(Ok(v)) => Json(v).into_response(),
        Some(Err(e)) => json_error(StatusCode::BAD_GATEWAY, &e),
        None => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "交換機が設定されていません",
        ),
    }
}

/// Whose state a desk shows and changes: an operator only their own agent; a
/// supervisor any (`agent=`).
fn state_agent(staff: &Staff, asked: &str) -> Result<String, AppError> {
    if staff.0.role >= Role::Supervisor && !asked.is_empty() {
        return Ok(asked.to_string());
    }
    if staff.0.agent_id.is_empty() {
        return Err(AppError::BadRequest(
            "このアカウントには交換機のオペレーターIDがありません".into(),
        ));
    }
    Ok(staff.0.agent_id.clone())
}

fn status_ja(s: &str) -> &'static str {
    match s {
        "LoggedOut" => "ログアウト",
        "Available" => "受付可",
        "Ringing" => "呼出中",
        "OnCall" => "通話中",
        "WrapUp" => "後処理中",
        "Paused" => "休憩中",
        _ => "不明",
    }
}

pub async fn state(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(q): Query<AgentQuery>,
) -> Response {
    let agent = match state_agent(&staff, &q.agent) {
        Ok(a) => a,
        Err(_) => return json_error(StatusCode::BAD_REQUEST, "オペレーターIDがありません"),
    };
    let a2 = agent.clone();
    match blocking(&app, move |a| a.switch.as_ref().map(|s| s.agent_state(&a2))).await {
        Some(Ok(Some(v))) => {
            let status = v["status"].as_str().unwrap_or("");
            Json(json!({
                "agent": agent,
                "status": status,
                "label": status_ja(status),
                "pause_reason": v["pause_reason"],
            }))
            .into_response()
        }
        Some(Ok(None)) => json_error(
            StatusCode::NOT_FOUND,
            &format!("交換機にオペレーター {agent} がいません"),
        ),
        Some(Err(e)) => json_error(StatusCode::BAD_GATEWAY, &e),
        None => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "交換機が設定されていません",
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StateForm {
    csrf: String,
    agent: String,
    op: String,
    reason: String,
}

/// A state button: pause (with a reason), unpause, end-wrapup — carried out by the
/// switch, which logs who pressed it (`desk:<login>`).
pub async fn change_state(
    State(app): State<Arc<App>>,
    staff: Staff,
    Form(f): Form<StateForm>,
) -> Response {
    if staff.check_csrf(&f.csrf).is_err() {
        return json_error(
            StatusCode::FORBIDDEN,
            "不正な送信です。画面を開き直してください",
        );
    }
    if !["pause", "unpause", "end-wrapup"].contains(&f.op.as_str()) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "操作は pause、unpause、end-wrapup のどれかです",
        );
    }
    let agent = match state_agent(&staff, &f.agent) {
        Ok(a) => a,
        Err(_) => return json_error(StatusCode::BAD_REQUEST, "オペレーターIDがありません"),
    };
    let reason: String = f
        .reason
        .chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect();
    let who = format!("desk:{}", staff.0.login);
    let (a2, op) = (agent.clone(), f.op.clone());
    let r = blocking(&app, move |a| {
        a.switch
            .as_ref()
            .map(|s| s.agent_op(&a2, &op, &reason, &who))
    })
    .await;
    match r {
        Some(Ok(())) => {
            tracing::info!(agent = %agent, op = %f.op, by = %staff.0.login, "agent state from the desk");
            Json(json!({ "ok": true })).into_response()
        }
        Some(Err(e)) => json_error(StatusCode::CONFLICT, &e),
        None => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "交換機が設定されていません",
        ),
    }
}

pub const SCRIPT: &str = include_str!("desk.js");
