// Shared pieces of the browser suite: the browser, the server's URLs, a TOTP
// authenticator, the dev outbox, the admin API, screenshots and axe-core.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BASE = (process.env.OFFBOARD_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const ADMIN_TOKEN = process.env.OFFBOARD_ADMIN_TOKEN || '';
const SHOTS_DIR = process.env.SHOTS_DIR || path.join(__dirname, '..', '..', 'docs', 'screenshots');
const FAILURES_DIR = path.join(__dirname, 'test-results');
const PASSWORD = 'correct horse battery staple';

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
];

function launchBrowser() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

function uniqueEmail(prefix) {
  return `${prefix}-${Date.now()}-${crypto.randomBytes(3).toString('hex')}@example.com`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- TOTP (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits) -------------------------

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.replace(/[\s=-]/g, '').toUpperCase()) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not a base32 character: ${JSON.stringify(ch)}`);
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

function totp(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(number).padStart(6, '0');
}

const currentStep = () => Math.floor(Date.now() / 30_000);

// An authenticator app that never offers a step twice: the server refuses a step it has
// seen (and any older one) and accepts one step of skew either way, so after a use in the
// current step it offers the next step, and only waits when that one was used too.
class Authenticator {
  constructor(secret) {
    this.key = base32Decode(secret);
    this.lastStep = -Infinity;
  }

  async code() {
    let now = currentStep();
    const step = Math.max(now, this.lastStep + 1);
    while (step > now + 1) {
      await sleep((step - 1) * 30_000 - Date.now() + 50);
      now = currentStep();
    }
    this.lastStep = step;
    return totp(this.key, step);
  }
}

// --- the server's dev outbox and admin API ------------------------------------------

async function outbox(email) {
  const res = await fetch(`${BASE}/api/v1/dev/outbox?to=${encodeURIComponent(email)}`);
  if (!res.ok) throw new Error(`GET /api/v1/dev/outbox: ${res.status} ${await res.text()}`);
  return res.json();
}

// How many coded messages the address has now; pass it to newestCode after asking for a
// new code, so an older code is never taken for the new one.
async function codeCount(email) {
  return (await outbox(email)).filter((m) => m.code).length;
}

async function newestCode(email, countBefore, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const coded = (await outbox(email)).filter((m) => m.code);
    if (coded.length > countBefore) return coded[0].code; // newest first
    if (Date.now() > deadline) throw new Error(`no new code in the dev outbox for ${email} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function admin(method, apiPath, body) {
  if (!ADMIN_TOKEN) throw new Error('OFFBOARD_ADMIN_TOKEN is not set (run scripts/browser-tests)');
  const res = await fetch(BASE + apiPath, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${apiPath}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// The page's own session (cookies) for the user API.
async function meApi(page, apiPath) {
  const res = await page.request.get(BASE + apiPath);
  if (!res.ok()) throw new Error(`GET ${apiPath}: ${res.status()} ${await res.text()}`);
  return res.json();
}

// --- pages ---------------------------------------------------------------------------

// A fresh context and page for one test; on failure a screenshot of the page goes to
// test-results/ and the error names the page and its alerts.
async function withPage(browser, name, contextOptions, fn) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...contextOptions });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  try {
    await fn(page, context);
  } catch (err) {
    let where = '';
    try {
      fs.mkdirSync(FAILURES_DIR, { recursive: true });
      const file = path.join(FAILURES_DIR, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const alerts = await page.locator('[role=alert]').allInnerTexts();
      where = `\n  at page ${page.url()}${alerts.length ? `\n  alerts: ${alerts.join(' | ')}` : ''}\n  screenshot: ${file}`;
    } catch {
      // the page may be gone; the original error is what matters
    }
    err.message += where;
    throw err;
  } finally {
    await context.close();
  }
}

// Sign up through the form; ends on /security.
async function signUp(page, email, password = PASSWORD) {
  await page.goto(`${BASE}/signup`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${BASE}/security`);
}

// --- axe-core ------------------------------------------------------------------------

const AXE_PATH = require.resolve('axe-core');

// Runs axe-core on the page as it is; returns every violation with the page's name.
async function axeViolations(page, pageName) {
  await page.addScriptTag({ path: AXE_PATH });
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return results.map((v) => ({ page: pageName, url: page.url(), ...v }));
}

module.exports = {
  BASE, SHOTS_DIR, PASSWORD, launchBrowser, uniqueEmail, sleep,
  base32Decode, totp, Authenticator, outbox, codeCount, newestCode, admin, meApi,
  withPage, signUp, axeViolations,
};
