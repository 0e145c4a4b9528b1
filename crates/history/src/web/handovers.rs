//! Callbacks and handovers per department: the list with states and overdue rows
//! highlighted, one handover with its steps and the form to move it on, and the counts
//! for the daily report (JSON).

use super::html::{csrf_field, desk_page, esc, esc_multiline, options};
use super::{AppError, Staff, WebResult};
use crate::app::{blocking, App};
use crate::store::handovers::State as HState;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect};
use axum::{Form, Json};
use faq::clock::{format_jst, parse_date_jst, unix_now};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListForm {
    department: String,
    state: String,
}

fn kind_label(k: &str) -> &'static str {
    if k == "callback" {
        "折り返し"
    } else {
        "意見・要望等の伝達"
    }
}

pub async fn list(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(f): Query<ListForm>,
) -> WebResult {
    let state = if f.state.is_empty() {
        None
    } else {
        Some(
            HState::parse(&f.state)
                .ok_or_else(|| AppError::BadRequest("状態の値が正しくありません".into()))?,
        )
    };
    let dep = f.department.clone();
    let rows = blocking(&app, move |a| a.db.handovers(&dep, state)).await?;
    let now = unix_now();
    let deps = options(
        app.departments().iter().map(|d| (d.as_str(), d.as_str())),
        &f.department,
        Some("すべての課"),
    );
    let states = options(
        HState::ALL.iter().map(|s| (s.as_str(), s.label())),
        &f.state,
        Some("すべて"),
    );
    let overdue = rows.iter().filter(|h| h.overdue(now)).count();
    let mut body = format!(
        r#"<form method="get" action="/desk/handovers"><div class="grid">
<div><label for="h-dep">担当課</label><select id="h-dep" name="department">{deps}</select></div>
<div><label for="h-state">状態</label><select id="h-state" name="state">{states}</select></div>
</div><p><button type="submit">表示</button></p></form>
<p role="status" id="overdue-count">期限超過 {overdue}件</p>
<table id="handovers"><thead><tr><th>No.</th><th>種類</th><th>担当課</th><th>状態</th><th>期限</th><th>内容</th><th>最終更新</th></tr></thead><tbody>"#
    );
    for h in &rows {
        let od = h.overdue(now);
        body.push_str(&format!(
            r#"<tr{cls}><td><a href="/desk/handovers/{id}">{id}</a></td><td>{kind}</td><td>{dep}</td><td>{state}</td><td>{due}{mark}</td><td>{sum}</td><td>{upd}（{by}）</td></tr>"#,
            cls = if od { r#" class="overdue""# } else { "" },
            id = h.id,
            kind = kind_label(&h.kind),
            dep = esc(&h.department),
            state = h.state.label(),
            due = format_jst(h.due_at),
            mark = if od { " <strong>期限超過</strong>" } else { "" },
            sum = esc(&h.summary.chars().take(60).collect::<String>()),
            upd = format_jst(h.updated_at),
            by = esc(&h.updated_by),
        ));
    }
    body.push_str("</tbody></table>");
    Ok(Html(desk_page("折り返し・引継ぎ", &staff.0, &body)).into_response())
}

pub async fn show(State(app): State<Arc<App>>, staff: Staff, Path(id): Path<i64>) -> WebResult {
    let (h, events) = blocking(&app, move |a| a.db.handover(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let now = unix_now();
    let mut body = format!(
        r#"<p>記録 <a href="/desk/contacts/{cid}">{cid}</a>・{kind}・{dep}・期限 {due}{mark}</p><p>{sum}</p>
<h2>経過</h2><table id="events"><thead><tr><th>日時</th><th>状態</th><th>担当</th><th>メモ</th></tr></thead><tbody>"#,
        cid = h.contact_id,
        kind = kind_label(&h.kind),
        dep = esc(&h.department),
        due = format_jst(h.due_at),
        mark = if h.overdue(now) {
            " <strong>期限超過</strong>"
        } else {
            ""
        },
        sum = esc_multiline(&h.summary),
    );
    for e in &events {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            format_jst(e.at),
            e.state.label(),
            esc(&e.by),
            esc(&e.note)
        ));
    }
    body.push_str("</tbody></table>");
    if h.state != HState::Done {
        let states = options(
            HState::ALL.iter().map(|s| (s.as_str(), s.label())),
            h.state.as_str(),
            None,
        );
        body.push_str(&format!(
            r#"<form method="post" action="/desk/handovers/{id}">{csrf}
<label for="state">状態</label><select id="state" name="state">{states}</select>
<label for="note">メモ（担当課からの報告など）</label><textarea id="note" name="note" rows="3"></textarea>
<p><button type="submit" id="update">更新</button></p></form>"#,
            id = h.id,
            csrf = csrf_field(&staff.0)
        ));
    }
    Ok(Html(desk_page(&format!("引継ぎ {}", h.id), &staff.0, &body)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StateForm {
    csrf: String,
    state: String,
    note: String,
}

pub async fn update(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<StateForm>,
) -> WebResult {
    staff.check_csrf(&f.csrf)?;
    let state = HState::parse(&f.state)
        .ok_or_else(|| AppError::BadRequest("状態の値が正しくありません".into()))?;
    let by = staff.0.login.clone();
    blocking(&app, move |a| {
        a.db.set_handover_state(id, state, &f.note, &by, unix_now())
    })
    .await?;
    Ok(Redirect::to(&format!("/desk/handovers/{id}")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DayForm {
    date: String,
}

/// `GET /api/v1/handovers/summary?date=YYYY-MM-DD`: the day's counts (Japan time).
pub async fn summary(
    State(app): State<Arc<App>>,
    _staff: Staff,
    Query(f): Query<DayForm>,
) -> WebResult {
    let from = parse_date_jst(&f.date)
        .ok_or_else(|| AppError::BadRequest("date は YYYY-MM-DD で指定してください".into()))?;
    let s = blocking(&app, move |a| a.db.handover_summary(from, from + 86_400)).await?;
    Ok(Json(serde_json::json!({"date": f.date, "summary": s})).into_response())
}
