// "This wasn't me" in a real browser (R17, R21): a sign-in from a new device sends a
// security alert; its link (from the dev outbox) opens the freeze page, which freezes the
// account without signing in; the other browser's session is gone, and the support
// console shows the account frozen.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const {
  BASE, SHOTS_DIR, PASSWORD, launchBrowser, uniqueEmail, Authenticator, withPage, signUp,
  axeViolations, outbox, sleep,
} = require('./helpers');

const TIMEOUT = 120_000;
let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

function addLead() {
  const bin = process.env.OFFBOARD_BIN;
  const cwd = process.env.OFFBOARD_WORKDIR;
  assert.ok(bin && cwd, 'OFFBOARD_BIN and OFFBOARD_WORKDIR come from scripts/browser-tests');
  const email = uniqueEmail('lead');
  const out = execFileSync(bin, ['support', 'add-agent', '--json', '--email', email, '--role', 'lead'], {
    cwd,
    env: { ...process.env, OFFBOARD_LOG: 'warn' },
  });
  return JSON.parse(out.toString().trim().split('\n').pop());
}

async function apiLogin(email, userAgent) {
  const res = await fetch(`${BASE}/api/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(res.status, 200, `login as ${userAgent}`);
}

// The freeze link of the newest security alert sent to `email`.
async function alertLink(email) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const alert = (await outbox(email)).find((m) => m.subject.startsWith('offboard security alert'));
    const match = alert && /\/freeze\/[0-9a-f-]+\/[A-Za-z0-9_-]+/.exec(alert.body);
    if (match) return match[0];
    assert.ok(Date.now() < deadline, `no security alert for ${email}`);
    await sleep(100);
  }
}

test('an alert link freezes the account, signs out the other browser, and the console shows it', { timeout: TIMEOUT }, async () => {
  const email = uniqueEmail('freeze');
  const found = [];
  await withPage(browser, 'freeze-owner', {}, async (owner) => {
    await signUp(owner, email);
    // The first sign-in from a device is known; a second device is news.
    await apiLogin(email, 'Known laptop/1.0');
    await apiLogin(email, 'Unknown phone/9.9');
    const link = await alertLink(email);

    await withPage(browser, 'freeze-link', { bypassCSP: true }, async (page) => {
      await page.goto(BASE + link);
      await page.getByRole('heading', { level: 1, name: 'Freeze your account' }).waitFor();
      found.push(...(await axeViolations(page, 'freeze confirmation')));
      await page.screenshot({ path: path.join(SHOTS_DIR, '40-freeze-confirm.png'), fullPage: true });
      await page.getByRole('button', { name: 'Freeze my account' }).click();
      await page.locator('#freeze-done').waitFor();
      assert.match(await page.locator('#freeze-done').innerText(), /the account is frozen/);
      found.push(...(await axeViolations(page, 'freeze done')));
      await page.screenshot({ path: path.join(SHOTS_DIR, '41-freeze-done.png'), fullPage: true });
      // The link works once.
      const again = await page.goto(BASE + link);
      assert.equal(again.status(), 409);
    });

    // The owner's other browser is signed out.
    await owner.goto(`${BASE}/security`);
    await owner.waitForURL(`${BASE}/login`);
    await owner.fill('#email', email);
    await owner.fill('#password', PASSWORD);
    await owner.getByRole('button', { name: 'Sign in', exact: true }).click();
    await owner.locator('#login-error').waitFor();
    assert.match(await owner.locator('#login-error').innerText(), /frozen/);
  });

  const lead = addLead();
  const authenticator = new Authenticator(lead.totp_secret);
  await withPage(browser, 'freeze-console', { bypassCSP: true }, async (page) => {
    await page.goto(`${BASE}/support/login`);
    await page.fill('#agent-email', lead.email);
    await page.fill('#agent-password', lead.password);
    await page.fill('#agent-totp', await authenticator.code());
    await page.getByRole('button', { name: 'Sign in to the console' }).click();
    await page.waitForURL(`${BASE}/support`);
    await page.fill('#search-email', email);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('a[href^="/support/accounts/"]').click();
    await page.locator('#frozen-state').waitFor();
    assert.match(await page.locator('#frozen-state').innerText(), /Frozen since/);
    found.push(...(await axeViolations(page, 'console frozen account')));
    await page.screenshot({ path: path.join(SHOTS_DIR, '42-console-frozen-account.png'), fullPage: true });
  });

  const serious = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `axe-core: ${JSON.stringify(serious, null, 2)}`);
});
