// "Get code" buttons: wait until a new code may be requested (R5: 60 s).
// Markup: <button data-wait="42"><span data-wait-label>Get code</span></button>
(function () {
  'use strict';

  var TEXT = 'Get code';

  function start(button) {
    var seconds = parseInt(button.getAttribute('data-wait'), 10);
    if (!isFinite(seconds) || seconds <= 0) {
      return;
    }
    var label = button.querySelector('[data-wait-label]') || button;
    var end = Date.now() + seconds * 1000;

    button.disabled = true;

    function tick() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) {
        label.textContent = TEXT;
        button.disabled = false;
        button.setAttribute('data-wait', '0');
        return;
      }
      label.textContent = TEXT + ' again in ' + left + ' s';
      var delay = (end - Date.now()) % 1000;
      setTimeout(tick, delay > 0 ? delay : 1000);
    }

    tick();
  }

  function init() {
    var buttons = document.querySelectorAll('button[data-wait]');
    for (var i = 0; i < buttons.length; i++) {
      start(buttons[i]);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
