//! Staff accounts of the desk: administrators create operators (each tied to one of the
//! switch's agent ids, so the screen pop and the state buttons act for that agent) and
//! supervisors, and unlock an account; everyone changes their own password. Passwords
//! are argon2 (`websupport::password`); none is shipped: the first administrator's is
//! generated, the others are set here.

use super::html::{csrf_field, desk_page, esc, options};
use super::{AppError, Staff, WebResult};
use crate::app::{blocking, App};
use crate::auth::{self, NewAccount, Role};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::Form;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    csrf: String,
    login: String,
    name: String,
    role: String,
    agent_id: String,
    password: String,
}

fn agent_ids(app: &App) -> Vec<String> {
    app.cfg.agents.iter().map(|(id, _)| id.clone()).collect()
}

fn page(
    app: &App,
    staff: &Staff,
    rows: &[auth::UserRow],
    f: &AccountForm,
    errors: &[String],
) -> String {
    let mut list = String::from(
        "<table><thead><tr><th>ログインID</th><th>氏名</th><th>役割</th><th>オペレーターID</th><th>状態</th></tr></thead><tbody>",
    );
    for u in rows {
        let lock = if u.locked {
            format!(
                r#"ロック中 <form method="post" action="/desk/users/{}/unlock" class="inline">{}<button type="submit">解除</button></form>"#,
                esc(&u.login),
                csrf_field(&staff.0)
            )
        } else if u.disabled {
            "無効".into()
        } else {
            "有効".into()
        };
        list.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{lock}</td></tr>",
            esc(&u.login),
            esc(&u.name),
            u.role.label(),
            esc(&u.agent_id)
        ));
    }
    list.push_str("</tbody></table>");
    let errs = if errors.is_empty() {
        String::new()
    } else {
        let items: String = errors
            .iter()
            .map(|e| format!("<li>{}</li>", esc(e)))
            .collect();
        format!(r#"<div class="error" role="alert"><ul>{items}</ul></div>"#)
    };
    let roles = options(
        [Role::Operator, Role::Supervisor, Role::Admin]
            .iter()
            .map(|r| (r.as_str(), r.label())),
        if f.role.is_empty() {
            "operator"
        } else {
            &f.role
        },
        None,
    );
    let agents: String = app
        .cfg
        .agents
        .iter()
        .map(|(id, name)| format!(r#"<option value="{}">{}</option>"#, esc(id), esc(name)))
        .collect();
    format!(
        r#"{list}
<h2>アカウントの作成・変更</h2>{errs}
<p>同じログインIDで保存すると、氏名・役割・パスワードが置き換わります（その人のログイン中の画面はログアウトされます）。</p>
<form method="post" action="/desk/users">{csrf}<div class="grid">
<div><label for="u-login">ログインID</label><input id="u-login" name="login" type="text" value="{login}" required autocomplete="off"></div>
<div><label for="u-name">氏名</label><input id="u-name" name="name" type="text" value="{name}" required></div>
<div><label for="u-role">役割</label><select id="u-role" name="role">{roles}</select></div>
<div><label for="u-agent">オペレーターID（交換機）</label><input id="u-agent" name="agent_id" type="text" value="{agent}" list="agents"><datalist id="agents">{agents}</datalist></div>
<div><label for="u-pw">パスワード（10文字以上）</label><input id="u-pw" name="password" type="password" required autocomplete="new-password"></div>
</div><p><button type="submit">保存</button></p></form>"#,
        csrf = csrf_field(&staff.0),
        login = esc(&f.login),
        name = esc(&f.name),
        agent = esc(&f.agent_id),
    )
}

pub async fn list(State(app): State<Arc<App>>, staff: Staff) -> WebResult {
    staff.require(Role::Admin)?;
    let rows = blocking(&app, |a| auth::users(&a.db)).await?;
    let body = page(&app, &staff, &rows, &AccountForm::default(), &[]);
    Ok(Html(desk_page("アカウント", &staff.0, &body)).into_response())
}

pub async fn save(
    State(app): State<Arc<App>>,
    staff: Staff,
    Form(f): Form<AccountForm>,
) -> WebResult {
    staff.require(Role::Admin)?;
    staff.check_csrf(&f.csrf)?;
    if f.password.len() > 256 {
        return Err(AppError::BadRequest("パスワードが長すぎます".into()));
    }
    let account = NewAccount {
        login: f.login.trim().to_string(),
        name: f.name.clone(),
        role: f.role.clone(),
        agent_id: f.agent_id.clone(),
        password: f.password.clone(),
    };
    let agents = agent_ids(&app);
    let permit = hash_permit(&app).await?;
    let by = staff.0.login.clone();
    let saved = blocking(&app, move |a| auth::save_account(&a.db, &agents, &account)).await;
    drop(permit);
    match saved {
        Ok(()) => {
            tracing::info!(login = %f.login.trim(), role = %f.role, agent = %f.agent_id, by = %by, "desk account saved");
            Ok(Redirect::to("/desk/users").into_response())
        }
        Err(crate::error::HistoryError::Invalid(errors)) => {
            let rows = blocking(&app, |a| auth::users(&a.db)).await?;
            let body = page(&app, &staff, &rows, &f, &errors);
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(desk_page("アカウント", &staff.0, &body)),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn unlock(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(login): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> WebResult {
    staff.require(Role::Admin)?;
    staff.check_csrf(&f.csrf)?;
    blocking(&app, move |a| auth::unlock(&a.db, &login)).await?;
    Ok(Redirect::to("/desk/users").into_response())
}

/// argon2 is bounded (two at once): wait a little for a slot, else say we are busy.
async fn hash_permit(app: &Arc<App>) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
    tokio::time::timeout(Duration::from_secs(5), app.hash_slots.acquire())
        .await
        .map_err(|_| AppError::Busy)?
        .map_err(|_| AppError::Busy)
}

fn password_page(staff: &Staff, msg: &str) -> String {
    let m = if msg.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="error" role="alert">{}</p>"#, esc(msg))
    };
    format!(
        r#"{m}<form method="post" action="/desk/password" style="max-width:24rem">{csrf}
<label for="p-cur">今のパスワード</label><input id="p-cur" name="current" type="password" required autocomplete="current-password">
<label for="p-new">新しいパスワード（10文字以上）</label><input id="p-new" name="new" type="password" required autocomplete="new-password">
<p><button type="submit">変更</button></p></form>"#,
        csrf = csrf_field(&staff.0)
    )
}

pub async fn password_form(staff: Staff) -> WebResult {
    Ok(Html(desk_page(
        "パスワード変更",
        &staff.0,
        &password_page(&staff, ""),
    ))
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
}

pub async fn change_password(
    State(app): State<Arc<App>>,
    staff: Staff,
    Form(f): Form<PasswordForm>,
) -> WebResult {
    staff.check_csrf(&f.csrf)?;
    if f.current.len() > 256 || f.new.len() > 256 {
        return Err(AppError::BadRequest("パスワードが長すぎます".into()));
    }
    let permit = hash_permit(&app).await?;
    let login = staff.0.login.clone();
    let r = blocking(&app, move |a| {
        auth::change_password(&a.db, &login, &f.current, &f.new)
    })
    .await;
    drop(permit);
    let msg = match r {
        // The account's sessions ended with the old password: sign in again.
        Ok(true) => return Ok(Redirect::to("/desk/login").into_response()),
        Ok(false) => "今のパスワードが違います".to_string(),
        Err(crate::error::HistoryError::Invalid(v)) => v.join(" "),
        Err(e) => return Err(e.into()),
    };
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        Html(desk_page(
            "パスワード変更",
            &staff.0,
            &password_page(&staff, &msg),
        )),
    )
        .into_response())
}
