// A real OpenID Connect provider on loopback (node `oidc-provider`, OpenID-certified), configured
// like a strict production server: PKCE (S256) required, refresh tokens rotated for public clients
// (reusing a spent one revokes the grant), RFC 7009 revocation, introspection, RFC 9207 `iss`.
//
// Usage: node server.mjs   (environment: PORT=0, ACCESS_TOKEN_TTL=60, CLIENT_ID=keyport-test)
// Device authorization grant (RFC 8628) at /device/auth; client `keyport-short-device` gets codes
// that expire after 3 s, to test expiry.
// Clients: CLIENT_ID (public, PKCE), keyport-client-secret-post and keyport-client-secret-basic
// (confidential, secret "confidential-test-secret"), introspector (for tests' introspection).
// Prints one JSON line {"issuer": ..., "port": ...} on stdout once it listens.
// Test-only endpoint: GET /test/stats -> counts of token grants seen, by grant type and outcome.
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 0);
const ttl = Number(process.env.ACCESS_TOKEN_TTL ?? 60);
const clientId = process.env.CLIENT_ID ?? 'keyport-test';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
// `time_ms`/`requests`: per path, how long the provider spent answering (the benchmark takes this
// from a sign-in's time to find Keyport's own).
const stats = { grants: {}, errors: {}, time_ms: {}, requests: {} };
const bump = (map, key) => { map[key] = (map[key] ?? 0) + 1; };

// stdout carries only the announcement line: whoever started us may stop reading after it.
console.log = console.info = console.error;

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  const issuer = `http://127.0.0.1:${actual}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        // Native loopback redirect: the port is not compared (RFC 8252 §7.3). The desktop app's
        // custom-scheme redirect is registered too, for providers set to `redirect = "deep_link"`.
        redirect_uris: ['http://127.0.0.1/callback', 'keyport://oauth/callback'],
        grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
        response_types: ['code'],
      },
      {
        client_id: 'keyport-short-device',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: [DEVICE_GRANT],
        response_types: [],
      },
      // Confidential clients, for the client secret that Keyport keeps in the keychain.
      ...['client_secret_post', 'client_secret_basic'].map((method) => ({
        client_id: `keyport-${method.replaceAll('_', '-')}`,
        client_secret: 'confidential-test-secret',
        token_endpoint_auth_method: method,
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      })),
      {
        // Used by tests to ask whether a token is still active.
        client_id: 'introspector',
        client_secret: 'introspector-secret',
        redirect_uris: [],
        grant_types: [],
        response_types: [],
      },
    ],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({
        sub: id,
        email: `${id}@example.test`,
        email_verified: true,
        name: id,
        preferred_username: id,
      }),
    }),
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      deviceFlow: { enabled: true },
    },
    ttl: {
      AccessToken: ttl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Interaction: 600,
      DeviceCode: (ctx, token, client) => (client.clientId === 'keyport-short-device' ? 3 : 600),
      Session: 24 * 3600,
    },
    cookies: { keys: ['keyport-test-cookie-key'] },
    // Exact expiry, so tests can wait a token out.
    clockTolerance: 0,
  });
  provider.on('grant.success', (ctx) => bump(stats.grants, ctx.oidc.params.grant_type));
  provider.on('grant.error', (ctx, err) => bump(stats.errors, `${ctx.oidc.params?.grant_type}:${err.error}`));
  provider.use(async (ctx, next) => {
    if (ctx.path === '/test/stats') {
      ctx.body = stats;
      return;
    }
    const start = process.hrtime.bigint();
    await next();
    const path = ctx.path.startsWith('/interaction/') ? '/interaction' : ctx.path;
    stats.time_ms[path] = (stats.time_ms[path] ?? 0) + Number(process.hrtime.bigint() - start) / 1e6;
    stats.requests[path] = (stats.requests[path] ?? 0) + 1;
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, port: actual })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
