// Browser test of the operators' desk in headless Debian Chromium, driven by
// playwright-core. The administrator creates the operator's account (tied to the
// switch's agent), the operator logs in and opens the phone desk: their state comes from
// the switch, the directory from the switch, FAQ answers from the FAQ site. The Rust side
// (tests/history_browser.rs) places a real call when this script prints READY. The pop
// must show the dialled line and the caller; the after-call-work form beside it is saved;
// the state buttons end the after-call work, pause with a reason and resume; the record
// is found by a search. Screenshots go to $HISTORY_ARTIFACTS.
//   HISTORY_URL, HISTORY_USER, HISTORY_PASSWORD (administrator), HISTORY_AGENT,
//   HISTORY_OPERATOR_PASSWORD, HISTORY_ARTIFACTS, HISTORY_LINE (expected line name),
//   HISTORY_DIALLED, HISTORY_CALLER
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k) => { const v = process.env[k]; if (!v) { throw new Error(`missing env ${k}`); } return v; };
const BASE = env('HISTORY_URL');
const ARTIFACTS = env('HISTORY_ARTIFACTS');
const AGENT = env('HISTORY_AGENT');
mkdirSync(ARTIFACTS, { recursive: true });
rmSync(join(ARTIFACTS, 'failure.png'), { force: true });
function check(cond, msg) { if (!cond) { throw new Error(`check failed: ${msg}`); } }

const dir = mkdtempSync(join(tmpdir(), 'history-chromium-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  ignoreHTTPSErrors: true, locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1280, height: 900 },
});
ctx.setDefaultTimeout(20000);
const page = ctx.pages()[0] ?? await ctx.newPage();
async function login(user, pw) {
  await page.goto(`${BASE}/desk/login`);
  await page.getByLabel('ログインID').fill(user);
  await page.getByLabel('パスワード').fill(pw);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.waitForURL(`${BASE}/desk`);
}
async function stateIs(status, timeout = 20000) {
  await page.locator(`#state[data-status="${status}"]`).waitFor({ state: 'attached', timeout });
}
try {
  // The administrator makes the operator's account, tied to the switch's agent id.
  await login(env('HISTORY_USER'), env('HISTORY_PASSWORD'));
  await page.goto(`${BASE}/desk/users`);
  await page.getByLabel('ログインID').fill(`op${AGENT}`);
  await page.getByLabel('氏名').fill('磐城 一郎');
  await page.getByLabel('役割').selectOption('operator');
  await page.getByLabel('オペレーターID（交換機）').fill(AGENT);
  await page.getByLabel('パスワード（10文字以上）').fill(env('HISTORY_OPERATOR_PASSWORD'));
  await page.getByRole('button', { name: '保存' }).click();
  await page.waitForURL(`${BASE}/desk/users`);
  check((await page.locator('table').first().textContent()).includes(`op${AGENT}`), 'account listed');
  await page.getByRole('button', { name: 'ログアウト' }).click();

  // The operator's desk: their own phone, their state from the switch.
  await login(`op${AGENT}`, env('HISTORY_OPERATOR_PASSWORD'));
  await page.goto(`${BASE}/desk/phone`);
  await page.locator('#pop[data-connected="1"]').waitFor({ state: 'attached' });
  check(await page.locator('#pop').isHidden(), 'no pop before a call');
  check(await page.locator('#acw').isHidden(), 'no form before a call');
  await stateIs('Available');
  check((await page.locator('#state-now').textContent()) === '受付可', 'state label');
  // The directory from the switch's configuration, open at the switch's time.
  const dept = page.locator('#directory tbody tr', { hasText: '市民課' });
  await dept.waitFor();
  check((await dept.textContent()).includes('2101') && (await dept.getAttribute('data-open')) === '1', `directory row: ${await dept.textContent()}`);
  // The pause reasons are the switch's.
  check((await page.locator('#pause-reason option').allTextContents()).includes('研修'), 'pause reasons');
  // FAQ search over the FAQ site's API.
  await page.getByLabel('FAQ検索').fill('住民票 コンビニ');
  await page.getByRole('button', { name: '検索', exact: true }).click();
  const hit = page.locator('#faq-results li', { hasText: 'FAQ-0002' });
  await hit.waitFor();
  check((await hit.locator('a').getAttribute('href')).endsWith('/faq/FAQ-0002'), 'links to the FAQ site');
  console.log('READY');

  // The real call: the pop appears with the line and the caller, and the form beside it.
  await page.locator('#pop').waitFor({ state: 'visible', timeout: 45000 });
  const line = await page.locator('#pop-line').textContent();
  const caller = await page.locator('#pop-caller').textContent();
  check(line.includes(env('HISTORY_LINE')) && line.includes(env('HISTORY_DIALLED')), `line shown: ${line}`);
  check(caller === env('HISTORY_CALLER'), `caller shown: ${caller}`);
  await page.locator('#pop-history li').first().waitFor();
  check((await page.locator('#pop-history').textContent()).includes('記録はありません'), 'no earlier contacts yet');
  await stateIs('OnCall');
  check(await page.locator('#acw').isVisible(), 'the form shows with the pop');
  check(await page.getByLabel('相手先（番号・アドレス）').inputValue() === env('HISTORY_CALLER'), 'caller prefilled');
  check(await page.getByLabel('回線（着信番号）').inputValue() === env('HISTORY_DIALLED'), 'line prefilled');
  check((await page.getByLabel('通話ID').inputValue()).length > 0, 'call id prefilled');
  check(await page.getByLabel('オペレーター', { exact: true }).inputValue() === AGENT, 'operator prefilled');
  await hit.getByRole('button', { name: '記録に追加' }).click();
  check(await page.getByLabel('使用したFAQ-ID（カンマ区切り）').inputValue() === 'FAQ-0002', 'FAQ id added to the record');
  await page.screenshot({ path: join(ARTIFACTS, 'pop.png'), fullPage: true });

  // After-call work: the call ends, the form is saved, the operator ends the work.
  await stateIs('WrapUp', 45000);
  check((await page.locator('#state-now').textContent()) === '後処理中', 'wrap-up label');
  await page.getByLabel('分類').selectOption('税金');
  await page.getByLabel('内容', { exact: true }).fill('固定資産税の口座振替について案内');
  await page.getByRole('button', { name: '保存' }).click();
  await page.locator('#saved').waitFor();
  await stateIs('WrapUp');
  await page.getByRole('button', { name: '後処理終了' }).click();
  await stateIs('Available');
  // Pause with a reason, then back.
  await page.getByLabel('休憩の理由').selectOption('研修');
  await page.getByRole('button', { name: '休憩', exact: true }).click();
  await stateIs('Paused');
  check((await page.locator('#state-reason').textContent()).includes('研修'), 'pause reason shown');
  await page.screenshot({ path: join(ARTIFACTS, 'paused.png'), fullPage: true });
  await page.getByRole('button', { name: '休憩終了' }).click();
  await stateIs('Available');

  // Found by a search of several conditions, Japanese free text among them.
  await page.goto(`${BASE}/desk`);
  await page.getByLabel('相手先（番号・アドレス）').fill(env('HISTORY_CALLER'));
  await page.getByLabel('キーワード').fill('口座振替');
  await page.getByRole('button', { name: '検索' }).click();
  await page.locator('#count').waitFor();
  check((await page.locator('#count').textContent()).trim() === '1件', 'one record found');
  check((await page.locator('#results tbody').textContent()).includes('固定資産税の口座振替'), 'the saved record');
  await page.screenshot({ path: join(ARTIFACTS, 'search.png'), fullPage: true });
  console.log('OK');
} catch (e) {
  await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
