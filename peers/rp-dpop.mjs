// A third-party Relying Party with DPoP (RFC 9449): openid-client v6 runs the authorization
// code flow (PKCE S256, state, nonce) with a DPoP key of its own, redeems the code with a
// DPoP proof, calls UserInfo with the DPoP-bound token and, with --refresh, refreshes once.
// Its own DPoP handle answers use_dpop_nonce by retrying with the server's nonce.
// useragent.mjs stands in for the browser. Prints one JSON object on stdout; exits non-zero
// with the reason on stderr when any step fails.
//
//   node rp-dpop.mjs --issuer http://127.0.0.1:8000 --client-id rp --client-secret s3cret \
//     --redirect-uri http://127.0.0.1:9/cb --username alice [--par] [--dpop-jkt] [--refresh]
//
// --par pushes the request with a DPoP proof (RFC 9449 §10.1); --dpop-jkt sends the key's
// thumbprint as dpop_jkt on the front channel (§10). The password comes from RP_PASSWORD.

import { webcrypto } from 'node:crypto';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';
import { browseToCallback, CookieJar } from './useragent.mjs';

const { values: opts } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    username: { type: 'string' },
    scope: { type: 'string', default: 'openid offline_access' },
    par: { type: 'boolean', default: false },
    'dpop-jkt': { type: 'boolean', default: false },
    refresh: { type: 'boolean', default: false },
  },
});

function fail(step, err) {
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const extra = err?.cause ? ` (cause: ${JSON.stringify(err.cause)})` : '';
  process.stderr.write(`rp-dpop: ${step} failed: ${detail}${extra}\n`);
  process.exit(1);
}

for (const key of ['issuer', 'client-id', 'redirect-uri', 'username']) {
  if (!opts[key]) fail('arguments', new Error(`--${key} is required`));
}
const password = process.env.RP_PASSWORD;
if (password === undefined) fail('arguments', new Error('RP_PASSWORD is required'));

const clientAuth = opts['client-secret']
  ? client.ClientSecretBasic(opts['client-secret'])
  : client.None();

// Every back-channel exchange, as "METHOD path status error" lines, so the caller can see
// the use_dpop_nonce answers and the retries openid-client made on its own.
const exchanges = [];
async function recordingFetch(url, options) {
  const response = await fetch(url, options);
  let error = null;
  if (response.status >= 400) {
    error = await response
      .clone()
      .json()
      .then((body) => body.error ?? null)
      .catch(() => null);
    const challenge = response.headers.get('www-authenticate');
    if (error === null && challenge) error = challenge;
  }
  exchanges.push({
    method: options?.method ?? 'GET',
    path: new URL(url).pathname,
    status: response.status,
    error,
    dpop: Boolean(new Headers(options?.headers).get('dpop')),
    nonce: response.headers.get('dpop-nonce') !== null,
  });
  return response;
}

let config;
try {
  config = await client.discovery(
    new URL(opts.issuer),
    opts['client-id'],
    { redirect_uris: [opts['redirect-uri']], response_types: ['code'] },
    clientAuth,
    { execute: [client.allowInsecureRequests] },
  );
} catch (err) {
  fail('discovery', err);
}
config[client.customFetch] = recordingFetch;

const keyPair = await client.randomDPoPKeyPair('ES256');
const DPoP = client.getDPoPHandle(config, keyPair);
const publicJwk = await webcrypto.subtle.exportKey('jwk', keyPair.publicKey);

const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const params = {
  redirect_uri: opts['redirect-uri'],
  scope: opts.scope,
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  state,
  nonce,
};
if (opts['dpop-jkt']) params.dpop_jkt = await DPoP.calculateThumbprint();

let authorizationUrl;
try {
  authorizationUrl = opts.par
    ? await client.buildAuthorizationUrlWithPAR(config, params, { DPoP })
    : client.buildAuthorizationUrl(config, params);
} catch (err) {
  fail('authorization request', err);
}

const hops = [];
let callback;
try {
  callback = await browseToCallback(authorizationUrl.href, {
    redirectUri: opts['redirect-uri'],
    username: opts.username,
    password,
    jar: new CookieJar(),
    log: hops,
  });
} catch (err) {
  process.stderr.write(`${hops.join('\n')}\n`);
  fail('user agent', err);
}

let tokens;
try {
  tokens = await client.authorizationCodeGrant(
    config,
    new URL(callback),
    { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce },
    undefined,
    { DPoP },
  );
} catch (err) {
  fail('authorization code grant', err);
}

const result = {
  public_jwk: publicJwk,
  jkt: await DPoP.calculateThumbprint(),
  authorization_url: authorizationUrl.href,
  claims: tokens.claims(),
  access_token: tokens.access_token,
  token_type: tokens.token_type,
  refresh_token_present: Boolean(tokens.refresh_token),
};
try {
  result.userinfo = await client.fetchUserInfo(config, tokens.access_token, result.claims.sub, {
    DPoP,
  });
} catch (err) {
  fail('userinfo', err);
}
if (opts.refresh) {
  try {
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, {
      DPoP,
    });
    result.refreshed = {
      access_token: refreshed.access_token,
      token_type: refreshed.token_type,
    };
  } catch (err) {
    fail('refresh token grant', err);
  }
}
result.exchanges = exchanges;
process.stdout.write(`${JSON.stringify(result)}\n`);
