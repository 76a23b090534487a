// node's oidc-provider (v9) as a third-party OpenID Provider for the stepauth SDK tests.
//
//   node op.mjs --port 4100 [--client-id sdk] [--client-secret s3cret] \
//     [--redirect-uri http://127.0.0.1:9/cb ...]            (or PORT / OP_PORT in the env)
//
// Configured the way a step-up RP meets it in the wild: acrValues ["urn:stepauth:acr:1fa",
// "phr"], the claims parameter (essential acr), PKCE required, PAR and RAR (payment_initiation
// details granted as requested) available, amr released
// under the openid scope, RFC 9068 JWT access tokens carrying acr/amr/auth_time for the
// resource `${issuer}/api`. Its acr_values stay *voluntary* (oidc-provider's behaviour): a
// session with a lower acr is reused and that lower acr returned; only an essential acr,
// max_age or prompt=login re-prompt.
//
// Sign-in is programmatic: GET /interaction/:uid finishes the login at once with
//   1. the acr named by the extra parameter `login_acr` (the user could only do that much:
//      the "voluntary lower acr" case), else
//   2. the first supported value of an essential acr in `claims`, else
//   3. the first supported value of `acr_values`, else urn:stepauth:acr:1fa;
// as account `login_hint` (default "alice"). Prints "ready <issuer>" once listening.

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: opts } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: process.env.OP_PORT || process.env.PORT || '4100' },
    'client-id': { type: 'string', default: 'sdk' },
    'client-secret': { type: 'string', default: 'sdk-secret' },
    'redirect-uri': { type: 'string', multiple: true, default: ['http://127.0.0.1:9/cb'] },
  },
});
const issuer = `http://${opts.host}:${opts.port}`;
const resource = `${issuer}/api`;
const ACR_1FA = 'urn:stepauth:acr:1fa';
const ACR_VALUES = [ACR_1FA, 'phr'];
const AMR = { [ACR_1FA]: ['pwd'], phr: ['pop', 'user', 'mfa'] };

const configuration = {
  clients: [
    {
      client_id: opts['client-id'],
      client_secret: opts['client-secret'],
      redirect_uris: opts['redirect-uri'],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
      authorization_details_types: ['payment_initiation'],
    },
  ],
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  acrValues: ACR_VALUES,
  claims: { openid: ['sub', 'acr', 'amr', 'auth_time'] },
  extraParams: ['login_acr'],
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    // RFC 9396: payment_initiation details are granted exactly as requested (after a consent
    // interaction, which this OP finishes programmatically like the login).
    richAuthorizationRequests: {
      enabled: true,
      types: { payment_initiation: { validate() {} } },
      authorizationDetailsForGrantSource: (ctx) =>
        ctx.oidc.params.authorization_details
          ? JSON.parse(ctx.oidc.params.authorization_details)
          : undefined,
      authorizationDetailsForAccessToken: (_ctx, _token, source) => source?.rar,
      authorizationDetailsForIntrospection: (_ctx, token) => token.rar,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'openid',
        audience: resource,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: async (ctx) => {
    const code = ctx.oidc.entities.AuthorizationCode;
    return code ? { acr: code.acr, amr: code.amr, auth_time: code.authTime } : undefined;
  },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  // A first-party client: the grant is given on first use (no consent screen).
  loadExistingGrant: async (ctx) => {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid');
    grant.addOIDCClaims(['sub', 'acr', 'amr', 'auth_time']);
    grant.addResourceScope(resource, 'openid');
    await grant.save();
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
};

const provider = new Provider(issuer, configuration);
const oidc = provider.callback();

function essentialAcr(claimsParam) {
  if (!claimsParam) return [];
  try {
    const acr = JSON.parse(claimsParam)?.id_token?.acr;
    if (!acr?.essential) return [];
    return acr.values ?? (acr.value ? [acr.value] : []);
  } catch {
    return [];
  }
}

function chooseAcr(params) {
  if (params.login_acr && ACR_VALUES.includes(params.login_acr)) return params.login_acr;
  const essential = essentialAcr(params.claims).find((v) => ACR_VALUES.includes(v));
  if (essential) return essential;
  const voluntary = (params.acr_values ?? '').split(' ').find((v) => ACR_VALUES.includes(v));
  return voluntary ?? ACR_1FA;
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (details.prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ clientId: details.params.client_id, accountId: details.session.accountId });
    grant.addOIDCScope('openid');
    grant.addOIDCClaims(['sub', 'acr', 'amr', 'auth_time']);
    grant.addResourceScope(resource, 'openid');
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  const acr = chooseAcr(details.params);
  const accountId = details.params.login_hint || 'alice';
  return provider.interactionFinished(
    req,
    res,
    { login: { accountId, acr, amr: AMR[acr] } },
    { mergeWithLastSubmission: false },
  );
}

const server = createServer(async (req, res) => {
  const m = req.url.match(/^\/interaction\/([\w-]+)$/);
  if (!m) return oidc(req, res);
  try {
    await interaction(req, res, m[1]);
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction failed: ${err.message}`);
  }
});
server.listen(Number(opts.port), opts.host, () => {
  process.stdout.write(`ready ${issuer}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
