// The test's own authenticator against RFC 6238's SHA-1 test vectors (6-digit tail).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { base32Decode, totp } = require('./helpers');

test('TOTP helper matches RFC 6238 (SHA-1) and RFC 4648 base32', () => {
  const key = base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  assert.equal(key.toString(), '12345678901234567890');
  assert.equal(base32Decode('mzxw 6ytb oi').toString(), 'foobar');
  const vectors = [[59, '287082'], [1111111109, '081804'], [1111111111, '050471'],
    [1234567890, '005924'], [2000000000, '279037'], [20000000000, '353130']];
  for (const [seconds, code] of vectors) {
    assert.equal(totp(key, Math.floor(seconds / 30)), code, `T=${seconds}`);
  }
});
