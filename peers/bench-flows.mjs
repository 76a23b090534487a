// Load driver for the provider benchmark, run identically against every OpenID Provider.
//
// One flow = GET authorization endpoint with an existing session cookie (PKCE S256, state,
// nonce) → redirect to the callback with a code → POST token endpoint (client_secret_basic,
// code_verifier) → 200 with an ID token whose nonce matches. The session is established once,
// through the provider's own sign-in form (useragent.mjs). Bounded: warm-up flows, then
// exactly --flows measured flows over --concurrency keep-alive connections, loopback only.
//
//   node bench-flows.mjs --issuer http://127.0.0.1:4000 --client-id bench --client-secret s \
//     --redirect-uri http://127.0.0.1:9/cb --username bench --flows 10000 --concurrency 8
//   (password from BENCH_PASSWORD)
//
// Prints one JSON object: flows, errors, seconds, flows_per_second, latency percentiles (ms)
// and, with --server-pid, server_cpu_ticks: the server process's user+system CPU time
// (/proc/<pid>/stat, clock ticks) over the measured flows only (not sign-in or warm-up).
// --seconds S also stops the measured run after S seconds; --refresh adds a refresh grant to
// every flow (with --scope 'openid offline_access').
//
// --dpop: DPoP (RFC 9449). Each worker (one per concurrent keep-alive connection) holds one
// ES256 key for the whole run; every flow sends its thumbprint as dpop_jkt at the
// authorization endpoint (§10) and a fresh proof (new jti, iat now; §4.2) with the code
// exchange (and the refresh), and the token response must say token_type DPoP (§5). No
// nonces: a use_dpop_nonce answer is an error.

import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { browseToCallback, CookieJar } from './useragent.mjs';

const { values: opts } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    username: { type: 'string' },
    scope: { type: 'string', default: 'openid' },
    flows: { type: 'string', default: '10000' },
    warmup: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    'max-errors': { type: 'string', default: '20' },
    'server-pid': { type: 'string' },
    seconds: { type: 'string' },
    refresh: { type: 'boolean', default: false },
    dpop: { type: 'boolean', default: false },
  },
});
for (const key of ['issuer', 'client-id', 'client-secret', 'redirect-uri', 'username']) {
  if (!opts[key]) {
    process.stderr.write(`bench-flows: --${key} is required\n`);
    process.exit(2);
  }
}
const password = process.env.BENCH_PASSWORD ?? '';
const issuer = new URL(opts.issuer);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname)) {
  process.stderr.write('bench-flows: loopback issuers only\n');
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Number(opts.concurrency) });
const basic = `Basic ${Buffer.from(
  `${encodeURIComponent(opts['client-id'])}:${encodeURIComponent(opts['client-secret'])}`,
).toString('base64')}`;

function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const b64url = (buf) => buf.toString('base64url');

// RFC 9449 §4.2: one ES256 key per worker; its RFC 7638 thumbprint is the dpop_jkt.
function dpopKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const jwk = { kty, crv, x, y };
  const jkt = b64url(createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest());
  const header = b64url(Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk })));
  return { privateKey, jkt, header };
}

function dpopProof(key, method, url) {
  const claims = { jti: randomUUID(), htm: method, htu: url.href, iat: Math.floor(Date.now() / 1000) };
  const input = `${key.header}.${b64url(Buffer.from(JSON.stringify(claims)))}`;
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}
const metadata = JSON.parse(
  (await request(new URL('/.well-known/openid-configuration', issuer))).body.toString(),
);
const authorizationEndpoint = new URL(metadata.authorization_endpoint);
const tokenEndpoint = new URL(metadata.token_endpoint);

const jar = new CookieJar();
function storeCookies(headers) {
  const lines = headers['set-cookie'];
  if (lines) jar.update({ headers: { getSetCookie: () => lines } });
}

function authorizationUrl(key) {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const url = new URL(authorizationEndpoint);
  const q = url.searchParams;
  q.set('response_type', 'code');
  q.set('client_id', opts['client-id']);
  q.set('redirect_uri', opts['redirect-uri']);
  q.set('scope', opts.scope);
  q.set('state', state);
  q.set('nonce', nonce);
  q.set('code_challenge', b64url(createHash('sha256').update(verifier).digest()));
  q.set('code_challenge_method', 'S256');
  if (key) q.set('dpop_jkt', key.jkt);
  return { url, verifier, state, nonce };
}

// POST the token endpoint (client_secret_basic), with a fresh DPoP proof when `key` is given.
function tokenRequest(body, key) {
  return request(tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: basic,
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
      accept: 'application/json',
      ...(key ? { dpop: dpopProof(key, 'POST', tokenEndpoint) } : {}),
    },
    body,
  });
}

