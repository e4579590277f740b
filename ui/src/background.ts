// The header's switches: "Open at login" with a line saying what closing the window does (hide to
// the tray, or quit where this desktop shows no tray icons), and "Ask before programs use an
// account" (consent).
import { backend } from './backend';
import { $ } from './dom';
import type { Background } from './generated/bindings';
import { showError } from './notices';

export function backgroundNote(b: Background): string {
  return b.tray
    ? 'Closing this window keeps Keyport in the tray, serving and refreshing tokens.'
    : 'This desktop shows no tray icons: closing this window quits Keyport.';
}

function render(b: Background) {
  ($('login-start') as HTMLInputElement).checked = b.login_start;
  $('background-note').textContent = backgroundNote(b);
}

/** The consent switch's changes; its state comes with the accounts (`reload` in lists.ts). */
function wireConsentSwitch() {
  const input = $('consent-ask') as HTMLInputElement;
  input.addEventListener('change', async () => {
    try {
      input.checked = (await backend.setConsentAsking(input.checked)).ask;
    } catch (e) {
      input.checked = !input.checked;
      showError(e, 'Ask before programs use an account');
    }
  });
}

export async function showBackground() {
  wireConsentSwitch();
  const input = $('login-start') as HTMLInputElement;
  input.addEventListener('change', async () => {
    try {
      render(await backend.setLoginStart(input.checked));
    } catch (e) {
      input.checked = !input.checked;
      showError(e, 'Open at login');
    }
  });
  try {
    render(await backend.background());
  } catch (e) {
    showError(e, 'Open at login');
  }
}
