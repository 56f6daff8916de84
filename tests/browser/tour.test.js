// The README tour, walked literally (issue 15): `offboard demo` on the server's own
// database, sign in with its password and a code from `offboard demo-code`, withdraw
// every balance (dev mode settles each by itself), delete the account, then `demo` again
// says "created again" and the demo signs in anew. No phone, no admin API.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { BASE, launchBrowser, codeCount, newestCode, meApi, withPage, sleep } = require('./helpers');

const TIMEOUT = 300_000;
// Addresses from the README tour.
const ADDRESSES = {
  BTC: 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh',
  USDT: '0x52908400098527886E0F7030069857D2E4169EE7',
};

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// The CLI against the server's database, from the server's folder (the README's rule).
function cli(args) {
  const bin = process.env.OFFBOARD_BIN;
  const cwd = process.env.OFFBOARD_WORKDIR;
  assert.ok(bin && cwd, 'OFFBOARD_BIN and OFFBOARD_WORKDIR come from scripts/browser-tests');
  // The same settings as the server: its folder and its listen address.
  const env = { ...process.env, OFFBOARD_LOG: 'warn', OFFBOARD_LISTEN: new URL(BASE).host };
  return execFileSync(bin, args, { cwd, env }).toString();
}

function demo() {
  return JSON.parse(cli(['demo', '--json']));
}

// `demo-code` prints the current code; a code is accepted once, so a second use in the
// same 30-second step waits for the next one, as the README says.
let lastCode = '';
async function demoCode() {
  for (;;) {
    const code = cli(['demo-code']).trim();
    assert.match(code, /^\d{6}$/);
    if (code !== lastCode) {
      lastCode = code;
      return code;
    }
    await sleep(1_000);
  }
}

async function signIn(page, login) {
  await page.goto(login.login);
  await page.fill('#email', login.email);
  await page.fill('#password', login.password);
  await page.fill('#totp_code', await demoCode());
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

async function withdrawAll(page, email, asset) {
  await page.goto(`${BASE}/assets?asset=${asset}#withdraw`);
  // A new email code may be asked for once a minute: the button counts down, then works.
  const getCode = page.getByRole('button', { name: /Email.*Get code$/ });
  await getCode.waitFor({ timeout: 70_000 });
  const before = await codeCount(email);
  await getCode.click();
  await page.locator('.code-feedback [role="status"]').waitFor();
  const code = await newestCode(email, before);
  assert.equal(await page.locator('#withdraw-asset').inputValue(), asset);
  await page.getByRole('button', { name: 'Max', exact: true }).click();
  await page.fill('#withdraw-address', ADDRESSES[asset]);
  await page.fill('#withdraw-email-code', code);
  await page.fill('#withdraw-totp-code', await demoCode());
  await page.locator('form[action^="/assets/withdraw"]').getByRole('button', { name: 'Withdraw', exact: true }).click();
  await page.waitForURL(/notice=withdrawal_requested/);
}

test('the README tour twice on one database, without a phone or the admin API', { timeout: TIMEOUT }, async () => {
  const first = demo();
  assert.ok(['created', 'reused'].includes(first.status), JSON.stringify(first));
  assert.equal(first.login, `${BASE}/login`, 'demo prints where to sign in');

  await withPage(browser, 'tour', {}, async (page) => {
    await signIn(page, first);
    const holdings = await meApi(page, '/api/v1/me/assets');
    const assets = holdings.balances.filter((b) => Number(b.amount) > 0).map((b) => b.asset);
    assert.deepEqual(assets.sort(), ['BTC', 'USDT'], JSON.stringify(holdings));
    for (const asset of assets) {
      await withdrawAll(page, first.email, asset);
    }

    // Dev mode settles each pending withdrawal by itself, about 15 s later.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = await meApi(page, '/api/v1/me/assets');
      if (now.pending.length === 0) break;
      assert.ok(Date.now() < deadline, `still pending after 60 s: ${JSON.stringify(now.pending)}`);
      await sleep(1_000);
    }

    // Delete: notes, assets (nothing left), codes, the ID number.
    await page.goto(`${BASE}/security/delete`);
    await page.getByRole('button', { name: 'Start deletion' }).click();
    await page.waitForURL(/\/deletion\/[^/?#]+$/);
    await page.locator('#captcha-status', { hasText: 'Check complete' }).waitFor({ timeout: 60_000 });
    await page.check('#acknowledged');
    await page.getByRole('button', { name: 'Confirmation' }).click();
    const next = page.getByRole('button', { name: 'Next Step' });
    const verifyHeading = page.getByRole('heading', { level: 1, name: 'Confirm with your verification codes' });
    await Promise.race([next.waitFor(), verifyHeading.waitFor()]);
    if (await next.isVisible()) await next.click();
    await verifyHeading.waitFor();
    const before = await codeCount(first.email);
    await page.locator('form[action$="/codes"]').getByRole('button', { name: /Get code/ }).click();
    await page.locator('[role=status]', { hasText: 'We emailed you a deletion code' }).waitFor();
    await page.fill('#email-code', await newestCode(first.email, before));
    await page.fill('#totp-code', await demoCode());
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Confirm your identity' }).waitFor();
    await page.fill('#id-number', first.id_number);
    await page.getByRole('button', { name: 'Delete my account permanently', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Deleted' }).waitFor();
  });

  // Again: the demo comes back, and signs in.
  const second = demo();
  assert.equal(second.status, 'created_again', JSON.stringify(second));
  assert.notEqual(second.account_id, first.account_id);
  await withPage(browser, 'tour-again', {}, async (page) => {
    await signIn(page, second);
    const me = await meApi(page, '/api/v1/me');
    assert.equal(me.account_id, second.account_id);
  });
});
