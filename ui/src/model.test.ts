import { describe, expect, it } from 'vitest';
import type { Use } from './model';
import { account, provider, use } from './fixtures';
import {
  asUiError,
  cssString,
  disconnectedText,
  errorTitle,
  expiryText,
  consentExe,
  consentHint,
  remembersAnswers,
  alwaysLabel,
  consentText,
  consentTitle,
  decisionsFor,
  filterProviders,
  sentence,
  sortAccounts,
  usedBy,
  validVariable,
} from './model';

describe('expiry', () => {
  it('reads like a person would say it', () => {
    expect(expiryText({ expires_in: 45, can_refresh: false })).toBe('expires in 45 s');
    expect(expiryText({ expires_in: 300, can_refresh: true })).toBe('expires in 5 min, renews automatically');
    expect(expiryText({ expires_in: 7200, can_refresh: false })).toBe('expires in 2 h');
    expect(expiryText({ expires_in: 3 * 86400, can_refresh: false })).toBe('expires in 3 days');
    expect(expiryText({ expires_in: -120, can_refresh: false })).toBe('expired 2 min ago');
    expect(expiryText({ expires_in: null, can_refresh: false })).toBe('never expires');
  });
});

describe('recent use', () => {
  it('names each program once, newest first, at most four', () => {
    const uses: Use[] = [
      use(990, 'demo-1', 'git'),
      use(999, 'demo-1', 'curl'),
      use(995, 'demo-1', 'git'),
      use(998, 'other', 'ssh'),
      use(400, 'demo-1', null),
    ];
    expect(usedBy(uses, 'demo-1', 1000)).toBe('curl just now, git just now, an unknown program 10 min ago');
    expect(usedBy(uses, 'nobody', 1000)).toBe('');
  });

  it('says when a use came over SSH, and through which connection', () => {
    const remote: Use = { ...use(999, 'demo-1', 'python3'), via: 'ssh', over_ssh: 'ada@devbox' };
    expect(usedBy([remote, use(990, 'demo-1', 'python3')], 'demo-1', 1000)).toBe(
      'python3 over SSH to ada@devbox just now, python3 just now',
    );
  });
});

describe('provider search', () => {
  const all = [
    provider({ id: 'github', display_name: 'GitHub' }),
    provider({ id: 'gitlab', display_name: 'GitLab', set_up: true }),
    provider({ id: 'google', display_name: 'Google' }),
  ];
  it('matches every word in name or id, ready ones first', () => {
    expect(filterProviders(all, 'git').map((p) => p.id)).toEqual(['gitlab', 'github']);
    expect(filterProviders(all, 'GOO').map((p) => p.id)).toEqual(['google']);
    expect(filterProviders(all, 'git hub').map((p) => p.id)).toEqual(['github']);
    expect(filterProviders(all, '   ')).toHaveLength(3);
    expect(filterProviders(all, 'slack')).toEqual([]);
  });
});

describe('accounts order', () => {
  it('puts accounts needing attention first', () => {
    const sorted = sortAccounts([
      account({ id: 'a', provider_name: 'A' }),
      account({ id: 'b', provider_name: 'B', status: 'needs_reconnect' }),
      account({ id: 'c', provider_name: 'C', status: 'expired' }),
    ]);
    expect(sorted.map((a) => a.id)).toEqual(['b', 'c', 'a']);
  });
});

describe('errors', () => {
  it('keeps the backend kind and words, and guesses nothing else', () => {
    expect(asUiError({ kind: 'provider', message: 'GitHub said no' })).toEqual({
      kind: 'provider',
      message: 'GitHub said no',
    });
    expect(asUiError(new Error('boom'))).toEqual({ kind: 'other', message: 'boom' });
    expect(asUiError('plain')).toEqual({ kind: 'other', message: 'plain' });
  });
  it('titles tell cancelled from refused from keychain trouble', () => {
    expect(errorTitle({ kind: 'cancelled', message: '' }, 'Connect GitHub')).toMatch(/cancelled/);
    expect(errorTitle({ kind: 'provider', message: '' }, 'Refresh')).toBe('The service refused to refresh');
    expect(errorTitle({ kind: 'keychain', message: '' }, 'Refresh')).toMatch(/keychain/);
    expect(errorTitle({ kind: 'needs_reconnect', message: '' }, 'Refresh')).toMatch(/reconnected/);
    expect(errorTitle({ kind: 'other', message: '' }, 'Rename')).toBe('Could not rename');
  });
  it('turns the core sentence into a standalone one', () => {
    expect(sentence('the sign-in timed out')).toBe('The sign-in timed out.');
    expect(sentence('Done!')).toBe('Done!');
  });
});

