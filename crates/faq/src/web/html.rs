//! HTML building: escaping (every piece of user or database text goes through [`esc`]),
//! the page frame, and the static CSS/JS. Server-rendered pages keep phones fast and
//! work without JavaScript; the script only adds suggestions.

use crate::auth::{Role, SessionUser};
use std::fmt::Write;

pub fn esc(s: &str) -> String {
    // & < > " ' → entities, for text and quoted attributes alike.
    html_escape::encode_quoted_attribute(s).into_owned()
}

/// Escaped text with line breaks kept.
pub fn esc_multiline(s: &str) -> String {
    esc(s).replace("\r\n", "\n").replace('\n', "<br>")
}

/// Percent-encoding for a query-string value.
pub fn url_enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub fn csrf_field(user: &SessionUser) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(&user.csrf)
    )
}

/// What the public pages say about the call center, from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteInfo {
    /// The call center's hours as shown in the footer.
    pub hours: String,
    /// The number to call when the FAQ does not help.
    pub phone: String,
}

impl Default for SiteInfo {
    /// The city's call center (spec 第1-6: weekdays 8:30–19:00, weekends and holidays
    /// 8:30–17:00, closed 29 Dec – 3 Jan; the city hall's main number is answered there).
    fn default() -> Self {
        SiteInfo {
            hours: "平日 8:30〜19:00、土日祝日 8:30〜17:00（12月29日〜1月3日を除く）".into(),
            phone: "0246-22-1111".into(),
        }
    }
}

/// The public site's frame. `query` is kept in the search box.
pub fn public_page(site: &SiteInfo, title: &str, query: &str, body: &str) -> String {
    let tel: String = site
        .phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    format!(
        r##"<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | いわき市 よくある質問</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
</head><body>
<a class="skip" href="#main">本文へ移動</a>
<header class="site"><a href="/" class="brand">いわき市 よくある質問（FAQ）</a></header>
<main id="main">
<form class="search" role="search" action="/search" method="get">
<label for="q" class="vh">キーワードで探す</label>
<input id="q" name="q" type="search" value="{query}" autocomplete="off" placeholder="例：住民票、ごみ、こくほ" role="combobox" aria-autocomplete="list" aria-expanded="false" aria-controls="suggest">
<button type="submit">検索</button>
<ul id="suggest" role="listbox" aria-label="入力候補" hidden></ul>
</form>
{body}
</main>
<footer class="site"><p>答えが見つからないときは、いわき市総合コールセンターへお電話ください。<br>
<a class="tel" href="tel:{tel}">{phone}</a>　受付 {hours}</p></footer>
</body></html>"##,
        title = esc(title),
        query = esc(query),
        tel = esc(&tel),
        phone = esc(&site.phone),
        hours = esc(&site.hours),
    )
}

