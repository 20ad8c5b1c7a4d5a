// Tessera's passkey script (WebAuthn Level 3). Served as
// /static/passkey-<hash>.js, and only on the pages that offer passkeys
// (their CSP says `script-src 'self'`); every page works without it for
// password users.
//
// The options (PublicKeyCredential*OptionsJSON, with a fresh single-use
// challenge) are in a form's `data-options` attribute (registration) or
// at its `data-options-url` (sign-in); the script asks the browser for a
// credential and posts the result (PublicKeyCredential.toJSON()) in the
// form's `credential` field. The server checks everything; this script
// only carries bytes.
"use strict";
(function () {
  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let bin = "";
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(json) {
    const o = JSON.parse(json);
    o.challenge = fromB64url(o.challenge);
    o.user.id = fromB64url(o.user.id);
    o.excludeCredentials = (o.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
    return o;
  }
  function requestOptions(json) {
    const o = JSON.parse(json);
    o.challenge = fromB64url(o.challenge);
    o.allowCredentials = (o.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
    return o;
  }
  // The credential as JSON (WebAuthn L3 §5.1.8 toJSON), by hand where the
  // browser has no toJSON.
  function asJson(credential) {
    if (typeof credential.toJSON === "function") return JSON.stringify(credential.toJSON());
    const r = credential.response;
    const response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) response.userHandle = toB64url(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: {},
    });
  }
  function say(form, text) {
    const out = form.querySelector("[data-passkey-status]");
    if (out) {
      out.textContent = text;
      out.hidden = false;
    }
  }
  function send(form, credential) {
    form.querySelector("input[name=credential]").value = asJson(credential);
    form.submit();
  }
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  // Registration: the account page's "Add a passkey" form.
  document.querySelectorAll("form[data-passkey=create]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      if (form.querySelector("input[name=credential]").value) return;
      event.preventDefault();
      navigator.credentials
        .create({ publicKey: creationOptions(form.dataset.options) })
        .then(function (credential) { send(form, credential); })
        .catch(function (e) { say(form, "No passkey was created (" + e.name + "). Try again."); });
    });
  });

  // Sign-in: a button, and, on the password form, conditional UI (the
  // browser offers passkeys in the username field's autofill). The
  // options come from the server (a fresh challenge for this sign-in);
  // a second-factor form shows only to a user who has a passkey.
  document.querySelectorAll("form[data-passkey=get]").forEach(function (form) {
    fetch(form.dataset.optionsUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("no passkey options");
        return r.text();
      })
      .then(function (json) {
        const options = requestOptions(json);
        if (form.dataset.secondFactor === "true" && options.allowCredentials.length === 0) return;
        form.hidden = false;
        let pending = null;
        function ask(mediation) {
          if (pending) pending.abort();
          pending = new AbortController();
          const request = { publicKey: requestOptions(json), signal: pending.signal };
          if (mediation) request.mediation = mediation;
          return navigator.credentials.get(request).then(function (credential) {
            if (credential) send(form, credential);
          });
        }
        form.addEventListener("submit", function (event) {
          if (form.querySelector("input[name=credential]").value) return;
          event.preventDefault();
          ask(null).catch(function (e) {
            if (e.name !== "AbortError") say(form, "The passkey did not work (" + e.name + "). Try again.");
          });
        });
        if (form.dataset.conditional === "true" && PublicKeyCredential.isConditionalMediationAvailable) {
          PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
            if (available) ask("conditional").catch(function () {});
          });
        }
      })
      .catch(function () {});
  });
})();
