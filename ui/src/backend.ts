// The one module that talks to the Tauri backend (the only import of `@tauri-apps/*`). Everything
// the backend returns is metadata: the webview never receives a token or a client secret.
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { Commands, Events, type Answers, type BrowserFailed, type DeviceCode, type FirstView, type OrganizationSignIn, type Question, type Reply } from './generated/bindings';
import type { UiError } from './model';
import { asUiError } from './model';

declare global {
  interface Window {
    /** Set by the backend's first-view script (src-tauri/src/first_view.rs), read once. */
    __KEYPORT_FIRST_VIEW__?: Partial<FirstView>;
  }
}

/** Calls a command; what it resolves to is the generated `Answers` entry of its name. */
async function call<C extends keyof Answers>(cmd: C, args?: Record<string, unknown>): Promise<Answers[C]> {
  try {
    return await invoke<Answers[C]>(cmd, args);
  } catch (e) {
    throw asUiError(e);
  }
}

// What the backend handed the page before it loaded (src-tauri/src/first_view.rs): the window
// draws its first frame from it instead of five round trips. Each part answers once; later calls
// ask the backend.
const first: Partial<FirstView> = window.__KEYPORT_FIRST_VIEW__ ?? {};
delete window.__KEYPORT_FIRST_VIEW__;

/** The part of the first view, once: later calls find it gone. */
function take<K extends keyof FirstView>(part: K): FirstView[K] | undefined {
  const answer = first[part];
  delete first[part];
  return answer;
}

/** The first view's answer when there was one, else the backend's. */
function firstOr<T>(answer: { Ok: T } | { Err: UiError } | undefined, ask: () => Promise<T>): Promise<T> {
  if (answer === undefined) return ask();
  return 'Ok' in answer ? Promise.resolve(answer.Ok) : Promise.reject(asUiError(answer.Err));
}

export const backend = {
  /** The desktop's interface font family, when the backend knows it (GTK). */
  interfaceFont: (): string | null => first.font_family ?? null,
  accounts: () => firstOr(take('accounts'), () => call(Commands.list_accounts)),
  providers: () => firstOr(take('providers'), () => call(Commands.list_providers)),
  recentUses: () => firstOr(take('uses'), () => call(Commands.recent_uses)),
  connect: (provider: string, variables: Record<string, string> = {}) =>
    call(Commands.connect, { provider, variables }),
  cancelConnect: (provider: string) => call(Commands.cancel_connect, { provider }),
  /** Opens the waiting sign-in's page again, after the browser could not be opened. */
  retryBrowser: (provider: string) => call(Commands.retry_browser, { provider }),
  setUpProvider: (provider: string, clientId: string, clientSecret: string | null) =>
    call(Commands.set_up_provider, { provider, clientId, clientSecret }),
  /** Adds an OpenID Connect provider from its discovery document; the new catalog entry. */
  addProvider: (issuer: string, name: string | null, clientId: string | null) =>
    call(Commands.add_provider, { issuer, name, clientId }),
  /** Adds a remote MCP server by its URL (its sign-in discovered); its catalog entry. */
  addMcpServer: (url: string, organization: OrganizationSignIn | null = null) =>
    call(Commands.add_mcp_server, { url, organization }),
  openRegistrationPage: (provider: string) => call(Commands.open_registration_page, { provider }),
  refresh: (account: string) => call(Commands.refresh_account, { account }),
  revoke: (account: string) => call(Commands.revoke_account, { account }),
  disconnect: (account: string) => call(Commands.disconnect_account, { account }),
  rename: (account: string, nickname: string) => call(Commands.rename_account, { account, nickname }),
  /** Whether programs on machines reached over SSH (`keyport ssh`) may use the account. */
  setOverSsh: (account: string, allowed: boolean) => call(Commands.set_over_ssh, { account, allowed }),
  painted: () => call(Commands.painted),
  /** Whether closing the window keeps Keyport in the tray, and whether it opens at login. */
  background: () => {
    const answer = take('background');
    return answer ? Promise.resolve(answer) : call(Commands.background);
  },
  setLoginStart: (on: boolean) => call(Commands.set_login_start, { on }),
  /** Whether programs are asked about, and the answers kept per program and account. */
  consentSettings: () => firstOr(take('consent'), () => call(Commands.consent_settings)),
  setConsentAsking: (ask: boolean) => call(Commands.set_consent_asking, { ask }),
  forgetConsent: (exe: string, account: string) => call(Commands.forget_consent, { exe, account }),
  answerConsent: (id: number, reply: Reply) => call(Commands.answer_consent, { id, reply }),
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
