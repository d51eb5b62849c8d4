// A real OpenID provider for the tests: npm oidc-provider (OpenID-certified), on loopback,
// with one confidential client (Countersign) and test users carrying a `groups` claim.
// Its development login form accepts any password; the login name picks the user.
//
// Pipelines are clients too: they get JWT access tokens for Countersign's API (the resource
// `api://countersign`) by the client credentials grant, with the scopes they ask for among
// those their client may have. `entra-style-app` is given an application role in `roles`
// instead, as Entra ID does for `api://.../.default`.
//
// OIDC_QUIRK makes it misbehave as some providers do, for the signing ceremony's tests:
// `ignores-prompt` drops `prompt` and `max_age` from authorization requests (the person is
// not asked to sign in again and the old `auth_time` comes back); `no-auth-time` never sends
// `auth_time` (Entra ID without the optional claim; it drops `prompt` and `max_age` too,
// which oidc-provider would answer with `auth_time`).
//
//   OIDC_PORT=3190 COUNTERSIGN_URL=http://127.0.0.1:3101,http://127.0.0.1:3103 node oidc/provider.mjs
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT ?? 3190);
// Every portal signing in here (comma-separated).
const portals = (process.env.COUNTERSIGN_URL ?? 'http://127.0.0.1:3101').split(',');
const issuer = `http://127.0.0.1:${port}`;
const quirk = process.env.OIDC_QUIRK ?? '';

export const users = {
  'alice': { name: 'Alice Approver', email: 'alice@example.com', groups: ['approvers-dev-test', 'ml-staff'] },
  'bob': { name: 'Bob Reviewer', email: 'bob@example.com', groups: ['approvers-dev-test', 'ml-staff'] },
  'priya': { name: 'Priya Prod', email: 'priya@example.com', groups: ['approvers-prod', 'ml-staff'] },
  'paul': { name: 'Paul Prod', email: 'paul@example.com', groups: ['approvers-prod', 'ml-staff'] },
  // Like Entra ID: an immutable object id (`oid`) and a user principal name (`upn`) beside
  // an e-mail that pipelines may spell in another case.
  'dana': {
    name: 'Dana Scientist',
    email: 'dana.scientist@example.com',
    oid: '5f0c6a1e-93d2-4b8e-a7c1-2d4e6f8a0b1c',
    upn: 'Dana.Scientist@corp.example.com',
    groups: ['data-scientists', 'ml-staff'],
  },
  // Her first sign-in here is stamped two hours in the past, as if her session at the
  // provider began then: a signature needs a fresher one.
  'lena': { name: 'Lena Longago', email: 'lena@example.com', groups: ['approvers-dev-test', 'ml-staff'], firstLoginSecondsAgo: 7200 },
  'oscar': { name: 'Oscar Outsider', email: 'oscar@example.com', groups: ['sales'] },
  // A token without a name: the GxP profile refuses her sign-in (no printed name to sign with).
  'nadia': { email: 'nadia@example.com', groups: ['approvers-dev-test', 'ml-staff'] },
  // Entra-style: app roles instead of groups.
  'erin': { name: 'Erin Roles', email: 'erin@example.com', roles: ['approver-dev', 'viewer'] },
  // In too many groups for a token: Entra ID then sends a pointer to the groups ("overage")
  // instead of the list.
  'olga': {
    name: 'Olga Overage',
    email: 'olga@example.com',
    _claim_names: { groups: 'src1' },
    _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/olga/getMemberObjects' } },
  },
};

export const apiResource = 'api://countersign';
// What each pipeline client may be granted at the API.
const apiScopesOf = {
  'training-pipeline': 'countersign.register',
  'batch-pipeline': 'countersign.report countersign.resolve',
  'entra-style-app': 'api.default',
};

const pipeline = (clientId) => ({
  client_id: clientId,
  client_secret: `${clientId}-secret`,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  clients: [
    ...Object.keys(apiScopesOf).map(pipeline),
    {
      client_id: 'countersign',
      client_secret: 'countersign-test-secret',
      redirect_uris: portals.map((portal) => `${portal}/auth/callback`),
      post_logout_redirect_uris: portals.map((portal) => `${portal}/`),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      // Every ID token says when the person signed in, as Entra ID does with the auth_time
      // optional claim configured: signatures need it.
      require_auth_time: quirk !== 'no-auth-time',
    },
  ],
  // Put the requested claims, groups included, into the ID token itself.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    // Like Entra ID's app roles: sent without asking for a scope of their own.
    profile: ['name', 'roles', 'oid', 'upn'],
    email: ['email'],
    groups: ['groups'],
  },
  scopes: ['openid', 'profile', 'email', 'groups'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => apiResource,
      useGrantedResource: () => true,
      async getResourceServerInfo(_ctx, resource, client) {
        // Any other https resource is a different API: its tokens must not open ours.
        if (resource !== apiResource && !resource.startsWith('https://')) {
          throw new Error(`unknown resource ${resource}`);
        }
        return {
          scope: apiScopesOf[client.clientId] ?? '',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 10 * 60,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async extraTokenClaims(_ctx, token) {
    if (token.clientId === 'entra-style-app') {
      return { roles: ['countersign.resolve'] };
    }
    return undefined;
  },
  async findAccount(_ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    const { firstLoginSecondsAgo: _, ...claims } = user;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...claims };
      },
    };
  },
});

const loggedInBefore = new Set();
const finishInteraction = provider.interactionFinished.bind(provider);
provider.interactionFinished = async (req, res, result, options) => {
  const accountId = result?.login?.accountId;
  const agedBy = users[accountId]?.firstLoginSecondsAgo;
  if (agedBy && !loggedInBefore.has(accountId)) {
    result.login.ts = Math.floor(Date.now() / 1000) - agedBy;
  }
  if (accountId) loggedInBefore.add(accountId);
  return finishInteraction(req, res, result, options);
};

if (quirk) {
  provider.use(async (ctx, next) => {
    if (ctx.path === '/auth') {
      ctx.request.query = Object.fromEntries(
        Object.entries(ctx.request.query).filter(
          ([name]) => name !== 'max_age' && name !== 'prompt',
        ),
      );
    }
    await next();
  });
}

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
