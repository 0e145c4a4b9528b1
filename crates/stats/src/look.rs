//! One look for the supervisors' pages (wallboard, reports, recordings): a header with
//! the center's name and the navigation between them, plain system fonts with Japanese
//! glyphs, high contrast, large touch targets for tablets. Pages put `CSS` in a
//! `<style>` and start their body with `header(active)`.

pub const CSS: &str = r#"
:root { --bg:#f5f7fa; --fg:#14202b; --muted:#4a5a6a; --card:#fff; --line:#c9d3dd;
  --accent:#0b5cad; --ok:#11632f; --ng:#a11b1b; }
* { box-sizing:border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font-family:"Hiragino Sans","Noto Sans CJK JP","IPAGothic","IPAexGothic",sans-serif;
  font-size:18px; line-height:1.5; }
.site { display:flex; flex-wrap:wrap; align-items:center; gap:.5rem 1.5rem;
  background:#14202b; color:#fff; padding:.6rem 1.2rem; }
.site .name { font-weight:700; font-size:1.2rem; }
.site nav { display:flex; flex-wrap:wrap; gap:.3rem; }
.site nav a { color:#fff; text-decoration:none; padding:.45rem .9rem; border-radius:.4rem;
  border:1px solid transparent; min-height:44px; display:inline-flex; align-items:center; }
.site nav a[aria-current=page] { border-color:#fff; font-weight:700; }
.site nav a:hover, .site nav a:focus { background:#2b3b4b; }
main { padding:1rem 1.2rem; }
h1 { font-size:1.6rem; margin:.2rem 0 1rem; }
table { border-collapse:collapse; width:100%; background:var(--card); }
th, td { border:1px solid var(--line); padding:.4rem .6rem; text-align:left; }
th { background:#e3eaf1; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.ok { color:var(--ok); } .ng { color:var(--ng); }
"#;

/// The header with the navigation; `active` is the path of the current page.
pub fn header(active: &str) -> String {
    let link = |path: &str, label: &str| {
        let cur = if path == active {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{path}\"{cur}>{label}</a>")
    };
    format!(
        "<header class=\"site\"><span class=\"name\">総合コールセンター</span><nav aria-label=\"管理メニュー\">{}{}{}</nav></header>",
        link("/wallboard", "着信状況"),
        link("/reports", "報告書"),
        link("/recordings", "録音"),
    )
}
