// The one module that talks to the Tauri backend (the only import of `@tauri-apps/*`). Everything
// the backend returns is metadata: the webview never receives a token or a client secret.
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { Account, Provider, Use, UiError, Disconnected } from './model';
import { asUiError } from './model';

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asUiError(e);
  }
}

export const backend = {
  accounts: () => call<Account[]>('list_accounts'),
  providers: () => call<Provider[]>('list_providers'),
  recentUses: () => call<Use[]>('recent_uses'),
  connect: (provider: string, variables: Record<string, string> = {}) =>
    call<Account>('connect', { provider, variables }),
  cancelConnect: (provider: string) => call<void>('cancel_connect', { provider }),
  setUpProvider: (provider: string, clientId: string, clientSecret: string | null) =>
    call<void>('set_up_provider', { provider, clientId, clientSecret }),
  /** Adds an OpenID Connect provider from its discovery document; the new catalog entry. */
  addProvider: (issuer: string, name: string | null, clientId: string | null) =>
    call<Provider>('add_provider', { issuer, name, clientId }),
  openRegistrationPage: (provider: string) => call<void>('open_registration_page', { provider }),
  refresh: (account: string) => call<Account>('refresh_account', { account }),
  revoke: (account: string) => call<Account>('revoke_account', { account }),
  disconnect: (account: string) => call<Disconnected>('disconnect_account', { account }),
  rename: (account: string, nickname: string) => call<Account>('rename_account', { account, nickname }),
  painted: () => call<void>('painted'),
  /** Another process (the CLI, a second window) changed the accounts. */
  onAccountsChanged: (handler: () => void) => listen('accounts-changed', () => handler()),
  /** The sign-in page could not be opened in a browser; the person can open `url` by hand. */
  onBrowserFailed: (handler: (provider: string, url: string) => void) =>
    listen<{ provider: string; url: string }>('browser-failed', (event) =>
      handler(event.payload.provider, event.payload.url),
    ),
  /** Something happened outside a user action: a deep link that matched no sign-in, say. */
  onNotice: (handler: (e: UiError) => void) => listen<UiError>('notice', (event) => handler(event.payload)),
};
