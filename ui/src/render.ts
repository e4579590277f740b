// Builds the DOM for accounts and providers from data. No Tauri and no global state: actions are
// reported through the `on` callbacks, so tests can render and click without a backend.
import type { Account, DecisionView, Provider, Use } from './model';
import { STATUS_LABELS, decisionsFor, expiryText, providerHue, sentence, usedBy } from './model';

export type AccountAction = 'refresh' | 'revoke' | 'reconnect' | 'disconnect' | 'rename' | 'ssh';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

export function icon(providerId: string, name: string): HTMLElement {
  const span = el('span', { class: 'icon', 'aria-hidden': 'true' }, (name.trim()[0] ?? '?').toUpperCase());
  span.style.setProperty('--hue', String(providerHue(providerId)));
  return span;
}

// The handler is a property, not a listener: a redraw keeps the button and hands it the new one
// (`patchList` in dom.ts).
function button(label: string, attrs: Record<string, string>, onClick: () => void): HTMLButtonElement {
  const b = el('button', { type: 'button', ...attrs }, label);
  b.onclick = onClick;
  return b;
}

export function accountItem(
  a: Account,
  uses: Use[],
  now: number,
  busy: boolean,
  on: (action: AccountAction, account: Account) => void,
  decisions: DecisionView[] = [],
  onForget: (exe: string, account: string) => void = () => {},
): HTMLLIElement {
  const needsReconnect = a.status === 'needs_reconnect';
  const item = el('li', { class: `account status-${a.status}`, 'data-account': a.id });
  const title = el(
    'div',
    { class: 'account-head' },
    icon(a.provider, a.provider_name),
    el('span', { class: 'nickname' }, a.nickname),
    el('span', { class: `badge badge-${a.status}` }, STATUS_LABELS[a.status] ?? a.status),
  );
  // The account `keyport token <provider>` means when the provider has several.
  if (a.is_default) title.append(el('span', { class: 'badge badge-default', title: `keyport token ${a.provider}` }, 'default'));
  if (a.mcp_server) title.append(el('span', { class: 'badge badge-mcp', title: 'A remote MCP server: MCP clients reach it through keyport mcp' }, 'MCP server'));
  if (a.over_ssh) title.append(el('span', { class: 'badge badge-ssh', title: 'Usable from machines reached with keyport ssh' }, 'over SSH'));
  const facts = [a.provider_name, needsReconnect ? null : expiryText(a)].filter(Boolean).join(' · ');
  item.append(title, el('div', { class: 'meta' }, facts));
  if (a.status_reason) item.append(el('div', { class: 'reason' }, sentence(a.status_reason)));
  const used = usedBy(uses, a.id, now);
  if (used) item.append(el('div', { class: 'used' }, `Recently used by ${used}`));
  // Beside who used it: which programs may (or may not) without asking, each revocable.
  const answers = decisionsFor(decisions, a.id);
  if (answers.length) {
    item.append(
      el(
        'ul',
        { class: 'consents', 'aria-label': `Programs answered for ${a.nickname}` },
        ...answers.map((d) =>
          // No tooltip with the program's path: WebKitGTK's lingered over the text below after the
          // pointer had gone; the path is in the question and in the button's accessible name.
          el(
            'li',
            {},
            `${d.program} ${d.allow ? 'always allowed' : 'denied'} `,
            button('Forget', { 'data-forget': d.exe, 'aria-label': `Forget the answer for ${d.program} (${d.exe})` }, () =>
              onForget(d.exe, a.id),
            ),
          ),
        ),
      ),
    );
  }
  if (a.scopes.length) {
    item.append(
      el(
        'details',
        { class: 'scopes' },
        el('summary', {}, a.scopes.length === 1 ? '1 scope' : `${a.scopes.length} scopes`),
        el('ul', {}, ...a.scopes.map((s) => el('li', {}, s))),
      ),
    );
  }
  const label = (verb: string) => ({ 'aria-label': `${verb} ${a.nickname}`, 'data-action': verb.toLowerCase() });
  const actions = el('div', { class: 'actions' });
  if (needsReconnect) {
    actions.append(button('Reconnect', { ...label('Reconnect'), class: 'primary' }, () => on('reconnect', a)));
  } else {
    if (a.can_refresh) actions.append(button('Refresh now', label('Refresh'), () => on('refresh', a)));
    if (a.can_revoke) actions.append(button('Revoke', label('Revoke'), () => on('revoke', a)));
  }
  actions.append(
    button(
      a.over_ssh ? 'Stop SSH use' : 'Allow over SSH',
      {
        'aria-label': `${a.over_ssh ? 'Stop use over SSH of' : 'Allow use over SSH of'} ${a.nickname}`,
        'aria-pressed': String(a.over_ssh),
        'data-action': 'ssh',
        title: 'Whether programs on machines you reach with `keyport ssh` may ask for this account',
      },
      () => on('ssh', a),
    ),
    button('Rename', label('Rename'), () => on('rename', a)),
    button('Disconnect', { ...label('Disconnect'), class: 'danger' }, () => on('disconnect', a)),
  );
  for (const b of actions.querySelectorAll('button')) b.disabled = busy;
  item.append(actions);
  return item;
}

export function providerItem(p: Provider, onConnect: (p: Provider) => void): HTMLLIElement {
  const b = button(
    '',
    {
      class: p.set_up ? 'provider ready' : 'provider',
      'data-connect': p.id,
      'aria-label': p.set_up ? `Connect ${p.display_name}` : `Set up ${p.display_name}`,
      title: p.display_name,
    },
    () => onConnect(p),
  );
  b.append(
    icon(p.id, p.display_name),
    el('span', { class: 'provider-name' }, p.display_name),
    el('span', { class: 'provider-state' }, p.set_up ? 'Connect' : 'Set up'),
  );
  return el('li', {}, b);
}
