// Browser test of the operators' desk screen pop in headless Debian Chromium, driven by
// playwright-core. The operator logs in, opens the phone desk and waits; the Rust side
// (tests/history_browser.rs) places a real call when this script prints READY. The pop
// must show the dialled line and the caller; the record is saved from it and found by
// a search. Screenshots go to $HISTORY_ARTIFACTS.
//   HISTORY_URL, HISTORY_USER, HISTORY_PASSWORD, HISTORY_AGENT, HISTORY_ARTIFACTS,
//   HISTORY_LINE (expected line name), HISTORY_DIALLED, HISTORY_CALLER
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k) => { const v = process.env[k]; if (!v) { throw new Error(`missing env ${k}`); } return v; };
const BASE = env('HISTORY_URL');
const ARTIFACTS = env('HISTORY_ARTIFACTS');
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
try {
  await page.goto(`${BASE}/desk/login`);
  await page.getByLabel('ログインID').fill(env('HISTORY_USER'));
  await page.getByLabel('パスワード').fill(env('HISTORY_PASSWORD'));
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.goto(`${BASE}/desk/phone?agent=${encodeURIComponent(env('HISTORY_AGENT'))}`);
  await page.locator('#pop[data-connected="1"]').waitFor({ state: 'attached' });
  check(await page.locator('#pop').isHidden(), 'no pop before a call');
  console.log('READY');

  // The real call: the pop appears with the line and the caller.
  await page.locator('#pop').waitFor({ state: 'visible', timeout: 45000 });
  const line = await page.locator('#pop-line').textContent();
  const caller = await page.locator('#pop-caller').textContent();
  check(line.includes(env('HISTORY_LINE')) && line.includes(env('HISTORY_DIALLED')), `line shown: ${line}`);
  check(caller === env('HISTORY_CALLER'), `caller shown: ${caller}`);
  await page.locator('#pop-history li').first().waitFor();
  check((await page.locator('#pop-history').textContent()).includes('記録はありません'), 'no earlier contacts yet');
  await page.screenshot({ path: join(ARTIFACTS, 'pop.png'), fullPage: true });

  // After-call work: the record form comes prefilled from the pop.
  await page.locator('#pop-new').click();
  check(await page.getByLabel('相手先（番号・アドレス）').inputValue() === env('HISTORY_CALLER'), 'caller prefilled');
  check(await page.getByLabel('回線（着信番号）').inputValue() === env('HISTORY_DIALLED'), 'line prefilled');
  check((await page.getByLabel('通話ID').inputValue()).length > 0, 'call id prefilled');
  await page.getByLabel('分類').selectOption('税金');
  await page.getByLabel('内容', { exact: true }).fill('固定資産税の口座振替について案内');
  await page.getByRole('button', { name: '保存' }).click();
  await page.locator('#saved').waitFor();

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
