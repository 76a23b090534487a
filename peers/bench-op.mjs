// node's oidc-provider (v9) configured like `stepauth serve` for the side-by-side benchmark:
// one confidential client (client_secret_basic), PKCE S256 required, RS256 ID tokens, JWT
// access tokens (RFC 9068, RS256, with acr/amr/auth_time) for a default resource, the same
// TTLs, the same acr ladder, and a sign-in form with inputs labelled Username and Password plus
// a CSRF field, so the same user agent (useragent.mjs) establishes the session on both.
// DPoP (RFC 9449) is on, without nonces (no nonceSecret), as on `stepauth serve` by default;
// --dpop-client-id registers a second client like the first whose token requests must carry
// a proof (dpop_bound_access_tokens, RFC 9449 §5.2).
//
//   node bench-op.mjs --port 4000 --client-id bench --client-secret s3cret \
//     --redirect-uri http://127.0.0.1:9/cb --username bench   (password from BENCH_PASSWORD)
//
// Storage is an in-process Map adapter that honours expiresIn (the packaged development adapter
// is an LRU of 1,000 entries and would evict the benchmark session). Prints "ready <issuer>"
// on stdout once listening.

import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';
import {
  ACR_1FA,
  extraTokenClaims,
  findAccount,
  firstPartyGrant,
  interactionUrl,
  jwtResource,
  serve,
} from './op-common.mjs';

const { values: opts } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '4000' },
    'client-id': { type: 'string', default: 'bench' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    username: { type: 'string', default: 'bench' },
    'opaque-access-tokens': { type: 'boolean', default: false },
    'dpop-client-id': { type: 'string' },
  },
});
const password = process.env.BENCH_PASSWORD;
if (!opts['client-secret'] || !opts['redirect-uri'] || !password) {
  process.stderr.write('bench-op: --client-secret, --redirect-uri and BENCH_PASSWORD are required\n');
  process.exit(2);
}
const issuer = `http://${opts.host}:${opts.port}`;
const resource = `${issuer}/api`;

// ---- storage: a Map per model, entries expire at their TTL --------------------------------
const stores = new Map();
const index = (name) => {
  if (!stores.has(name)) stores.set(name, new Map());
  return stores.get(name);
};
class MapAdapter {
  constructor(name) {
    this.name = name;
    if (!stores.has(name)) stores.set(name, new Map());
    this.store = stores.get(name);
  }
  key(id) {
    return id;
  }
  live(entry) {
    return entry && (!entry.expiresAt || entry.expiresAt > Date.now()) ? entry : undefined;
  }
  async upsert(id, payload, expiresIn) {
    this.store.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : 0 });
    if (payload.grantId) {
      const list = index('__grants').get(payload.grantId) ?? [];
      list.push([this.name, id]);
      index('__grants').set(payload.grantId, list);
    }
    if (payload.uid) index('__uid').set(payload.uid, id);
    if (payload.userCode) index('__userCode').set(payload.userCode, id);
  }
  async find(id) {
    const entry = this.live(this.store.get(id));
    if (!entry) this.store.delete(id);
    return entry?.payload;
  }
  async findByUid(uid) {
    const id = index('__uid').get(uid);
    return id === undefined ? undefined : this.find(id);
  }
  async findByUserCode(userCode) {
    const id = index('__userCode').get(userCode);
    return id === undefined ? undefined : this.find(id);
  }
  async consume(id) {
    const entry = this.store.get(id);
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    const entry = this.store.get(id);
    this.store.delete(id);
    if (entry?.payload.uid) index('__uid').delete(entry.payload.uid);
  }
  async revokeByGrantId(grantId) {
    for (const [name, id] of index('__grants').get(grantId) ?? []) stores.get(name)?.delete(id);
    index('__grants').delete(grantId);
  }
}
// Expired entries are swept periodically so memory reflects live state only.
setInterval(() => {
  const now = Date.now();
  for (const [name, store] of stores) {
    if (name.startsWith('__')) continue;
    for (const [id, entry] of store) if (entry.expiresAt && entry.expiresAt <= now) store.delete(id);
  }
}, 10_000).unref();

// ---- keys ------------------------------------------------------------------------------------
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'bench-rs256' };

// ---- provider --------------------------------------------------------------------------------
const benchClient = (clientId, extra = {}) => ({
  client_id: clientId,
  client_secret: opts['client-secret'],
  redirect_uris: [opts['redirect-uri']],
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'RS256',
  ...extra,
});
const configuration = {
  adapter: MapAdapter,
  clients: [
    benchClient(opts['client-id']),
    ...(opts['dpop-client-id']
      ? [benchClient(opts['dpop-client-id'], { dpop_bound_access_tokens: true })]
      : []),
  ],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  acrValues: [ACR_1FA, 'urn:stepauth:acr:2fa', 'phr', 'phrh'],
  claims: { openid: ['sub', 'acr', 'amr', 'auth_time'] },
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    dPoP: { enabled: true }, // no nonceSecret: proofs without nonces, as stepauth's default
    resourceIndicators: jwtResource(resource, { enabled: !opts['opaque-access-tokens'] }),
  },
  ttl: {
    AuthorizationCode: 60,
    AccessToken: 300,
    IdToken: 300,
    Interaction: 600,
    Session: 86_400,
    Grant: 86_400,
  },
  extraTokenClaims,
  findAccount,
  // The benchmark client is first-party: the grant is given on first use (no consent screen).
  loadExistingGrant: firstPartyGrant({
    resource: opts['opaque-access-tokens'] ? undefined : resource,
  }),
  interactions: { url: interactionUrl },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Error</title><p role="alert">${out.error}: ${out.error_description ?? ''}</p>`;
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;

// ---- the sign-in interaction -----------------------------------------------------------------
const csrfTokens = new Map(); // interaction uid -> token
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const same = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

function loginPage(uid, message = '') {
  const csrf = randomBytes(16).toString('base64url');
  csrfTokens.set(uid, csrf);
  return `<!doctype html><html lang="en"><title>Sign in</title>
<form method="post" action="/interaction/${escapeHtml(uid)}">
${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<input type="hidden" name="csrf" value="${csrf}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit">Continue</button></form></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const send = (status, html) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  };
  if (req.method === 'GET') return send(200, loginPage(uid));
  const form = await readForm(req);
  const expected = csrfTokens.get(uid);
  if (!expected || !same(form.get('csrf') ?? '', expected)) return send(403, loginPage(uid, 'Expired form'));
  csrfTokens.delete(uid);
  const ok = form.get('username') === opts.username && same(form.get('password') ?? '', password);
  if (!ok) return send(200, loginPage(uid, 'Wrong username or password'));
  return provider.interactionFinished(
    req,
    res,
    { login: { accountId: opts.username, acr: ACR_1FA, amr: ['pwd'] } },
    { mergeWithLastSubmission: false },
  );
}

serve(provider, interaction, { host: opts.host, port: opts.port, issuer, keepAliveTimeout: 65_000 });
