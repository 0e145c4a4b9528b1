//! Internal tools: CSV/xlsx export and CSV bulk import (editors), ranking and rating
//! statistics (all staff), users, API keys and the access log (administrators).

use super::html::{csrf_field, esc, staff_page, url_enc};
use super::{AppError, Staff, WebResult};
use crate::accesslog::LogQuery;
use crate::app::{blocking, App};
use crate::auth::{self, Role};
use crate::clock::{format_jst, parse_date_jst};
use crate::{csv_io, stats, xlsx};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;

pub async fn csv_page(staff: Staff) -> WebResult<Html<String>> {
    staff.require(Role::Editor)?;
    let body = format!(
        "<p><a class=\"button\" href=\"/admin/export.csv\">CSVで全件ダウンロード</a> \
         <a class=\"button\" href=\"/admin/export.xlsx\">Excel（xlsx）でダウンロード</a></p>\
         <h2>CSV・Excelで一括更新</h2><p>ダウンロードしたCSVまたはExcel（xlsx）と同じ列のファイルを取り込みます。\
         CSVの文字コードはUTF-8（BOMの有無は問いません）とExcelが保存するShift_JISのどちらでも、\
         日付は 2025-07-01・2025/7/1 のどちらの形でも構いません。\
         全行を検査し、誤りが1行でもあれば何も変更せず、誤りのある行番号と理由を表示します。\
         CSVにあるFAQ-IDは追加・上書きされ、CSVにないFAQはそのまま残ります。</p>\
         <form method=\"post\" action=\"/admin/import\" enctype=\"multipart/form-data\">{}\
         <label for=\"csvfile\">CSV・Excelファイル</label><input type=\"file\" id=\"csvfile\" name=\"file\" accept=\".csv,text/csv,.xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\" required> \
         <button type=\"submit\">取り込む</button></form>",
        csrf_field(&staff.0)
    );
    Ok(Html(staff_page("CSV入出力", &staff.0, &body)))
}

pub async fn export_csv(State(app): State<Arc<App>>, staff: Staff) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    let all = blocking(&app, |app| app.db.entries()).await?;
    let name = format!("attachment; filename=\"faq-{}.csv\"", app.clock.today_jst());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv_io::export(&all),
    )
        .into_response())
}

pub async fn export_xlsx(State(app): State<Arc<App>>, staff: Staff) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    let bytes = blocking(&app, |app| -> crate::error::Result<Vec<u8>> {
        xlsx::export(&app.db.entries()?)
    })
    .await?;
    let name = format!(
        "attachment; filename=\"faq-{}.xlsx\"",
        app.clock.today_jst()
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

pub async fn import_csv(
    State(app): State<Arc<App>>,
    staff: Staff,
    mut mp: Multipart,
) -> WebResult<Response> {
    staff.require(Role::Editor)?;
    let (csrf, file) = super::admin::read_upload(&mut mp).await?;
    staff.check_csrf(&csrf)?;
    let (_, bytes) = file.ok_or_else(|| AppError::BadRequest("ファイルがありません".into()))?;
    let parsed = if crate::xlsx::looks_like_xlsx(&bytes) {
        crate::xlsx::parse(&bytes)
    } else {
        csv_io::parse(&bytes)
    };
    let entries = match parsed {
        Ok(e) => e,
        Err(errors) => {
            let mut body = format!(
                "<div class=\"error\" role=\"alert\"><p>{}行に誤りがあるため、取り込みを中止しました（何も変更していません）。</p></div>\
                 <table><thead><tr><th>行</th><th>理由</th></tr></thead><tbody>",
                errors.len()
            );
            for e in &errors {
                let _ = write!(
                    body,
                    "<tr><td class=\"line\">{}</td><td>{}</td></tr>",
                    e.line,
                    esc(&e.reasons.join(" / "))
                );
            }
            body.push_str("</tbody></table><p><a href=\"/admin/csv\">戻る</a></p>");
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(staff_page("CSV取り込みエラー", &staff.0, &body)),
            )
                .into_response());
        }
    };
    let user = staff.0.login.clone();
    let total = entries.len();
    let changed = blocking(&app, move |app| -> crate::error::Result<usize> {
        let n = app.db.save_all(&entries, &user, "CSV取込")?;
        // A bulk import is the editors' own tool: categories it brings join the list.
        crate::categories::adopt_used(&app.db)?;
        app.reindex()?;
        Ok(n)
    })
    .await?;
    let body = format!("<p class=\"notice\" role=\"status\">{total}行を取り込みました（うち追加・変更 {changed}件）。</p><p><a href=\"/admin\">一覧へ</a></p>");
    Ok(Html(staff_page("CSV取り込み完了", &staff.0, &body)).into_response())
}

