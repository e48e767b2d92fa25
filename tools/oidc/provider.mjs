// A real OpenID provider (npm oidc-provider 8.x) on loopback over TLS, for tests and the local demo.
//
//   node tools/oidc/provider.mjs CONFIG.json
//
// CONFIG: { host, port (0 = any), cert, key, jwks: {keys: [private JWKs]}, clients: [...],
//           accounts: { "<login>": { sub, email, name, ... } } }
// Prints one JSON line {"issuer": "..."} on stdout when it listens. The login page is the package's
// development interaction (any password); sub is the login, and a login not in `accounts` gets
// email = the login.
import fs from 'node:fs';
import https from 'node:https';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const host = config.host || '127.0.0.1';
const accounts = config.accounts || {};

const server = https.createServer({
  key: fs.readFileSync(config.key),
  cert: fs.readFileSync(config.cert),
});

server.listen(config.port || 0, host, () => {
  const { port } = server.address();
  const issuer = `https://${host}:${port}`;
  const provider = new Provider(issuer, {
    clients: config.clients,
    jwks: config.jwks,
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    scopes: ['openid', 'email', 'profile'],
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      const claims = { email: id, ...(accounts[id] || {}), sub: id };
      return {
        accountId: id,
        async claims() { return { email_verified: true, ...claims }; },
      };
    },
    renderError(ctx, out) {
      const esc = (v) => String(v || '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Error</title><h1>${esc(out.error)}</h1><p>${esc(out.error_description)}</p>`;
    },
  });
  provider.on('server_error', (ctx, err) => { console.error('server_error', err); });
  for (const event of ['authorization.error', 'grant.error', 'end_session.error', 'userinfo.error']) {
    provider.on(event, (ctx, err) => { console.error(event, err.message, err.error_detail || ''); });
  }
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