describe('disconnect', () => {
  it('says whether the access is dead at the provider', () => {
    const a = account();
    expect(disconnectedText({ account: a, revocation: 'revoked' })).toMatch(/revoked at Demo/);
    expect(disconnectedText({ account: a, revocation: 'not_supported' })).toMatch(/offers no revocation/);
    expect(disconnectedText({ account: a, revocation: 'skipped' })).toBe('Disconnected alice@example.test (Demo).');
  });
});

describe('variables', () => {
  it('accept what fits in a host name, nothing that could reshape the URL', () => {
    for (const ok of ['common', 'contoso.onmicrosoft.com', 'acme-shop', 'dev_1', '8443']) expect(validVariable(ok)).toBe(true);
    for (const bad of ['', 'evil.com/x', 'a@b', 'a:1', 'a b', 'x?y', 'é']) expect(validVariable(bad)).toBe(false);
  });
});

describe('consent', () => {
  it('asks in a sentence and lists an account’s answers, newest first', () => {
    const q = {
      id: 1,
      program: 'python3',
      exe: '/usr/bin/python3',
      account: 'demo-1',
      account_label: 'demo:ada',
      over_ssh: null,
      through: null,
      remembered: true,
      connect: null,
      terminal: null,
    };
    expect(consentText(q)).toBe(
      'With a token, python3 can act as demo:ada until the token expires. Enter or Escape denies it this time only.',
    );
    expect(consentTitle(q)).toBe('Allow python3 to use demo:ada?');
    expect(consentExe(q)).toBe('/usr/bin/python3');
    const remote = { ...q, exe: 'ssh:devbox:python3', over_ssh: 'devbox' };
    expect(consentTitle(remote)).toBe('Allow python3 on devbox (over SSH) to use demo:ada?');
    expect(consentText(remote)).toContain('"python3" is what that machine says it is');
    expect(consentExe(remote)).toBe('Through your SSH connection to devbox');
    const signIn = { ...remote, account: '', account_label: 'GitHub', connect: 'GitHub' };
    expect(consentTitle(signIn)).toBe('Sign in to GitHub for python3 on devbox (over SSH)?');
    expect(consentText(signIn)).toContain('asks to connect a GitHub account');
    expect(consentHint(signIn)).toContain('asked about every time');
    expect(consentHint(q)).toContain('remembered for this program and account');
    expect([remembersAnswers(q), remembersAnswers(remote), remembersAnswers(signIn)]).toEqual([true, true, false]);
    const viaShell = { ...q, program: 'git', exe: '/usr/bin/git', through: 'dash' };
    expect(consentTitle(viaShell)).toBe('Allow git, through dash, to use demo:ada?');
    expect(consentText(viaShell)).toContain('With a token, git (through dash) can act as demo:ada');
    const shell = { ...q, program: 'dash', exe: '', remembered: false };
    expect(remembersAnswers(shell)).toBe(false);
    expect(consentHint(shell)).toContain('no answer is remembered');
    expect(alwaysLabel(shell)).toBe('Always allow');
    // From a terminal session, the answer is for that terminal until it closes.
    const typed = { ...shell, program: 'bash', exe: '/usr/bin/bash', terminal: 'pts/3, opened by xterm' };
    expect(remembersAnswers(typed)).toBe(true);
    expect(alwaysLabel(typed)).toBe('Allow in this terminal');
    expect(consentHint(typed)).toContain('until it closes');
    expect(consentText(typed)).toContain('bash, run in the terminal pts/3, opened by xterm, can act as demo:ada');
    const d = (exe: string, account: string, at: number, allow = true) => ({
      exe,
      account,
      at,
      allow,
      program: exe.split('/').pop()!,
    });
    const all = [d('/usr/bin/curl', 'demo-1', 5, false), d('/usr/bin/python3', 'demo-1', 9), d('/usr/bin/git', 'gh-1', 7)];
    expect(decisionsFor(all, 'demo-1').map((x) => x.program)).toEqual(['python3', 'curl']);
    expect(decisionsFor(all, 'none')).toEqual([]);
  });
});

describe('cssString', () => {
  it('keeps a hostile font name inside one CSS string', () => {
    expect(cssString('Cantarell')).toBe('"Cantarell"');
    expect(cssString('a"; } body { color: red } x { a:"\\')).toBe('"a\\"; } body { color: red } x { a:\\"\\\\"');
    expect(cssString('a\nb')).toBe('"a b"');
    const root = document.createElement('div');
    root.style.setProperty('--ui-font', cssString('Evil"; color: red'));
    expect(root.style.getPropertyValue('color')).toBe('');
  });
});
