// A real OpenID Connect provider on loopback (node `oidc-provider`, OpenID-certified), configured
// like a strict production server: PKCE (S256) required, refresh tokens rotated for public clients
// (reusing a spent one revokes the grant), RFC 7009 revocation, introspection, RFC 9207 `iss`.
//
// Usage: node server.mjs   (environment: PORT=0, ACCESS_TOKEN_TTL=60, ID_TOKEN_TTL=3600, CLIENT_ID=keyport-test)
// Device authorization grant (RFC 8628) at /device/auth; client `keyport-short-device` gets codes
// that expire after 3 s, to test expiry.
// Clients: CLIENT_ID (public, PKCE), keyport-client-secret-post and keyport-client-secret-basic
// (confidential, secret "confidential-test-secret"), introspector (for tests' introspection).
// Prints one JSON line {"issuer": ..., "port": ...} on stdout once it listens.
// Test-only endpoint: GET /test/stats -> counts of token grants seen, by grant type and outcome,
// and of client registrations (`registrations`, MCP=1).
//
// MCP=1: also the authorization server of an MCP resource server (tests/mcp-server with
// AUTH_SERVER): open dynamic client registration (RFC 7591) at /reg, resource indicators
// (RFC 8707) for any http://127.0.0.1:<port>/<path>, whose access tokens are JWTs (RFC 9068) with
// that resource as `aud`, signed with the keys at /jwks; scopes `mcp:tools` and `mcp:admin`.
// Also machines' clients for the client credentials grant (MCP's SEP-1046), allowed both MCP
// scopes: `keyport-machine-secret` (client_secret_basic, secret "machine-test-secret"), and
// `keyport-machine-ec` / `keyport-machine-rsa` (private_key_jwt, ES256 / RS256), whose private
// keys, made at start, are in the announcement as `machine_keys: {ec, rsa}` (PKCS#8 PEM).
//
// ID_JAG_CLIENT_ID=<id>: also an enterprise IdP of MCP's Enterprise-Managed Authorization
// (SEP-990, Cross App Access): its public client may use RFC 8693 token exchange to trade an ID
// token it was issued (subject_token_type id_token) for an ID-JAG (requested_token_type id-jag),
// a JWT of type `oauth-id-jag+jwt` naming the user (`sub`), the MCP authorization server asked
// for (`aud` = `audience`), the MCP server (`resource`), the MCP client's id there (<id>, as an
// administrator would configure it) and the scopes; signed with a key served at
// /test/id-jag-jwks. /test/stats counts `id_jags` issued.
import crypto from 'node:crypto';
import http from 'node:http';
import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT ?? 0);
const ttl = Number(process.env.ACCESS_TOKEN_TTL ?? 60);
const clientId = process.env.CLIENT_ID ?? 'keyport-test';
const mcp = process.env.MCP === '1';
const MCP_SCOPES = ['mcp:tools', 'mcp:admin'];
// A resource indicator we issue tokens for (MCP=1): an MCP server on loopback, any port.
const MCP_RESOURCE = /^http:\/\/127\.0\.0\.1:\d+\/[^?#]+$/;

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const idJagClient = process.env.ID_JAG_CLIENT_ID;
const idJagKey = idJagClient ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) : null;
// `time_ms`/`requests`: per path, how long the provider spent answering (the benchmark takes this
// from a sign-in's time to find Keyport's own).
const stats = { grants: {}, errors: {}, time_ms: {}, requests: {}, registrations: 0, id_jags: 0 };
const bump = (map, key) => { map[key] = (map[key] ?? 0) + 1; };

// stdout carries only the announcement line: whoever started us may stop reading after it.
console.log = console.info = console.error;

