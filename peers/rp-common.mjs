// The steps every openid-client Relying Party here takes: fail with the step's name, check
// the required options, discover the provider, prepare a PKCE S256 authorization request
// (RFC 7636, with state and nonce), let useragent.mjs sign in, and record the back-channel
// exchanges openid-client makes.

import * as client from 'openid-client';
import { browseToCallback } from './useragent.mjs';

/** A `fail(step, err)` that reports on stderr as `name: step failed: …` and exits 1. */
export function failer(name) {
  return function fail(step, err) {
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const extra = err?.cause ? ` (cause: ${JSON.stringify(err.cause)})` : '';
    process.stderr.write(`${name}: ${step} failed: ${detail}${extra}\n`);
    process.exit(1);
  };
}

/** Fail at 'arguments' unless every `--key` in `keys` was given. */
export function requireOptions(opts, keys, fail) {
  for (const key of keys) {
    if (!opts[key]) fail('arguments', new Error(`--${key} is required`));
  }
}

/** client_secret_basic with --client-secret, otherwise a public client. */
export function secretOrPublic(opts) {
  return opts['client-secret'] ? client.ClientSecretBasic(opts['client-secret']) : client.None();
}

/** Discovery of --issuer for --client-id with --redirect-uri (insecure HTTP allowed). */
export async function discover(opts, clientAuth, fail, { metadata = {}, execute = [] } = {}) {
  try {
    return await client.discovery(
      new URL(opts.issuer),
      opts['client-id'],
      { redirect_uris: [opts['redirect-uri']], response_types: ['code'], ...metadata },
      clientAuth,
      { execute: [client.allowInsecureRequests, ...execute] },
    );
  } catch (err) {
    fail('discovery', err);
  }
}

/** A fresh code verifier, state and nonce, and the authorization request's parameters. */
export async function authorizationRequest(opts, scope, extra = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = {
    redirect_uri: opts['redirect-uri'],
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  };
  return { codeVerifier, state, nonce, params };
}

/**
 * The browser from `url` to --redirect-uri, signing in as --username with `password`;
 * the callback URL and the hops. On failure the hops go to stderr and the run fails.
 */
export async function signIn(url, opts, password, jar, fail) {
  const hops = [];
  try {
    const callback = await browseToCallback(url, {
      redirectUri: opts['redirect-uri'],
      username: opts.username,
      password,
      jar,
      log: hops,
    });
    return { callback, hops };
  } catch (err) {
    process.stderr.write(`${hops.join('\n')}\n`);
    fail('user agent', err);
  }
}

/**
 * A fetch that records every exchange in `exchanges` (method, path, status, the JSON
 * `error`, whether a DPoP proof was sent) plus `describe(url, options, response)`'s fields.
 * With `challengeAsError`, an error answer without a JSON error records its
 * WWW-Authenticate challenge instead.
 */
export function recordingFetch(exchanges, { describe = () => ({}), challengeAsError = false } = {}) {
  return async function record(url, options) {
    const response = await fetch(url, options);
    let error = null;
    if (response.status >= 400) {
      error = await response
        .clone()
        .json()
        .then((body) => body.error ?? null)
        .catch(() => null);
      const challenge = response.headers.get('www-authenticate');
      if (challengeAsError && error === null && challenge) error = challenge;
    }
    exchanges.push({
      method: options?.method ?? 'GET',
      path: new URL(url).pathname,
      status: response.status,
      error,
      dpop: Boolean(new Headers(options?.headers).get('dpop')),
      ...describe(url, options, response),
    });
    return response;
  };
}
