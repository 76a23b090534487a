// A third-party FAPI 2.0 Relying Party: openid-client v6 authenticates with private_key_jwt
// (RFC 7523), pushes a signed request object (RFC 9126 PAR + RFC 9101 JAR) with PKCE S256 and
// dpop_jkt, redeems the code with a DPoP proof (RFC 9449) and calls an API with the DPoP-bound
// token. When the API answers RFC 9470 insufficient_user_authentication, the RP pushes a new
// request with the challenge's acr_values, the user steps up with an authenticator app code
// (RFC 6238, computed here from the shared secret) and the call is made again.
// The browser is useragent.mjs's fetch loop (a cookie jar) answering the Provider's factor forms.
// Prints one JSON object on stdout; exits non-zero with the reason on stderr when a step fails.
//
//   node rp-fapi2.mjs --issuer http://127.0.0.1:8000 --client-id bank-app \
//     --redirect-uri http://127.0.0.1:9/cb --username alice --resource http://127.0.0.1:8001 \
//     --api http://127.0.0.1:8001/transfer [--code-only]
//
// Secrets come from the environment: RP_PASSWORD, RP_TOTP_SECRET (base32), RP_CLIENT_JWK
// (the client's private signing JWK, with kid) and RP_DPOP_JWK (the private DPoP JWK).
// --code-only stops at the authorization response and prints the code and its PKCE verifier
// (for the caller's own token requests).

import { createHmac, webcrypto } from 'node:crypto';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';
import {
  authorizationRequest,
  discover,
  failer,
  recordingFetch,
  requireOptions,
} from './rp-common.mjs';
import { browse, CookieJar, pageErrors } from './useragent.mjs';

const { values: opts } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string' },
    username: { type: 'string' },
    resource: { type: 'string' },
    api: { type: 'string' },
    'code-only': { type: 'boolean', default: false },
  },
});

const fail = failer('rp-fapi2');
requireOptions(opts, ['issuer', 'client-id', 'redirect-uri', 'username', 'resource'], fail);
const env = {};
for (const name of ['RP_PASSWORD', 'RP_TOTP_SECRET', 'RP_CLIENT_JWK', 'RP_DPOP_JWK']) {
  if (process.env[name] === undefined) fail('arguments', new Error(`${name} is required`));
  env[name] = process.env[name];
}

// ------------------------------------------------------------------ keys
const ALGS = { EC: { name: 'ECDSA', namedCurve: 'P-256' }, RSA: { name: 'RSA-PSS', hash: 'SHA-256' } };

async function importPrivate(jwk) {
  const { kid, alg, use, ...material } = jwk;
  const key = await webcrypto.subtle.importKey('jwk', material, ALGS[jwk.kty], false, ['sign']);
  return { key, kid };
}

async function importPair(jwk) {
  const { kid, alg, use, d, p, q, dp, dq, qi, ...pub } = jwk;
  const privateKey = (await importPrivate(jwk)).key;
  const publicKey = await webcrypto.subtle.importKey('jwk', pub, ALGS[jwk.kty], true, ['verify']);
  return { privateKey, publicKey };
}

const clientKey = await importPrivate(JSON.parse(env.RP_CLIENT_JWK));
const dpopKeys = await importPair(JSON.parse(env.RP_DPOP_JWK));

// ------------------------------------------------------------------ back channel
// Every back-channel exchange, so the caller sees the nonce retries and what was pushed.
const exchanges = [];
const config = await discover(opts, client.PrivateKeyJwt(clientKey), fail, {
  metadata: { id_token_signed_response_alg: 'ES256' },
});
config[client.customFetch] = recordingFetch(exchanges, {
  describe: (_url, options) => {
    const body = options?.body;
    const sent =
      body instanceof URLSearchParams || typeof body === 'string' ? new URLSearchParams(body) : null;
    return {
      assertion_type: sent?.get('client_assertion_type') ?? null,
      request: sent?.get('request') ?? null,
    };
  },
});
const DPoP = client.getDPoPHandle(config, dpopKeys);
const jkt = await DPoP.calculateThumbprint();

