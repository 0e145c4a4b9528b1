// The supervisors' wallboard in headless Debian Chromium, driven by playwright-core.
// Logged in as a supervisor on a wall-screen-sized window: the board shows, then a call
// arrives (the Rust side starts a baresip caller when $MG_READY exists) and the board
// must show the waiting caller within 2 s of the switch's API showing it. Also: no
// login → 401; big numbers; target state in words; a tablet layout without overflow.
// Started by tests/wallboard_browser.rs, which passes:
//   MG_URL, MG_USER, MG_PASSWORD, MG_ARTIFACTS, MG_READY
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k) => { const v = process.env[k]; if (!v) { throw new Error(`missing env ${k}`); } return v; };
const BASE = env('MG_URL');
const ARTIFACTS = env('MG_ARTIFACTS');
mkdirSync(ARTIFACTS, { recursive: true });
rmSync(join(ARTIFACTS, 'failure.png'), { force: true });

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
function check(cond, msg) { if (!cond) { throw new Error(`check failed: ${msg}`); } }
const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
const text = (page, sel) => page.locator(sel).textContent();

// Without a login the board is refused.
const anon = await fetch(`${BASE}/wallboard`);
check(anon.status === 401, `wallboard without login answered ${anon.status}`);

const dir = mkdtempSync(join(tmpdir(), 'wallboard-chromium-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium', headless: true, args: ARGS, locale: 'ja-JP',
  timezoneId: 'Asia/Tokyo', viewport: { width: 1920, height: 1080 },
  httpCredentials: { username: env('MG_USER'), password: env('MG_PASSWORD') },
});
ctx.setDefaultTimeout(20000);
const page = ctx.pages()[0] ?? await ctx.newPage();
try {
  await page.goto(`${BASE}/wallboard`);
  await page.waitForFunction(() => Number(document.body.dataset.boards || 0) >= 1);
  check((await text(page, 'h1')) === '着信状況（本日）', 'heading');
  check((await page.locator('html').getAttribute('lang')) === 'ja', 'lang=ja');
  check((await text(page, '#waiting')) === '0', `no caller waiting at first, saw ${await text(page, '#waiting')}`);
  // Today's figures from the call records: 3 of 4 answered, ASA 8 s.
  check((await text(page, '#offered')) === '4' && (await text(page, '#answered')) === '3', 'today from the records');
  check((await text(page, '#rate')) === '75.0', `answer rate ${await text(page, '#rate')}`);
  check((await text(page, '#rate-target')).includes('× 目標未達'), 'below target, in words');
  check((await text(page, '#asa-target')).includes('○ 目標達成'), 'ASA within 9 s, in words');
  check((await text(page, '#conn')).startsWith('更新中'), 'connection state shown');
  // Readable from 3 m: the numbers are at least 60 px high.
  const size = await page.locator('#waiting').evaluate((e) => parseFloat(getComputedStyle(e.parentElement).fontSize));
  check(size >= 60, `big numbers: ${size}px`);
  // The target state is said in words, not only by colour.
  check(/実績なし|目標達成|目標未達/.test(await text(page, '#rate-target')), 'answer-rate target in words');
  // Lines by name and number, and the navigation shared with the other pages.
  check((await page.locator('#lines tr').first().textContent()).includes('市代表（0246-22-1111）'), 'line with its number');
  check(await page.getByRole('link', { name: '録音' }).isVisible(), 'navigation to the recordings');
  const boardsBefore = Number(await page.evaluate(() => document.body.dataset.boards));
  await page.waitForFunction((n) => Number(document.body.dataset.boards) > n, boardsBefore, { timeout: 3000 });
  await shot(page, '01-board-idle.png');

  // A call arrives.
  writeFileSync(env('MG_READY'), 'ready');
  let queued = null;
  for (let i = 0; i < 400 && queued === null; i++) {
    const q = await (await fetch(`${BASE}/api/v1/queues`)).json();
    if ((q.queues?.[0]?.waiting ?? 0) >= 1) { queued = Date.now(); break; }
    await new Promise((r) => setTimeout(r, 100));
  }
  check(queued !== null, 'the caller never reached the queue (see the switch log)');
  await page.waitForFunction(() => document.getElementById('waiting').textContent === '1', null, { timeout: 2000 });
  const latency = Date.now() - queued;
  console.log(`board showed the waiting caller ${latency} ms after the API did`);
  // Nobody can answer: the tile is marked (a thick border and words elsewhere, not only colour).
  check(await page.locator('#waiting-tile.alert').isVisible(), 'waiting tile marked');
  check((await text(page, '#waiting-note')).includes('受付可のオペレーターがいません'), 'said in words too');
  await page.waitForFunction(() => document.getElementById('longest').textContent !== '—');
  await shot(page, '02-board-call-waiting.png');

  // On a tablet the board fits the width.
  await page.setViewportSize({ width: 820, height: 1180 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `wider than a tablet by ${overflow}px`);
  await shot(page, '03-board-tablet.png');

  // The reports page, reached by the shared navigation: a day's figures and its xlsx.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole('link', { name: '報告書' }).click();
  await page.waitForURL(`${BASE}/reports`);
  await page.getByLabel('種類').selectOption('daily');
  await page.getByLabel('期間').fill('2026-11-25');
  await page.getByRole('button', { name: '表示' }).click();
  await page.waitForURL(/period=2026-11-25/);
  check((await page.getByRole('row', { name: /総着信呼数/ }).textContent()).includes('4 件'), 'report: offered');
  check((await page.getByRole('row', { name: /受電応答率/ }).textContent()).includes('75.0%'), 'report: answer rate');
  check(await page.getByRole('cell', { name: '小名浜支所（0246-54-2111）' }).isVisible(), 'line with its number');
  await shot(page, '04-reports.png');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Excel/ }).click()]);
  await dl.saveAs(join(ARTIFACTS, 'report.xlsx'));
  // The recordings, reached by the same navigation, in the same look: the line's name
  // beside its number, "—" where there is nothing to show, and a tablet fits them.
  await page.getByRole('link', { name: '録音' }).click();
  await page.waitForURL(`${BASE}/recordings`);
  check((await text(page, 'h1')) === '通話録音の検索', 'recordings heading');
  check((await page.locator('nav a[aria-current=page]').textContent()) === '録音', 'recordings marked in the navigation');
  check(await page.getByRole('link', { name: '着信状況' }).isVisible(), 'navigation back to the wallboard');
  const row = page.locator('table tr').nth(1);
  const cells = await row.locator('td').allTextContents();
  check(cells.length === 8, `a recording listed: ${cells}`);
  check(cells[2] === '市代表（0246-22-1111）', `line name beside its number: ${cells[2]}`);
  check(cells.every((c) => c.trim() !== ''), `no empty cell: ${JSON.stringify(cells)}`);
  check(cells[4] === '—', `nobody answered the waiting caller's call: ${cells[4]}`);
  await page.setViewportSize({ width: 820, height: 1180 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 0, `recordings wider than a tablet by ${wide}px`);
  await shot(page, '05-recordings-tablet.png');
  await page.setViewportSize({ width: 1280, height: 900 });
  await row.getByRole('link', { name: '再生' }).click();
  await page.waitForURL(/\/recordings\/\d+$/);
  check(await page.getByRole('link', { name: '報告書' }).isVisible(), 'the player page has the navigation');
  await shot(page, '06-recording-player.png');
  // A bad period gets a sentence, not an empty report.
  await page.goto(`${BASE}/reports?kind=monthly&period=2026-13`);
  check((await page.getByRole('alert').textContent()).includes('2026-11 のように'), 'bad period explained');
} catch (e) {
  await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
