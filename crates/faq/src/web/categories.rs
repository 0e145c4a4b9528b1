//! The managed category list (editors add; a category no entry uses can be removed).

use super::html::{csrf_field, esc};
use super::{AppError, Staff, WebResult};
use crate::app::{blocking, App};
use crate::auth::Role;
use crate::categories::{self, KINDS};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;

async fn page(app: &Arc<App>, staff: &Staff, error: Option<String>) -> WebResult<String> {
    let list = blocking(app, |app| categories::list(&app.db)).await?;
    let csrf = csrf_field(&staff.0);
    let mut body = String::new();
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(&e));
    }
    let _ = write!(
        body,
        "<p>FAQのカテゴリは、この一覧から選びます（市の分類：分野・ライフイベント・地域）。</p>\
         <form method=\"post\" action=\"/admin/categories\">{csrf}<input type=\"hidden\" name=\"op\" value=\"add\">\
         <label for=\"path\">カテゴリ（「大分類 > 小分類」）</label><input type=\"text\" id=\"path\" name=\"path\" required maxlength=\"100\">\
         <label for=\"kind\">種類</label><select id=\"kind\" name=\"kind\">{}</select>\
         <p><button type=\"submit\">追加</button></p></form><table><tr><th>種類</th><th>カテゴリ</th><th></th></tr>",
        KINDS.iter().map(|k| format!("<option>{k}</option>")).collect::<String>()
    );
    for c in &list {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td><form class=\"inline\" method=\"post\" action=\"/admin/categories\">{csrf}\
             <input type=\"hidden\" name=\"op\" value=\"remove\"><input type=\"hidden\" name=\"path\" value=\"{}\">\
             <button type=\"submit\" class=\"secondary\">削除</button></form></td></tr>",
            esc(&c.kind),
            esc(&c.path),
            esc(&c.path)
        );
    }
    body.push_str("</table>");
    Ok(super::html::staff_page("カテゴリ管理", &staff.0, &body))
}

pub async fn list(State(app): State<Arc<App>>, staff: Staff) -> WebResult<Html<String>> {
    staff.require(Role::Editor)?;
    Ok(Html(page(&app, &staff, None).await?))
}

#[derive(Deserialize)]
pub struct CategoryForm {
    csrf: String,
    op: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    kind: String,
}

pub async fn change(
    State(app): State<Arc<App>>,
    staff: Staff,
    Form(f): Form<CategoryForm>,
) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    staff.check_csrf(&f.csrf)?;
    let result = blocking(&app, move |app| match f.op.as_str() {
        "add" => categories::add(&app.db, &f.path, &f.kind),
        "remove" => categories::remove(&app.db, &f.path),
        _ => Err(crate::error::FaqError::Invalid(vec![
            "不明な操作です".into()
        ])),
    })
    .await;
    match result {
        Ok(()) => Ok(Redirect::to("/admin/categories").into_response()),
        Err(crate::error::FaqError::Invalid(msgs)) => Ok((
            StatusCode::BAD_REQUEST,
            Html(page(&app, &staff, Some(msgs.join(" "))).await?),
        )
            .into_response()),
        Err(e) => Err(AppError::from(e)),
    }
}