// ------------------------------------------------------------------ user agent
const attr = (tag, name) => {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`, 'i'));
  return m ? m[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"') : undefined;
};

/** The Provider's factor forms on a page: {kind: {action, fields}}. */
function factorForms(html, pageUrl) {
  const forms = {};
  for (const match of html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)) {
    const tag = match[0].match(/<form\b[^>]*>/i)[0];
    const kind = attr(tag, 'data-factor');
    if (!kind) continue;
    const fields = new URLSearchParams();
    for (const input of match[0].matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name');
      if (name) fields.set(name, attr(input[0], 'value') ?? '');
    }
    forms[kind] = { action: new URL(attr(tag, 'action') ?? pageUrl, pageUrl).href, fields };
  }
  return forms;
}

/** RFC 6238 TOTP (HMAC-SHA-1, 30 s, 6 digits) of a base32 secret. */
function totp(secret, now = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  }
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30)));
  const mac = createHmac('sha1', bytes).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

/** Browse from `startUrl` to the redirect URI, answering each factor form once. */
async function browseFactors(startUrl, jar, log) {
  const used = [];
  const answer = (html, url, response) => {
    const forms = response.ok ? factorForms(html, url) : {};
    let kind;
    if (forms.password && !used.includes('password')) {
      kind = 'password';
      forms.password.fields.set('username', opts.username);
      forms.password.fields.set('password', env.RP_PASSWORD);
    } else if (forms.totp && !used.includes('totp')) {
      kind = 'totp';
      forms.totp.fields.set('code', totp(env.RP_TOTP_SECRET));
    } else {
      throw new Error(
        `no factor form left to answer at ${url} (HTTP ${response.status}, forms ` +
          `${Object.keys(forms).join(',') || 'none'}, used ${used.join(',') || 'none'}): ` +
          (pageErrors(html) || html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)),
      );
    }
    used.push(kind);
    return { url: forms[kind].action, method: 'POST', body: forms[kind].fields.toString() };
  };
  const callback = await browse(startUrl, { redirectUri: opts['redirect-uri'], jar, log, answer });
  return { callback, factors: used };
}

// ------------------------------------------------------------------ one authorization
const jar = new CookieJar();

async function authorize(step, extra = {}) {
  const { codeVerifier, state, nonce, params } = await authorizationRequest(opts, 'openid', {
    resource: opts.resource,
    dpop_jkt: jkt,
    ...extra,
  });
  let url;
  try {
    const signed = await client.buildAuthorizationUrlWithJAR(config, params, clientKey);
    url = await client.buildAuthorizationUrlWithPAR(config, signed.searchParams, { DPoP });
  } catch (err) {
    fail(`${step}: pushed authorization request`, err);
  }
  const pushed = exchanges.filter((e) => e.path === '/par' && e.status === 201).at(-1);
  const log = [];
  let browsed;
  try {
    browsed = await browseFactors(url.href, jar, log);
  } catch (err) {
    process.stderr.write(`${log.join('\n')}\n`);
    fail(`${step}: user agent`, err);
  }
  const callback = new URL(browsed.callback);
  const out = {
    authorization_url: url.href,
    request_object: pushed?.request ?? null,
    response_params: Object.fromEntries(callback.searchParams),
    factors: browsed.factors,
    code_verifier: codeVerifier,
  };
  if (opts['code-only']) return out;
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce },
      undefined,
      { DPoP },
    );
  } catch (err) {
    fail(`${step}: authorization code grant`, err);
  }
  const idHeader = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url'));
  return {
    ...out,
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    id_token_alg: idHeader.alg,
    claims: tokens.claims(),
  };
}

/** POST the API with the DPoP-bound token; a 401 challenge is returned, not thrown. */
async function callApi(accessToken) {
  const headers = new Headers({ 'content-type': 'application/json' });
  const body = JSON.stringify({ amount: '100.00', to: 'DE89370400440532013000' });
  try {
    const response = await client.fetchProtectedResource(
      config, accessToken, new URL(opts.api), 'POST', body, headers, { DPoP },
    );
    return { status: response.status, body: await response.json() };
  } catch (err) {
    if (!(err instanceof client.WWWAuthenticateChallengeError)) fail('API call', err);
    return {
      status: err.status,
      www_authenticate: err.response.headers.get('www-authenticate'),
      challenges: err.cause,
    };
  }
}

// ------------------------------------------------------------------ the run
const public_jwk = await webcrypto.subtle.exportKey('jwk', dpopKeys.publicKey);
const first = await authorize('sign-in');
if (opts['code-only']) {
  process.stdout.write(`${JSON.stringify({ jkt, public_jwk, first, exchanges })}\n`);
  process.exit(0);
}
if (!opts.api) fail('arguments', new Error('--api is required without --code-only'));
const refused = await callApi(first.access_token);
const result = { jkt, public_jwk, first, refused };
const challenge = refused.challenges?.find((c) => c.scheme === 'dpop');
if (refused.status === 401 && challenge?.parameters?.error === 'insufficient_user_authentication') {
  const extra = { acr_values: challenge.parameters.acr_values };
  if (challenge.parameters.max_age !== undefined) extra.max_age = challenge.parameters.max_age;
  result.stepped_up = await authorize('step-up', extra);
  result.accepted = await callApi(result.stepped_up.access_token);
}
result.exchanges = exchanges;
process.stdout.write(`${JSON.stringify(result)}\n`);
