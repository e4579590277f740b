// The Keyport window: wires the backend to the page. Rendering is in `render.ts`, wording and
// logic in `model.ts`, the backend calls in `backend.ts`.
import './style.css';
import { backend } from './backend';
import type { Account, Provider, Use, UiError } from './model';
import {
  asUiError,
  disconnectedText,
  errorTitle,
  filterProviders,
  sentence,
  sortAccounts,
  validVariable,
  VARIABLE_PATTERN,
} from './model';
import { accountItem, providerItem, type AccountAction } from './render';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let accounts: Account[] = [];
let providers: Provider[] = [];
let uses: Use[] = [];
const busy = new Set<string>();
const now = () => Math.floor(Date.now() / 1000);

function notice(text: string, kind: 'info' | 'error' = 'info', detail?: string) {
  const box = document.createElement('div');
  box.className = `notice notice-${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  const strong = document.createElement('strong');
  strong.textContent = text;
  box.append(strong);
  if (detail) {
    const p = document.createElement('p');
    p.textContent = detail;
    box.append(p);
  }
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'notice-close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.addEventListener('click', () => box.remove());
  box.append(close);
  const stack = $('notices');
  stack.prepend(box);
  // A short stack: the oldest confirmations go first, errors stay until dismissed.
  const infos = stack.querySelectorAll('.notice-info');
  if (stack.children.length > 3 && infos.length) infos[infos.length - 1].remove();
  // Errors stay until dismissed; confirmations fade on their own.
  if (kind === 'info') setTimeout(() => box.remove(), 6000);
}

function showError(e: unknown, action: string) {
  const err: UiError = asUiError(e);
  notice(errorTitle(err, action), 'error', sentence(err.message));
}

function renderAccounts() {
  const list = $('accounts');
  list.replaceChildren(...sortAccounts(accounts).map((a) => accountItem(a, uses, now(), busy.has(a.id), act)));
  $('empty').hidden = accounts.length > 0;
}

function renderProviders() {
  const query = $<HTMLInputElement>('provider-search').value;
  $('providers').replaceChildren(...filterProviders(providers, query).map((p) => providerItem(p, connect)));
}

async function reload() {
  try {
    [accounts, uses] = await Promise.all([backend.accounts(), backend.recentUses()]);
    renderAccounts();
  } catch (e) {
    showError(e, 'Load accounts');
  }
}

async function reloadProviders() {
  try {
    providers = await backend.providers();
    renderProviders();
  } catch (e) {
    showError(e, 'Load services');
  }
}

/** Asks for the provider's variables (tenant, shop, …); resolves to null when cancelled. */
function askVariables(p: Provider): Promise<Record<string, string> | null> {
  const dialog = $<HTMLDialogElement>('vars');
  const form = $<HTMLFormElement>('vars-form');
  $('vars-title').textContent = `Connect ${p.display_name}`;
  const inputs = Object.entries(p.variables).map(([name, v]) => {
    const input = document.createElement('input');
    input.name = name;
    input.required = v.default === null;
    input.value = v.default ?? '';
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.pattern = VARIABLE_PATTERN;
    input.title = 'Letters, digits, dots, dashes and underscores';
    input.dataset.variable = name;
    const label = document.createElement('label');
    label.append(v.description, input);
    return { name, input, label };
  });
  $('vars-fields').replaceChildren(...inputs.map((i) => i.label));
  return new Promise((resolve) => {
    $('vars-cancel').onclick = () => {
      dialog.close();
      resolve(null);
    };
    dialog.oncancel = () => resolve(null);
    form.onsubmit = (ev) => {
      ev.preventDefault();
      if (!inputs.every((i) => validVariable(i.input.value.trim()))) return;
      dialog.close();
      resolve(Object.fromEntries(inputs.map((i) => [i.name, i.input.value.trim()])));
    };
    dialog.showModal();
    inputs[0]?.input.focus();
  });
}

async function connect(p: Provider) {
  if (!p.set_up) return setUp(p);
  let variables: Record<string, string> = {};
  if (Object.keys(p.variables).length) {
    const given = await askVariables(p);
    if (!given) return;
    variables = given;
  }
  const waiting = $<HTMLDialogElement>('waiting');
  $('waiting-text').textContent =
    `Keyport opened ${p.display_name}'s sign-in page in your browser. Come back here when you are done.`;
  $('waiting-manual').hidden = true;
  $('waiting-cancel').onclick = () => void backend.cancelConnect(p.id);
  waiting.oncancel = (ev) => {
    ev.preventDefault();
    void backend.cancelConnect(p.id);
  };
  waiting.showModal();
  try {
    const account = await backend.connect(p.id, variables);
    notice(`Connected ${account.nickname} (${account.provider_name}).`);
  } catch (e) {
    const err = asUiError(e);
    if (err.kind === 'cancelled' && /cancel/i.test(err.message)) notice('Sign-in cancelled.');
    else showError(err, `Connect ${p.display_name}`);
  } finally {
    waiting.close();
    await reload();
  }
}

/** Shows `e` in a form's error line, or hides the line when `e` is null. */
function formError(id: string, e: unknown) {
  $(id).textContent = e === null ? '' : sentence(asUiError(e).message);
  $(id).hidden = e === null;
}

