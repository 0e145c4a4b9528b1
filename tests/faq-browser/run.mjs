// Browser test of the FAQ service in headless Debian Chromium, driven by playwright-core.
// Staff: log in, edit an entry, publish it. Citizen on a phone-sized screen: find it with
// suggestions and search, open it, rate it. Screenshots go to $FAQ_ARTIFACTS.
// Started by crates/faq/tests/browser.rs, which runs the service and passes:
//   FAQ_URL, FAQ_USER, FAQ_PASSWORD, FAQ_ARTIFACTS, FAQ_TODAY (YYYY-MM-DD, Japan time),
//   FAQ_PHONE and FAQ_HOURS (the call center's number and hours the service was configured with)
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k) => { const v = process.env[k]; if (!v) { throw new Error(`missing env ${k}`); } return v; };
const BASE = env('FAQ_URL');
const ARTIFACTS = env('FAQ_ARTIFACTS');
const TODAY = env('FAQ_TODAY');
const ENTRY = 'FAQ-0011';
const MARK = 'ブラウザ確認用';
const PHONE = env('FAQ_PHONE');
const HOURS = env('FAQ_HOURS');

// WCAG 2.x relative luminance and contrast ratio of two CSS rgb()/rgba() colours.
function contrast(a, b) {
  const lum = (css) => {
    const [r, g, bl] = css.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
      const c = v / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
mkdirSync(ARTIFACTS, { recursive: true });
// A failure screenshot from an earlier run must not be mistaken for this one's.
rmSync(join(ARTIFACTS, 'failure.png'), { force: true });

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function open(options) {
  const dir = mkdtempSync(join(tmpdir(), 'faq-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium', headless: true, args: ARGS,
    ignoreHTTPSErrors: true, locale: 'ja-JP', timezoneId: 'Asia/Tokyo', ...options,
  });
  ctx.setDefaultTimeout(20000);
  return { ctx, dir };
}

function check(cond, msg) { if (!cond) { throw new Error(`check failed: ${msg}`); } }
const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });

