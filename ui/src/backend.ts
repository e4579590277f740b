// The one module that talks to the Tauri backend (the only import of `@tauri-apps/*`). Everything
// the backend returns is metadata: the webview never receives a token or a client secret.
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { Commands, Events, type Background, type BrowserFailed, type ConsentSettings, type DeviceCode, type FirstView, type OrganizationSignIn, type Question, type Reply } from './generated/bindings';
import type { Account, Provider, Use, UiError, Disconnected } from './model';
import { asUiError } from './model';

async function call<T>(cmd: (typeof Commands)[keyof typeof Commands], args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asUiError(e);
  }
}

// What the backend handed the page before it loaded (src-tauri/src/first_view.rs): the window
// draws its first frame from it instead of five round trips. Each part answers once; later calls
// ask the backend.
const first: Partial<FirstView> = (() => {
  const w = window as { __KEYPORT_FIRST_VIEW__?: FirstView };
  const view = w.__KEYPORT_FIRST_VIEW__ ?? {};
  delete w.__KEYPORT_FIRST_VIEW__;
  return view;
})();

function firstOr<K extends Exclude<keyof FirstView, 'background' | 'font_family'>, T>(part: K, ask: () => Promise<T>): Promise<T> {
  const answer = first[part];
  if (answer === undefined) return ask();
  delete first[part];
  return 'Ok' in answer ? Promise.resolve(answer.Ok as T) : Promise.reject(asUiError(answer.Err));
}

export const backend = {
  /** The desktop's interface font family, when the backend knows it (GTK). */
  interfaceFont: (): string | null => first.font_family ?? null,
  accounts: () => firstOr('accounts', () => call<Account[]>(Commands.list_accounts)),
  providers: () => firstOr('providers', () => call<Provider[]>(Commands.list_providers)),
  recentUses: () => firstOr('uses', () => call<Use[]>(Commands.recent_uses)),
  connect: (provider: string, variables: Record<string, string> = {}) =>
    call<Account>(Commands.connect, { provider, variables }),
  cancelConnect: (provider: string) => call<void>(Commands.cancel_connect, { provider }),
  /** Opens the waiting sign-in's page again, after the browser could not be opened. */
  retryBrowser: (provider: string) => call<void>(Commands.retry_browser, { provider }),
  setUpProvider: (provider: string, clientId: string, clientSecret: string | null) =>
    call<void>(Commands.set_up_provider, { provider, clientId, clientSecret }),
  /** Adds an OpenID Connect provider from its discovery document; the new catalog entry. */
  addProvider: (issuer: string, name: string | null, clientId: string | null) =>
    call<Provider>(Commands.add_provider, { issuer, name, clientId }),
  /** Adds a remote MCP server by its URL (its sign-in discovered); its catalog entry. */
  addMcpServer: (url: string, organization: OrganizationSignIn | null = null) =>
    call<Provider>(Commands.add_mcp_server, { url, organization }),
  openRegistrationPage: (provider: string) => call<void>(Commands.open_registration_page, { provider }),
  refresh: (account: string) => call<Account>(Commands.refresh_account, { account }),
  revoke: (account: string) => call<Account>(Commands.revoke_account, { account }),
  disconnect: (account: string) => call<Disconnected>(Commands.disconnect_account, { account }),
  rename: (account: string, nickname: string) => call<Account>(Commands.rename_account, { account, nickname }),
  /** Whether programs on machines reached over SSH (`keyport ssh`) may use the account. */
  setOverSsh: (account: string, allowed: boolean) => call<Account>(Commands.set_over_ssh, { account, allowed }),
  painted: () => call<void>(Commands.painted),
  /** Whether closing the window keeps Keyport in the tray, and whether it opens at login. */
  background: (): Promise<Background> => {
    const answer = first.background;
    delete first.background;
    return answer ? Promise.resolve(answer) : call<Background>(Commands.background);
  },
  setLoginStart: (on: boolean) => call<Background>(Commands.set_login_start, { on }),
  /** Whether programs are asked about, and the answers kept per program and account. */
  consentSettings: () => firstOr('consent', () => call<ConsentSettings>(Commands.consent_settings)),
  setConsentAsking: (ask: boolean) => call<ConsentSettings>(Commands.set_consent_asking, { ask }),
  forgetConsent: (exe: string, account: string) => call<ConsentSettings>(Commands.forget_consent, { exe, account }),
  answerConsent: (id: number, reply: Reply) => call<void>(Commands.answer_consent, { id, reply }),
  /** A program asks for an account's token; the window asks the person. */
  onConsentAsked: (handler: (q: Question) => void) => listen<Question>(Events.consentAsked, (e) => handler(e.payload)),
  /** `keyport connect --device` shows a code to enter at the provider. */
  onDeviceCode: (handler: (c: DeviceCode) => void) => listen<DeviceCode>(Events.deviceCode, (e) => handler(e.payload)),
  /** A question was answered, or its program stopped waiting. */
  onConsentEnded: (handler: (id: number) => void) => listen<number>(Events.consentEnded, (e) => handler(e.payload)),
  /** Another process (the CLI, a second window) changed the accounts. */
  onAccountsChanged: (handler: () => void) => listen(Events.accountsChanged, () => handler()),
  /** The sign-in page could not be opened in a browser; the person can open `url` by hand. */
  onBrowserFailed: (handler: (provider: string, url: string) => void) =>
    listen<BrowserFailed>(Events.browserFailed, (event) =>
      handler(event.payload.provider, event.payload.url),
    ),
  /** Something happened outside a user action: a deep link that matched no sign-in, say. */
  onNotice: (handler: (e: UiError) => void) => listen<UiError>(Events.notice, (event) => handler(event.payload)),
};