function setUp(p: Provider) {
  const dialog = $<HTMLDialogElement>('setup');
  const form = $<HTMLFormElement>('setup-form');
  form.reset();
  $('setup-title').textContent = `Set up ${p.display_name}`;
  $('setup-intro').textContent =
    `Keyport signs in to ${p.display_name} as an app you register once. It takes a minute:`;
  $('setup-name').textContent = p.display_name;
  const where = $('setup-where');
  where.replaceChildren();
  if (p.registration_url) {
    const link = document.createElement('a');
    link.href = '#';
    link.textContent = 'open its developer settings';
    link.addEventListener('click', (ev) => {
      ev.preventDefault();
      backend.openRegistrationPage(p.id).catch((e) => showError(e, 'Open the page'));
    });
    where.append(' (', link, ')');
  }
  $('setup-redirect').textContent = p.redirect_uri;
  $('setup-secret-row').hidden = !p.wants_client_secret;
  formError('setup-error', null);
  $('setup-cancel').onclick = () => dialog.close();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const clientId = $<HTMLInputElement>('setup-client-id').value.trim();
    const secret = $<HTMLInputElement>('setup-client-secret').value;
    try {
      await backend.setUpProvider(p.id, clientId, p.wants_client_secret && secret ? secret : null);
    } catch (e) {
      formError('setup-error', e);
      return;
    }
    dialog.close();
    await reloadProviders();
    const ready = providers.find((x) => x.id === p.id);
    if (ready?.set_up) await connect(ready);
  };
  dialog.showModal();
}

function addProvider() {
  const dialog = $<HTMLDialogElement>('add');
  const form = $<HTMLFormElement>('add-form');
  form.reset();
  formError('add-error', null);
  $('add-cancel').onclick = () => dialog.close();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const value = (id: string) => $<HTMLInputElement>(id).value.trim() || null;
    const save = $<HTMLButtonElement>('add-save');
    save.disabled = true;
    formError('add-error', null);
    let added: Provider;
    try {
      added = await backend.addProvider(value('add-issuer') ?? '', value('add-name'), value('add-client-id'));
    } catch (e) {
      formError('add-error', e);
      return;
    } finally {
      save.disabled = false;
    }
    dialog.close();
    await reloadProviders();
    notice(
      added.set_up
        ? `Added ${added.display_name}. Connect it below.`
        : `Added ${added.display_name}. Press its Set up button to give it a client id.`,
    );
  };
  dialog.showModal();
}

function rename(a: Account) {
  const dialog = $<HTMLDialogElement>('rename');
  const input = $<HTMLInputElement>('rename-input');
  $('rename-title').textContent = `Rename ${a.nickname}`;
  input.value = a.nickname;
  $('rename-cancel').onclick = () => dialog.close();
  $<HTMLFormElement>('rename-form').onsubmit = async (ev) => {
    ev.preventDefault();
    dialog.close();
    await run(a, 'Rename', () => backend.rename(a.id, input.value.trim()), (r) => `Renamed to ${r.nickname}.`);
  };
  dialog.showModal();
  input.select();
}

function confirmDisconnect(a: Account) {
  const dialog = $<HTMLDialogElement>('confirm');
  $('confirm-title').textContent = `Disconnect ${a.nickname}?`;
  $('confirm-text').textContent = a.can_revoke
    ? `Keyport will revoke its access at ${a.provider_name}, then forget it. Programs using it will need you to connect again.`
    : `Keyport will forget it. ${a.provider_name} offers no revocation, so also remove Keyport in your account settings there.`;
  $('confirm-cancel').onclick = () => dialog.close();
  $('confirm-ok').onclick = async () => {
    dialog.close();
    await run(a, 'Disconnect', () => backend.disconnect(a.id), disconnectedText);
  };
  dialog.showModal();
  $('confirm-cancel').focus();
}

async function run<T>(a: Account, action: string, op: () => Promise<T>, done: (r: T) => string) {
  busy.add(a.id);
  renderAccounts();
  try {
    notice(done(await op()));
  } catch (e) {
    showError(e, action);
  } finally {
    busy.delete(a.id);
    await reload();
  }
}

function act(action: AccountAction, a: Account) {
  switch (action) {
    case 'refresh':
      return run(a, 'Refresh', () => backend.refresh(a.id), (r) => `Refreshed ${r.nickname}.`);
    case 'revoke':
      return run(
        a,
        'Revoke',
        () => backend.revoke(a.id),
        (r) => `Revoked ${r.nickname}'s access. Reconnect it to use it again.`,
      );
    case 'reconnect': {
      const p = providers.find((x) => x.id === a.provider);
      if (p) return connect(p);
      return notice(`${a.provider_name} is no longer in the catalog.`, 'error');
    }
    case 'rename':
      return rename(a);
    case 'disconnect':
      return confirmDisconnect(a);
  }
}

async function start() {
  $('provider-search').addEventListener('input', renderProviders);
  $('add-provider').addEventListener('click', addProvider);
  await Promise.all([reload(), reloadProviders()]);
  requestAnimationFrame(() => void backend.painted());
  await backend.onAccountsChanged(() => void reload());
  await backend.onBrowserFailed((_provider, url) => {
    $('waiting-url').textContent = url;
    $('waiting-manual').hidden = false;
  });
  await backend.onNotice((e) => notice(errorTitle(e, 'Sign in'), 'error', sentence(e.message)));
  // Expiry texts and the "expiring" state move with the clock.
  setInterval(() => void reload(), 30_000);
}

void start();
