// What the window knows (accounts, services, recent uses, remembered answers, rows at work) and
// the one way to say it changed. Lists subscribe to changes; actions and dialogs change the data
// and reload it from the backend, and never import the lists: data flows down, changes are
// announced, so no module imports one that imports it back.
import { backend } from './backend';
import { $ } from './dom';
import { asUiError, type Account, type ConsentSettings, type Provider, type Use } from './model';
import { showError } from './notices';

export const state = {
  accounts: [] as Account[],
  providers: [] as Provider[],
  uses: [] as Use[],
  consent: { ask: false, decisions: [] } as ConsentSettings,
  /** Accounts with an action under way. */
  busy: new Set<string>(),
};

export const now = () => Math.floor(Date.now() / 1000);

export type Change = 'accounts' | 'providers';
const listeners: ((what: Change) => void)[] = [];

/** Calls `listener` after every change of `state`. */
export function onChange(listener: (what: Change) => void) {
  listeners.push(listener);
}

/** Announces that `what` in `state` changed. */
export function changed(what: Change) {
  for (const listener of listeners) listener(what);
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
    changed('accounts');
  } catch (e) {
    showError(e, 'Load accounts');
  }
}

export async function reloadProviders() {
  try {
    state.providers = await backend.providers();
    changed('providers');
  } catch (e) {
    showError(e, 'Load services');
  }
}
