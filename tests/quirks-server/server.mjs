// The quirks server: a small OAuth 2.0 authorization server of our own that answers like the
// providers whose deviations the catalog declares, one profile per path prefix. It is strict about
// what the quirk requires (a JSON body, `user_scope`, the refresh URL, a bearer revocation), so a
// catalog entry that stops declaring a quirk fails its test here. Standard-conforming behaviour is
// tested against oidc-provider instead; this server only plays the deviations.
//
// Usage: node server.mjs   (PORT=0). Prints {"base": "http://127.0.0.1:<port>"} on stdout.
// Profiles (paths under /<profile>/):
//   slack       tokens nested in `authed_user`, scopes in `user_scope`, errors with HTTP 200,
//               `auth.test` as "who am I", `auth.revoke` with the token as bearer
//   salesforce  `instance_url` with the tokens (kept as metadata), no `expires_in`, RFC 7009 revoke
//   figma       refresh only at /figma/refresh (the token URL refuses it), no new refresh token
//   notion      token request body must be JSON (+ basic auth); the user is in the token response
//   linear      GraphQL "who am I" (POST {"query"}), non-expiring token, bearer revocation
//   device      RFC 8628 with `interval: 1` and a `slow_down` answer to the first poll
// Test endpoint: GET /_log -> every request seen {profile, path, method, contentType, auth,
// params} and the tokens revoked, for assertions.
import http from 'node:http';
import crypto from 'node:crypto';

const port = Number(process.env.PORT ?? 0);
const log = [];
const revoked = [];
const codes = new Map(); // code -> {profile, challenge, redirectUri}
const tokens = new Map(); // access or refresh token -> {profile, kind}
const devices = new Map(); // device_code -> {approved, userCode}
const polls = [];
let counter = 0;
const mint = (prefix) => `${prefix}-${++counter}-${crypto.randomBytes(6).toString('hex')}`;

const send = (res, status, body, type = 'application/json') => {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data));
  });
}

