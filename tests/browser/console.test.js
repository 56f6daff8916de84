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
  outbox, sleep,
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

// Issue 15: "contact support" leads somewhere. From a help page the person opens the
// contact form with the topic chosen, a refused message keeps its text and marks the
// field, the request lands in the console's queue, and the agent's answer arrives by
// email and shows on the person's page.
test('a help page leads to the contact form, and an agent answers by email', { timeout: TIMEOUT }, async () => {
  const agent = addAgent('agent');
  const authenticator = new Authenticator(agent.totp_secret);
  const customer = uniqueEmail('contact');
  const message = `My passport was renewed and has a new number (${customer}).`;
  const found = [];

  await withPage(browser, 'contact-customer', { bypassCSP: true }, async (page) => {
    await signUp(page, customer);
    await page.goto(`${BASE}/help/document-changed`);
    await page.locator('section[aria-labelledby="contact-heading"]').getByRole('link', { name: 'Contact support' }).click();
    await page.waitForURL(`${BASE}/support/contact?topic=document_changed`);
    assert.equal(await page.locator('#contact-topic').inputValue(), 'document_changed');
    found.push(...(await axeViolations(page, 'contact form')));

    // Too long: refused on its field, the text kept.
    await page.locator('#contact-message').evaluate((el, text) => {
      el.removeAttribute('maxlength');
      el.value = text;
    }, 'x'.repeat(2001));
    await page.getByRole('button', { name: 'Send to support' }).click();
    await page.locator('#contact-message-error').waitFor();
    assert.equal(await page.locator('#contact-message').getAttribute('aria-invalid'), 'true');
    assert.equal((await page.locator('#contact-message').inputValue()).length, 2001);

    await page.fill('#contact-message', message);
    await page.getByRole('button', { name: 'Send to support' }).click();
    await page.waitForURL(/\/support\/contact\?notice=sent/);
    const mine = page.locator('#your-requests article.request');
    assert.match(await mine.first().innerText(), /Waiting for support/);
    found.push(...(await axeViolations(page, 'contact requests')));
  });

  await withPage(browser, 'contact-console', { bypassCSP: true }, async (page) => {
    await page.goto(`${BASE}/support/login`);
    await page.fill('#agent-email', agent.email);
    await page.fill('#agent-password', agent.password);
    await page.fill('#agent-totp', await authenticator.code());
    await page.getByRole('button', { name: 'Sign in to the console' }).click();
    await page.waitForURL(`${BASE}/support`);
    await page.getByRole('link', { name: 'Contact requests' }).click();
    const request = page.locator('article', { hasText: message });
    await request.waitFor();
    found.push(...(await axeViolations(page, 'console contact requests')));
    await request.locator('textarea[name=answer]').fill('Thank you. We updated the document number on your account.');
    await request.getByRole('button', { name: 'Send answer by email' }).click();
    await page.locator('[role=status]').waitFor();
    assert.equal(await page.locator('article', { hasText: message }).count(), 0, 'answered requests leave the queue');
  });

  // The answer arrives by email.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const mails = await outbox(customer);
    if (mails.some((m) => /We updated the document number/.test(JSON.stringify(m)))) break;
    assert.ok(Date.now() < deadline, `no answer email for ${customer}`);
    await sleep(200);
  }

  const serious = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `axe-core: ${JSON.stringify(serious, null, 2)}`);
});
