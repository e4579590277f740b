import { beforeAll, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn(async (cmd: string) => `asked ${cmd}`);
vi.mock('@tauri-apps/api/core', () => ({ invoke }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));

describe('the first view', () => {
  let backend: typeof import('./backend').backend;
  beforeAll(async () => {
    (window as { __KEYPORT_FIRST_VIEW__?: unknown }).__KEYPORT_FIRST_VIEW__ = {
      accounts: { Ok: [{ id: 'github-1' }] },
      uses: { Ok: [] },
      consent: { Err: { kind: 'other', message: 'consent.json is damaged' } },
      providers: { Ok: [] },
      background: { tray: true, login_start: false },
    };
    ({ backend } = await import('./backend'));
  });

  it('answers each part once without asking the backend, then asks it', async () => {
    expect(await backend.accounts()).toEqual([{ id: 'github-1' }]);
    expect(await backend.background()).toEqual({ tray: true, login_start: false });
    expect(invoke).not.toHaveBeenCalled();
    expect(await backend.accounts()).toBe('asked list_accounts');
    expect(await backend.background()).toBe('asked background');
  });

  it('gives a part that failed as the error its command would have thrown', async () => {
    await expect(backend.consentSettings()).rejects.toEqual({ kind: 'other', message: 'consent.json is damaged' });
    expect(await backend.consentSettings()).toBe('asked consent_settings');
  });

  it('is read once: the global is gone', () => {
    expect((window as { __KEYPORT_FIRST_VIEW__?: unknown }).__KEYPORT_FIRST_VIEW__).toBeUndefined();
  });
});
