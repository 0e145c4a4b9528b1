//! An entry's change history with what each change did (field by field) and a way back
//! (restore an earlier version, recorded as a change of its own), and its ratings as a
//! chart rather than a raw array.

use super::html::{csrf_field, esc, url_enc};
use super::{AppError, Staff, WebResult};
use crate::app::{blocking, App};
use crate::auth::Role;
use crate::clock::format_jst;
use crate::db::HistoryRow;
use crate::model::Entry;
use crate::stats::RatingStat;
use axum::extract::{Path, State};
use axum::response::Redirect;
use axum::Form;
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;

/// (field label, value) of each field editors see, in the form's order.
fn fields(e: &Entry) -> [(&'static str, String); 9] {
    [
        ("カテゴリ", e.category.clone()),
        ("質問", e.question.clone()),
        ("回答", e.answer.clone()),
        ("関連FAQ", e.related_faq.clone()),
        ("関連URL", e.related_url.clone()),
        ("担当課", e.department.clone()),
        ("公開", if e.public { "公開" } else { "非公開" }.into()),
        ("公開開始日", e.publish_start.clone()),
        ("公開終了日", e.publish_end.clone()),
    ]
}

/// The fields that differ between two versions: (label, before, after).
pub fn diff(before: Option<&Entry>, after: &Entry) -> Vec<(&'static str, String, String)> {
    let old = before.map(fields);
    fields(after)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (label, new))| {
            let was = old.as_ref().map(|o| o[i].1.clone()).unwrap_or_default();
            (was != new).then_some((label, was, new))
        })
        .collect()
}

/// The history table, newest first: each change as a field-by-field diff against the
/// version before it, with a restore button for editors.
pub fn history_table(id: &str, history: &[HistoryRow], staff: &Staff) -> String {
    let csrf = csrf_field(&staff.0);
    let editor = staff.0.role >= Role::Editor;
    let versions: Vec<Option<Entry>> = history
        .iter()
        .map(|h| serde_json::from_str(&h.snapshot).ok())
        .collect();
    let mut out = String::from(
        "<table class=\"history\"><tr><th>日時</th><th>操作</th><th>利用者</th><th>変更内容</th><th></th></tr>",
    );
    for (i, h) in history.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>",
            format_jst(h.at),
            esc(&h.action),
            esc(&h.user)
        );
        match &versions[i] {
            Some(v) => {
                let older = versions.get(i + 1).and_then(Option::as_ref);
                let changes = diff(older, v);
                if changes.is_empty() {
                    out.push_str("（変更なし）");
                }
                out.push_str("<dl class=\"diff\">");
                for (label, was, now) in changes {
                    let _ = write!(
                        out,
                        "<dt>{label}</dt><dd><del>{}</del> → <ins>{}</ins></dd>",
                        esc(&was),
                        esc(&now)
                    );
                }
                out.push_str("</dl>");
            }
            None => out.push_str("（読めない記録）"),
        }
        out.push_str("</td><td>");
        if editor && i > 0 && versions[i].is_some() && h.action != "削除" {
            let _ = write!(
                out,
                "<form class=\"inline\" method=\"post\" action=\"/admin/faq/{}/restore/{}\">{csrf}<button type=\"submit\" class=\"secondary\">この版に戻す</button></form>",
                url_enc(id),
                h.seq
            );
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table>");
    out
}

/// Ratings per month as bars (SVG, no script or inline style, so the CSP holds), with the
/// numbers written out for screen readers and print.
pub fn rating_chart(ratings: &[RatingStat]) -> String {
    if ratings.is_empty() {
        return "<p>まだ評価はありません。</p>".into();
    }
    const BAR_W: u32 = 28;
    const H: u32 = 80;
    let mut out = String::from("<div class=\"charts\">");
    for r in ratings {
        let max = r.dist.iter().copied().max().unwrap_or(0).max(1);
        let _ = write!(
            out,
            "<figure class=\"rating-chart\"><figcaption>{} — {}件、平均 {:.2}</figcaption>\
             <svg role=\"img\" aria-label=\"{}の評価の内訳: {}\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">",
            esc(&r.month),
            r.count,
            r.average,
            esc(&r.month),
            (1..=5)
                .map(|s| format!("{s}点 {}件", r.dist[s - 1]))
                .collect::<Vec<_>>()
                .join("、"),
            BAR_W * 5 + 8,
            H + 32,
            BAR_W * 5 + 8,
            H + 32
        );
        for (i, n) in r.dist.iter().enumerate() {
            let h = n * H / max;
            let x = 4 + i as u32 * BAR_W;
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{h}\" fill=\"#004c97\"><title>{}点: {n}件</title></rect>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{n}</text>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\">{}</text>",
                x + 2,
                H + 12 - h,
                BAR_W - 4,
                i + 1,
                x + BAR_W / 2,
                (H + 10 - h).max(10),
                x + BAR_W / 2,
                H + 28,
                i + 1
            );
        }
        out.push_str("</svg></figure>");
    }
    out.push_str("</div>");
    out
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Makes an earlier version the current one (recorded as 復元).
pub async fn restore(
    State(app): State<Arc<App>>,
    staff: Staff,
    Path((id, seq)): Path<(String, i64)>,
    Form(f): Form<CsrfForm>,
) -> WebResult<Redirect> {
    staff.require(Role::Editor)?;
    staff.check_csrf(&f.csrf)?;
    let user = staff.0.login.clone();
    let id2 = id.clone();
    blocking(&app, move |app| -> Result<(), AppError> {
        let row = app
            .db
            .history(&id2)?
            .into_iter()
            .find(|h| h.seq == seq)
            .ok_or(AppError::NotFound)?;
        let e: Entry = serde_json::from_str(&row.snapshot)
            .map_err(|_| AppError::BadRequest("この版は読めません".into()))?;
        if e.id != id2 {
            return Err(AppError::NotFound);
        }
        let problems = e.problems();
        if !problems.is_empty() {
            return Err(AppError::BadRequest(problems.join("\n")));
        }
        app.db.save(&e, &user, "復元")?;
        app.reindex()?;
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&format!(
        "/admin/faq/{}?saved=1",
        url_enc(&id)
    )))
}
