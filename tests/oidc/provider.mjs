// A real OpenID provider on loopback HTTPS for the single sign-on tests: the certified
// `oidc-provider` package (npm), with its development sign-in page (any password) and the
// accounts of a JSON file that is read again on every sign-in, so that a test can take a
// person out of a group between two sign-ins.
//
// Usage: node provider.mjs <config.json>
//   config: { "port": 0, "cert": "cert.pem", "key": "key.pem",
//             "client": { "client_id", "client_secret", "redirect_uris": [...] },
//             "accounts": "accounts.json" }   accounts: { "<login>": { email, name, groups } }
// Prints `READY https://127.0.0.1:<port>` once it listens.
import fs from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const accounts = () => JSON.parse(fs.readFileSync(config.accounts, 'utf8'));

const server = https.createServer({
  cert: fs.readFileSync(config.cert),
  key: fs.readFileSync(config.key),
});

server.listen(config.port || 0, '127.0.0.1', () => {
  const issuer = `https://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      ...config.client,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    // The ID token carries the claims of the scopes granted (the groups among them).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    cookies: { keys: ['vouch-tests-only-cookie-key'] },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      const account = accounts()[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email_verified: true, ...account }) };
    },
    // A first-party client: consent is given, not asked.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile groups');
      grant.addOIDCClaims(['sub', 'email', 'email_verified', 'name', 'groups']);
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(`READY ${issuer}`);
});
