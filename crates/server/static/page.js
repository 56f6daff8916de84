// What every page enhances in the browser; each page works without it.
// - <time datetime="…" data-local>2026-03-01 09:00 UTC</time>: adds the reader's local time.
// - [data-idle-seconds="900"] with a hidden [data-idle-warning] inside: shows the warning
//   two minutes before a deletion closes for inactivity (R2).
// - <button data-max-for="amount-input-id" hidden> beside a <select> whose options carry
//   data-max: fills in the whole balance of the chosen asset.
(function () {
  'use strict';

  var WARN_BEFORE_SECONDS = 120;

  function localTimes() {
    var times = document.querySelectorAll('time[data-local]');
    if (!times.length || typeof Intl === 'undefined') {
      return;
    }
    var format = new Intl.DateTimeFormat(undefined, {
      year: 'numeric', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', timeZoneName: 'short'
    });
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone === 'UTC' || zone === 'Etc/UTC') {
      return;
    }
    for (var i = 0; i < times.length; i++) {
      var at = new Date(times[i].getAttribute('datetime'));
      if (isNaN(at.getTime())) {
        continue;
      }
      var local = document.createElement('span');
      local.className = 'local-time';
      local.textContent = ' (' + format.format(at) + ' your time)';
      times[i].insertAdjacentElement('afterend', local);
    }
  }

  function idleWarning() {
    var holder = document.querySelector('[data-idle-seconds]');
    if (!holder) {
      return;
    }
    var warning = holder.querySelector('[data-idle-warning]');
    var seconds = parseInt(holder.getAttribute('data-idle-seconds'), 10);
    if (!warning || !isFinite(seconds)) {
      return;
    }
    var showIn = Math.max(0, seconds - WARN_BEFORE_SECONDS) * 1000;
    setTimeout(function () {
      // The role comes with the warning, so a screen reader announces it then.
      warning.setAttribute('role', 'alert');
      warning.hidden = false;
    }, showIn);
  }

  function maxButtons() {
    var buttons = document.querySelectorAll('button[data-max-for]');
    for (var i = 0; i < buttons.length; i++) {
      (function (button) {
        var input = document.getElementById(button.getAttribute('data-max-for'));
        var select = document.getElementById(button.getAttribute('data-max-asset'));
        if (!input || !select) {
          return;
        }
        button.hidden = false;
        button.addEventListener('click', function () {
          var option = select.options[select.selectedIndex];
          var max = option && option.getAttribute('data-max');
          if (max) {
            input.value = max;
            input.focus();
          }
        });
      })(buttons[i]);
    }
  }

  function init() {
    localTimes();
    idleWarning();
    maxButtons();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
