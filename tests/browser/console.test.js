// The support console in a real browser (R11): an agent created with the CLI logs in
// with a password and an authenticator code, finds a customer, and approves the
// customer's recovery request; axe-core checks every console page on the way.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const {
  BASE, SHOTS_DIR, launchBrowser, uniqueEmail, Authenticator, withPage, signUp, axeViolations,
} = require('./helpers');

const TIMEOUT = 120_000;
let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

// `offboard support add-agent` against the server's own database (scripts/browser-tests
// exports where the binary and the server's working directory are).
function addAgent(role) {
  const bin = process.env.OFFBOARD_BIN;
  const cwd = process.env.OFFBOARD_WORKDIR;
  assert.ok(bin && cwd, 'OFFBOARD_BIN and OFFBOARD_WORKDIR come from scripts/browser-tests');
  const email = uniqueEmail('agent');
  const out = execFileSync(bin, ['support', 'add-agent', '--json', '--email', email, '--role', role], {
    cwd,
    env: { ...process.env, OFFBOARD_LOG: 'warn' },
  });
  const printed = JSON.parse(out.toString().trim().split('\n').pop());
  assert.equal(printed.email, email);
  return printed;
}

test('an agent logs in with an authenticator, finds a customer and approves a recovery', { timeout: TIMEOUT }, async () => {
  const agent = addAgent('lead');
  const authenticator = new Authenticator(agent.totp_secret);
  const customer = uniqueEmail('customer');

  await withPage(browser, 'console-customer', {}, async (page) => {
    await signUp(page, customer);
  });
  await withPage(browser, 'console-recovery-request', {}, async (page) => {
    await page.goto(`${BASE}/recovery`);
    await page.fill('[name=email]', customer);
    await page.fill('[name=message]', 'My phone with the authenticator was stolen.');
    await page.locator('form[action="/recovery"] button[type=submit]').click();
    await page.locator('[role=status]').waitFor();
  });

  const found = [];
  await withPage(browser, 'console', { bypassCSP: true }, async (page) => {
    // Not logged in: the console sends the agent to its own login page.
    await page.goto(`${BASE}/support`);
    await page.waitForURL(`${BASE}/support/login`);
    found.push(...(await axeViolations(page, 'console login')));
    assert.equal(await page.locator('a[href="/signup"]').count(), 0, 'no customer links in the console');

    await page.fill('#agent-email', agent.email);
    await page.fill('#agent-password', agent.password);
    await page.fill('#agent-totp', await authenticator.code());
    await page.getByRole('button', { name: 'Sign in to the console' }).click();
    await page.waitForURL(`${BASE}/support`);
    await page.getByRole('heading', { level: 1, name: 'Find an account' }).waitFor();

    await page.fill('#search-email', customer);
    await page.getByRole('button', { name: 'Search' }).click();
    const link = page.locator('a[href^="/support/accounts/"]');
    await link.waitFor();
    found.push(...(await axeViolations(page, 'console search results')));
    await link.click();
    await page.getByRole('heading', { level: 1, name: /Account/ }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Audit log' }).waitFor();
    found.push(...(await axeViolations(page, 'console account')));

    await page.goto(`${BASE}/support/recovery`);
    const request = page.locator('article.request', { hasText: customer });
    await request.waitFor();
    assert.match(await request.innerText(), /No ID number was given/, 'the automatic hint says no ID number came with it');
    found.push(...(await axeViolations(page, 'console recovery queue')));
    // Issue 15: at the narrowest phone width the queue's cards fit (no sideways scroll).
    await page.setViewportSize({ width: 320, height: 800 });
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(widths[0] <= widths[1], `the recovery queue scrolls sideways at 320 px: ${widths}`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await request.locator('textarea[name=reason]').first().fill('Selfie with ID checked on a video call.');
    await request.getByRole('button', { name: 'Approve' }).click();
    const notice = page.locator('[role=status]', { hasText: 'Recovery approved' });
    await notice.waitFor();
    await page.screenshot({ path: path.join(SHOTS_DIR, '30-console-recovery-approved.png'), fullPage: true });

    await page.goto(`${BASE}/support/audit`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    assert.match(await page.locator('main').innerText(), /Selfie with ID checked/, 'the reason is in the audit log');
    found.push(...(await axeViolations(page, 'console audit')));

    await page.getByRole('button', { name: 'Sign out of the console' }).click();
    await page.waitForURL(/\/support\/login/);
    await page.goto(`${BASE}/support`);
    await page.waitForURL(`${BASE}/support/login`);
  });

  const serious = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `axe-core: ${JSON.stringify(serious, null, 2)}`);
});
