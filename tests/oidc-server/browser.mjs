// A scripted browser for the local `oidc-provider`: give it the authorization URL and it does what
// a person would (sign in on the dev login page, approve the consent page) and then follows the
// redirect to the application's loopback callback. It keeps cookies like a browser does.
//
// It also completes a device sign-in (RFC 8628) opened at the verification address with the code:
// confirm the code, sign in, approve, and stop on the success page (or press Abort with `deny`).
//
// Usage: node browser.mjs <url>   (or as $BROWSER through ./browser)
// Environment:
//   KEYPORT_TEST_LOGIN         the login to sign in with (default "alice")
//   KEYPORT_TEST_BROWSER_MODE  login (default) | deny (press Cancel) | wrong-state | bad-code | ignore |
//                              remote (a browser on another machine: it cannot load the loopback
//                              callback, and writes the address it ends on to KEYPORT_TEST_BROWSER_OUT) |
//                              raced (another program requests the address first, as one that read
//                              it from this browser's command line would; then the browser goes on) |
//                              other-user-first (as raced, from another user, uid 65534: she asks
//                              for the address and delivers a callback of her own first; what she
//                              got goes to KEYPORT_TEST_OTHER_USER_OUT) |
//                              other-user-floods (another user holds 80 idle connections to the
//                              listener while the browser signs in)
//                              other-user-fills-queue (another user connects to the listener as
//                              fast as she can, from two processes, to keep its accept queue full
//                              while the browser signs in)
//   KEYPORT_TEST_BROWSER_TIMING file to write how long the sign-in took, in ms, from the browser's
//                              first request to the application's answer
//   KEYPORT_TEST_BROWSER_ARGV  file to append the browser's command line to, one line per start
//   KEYPORT_TEST_BROWSER_OUT   file to write the final page (the application's answer) to
//   KEYPORT_TEST_BROWSER_SPY   file to append the authorization code it carried to (for leak checks)
//   KEYPORT_TEST_SCHEME_OPENER command that receives a redirect to a non-web URL (keyport://…), as a
//                              browser hands it to the system (default "xdg-open")
//   KEYPORT_TEST_BROWSER_DELAY milliseconds to wait before signing in (lets a test see the waiting state)
//   KEYPORT_TEST_BROWSER_VERBOSE  set: say each step on stderr (otherwise only what went wrong, so
//                              that a passing test run is quiet)
import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';

const start = process.argv[2];
const mode = process.env.KEYPORT_TEST_BROWSER_MODE ?? 'login';
const login = process.env.KEYPORT_TEST_LOGIN ?? 'alice';
const out = process.env.KEYPORT_TEST_BROWSER_OUT;
// Our stderr is the application's; it may be closed, and diagnostics must never stop the sign-in.
process.stderr.on('error', () => {});
const log = (msg) => process.stderr.write(`[test-browser] ${msg}\n`);
const step = process.env.KEYPORT_TEST_BROWSER_VERBOSE ? log : () => {};