/// The internal (staff) frame.
pub fn staff_page(title: &str, user: &SessionUser, body: &str) -> String {
    let mut nav = String::from(r#"<a href="/admin">FAQ一覧</a>"#);
    if user.role >= Role::Editor {
        nav.push_str(r#" <a href="/admin/new">新規作成</a> <a href="/admin/csv">CSV入出力</a> <a href="/admin/keywords">キーワード承認</a> <a href="/admin/categories">カテゴリ管理</a>"#);
    }
    nav.push_str(
        r#" <a href="/admin/ranking">閲覧ランキング</a> <a href="/admin/unfound">見つからなかった検索</a> <a href="/admin/ratings">評価集計</a>"#,
    );
    if user.role >= Role::Admin {
        nav.push_str(r#" <a href="/admin/users">利用者</a> <a href="/admin/keys">APIキー</a> <a href="/admin/log">アクセスログ</a>"#);
    }
    format!(
        r##"<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | FAQ管理</title>
<link rel="stylesheet" href="/static/style.css">
</head><body class="staff">
<a class="skip" href="#main">本文へ移動</a>
<header class="site"><span class="brand">FAQ管理</span>
<nav aria-label="管理メニュー">{nav}</nav>
<form method="post" action="/admin/logout" class="inline">{csrf}<span>{name}（{role}）</span> <button type="submit">ログアウト</button></form>
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

pub const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;overflow-wrap:anywhere;font-family:system-ui,"Hiragino Sans","Noto Sans CJK JP",sans-serif;font-size:1.05rem;line-height:1.7;color:#1a1a1a;background:#fff}
a{color:#0b57b0}
a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #1a1a1a;outline-offset:3px;box-shadow:0 0 0 3px #fff}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
header.site{background:#004c97;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.6rem;align-items:center}
header.site a,header.site .brand{color:#fff;font-weight:bold;text-decoration:none}
header.site nav a{margin-right:.6rem;font-weight:normal;text-decoration:underline}
main{max-width:46rem;margin:0 auto;padding:1rem}
body.staff main{max-width:72rem}
footer.site{border-top:1px solid #ccc;padding:1rem;font-size:.9rem;text-align:center}
footer.site a.tel{font-size:1.3rem;font-weight:bold}
nav.pages{display:flex;justify-content:space-between;margin:1rem 0}
dl.diff{margin:0}dl.diff dt{font-weight:bold}dl.diff dd{margin:0 0 .3rem 1rem;white-space:pre-wrap}
del{background:#fdecea;color:#7a0010}ins{background:#e6f4ea;color:#1b5e20;text-decoration:none}
.charts{display:flex;flex-wrap:wrap;gap:1rem}figure.rating-chart{margin:0}
form.search{position:relative;display:flex;gap:.4rem;margin:.5rem 0 1rem}
form.search input{flex:1;font-size:1.1rem;padding:.6rem;border:2px solid #555;border-radius:6px;min-width:0}
button,.button{font-size:1rem;padding:.55rem 1rem;border-radius:6px;border:1px solid #004c97;background:#004c97;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#004c97}
button.danger{background:#b00020;border-color:#b00020}
#suggest{position:absolute;top:100%;left:0;right:0;z-index:5;list-style:none;margin:0;padding:0;background:#fff;border:1px solid #555;border-radius:0 0 6px 6px}
#suggest li a{display:block;padding:.5rem .7rem;text-decoration:none;color:#1a1a1a}
#suggest li a:hover,#suggest li a[aria-selected=true]{background:#e8f0fb}
ul.results,ul.plain{list-style:none;padding:0}
ul.results li{border-bottom:1px solid #ddd;padding:.7rem 0}
ul.results .cat{font-size:.85rem;color:#555;display:block}
.chips a{display:inline-block;margin:.2rem;padding:.3rem .7rem;border:1px solid #0b57b0;border-radius:1rem;text-decoration:none}
.answer{background:#f6f8fb;border-left:4px solid #004c97;padding:.8rem 1rem}
fieldset{border:1px solid #ccc;border-radius:6px}
label{display:block;margin:.6rem 0 .2rem;font-weight:bold}
input[type=text],input[type=password],input[type=date],input[type=url],textarea,select{width:100%;font-size:1rem;padding:.5rem;border:1px solid #555;border-radius:4px}
.rating label{display:inline-block;font-weight:normal;margin:.2rem .3rem .2rem 0;padding:.35rem .7rem;border:1px solid #888;border-radius:6px;min-width:3rem}
.rating input{width:1.2rem;height:1.2rem;vertical-align:middle}
.notice{background:#e6f4ea;border:1px solid #2e7d32;padding:.6rem;border-radius:6px}
.error{background:#fdecea;border:1px solid #b00020;padding:.6rem;border-radius:6px}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
form.inline{display:inline}
.badge{font-size:.8rem;padding:0 .4rem;border-radius:4px;border:1px solid #555}
"#;

pub const SCRIPT: &str = r#"
// Suggestions while typing. Without this script the search form still works.
(function(){
  var q=document.getElementById('q'), list=document.getElementById('suggest');
  if(!q||!list)return;
  var timer=null, seq=0, sel=-1;
  function close(){list.hidden=true;list.innerHTML='';q.setAttribute('aria-expanded','false');sel=-1;}
  function show(items){
    list.innerHTML='';
    items.forEach(function(s,i){
      var li=document.createElement('li'); li.setAttribute('role','presentation');
      var a=document.createElement('a'); a.id='sg'+i; a.setAttribute('role','option');
      a.href='/search?q='+encodeURIComponent(s); a.textContent=s; li.appendChild(a); list.appendChild(li);
    });
    list.hidden=items.length===0; q.setAttribute('aria-expanded', items.length? 'true':'false'); sel=-1;
  }
  q.addEventListener('input',function(){
    clearTimeout(timer);
    var v=q.value.trim(); if(!v){close();return;}
    timer=setTimeout(function(){
      var my=++seq;
      fetch('/api/v1/faq/suggest?q='+encodeURIComponent(v)).then(function(r){return r.json();}).then(function(j){
        if(my===seq) show(j.suggestions||[]);
      }).catch(close);
    },120);
  });
  q.addEventListener('keydown',function(e){
    var opts=list.querySelectorAll('a'); if(list.hidden||!opts.length)return;
    if(e.key==='ArrowDown'||e.key==='ArrowUp'){
      e.preventDefault(); if(sel>=0)opts[sel].removeAttribute('aria-selected');
      sel=(sel+(e.key==='ArrowDown'?1:-1)+opts.length)%opts.length;
      opts[sel].setAttribute('aria-selected','true'); q.setAttribute('aria-activedescendant',opts[sel].id);
    } else if(e.key==='Enter'&&sel>=0){ e.preventDefault(); location.href=opts[sel].href; }
    else if(e.key==='Escape'){ close(); }
  });
  document.addEventListener('click',function(e){ if(e.target!==q&&!list.contains(e.target)) close(); });
})();
"#;
