// Passkeys in Chromium (R16) with the DevTools WebAuthn virtual authenticator (user
// verification on): add a passkey on the Security page, sign out, sign in with it alone,
// delete the account with it as a factor, and see that it is unknown afterwards.
// WebAuthn needs a domain, not an IP address: the test runs on localhost, the dev
// relying party of the server's listen port.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const {
  BASE, SHOTS_DIR, PASSWORD, launchBrowser, uniqueEmail, codeCount, newestCode, withPage,
} = require('./helpers');

const LOCAL = BASE.replace('://127.0.0.1', '://localhost');
const TIMEOUT = 240_000;

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function virtualAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

test('a passkey is added, signs in alone, confirms the deletion, and is unknown afterwards', { timeout: TIMEOUT }, async () => {
  await withPage(browser, 'passkey', {}, async (page) => {
    const shot = (name) => page.screenshot({ path: path.join(SHOTS_DIR, `passkey-${name}.png`), fullPage: true });
    const { cdp, authenticatorId } = await virtualAuthenticator(page);
    const email = uniqueEmail('passkey');

    // Sign up (on localhost) and add a passkey on the Security page.
    await page.goto(`${LOCAL}/signup`);
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${LOCAL}/security`);
    await page.fill('#passkey-name', 'Laptop');
    await shot('01-security-add');
    await page.getByRole('button', { name: 'Add a passkey', exact: true }).click();
    await page.waitForURL(/\/security\?notice=passkey_added/);
    const list = page.locator('#passkey-list');
    assert.match(await list.innerText(), /Laptop[\s\S]*not used yet/);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the virtual authenticator holds the passkey');
    const stored = credentials[0];
    assert.equal(credentials[0].isResidentCredential, true, 'discoverable: it signs in without a name');
    await shot('02-security-added');

    // Sign out, then sign in with the passkey alone: the login page's autofill
    // (conditional mediation) offers it, and the virtual authenticator, holding one
    // passkey, takes it at once.
    await page.locator('summary[aria-label="Account menu"]').click();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${LOCAL}/`);
    await page.goto(`${LOCAL}/login`);
    await page.waitForURL(`${LOCAL}/security`);
    assert.match(await page.locator('#passkey-list').innerText(), /Laptop[\s\S]*last used/);

    // Delete the account, the passkey confirming the verification step.
    await page.goto(`${LOCAL}/security/delete`);
    await page.getByRole('button', { name: 'Start deletion' }).click();
    await page.waitForURL(/\/deletion\/[^/?#]+$/);
    await page.locator('#captcha-status', { hasText: 'Check complete' }).waitFor({ timeout: 60_000 });
    await page.check('#acknowledged');
    await page.getByRole('button', { name: 'Confirmation' }).click();
    await page.getByRole('heading', { level: 1, name: 'Confirm with your verification codes' }).waitFor();
    assert.match(await page.locator('.lead').first().innerText(), /your passkey/);
    const before = await codeCount(email);
    await page.locator('form[action$="/codes"]').getByRole('button', { name: /Get code/ }).click();
    await page.locator('[role=status]', { hasText: 'We emailed you a deletion code' }).waitFor();
    await page.fill('#email-code', await newestCode(email, before));
    await shot('04-verification');
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Confirm your identity' }).waitFor();
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Delete my account permanently', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Deleted' }).waitFor();
    const gone = page.locator('[data-passkey-forget]');
    assert.match(await gone.innerText(), /Remove your passkey from your device/);
    assert.ok((await gone.getAttribute('data-passkey-forget')).length > 10, 'the page names the erased credential');
    await shot('05-deleted');

    // Where the browser supports the Signal API the page told it the passkey is gone;
    // either way, a copy still on a device (put back here if the browser dropped it, as
    // another synced device would keep it) no longer signs anyone in.
    const left = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    const signalled = await page.evaluate(() => typeof PublicKeyCredential.signalUnknownCredential === 'function');
    if (signalled) {
      assert.equal(await gone.getAttribute('data-signalled'), '1', 'the page signalled the erased credential');
    }
    if (left.length === 0) {
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: stored });
    }
    await page.goto(`${LOCAL}/login`);
    await page.locator('#login-error', { hasText: 'This passkey is not registered here' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/login/passkey');
    await shot('06-login-unknown');
    await Promise.all([
      page.waitForEvent('framenavigated'),
      page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click(),
    ]);
    await page.locator('#login-error', { hasText: 'This passkey is not registered here' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/login/passkey');
  });
});
