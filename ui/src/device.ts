// Device sign-ins started with `keyport connect --device` while the app runs: the code to enter
// and where, shown in the window (callers often hide the command's stderr) until it expires. All
// of it came from the provider: shown as text, never as a link or markup.
import { $ } from './dom';
import type { DeviceCode } from './generated/bindings';

export function deviceCodeText(c: DeviceCode): string {
  const who = c.program ? ` (started by ${c.program})` : '';
  return `A sign-in to ${c.provider_name}${who}: open ${c.verification_uri} on any device and enter this code.`;
}

export function showDeviceCode(c: DeviceCode) {
  const card = document.createElement('div');
  card.className = 'device-code';
  card.setAttribute('role', 'status');
  const text = document.createElement('p');
  text.textContent = deviceCodeText(c);
  const code = document.createElement('span');
  code.className = 'code';
  code.textContent = c.user_code;
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.textContent = 'Copy code';
  copy.addEventListener('click', async () => {
    await navigator.clipboard.writeText(c.user_code).catch(() => {});
    copy.textContent = 'Copied';
  });
  const dismiss = document.createElement('button');
  dismiss.type = 'button';
  dismiss.textContent = 'Dismiss';
  dismiss.addEventListener('click', () => card.remove());
  card.append(text, code, copy, ' ', dismiss);
  $('device-codes').prepend(card);
  window.scrollTo(0, 0);
  setTimeout(() => card.remove(), Math.min(c.expires_in, 3600) * 1000);
}
