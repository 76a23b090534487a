// What the two oidc-provider peers share (op.mjs for the SDK tests, bench-op.mjs for the
// benchmark): RFC 9068 JWT access tokens for one resource carrying acr/amr/auth_time, a
// first-party grant given on first use, and an HTTP server that hands /interaction/:uid to
// the peer's own interaction and everything else to the provider.

import { createServer } from 'node:http';

export const ACR_1FA = 'urn:stepauth:acr:1fa';

// RFC 9068 access tokens (RS256, 300 s) for `resource`, scope openid.
export function jwtResource(resource, { enabled = true } = {}) {
  return {
    enabled,
    defaultResource: () => resource,
    useGrantedResource: () => true,
    getResourceServerInfo: () => ({
      scope: 'openid',
      audience: resource,
      accessTokenTTL: 300,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256' } },
    }),
  };
}

// Like stepauth's access tokens, say how the user authenticated.
export async function extraTokenClaims(ctx) {
  const code = ctx.oidc.entities.AuthorizationCode;
  return code ? { acr: code.acr, amr: code.amr, auth_time: code.authTime } : undefined;
}

export async function findAccount(_ctx, sub) {
  return { accountId: sub, claims: async () => ({ sub }) };
}

// Scope openid, the given claims and (when `resource` is set) the resource's scope.
export function fillGrant(grant, { claims = [], resource } = {}) {
  grant.addOIDCScope('openid');
  if (claims.length) grant.addOIDCClaims(claims);
  if (resource) grant.addResourceScope(resource, 'openid');
  return grant;
}

// loadExistingGrant for a first-party client: the grant is given on first use (no consent).
export function firstPartyGrant(options) {
  return async (ctx) => {
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
    await fillGrant(grant, options).save();
    return grant;
  };
}

export const interactionUrl = (_ctx, interaction) => `/interaction/${interaction.uid}`;

// Serve `provider`, routing /interaction/:uid to `interaction(req, res, uid)`; prints
// "ready <issuer>" once listening and closes on SIGINT/SIGTERM.
export function serve(provider, interaction, { host, port, issuer, keepAliveTimeout }) {
  const oidc = provider.callback();
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
  if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout;
  server.listen(Number(port), host, () => process.stdout.write(`ready ${issuer}\n`));
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => server.close(() => process.exit(0)));
  }
  return server;
}
