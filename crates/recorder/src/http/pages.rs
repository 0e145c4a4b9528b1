//! The two small Japanese pages: search with results, and one recording with a player,
//! in the look the switch gives them (the wallboard's and the reports').

use super::SearchQuery;
use crate::catalogue::RecordingRow;
use crate::time::format_local;

pub fn esc(s: &str) -> String {
    // & < > " ' → entities, for text and quoted attributes alike.
    html_escape::encode_quoted_attribute(s).into_owned()
}

/// What the recorder's own pages need beyond this crate: the supervisors' pages share
/// one look (CSS and a header with the navigation between wallboard, reports and
/// recordings), which the switch owns, and the lines' names for their numbers.
#[derive(Clone, Default)]
pub struct Look {
    /// The shared style sheet; empty: a plain fallback.
    pub css: &'static str,
    /// The shared header for the page at a path (its navigation marks that page).
    pub header: Option<fn(&str) -> String>,
    /// Representative numbers (national form, digits only) and how a supervisor reads
    /// them, e.g. ("0246221111", "市代表（0246-22-1111）").
    pub lines: Vec<(String, String)>,
}

impl Look {
    /// The line's label for a dialled number that is a line, else the number as dialled.
    fn number(&self, dialled: &str) -> String {
        let digits: String = dialled.chars().filter(char::is_ascii_digit).collect();
        let national = match dialled.trim().strip_prefix("+81") {
            Some(_) => format!("0{}", &digits[2..]),
            None => digits,
        };
        match self.lines.iter().find(|(n, _)| *n == national) {
            Some((_, label)) => esc(label),
            None => esc(dialled),
        }
    }
}

/// Shared layout (wide tables scroll on a tablet) plus what only these pages use.
const EXTRA: &str = ".err{color:#a11b1b}form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;\
align-items:end;margin-bottom:1rem}form label{display:flex;flex-direction:column}\
input,button{font:inherit;min-height:44px;padding:.3rem .5rem}.scroll{overflow-x:auto}";
const PLAIN: &str = "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}\
td,th{border:1px solid #999;padding:.25em .5em}th{background:#eee}";

fn page(look: &Look, title: &str, user: &str, body: &str) -> String {
    let css = if look.css.is_empty() { PLAIN } else { look.css };
    let header = look.header.map(|h| h("/recordings")).unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{css}{EXTRA}</style></head><body>{header}<main>\
         <p>ログイン中: {u}</p><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title),
        u = esc(user),
    )
}

/// A cell's text, or "—" when there is nothing to say (no operator took the call).
fn or_dash(s: String) -> String {
    if s.trim().is_empty() {
        "—".into()
    } else {
        s
    }
}

fn duration(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => {
            let s = ms / 1000;
            format!("{}:{:02}", s / 60, s % 60)
        }
        None => "—".into(),
    }
}

pub fn search(
    look: &Look,
    q: &SearchQuery,
    rows: &[RecordingRow],
    total: u64,
    problem: Option<&str>,
    user: &str,
    offset: i32,
) -> String {
    let v = |o: &Option<String>| esc(o.as_deref().unwrap_or(""));
    let mut b = format!(
        "<form method=\"get\" action=\"/recordings\">\
         <label>開始日 <input type=\"date\" name=\"from\" value=\"{}\"></label>\
         <label>終了日 <input type=\"date\" name=\"to\" value=\"{}\"></label>\
         <label>代表番号 <input name=\"number\" value=\"{}\"></label>\
         <label>オペレーター <input name=\"operator\" value=\"{}\"></label>\
         <label>発信者番号 <input name=\"caller\" value=\"{}\"></label>\
         <button type=\"submit\">検索</button></form>",
        v(&q.from),
        v(&q.to),
        v(&q.number),
        v(&q.operator),
        v(&q.caller),
    );
    if let Some(p) = problem {
        b.push_str(&format!("<p class=\"err\">{}</p>", esc(p)));
    }
    b.push_str(&paging(q, rows.len(), total));
    b.push_str(
        "<div class=\"scroll\"><table><tr><th>番号</th><th>開始日時</th><th>代表番号</th>\
         <th>発信者</th><th>オペレーター</th><th>通話時間</th><th>状態</th><th></th></tr>",
    );
    for r in rows {
        b.push_str(&format!(
            "<tr><td>{id}</td><td>{start}</td><td>{num}</td><td>{caller}</td><td>{ops}</td>\
             <td>{dur}</td><td>{state}</td><td><a href=\"/recordings/{id}\">再生</a></td></tr>",
            id = r.id,
            start = format_local(r.started_at, offset),
            num = or_dash(look.number(&r.number)),
            caller = or_dash(esc(&r.caller)),
            ops = or_dash(esc(&r.operators.join("、"))),
            dur = duration(r.duration_ms),
            state = r.state.label_ja(),
        ));
    }
    b.push_str("</table></div>");
    page(look, "通話録音の検索", user, &b)
}

