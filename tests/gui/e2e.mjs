// The Keyport window end to end, as a person uses it: connect (loopback and keyport:// deep link),
// cancel, set up a provider, refresh, rename, revoke, reconnect, disconnect, and a change made by
// the CLI showing up live. Real parts only: the app binary in WebKit driven over WebDriver, the
// Secret Service (gnome-keyring), node oidc-provider and a scripted browser playing the person.
//
// Run through tests/gui/run (it provides the private session this needs).
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { remote } from 'webdriverio';

// Each test gets two minutes (a hung webview fails it instead of stalling the run). Not
// node's --test-timeout: that also bounds this whole file, which takes longer than any test.
const test = (name, fn) => nodeTest(name, { timeout: 120000 }, fn);

const root = path.resolve(import.meta.dirname, '../..');
const target = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
// The build tree's binaries, or installed ones (scripts/test-install runs the deep-link test
// against the .deb's /usr/bin/keyport-app this way).
const app = process.env.KEYPORT_GUI_APP ?? path.join(target, 'debug/keyport-app');
const cli = process.env.KEYPORT_GUI_CLI ?? path.join(target, 'debug/keyport');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-gui-home-'));
const shots = process.env.KEYPORT_SCREENSHOTS;
const spy = path.join(home, 'codes-seen-by-the-browser');
const children = [];
const browserLink = path.join(home, 'browser');
const placeBrowser = () =>
  fs.writeFileSync(browserLink, `#!/bin/sh\nexec '${path.join(root, 'tests/oidc-server/browser')}' "$@"\n`, { mode: 0o755 });
placeBrowser();
// Every token the test saw in the keychain, and everything the app logged (at trace level).
const secretsSeen = new Set();
let appLog = '';
let browser;
let issuer;

const env = {
  ...process.env,
  KEYPORT_HOME: home,
  KEYPORT_LOG: 'trace',
  KEYPORT_TEST_BROWSER_SPY: spy,
  // Starts the scripted browser; a test removes it to play "no browser could be opened".
  BROWSER: path.join(home, 'browser'),
  // Long enough to see (and cancel) the waiting state.
  KEYPORT_TEST_BROWSER_DELAY: '1500',
  // What a real browser does with a keyport:// redirect: ask the system, which starts a second
  // instance of the app with the URL (registered by the app at start-up).
  KEYPORT_TEST_SCHEME_OPENER: 'gio open',
  // How long a program waits for an answer to "Allow … to use …?" (a minute by default). Later
  // tests count on a question left unanswered being gone within seconds.
  // (Long enough for a question to be looked at in three window sizes first.)
  KEYPORT_CONSENT_TIMEOUT: '8',
  TAURI_WEBVIEW_AUTOMATION: 'true',
};

function start(cmd, args, extra = {}) {
  const child = spawn(cmd, args, { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stderr.on('data', (d) => process.env.KEYPORT_GUI_VERBOSE && process.stderr.write(d));
  return child;
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function listening(port) {
  for (let i = 0; i < 200; i += 1) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.end(() => resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}

// Runs a program of ours to completion. Its log (trace level) joins the app's, which the leak test
// reads and tests/gui/run keeps in a file instead of the test output.
function run(cmd, args) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 20000 });
  appLog += r.stderr ?? '';
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr?.slice(-2000)}`);
  return r.stdout;
}
const keyport = (...args) => run(cli, args);
const accounts = () => JSON.parse(keyport('list', '--json'));
const keychainItem = (id) => {
  try {
    const item = execFileSync(
      'secret-tool',
      ['lookup', 'service', `keyport:${home}`, 'username', `account:${id}`],
      { env, encoding: 'utf8' },
    );
    const tokens = item ? JSON.parse(item) : null;
    for (const k of ['access_token', 'refresh_token', 'id_token']) if (tokens?.[k]) secretsSeen.add(tokens[k]);
    return tokens;
  } catch {
    return null;
  }
};
const stats = async () => (await fetch(`${issuer}/test/stats`)).json();

async function shot(name, { scrolled = false, keepNotices = false } = {}) {
  if (!shots) return;
  fs.mkdirSync(shots, { recursive: true });
  // As a person would look at it: confirmations dismissed (unless they are what it shows),
  // scrolled to the top unless the test scrolled to what it shows.
  await browser.execute(
    (top, keep) => {
      if (!keep) for (const n of document.querySelectorAll('.notice')) n.remove();
      if (top) window.scrollTo(0, 0);
    },
    !scrolled,
    keepNotices,
  );
  // The first frame after an action can be stale.
  await browser.pause(500);
  await browser.saveScreenshot(path.join(shots, `${name}.png`));
}

// The window's widths a person meets: the narrowest it allows, a laptop, a wide monitor.
const WIDTHS = [480, 1280, 1920];
// Looks at the window as it is now at each of WIDTHS, and saves a screenshot of each (with
// KEYPORT_SCREENSHOTS): nothing scrolls sideways; on a wide window the column sits in the middle
// rather than against the left edge; the header's switches read on one line each; an open dialog
// sits over the column, inside the window.
async function atWidths(name, { scrolled = false, keepNotices = false } = {}) {
  const { width, height } = await browser.getWindowSize();
  try {
    for (const w of WIDTHS) {
      await browser.setWindowSize(w, 800);
      await browser.pause(300);
      const l = await browser.execute(() => {
        const box = (e) => e.getBoundingClientRect();
        const main = box(document.querySelector('main'));
        const dialog = document.querySelector('dialog[open]');
        const d = dialog && box(dialog);
        const lineHeight = parseFloat(getComputedStyle(document.body).lineHeight);
        return {
          inner: document.documentElement.clientWidth,
          scroll: document.documentElement.scrollWidth,
          left: main.left,
          right: document.documentElement.clientWidth - main.right,
          wrapped: [...document.querySelectorAll('.background .switch')]
            .filter((e) => box(e).height > 1.6 * lineHeight)
            .map((e) => e.textContent.trim()),
          dialog: d && { left: d.left, right: d.right, centre: (d.left + d.right) / 2, column: (main.left + main.right) / 2 },
        };
      });
      assert.ok(l.scroll <= l.inner, `${name}, ${w} px: the page scrolls sideways (${l.scroll} > ${l.inner})`);
      assert.ok(Math.abs(l.left - l.right) <= 2, `${name}, ${w} px: the column is off centre (${l.left} px left, ${l.right} right)`);
      assert.deepEqual(l.wrapped, [], `${name}, ${w} px: a switch's label wraps`);
      if (l.dialog) {
        assert.ok(l.dialog.left >= 0 && l.dialog.right <= l.inner, `${name}, ${w} px: the dialog sticks out of the window`);
        assert.ok(Math.abs(l.dialog.centre - l.dialog.column) <= 2, `${name}, ${w} px: the dialog is not over the column`);
      }
      await shot(`${name}-${w}`, { scrolled, keepNotices });
    }
  } finally {
    await browser.setWindowSize(width, height);
  }
}

const row = (nickname) => browser.$(`//li[contains(@class,'account')][.//span[@class='nickname' and normalize-space()='${nickname}']]`);
const action = async (nickname, verb) => (await row(nickname)).$(`button[data-action='${verb}']`);
async function waitForText(selector, text, timeout = 20000) {
  await browser.waitUntil(async () => (await browser.$(selector).getText()).includes(text), {
    timeout,
    timeoutMsg: `"${text}" did not appear in ${selector}`,
  });
}
const noticeText = async () => browser.$('#notices').getText();
// Waits for an account's row to read `text`; on a timeout, says what the row and the notices read.
async function waitForRow(nickname, text, timeout) {
  let seen = '';
  await browser.waitUntil(
    async () => {
      const r = await row(nickname);
      seen = (await r.isExisting()) ? await r.getText() : '(no such row)';
      return seen.includes(text);
    },
    { timeout, timeoutMsg: `${nickname}'s row never read "${text}"` },
  ).catch(async (e) => {
    throw new Error(`${e.message}; it read: ${JSON.stringify(seen)}; notices: ${JSON.stringify(await noticeText())}`);
  });
}

