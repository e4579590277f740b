// Connecting a service: its variables if it has any, then "Finish signing in in your browser…"
// with Cancel, and the sign-in address to open by hand when no browser could be opened.
import { backend } from '../backend';
import { $ } from '../dom';
import { reload } from '../lists';
import { asUiError, type Provider } from '../model';
import { notice, showError } from '../notices';
import { setUp } from './setup';
import { askVariables } from './variables';

export async function connect(p: Provider) {
  if (!p.set_up) return setUp(p);
  let variables: Record<string, string> = {};
  if (Object.keys(p.variables).length) {
    const given = await askVariables(p);
    if (!given) return;
    variables = given;
  }
  const waiting = $<HTMLDialogElement>('waiting');
  $('waiting-text').textContent =
    `Keyport opened ${p.display_name}'s sign-in page in your browser. Come back here when you are done.`;
  $('waiting-manual').hidden = true;
  $('waiting-cancel').onclick = () => void backend.cancelConnect(p.id);
  waiting.oncancel = (ev) => {
    ev.preventDefault();
    void backend.cancelConnect(p.id);
  };
  waiting.showModal();
  try {
    const account = await backend.connect(p.id, variables);
    notice(`Connected ${account.nickname} (${account.provider_name}).`);
  } catch (e) {
    const err = asUiError(e);
    if (err.kind === 'cancelled' && /cancel/i.test(err.message)) notice('Sign-in cancelled.');
    else showError(err, `Connect ${p.display_name}`);
  } finally {
    waiting.close();
    await reload();
  }
}

/** The browser could not be opened: show the address in the waiting dialog instead. */
export function showSignInAddress(url: string) {
  $('waiting-url').textContent = url;
  $('waiting-manual').hidden = false;
}
