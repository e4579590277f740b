// Renaming an account: the nickname people and programs know it by.
import { backend } from '../backend';
import { $ } from '../dom';
import type { Account } from '../model';
import { run } from '../run';

export function rename(a: Account) {
  const dialog = $<HTMLDialogElement>('rename');
  const input = $<HTMLInputElement>('rename-input');
  $('rename-title').textContent = `Rename ${a.nickname}`;
  input.value = a.nickname;
  $('rename-cancel').onclick = () => dialog.close();
  $<HTMLFormElement>('rename-form').onsubmit = async (ev) => {
    ev.preventDefault();
    dialog.close();
    await run(a, 'Rename', () => backend.rename(a.id, input.value.trim()), (r) => `Renamed to ${r.nickname}.`);
  };
  dialog.showModal();
  input.select();
}
