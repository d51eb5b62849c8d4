// A real OpenID provider for the tests: npm oidc-provider (OpenID-certified), on loopback,
// with one confidential client (Countersign) and test users carrying a `groups` claim.
// Its development login form accepts any password; the login name picks the user.
//
//   OIDC_PORT=3190 COUNTERSIGN_URL=http://127.0.0.1:3101 node oidc/provider.mjs
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT ?? 3190);
const countersign = process.env.COUNTERSIGN_URL ?? 'http://127.0.0.1:3101';
const issuer = `http://127.0.0.1:${port}`;

export const users = {
  'alice': { name: 'Alice Approver', email: 'alice@example.com', groups: ['approvers-dev-test', 'ml-staff'] },
  'bob': { name: 'Bob Reviewer', email: 'bob@example.com', groups: ['approvers-dev-test', 'ml-staff'] },
  'priya': { name: 'Priya Prod', email: 'priya@example.com', groups: ['approvers-prod', 'ml-staff'] },
  'dana': { name: 'Dana Scientist', email: 'dana@example.com', groups: ['data-scientists', 'ml-staff'] },
  'oscar': { name: 'Oscar Outsider', email: 'oscar@example.com', groups: ['sales'] },
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

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'countersign',
      client_secret: 'countersign-test-secret',
      redirect_uris: [`${countersign}/auth/callback`],
      post_logout_redirect_uris: [`${countersign}/`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  // Put the requested claims, groups included, into the ID token itself.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    // Like Entra ID's app roles: sent without asking for a scope of their own.
    profile: ['name', 'roles'],
    email: ['email'],
    groups: ['groups'],
  },
  scopes: ['openid', 'profile', 'email', 'groups'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(_ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...user };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
