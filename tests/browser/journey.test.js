// The browser end-to-end suite: a person's whole journey from sign-up to a deleted
// account, at desktop and phone width, with axe-core, keyboard-only forms, the no-JS view
// of the captcha, wrong-code help and the recovery form. Run by scripts/browser-tests,
// which starts the server (captcha always, admin API on) and sets OFFBOARD_URL,
// OFFBOARD_ADMIN_TOKEN and SHOTS_DIR.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const {
  BASE, SHOTS_DIR, PASSWORD, launchBrowser, uniqueEmail, Authenticator, codeCount, newestCode,
  admin, meApi, withPage, signUp, axeViolations,
} = require('./helpers');

const TIMEOUT = 120_000;
// The brief's 'K12-345 678', retyped as 'k12 345-678' at the end. A deleted account's ID
// number is blocked from re-registering for 30 days, so every journey on the same server
// needs its own number: same shape, random digits.
function idNumbers() {
  const digits = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');
  const [a, b, c] = [digits(2), digits(3), digits(3)];
  return { typed: `K${a}-${b} ${c}`, retyped: `k${a} ${b}-${c}` };
}
const BTC_ADDRESS = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function openAccountMenu(page, item) {
  await page.locator('summary[aria-label="Account menu"]').click();
  await page.locator('.avatar-menu .menu').getByRole('link', { name: item, exact: true }).click();
}