function parseParams(type, raw) {
  if (!raw) return {};
  if (type.startsWith('application/json')) {
    try { return JSON.parse(raw); } catch { return { _invalid_json: true }; }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

const bearer = (req) => req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
const s256 = (verifier) => crypto.createHash('sha256').update(verifier).digest('base64url');

function issue(profile, kind) {
  const access = mint(profile === 'slack' ? 'xoxp' : `${profile}-at`);
  tokens.set(access, { profile, kind: 'access' });
  const refresh = kind === 'no-refresh' ? undefined : mint(`${profile}-rt`);
  if (refresh) tokens.set(refresh, { profile, kind: 'refresh' });
  return { access, refresh };
}

// The body of a successful token answer, shaped as each provider shapes it.
function tokenAnswer(profile, grant) {
  switch (profile) {
    case 'slack': {
      const { access, refresh } = issue(profile);
      const bot = mint('xoxb');
      return {
        ok: true, access_token: bot, token_type: 'bot', scope: 'commands',
        team: { id: 'T1', name: 'Acme Corp' },
        authed_user: { id: 'U1', scope: 'users:read,users:read.email', access_token: access, token_type: 'user', refresh_token: refresh, expires_in: 43200 },
      };
    }
    case 'salesforce': {
      const { access, refresh } = issue(profile);
      return {
        access_token: access, ...(grant === 'authorization_code' ? { refresh_token: refresh } : {}),
        instance_url: 'https://acme.my.salesforce.example', id: 'https://login.salesforce.example/id/00D/005',
        token_type: 'Bearer', issued_at: String(Date.now()), signature: 'c2lnbmF0dXJl',
        // No expires_in: Salesforce does not say; the session lasts until it is refused.
      };
    }
    case 'figma': {
      const { access, refresh } = issue(profile);
      return grant === 'authorization_code'
        ? { user_id: 'fig-1', access_token: access, refresh_token: refresh, expires_in: 7776000 }
        : { access_token: access, expires_in: 7776000 }; // a refresh brings no new refresh token
    }
    case 'notion': {
      const { access } = issue(profile, 'no-refresh');
      return {
        access_token: access, token_type: 'bearer', bot_id: 'b-1', workspace_id: 'w-1', workspace_name: 'Acme Wiki',
        owner: { type: 'user', user: { object: 'user', id: 'n-user-1', name: 'Ada', person: { email: 'ada@notion.example' } } },
      };
    }
    case 'linear': {
      const { access } = issue(profile, 'no-refresh');
      return { access_token: access, token_type: 'Bearer', scope: 'read' }; // never expires
    }
    case 'device': {
      const { access, refresh } = issue(profile);
      return { access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: 3600 };
    }
    default:
      return null;
  }
}

function oauthError(res, profile, error, status = 400) {
  // Slack answers every error with HTTP 200 and `ok: false`.
  if (profile === 'slack') return send(res, 200, { ok: false, error });
  return send(res, status, { error });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const [, profile, ...rest] = url.pathname.split('/');
  const path = rest.join('/');
  const type = req.headers['content-type'] ?? '';
  const raw = await readBody(req);
  const params = { ...Object.fromEntries(url.searchParams), ...parseParams(type, raw) };
  const auth = req.headers.authorization?.split(' ')[0] ?? null;
  if (profile !== '_log') log.push({ profile, path, method: req.method, contentType: type.split(';')[0], auth, params });

  if (profile === '_log') return send(res, 200, { requests: log, revoked, polls });

  if (path === 'authorize') {
    const scopeParam = profile === 'slack' ? 'user_scope' : 'scope';
    if (profile === 'slack' && params.scope) return send(res, 400, 'Slack user tokens take user_scope, not scope', 'text/plain');
    if (params.code_challenge_method !== 'S256' || !params.code_challenge) return send(res, 400, 'PKCE S256 required', 'text/plain');
    const code = mint('code');
    codes.set(code, { profile, challenge: params.code_challenge, redirectUri: params.redirect_uri, scope: params[scopeParam] });
    const back = new URL(params.redirect_uri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', params.state);
    res.writeHead(302, { location: back.toString() });
    return res.end();
  }

  const tokenPath = { figma: ['token', 'refresh'] }[profile] ?? ['token'];
  if (req.method === 'POST' && tokenPath.includes(path)) {
    if (profile === 'notion' && !type.startsWith('application/json')) return send(res, 400, { error: 'invalid_request', error_description: 'body must be JSON' });
    if (profile !== 'notion' && !type.startsWith('application/x-www-form-urlencoded')) return send(res, 400, { error: 'invalid_request' });
    if (profile === 'figma' && params.grant_type === 'refresh_token' && path !== 'refresh') return send(res, 400, { error: 'unsupported_grant_type', error_description: 'refresh at /v1/oauth/refresh' });
    if (profile === 'figma' && params.grant_type !== 'refresh_token' && path === 'refresh') return send(res, 400, { error: 'unsupported_grant_type' });
    if (params.grant_type === 'authorization_code') {
      const c = codes.get(params.code);
      codes.delete(params.code);
      if (!c || c.profile !== profile || c.redirectUri !== params.redirect_uri) return oauthError(res, profile, 'invalid_grant');
      if (s256(params.code_verifier ?? '') !== c.challenge) return oauthError(res, profile, 'invalid_grant');
      return send(res, 200, tokenAnswer(profile, 'authorization_code'));
    }
    if (params.grant_type === 'refresh_token') {
      const t = tokens.get(params.refresh_token);
      if (!t || t.kind !== 'refresh' || t.profile !== profile || revoked.includes(params.refresh_token)) return oauthError(res, profile, 'invalid_grant');
      return send(res, 200, tokenAnswer(profile, 'refresh_token'));
    }
    if (params.grant_type === 'urn:ietf:params:oauth:grant-type:device_code' && profile === 'device') {
      const d = devices.get(params.device_code);
      polls.push(Date.now());
      if (!d) return send(res, 400, { error: 'invalid_grant' });
      d.polls += 1;
      if (d.polls === 1) return send(res, 400, { error: 'slow_down' });
      if (!d.approved) return send(res, 400, { error: 'authorization_pending' });
      devices.delete(params.device_code);
      return send(res, 200, tokenAnswer(profile, 'device'));
    }
    return oauthError(res, profile, 'unsupported_grant_type');
  }

  if (profile === 'device' && path === 'device_authorization' && req.method === 'POST') {
    const deviceCode = mint('dc');
    const userCode = `QRK-${String(counter).padStart(4, '0')}`.slice(0, 9);
    devices.set(deviceCode, { approved: false, userCode, polls: 0 });
    const base = `http://127.0.0.1:${server.address().port}/device`;
    return send(res, 200, {
      device_code: deviceCode, user_code: userCode, verification_uri: `${base}/verify`,
      verification_uri_complete: `${base}/verify?user_code=${userCode}`, expires_in: 120, interval: 1,
    });
  }
  if (profile === 'device' && path === 'verify') {
    for (const d of devices.values()) if (d.userCode === params.user_code) d.approved = true;
    return send(res, 200, '<!DOCTYPE html><title>Sign-in Success</title><p>Approved.</p>', 'text/html');
  }

  // "Who am I" endpoints.
  const user = (t) => tokens.get(t)?.kind === 'access' && !revoked.includes(t) && tokens.get(t).profile === profile;
  if (profile === 'slack' && path === 'auth.test') {
    if (!user(bearer(req))) return send(res, 200, { ok: false, error: 'invalid_auth' });
    return send(res, 200, { ok: true, user: 'ada', user_id: 'U1', team: 'Acme Corp', team_id: 'T1' });
  }
  if (profile === 'salesforce' && path === 'userinfo') {
    if (!user(bearer(req))) return send(res, 401, { error: 'invalid_token' });
    return send(res, 200, { sub: 'https://login.salesforce.example/id/00D/005', user_id: '005', email: 'ada@salesforce.example', name: 'Ada' });
  }
  if (profile === 'figma' && path === 'me') {
    if (!user(bearer(req))) return send(res, 403, { status: 403, err: 'Invalid token' });
    return send(res, 200, { id: 'fig-1', email: 'ada@figma.example', handle: 'ada' });
  }
  if (profile === 'linear' && path === 'graphql') {
    if (req.method !== 'POST' || !type.startsWith('application/json')) return send(res, 400, { errors: [{ message: 'POST a JSON query' }] });
    if (!user(bearer(req))) return send(res, 200, { errors: [{ message: 'Authentication required' }] });
    if (!/viewer/.test(params.query ?? '')) return send(res, 200, { errors: [{ message: 'unknown query' }] });
    return send(res, 200, { data: { viewer: { id: 'lin-1', name: 'Ada', email: 'ada@linear.example' } } });
  }

  // Revocation.
  if (req.method === 'POST' && ((profile === 'slack' && path === 'auth.revoke') || (profile === 'linear' && path === 'revoke'))) {
    const t = bearer(req);
    if (!user(t)) return oauthError(res, profile, 'invalid_auth', 401);
    revoked.push(t);
    return send(res, 200, profile === 'slack' ? { ok: true, revoked: true } : {});
  }
  if (req.method === 'POST' && profile === 'salesforce' && path === 'revoke') {
    if (!type.startsWith('application/x-www-form-urlencoded') || !params.token) return send(res, 400, { error: 'unsupported_token_type' });
    revoked.push(params.token);
    return send(res, 200, '');
  }
  return send(res, 404, { error: 'not_found', path: url.pathname });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => send(res, 500, { error: 'server_error', error_description: String(e) }));
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ base: `http://127.0.0.1:${server.address().port}` })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