before(async () => {
  // The provider, then the catalog that points at it.
  const server = start('node', [path.join(root, 'tests/oidc-server/server.mjs')], {
    PORT: '0',
    ACCESS_TOKEN_TTL: '3600',
    // Also the organization's identity provider of an MCP server (its ID-JAGs name this client).
    ID_JAG_CLIENT_ID: 'keyport-enterprise',
  });
  issuer = await new Promise((resolve, reject) => {
    server.stdout.once('data', (d) => resolve(JSON.parse(d.toString()).issuer));
    server.once('exit', () => reject(new Error('the OpenID provider did not start')));
  });
  const common = `issuer = "${issuer}"\nscopes = ["openid", "email", "profile", "offline_access"]\nauthorization_params = { prompt = "consent" }\n`;
  fs.mkdirSync(path.join(home, 'config'), { recursive: true });
  fs.writeFileSync(
    path.join(home, 'config/providers.toml'),
    `# A local OpenID provider three ways: ready, through keyport:// links, and not yet set up.\n` +
      `[providers.demo]\ndisplay_name = "Demo"\nclient_id = "keyport-test"\n${common}\n` +
      `[providers.demo-link]\ndisplay_name = "Demo via deep link"\nclient_id = "keyport-test"\nredirect = "deep_link"\n${common}\n` +
      `[providers.demo-setup]\ndisplay_name = "Demo to set up"\nregistration_url = "${issuer}/register"\n${common}\n` +
      `[providers.demo-port]\ndisplay_name = "Demo by port"\nclient_id = "keyport-test"\n` +
      `variables = { port = { description = "The provider's port" } }\n` +
      `${common.replace(issuer, issuer.replace(/:\d+$/, ':{port}'))}`,
  );

  // WebKitWebDriver starts the app itself, with this environment.
  const port = await freePort();
  const driver = start('WebKitWebDriver', [`--port=${port}`]);
  // The app's stderr reaches us through the driver, which started it.
  driver.stderr.on('data', (d) => {
    appLog += d.toString();
  });
  await listening(port);
  browser = await remote({
    hostname: '127.0.0.1',
    port,
    logLevel: 'error',
    connectionRetryCount: 3,
    connectionRetryTimeout: 30000,
    capabilities: { 'webkitgtk:browserOptions': { binary: app, args: [] } },
  });
  await browser.setTimeout({ implicit: 0 });
});

after(async () => {
  await browser?.deleteSession().catch(() => {});
  if (process.env.KEYPORT_GUI_LOG) fs.writeFileSync(process.env.KEYPORT_GUI_LOG, appLog);
  for (const c of children) c.kill();
  fs.rmSync(home, { recursive: true, force: true });
});

test('the empty window explains Keyport and offers every service', async () => {
  await browser.$('#empty').waitForDisplayed({ timeout: 20000 });
  assert.match(await browser.$('#empty').getText(), /No accounts connected yet/);
  for (const id of ['demo', 'demo-link', 'demo-setup', 'github', 'google']) {
    assert.ok(await browser.$(`button[data-connect='${id}']`).isExisting(), id);
  }
  await browser.$('#provider-search').setValue('git');
  await browser.waitUntil(async () => (await browser.$$('button[data-connect]').length) === 2, {
    timeoutMsg: 'searching "git" should leave GitHub and GitLab',
  });
  // WebDriver cannot type an empty string; clearing is what the person's Ctrl+A, Delete does.
  await browser.execute(() => {
    const search = document.getElementById('provider-search');
    search.value = '';
    search.dispatchEvent(new Event('input'));
  });
  await browser.waitUntil(async () => (await browser.$$('button[data-connect]').length) > 2);
  await shot('empty');
});

test('the service tiles are tidy at 480, 800, 1280 and 1920 px: even, unclipped, whole words, the ready one standing out', async () => {
  const { width, height } = await browser.getWindowSize();
  try {
    for (const w of [480, 800, 1280, 1920]) {
      await browser.setWindowSize(w, 720);
      await browser.waitUntil(async () => Math.abs((await browser.execute(() => window.innerWidth)) - w) <= 24, {
        timeoutMsg: `the window did not become ${w} px wide`,
      });
      await browser.pause(300); // the layout follows the resize
      const layout = await browser.execute(() => {
        const tiles = [...document.querySelectorAll('.providers button.provider')].map((b) => {
          const r = b.getBoundingClientRect();
          const state = b.querySelector('.provider-state');
          const s = state.getBoundingClientRect();
          return {
            id: b.dataset.connect,
            height: Math.round(r.height),
            ready: b.classList.contains('ready'),
            border: getComputedStyle(b).borderColor,
            stateInside: s.right <= r.right + 0.5 && state.scrollWidth <= state.clientWidth + 0.5,
            stateText: state.textContent,
            name: nameFits(b.querySelector('.provider-name')),
          };
        });
        // A name is whole, or cut after its second line with an ellipsis (line-clamp), and no word
        // of it is wider than its box (which would break it mid-word).
        function nameFits(name) {
          const style = getComputedStyle(name);
          const probe = document.createElement('span');
          probe.style.cssText = `font: ${style.font}; white-space: nowrap; position: absolute; visibility: hidden;`;
          document.body.append(probe);
          const widest = Math.max(
            ...name.textContent.split(/\s+/).map((word) => {
              probe.textContent = word;
              return probe.getBoundingClientRect().width;
            }),
          );
          probe.remove();
          const cut = name.scrollHeight > name.clientHeight + 1;
          return {
            text: name.textContent,
            wordsFit: widest <= name.clientWidth + 0.5,
            cutWithEllipsis: !cut || style.webkitLineClamp === '2',
          };
        }
        const wide = [...document.querySelectorAll('body *')]
          .filter((n) => n.getBoundingClientRect().right > window.innerWidth + 0.5)
          .map((n) => `${n.tagName.toLowerCase()}#${n.id}.${n.className} ${Math.round(n.getBoundingClientRect().right)}`);
        return {
          tiles,
          sideways: document.documentElement.scrollWidth > window.innerWidth,
          wide: `${window.innerWidth} px wide; beyond: ${wide.slice(0, 5).join(', ')}`,
        };
      });
      assert.equal(layout.sideways, false, `${w} px: the page scrolls sideways (${layout.wide})`);
      const heights = new Set(layout.tiles.map((t) => t.height));
      assert.equal(heights.size, 1, `${w} px: tiles of different heights ${[...heights]}`);
      for (const t of layout.tiles) assert.ok(t.stateInside, `${w} px: "${t.stateText}" of ${t.id} is clipped`);
      for (const t of layout.tiles) {
        assert.ok(t.name.wordsFit, `${w} px: a word of "${t.name.text}" is wider than its tile and breaks mid-word`);
        assert.ok(t.name.cutWithEllipsis, `${w} px: "${t.name.text}" is cut without an ellipsis`);
      }
      const ready = layout.tiles.filter((t) => t.ready).map((t) => t.id);
      assert.ok(ready.includes('demo') && !ready.includes('demo-setup'), `${w} px: ready tiles ${ready}`);
      const setUp = layout.tiles.find((t) => t.id === 'demo-setup');
      assert.notEqual(layout.tiles.find((t) => t.id === 'demo').border, setUp.border, 'ready looks different');
      await browser.$('#providers').scrollIntoView();
      await shot(`services-${w}`, { scrolled: true });
    }
  } finally {
    await browser.setWindowSize(width, height);
  }
});