if (!start) {
  log('usage: browser.mjs <url>');
  process.exit(2);
}
if (process.env.KEYPORT_TEST_BROWSER_ARGV) {
  fs.appendFileSync(process.env.KEYPORT_TEST_BROWSER_ARGV, `${process.argv.slice(2).join(' ')}\n`);
}
if (mode === 'raced') {
  const first = await fetch(start, { redirect: 'manual' });
  step(`the other program got ${first.status}`);
}
// Another user of this machine: uid and gid 65534, no capabilities (the tests run as root).
const asOtherUser = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'];
if (mode === 'other-user-first') {
  const callback = new URL('/callback?code=mallorys-code&state=guessed', start).toString();
  const seen = [start, callback].map((url) => {
    const r = spawnSync('setpriv', [...asOtherUser, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', url], { encoding: 'utf8' });
    return `${r.status} ${r.stdout}`;
  });
  step(`the other user got: ${seen.join(', ')}`);
  if (process.env.KEYPORT_TEST_OTHER_USER_OUT) fs.writeFileSync(process.env.KEYPORT_TEST_OTHER_USER_OUT, seen.join('\n'));
}
if (mode === 'other-user-floods') {
  const { port } = new URL(start);
  const hold = `import socket, time\nheld = [socket.create_connection(('127.0.0.1', ${port})) for _ in range(80)]\nprint(len(held), flush=True)\ntime.sleep(25)\n`;
  // Debian's python3 (scripts/install-deps): one under root's home may not be reachable by her.
  const flood = spawn('setpriv', [...asOtherUser, '/usr/bin/python3', '-c', hold], { stdio: ['ignore', 'pipe', 'ignore'] });
  const held = await new Promise((resolve) => {
    flood.stdout.once('data', () => resolve(true));
    flood.once('exit', () => resolve(false));
  });
  if (!held) {
    log('the other user could not open her connections');
    process.exit(1);
  }
  step('another user holds 80 connections to the listener');
  process.on('exit', () => flood.kill());
}
let flooders = [];
if (mode === 'other-user-fills-queue') {
  const { port } = new URL(start);
  // Non-blocking connects in a tight loop, the oldest closed to stay under her descriptor limit:
  // the kernel completes each handshake into the listener's accept queue on its own.
  const fill = `import socket, time
held = []
made = 0
end = time.time() + 25
while time.time() < end:
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(('127.0.0.1', ${port}))
    held.append(s)
    made += 1
    if made == 2000:
        print(made, flush=True)
    if len(held) > 800:
        held.pop(0).close()
`;
  flooders = [0, 1].map(() => spawn('setpriv', [...asOtherUser, '/usr/bin/python3', '-c', fill], { stdio: ['ignore', 'pipe', 'ignore'] }));
  const filling = await Promise.all(flooders.map((f) => new Promise((resolve) => {
    f.stdout.once('data', () => resolve(true));
    f.once('exit', () => resolve(false));
  })));
  if (!filling.every(Boolean)) {
    log('the other user could not connect');
    process.exit(1);
  }
  step('another user keeps connecting to the listener');
  process.on('exit', () => flooders.forEach((f) => f.kill()));
}
const began = Date.now();
process.on('exit', () => {
  if (process.env.KEYPORT_TEST_BROWSER_TIMING) fs.writeFileSync(process.env.KEYPORT_TEST_BROWSER_TIMING, `${Date.now() - began}`);
});
if (mode === 'ignore') {
  step('ignoring the sign-in request');
  process.exit(0);
}

const jar = new Map();
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
const remember = (res) => {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
  }
};

function tamper(url) {
  const u = new URL(url);
  if (u.pathname !== '/callback') return url;
  if (mode === 'wrong-state') u.searchParams.set('state', 'forged-state');
  if (mode === 'bad-code') u.searchParams.set('code', 'not-a-real-code');
  return u.toString();
}

function parseForm(html, base) {
  const form = html.match(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i);
  if (!form) return null;
  const fields = new URLSearchParams();
  for (const input of form[2].matchAll(/<input[^>]*>/gi)) {
    const name = input[0].match(/name="([^"]*)"/i)?.[1];
    if (!name) continue;
    const value = input[0].match(/value="([^"]*)"/i)?.[1] ?? '';
    fields.set(name, name === 'login' ? login : name === 'password' ? 'any-password' : value);
  }
  return { action: new URL(form[1].replaceAll('&amp;', '&'), base).toString(), fields };
}

// A custom-scheme redirect leaves the browser: the system passes it to the registered application.
function handOff(target) {
  const code = new URL(target).searchParams.get('code');
  if (process.env.KEYPORT_TEST_BROWSER_SPY && code) fs.appendFileSync(process.env.KEYPORT_TEST_BROWSER_SPY, `${code}\n`);
  const [cmd, ...args] = (process.env.KEYPORT_TEST_SCHEME_OPENER ?? 'xdg-open').split(/\s+/);
  step(`handing ${new URL(target).protocol}// to ${cmd}`);
  const r = spawnSync(cmd, [...args, target], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 30000 });
  process.exit(r.status ?? 1);
}

const delay = Number(process.env.KEYPORT_TEST_BROWSER_DELAY ?? 0);
if (delay > 0) await new Promise((r) => setTimeout(r, delay));

let url = start;
let body;
for (let hop = 0; hop < 20; hop += 1) {
  const res = await fetch(url, {
    method: body ? 'POST' : 'GET',
    body,
    headers: { cookie: cookieHeader(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    redirect: 'manual',
  });
  body = undefined;
  remember(res);
  step(`${res.status} ${new URL(url).pathname}`);
  const location = res.headers.get('location');
  if (location) {
    url = tamper(new URL(location, url).toString());
    if (!/^https?:$/.test(new URL(url).protocol)) handOff(url);
    if (mode === 'remote' && new URL(url).pathname === '/callback') {
      if (out) fs.writeFileSync(out, url);
      step('cannot reach the callback from here; the address is in the address bar');
      process.exit(0);
    }
    continue;
  }
  const html = await res.text();
  if (new URL(url).pathname === '/callback') {
    if (out) fs.writeFileSync(out, html);
    const code = new URL(url).searchParams.get('code');
    if (process.env.KEYPORT_TEST_BROWSER_SPY && code) fs.appendFileSync(process.env.KEYPORT_TEST_BROWSER_SPY, `${code}\n`);
    process.exit(res.ok ? 0 : 1);
  }
  if (mode === 'deny') {
    const abort = html.match(/href="([^"]*\/abort)"/)?.[1];
    if (abort) {
      url = new URL(abort, url).toString();
      continue;
    }
  }
  if (/<title>Sign-in Success<\/title>/.test(html)) {
    step('device sign-in approved');
    process.exit(0);
  }
  const form = parseForm(html, url);
  if (mode === 'deny' && form && /name="abort"/.test(html)) {
    form.fields.set('abort', 'yes');
    step('aborting the device sign-in');
    await fetch(form.action, {
      method: 'POST',
      body: form.fields.toString(),
      headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    process.exit(0);
  }
  if (!form) {
    log(`stuck on a page without a form: ${html.slice(0, 200)}`);
    process.exit(1);
  }
  url = form.action;
  body = form.fields.toString();
}
log('too many hops');
process.exit(1);
