// The two lists the window shows (connected accounts, services to connect), drawn from the
// store's data whenever it changes.
import { actOn } from './actions';
import { backend } from './backend';
import { connect } from './dialogs/signin';
import { $, patchList } from './dom';
import { filterProviders, sortAccounts } from './model';
import { showError } from './notices';
import { accountItem, providerItem } from './render';
import { now, onChange, state } from './store';

function renderAccounts() {
  patchList(
    $('accounts'),
    sortAccounts(state.accounts).map((a) =>
      accountItem(a, state.uses, now(), state.busy.has(a.id), actOn, state.consent.decisions, forget),
    ),
    (row) => row.getAttribute('data-account'),
  );
  $('empty').hidden = state.accounts.length > 0;
}

export function renderProviders() {
  const query = $<HTMLInputElement>('provider-search').value;
  patchList(
    $('providers'),
    filterProviders(state.providers, query).map((p) => providerItem(p, connect)),
    (item) => item.firstElementChild?.getAttribute('data-connect') ?? null,
  );
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

/** Keeps both lists drawn as the data changes. */
export function drawLists() {
  onChange((what) => (what === 'accounts' ? renderAccounts() : renderProviders()));
}
