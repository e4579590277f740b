// Running a backend action for an account: its row shows it is busy meanwhile, then the window
// says how it went and reloads.
import type { Account } from './model';
import { notice, showError } from './notices';
import { changed, reload, state } from './store';

export async function run<T>(a: Account, action: string, op: () => Promise<T>, done: (r: T) => string) {
  state.busy.add(a.id);
  changed('accounts');
  try {
    notice(done(await op()));
  } catch (e) {
    showError(e, action);
  } finally {
    state.busy.delete(a.id);
    await reload();
  }
}
