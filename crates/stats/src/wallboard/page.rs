//! The wallboard page: big numbers readable from 3 m on a wall screen, Japanese labels,
//! the target state said in words and marks (○/×) besides colour, updated from
//! `/wallboard/events`. The connection state is shown, so a frozen board is visible.

use crate::look;

const BOARD_CSS: &str = r#"
.tiles { display:grid; grid-template-columns:repeat(auto-fit,minmax(15rem,1fr)); gap:1rem; margin-bottom:1.2rem; }
.tile { background:var(--card); border:2px solid var(--line); border-radius:.6rem; padding:.8rem 1rem; }
.tile .label { font-size:1.5rem; color:var(--muted); }
.tile .value { font-size:4.5rem; font-weight:700; line-height:1.1; font-variant-numeric:tabular-nums; }
.tile .unit { font-size:1.8rem; margin-left:.2rem; }
.tile .target { font-size:1.4rem; }
.tile.alert { border-width:6px; border-color:var(--ng); }
.cols { display:grid; grid-template-columns:repeat(auto-fit,minmax(24rem,1fr)); gap:1.2rem; }
.cols h2 { font-size:1.7rem; margin:.2rem 0 .5rem; }
.cols table { font-size:1.6rem; }
.status-OnCall td.state { font-weight:700; }
.conn { margin-left:auto; font-size:1.1rem; }
.conn.lost { background:var(--ng); padding:.2rem .6rem; border-radius:.3rem; }
"#;

const SCRIPT: &str = r#"
const $ = (id) => document.getElementById(id);
const mmss = (s) => { s = Math.floor(s); const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m/60)}時間${m%60}分` : `${m}:${String(s % 60).padStart(2,'0')}`; };
const pct = (x) => x == null ? '—' : (x * 100).toFixed(1);
const sec = (x) => x == null ? '—' : x.toFixed(1);
function verdict(el, ok, text) {
  el.textContent = ok == null ? '実績なし' : (ok ? `○ 目標達成（${text}）` : `× 目標未達（${text}）`);
  el.className = 'target ' + (ok == null ? '' : (ok ? 'ok' : 'ng'));
  el.closest('.tile').classList.toggle('alert', ok === false);
}
function cell(tr, text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
function draw(b) {
  $('waiting').textContent = b.waiting;
  const nobody = b.waiting > 0 && b.agents.every(a => a.status !== 'Available');
  $('waiting-tile').classList.toggle('alert', nobody);
  $('waiting-note').textContent = nobody ? '× 受付可のオペレーターがいません' : '';
  $('longest').textContent = b.longest_wait == null ? '—' : mmss(b.longest_wait);
  $('callbacks').textContent = b.callbacks;
  $('offered').textContent = b.today.offered;
  $('answered').textContent = b.today.answered;
  $('abandoned').textContent = b.today.abandoned;
  $('rate').textContent = pct(b.today.answer_rate);
  verdict($('rate-target'), b.today.answer_rate_ok, '目標 90%以上');
  $('asa').textContent = sec(b.today.asa);
  verdict($('asa-target'), b.today.asa_ok, '目標 9秒以内');
  const ops = $('operators'); ops.replaceChildren();
  for (const a of b.agents) {
    const tr = document.createElement('tr'); tr.className = 'status-' + a.status;
    cell(tr, a.name); cell(tr, `${a.mark} ${a.label}${a.reason ? '（' + a.reason + '）' : ''}`, 'state'); cell(tr, mmss(a.secs), 'num');
    ops.appendChild(tr);
  }
  if (!b.agents.length) { const tr = document.createElement('tr'); cell(tr, 'ログイン中のオペレーターはいません'); tr.firstChild.colSpan = 3; ops.appendChild(tr); }
  const lines = $('lines'); lines.replaceChildren();
  for (const l of b.lines) {
    const tr = document.createElement('tr');
    cell(tr, l.number ? `${l.name}（${l.number}）` : l.name);
    cell(tr, l.offered, 'num'); cell(tr, l.answered, 'num'); cell(tr, l.abandoned, 'num');
    cell(tr, l.answer_rate == null ? '—' : pct(l.answer_rate) + '%', 'num');
    lines.appendChild(tr);
  }
  $('updated').textContent = new Date().toLocaleTimeString('ja-JP');
  document.body.dataset.boards = String(Number(document.body.dataset.boards || 0) + 1);
}
function connect() {
  const es = new EventSource('/wallboard/events');
  const conn = $('conn');
  es.addEventListener('board', (e) => { conn.textContent = '更新中 ' ; conn.className = 'conn'; draw(JSON.parse(e.data)); });
  es.onerror = () => { conn.textContent = '接続が切れました（再接続します）'; conn.className = 'conn lost'; };
}
connect();
"#;

pub fn page() -> String {
    format!(
        r#"<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>着信状況 — 総合コールセンター</title>
<style>{css}{board}</style></head>
<body>
{header}
<main>
<div style="display:flex;align-items:baseline;gap:1rem;flex-wrap:wrap">
<h1>着信状況（本日）</h1><span>最終更新 <span id="updated">—</span></span>
<span id="conn" class="conn" role="status">接続中…</span></div>
<section class="tiles" aria-label="待ち呼と本日の実績">
<div class="tile" id="waiting-tile"><div class="label">待ち呼数</div><div class="value"><span id="waiting">—</span><span class="unit">件</span></div><div class="target">折り返し予約 <span id="callbacks">—</span> 件</div><div class="target ng" id="waiting-note" role="alert"></div></div>
<div class="tile"><div class="label">最長待ち時間</div><div class="value" id="longest">—</div></div>
<div class="tile"><div class="label">本日の着信</div><div class="value"><span id="offered">—</span><span class="unit">件</span></div></div>
<div class="tile"><div class="label">応答</div><div class="value"><span id="answered">—</span><span class="unit">件</span></div></div>
<div class="tile"><div class="label">放棄</div><div class="value"><span id="abandoned">—</span><span class="unit">件</span></div></div>
<div class="tile"><div class="label">受電応答率</div><div class="value"><span id="rate">—</span><span class="unit">%</span></div><div class="target" id="rate-target">—</div></div>
<div class="tile"><div class="label">平均応答時間</div><div class="value"><span id="asa">—</span><span class="unit">秒</span></div><div class="target" id="asa-target">—</div></div>
</section>
<div class="cols">
<section aria-labelledby="h-ops"><h2 id="h-ops">オペレーター</h2>
<table><thead><tr><th>名前</th><th>状態</th><th>経過</th></tr></thead><tbody id="operators"></tbody></table></section>
<section aria-labelledby="h-lines"><h2 id="h-lines">回線別（本日）</h2>
<table><thead><tr><th>回線</th><th>着信</th><th>応答</th><th>放棄</th><th>応答率</th></tr></thead><tbody id="lines"></tbody></table></section>
</div>
</main>
<script>{script}</script>
</body></html>"#,
        css = look::CSS,
        board = BOARD_CSS,
        header = look::header("/wallboard"),
        script = SCRIPT,
    )
}
