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
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';
import {
  ACR_1FA,
  extraTokenClaims,
  fillGrant,
  findAccount,
  firstPartyGrant,
  interactionUrl,
  jwtResource,
  serve,
} from './op-common.mjs';

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
const ACR_VALUES = [ACR_1FA, 'phr'];
const AMR = { [ACR_1FA]: ['pwd'], phr: ['pop', 'user', 'mfa'] };
const CLAIMS = ['sub', 'acr', 'amr', 'auth_time'];

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
  claims: { openid: CLAIMS },
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
    resourceIndicators: jwtResource(resource),
  },
  extraTokenClaims,
  findAccount,
  // A first-party client: the grant is given on first use (no consent screen).
  loadExistingGrant: firstPartyGrant({ claims: CLAIMS, resource }),
  interactions: { url: interactionUrl },
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
};

const provider = new Provider(issuer, configuration);

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
    const grantId = await fillGrant(grant, { claims: CLAIMS, resource }).save();
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

serve(provider, interaction, { host: opts.host, port: opts.port, issuer });
