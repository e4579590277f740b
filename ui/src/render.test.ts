import { describe, expect, it, vi } from 'vitest';
import { accountItem, providerItem } from './render';
import { account, provider, use } from './fixtures';

describe('an account row', () => {
  it('marks the default account of its provider', () => {
    const plain = accountItem(account(), [], 1000, false, () => {});
    expect(plain.querySelector('.badge-default')).toBeNull();
    const chosen = accountItem(account({ is_default: true }), [], 1000, false, () => {});
    expect(chosen.querySelector('.badge-default')?.textContent).toBe('default');
  });

  it('shows nickname, provider, status, expiry, scopes and recent use', () => {
    const li = accountItem(account(), [use(995, 'demo-1', 'git')], 1000, false, () => {});
    const text = li.textContent ?? '';
    expect(li.querySelector('.nickname')?.textContent).toBe('alice@example.test');
    expect(li.querySelector('.badge')?.textContent).toBe('OK');
    expect(text).toContain('Demo · expires in 5 min, renews automatically');
    expect(text).toContain('Recently used by git just now');
    expect(li.querySelector('details.scopes summary')?.textContent).toBe('2 scopes');
    const actions = [...li.querySelectorAll('button')].map((b) => b.dataset.action);
    expect(actions).toEqual(['refresh', 'revoke', 'ssh', 'rename', 'disconnect']);
  });

  it('offers Reconnect, and not Refresh or Revoke, when the grant is gone', () => {
    const li = accountItem(
      account({ status: 'needs_reconnect', status_reason: 'its access was revoked' }),
      [],
      1000,
      false,
      () => {},
    );
    expect(li.querySelector('.reason')?.textContent).toBe('Its access was revoked.');
    expect(li.textContent).not.toContain('expires');
    const actions = [...li.querySelectorAll('button')].map((b) => b.dataset.action);
    expect(actions).toEqual(['reconnect', 'ssh', 'rename', 'disconnect']);
  });

  it('reports each action with its account, and disables them while busy', () => {
    const on = vi.fn();
    const a = account({ can_revoke: false });
    const li = accountItem(a, [], 1000, false, on);
    expect(li.querySelector("[data-action='revoke']")).toBeNull();
    (li.querySelector("[data-action='rename']") as HTMLButtonElement).click();
    expect(on).toHaveBeenCalledWith('rename', a);
    const ssh = li.querySelector("[data-action='ssh']") as HTMLButtonElement;
    expect(ssh.textContent).toBe('Allow over SSH');
    expect(ssh.getAttribute('aria-pressed')).toBe('false');
    ssh.click();
    expect(on).toHaveBeenCalledWith('ssh', a);
    const allowed = accountItem(account({ over_ssh: true }), [], 1000, false, on);
    expect(allowed.querySelector("[data-action='ssh']")?.textContent).toBe('Stop SSH use');
    const busy = accountItem(a, [], 1000, true, on);
    expect([...busy.querySelectorAll('button')].every((b) => b.disabled)).toBe(true);
  });

  it('marks an MCP server as one, and only it', () => {
    const server = accountItem(account({ mcp_server: true, nickname: 'Acme Tickets' }), [], 1000, false, () => {});
    expect(server.querySelector('.badge-mcp')?.textContent).toBe('MCP server');
    const person = accountItem(account(), [], 1000, false, () => {});
    expect(person.querySelector('.badge-mcp')).toBeNull();
  });

  it('puts text in as text, never as markup', () => {
    const li = accountItem(account({ nickname: '<img src=x onerror=alert(1)>' }), [], 1000, false, () => {});
    expect(li.querySelector('img')).toBeNull();
    expect(li.querySelector('.nickname')?.textContent).toBe('<img src=x onerror=alert(1)>');
  });

  it('has an accessible name per action', () => {
    const li = accountItem(account(), [], 1000, false, () => {});
    expect(li.querySelector("[data-action='disconnect']")?.getAttribute('aria-label')).toBe(
      'Disconnect alice@example.test',
    );
  });
});

describe('the programs answered for an account', () => {
  it('lists them beside recent use, each with Forget', () => {
    const onForget = vi.fn();
    const decisions = [
      { exe: '/usr/bin/python3', account: 'demo-1', allow: true, at: 9, program: 'python3' },
      { exe: '/usr/bin/curl', account: 'demo-1', allow: false, at: 5, program: 'curl' },
      { exe: '/usr/bin/git', account: 'other', allow: true, at: 7, program: 'git' },
    ];
    const li = accountItem(account(), [], 1000, false, () => {}, decisions, onForget);
    const items = [...li.querySelectorAll('.consents li')].map((x) => x.textContent);
    expect(items).toEqual(['python3 always allowed Forget', 'curl denied Forget']);
    li.querySelector<HTMLButtonElement>("[data-forget='/usr/bin/curl']")!.click();
    expect(onForget).toHaveBeenCalledWith('/usr/bin/curl', 'demo-1');
    expect(accountItem(account(), [], 1000, false, () => {}).querySelector('.consents')).toBeNull();
  });
});

describe('a provider button', () => {
  it('says Set up until the provider has a client id, and stands out once ready', () => {
    const onConnect = vi.fn();
    const p = provider();
    const li = providerItem(p, onConnect);
    const b = li.querySelector('button')!;
    expect(b.getAttribute('aria-label')).toBe('Set up GitHub');
    expect(b.textContent).toContain('Set up');
    expect(b.classList.contains('ready')).toBe(false);
    b.click();
    expect(onConnect).toHaveBeenCalledWith(p);
    const ready = providerItem(provider({ set_up: true }), onConnect).querySelector('button')!;
    expect(ready.textContent).toContain('Connect');
    expect(ready.getAttribute('aria-label')).toBe('Connect GitHub');
    expect(ready.classList.contains('ready')).toBe(true);
  });
});