// The whole journey as a person. `visit(name)` is called on every page state, for a
// screenshot or an axe-core run.
async function journey(page, visit) {
  const email = uniqueEmail('journey');
  const id = idNumbers();

  // Sign up.
  await page.goto(`${BASE}/signup`);
  await visit('signup');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${BASE}/security`);
  await visit('security');

  // Bind the authenticator with the key shown beside the QR code.
  await page.getByRole('button', { name: 'Set up authenticator' }).click();
  await page.waitForURL(`${BASE}/security/totp`);
  await assert.doesNotReject(page.locator('img.qr-frame').waitFor({ state: 'visible' }));
  const secret = (await page.locator('code.code-key').innerText()).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{16,}$/, 'the key beside the QR code is base32');
  const authenticator = new Authenticator(secret);
  await visit('totp-setup');
  await page.fill('#code', await authenticator.code());
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.waitForURL(`${BASE}/security?notice=totp_bound`);
  await assert.doesNotReject(
    page.locator('#totp-heading + p .badge', { hasText: 'On' }).waitFor(),
    'the authenticator shows as On',
  );
  await visit('totp-on');

  // Identity verification through the avatar menu (dev mode approves at once).
  await openAccountMenu(page, 'Identity verification');
  await page.waitForURL(`${BASE}/identity`);
  await visit('identity');
  await page.selectOption('#document-type', 'passport');
  await page.fill('#document-number', id.typed);
  await page.fill('#country', 'GB');
  await page.fill('#expires-on', '2021-03-31');
  await page.getByRole('button', { name: 'Submit document' }).click();
  await page.locator('#record-heading').waitFor();
  assert.match(await page.locator('.identity-record').innerText(), /approved/i);
  await visit('identity-approved');

  // A deposit arrives (host/admin API).
  const me = await meApi(page, '/api/v1/me');
  assert.equal(me.email, email);
  await admin('POST', `/api/v1/admin/accounts/${me.account_id}/deposits`, { asset: 'BTC', amount: '0.1' });

  // Security → Delete → Start deletion.
  await openAccountMenu(page, 'Security');
  await page.waitForURL(`${BASE}/security`);
  await page.locator('.danger-zone').getByRole('link', { name: 'Delete', exact: true }).click();
  await page.waitForURL(`${BASE}/security/delete`);
  await visit('delete-overview');
  await page.getByRole('button', { name: 'Start deletion' }).click();
  await page.waitForURL(/\/deletion\/[^/?#]+$/);
  const flowUrl = page.url();

  // Notes: our script solves the captcha, then the box can be ticked.
  await page.locator('#captcha-status', { hasText: 'Check complete' }).waitFor({ timeout: 60_000 });
  await visit('notes');
  await page.check('#acknowledged');
  await page.getByRole('button', { name: 'Confirmation' }).click();

  // Assets step: the BTC balance is in the way.
  await page.getByRole('heading', { level: 1, name: 'Withdraw your assets first' }).waitFor();
  const blockers = page.locator('.blockers-table');
  assert.match(await blockers.innerText(), /Balance[\s\S]*0\.1\d*\s+BTC/);
  await visit('assets-step');
  await blockers.getByRole('link', { name: /^Withdraw/ }).click();
  // Issue 15: the blocker's asset is chosen already.
  await page.waitForURL(`${BASE}/assets?asset=BTC#withdraw`);
  assert.equal(await page.locator('#withdraw-asset').inputValue(), 'BTC');
  // The banner leads back into the deletion from every page.
  const banner = page.locator('.underway-banner');
  assert.equal(await banner.getByRole('link', { name: 'Continue account deletion' }).getAttribute('href'), new URL(flowUrl).pathname);
  await visit('assets');

  // Withdraw everything with an email code and an authenticator code.
  const before = await codeCount(email);
  await page.getByRole('button', { name: /Email.*Get code/ }).click();
  await page.waitForURL(/\/assets\?notice=code_sent_email&asset=BTC#withdraw$/);
  // The feedback sits beside the buttons; the email button waits out its cooldown.
  await page.locator('.code-feedback [role="status"]').waitFor();
  assert.ok(await page.getByRole('button', { name: /Email.*Get code again in/ }).isDisabled());
  const withdrawCode = await newestCode(email, before);
  assert.equal(await page.locator('#withdraw-asset').inputValue(), 'BTC');
  await page.getByRole('button', { name: 'Max', exact: true }).click();
  assert.equal(await page.locator('#withdraw-amount').inputValue(), '0.1');
  await page.fill('#withdraw-address', BTC_ADDRESS);
  await page.fill('#withdraw-email-code', withdrawCode);
  await page.fill('#withdraw-totp-code', await authenticator.code());
  await visit('withdraw-filled');
  await page.locator('form[action^="/assets/withdraw"]').getByRole('button', { name: 'Withdraw', exact: true }).click();
  await page.waitForURL(`${BASE}/assets?notice=withdrawal_requested#main`);
  await visit('withdraw-requested');

  // The platform sends it (host/admin API).
  const holdings = await meApi(page, '/api/v1/me/assets');
  const withdrawal = holdings.pending.find((p) => p.kind === 'withdrawal');
  assert.ok(withdrawal, `a pending withdrawal in ${JSON.stringify(holdings)}`);
  await admin('POST', `/api/v1/admin/withdrawals/${withdrawal.id}/complete`);

  // Back to the deletion through the banner: nothing left, Next Step.
  await page.locator('.underway-banner').getByRole('link', { name: 'Continue account deletion' }).click();
  await page.waitForURL(flowUrl);
  await page.getByRole('heading', { level: 1, name: 'Withdraw your assets first' }).waitFor();
  await visit('assets-step-clear');
  await page.getByRole('button', { name: 'Next Step' }).click();

  // Verification: email code and authenticator code.
  await page.getByRole('heading', { level: 1, name: 'Confirm with your verification codes' }).waitFor();
  await visit('verification');
  const beforeDeletionCode = await codeCount(email);
  await page.locator(`form[action$="/codes"]`).getByRole('button', { name: /Get code/ }).click();
  await page.locator('[role=status]', { hasText: 'We emailed you a deletion code' }).waitFor();
  const deletionCode = await newestCode(email, beforeDeletionCode);
  await page.fill('#email-code', deletionCode);
  await page.fill('#totp-code', await authenticator.code());
  await visit('verification-filled');
  await page.getByRole('button', { name: 'Confirm', exact: true }).click();

  // Identity: the ID number typed another way.
  await page.getByRole('heading', { level: 1, name: 'Confirm your identity' }).waitFor();
  await visit('identity-step');
  await page.fill('#id-number', id.retyped);
  await page.getByRole('button', { name: 'Delete my account permanently', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Deleted' }).waitFor();
  await visit('deleted');

  // The old email and password no longer sign in.
  await page.goto(`${BASE}/login`);
  await visit('login');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('#login-error[role=alert]').waitFor();
  assert.match(page.url(), /\/login/);
  await visit('login-error');
}

// Issue 15: no page scrolls sideways, down to the narrowest phones (320 px).
async function assertNoSidewaysScroll(page, step, width) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `${step} at ${width} px scrolls sideways: ${scroll} > ${client}`);
}

for (const width of [1280, 375, 320]) {
  const shots = width !== 320;
  test(`journey from sign-up to deleted at ${width} px${shots ? ', with screenshots' : ''}`, { timeout: TIMEOUT }, async () => {
    await withPage(browser, `journey-${width}`, { viewport: { width, height: 900 } }, async (page) => {
      let n = 0;
      await journey(page, async (step) => {
        n += 1;
        await assertNoSidewaysScroll(page, step, width);
        if (shots) {
          const file = path.join(SHOTS_DIR, `${String(n).padStart(2, '0')}-${step}-${width}.png`);
          await page.screenshot({ path: file, fullPage: true });
        }
      });
      assert.equal(n, 19, 'every step visited');
    });
  });
}

test('a wrong code shows an error with a help link', { timeout: TIMEOUT }, async () => {
  await withPage(browser, 'wrong-code', {}, async (page) => {
    const email = uniqueEmail('wrong-code');
    await signUp(page, email);

    const expectAlertWithHelp = async (where) => {
      const alert = page.locator('[role=alert]');
      await alert.waitFor();
      const help = alert.locator('a[href^="/help/"]');
      assert.equal(await help.count(), 1, `${where}: one /help/ link in the error box`);
      const href = await help.getAttribute('href');
      await help.click();
      await page.waitForURL(`${BASE}${href}`);
      const h1 = page.locator('h1');
      assert.equal(await h1.count(), 1, `${where}: the help page ${href} has an h1`);
      assert.notEqual((await h1.innerText()).trim(), '', `${where}: the h1 of ${href} has text`);
      assert.notEqual((await h1.innerText()).trim(), 'Page not found', `${where}: ${href} exists`);
    };

    // The authenticator setup.
    await page.getByRole('button', { name: 'Set up authenticator' }).click();
    await page.waitForURL(`${BASE}/security/totp`);
    await page.fill('#code', '000000');
    await page.getByRole('button', { name: 'Turn on' }).click();
    await expectAlertWithHelp('authenticator setup');

    // The deletion's verification step.
    await page.goto(`${BASE}/security/delete`);
    await page.getByRole('button', { name: 'Start deletion' }).click();
    await page.locator('#captcha-status', { hasText: 'Check complete' }).waitFor({ timeout: 60_000 });
    await page.check('#acknowledged');
    await page.getByRole('button', { name: 'Confirmation' }).click();
    const verifyHeading = page.getByRole('heading', { level: 1, name: 'Confirm with your verification codes' });
    const assetsHeading = page.getByRole('heading', { level: 1, name: 'Withdraw your assets first' });
    await verifyHeading.or(assetsHeading).waitFor();
    if (await assetsHeading.isVisible()) await page.getByRole('button', { name: 'Next Step' }).click();
    await verifyHeading.waitFor();
    const before = await codeCount(email);
    await page.locator(`form[action$="/codes"]`).getByRole('button', { name: /Get code/ }).click();
    await page.locator('[role=status]', { hasText: 'We emailed you a deletion code' }).waitFor();
    await newestCode(email, before);
    await page.fill('#email-code', '000000');
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await expectAlertWithHelp('deletion verification');
  });
});

test('without JavaScript the notes page explains the captcha', { timeout: TIMEOUT }, async () => {
  await withPage(browser, 'no-javascript', { javaScriptEnabled: false }, async (page) => {
    await signUp(page, uniqueEmail('nojs'));
    await page.goto(`${BASE}/security/delete`);
    await page.getByRole('button', { name: 'Start deletion' }).click();
    await page.waitForURL(/\/deletion\/[^/?#]+$/);
    await page.getByRole('heading', { level: 1, name: 'Before you delete your account' }).waitFor();

    const explanation = page.locator('.captcha .alert', { hasText: 'needs JavaScript' });
    assert.ok(await explanation.isVisible(), 'the <noscript> explanation is visible');
    const link = explanation.locator('a[href="/help/captcha"]');
    assert.ok(await link.isVisible(), 'it links /help/captcha');
    assert.ok(await page.getByRole('button', { name: 'Confirmation' }).isDisabled(), 'Confirmation stays disabled');

    await link.click();
    await page.waitForURL(`${BASE}/help/captcha`);
    assert.equal(await page.locator('h1').count(), 1);
  });
});

test('no serious or critical axe-core violation on any page of the journey', { timeout: TIMEOUT }, async (t) => {
  const found = [];
  // bypassCSP: the pages allow only their own scripts; axe-core comes from the test.
  await withPage(browser, 'axe', { bypassCSP: true }, async (page) => {
    await journey(page, async (name) => {
      found.push(...(await axeViolations(page, name)));
    });
  });
  for (const v of found.filter((x) => !['serious', 'critical'].includes(x.impact))) {
    t.diagnostic(`${v.impact}: ${v.id} on ${v.page}: ${v.targets.join(', ')}`);
  }
  const bad = found.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id} on ${v.page} (${v.url}): ${v.help} -> ${v.targets.join(', ')}`),
    [],
  );
});

test('sign-up and login forms work with the keyboard alone', { timeout: TIMEOUT }, async () => {
  const email = uniqueEmail('keyboard');

  // Tab until the field has focus, then check the next Tab goes to `next` (form order).
  const tabTo = async (page, selector, maxTabs = 15) => {
    for (let i = 0; i < maxTabs; i += 1) {
      if (await page.locator(selector).evaluate((el) => el === document.activeElement)) return;
      await page.keyboard.press('Tab');
    }
    assert.fail(`${selector} never got the focus after ${maxTabs} Tab presses`);
  };
  const fillByKeyboard = async (page) => {
    await tabTo(page, '#email');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    assert.ok(await page.locator('#password').evaluate((el) => el === document.activeElement),
      'Tab goes from the email field to the password field');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
  };

  await withPage(browser, 'keyboard-signup', {}, async (page) => {
    await page.goto(`${BASE}/signup`);
    await fillByKeyboard(page);
    await page.waitForURL(`${BASE}/security`);
    assert.match(await page.locator('.page-head').innerText(), new RegExp(email.replace(/[.+]/g, '\\$&')));
  });

  await withPage(browser, 'keyboard-login', {}, async (page) => {
    await page.goto(`${BASE}/login`);
    await fillByKeyboard(page);
    await page.waitForURL(`${BASE}/security`);
    assert.match(await page.locator('.page-head').innerText(), new RegExp(email.replace(/[.+]/g, '\\$&')));
  });
});

test('the recovery request form says the request was received', { timeout: TIMEOUT }, async () => {
  await withPage(browser, 'recovery', {}, async (page) => {
    const res = await page.goto(`${BASE}/recovery`);
    assert.equal(res.status(), 200, '/recovery answers');
    await page.fill('[name=email]', uniqueEmail('recovery'));
    await page.fill('[name=message]', 'I lost the phone with my authenticator app.');
    await page.fill('[name=id_number]', 'K12-345 678');
    await page.locator('form[action="/recovery"] button[type=submit]').click();
    const confirmation = page.locator('[role=status]');
    await confirmation.waitFor();
    assert.match(await confirmation.innerText(), /received/);
  });
});
