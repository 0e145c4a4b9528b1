//! Page frames and the stylesheet. Every piece of user or database text goes through
//! [`esc`] (the FAQ crate's escaping).

use crate::auth::{Role, SessionUser};
pub use faq::web::html::{esc, esc_multiline, url_enc};

pub fn csrf_field(user: &SessionUser) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(&user.csrf)
    )
}

pub fn bare_page(title: &str, body: &str) -> String {
    format!(
        r##"<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | 総合コールセンター</title>
<link rel="stylesheet" href="/static/desk.css">
</head><body><main id="main">{body}</main></body></html>"##,
        title = esc(title)
    )
}

/// The operators' frame.
pub fn desk_page(title: &str, user: &SessionUser, body: &str) -> String {
    let mut nav = String::from(
        r#"<a href="/desk/phone">電話応対</a> <a href="/desk">応対履歴</a> <a href="/desk/contacts/new">新規記録</a> <a href="/desk/handovers">折り返し・引継ぎ</a> <a href="/desk/inquiries">お問い合わせ（Web・メール）</a> <a href="/desk/mail">送信メール</a>"#,
    );
    if user.role >= Role::Supervisor {
        nav.push_str(r#" <a href="/desk/log">アクセスログ</a>"#);
    }
    if user.role >= Role::Admin {
        nav.push_str(r#" <a href="/desk/users">アカウント</a>"#);
    }
    nav.push_str(r#" <a href="/desk/password">パスワード変更</a>"#);
    format!(
        r##"<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | オペレーターデスク</title>
<link rel="stylesheet" href="/static/desk.css">
</head><body>
<header class="site"><span class="brand">オペレーターデスク</span>
<nav aria-label="メニュー">{nav}</nav>
<form method="post" action="/desk/logout" class="inline">{csrf}<span>{name}（{role}）</span> <button type="submit">ログアウト</button></form>
</header>
<main id="main"><h1>{title}</h1>
{body}
</main></body></html>"##,
        title = esc(title),
        csrf = csrf_field(user),
        name = esc(&user.name),
        role = user.role.label(),
    )
}

/// `<option>`s for a select, the current value selected; the first is "any" when
/// `any` is given.
pub fn options<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
    current: &str,
    any: Option<&str>,
) -> String {
    let mut out = String::new();
    if let Some(label) = any {
        out.push_str(&format!(r#"<option value="">{}</option>"#, esc(label)));
    }
    for (value, label) in items {
        let sel = if value == current { " selected" } else { "" };
        out.push_str(&format!(
            r#"<option value="{}"{sel}>{}</option>"#,
            esc(value),
            esc(label)
        ));
    }
    out
}

pub const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;overflow-wrap:anywhere;font-family:system-ui,"Hiragino Sans","Noto Sans CJK JP",sans-serif;font-size:1rem;line-height:1.6;color:#1a1a1a;background:#fff}
a{color:#0b57b0}
a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f0a000;outline-offset:2px}
header.site{background:#1d5e3a;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.6rem;align-items:center}
header.site a,header.site .brand{color:#fff}
header.site .brand{font-weight:bold}
main{max-width:80rem;margin:0 auto;padding:1rem}
button,.button{font-size:1rem;padding:.45rem .9rem;border-radius:6px;border:1px solid #1d5e3a;background:#1d5e3a;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:#1d5e3a}
label{display:block;margin:.5rem 0 .2rem;font-weight:bold}
input[type=text],input[type=password],input[type=date],input[type=datetime-local],input[type=email],input[type=tel],textarea,select{width:100%;font-size:1rem;padding:.4rem;border:1px solid #555;border-radius:4px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:0 1rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
tr.overdue td{background:#fdecea}
.desk-grid{display:grid;grid-template-columns:minmax(0,3fr) minmax(16rem,2fr);gap:1rem}@media (max-width:60rem){.desk-grid{grid-template-columns:1fr}}
.desk-side section{border:1px solid #ccc;border-radius:6px;padding:.5rem;margin-bottom:.8rem}
.notice{background:#e6f4ea;border:1px solid #2e7d32;padding:.6rem;border-radius:6px}
.error{background:#fdecea;border:1px solid #b00020;padding:.6rem;border-radius:6px}
form.inline{display:inline}
.muted{color:#555;font-size:.9rem}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
main.public{max-width:40rem}
pre.json{white-space:pre-wrap;font-size:.8rem;background:#f6f6f6;padding:.4rem}
"#;
