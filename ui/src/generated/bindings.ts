// Generated from the Rust types by `cargo test -p keyport-app bindings` (src-tauri/src/bindings.rs).
// Do not edit: change the Rust side, then run that test with KEYPORT_BLESS=1.

export type Account = { id: string, provider: string, nickname: string, scopes: Array<string>, 
/**
 * Unix seconds; `null` for a token that does not expire.
 */
expires_at: number | null, 
/**
 * Non-secret fields the provider sent with the tokens (`keep_fields`), e.g. `instance_url`.
 */
metadata: { [key in string]: string }, 
/**
 * Whether a bare provider id means this account (`keyport default`).
 */
is_default: boolean, 
/**
 * Whether it may be used from machines reached over SSH (`keyport forwarding`).
 */
over_ssh: boolean, created_at: number, updated_at: number, provider_name: string, status: Status, 
/**
 * Why the account needs reconnecting, when it does.
 */
status_reason: string | null, 
/**
 * Seconds until expiry (negative once expired).
 */
expires_in: number | null, can_refresh: boolean, can_revoke: boolean, 
/**
 * Whether the account is a remote MCP server's (its tokens are for one resource), which the
 * window marks as such.
 */
mcp_server: boolean, };

export type Provider = { id: string, display_name: string, set_up: boolean, builtin: boolean, redirect: RedirectKind, 
/**
 * The redirect URI to register with the provider.
 */
redirect_uri: string, registration_url: string | null, 
/**
 * Whether the provider wants a client secret even from a desktop app.
 */
wants_client_secret: boolean, 
/**
 * Per-connection values (tenant, shop, …) asked for when connecting.
 */
variables: { [key in string]: Variable }, };

export type Variable = { 
/**
 * What to type, in a few words ("Your shop's subdomain").
 */
description: string, 
/**
 * Used when the user gives no value; without one, a value is required.
 */
default: string | null, };

export type RedirectKind = "loopback" | "deep_link";

export type Status = "ok" | "expiring" | "expired" | "needs_reconnect";

export type ErrorKind = "usage" | "not_found" | "ambiguous" | "needs_reconnect" | "keychain" | "provider" | "cancelled" | "unsupported" | "unsafe" | "refused" | "other";

export type UiError = { kind: ErrorKind, message: string, };

export type Use = { 
/**
 * Unix seconds.
 */
at: number, 
/**
 * Empty for a sign-in asked for from another machine (no account yet).
 */
account: string, 
/**
 * The calling program's executable name, when it could be found.
 */
program: string | null, 
/**
 * The path of the calling program's executable.
 */
exe?: string | null, 
/**
 * The path of the executable of the program that started it (a shell, an editor, …).
 */
parent_exe?: string | null, pid: number | null, 
/**
 * `agent` when the desktop app answered from memory, `keychain` when the CLI read it itself.
 */
via: string, 
/**
 * The SSH destination a forwarded request came through; then `program` is what that machine
 * claims, and `exe` the key its consent is kept under.
 */
over_ssh?: string | null, 
/**
 * The shells and launchers the program asked through ("sh", "env, sh"), which `program`
 * names the program behind (see [`crate::process`]).
 */
through?: string | null, };

export type Disconnected = { account: Account, revocation: RevocationOutcome, };

export type RevocationOutcome = "revoked" | "not_supported" | "skipped";

export type BrowserFailed = { provider: string, url: string, };

export type Background = { 
/**
 * A tray icon is shown: closing the window keeps Keyport running.
 */
tray: boolean, 
/**
 * Keyport starts (hidden) when the user logs in.
 */
login_start: boolean, };

export type Question = { id: number, 
/**
 * The program's name (its executable's file name when it has one).
 */
program: string, 
/**
 * The path of its executable: what the answer is remembered for.
 */
exe: string, account: string, 
/**
 * The account in words (`provider:nickname`; "the MCP server <its name>" for one), never
 * an id made of a host and port.
 */
account_label: string, 
/**
 * The SSH destination the request came through; then `program` is only what the machine
 * there says, and the window says so.
 */
over_ssh: string | null, 
/**
 * The shells and launchers the program asked through ("sh"): the question names both,
 * "git, through sh".
 */
through: string | null, 
/**
 * Whether "Always" and "Deny" are kept: not for a shell interpreter (whatever runs `sh -c`
 * would then have the account), nor for a program that cannot be identified.
 */
remembered: boolean, 
/**
 * Set when the question is whether to sign in to this provider (its name) for a program on
 * another machine, rather than to hand out a token; "Always" then means once.
 */
connect: string | null, 
/**
 * The terminal session the program runs in ("pts/3, opened by xterm"): "Always" then allows
 * everything run in that session until it ends, and nothing is remembered beyond it.
 */
terminal: string | null, };

