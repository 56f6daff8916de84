// Passkey ceremonies (R16) for the pages; our own code, no CDN (CSP: script-src 'self').
// The server keeps each ceremony's state; this script only carries the options to
// navigator.credentials and the answer back, with binary members as base64url.
//
// Markup it acts on:
// - <form data-passkey-register>: a name field; adds a passkey, then reloads /security.
// - <form data-passkey-purpose="deletion|withdrawal|unbind">: before it is sent, asks
//   the passkey for that action and fills its hidden passkey_ceremony and
//   passkey_credential fields.
// - <form data-passkey-login> (hidden fields ceremony, credential): the login page's
//   "Sign in with a passkey" button, with conditional mediation (autofill) where the
//   browser can (not with data-passkey-no-autofill); data-passkey-options on the form
//   carries a second step's challenge.
// - <div data-passkey-forget="credential id ..." data-rp-id="...">: the Deleted page
//   tells the browser these credentials are gone (WebAuthn Signal API).
(function () {
  'use strict';

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) { b64 += '='; }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = '';
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function decodeIds(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = toBytes(c.id);
      return copy;
    });
  }

  function creationOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = toBytes(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: toBytes(pk.user.id) });
    pk.excludeCredentials = decodeIds(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function requestOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = toBytes(pk.challenge);
    pk.allowCredentials = decodeIds(pk.allowCredentials);
    return { publicKey: pk };
  }

  function credentialJson(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) { response.transports = r.getTransports(); }
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) { response.userHandle = toB64url(r.userHandle); }
    }
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: response,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (!res.ok) {
          var msg = (json.error && json.error.message) || 'The passkey request failed.';
          throw new Error(msg);
        }
        return json;
      });
    });
  }

  function say(form, text) {
    var out = form.querySelector('[data-passkey-status]');
    if (out) { out.textContent = text; out.hidden = !text; }
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  function register(form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (!supported()) { say(form, 'This browser cannot make passkeys.'); return; }
      var name = form.querySelector('[name=name]').value;
      say(form, '');
      post('/api/v1/me/passkeys/registration', { name: name })
        .then(function (begun) {
          return navigator.credentials.create(creationOptions(begun.options)).then(function (cred) {
            return post('/api/v1/me/passkeys', { ceremony: begun.ceremony, credential: credentialJson(cred) });
          });
        })
        .then(function () { window.location.assign('/security?notice=passkey_added#passkeys-heading'); })
        .catch(function (err) { say(form, err.message || 'The passkey was not added.'); });
    });
  }

  function confirmFor(form) {
    var purpose = form.getAttribute('data-passkey-purpose');
    var done = false;
    form.addEventListener('submit', function (event) {
      if (done) { return; }
      event.preventDefault();
      if (!supported()) { say(form, 'This browser cannot use passkeys.'); return; }
      say(form, '');
      post('/api/v1/me/passkeys/challenge', { purpose: purpose })
        .then(function (begun) {
          return navigator.credentials.get(requestOptions(begun.options)).then(function (cred) {
            form.querySelector('[name=passkey_ceremony]').value = begun.ceremony;
            form.querySelector('[name=passkey_credential]').value = JSON.stringify(credentialJson(cred));
            done = true;
            form.submit();
          });
        })
        .catch(function (err) { say(form, err.message || 'The passkey did not confirm.'); });
    });
  }

  function finishLogin(form, ceremony, cred) {
    form.querySelector('[name=ceremony]').value = ceremony;
    form.querySelector('[name=credential]').value = JSON.stringify(credentialJson(cred));
    form.submit();
  }

  function login(form) {
    if (!supported()) { form.hidden = true; return; }
    var step = form.getAttribute('data-passkey-options');
    var pending = null;
    function discoverable(mediation) {
      if (pending) { pending.abort(); }
      pending = new AbortController();
      var signal = pending.signal;
      return post('/api/v1/login/passkey/options', {}).then(function (begun) {
        var options = requestOptions(begun.options);
        if (mediation) { options.mediation = mediation; } else { delete options.mediation; delete options.publicKey.mediation; }
        options.signal = signal;
        return navigator.credentials.get(options).then(function (cred) {
          if (cred) { finishLogin(form, begun.ceremony, cred); }
        });
      });
    }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      say(form, '');
      var run;
      if (step) {
        var begun = JSON.parse(step);
        run = navigator.credentials.get(requestOptions(begun.options)).then(function (cred) {
          finishLogin(form, begun.ceremony, cred);
        });
      } else {
        run = discoverable(null);
      }
      run.catch(function (err) {
        if (err && err.name === 'AbortError') { return; }
        say(form, (err && err.message) || 'The passkey did not sign you in.');
      });
    });
    // Autofill: the email field offers this site's passkeys where the browser can (not
    // on a page that shows a refusal: the person chooses again with the button).
    var autofill = !step && !form.hasAttribute('data-passkey-no-autofill');
    if (autofill && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) { discoverable('conditional').catch(function () {}); }
      });
    }
  }

  // The Deleted page: the account's passkeys are gone; browsers that support the
  // Signal API drop them from their list.
  function forget(el) {
    var rpId = el.getAttribute('data-rp-id');
    var ids = (el.getAttribute('data-passkey-forget') || '').split(' ').filter(Boolean);
    if (!window.PublicKeyCredential || !PublicKeyCredential.signalUnknownCredential) { return; }
    ids.forEach(function (id) {
      PublicKeyCredential.signalUnknownCredential({ rpId: rpId, credentialId: id }).catch(function () {});
    });
    el.setAttribute('data-signalled', String(ids.length));
  }

  function init() {
    var i;
    var nodes = document.querySelectorAll('form[data-passkey-register]');
    for (i = 0; i < nodes.length; i++) { register(nodes[i]); }
    nodes = document.querySelectorAll('form[data-passkey-purpose]');
    for (i = 0; i < nodes.length; i++) { confirmFor(nodes[i]); }
    nodes = document.querySelectorAll('form[data-passkey-login]');
    for (i = 0; i < nodes.length; i++) { login(nodes[i]); }
    nodes = document.querySelectorAll('[data-passkey-forget]');
    for (i = 0; i < nodes.length; i++) { forget(nodes[i]); }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