/// "全 N 件中 a–b 件目" with links to the pages before and after, keeping the criteria.
fn paging(q: &SearchQuery, shown: usize, total: u64) -> String {
    let limit = q.limit.unwrap_or(super::PAGE).clamp(1, 1000) as u64;
    let first = q.offset.unwrap_or(0) as u64;
    let mut out = if shown == 0 {
        format!("<p>全 {total} 件</p>")
    } else {
        format!(
            "<p>全 {total} 件中 {}–{} 件目</p>",
            first + 1,
            first + shown as u64
        )
    };
    let link = |offset: u64, label: &str| {
        let mut pairs: Vec<(&str, String)> = [
            ("from", &q.from),
            ("to", &q.to),
            ("number", &q.number),
            ("operator", &q.operator),
            ("caller", &q.caller),
            ("state", &q.state),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.clone().filter(|v| !v.is_empty())?)))
        .collect();
        pairs.push(("limit", limit.to_string()));
        pairs.push(("offset", offset.to_string()));
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("<a href=\"/recordings?{}\">{label}</a> ", esc(&qs))
    };
    let mut nav = String::new();
    if first > 0 {
        nav.push_str(&link(first.saturating_sub(limit), "← 前へ"));
    }
    if first + (shown as u64) < total {
        nav.push_str(&link(first + limit, "次へ →"));
    }
    if !nav.is_empty() {
        out.push_str(&format!("<p>{}</p>", nav.trim_end()));
    }
    out
}

pub fn player(look: &Look, r: &RecordingRow, user: &str, offset: i32, session: &str) -> String {
    let mut b = String::from("<p><a href=\"/recordings\">検索に戻る</a></p><table>");
    let rows = [
        ("番号", r.id.to_string()),
        ("呼 ID", esc(&r.call_id)),
        ("開始日時", format_local(r.started_at, offset)),
        ("代表番号", or_dash(look.number(&r.number))),
        ("発信者", or_dash(esc(&r.caller))),
        ("オペレーター", or_dash(esc(&r.operators.join("、")))),
        ("通話時間", duration(r.duration_ms)),
        ("状態", r.state.label_ja().to_string()),
        ("SHA-256", or_dash(esc(r.sha256.as_deref().unwrap_or("")))),
    ];
    for (k, v) in rows {
        b.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    b.push_str("</table>");
    if r.state == crate::State::Deleted {
        b.push_str("<p>この録音は削除されました。記録のみ残っています。</p>");
    } else {
        // preload=none: opening the page is not a play; pressing ▶ is, and is logged —
        // once for this page's session however often the player seeks (see `audio`).
        b.push_str(&format!(
            "<p><audio controls preload=\"none\" src=\"/recordings/{id}/play?session={session}\"></audio></p>\
             <p><a href=\"/recordings/{id}/download\">ダウンロード (WAV)</a></p>\
             <p>再生とダウンロードは記録されます。</p>",
            id = r.id
        ));
    }
    page(look, &format!("通話録音 {}", r.id), user, &b)
}