test('connect waits for the browser, then lists the account by nickname', async () => {
  await browser.$("button[data-connect='demo']").click();
  await browser.$('#waiting').waitForDisplayed({ timeout: 5000 });
  assert.match(await browser.$('#waiting').getText(), /Finish signing in/);
  await shot('waiting');
  await (await row('alice@example.test')).waitForExist({ timeout: 30000 });
  assert.equal(await browser.$('#waiting').isDisplayed(), false);
  assert.match(await (await row('alice@example.test')).getText(), /OK[\s\S]*Demo · expires in/);
  const [a] = accounts();
  assert.equal(a.nickname, 'alice@example.test');
  assert.ok(keychainItem(a.id)?.access_token, 'the tokens are in the keychain');
});

test('with no browser to open, the dialog says so once and offers the address, Copy and a retry', async () => {
  fs.unlinkSync(browserLink);
  try {
    await browser.$("button[data-connect='demo']").click();
    await browser.$('#waiting-manual').waitForDisplayed({ timeout: 5000 });
    const text = await browser.$('#waiting').getText();
    assert.match(text, /could not open a browser/);
    assert.doesNotMatch(text, /opened Demo's sign-in page/, 'the dialog says one thing');
    const url = await browser.$('#waiting-url').getText();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/.*code_challenge=/s, 'the whole address is shown');
    const box = await browser.$('#waiting-url').getSize();
    const dialog = await browser.$('#waiting').getSize();
    assert.ok(box.width <= dialog.width, 'the address wraps inside the dialog');
    await browser.$('#waiting-copy').click();
    await waitForText('#waiting-copy', 'Copied');
    const copied = execFileSync('xclip', ['-o', '-selection', 'clipboard'], { env, encoding: 'utf8', timeout: 5000 });
    assert.equal(copied.replace(/\s+/g, ''), url.replace(/\s+/g, ''));
    await shot('no-browser');
  } finally {
    placeBrowser();
  }
  const before = accounts().length;
  await browser.$('#waiting-retry').click();
  await browser.$('#waiting').waitForDisplayed({ reverse: true, timeout: 30000 });
  await waitForText('#notices', 'Connected alice@example.test');
  assert.equal(accounts().length, before, 'the same account, reconnected');
});

test('cancel stops a sign-in and stores nothing', async () => {
  await browser.$("button[data-connect='demo']").click();
  await browser.$('#waiting-cancel').waitForClickable({ timeout: 5000 });
  await browser.$('#waiting-cancel').click();
  await waitForText('#notices', 'Sign-in cancelled');
  await browser.pause(2500); // the browser, signing in late, must find nobody listening
  assert.equal(accounts().length, 1);
});

test('refresh now gets new tokens from the provider', async () => {
  const [a] = accounts();
  const before = keychainItem(a.id);
  const refreshes = (await stats()).grants.refresh_token ?? 0;
  await (await action('alice@example.test', 'refresh')).click();
  await waitForText('#notices', 'Refreshed alice@example.test');
  assert.equal((await stats()).grants.refresh_token, refreshes + 1);
  assert.notEqual(keychainItem(a.id).access_token, before.access_token);
});

test('a notice coming and going moves no row, whatever the window shows', async () => {
  // The rows a person clicks in a row (Refresh, then Revoke, then Forget…) stay where they were
  // aimed at while confirmations come and go: a stack above the rows moved them by a notice's
  // height each time.
  const refresh = await action('alice@example.test', 'refresh');
  const revoke = await action('alice@example.test', 'revoke');
  await revoke.moveTo();
  const before = await revoke.getLocation();
  // The notices already shown are marked: the new one is the one without the mark (the stack is
  // short, so their count need not grow).
  await browser.execute(() => document.querySelectorAll('.notice').forEach((n) => n.setAttribute('data-seen', '')));
  await refresh.click();
  await browser.$('.notice:not([data-seen])').waitForExist({ timeoutMsg: 'no confirmation came' });
  assert.deepEqual(await revoke.getLocation(), before, 'the row moved when the notice came');
  await browser.waitUntil(async () => !(await noticeText()).includes('Refreshed alice@example.test'), {
    timeout: 10000,
    timeoutMsg: 'the confirmation never faded',
  });
  assert.deepEqual(await revoke.getLocation(), before, 'the row moved when the notice went');
  // Seen at all: on the window's bottom edge when the page is taller than the window.
  await refresh.click();
  await waitForText('#notices', 'Refreshed alice@example.test');
  const inView = await browser.execute(() => {
    const box = document.querySelector('.notice').getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight;
  });
  assert.ok(inView, 'the notice is outside the window');
});

test('rename changes the nickname everywhere', async () => {
  await (await action('alice@example.test', 'rename')).click();
  await browser.$('#rename-input').waitForDisplayed();
  await browser.$('#rename-input').setValue('Work account');
  await browser.$('#rename-save').click();
  await (await row('Work account')).waitForExist({ timeout: 10000 });
  assert.equal(accounts()[0].nickname, 'Work account');
});

test('a change made with the CLI shows up without touching the window, and a click spanning it still lands', async () => {
  // The button is pressed, the list redraws under it (the rename below), then the button is
  // released: a person's click that straddles a redraw, which must still act, and on the account
  // as it is now. The page notes when the list changed and when the button came up.
  const rename = await action('Work account', 'rename');
  await browser.execute(() => {
    window.__straddle = {};
    new MutationObserver(() => (window.__straddle.redrawn ??= performance.now())).observe(
      document.getElementById('accounts'),
      { subtree: true, childList: true, characterData: true, attributes: true },
    );
    document.addEventListener('mouseup', () => (window.__straddle.released = performance.now()), { once: true });
  });
  const id = accounts()[0].id;
  const renaming = new Promise((resolve) =>
    setTimeout(() => spawn(cli, ['rename', id, 'Renamed in a terminal'], { env, stdio: 'ignore' }).on('exit', resolve), 300),
  );
  await browser.action('pointer').move({ origin: rename }).down().pause(3000).up().perform();
  assert.equal(await renaming, 0);
  await (await row('Renamed in a terminal')).waitForExist({ timeout: 5000 });
  const t = await browser.execute(() => window.__straddle);
  assert.ok(t.redrawn < t.released, `the list did not redraw while the button was down: ${JSON.stringify(t)}`);
  await browser.$('#rename-input').waitForDisplayed({ timeout: 5000, timeoutMsg: 'the click was lost in the redraw' });
  assert.equal(await browser.$('#rename-input').getValue(), 'Renamed in a terminal');
  await browser.$('#rename-cancel').click();
  await browser.$('#rename').waitForDisplayed({ reverse: true, timeout: 5000 });
});

