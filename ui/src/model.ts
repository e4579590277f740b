// What the UI knows and how it words it: types for the backend's answers and pure functions over
// them (no DOM, no Tauri), so they can be tested on their own.

// The backend's types are generated from the Rust ones (src-tauri/src/bindings.rs), so they
// cannot drift apart.
import type { Account, DecisionView, Disconnected, ErrorKind, Provider, Question, Status, UiError, Use } from './generated/bindings';
export type {
  Account,
  ConsentSettings,
  DecisionView,
  Disconnected,
  ErrorKind,
  Provider,
  Question,
  RedirectKind,
  Reply,
  Status,
  UiError,
  Use,
  Variable,
} from './generated/bindings';

/** A CSS string holding `text`: a quote, a backslash or a line break in it cannot end it. */
export function cssString(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&').replace(/[\n\r\f]/g, ' ')}"`;
}

export function asUiError(e: unknown): UiError {
  if (e && typeof e === 'object' && 'kind' in e && 'message' in e) {
    return { kind: String(e.kind) as ErrorKind, message: String(e.message) };
  }
  return { kind: 'other', message: e instanceof Error ? e.message : String(e) };
}

export const STATUS_LABELS: Record<Status, string> = {
  ok: 'OK',
  expiring: 'Expiring soon',
  expired: 'Expired',
  needs_reconnect: 'Needs reconnect',
};