pub async fn ratings(State(app): State<Arc<App>>, staff: Staff) -> WebResult<Html<String>> {
    let rows = blocking(&app, |app| stats::rating_stats(&app.db, None)).await?;
    let mut body = String::from("<table><tr><th>月</th><th>FAQ</th><th>件数</th><th>平均</th><th>1</th><th>2</th><th>3</th><th>4</th><th>5</th></tr>");
    for r in &rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td><a href=\"/admin/faq/{}\">{}</a></td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.month, url_enc(&r.faq_id), esc(&r.faq_id), r.count, r.average, r.dist[0], r.dist[1], r.dist[2], r.dist[3], r.dist[4]
        );
    }
    body.push_str("</table>");
    Ok(Html(staff_page("評価集計（FAQ別・月別）", &staff.0, &body)))
}

pub async fn users(State(app): State<Arc<App>>, staff: Staff) -> WebResult<Html<String>> {
    staff.require(Role::Admin)?;
    let list = blocking(&app, |app| auth::users(&app.db)).await?;
    let csrf = csrf_field(&staff.0);
    let mut body =
        String::from("<table><tr><th>ログインID</th><th>氏名</th><th>権限</th><th>状態</th></tr>");
    for u in &list {
        let lock = if u.locked || app.guard.locked_somewhere(&u.login, app.clock.now()) {
            format!("ロック中 <form class=\"inline\" method=\"post\" action=\"/admin/users/{}/unlock\">{csrf}<button type=\"submit\">解除</button></form>", url_enc(&u.login))
        } else {
            "有効".into()
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{lock}</td></tr>",
            esc(&u.login),
            esc(&u.name),
            u.role.label()
        );
    }
    let _ = write!(
        body,
        "</table><h2>利用者の追加・パスワード再設定</h2><form method=\"post\" action=\"/admin/users\">{csrf}\
         <label for=\"login\">ログインID</label><input type=\"text\" id=\"login\" name=\"login\" required>\
         <label for=\"name\">氏名</label><input type=\"text\" id=\"name\" name=\"name\" required>\
         <label for=\"role\">権限</label><select id=\"role\" name=\"role\"><option value=\"viewer\">閲覧者（オペレーター）</option><option value=\"editor\">編集者</option><option value=\"admin\">管理者</option></select>\
         <label for=\"password\">パスワード（10文字以上）</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required>\
         <p><button type=\"submit\">保存</button></p></form>"
    );
    Ok(Html(staff_page("利用者管理", &staff.0, &body)))
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    login: String,
    name: String,
    role: String,
    password: String,
}

