// Proof-of-work browser check for the deletion notes step (R3).
// The work runs in a worker from this site; nothing is sent anywhere else.
(function () {
  'use strict';

  var TIMEOUT_MS = 60000;
  var MSG_DONE = 'Check complete. You can continue.';
  var MSG_FAILED = 'The check did not finish. Reload the page to try again.';

  function start(box) {
    var form = box.closest ? box.closest('form') : null;
    var scope = form || box;
    var status = box.querySelector('[data-captcha-status]');
    var input = scope.querySelector('input[name="captcha"]');
    var buttons = scope.querySelectorAll('[data-needs-captcha]');
    var worker = null;
    var timer = null;
    var finished = false;

    function setStatus(text) {
      if (status) {
        status.textContent = text;
      }
    }

    function stop() {
      finished = true;
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      if (worker) {
        try {
          worker.terminate();
        } catch (e) {
          // ignore
        }
        worker = null;
      }
    }

    function fail() {
      if (finished) {
        return;
      }
      stop();
      box.classList.add('captcha-failed');
      setStatus(MSG_FAILED);
    }

    var data;
    try {
      data = JSON.parse(box.getAttribute('data-captcha') || '');
    } catch (e) {
      fail();
      return;
    }
    if (!data || typeof data !== 'object' ||
        typeof data.algorithm !== 'string' ||
        typeof data.challenge !== 'string' ||
        typeof data.salt !== 'string' ||
        typeof data.signature !== 'string' ||
        !isFinite(Number(data.maxnumber)) || Number(data.maxnumber) < 0) {
      fail();
      return;
    }
    if (!input || typeof window.Worker !== 'function') {
      fail();
      return;
    }

    try {
      worker = new Worker('/static/captcha-worker.js');
    } catch (e) {
      fail();
      return;
    }

    worker.onmessage = function (event) {
      if (finished) {
        return;
      }
      var result = event.data;
      if (!result || typeof result.number !== 'number' || !isFinite(result.number)) {
        fail();
        return;
      }
      var payload;
      try {
        payload = window.btoa(JSON.stringify({
          algorithm: data.algorithm,
          challenge: data.challenge,
          number: result.number,
          salt: data.salt,
          signature: data.signature
        }));
      } catch (e) {
        fail();
        return;
      }
      stop();
      input.value = payload;
      for (var i = 0; i < buttons.length; i++) {
        buttons[i].disabled = false;
        buttons[i].removeAttribute('aria-disabled');
      }
      box.classList.add('captcha-done');
      setStatus(MSG_DONE);
    };
    worker.onerror = fail;
    worker.onmessageerror = fail;

    timer = setTimeout(fail, TIMEOUT_MS);

    try {
      worker.postMessage({
        algorithm: data.algorithm,
        challenge: data.challenge,
        salt: data.salt,
        maxnumber: Number(data.maxnumber)
      });
    } catch (e) {
      fail();
    }
  }

  function init() {
    var boxes = document.querySelectorAll('[data-captcha]');
    for (var i = 0; i < boxes.length; i++) {
      start(boxes[i]);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
