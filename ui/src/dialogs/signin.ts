// Connecting a service: its variables if it has any, then "Finish signing in in your browser…"
// with Cancel, and the sign-in address to open by hand when no browser could be opened.
import { backend } from '../backend';
import { $ } from '../dom';
import { reload } from '../store';
import { asUiError, type Provider } from '../model';
import { notice, showError } from '../notices';
import { setUp } from './provider-setup';
import { askVariables } from './variables';

export async function connect(p: Provider) {
  if (!p.set_up) return setUp(p, connect);
  let variables: Record<string, string> = {};
  if (Object.keys(p.variables).length) {
    const given = await askVariables(p);
    if (!given) return;
    variables = given;
  }
  const waiting = $<HTMLDialogElement>('waiting');
  current = p;
  $('waiting-title').textContent = 'Finish signing in in your browser…';
  $('waiting-text').textContent = waitingText(p.display_name, 'opened');
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
    current = null;
    waiting.close();
    await reload();
  }
}

/** The service whose sign-in the waiting dialog shows. */
let current: Provider | null = null;

/** What the waiting dialog says: one thing, whether the browser opened or not. */
export function waitingText(service: string, browser: 'opened' | 'failed'): string {
  return browser === 'opened'
    ? `Keyport opened ${service}'s sign-in page in your browser. Come back here when you are done.`
    : `Keyport could not open a browser. Open this address in a browser to sign in to ${service}; ` +
        'this window waits for you.';
}

/** The browser could not be opened: the dialog says so once and offers the address instead. */
export function showSignInAddress(provider: string, url: string) {
  const name = current?.id === provider ? current.display_name : provider;
  $('waiting-title').textContent = 'Open the sign-in page';
  $('waiting-text').textContent = waitingText(name, 'failed');
  $('waiting-url').textContent = url;
  $('waiting-copy').textContent = 'Copy address';
  $('waiting-copy').onclick = () => void copy(url);
  $('waiting-retry').onclick = () => {
    $('waiting-title').textContent = 'Finish signing in in your browser…';
    $('waiting-text').textContent = waitingText(name, 'opened');
    $('waiting-manual').hidden = true;
    backend.retryBrowser(provider).catch((e) => showError(e, 'Open the browser'));
  };
  $('waiting-manual').hidden = false;
}

async function copy(text: string) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Where the clipboard API is refused, the selection route still works.
    const range = document.createRange();
    range.selectNodeContents($('waiting-url'));
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    document.execCommand('copy');
  }
  $('waiting-copy').textContent = 'Copied';
}
