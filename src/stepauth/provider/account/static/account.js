// Passkey and security-key registration for /account (no inline script: CSP script-src 'self').
"use strict";
(function () {
  const section = document.getElementById("webauthn-add");
  if (!section) return;
  const status = document.getElementById("webauthn-status");
  const csrf = section.dataset.csrf;
  // ?return_to=<client id> (the way back to the app) survives the step-up and the reload.
  const returnTo = new URLSearchParams(window.location.search).get("return_to");

  function keepReturnTo(url) {
    if (!returnTo) return url;
    const target = new URL(url, window.location.href);
    if (target.pathname === "/account") target.searchParams.set("return_to", returnTo);
    else target.searchParams.set("next", "/account?return_to=" + encodeURIComponent(returnTo));
    return target.pathname + target.search;
  }

  function toBytes(b64url) {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function toB64url(buffer) {
    let text = "";
    new Uint8Array(buffer).forEach((b) => { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(Object.assign({ csrf: csrf }, body)),
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 && data.reauth) {
      window.location.assign(keepReturnTo(data.reauth));
      return null;
    }
    if (!response.ok) throw new Error(data.error || status.dataset.requestFailed || "The request failed.");
    return data;
  }

  async function add(type) {
    status.textContent = status.dataset.prompt || "Follow your browser's prompt…";
    const started = await post("/account/webauthn/options", { type: type });
    if (!started) return;
    const options = started.publicKey;
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    options.excludeCredentials = (options.excludeCredentials || []).map(
      (c) => Object.assign({}, c, { id: toBytes(c.id) })
    );
    const credential = await navigator.credentials.create({ publicKey: options });
    const response = credential.response;
    const body = {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toB64url(response.clientDataJSON),
        attestationObject: toB64url(response.attestationObject),
        transports: response.getTransports ? response.getTransports() : [],
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    };
    const label = document.getElementById("webauthn-label").value;
    const done = await post("/account/webauthn/register", {
      ceremony: started.ceremony, credential: body, label: label,
    });
    if (done) window.location.assign(keepReturnTo(done.redirect));
  }

  section.querySelectorAll("button[data-add-webauthn]").forEach((button) => {
    button.addEventListener("click", () => {
      add(button.dataset.addWebauthn).catch((error) => {
        status.textContent =
          error.message || status.dataset.failed || "The passkey could not be added.";
      });
    });
  });
})();