// The machines' key pairs (MCP=1): the public halves are the clients' registered keys.
const machineKeys = Object.fromEntries(
  mcp
    ? [
        ['ec', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })],
        ['rsa', crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })],
      ]
    : [],
);
const machineClients = mcp
  ? [
      {
        client_id: 'keyport-machine-secret',
        client_secret: 'machine-test-secret',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: MCP_SCOPES.join(' '),
      },
      ...Object.entries(machineKeys).map(([kind, pair]) => ({
        client_id: `keyport-machine-${kind}`,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: kind === 'ec' ? 'ES256' : 'RS256',
        jwks: { keys: [{ ...pair.publicKey.export({ format: 'jwk' }), use: 'sig' }] },
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: MCP_SCOPES.join(' '),
      })),
    ]
  : [];

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
        grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT, ...(idJagClient ? [TOKEN_EXCHANGE] : [])],
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
      ...machineClients,
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
    // The MCP scopes are listed here too, not only as the resource's: registration refuses a
    // client `scope` naming any scope not listed, and the list is discovery's scopes_supported.
    scopes: ['openid', 'offline_access', 'email', 'profile', ...(mcp ? MCP_SCOPES : [])],
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
      ...(mcp ? {
        registration: { enabled: true },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          // A code or refresh token granted for one resource yields tokens for it even when the
          // token request does not name it again (with `openid` it would otherwise get an opaque
          // token for userinfo).
          useGrantedResource: async () => true,
          getResourceServerInfo: async (ctx, resource) => {
            if (!MCP_RESOURCE.test(resource)) throw new errors.InvalidTarget();
            return { scope: MCP_SCOPES.join(' '), audience: resource, accessTokenFormat: 'jwt' };
          },
        },
      } : {}),
    },
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      AuthorizationCode: 60,
      IdToken: Number(process.env.ID_TOKEN_TTL ?? 3600),
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
  if (idJagClient) {
    provider.registerGrantType(
      TOKEN_EXCHANGE,
      async (ctx) => {
        const p = ctx.oidc.params;
        if (p.subject_token_type !== 'urn:ietf:params:oauth:token-type:id_token'
          || p.requested_token_type !== 'urn:ietf:params:oauth:token-type:id-jag') {
          throw new errors.InvalidRequest('only an ID token for an ID-JAG is exchanged here');
        }
        if (!p.audience || !p.resource) throw new errors.InvalidRequest('audience and resource are required');
        let claims;
        try {
          // Issued by us, to this very client, and not expired.
          ({ payload: claims } = await provider.IdToken.validate(p.subject_token, ctx.oidc.client));
        } catch (e) {
          throw new errors.InvalidGrant(`the subject token is not a valid ID token (${e.message})`);
        }
        if (claims.exp * 1000 < Date.now()) throw new errors.InvalidGrant('the ID token has expired');
        const jag = await new jose.SignJWT({
          client_id: idJagClient,
          resource: p.resource,
          ...(p.scope ? { scope: p.scope } : {}),
          jti: crypto.randomUUID(),
        })
          .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: 'id-jag' })
          .setIssuer(issuer)
          .setSubject(claims.sub)
          .setAudience(p.audience)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(idJagKey.privateKey);
        stats.id_jags += 1;
        ctx.body = {
          access_token: jag,
          issued_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
          token_type: 'N_A',
          expires_in: 300,
        };
      },
      ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope'],
    );
  }
  provider.on('grant.success', (ctx) => bump(stats.grants, ctx.oidc.params.grant_type));
  provider.on('grant.error', (ctx, err) => bump(stats.errors, `${ctx.oidc.params?.grant_type}:${err.error}`));
  provider.on('registration_create.success', () => { stats.registrations += 1; });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/test/stats') {
      ctx.body = stats;
      return;
    }
    if (ctx.path === '/test/id-jag-jwks' && idJagKey) {
      ctx.body = { keys: [{ ...idJagKey.publicKey.export({ format: 'jwk' }), kid: 'id-jag', alg: 'RS256', use: 'sig' }] };
      return;
    }
    const start = process.hrtime.bigint();
    await next();
    const path = ctx.path.startsWith('/interaction/') ? '/interaction' : ctx.path;
    stats.time_ms[path] = (stats.time_ms[path] ?? 0) + Number(process.hrtime.bigint() - start) / 1e6;
    stats.requests[path] = (stats.requests[path] ?? 0) + 1;
  });
  server.on('request', provider.callback());
  const machine_keys = Object.fromEntries(
    Object.entries(machineKeys).map(([kind, pair]) => [kind, pair.privateKey.export({ format: 'pem', type: 'pkcs8' })]),
  );
  process.stdout.write(`${JSON.stringify({ issuer, port: actual, ...(mcp ? { machine_keys } : {}) })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