function amount(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} days`;
}

/** "expires in 5 min", "expired 2 h ago", "never expires". */
export function expiryText(account: Pick<Account, 'expires_in' | 'can_refresh'>): string {
  const s = account.expires_in;
  if (s === null) return 'never expires';
  const when = s > 0 ? `expires in ${amount(s)}` : `expired ${amount(-s)} ago`;
  return account.can_refresh ? `${when}, renews automatically` : when;
}

export function agoText(at: number, now: number): string {
  const secs = Math.max(0, now - at);
  return secs < 60 ? 'just now' : `${amount(secs)} ago`;
}

/** "git 2 min ago, curl 1 h ago": the latest use per program, newest first, at most four. */
export function usedBy(uses: Use[], accountId: string, now: number): string {
  const latest = new Map<string, number>();
  for (const u of uses) {
    if (u.account !== accountId) continue;
    const program = u.program ?? 'an unknown program';
    const name = u.over_ssh ? `${program} over SSH to ${u.over_ssh}` : program;
    if (!latest.has(name) || latest.get(name)! < u.at) latest.set(name, u.at);
  }
  return [...latest]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([name, at]) => `${name} ${agoText(at, now)}`)
    .join(', ');
}

/** Providers whose name or id contains every word of the query, set-up ones first. */
export function filterProviders(providers: Provider[], query: string): Provider[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return providers
    .filter((p) => words.every((w) => p.display_name.toLowerCase().includes(w) || p.id.includes(w)))
    .sort((a, b) => Number(b.set_up) - Number(a.set_up) || a.display_name.localeCompare(b.display_name));
}

/** What a variable's value may hold, for the form's `pattern` and for `validVariable`: it must
 * stay inside its part of the URL (the backend checks too). */
export const VARIABLE_PATTERN = '[A-Za-z0-9._\\-]{1,253}';

export function validVariable(value: string): boolean {
  return new RegExp(`^(?:${VARIABLE_PATTERN})$`).test(value);
}

/** Accounts needing attention first, then by provider and nickname. */
export function sortAccounts(accounts: Account[]): Account[] {
  const rank = (a: Account) => (a.status === 'needs_reconnect' ? 0 : a.status === 'expired' ? 1 : 2);
  return [...accounts].sort(
    (a, b) =>
      rank(a) - rank(b) || a.provider_name.localeCompare(b.provider_name) || a.nickname.localeCompare(b.nickname),
  );
}

/** The headline for an error, by kind; the backend's sentence follows it. */
export function errorTitle(e: UiError, action: string): string {
  switch (e.kind) {
    case 'cancelled':
      return `${action} was cancelled or timed out`;
    case 'provider':
      return `The service refused to ${action.toLowerCase()}`;
    case 'needs_reconnect':
      return 'This account needs to be reconnected';
    case 'keychain':
      return 'Keyport cannot use the system keychain';
    case 'not_found':
      return 'That account is gone';
    case 'unsupported':
      return `${action} is not offered here`;
    case 'unsafe':
      return 'Keyport stopped, to keep your accounts safe';
    default:
      return `Could not ${action.toLowerCase()}`;
  }
}

/** The core's messages start in lower case to read well after "keyport: "; alone, they start a sentence. */
export function sentence(message: string): string {
  const text = message.trim();
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** What a finished disconnect means for the grant at the provider. */
export function disconnectedText(d: Disconnected): string {
  const who = `${d.account.nickname} (${d.account.provider_name})`;
  switch (d.revocation) {
    case 'revoked':
      return `Disconnected ${who}. Its access was revoked at ${d.account.provider_name}.`;
    case 'not_supported':
      return `Disconnected ${who}. ${d.account.provider_name} offers no revocation: revoke Keyport in your account settings there.`;
    default:
      return `Disconnected ${who}.`;
  }
}

/** A stable hue per provider for its monogram icon. */
export function providerHue(id: string): number {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

/** The program as the question names it: "git, through sh" when it asked through a shell. */
function asker(q: Question): string {
  return q.through ? `${q.program}, through ${q.through},` : q.program;
}

/** The consent question's title: "Allow python3 on devbox (over SSH) to use github:ada?". */
export function consentTitle(q: Question): string {
  if (q.connect) return `Sign in to ${q.connect} for ${q.program} on ${q.over_ssh} (over SSH)?`;
  const who = q.over_ssh ? `${q.program} on ${q.over_ssh} (over SSH)` : asker(q);
  return `Allow ${who} to use ${q.account_label}?`;
}

/** The consent question, as a sentence. */
export function consentText(q: Question): string {
  if (q.connect) {
    return (
      `A program on ${q.over_ssh}, reached over SSH from this computer, asks to connect a ${q.connect} account. ` +
      `If you allow it, the sign-in opens here, and the account you sign in with may then be used over SSH. ` +
      `"${q.program}" is what that machine says it is; Keyport cannot check it.`
    );
  }
  if (q.over_ssh) {
    return (
      `A program on ${q.over_ssh}, reached over SSH from this computer, asks for a token of ${q.account_label}. ` +
      `"${q.program}" is what that machine says it is; Keyport cannot check it. Allow it?`
    );
  }
  const who = q.through ? `${q.program} (through ${q.through})` : q.program;
  const where = q.terminal ? `, run in the terminal ${q.terminal},` : '';
  return `With a token, ${who}${where} can act as ${q.account_label} until the token expires. Enter or Escape denies it this time only.`;
}

/** Whether an answer can be kept ("Always"): not for a sign-in, a shell interpreter (every
 * script would then have the account), or a program that cannot be identified; from a terminal,
 * for that terminal until it closes. */
export function remembersAnswers(q: Question): boolean {
  return !q.connect && (q.remembered || q.terminal !== null);
}

/** What the button that keeps an answer says. */
export function alwaysLabel(q: Question): string {
  return q.terminal ? 'Allow in this terminal' : 'Always allow';
}

/** What happens to the answer. */
export function consentHint(q: Question): string {
  if (q.connect) return 'It waits for your answer. A sign-in for another machine is asked about every time.';
  if (q.terminal) {
    return 'It waits for your answer. "Allow in this terminal" lets whatever runs in this terminal use your accounts until it closes; nothing is remembered beyond it.';
  }
  if (!q.remembered) {
    return 'It waits for your answer. A shell, a program in a container or sandbox, or one Keyport cannot identify is asked every time: no answer is remembered.';
  }
  return 'It waits for your answer. "Always" and "Deny" are remembered for this program and account; you can forget them under the account.';
}

/** What the question names as the asking program's identity: its executable, or the SSH link. */
export function consentExe(q: Question): string {
  if (q.over_ssh) return `Through your SSH connection to ${q.over_ssh}`;
  return q.exe || 'Its executable could not be identified.';
}

/** The remembered answers for one account: "python3 (always allowed)", newest first. */
export function decisionsFor(decisions: DecisionView[], accountId: string): DecisionView[] {
  return decisions.filter((d) => d.account === accountId).sort((a, b) => b.at - a.at);
}