export type Reply = "once" | "always" | "deny" | "deny_once";

export type DeviceCode = { provider: string, provider_name: string, user_code: string, verification_uri: string, 
/**
 * Seconds the code stays valid.
 */
expires_in: number, 
/**
 * The program that started the sign-in (filled in by the agent, from the kernel's word).
 */
program: string | null, };

export type Decision = { 
/**
 * The program's executable, as the kernel reports it (`/proc/<pid>/exe`).
 */
exe: string, 
/**
 * The account's id.
 */
account: string, 
/**
 * `true` for "Always allow", `false` for "Deny".
 */
allow: boolean, 
/**
 * Unix seconds.
 */
at: number, };

export type DecisionView = { 
/**
 * The executable's file name.
 */
program: string, 
/**
 * The program's executable, as the kernel reports it (`/proc/<pid>/exe`).
 */
exe: string, 
/**
 * The account's id.
 */
account: string, 
/**
 * `true` for "Always allow", `false` for "Deny".
 */
allow: boolean, 
/**
 * Unix seconds.
 */
at: number, };

export type ConsentSettings = { 
/**
 * Whether programs the user has not answered for are asked about.
 */
ask: boolean, decisions: Array<DecisionView>, };

export type FirstView = { accounts: { Ok : Array<Account> } | { Err : UiError }, uses: { Ok : Array<Use> } | { Err : UiError }, consent: { Ok : ConsentSettings } | { Err : UiError }, providers: { Ok : Array<Provider> } | { Err : UiError }, background: Background, 
/**
 * The desktop's interface font family, where the toolkit says (GTK on Linux). The page
 * names it instead of `system-ui`, whose lookup cost WebKitGTK's first frame 150 ms here.
 */
font_family: string | null, };

export type OrganizationSignIn = { 
/**
 * The account at the identity provider (its id).
 */
via: string, client_id: string, client_secret: string, };

/** The commands the window may call. */
export const Commands = {
  list_accounts: 'list_accounts',
  list_providers: 'list_providers',
  recent_uses: 'recent_uses',
  set_up_provider: 'set_up_provider',
  add_provider: 'add_provider',
  add_mcp_server: 'add_mcp_server',
  open_registration_page: 'open_registration_page',
  connect: 'connect',
  cancel_connect: 'cancel_connect',
  retry_browser: 'retry_browser',
  refresh_account: 'refresh_account',
  revoke_account: 'revoke_account',
  disconnect_account: 'disconnect_account',
  rename_account: 'rename_account',
  set_over_ssh: 'set_over_ssh',
  painted: 'painted',
  background: 'background',
  set_login_start: 'set_login_start',
  answer_consent: 'answer_consent',
  consent_settings: 'consent_settings',
  forget_consent: 'forget_consent',
  set_consent_asking: 'set_consent_asking',
} as const;

/** What each command resolves to (an error rejects as a `UiError`). */
export type Answers = {
  list_accounts: Array<Account>,
  list_providers: Array<Provider>,
  recent_uses: Array<Use>,
  set_up_provider: null,
  add_provider: Provider,
  add_mcp_server: Provider,
  open_registration_page: null,
  connect: Account,
  cancel_connect: null,
  retry_browser: null,
  refresh_account: Account,
  revoke_account: Account,
  disconnect_account: Disconnected,
  rename_account: Account,
  set_over_ssh: Account,
  painted: null,
  background: Background,
  set_login_start: Background,
  answer_consent: null,
  consent_settings: ConsentSettings,
  forget_consent: ConsentSettings,
  set_consent_asking: ConsentSettings,
};

/** The events the backend sends. */
export const Events = {
  accountsChanged: 'accounts-changed',
  browserFailed: 'browser-failed',
  notice: 'notice',
  consentAsked: 'consent-asked',
  consentEnded: 'consent-ended',
  deviceCode: 'device-code',
} as const;