pub async fn create_user(
    State(app): State<Arc<App>>,
    staff: Staff,
    Form(f): Form<UserForm>,
) -> WebResult<Response> {
    staff.require(Role::Admin)?;
    staff.check_csrf(&f.csrf)?;
    let role = Role::parse(&f.role).ok_or_else(|| AppError::BadRequest("権限が不正です".into()))?;
    blocking(&app, move |app| {
        auth::create_user(&app.db, f.login.trim(), f.name.trim(), role, &f.password)
    })
    .await?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn unlock_user(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(login): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    staff.require(Role::Admin)?;
    staff.check_csrf(&f.csrf)?;
    app.guard.unlock(&login);
    blocking(&app, move |app| auth::unlock(&app.db, &login)).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

pub async fn keys(State(app): State<Arc<App>>, staff: Staff) -> WebResult<Html<String>> {
    staff.require(Role::Admin)?;
    Ok(Html(keys_page(&app, &staff, None).await?))
}

async fn keys_page(app: &Arc<App>, staff: &Staff, new_key: Option<&str>) -> WebResult<String> {
    let list = blocking(app, |app| auth::api_keys(&app.db)).await?;
    let csrf = csrf_field(&staff.0);
    let mut body = String::new();
    if let Some(k) = new_key {
        let _ = write!(body, "<div class=\"notice\" role=\"status\"><p>新しいAPIキー（この画面でしか表示されません）：</p><p><code id=\"newkey\">{}</code></p></div>", esc(k));
    }
    body.push_str("<table><tr><th>番号</th><th>名前</th><th>作成</th><th>状態</th></tr>");
    for k in &list {
        let id = k.id;
        let st = if k.revoked {
            "無効".to_string()
        } else {
            format!("有効 <form class=\"inline\" method=\"post\" action=\"/admin/keys/{id}/revoke\">{csrf}<button type=\"submit\" class=\"danger\">無効にする</button></form>")
        };
        let _ = write!(
            body,
            "<tr><td>{id}</td><td>{}</td><td>{} {}</td><td>{st}</td></tr>",
            esc(&k.name),
            format_jst(k.created_at),
            esc(&k.created_by)
        );
    }
    let _ = write!(
        body,
        "</table><form method=\"post\" action=\"/admin/keys\">{csrf}<label for=\"kname\">用途（例：AIチャットボット）</label>\
         <input type=\"text\" id=\"kname\" name=\"name\" required> <button type=\"submit\">APIキーを発行</button></form>"
    );
    Ok(staff_page("APIキー", &staff.0, &body))
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    name: String,
}

pub async fn create_key(
    State(app): State<Arc<App>>,
    staff: Staff,
    Form(f): Form<KeyForm>,
) -> WebResult<Html<String>> {
    staff.require(Role::Admin)?;
    staff.check_csrf(&f.csrf)?;
    let by = staff.0.login.clone();
    let name: String = f.name.trim().chars().take(100).collect();
    let key = blocking(&app, move |app| auth::create_api_key(&app.db, &name, &by)).await?;
    Ok(Html(keys_page(&app, &staff, Some(&key)).await?))
}

pub async fn revoke_key(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    staff.require(Role::Admin)?;
    staff.check_csrf(&f.csrf)?;
    blocking(&app, move |app| auth::revoke_api_key(&app.db, id)).await?;
    Ok(Redirect::to("/admin/keys").into_response())
}

#[derive(Deserialize, Default)]
pub struct LogParams {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    status: String,
}

pub async fn access_log(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(p): Query<LogParams>,
) -> WebResult<Html<String>> {
    staff.require(Role::Admin)?;
    let to_day = if p.to.is_empty() {
        app.clock.today_jst()
    } else {
        p.to.clone()
    };
    let to = parse_date_jst(&to_day)
        .ok_or_else(|| AppError::BadRequest("終了日が不正です".into()))?
        + 86_400;
    let from = if p.from.is_empty() {
        to - 7 * 86_400
    } else {
        parse_date_jst(&p.from).ok_or_else(|| AppError::BadRequest("開始日が不正です".into()))?
    };
    let q = LogQuery {
        from,
        to,
        user: p.user.trim().to_string(),
        ip: p.ip.trim().to_string(),
        path_contains: p.path.trim().to_string(),
        status: p.status.trim().parse().unwrap_or(0),
        limit: 500,
    };
    let app2 = app.clone();
    let rows = tokio::task::spawn_blocking(move || app2.log.search(&q))
        .await
        .map_err(|e| AppError::BadRequest(e.to_string()))??;
    let mut body = format!(
        "<form method=\"get\" action=\"/admin/log\">\
         <label for=\"from\">開始日</label><input type=\"date\" id=\"from\" name=\"from\" value=\"{}\">\
         <label for=\"to\">終了日</label><input type=\"date\" id=\"to\" name=\"to\" value=\"{}\">\
         <label for=\"user\">利用者（ログインID、apikey:名前、- は未ログイン）</label><input type=\"text\" id=\"user\" name=\"user\" value=\"{}\">\
         <label for=\"ip\">IPアドレス</label><input type=\"text\" id=\"ip\" name=\"ip\" value=\"{}\">\
         <label for=\"path\">パスに含む文字列</label><input type=\"text\" id=\"path\" name=\"path\" value=\"{}\">\
         <label for=\"status\">ステータス</label><input type=\"text\" id=\"status\" name=\"status\" value=\"{}\">\
         <p><button type=\"submit\">検索</button></p></form><p>{}件（最大500件、新しい順）</p>\
         <table><thead><tr><th>日時</th><th>IP</th><th>利用者</th><th>操作</th><th>結果</th><th>ms</th></tr></thead><tbody>",
        esc(&p.from), esc(&to_day), esc(&p.user), esc(&p.ip), esc(&p.path), esc(&p.status), rows.len()
    );
    for r in &rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
            format_jst(r.at),
            esc(&r.ip),
            esc(&r.user),
            esc(&r.method),
            esc(&r.path),
            r.status,
            r.ms
        );
    }
    body.push_str("</tbody></table>");
    Ok(Html(staff_page("アクセスログ", &staff.0, &body)))
}