let staff, phone, current;
try {
  // --- Staff, desktop ---------------------------------------------------------------
  staff = await open({ viewport: { width: 1280, height: 900 } });
  let page = current = staff.ctx.pages()[0] ?? await staff.ctx.newPage();
  await page.goto(`${BASE}/admin/login`);
  await page.getByLabel('ログインID').fill(env('FAQ_USER'));
  await page.getByLabel('パスワード').fill(env('FAQ_PASSWORD'));
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.waitForURL(`${BASE}/admin`);
  check(await page.getByRole('heading', { name: 'FAQ一覧' }).isVisible(), 'FAQ list after login');
  await shot(page, '01-staff-list.png');

  await page.goto(`${BASE}/admin/faq/${ENTRY}/edit`);
  const q = page.getByLabel('質問');
  const newQuestion = `${(await q.inputValue()).replace(/（.*）$/, '')}（${MARK}）`;
  await q.fill(newQuestion);
  await page.getByLabel('公開開始日').fill(TODAY);
  await page.getByLabel('公開する').uncheck();
  await shot(page, '02-staff-edit.png');
  await page.getByRole('button', { name: '保存' }).click();
  await page.waitForURL(/saved=1/);
  check(await page.getByText('保存しました').isVisible(), 'saved notice');
  check((await page.locator('.badge').first().textContent()) === '非公開', 'saved as not public');

  await page.getByRole('button', { name: '公開する' }).click();
  await page.waitForURL(/saved=1/);
  check((await page.locator('.badge').first().textContent()) === '公開中', 'published');
  check(await page.getByRole('cell', { name: '公開' , exact: true }).first().isVisible(), 'history shows the publish');
  await shot(page, '03-staff-published.png');

  // --- Citizen, phone ---------------------------------------------------------------
  phone = await open({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  page = current = phone.ctx.pages()[0] ?? await phone.ctx.newPage();
  await page.goto(`${BASE}/`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `page wider than the phone screen by ${overflow}px`);
  const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]),textarea,select')]
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).length);
  check(unlabeled === 0, `${unlabeled} form fields without a label`);
  // Typed in hiragana; the question is in katakana. Suggestions appear while typing.
  const box = page.getByRole('combobox');
  await box.pressSequentially('ぶらうざ', { delay: 60 });
  const suggestion = page.locator('#suggest [role=option]').filter({ hasText: MARK });
  await suggestion.first().waitFor();
  await shot(page, '04-phone-suggestions.png');
  await box.press('Enter');
  await page.waitForURL(/\/search\?q=/);
  check(await page.getByRole('combobox').inputValue() === 'ぶらうざ', 'the results page keeps the query in the box');
  const link = page.locator(`a[href^="/faq/${ENTRY}?from="]`);
  check(await link.count() === 1, 'search result lists the published entry');
  // The footer: the configured hours and a number to call when the FAQ does not help.
  const tel = page.locator('footer a[href^="tel:"]');
  check((await tel.textContent()) === PHONE, `footer phone is the configured ${PHONE}`);
  check((await page.locator('footer').textContent()).includes(HOURS), 'footer shows the configured hours');
  // Keyboard focus is visible: the ring contrasts at least 3:1 with what surrounds it
  // (the outer dark ring on the white page; the inner white ring on the blue header).
  await page.keyboard.press('Tab');
  await page.getByRole('combobox').focus();
  const ring = await page.evaluate(() => {
    const cs = getComputedStyle(document.activeElement);
    const header = getComputedStyle(document.querySelector('header.site')).backgroundColor;
    return { outline: cs.outlineColor, style: cs.outlineStyle, width: parseFloat(cs.outlineWidth),
      shadow: cs.boxShadow, page: getComputedStyle(document.body).backgroundColor, header };
  });
  check(ring.style !== 'none' && ring.width >= 2, `focus outline drawn: ${JSON.stringify(ring)}`);
  check(contrast(ring.outline, ring.page) >= 3, `focus outline contrast on the page ${contrast(ring.outline, ring.page).toFixed(2)}`);
  const inner = ring.shadow.match(/rgba?\([^)]*\)/)[0];
  check(contrast(inner, ring.header) >= 3, `focus inner ring contrast on the header ${contrast(inner, ring.header).toFixed(2)}`);
  await shot(page, '05-phone-results.png');
  await link.tap();
  await page.waitForURL(new RegExp(`/faq/${ENTRY}\\?from=`));
  check((await page.getByRole('heading', { level: 1 }).textContent()).includes(MARK), 'entry page shows the edited question');
  const entryOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(entryOverflow <= 0, `entry page wider than the phone screen by ${entryOverflow}px`);

  await page.getByLabel('5', { exact: true }).check();
  await page.getByLabel(/ご意見/).fill('わかりやすかったです（ブラウザ試験）');
  await page.getByRole('button', { name: '送信する' }).tap();
  await page.waitForURL(/rated=1/);
  check(await page.getByText('ご回答ありがとうございました').isVisible(), 'rating thanks');
  await shot(page, '06-phone-rated.png');
  // A second rating from the same browser is not counted.
  await page.getByLabel('1', { exact: true }).check();
  await page.getByRole('button', { name: '送信する' }).tap();
  await page.waitForURL(/rated=again/);
  check(await page.getByText('すでにご回答いただいています').isVisible(), 'second rating refused politely');
  console.log('browser test passed; screenshots in', ARTIFACTS);
  process.exitCode = 0;
} catch (e) {
  console.error('browser test FAILED:', e && e.stack ? e.stack : e);
  if (current) { await current.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {}); }
  process.exitCode = 1;
} finally {
  for (const b of [staff, phone]) {
    if (b) { await b.ctx.close().catch(() => {}); rmSync(b.dir, { recursive: true, force: true }); }
  }
}