test('a service without a client id opens the setup form, then connects', async () => {
  await browser.$("button[data-connect='demo-setup']").click();
  await browser.$('#setup').waitForDisplayed({ timeout: 5000 });
  const text = await browser.$('#setup').getText();
  assert.match(text, /Set up Demo to set up/);
  assert.match(text, /http:\/\/127\.0\.0\.1\/callback/);
  await shot('setup');
  await browser.$('#setup-save').click(); // empty: the form refuses it
  assert.equal(await browser.$('#setup').isDisplayed(), true);
  await browser.$('#setup-client-id').setValue('keyport-test');
  await browser.$('#setup-save').click();
  await browser.waitUntil(() => accounts().some((a) => a.provider === 'demo-setup'), { timeout: 30000 });
  await browser.$('#waiting').waitForDisplayed({ reverse: true, timeout: 5000 });
  const file = fs.readFileSync(path.join(home, 'config/providers.toml'), 'utf8');
  assert.match(file, /^# A local OpenID provider three ways/, 'the user file keeps its comments');
  assert.match(file, /client_id = "keyport-test"/);
});

test('a service added by its issuer URL appears in the list and connects', async () => {
  await browser.$('#add-provider').click();
  await browser.$('#add').waitForDisplayed({ timeout: 5000 });
  await browser.$('#add-issuer').setValue(`${issuer}/nothing-here`);
  await browser.$('#add-save').click();
  await browser.$('#add-error').waitForDisplayed({ timeout: 15000 });
  assert.match(await browser.$('#add-error').getText(), /404/, 'a wrong issuer is explained in the form');
  await browser.$('#add-issuer').setValue(issuer);
  await browser.$('#add-name').setValue('Corp SSO');
  await browser.$('#add-client-id').setValue('keyport-test');
  await shot('add-provider');
  await browser.$('#add-save').click();
  await browser.$('#add').waitForDisplayed({ reverse: true, timeout: 15000 });
  const button = browser.$("button[data-connect='127-0-0-1']");
  assert.equal(await button.getAttribute('aria-label'), 'Connect Corp SSO');
  // (WebKitWebDriver's visible-text rule skips text in a box with overflow: hidden, which the
  // two-line name clamp uses; the name is on screen, as the screenshots show.)
  assert.equal(await button.$('.provider-name').getProperty('textContent'), 'Corp SSO');
  await button.click();
  await browser.waitUntil(() => accounts().some((a) => a.provider === '127-0-0-1'), { timeout: 30000 });
  await browser.$('#waiting').waitForDisplayed({ reverse: true, timeout: 5000 });
  const file = fs.readFileSync(path.join(home, 'config/providers.toml'), 'utf8');
  assert.match(file, /\[providers\.127-0-0-1\]/);
  assert.match(file, /device_authorization_url = /);
  // Without prompt=consent this provider issued no refresh token; later tests refresh every account.
  keyport('disconnect', accounts().find((a) => a.provider === '127-0-0-1').id);
});

test('an MCP server added by its URL is signed in to and listed as an account', async () => {
  // A real MCP server and authorization server on the official Python SDK (tests/mcp-server).
  const url = await startMcpServer({
    PORT: '0',
  });
  await browser.$('#add-mcp').click();
  await browser.$('#mcp').waitForDisplayed();
  await browser.$('#mcp-url').setValue(url);
  await shot('add-mcp');
  // The dialog at a narrow and a wide window: it fits, nothing scrolls sideways.
  const { width, height } = await browser.getWindowSize();
  for (const w of [480, 1280]) {
    await browser.setWindowSize(w, 720);
    await browser.pause(300);
    const fits = await browser.execute(() => {
      const r = document.getElementById('mcp').getBoundingClientRect();
      return r.left >= 0 && r.right <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth;
    });
    assert.ok(fits, `${w} px: the MCP dialog does not fit the window`);
    await shot(`add-mcp-${w}`);
  }
  await browser.setWindowSize(width, height);
  await browser.$('#mcp-save').click();
  // Named after what the server says it is (its serverInfo), not its host and port, and marked.
  const name = 'keyport-test-mcp';
  await browser.waitUntil(async () => (await row(name)).isExisting(), {
    timeout: 30000,
    timeoutMsg: 'the MCP server is not listed as an account under its own name',
  });
  assert.equal(await (await (await row(name)).$('.badge-mcp')).getText(), 'MCP server');
  // Its service tile reads the same, not its host and port.
  const server_id = accounts().find((a) => a.nickname === name).provider;
  const tile = () => browser.$(`#providers [data-connect='${server_id}']`);
  let title = '';
  await browser
    .waitUntil(async () => (title = await (await tile()).getAttribute('title')) === name)
    .catch(() => assert.fail(`the service tile still names ${title}`));
  await shot('mcp-account');
  for (const w of [480, 1280]) {
    await browser.setWindowSize(w, 720);
    await browser.pause(300);
    await (await row(name)).scrollIntoView();
    await shot(`mcp-account-${w}`, { scrolled: true });
  }
  await browser.setWindowSize(width, height);
  const account = accounts().find((a) => a.nickname === name);
  assert.ok(account, `an account named after the server: ${JSON.stringify(accounts())}`);
  const stats = await (await fetch(url.replace(/mcp$/, 'test/stats'))).json();
  assert.equal(stats.registrations, 1);
  assert.equal(stats.last_token_resource, url, 'the tokens are for that server');
  // Disconnected again, so that the other tests see the accounts they expect.
  keyport('disconnect', '--local-only', account.id);
});

test("an MCP server added through my organization's sign-in connects with no browser", async () => {
  // The organization's identity provider is the demo provider (an ID token of a demo account is
  // exchanged there for an ID-JAG); the MCP server's authorization server knows the client the
  // organization registered for Keyport.
  const person = accounts().find((a) => a.provider === 'demo' && a.status === 'ok');
  assert.ok(person, `a demo account to sign in with: ${JSON.stringify(accounts())}`);
  const url = await startMcpServer({
    PORT: '0',
    PRE_REGISTERED: 'keyport-enterprise:enterprise-secret',
    ID_JAG_ISSUER: issuer,
  });
  await browser.$('#add-mcp').click();
  await browser.$('#mcp').waitForDisplayed();
  await browser.$('#mcp-url').setValue(url);
  await browser.$('#mcp-org summary').click();
  await browser.$('#mcp-via').selectByAttribute('value', person.id);
  await browser.$('#mcp-client-id').setValue('keyport-enterprise');
  await browser.$('#mcp-client-secret').setValue('enterprise-secret');
  // The opened part at a narrow and a wide window: it fits, nothing scrolls sideways.
  const { width, height } = await browser.getWindowSize();
  for (const w of [480, 1280]) {
    await browser.setWindowSize(w, 720);
    await browser.pause(300);
    const fits = await browser.execute(() => {
      const r = document.getElementById('mcp').getBoundingClientRect();
      return r.left >= 0 && r.right <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth;
    });
    assert.ok(fits, `${w} px: the organization sign-in does not fit the window`);
    await shot(`add-mcp-organization-${w}`);
  }
  await browser.setWindowSize(width, height);
  await browser.$('#mcp-save').click();
  await browser.waitUntil(async () => (await row('keyport-test-mcp')).isExisting(), {
    timeout: 30000,
    timeoutMsg: 'the MCP server is not listed after the organization sign-in',
  });
  const stats = await (await fetch(url.replace(/mcp$/, 'test/stats'))).json();
  assert.equal(stats.identity_assertions, 1, 'signed in with an ID-JAG');
  assert.equal(stats.authorizations, 0, 'no browser sign-in at the server');
  const account = accounts().find((a) => a.nickname === 'keyport-test-mcp');
  keyport('disconnect', '--local-only', account.id);
});

test('a service with variables asks for them, then connects there', async () => {
  await browser.$("button[data-connect='demo-port']").click();
  await browser.$('#vars').waitForDisplayed({ timeout: 5000 });
  assert.match(await browser.$('#vars').getText(), /The provider's port/);
  const input = browser.$("#vars input[data-variable='port']");
  await input.setValue('80/evil');
  await browser.$('#vars-ok').click();
  assert.equal(await browser.$('#vars').isDisplayed(), true, 'a value with a slash is refused');
  await input.setValue(new URL(issuer).port);
  await browser.$('#vars-ok').click();
  await browser.waitUntil(() => accounts().some((a) => a.provider === 'demo-port'), { timeout: 30000 });
  await browser.$('#waiting').waitForDisplayed({ reverse: true, timeout: 5000 });
});

test('a keyport:// redirect reaches the running window through a second instance', async () => {
  const count = accounts().length;
  await browser.$("button[data-connect='demo-link']").click();
  await browser.waitUntil(() => accounts().some((a) => a.provider === 'demo-link'), {
    timeout: 30000,
    timeoutMsg: 'the deep-link sign-in did not complete',
  });
  assert.equal(accounts().length, count + 1);
  await browser.$('#waiting').waitForDisplayed({ reverse: true, timeout: 5000 });
  await (await row('alice@example.test')).waitForExist({ timeout: 5000 });
  await shot('list');
  await atWidths('list');
});

test('a keyport:// link that belongs to no sign-in is explained and stores nothing', async () => {
  const count = accounts().length;
  run(app, ['keyport://oauth/callback?code=forged&state=forged']);
  await waitForText('#notices', 'no sign-in in progress');
  assert.equal(accounts().length, count);
});

test('revoke keeps the row, marked needs reconnect; reconnect brings it back', async () => {
  const nickname = 'Renamed in a terminal';
  await (await action(nickname, 'revoke')).click();
  await waitForRow(nickname, 'Needs reconnect', 15000);
  await shot('needs-reconnect');
  // A program without a terminal that Keyport has not seen asks for it now: one answer, the
  // real one (needs reconnecting, exit 4, what to run), and no question before it, since no
  // token could follow whatever the person said.
  const id = accounts().find((a) => a.nickname === nickname).id;
  const r = await tokenRequest(id);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /needs to be reconnected/);
  assert.match(r.stderr, /keyport connect demo/);
  assert.equal(await browser.$('#consent').isDisplayed(), false, 'no question was asked');
  await (await action(nickname, 'reconnect')).click();
  await waitForRow(nickname, 'OK', 30000);
  assert.equal(accounts().filter((a) => a.provider === 'demo').length, 1, 'reconnect updates, never duplicates');
});

test('the webview never receives a token', async () => {
  const secrets = accounts()
    .map((a) => keychainItem(a.id))
    .flatMap((t) => [t.access_token, t.refresh_token, t.id_token])
    .filter(Boolean);
  assert.ok(secrets.length >= 6);
  // Everything the page can ask for, asked for by the page itself.
  const answers = await browser.executeAsync((done) => {
    const invoke = window.__TAURI_INTERNALS__.invoke;
    Promise.all([
      invoke('list_accounts'),
      invoke('list_providers'),
      invoke('recent_uses'),
      invoke('list_accounts').then((all) => Promise.all(all.map((a) => invoke('refresh_account', { account: a.id })))),
    ])
      .then((r) => done(JSON.stringify(r)))
      .catch((e) => done(`error: ${JSON.stringify(e)}`));
  });
  assert.ok(!answers.startsWith('error'), answers);
  const page = await browser.getPageSource();
  const fresh = accounts()
    .map((a) => keychainItem(a.id))
    .flatMap((t) => [t.access_token, t.refresh_token]);
  for (const s of [...secrets, ...fresh]) {
    assert.ok(!answers.includes(s), 'a command answer carried a token');
    assert.ok(!page.includes(s), 'the page holds a token');
  }
});

test('at 200% zoom the window reflows instead of scrolling sideways', async () => {
  const size = await browser.execute(() => {
    document.documentElement.style.zoom = '2';
    const root = document.documentElement;
    return { scroll: root.scrollWidth, width: root.clientWidth, zoom: getComputedStyle(root).zoom };
  });
  await shot('zoom-200');
  await browser.execute(() => {
    document.documentElement.style.zoom = '';
  });
  assert.equal(size.zoom, '2');
  assert.ok(size.scroll <= size.width + 1, `horizontal scrolling at 200%: ${JSON.stringify(size)}`);
});

test('a second start hands over to the running window and exits', async () => {
  const { KEYPORT_HOME, DBUS_SESSION_BUS_ADDRESS, DISPLAY, HOME, XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR, PATH } = env;
  const plain = { KEYPORT_HOME, DBUS_SESSION_BUS_ADDRESS, DISPLAY, HOME, XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR, PATH };
  execFileSync(app, [], { env: plain, timeout: 20000, stdio: 'ignore' });
  const running = execFileSync('pgrep', ['-f', '-x', app], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(running.length, 1, `one app process, not ${running.length}`);
  assert.ok(await (await row('Renamed in a terminal')).isExisting(), 'the first window still works');
});

test('"Open at login" writes an autostart entry that starts Keyport hidden, and removes it', async () => {
  const dir = path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'autostart');
  const entries = () => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.desktop')) : []);
  // This session has no tray host: the window says what closing it does.
  await waitForText('#background-note', 'closing this window quits Keyport');
  const toggle = browser.$('#login-start');
  assert.equal(await toggle.isSelected(), false, 'off by default');
  assert.deepEqual(entries(), []);
  await toggle.click();
  await browser.waitUntil(async () => entries().length === 1, { timeoutMsg: 'no autostart entry was written' });
  const entry = fs.readFileSync(path.join(dir, entries()[0]), 'utf8');
  assert.match(entry, /^Exec=.*keyport-app.* --hidden$/m);
  await shot('login-start');
  await toggle.click();
  await browser.waitUntil(async () => entries().length === 0, { timeoutMsg: 'the autostart entry stayed' });
  assert.equal(await toggle.isSelected(), false);
});

// `keyport token` run by this test process: to Keyport, a program called node asking.
function tokenRequest(id, extraEnv = {}) {
  return new Promise((resolve) => {
    const child = spawn(cli, ['token', id], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      appLog += stderr;
      resolve({ code, stdout, stderr });
    });
  });
}

