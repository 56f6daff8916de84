// ALTCHA-style proof of work: find n in 0..=maxnumber such that
// hex(hash(salt + n)) equals the challenge.
'use strict';

var BATCH = 500;
var ALGORITHMS = { 'SHA-1': true, 'SHA-256': true, 'SHA-512': true };

function toHex(buffer) {
  var bytes = new Uint8Array(buffer);
  var out = '';
  for (var i = 0; i < bytes.length; i++) {
    var h = bytes[i].toString(16);
    out += h.length === 1 ? '0' + h : h;
  }
  return out;
}

async function solve(task) {
  if (!self.crypto || !self.crypto.subtle || typeof TextEncoder !== 'function') {
    throw new Error('unsupported browser');
  }
  var algorithm = String(task.algorithm || 'SHA-256').toUpperCase();
  if (!ALGORITHMS[algorithm]) {
    throw new Error('unsupported algorithm');
  }
  var challenge = String(task.challenge || '').toLowerCase();
  var salt = String(task.salt || '');
  var max = Math.floor(Number(task.maxnumber));
  if (!challenge || !isFinite(max) || max < 0) {
    throw new Error('bad challenge');
  }
  var encoder = new TextEncoder();

  for (var start = 0; start <= max; start += BATCH) {
    var end = Math.min(start + BATCH - 1, max);
    var pending = [];
    for (var n = start; n <= end; n++) {
      pending.push(self.crypto.subtle.digest(algorithm, encoder.encode(salt + n)));
    }
    var digests = await Promise.all(pending);
    for (var i = 0; i < digests.length; i++) {
      if (toHex(digests[i]) === challenge) {
        return start + i;
      }
    }
  }
  return null;
}

self.onmessage = function (event) {
  var task = event.data || {};
  solve(task).then(function (number) {
    if (number === null) {
      self.postMessage({ error: 'not found' });
    } else {
      self.postMessage({ number: number });
    }
  }, function (err) {
    self.postMessage({ error: String((err && err.message) || err || 'failed') });
  });
};
