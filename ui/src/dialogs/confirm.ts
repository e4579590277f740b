// Disconnect asks first, and says what will happen at the provider.
import { backend } from '../backend';
import { $ } from '../dom';
import { disconnectedText, type Account } from '../model';
import { run } from '../run';

export function confirmDisconnect(a: Account) {
  const dialog = $<HTMLDialogElement>('confirm');
  $('confirm-title').textContent = `Disconnect ${a.nickname}?`;
  $('confirm-text').textContent = a.can_revoke
    ? `Keyport will revoke its access at ${a.provider_name}, then forget it. Programs using it will need you to connect again.`
    : `Keyport will forget it. ${a.provider_name} offers no revocation, so also remove Keyport in your account settings there.`;
  $('confirm-cancel').onclick = () => dialog.close();
  $('confirm-ok').onclick = async () => {
    dialog.close();
    await run(a, 'Disconnect', () => backend.disconnect(a.id), disconnectedText);
  };
  dialog.showModal();
  $('confirm-cancel').focus();
}
