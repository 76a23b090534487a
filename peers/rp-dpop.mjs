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
import {
  authorizationRequest,
  discover,
  failer,
  recordingFetch,
  requireOptions,
  secretOrPublic,
  signIn,
} from './rp-common.mjs';
import { CookieJar } from './useragent.mjs';

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

const fail = failer('rp-dpop');
requireOptions(opts, ['issuer', 'client-id', 'redirect-uri', 'username'], fail);
const password = process.env.RP_PASSWORD;
if (password === undefined) fail('arguments', new Error('RP_PASSWORD is required'));

// Every back-channel exchange, as "METHOD path status error" lines, so the caller can see
// the use_dpop_nonce answers and the retries openid-client made on its own.
const exchanges = [];
const config = await discover(opts, secretOrPublic(opts), fail);
config[client.customFetch] = recordingFetch(exchanges, {
  challengeAsError: true,
  describe: (_url, _options, response) => ({ nonce: response.headers.get('dpop-nonce') !== null }),
});

const keyPair = await client.randomDPoPKeyPair('ES256');
const DPoP = client.getDPoPHandle(config, keyPair);
const publicJwk = await webcrypto.subtle.exportKey('jwk', keyPair.publicKey);

const { codeVerifier, state, nonce, params } = await authorizationRequest(opts, opts.scope);
if (opts['dpop-jkt']) params.dpop_jkt = await DPoP.calculateThumbprint();

let authorizationUrl;
try {
  authorizationUrl = opts.par
    ? await client.buildAuthorizationUrlWithPAR(config, params, { DPoP })
    : client.buildAuthorizationUrl(config, params);
} catch (err) {
  fail('authorization request', err);
}

const { callback } = await signIn(authorizationUrl.href, opts, password, new CookieJar(), fail);

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