test('a program Keyport has not seen waits for Allow once, Deny, no answer, and Always; answers are kept and forgotten', async () => {
  const account = accounts().find((a) => a.nickname === 'Renamed in a terminal');
  const token = () => keychainItem(account.id).access_token;
  const node = fs.realpathSync(process.execPath);
  const question = async () => {
    await browser.$('#consent').waitForDisplayed({ timeout: 10000 });
    const text = await browser.$('#consent').getText();
    assert.match(text, /Allow node to use demo:Renamed in a terminal\?/);
    assert.ok(text.includes(node), `the dialog names the executable ${node}: ${text}`);
  };

  let asked = tokenRequest(account.id);
  await question();
  await shot('consent');
  await atWidths('consent');
  await browser.$('#consent-once').click();
  let r = await asked;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), token());

  asked = tokenRequest(account.id);
  await question();
  await browser.$('#consent-deny').click();
  r = await asked;
  assert.equal(r.code, 9, r.stderr);
  assert.match(r.stderr, /node may not use demo:Renamed in a terminal: you denied it .*Forget it under the account/);
  assert.equal(r.stdout, '');
  // Remembered: refused again without a question.
  r = await tokenRequest(account.id);
  assert.equal(r.code, 9);
  assert.equal(await browser.$('#consent').isDisplayed(), false);
  const answers = async () => (await row('Renamed in a terminal')).$('.consents');
  await browser.waitUntil(async () => (await (await answers()).getText()).includes('node denied'), {
    timeoutMsg: 'the denial is not shown under the account',
  });
  await shot('consent-remembered');
  await atWidths('consent-remembered');
  await (await (await answers()).$(`button[data-forget='${node}']`)).click();
  await browser.waitUntil(async () => !(await (await answers()).isExisting()), { timeoutMsg: 'Forget left the answer' });

  // Nobody answers: the program gives up with exit code 9 and the question leaves the window.
  asked = tokenRequest(account.id);
  await question();
  r = await asked;
  assert.equal(r.code, 9, r.stderr);
  assert.match(r.stderr, /nobody answered/);
  await browser.$('#consent').waitForDisplayed({ reverse: true, timeout: 5000 });
  // It leaves a trace: the person learns a program was refused.
  await waitForText('#notices', 'node stopped waiting for your answer and got no token');
  await atWidths('consent-timed-out', { keepNotices: true });

  // A key press can be a slip: Enter denies this time only, and nothing is kept.
  asked = tokenRequest(account.id);
  await question();
  await browser.keys('Enter');
  r = await asked;
  assert.equal(r.code, 9, r.stderr);
  assert.match(r.stderr, /you denied it this time/);
  asked = tokenRequest(account.id);
  await question();
  await browser.keys('Escape');
  r = await asked;
  assert.equal(r.code, 9, 'Escape denies this time too');
  assert.equal(await (await row('Renamed in a terminal')).$('.consents').isExisting(), false, 'no answer was kept');

  asked = tokenRequest(account.id);
  await question();
  await browser.$('#consent-always').click();
  assert.equal((await asked).code, 0);
  r = await tokenRequest(account.id);
  assert.equal(r.code, 0, 'Always is remembered');
  assert.equal(await browser.$('#consent').isDisplayed(), false);
  await browser.waitUntil(async () => (await (await answers()).getText()).includes('node always allowed'));

  // The user's own commands in a terminal (here xterm on the test's display): asked once for
  // that terminal session, whatever hosts it; "Allow in this terminal" lets the next command in
  // it through unasked, and keeps nothing beyond it.
  const printed = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-xterm-')), 'out');
  const again = path.join(path.dirname(printed), 'again');
  const exited = (child) => new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const typed = exited(
    spawn('xterm', ['-e', 'sh', '-c', `'${cli}' token '${account.id}' > '${printed}' 2>&1; '${cli}' token '${account.id}' > '${again}' 2>&1; true`], {
      env,
      stdio: 'ignore',
    }),
  );
  await browser.$('#consent').waitForDisplayed({ timeout: 10000 });
  assert.match(await browser.$('#consent').getText(), /run in the terminal pts\/\d+, opened by xterm,/);
  assert.equal(await browser.$('#consent-always').getText(), 'Allow in this terminal');
  await atWidths('consent-terminal');
  await browser.$('#consent-always').click();
  assert.equal(await typed, 0);
  assert.equal(fs.readFileSync(printed, 'utf8').trim(), token(), 'keyport token in xterm printed the token');
  assert.equal(fs.readFileSync(again, 'utf8').trim(), token(), 'the next command in that terminal was not asked');
  assert.equal(await browser.$('#consent').isDisplayed(), false, 'one question for the terminal');
  // Another terminal session (`xterm -e keyport exec …`, run by the terminal with no shell) is
  // asked its own question.
  const direct = path.join(path.dirname(printed), 'direct');
  const started = exited(
    spawn('xterm', ['-e', cli, 'exec', account.id, '--env', 'T', '--', 'sh', '-c', `printf %s "$T" > '${direct}'`], {
      env,
      stdio: 'ignore',
    }),
  );
  await browser.$('#consent').waitForDisplayed({ timeout: 10000 });
  assert.match(await browser.$('#consent').getText(), /opened by xterm/);
  await browser.$('#consent-once').click();
  assert.equal(await started, 0);
  assert.equal(fs.readFileSync(direct, 'utf8'), token(), 'keyport exec run by xterm got the token');
  await browser.$('#consent').waitForDisplayed({ reverse: true, timeout: 5000 });

  // A terminal a program made for itself, which nobody sees (`script` in a new session), is a
  // terminal session like any: asked about, named by what opened it.
  const hidden = new Promise((resolve) => {
    const child = spawn('setsid', ['script', '-qec', `'${cli}' token '${account.id}'; true`, '/dev/null'], {
      env: { ...env, SHELL: '/bin/sh' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
  await browser.$('#consent').waitForDisplayed({ timeout: 10000 });
  // The shell `script` ran is looked through: the question is about `script`, through the shell.
  assert.match(await browser.$('#consent').getText(), /Allow script, through (sh|dash), to use demo:Renamed in a terminal\?/);
  await browser.$('#consent-once').click();
  r = await hidden;
  assert.equal(r.code, 0);
  assert.ok(r.stdout.includes(token()), `allowed once, it got the token: ${r.stdout}`);
  await browser.$('#consent').waitForDisplayed({ reverse: true, timeout: 5000 });

  // Python's `os.system` runs its command through /bin/sh: the question is about Python, named
  // with the shell, and "Always" is kept for Python, never for the shell: Perl's `system`,
  // through the same shell, is asked about again.
  const run = (program, args) =>
    new Promise((resolve) => {
      const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.on('exit', (code) => resolve({ code, stdout }));
    });
  const pythonSystem = () =>
    run('/usr/bin/python3', ['-c', `import os, sys; sys.exit(os.system("'${cli}' token '${account.id}' >/dev/null; true") >> 8)`]);
  const first = pythonSystem();
  await browser.$('#consent').waitForDisplayed({ timeout: 10000 });
  assert.match(await browser.$('#consent').getText(), /Allow python3[.0-9]*, through (sh|dash), to use demo:Renamed in a terminal\?/);
  await shot('consent-through-a-shell');
  await browser.$('#consent-always').click();
  assert.equal((await first).code, 0);
  assert.equal((await pythonSystem()).code, 0, 'Always is kept for Python');
  assert.equal(await browser.$('#consent').isDisplayed(), false, 'no question for Python again');
  const perl = run('/usr/bin/perl', ['-e', `exit(system("'${cli}' token '${account.id}' >/dev/null") >> 8)`]);
  await browser.$('#consent').waitForDisplayed({ timeout: 10000 });
  assert.match(await browser.$('#consent').getText(), /Allow perl[.0-9]*(, through (sh|dash),)? to use/);
  await browser.$('#consent-deny').click();
  assert.equal((await perl).code, 9, 'the shell\'s "Always" for Python is not Perl\'s');
  await browser.$('#consent').waitForDisplayed({ reverse: true, timeout: 5000 });
  // Forgotten again: the tests after this one ask about Python programs afresh.
  for (const exe of ['/usr/bin/python3', '/usr/bin/perl'].map((p) => fs.realpathSync(p))) {
    await browser.waitUntil(async () => (await answers()).isExisting(), { timeoutMsg: 'the answers are not listed' });
    await (await (await answers()).$(`button[data-forget='${exe}']`)).click();
    await browser.waitUntil(async () => !(await (await answers()).getText()).includes(path.basename(exe)), {
      timeoutMsg: `Forget left the answer for ${exe}`,
    });
  }

  // Asking turned off: an unknown program gets its token without a question. (The question is
  // closed first: it is a modal dialog, and while it is open a click on the page behind is lost.)
  await browser.$('#consent').waitForDisplayed({ reverse: true, timeout: 5000 });
  await browser.$('#consent-ask').click();
  await browser.waitUntil(async () => !(await browser.$('#consent-ask').isSelected()));
  r = await tokenRequest(account.id);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await browser.$('#consent').isDisplayed(), false);
  const viaPython = spawnSync('python3', ['-c', `import subprocess; print(subprocess.run(['${cli}', 'token', '${account.id}'], capture_output=True, text=True).returncode)`], {
    env,
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.equal(viaPython.stdout.trim(), '0', viaPython.stderr);
  // A use with no question still shows under the account, with nothing done in the window.
  const byPerl = spawnSync('/usr/bin/perl', ['-e', `exit(system('${cli}', 'token', '${account.id}') >> 8)`], {
    env,
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.equal(byPerl.status, 0, byPerl.stderr);
  await waitForRow('Renamed in a terminal', 'perl', 5000);
  await (await row('Renamed in a terminal')).scrollIntoView();
  await atWidths('recently-used', { scrolled: true });
  await browser.$('#consent-ask').click();
  await browser.waitUntil(async () => browser.$('#consent-ask').isSelected());
});

test('a program that runs another program while its question is open gets nothing', async () => {
  // It runs `keyport token` with its output into a pipe, then, while the window asks about it,
  // replaces itself with a shell that reads that pipe: the answer "Allow once" was about it,
  // and the shell is another program.
  const account = accounts().find((a) => a.nickname === 'Renamed in a terminal');
  const script = [
    'import os, subprocess, sys',
    'r, w = os.pipe()',
    `subprocess.Popen([${JSON.stringify(cli)}, 'token', ${JSON.stringify(account.id)}], stdout=w)`,
    'os.close(w)',
    'sys.stdin.readline()',
    'os.set_inheritable(r, True)',
    "os.execv('/bin/sh', ['sh', '-c', f'cat <&{r}'])",
  ].join('\n');
  const child = spawn('/usr/bin/python3', ['-c', script], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) => child.on('exit', resolve));
  await browser.$('#consent').waitForDisplayed({ timeout: 10000 });
  assert.match(await browser.$('#consent').getText(), /Allow python3[.\d]* to use demo:Renamed in a terminal\?/);
  child.stdin.write('now\n');
  child.stdin.end();
  // The exec has happened once the program is a shell; then the person allows.
  const comm = () => {
    try {
      return fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
    } catch {
      return `(ended: ${stderr})`;
    }
  };
  await browser.waitUntil(() => comm() === 'sh', {
    timeout: 5000,
    timeoutMsg: `the program did not become a shell: ${comm()}`,
  });
  await browser.$('#consent-once').click();
  await done;
  appLog += stderr;
  assert.equal(stdout, '', 'the shell read no token');
  assert.match(stderr, /ran another program while it asked/);
  assert.ok(!stdout.includes(keychainItem(account.id).access_token));
});

test("the Python client's program is the one asked about, also from inside a sandbox given the agent's socket", async () => {
  // The package asks the agent over its socket itself: the question names Python, not Keyport's CLI.
  const account = accounts().find((a) => a.nickname === 'Renamed in a terminal');
  const pythonEnv = { ...env, PYTHONPATH: path.join(root, 'clients/python'), PATH: '/usr/bin:/bin' };
  const run = (program, args) =>
    new Promise((resolve) => {
      const child = spawn(program, args, { env: pythonEnv, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  const code = `import keyport; print(keyport.token(${JSON.stringify(account.id)}).access_token)`;
  const allowOnce = async (asking, inSandbox = false) => {
    await browser.$('#consent').waitForDisplayed({ timeout: 10000 });
    const text = await browser.$('#consent').getText();
    assert.match(text, /Allow python3[.\d]* to use demo:Renamed in a terminal\?/);
    assert.ok(text.includes(fs.realpathSync('/usr/bin/python3')), `the dialog names Python's executable: ${text}`);
    // A program in another root: its path may name another file than this machine's, so no
    // answer is kept for it, and "Always" is not offered.
    assert.equal(await browser.$('#consent-always').isDisplayed(), !inSandbox, 'Always offered as kept answers allow');
    if (inSandbox) assert.match(text, /a program in a container or sandbox/);
    if (inSandbox) await atWidths('consent-sandbox');
    await browser.$('#consent-once').click();
    const done = await asking;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout.trim(), keychainItem(account.id).access_token);
    await browser.$('#consent').waitForDisplayed({ reverse: true, timeout: 5000 });
  };
  await allowOnce(run('/usr/bin/python3', ['-c', code]));

  // The bubblewrap command of docs/integrations.md, with this home's socket and account.
  const docs = fs.readFileSync(path.join(root, 'docs/integrations.md'), 'utf8');
  const section = docs.slice(docs.indexOf('\n## Containers and sandboxes\n'));
  const bwrap = section.slice(section.indexOf('```sh\nbwrap ') + 6).split('```')[0];
  const socket = (await run('/usr/bin/python3', ['-c', 'import keyport; print(keyport.agent_socket())'])).stdout.trim();
  assert.ok(fs.existsSync(socket), `the client finds the app's socket: ${socket}`);
  const sandboxed = bwrap
    .replace('"$XDG_RUNTIME_DIR/keyport/agent.sock"', `'${socket}'`)
    .replace('"github"', JSON.stringify(account.id));
  // Run by this test (node, through sh and bwrap): the program asked about is the one inside.
  await allowOnce(run('/bin/sh', ['-c', sandboxed]), true);
  const last = JSON.parse(fs.readFileSync(path.join(home, 'data/audit.jsonl'), 'utf8').trim().split('\n').pop());
  assert.match(last.program, /^python3/, JSON.stringify(last));
});

test("an MCP client's first call is answered though the question outlasted the server's kept-alive connection", async () => {
  // The server closes idle connections after 1 s; the bridge's first request (refused: no token
  // yet) left one in its pool, then a sign-in, then the question, answered after 1.5 s. The call
  // must not fail on the connection the server closed meanwhile. (People take 30 s and more, and
  // servers keep connections 5 to 75 s: the same race, shortened to fit the 4 s a question waits
  // in this suite.)
  const url = await startMcpServer({ PORT: '0', KEEP_ALIVE: '1' });
  const client = start(path.join(root, '.tools/mcp-venv/bin/python'), [
    path.join(root, 'tests/mcp-server/modern_client.py'),
    cli,
    'mcp',
    url,
    '--timeout',
    '30',
  ], { MODE: 'legacy' });
  let out = '';
  let err = '';
  client.stdout.on('data', (d) => { out += d; });
  client.stderr.on('data', (d) => { err += d; });
  const ended = new Promise((resolve) => client.once('exit', resolve));
  await browser.$('#consent').waitForDisplayed({ timeout: 30000 });
  assert.match(await browser.$('#consent').getText(), /to use the MCP server keyport-test-mcp\?/);
  await shot('consent-mcp');
  await browser.pause(1500);
  await browser.$('#consent-once').click();
  assert.equal(await ended, 0, err);
  const said = JSON.parse(out);
  assert.ok(said.calls[0].includes(url), JSON.stringify(said));
  const account = accounts().find((a) => a.nickname === 'keyport-test-mcp');
  keyport('disconnect', '--local-only', account.id);
});

/** A real MCP server on the official Python SDK (tests/mcp-server) with `vars`; its URL. */
async function startMcpServer(vars) {
  const server = start(path.join(root, '.tools/mcp-venv/bin/python'), [path.join(root, 'tests/mcp-server/server.py')], vars);
  return new Promise((resolve, reject) => {
    server.stdout.once('data', (d) => resolve(JSON.parse(d.toString()).url));
    server.once('exit', () => reject(new Error('the MCP server did not start')));
  });
}

// OpenSSH's sshd on a loopback port, run by this user: its sessions play a machine reached over
// SSH (a home of their own, no accounts, no keychain).
async function startSshd() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-gui-sshd-'));
  const remoteHome = path.join(dir, 'home');
  fs.mkdirSync(remoteHome);
  for (const key of ['host_key', 'client_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, key)]);
  if (process.getuid() === 0) fs.mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    `Port ${port}\nListenAddress 127.0.0.1\nHostKey ${dir}/host_key\nAuthorizedKeysFile ${dir}/client_key.pub\n` +
      `PidFile none\nUsePAM no\nPermitRootLogin prohibit-password\nStrictModes no\nAllowStreamLocalForwarding yes\n` +
      `LogLevel ERROR\nSetEnv HOME=${remoteHome} XDG_RUNTIME_DIR=\n`,
  );
  start('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')]);
  await listening(port);
  const user = os.userInfo().username;
  return {
    destination: `${user}@127.0.0.1`,
    args: ['-p', String(port), '-i', path.join(dir, 'client_key'), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `${user}@127.0.0.1`],
  };
}

test('a program on a machine reached with keyport ssh is asked about on the desktop, named as that machine says', async () => {
  const account = accounts().find((a) => a.nickname === 'Renamed in a terminal');
  const ssh = await startSshd();
  // `keyport token` run by python3 on the remote: what the remote says asks.
  const remoteToken = () =>
    new Promise((resolve) => {
      const remote = `python3 -c "import subprocess, sys; sys.exit(subprocess.call(['${cli}', 'token', '${account.id}']))"`;
      const child = spawn(cli, ['ssh', ...ssh.args, remote], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  // Off until allowed: refused over there with a sentence, and nothing is asked here.
  let r = await remoteToken();
  assert.equal(r.code, 9, r.stderr);
  assert.match(r.stderr, /no account allowed over SSH matches/);
  assert.equal(await browser.$('#consent').isDisplayed(), false);

  await (await action('Renamed in a terminal', 'ssh')).click();
  await browser.waitUntil(async () => (await (await action('Renamed in a terminal', 'ssh')).getText()) === 'Stop SSH use', {
    timeoutMsg: 'the account was not allowed over SSH',
  });
  assert.equal(accounts().find((a) => a.id === account.id).over_ssh, true);

  const asked = remoteToken();
  await browser.$('#consent').waitForDisplayed({ timeout: 10000 });
  const text = await browser.$('#consent').getText();
  const dest = ssh.destination.replace(/[.]/g, '\\.');
  assert.match(text, new RegExp(`Allow python3[.\\d]* on ${dest} \\(over SSH\\) to use demo:Renamed in a terminal\\?`));
  assert.ok(text.includes('is what that machine says it is'), text);
  assert.ok(text.includes(`Through your SSH connection to ${ssh.destination}`), text);
  // At a narrow window the question fits as it is (the program waits a few seconds only).
  const size = await browser.getWindowSize();
  await browser.setWindowSize(480, 720);
  await browser.pause(200);
  const fits = await browser.execute(() => {
    const r = document.getElementById('consent').getBoundingClientRect();
    return r.left >= 0 && r.right <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth;
  });
  assert.ok(fits, '480 px: the question over SSH does not fit the window');
  await shot('consent-over-ssh-480');
  await browser.setWindowSize(size.width, size.height);
  await browser.$('#consent-once').click();
  r = await asked;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), keychainItem(account.id).access_token);

  // Stopped again in the window (which then shows the use, over SSH): refused without a question.
  await (await action('Renamed in a terminal', 'ssh')).click();
  await browser.waitUntil(async () => (await (await action('Renamed in a terminal', 'ssh')).getText()) === 'Allow over SSH');
  await waitForText('.accounts', `over SSH to ${ssh.destination}`);
  await shot('used-over-ssh');
  for (const w of [480, 1280]) {
    await browser.setWindowSize(w, 720);
    await browser.pause(300);
    await (await row('Renamed in a terminal')).scrollIntoView();
    await shot(`used-over-ssh-${w}`, { scrolled: true });
  }
  await browser.setWindowSize(size.width, size.height);
  r = await remoteToken();
  assert.equal(r.code, 9, r.stderr);
  assert.equal(await browser.$('#consent').isDisplayed(), false);
});

test('a sign-in asked for over SSH runs on the desktop once allowed, and its account may be used there', async () => {
  const ssh = await startSshd();
  const before = accounts().map((a) => a.id);
  const remote = `${cli} connect demo --json --timeout 30`;
  const child = spawn(cli, ['ssh', ...ssh.args, remote], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) => child.on('exit', resolve));
  await browser.$('#consent').waitForDisplayed({ timeout: 10000 }).catch((e) => {
    throw new Error(`no question (remote said: ${stderr}): ${e.message}`);
  });
  const text = await browser.$('#consent').getText();
  assert.match(text, new RegExp(`Sign in to Demo for .* on ${ssh.destination.replace(/[.]/g, '\\.')} \\(over SSH\\)\\?`));
  assert.equal(await browser.$('#consent-always').isDisplayed(), false, 'a sign-in is never "always"');
  await shot('sign-in-over-ssh');
  await browser.$('#consent-once').click();
  const code = await done;
  appLog += stderr;
  assert.equal(code, 0, stderr);
  // The scripted browser signs in as a user already connected here: that account is updated.
  const made = JSON.parse(stdout);
  assert.ok(before.includes(made.id), `the same user's account: ${stdout}`);
  const stored = accounts().find((a) => a.id === made.id);
  assert.equal(stored.over_ssh, true, 'allowed over SSH, as the person agreed');
  assert.ok(keychainItem(made.id)?.access_token, 'its tokens are in the desktop keychain');
});

test('a device sign-in started in a terminal shows its code in the window too', async () => {
  const child = spawn(cli, ['connect', 'demo', '--device', '--no-browser'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    await browser.waitUntil(async () => /enter the code\s+(\S+)/.test(stderr), { timeout: 15000, timeoutMsg: stderr });
    const code = stderr.match(/enter the code\s+(\S+)/)[1];
    const card = browser.$('.device-code');
    await card.waitForDisplayed({ timeout: 10000 });
    assert.equal(await card.$('.code').getText(), code);
    // Named by the program that ran `keyport connect` (this test's node), as the kernel reports it.
    const started = `A sign-in to Demo (started by ${fs.realpathSync(process.execPath)}): open `;
    assert.ok((await card.getText()).startsWith(started), await card.getText());
    assert.match(await card.getText(), /open http:\/\/127\.0\.0\.1:\d+\/device on any device/);
    assert.match(stderr, /also shown in Keyport's window/);
    await shot('device-code');
    await card.$('button=Dismiss').click();
    await card.waitForExist({ reverse: true, timeout: 5000 });
  } finally {
    child.kill();
    appLog += stderr;
  }
});

test('disconnect asks first, revokes at the provider and forgets the account', async () => {
  const nickname = 'Renamed in a terminal';
  const a = accounts().find((x) => x.nickname === nickname);
  const tokens = keychainItem(a.id);
  await (await action(nickname, 'disconnect')).click();
  await browser.$('#confirm').waitForDisplayed();
  await browser.$('#confirm-cancel').click();
  assert.ok(await (await row(nickname)).isExisting(), 'Keep it keeps it');
  await (await action(nickname, 'disconnect')).click();
  await browser.$('#confirm-ok').click();
  await (await row(nickname)).waitForExist({ reverse: true, timeout: 15000 });
  assert.match(await noticeText(), /revoked/);
  assert.equal(keychainItem(a.id), null);
  const introspect = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('introspector:introspector-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token: tokens.refresh_token }),
  });
  assert.equal((await introspect.json()).active, false, 'the grant is dead at the provider');
});

test('no token or authorization code reaches the app log, even at trace level', async () => {
  const codes = fs.readFileSync(spy, 'utf8').split('\n').filter(Boolean);
  assert.ok(codes.length >= 4, 'the browser carried the codes of every sign-in');
  assert.ok(secretsSeen.size >= 8, 'tokens were collected along the way');
  assert.match(appLog, /connected/, 'the app log was captured');
  for (const s of [...secretsSeen, ...codes]) assert.ok(!appLog.includes(s), 'a secret in the app log');
});
