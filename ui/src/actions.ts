// What the buttons of an account row do (a backend action through `run`, or a dialog).
import { backend } from './backend';
import { confirmDisconnect } from './dialogs/confirm';
import { rename } from './dialogs/rename';
import { connect } from './dialogs/signin';
import type { Account } from './model';
import { notice } from './notices';
import type { AccountAction } from './render';
import { run } from './run';
import { state } from './store';

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
    case 'ssh':
      return run(
        a,
        a.over_ssh ? 'Stop SSH use' : 'Allow over SSH',
        () => backend.setOverSsh(a.id, !a.over_ssh),
        (r) =>
          r.over_ssh
            ? `${r.nickname} may now be used over SSH; Keyport asks you before each new program there.`
            : `${r.nickname} is no longer offered over SSH.`,
      );
    case 'disconnect':
      return confirmDisconnect(a);
  }
}
