// A git server over HTTP for the tests of `keyport git-credential`: `git http-backend` (git's own
// smart-HTTP server, as a CGI program) behind a check that every request carries a token the
// local OpenID provider says is active (RFC 7662 introspection), in Basic auth as git sends it.
// Node's standard library only.
//
// Environment: ISSUER (the provider), REPOS (the directory of bare repositories), PORT (0: any).
// Announces {"url": ...} on stdout. GET /test/seen lists the [user, token] pairs it accepted.
import http from 'node:http';
import { spawn } from 'node:child_process';

const issuer = process.env.ISSUER;
const repos = process.env.REPOS;
const seen = [];

async function active(token) {
  const res = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('introspector:introspector-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
  return res.ok && (await res.json()).active === true;
}

function credentials(req) {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return null;
  const text = Buffer.from(header.slice(6), 'base64').toString();
  const i = text.indexOf(':');
  return i < 0 ? null : { user: text.slice(0, i), token: text.slice(i + 1) };
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/test/seen') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify(seen));
  }
  const who = credentials(req);
  if (!who || !(await active(who.token))) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="keyport-test"' });
    return res.end('a valid token is required\n');
  }
  if (!seen.some(([u, t]) => u === who.user && t === who.token)) seen.push([who.user, who.token]);
  const cgi = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: repos,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method,
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
      REMOTE_USER: who.user,
      REMOTE_ADDR: '127.0.0.1',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'safe.directory',
      GIT_CONFIG_VALUE_0: '*',
    },
  });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  cgi.stdout.on('data', (chunk) => {
    if (headersDone) return res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const i = line.indexOf(':');
      const [name, value] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
      if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(end + 4));
  });
  cgi.stdout.on('end', () => res.end());
  cgi.stderr.on('data', (d) => process.stderr.write(d));
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }));
});
