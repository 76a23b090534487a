// A third-party Relying Party: openid-client v6 runs the authorization code flow (PKCE S256,
// state, nonce, acr_values, max_age) against an OpenID Provider, with useragent.mjs standing
// in for the browser. Prints one JSON object on stdout; exits non-zero with the reason on
// stderr when any step fails.
//
//   node rp.mjs --issuer http://127.0.0.1:8000 --client-id rp --client-secret s3cret \
//     --redirect-uri http://127.0.0.1:9/cb --username alice --acr-values "urn:stepauth:acr:1fa" \
//     --max-age 300 [--expect-error unmet_authentication_requirements] [--userinfo]
//
// The password comes from --password or the RP_PASSWORD environment variable. With
// --session-file PATH the browser's cookies are read from and written back to PATH, so
// successive runs act as one browser (an existing session, a step-up, a re-authentication).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';
import {
  authorizationRequest,
  discover,
  failer,
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
    password: { type: 'string' },
    scope: { type: 'string', default: 'openid' },
    'acr-values': { type: 'string' },
    'max-age': { type: 'string' },
    claims: { type: 'string' },
    'expect-error': { type: 'string' },
    prompt: { type: 'string' },
    'session-file': { type: 'string' },
    userinfo: { type: 'boolean', default: false },
  },
});

const fail = failer('rp');
requireOptions(opts, ['issuer', 'client-id', 'redirect-uri', 'username'], fail);
const password = opts.password ?? process.env.RP_PASSWORD;
if (password === undefined) fail('arguments', new Error('--password or RP_PASSWORD is required'));

const config = await discover(opts, secretOrPublic(opts), fail, {
  execute: [client.enableNonRepudiationChecks],
});

const { codeVerifier, state, nonce, params } = await authorizationRequest(opts, opts.scope);
if (opts['acr-values']) params.acr_values = opts['acr-values'];
if (opts['max-age'] !== undefined) params.max_age = opts['max-age'];
if (opts.claims) params.claims = opts.claims;
if (opts.prompt) params.prompt = opts.prompt;
const authorizationUrl = client.buildAuthorizationUrl(config, params);

const sessionFile = opts['session-file'];
const jar =
  sessionFile && existsSync(sessionFile)
    ? CookieJar.fromJSON(JSON.parse(readFileSync(sessionFile, 'utf8')))
    : new CookieJar();
let callback;
let hops;
try {
  ({ callback, hops } = await signIn(authorizationUrl.href, opts, password, jar, fail));
} finally {
  if (sessionFile) writeFileSync(sessionFile, JSON.stringify(jar), { mode: 0o600 });
}
const signedIn = hops.some((hop) => hop.startsWith('POST '));

const callbackUrl = new URL(callback);
if (opts['expect-error']) {
  // The authorization response must be an error redirect the RP library itself recognises.
  try {
    await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
    });
  } catch (err) {
    if (err instanceof client.AuthorizationResponseError && err.error === opts['expect-error']) {
      process.stdout.write(
        `${JSON.stringify({
          error: err.error,
          error_description: err.error_description ?? null,
          state: callbackUrl.searchParams.get('state'),
          iss: callbackUrl.searchParams.get('iss'),
          signed_in: signedIn,
          hops,
        })}\n`,
      );
      process.exit(0);
    }
    fail('authorization response', err);
  }
  fail('authorization response', new Error(`expected error=${opts['expect-error']}, got a code`));
}

let tokens;
try {
  tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    ...(opts['max-age'] !== undefined ? { maxAge: Number(opts['max-age']) } : {}),
  });
} catch (err) {
  fail('authorization code grant', err);
}

const result = {
  issuer: config.serverMetadata().issuer,
  authorization_url: authorizationUrl.href,
  callback_iss: callbackUrl.searchParams.get('iss'),
  claims: tokens.claims(),
  id_token: tokens.id_token,
  access_token: tokens.access_token,
  token_type: tokens.token_type,
  expires_in: tokens.expires_in ?? null,
  scope: tokens.scope ?? null,
  refresh_token_present: Boolean(tokens.refresh_token),
  requested: { state, nonce, acr_values: params.acr_values ?? null, max_age: params.max_age ?? null },
  signed_in: signedIn,
  hops,
};
if (opts.userinfo) {
  try {
    result.userinfo = await client.fetchUserInfo(config, tokens.access_token, result.claims.sub);
  } catch (err) {
    fail('userinfo', err);
  }
}
process.stdout.write(`${JSON.stringify(result)}\n`);
