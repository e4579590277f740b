// The two lists the window shows (connected accounts, services to connect) and the data behind
// them, reloaded from the backend.
import { actOn } from './actions';
import { backend } from './backend';
import { connect } from './dialogs/signin';
import { $ } from './dom';
import { asUiError, filterProviders, sortAccounts, type Account, type ConsentSettings, type Provider, type Use } from './model';
import { showError } from './notices';
import { accountItem, providerItem } from './render';

export const state = {
  accounts: [] as Account[],
  providers: [] as Provider[],
  uses: [] as Use[],
  consent: { ask: false, decisions: [] } as ConsentSettings,
  /** Accounts with an action under way. */
  busy: new Set<string>(),
};

export const now = () => Math.floor(Date.now() / 1000);

export function renderAccounts() {
  const list = $('accounts');
  list.replaceChildren(
    ...sortAccounts(state.accounts).map((a) =>
      accountItem(a, state.uses, now(), state.busy.has(a.id), actOn, state.consent.decisions, forget),
    ),
  );
  $('empty').hidden = state.accounts.length > 0;
}

export function renderProviders() {
  const query = $<HTMLInputElement>('provider-search').value;
  $('providers').replaceChildren(...filterProviders(state.providers, query).map((p) => providerItem(p, connect)));
}

/** Forgets a remembered answer: the program is asked again next time. */
async function forget(exe: string, account: string) {
  try {
    state.consent = await backend.forgetConsent(exe, account);
    renderAccounts();
  } catch (e) {
    showError(e, 'Forget');
  }
}

export async function reload() {
  try {
    let consentProblem = '';
    [state.accounts, state.uses, state.consent] = await Promise.all([
      backend.accounts(),
      backend.recentUses(),
      // Without its consent file the window still lists the accounts; the switch says why it is off.
      backend.consentSettings().catch((e) => {
        consentProblem = asUiError(e).message;
        return { ask: false, decisions: [] };
      }),
    ]);
    const ask = $<HTMLInputElement>('consent-ask');
    ask.checked = state.consent.ask;
    ask.disabled = consentProblem !== '';
    ask.title = consentProblem;
    renderAccounts();
  } catch (e) {
    showError(e, 'Load accounts');
  }
}

export async function reloadProviders() {
  try {
    state.providers = await backend.providers();
    renderProviders();
  } catch (e) {
    showError(e, 'Load services');
  }
}