async function exchange(code, verifier, nonce, key) {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: opts['redirect-uri'],
    code_verifier: verifier,
  }).toString();
  const res = await tokenRequest(body, key);
  if (res.status !== 200) throw new Error(`token endpoint HTTP ${res.status}: ${res.body.toString().slice(0, 300)}`);
  const tokens = JSON.parse(res.body.toString());
  if (!tokens.id_token || !tokens.access_token) throw new Error('token response without id_token/access_token');
  const expectedType = key ? 'dpop' : 'bearer';
  if (String(tokens.token_type).toLowerCase() !== expectedType) {
    throw new Error(`token_type ${tokens.token_type}, expected ${expectedType}`);
  }
  if (key) {
    // RFC 9449 §6.1: the JWT access token is bound to the proof's key
    const access = JSON.parse(Buffer.from(tokens.access_token.split('.')[1] ?? '', 'base64url').toString() || '{}');
    if (access.cnf?.jkt !== key.jkt) throw new Error('access token cnf.jkt is not the proof key thumbprint');
  }
  const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
  if (claims.nonce !== nonce) throw new Error('ID token nonce mismatch');
  if (opts.refresh) await refresh(tokens.refresh_token, key);
  return claims;
}

// --refresh: one refresh grant (RFC 6749 §6) with the refresh token of each exchange.
async function refresh(token, key) {
  if (!token) throw new Error('token response without refresh_token (scope needs offline_access)');
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString();
  const res = await tokenRequest(body, key);
  if (res.status !== 200) throw new Error(`refresh HTTP ${res.status}: ${res.body.toString().slice(0, 300)}`);
}

async function flow(key) {
  const { url, verifier, state, nonce } = authorizationUrl(key);
  const res = await request(url, { headers: { cookie: jar.header(), accept: 'text/html' } });
  storeCookies(res.headers);
  const location = res.headers.location;
  if (res.status < 300 || res.status >= 400 || !location?.startsWith(opts['redirect-uri'])) {
    throw new Error(`authorization endpoint HTTP ${res.status} to ${location ?? '(no Location)'}`);
  }
  const callback = new URL(location);
  if (callback.searchParams.get('state') !== state) throw new Error('state mismatch');
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code: ${callback.search}`);
  return exchange(code, verifier, nonce, key);
}

// 1. The session: one flow through the provider's sign-in form.
{
  const key = opts.dpop ? dpopKey() : undefined;
  const { url, verifier, nonce } = authorizationUrl(key);
  const callback = new URL(
    await browseToCallback(url.href, { redirectUri: opts['redirect-uri'], username: opts.username, password, jar }),
  );
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`sign-in flow ended without a code: ${callback.search}`);
  await exchange(code, verifier, nonce, key);
}

// 2. Warm-up, then the measured run, each with `concurrency` workers over a shared counter.
async function run(total) {
  let started = 0;
  let errors = 0;
  let firstError = null;
  const latencies = [];
  const maxErrors = Number(opts['max-errors']);
  // --seconds bounds the measured run in time as well as in flows
  const deadline = opts.seconds ? performance.now() + Number(opts.seconds) * 1000 : Infinity;
  async function worker() {
    const key = opts.dpop ? dpopKey() : undefined;
    while (started < total && errors <= maxErrors && performance.now() < deadline) {
      started++;
      const t0 = performance.now();
      try {
        await flow(key);
        latencies.push(performance.now() - t0);
      } catch (err) {
        errors++;
        firstError ??= err.message;
      }
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Number(opts.concurrency) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null);
  return {
    flows: latencies.length,
    errors,
    first_error: firstError,
    seconds,
    flows_per_second: latencies.length / seconds,
    latency_ms: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99) },
  };
}

const warmup = await run(Number(opts.warmup));
if (warmup.errors > Number(opts['max-errors'])) {
  process.stderr.write(`bench-flows: warm-up failed: ${warmup.first_error}\n`);
  process.exit(1);
}
// utime + stime of the server process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat)
function serverCpuTicks() {
  if (!opts['server-pid']) return null;
  const stat = readFileSync(`/proc/${Number(opts['server-pid'])}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const ticksBefore = serverCpuTicks();
const driverBefore = process.cpuUsage();
const measured = await run(Number(opts.flows));
const driverCpu = process.cpuUsage(driverBefore);
const ticksAfter = serverCpuTicks();
agent.destroy();
const serverCpu = ticksBefore === null ? {} : { server_cpu_ticks: ticksAfter - ticksBefore };
serverCpu.driver_cpu_seconds = (driverCpu.user + driverCpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({ ...measured, ...serverCpu, concurrency: Number(opts.concurrency), warmup: warmup.flows })}\n`,
);
if (measured.errors > Number(opts['max-errors'])) process.exit(1);
