// The **Use passkey** button of the interaction page (WebAuthn L3 §5.1.4).
// One click: fetch the server's request options (the challenge stays on the server),
// call navigator.credentials.get(), put the credential JSON into the form and submit it
// natively, so the Provider's redirect is followed as for any other form. No inline
// script (CSP script-src 'self'); failures are announced in the form's aria-live region.
"use strict";

(function () {
  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "===".slice((b64.length + 3) % 4);
    const raw = atob(padded);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let raw = "";
    for (let i = 0; i < bytes.length; i += 1) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function requestOptions(json) {
    const options = Object.assign({}, json);
    options.challenge = fromB64url(json.challenge);
    options.allowCredentials = (json.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
    return options;
  }

  function credentialJSON(credential) {
    const r = credential.response;
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        authenticatorData: toB64url(r.authenticatorData),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  function setup(form) {
    const status = form.querySelector(".status");
    const button = form.querySelector("button[type=submit]");
    const field = form.querySelector("input[name=credential]");
    const csrf = form.querySelector("input[name=csrf]").value;

    // the page's words, in its language (data-* of the status line); English if absent
    function say(key, english) {
      return status.dataset[key] || english;
    }

    function fail(message) {
      status.textContent = message;
      status.classList.add("error");
      button.disabled = false;
      button.focus();
    }

    if (!window.PublicKeyCredential || !navigator.credentials) {
      fail(say("unsupported", "This browser cannot use passkeys. Please choose another way to sign in."));
      button.disabled = true;
      return;
    }

    form.addEventListener("submit", async function (event) {
      if (field.value) return; // the credential is attached: let the form go
      event.preventDefault();
      button.disabled = true;
      status.classList.remove("error");
      status.textContent = say("waiting", "Waiting for your passkey…");
      try {
        const response = await fetch(form.dataset.options, {
          method: "POST",
          credentials: "same-origin",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ csrf: csrf }),
        });
        if (!response.ok) throw new Error("options");
        const body = await response.json();
        const credential = await navigator.credentials.get({
          publicKey: requestOptions(body.publicKey),
        });
        if (!credential) throw new Error("no credential");
        field.value = JSON.stringify(credentialJSON(credential));
        status.textContent = say("checking", "Checking…");
        form.submit();
      } catch (err) {
        fail(say("failed", "We could not verify your passkey. Please try again."));
      }
    });
  }

  function start() {
    document.querySelectorAll("form[data-factor=webauthn][data-options]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
