// What the buttons of an account row do: run a backend action while the row shows it is busy,
// then say how it went.
import { backend } from './backend';
import { confirmDisconnect } from './dialogs/confirm';
import { rename } from './dialogs/rename';
import { connect } from './dialogs/signin';
import { reload, renderAccounts, state } from './lists';
import type { Account } from './model';
import { notice, showError } from './notices';
import type { AccountAction } from './render';

export async function run<T>(a: Account, action: string, op: () => Promise<T>, done: (r: T) => string) {
  state.busy.add(a.id);
  renderAccounts();
  try {
    notice(done(await op()));
  } catch (e) {
    showError(e, action);
  } finally {
    state.busy.delete(a.id);
    await reload();
  }
}

export function actOn(action: AccountAction, a: Account) {
  switch (action) {
    case 'refresh':
      return run(a, 'Refresh', () => backend.refresh(a.id), (r) => `Refreshed ${r.nickname}.`);
    case 'revoke':
      return run(
        a,
        'Revoke',
        () => backend.revoke(a.id),
        (r) => `Revoked ${r.nickname}'s access. Reconnect it to use it again.`,
      );
    case 'reconnect': {
      const p = state.providers.find((x) => x.id === a.provider);
      if (p) return connect(p);
      return notice(`${a.provider_name} is no longer in the catalog.`, 'error');
    }
    case 'rename':
      return rename(a);
    case 'disconnect':
      return confirmDisconnect(a);
  }
}
