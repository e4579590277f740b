// "Add by issuer URL…": a service from its OpenID Connect discovery document, with the error in
// place when the address is not one.
import { backend } from '../backend';
import { $, formError } from '../dom';
import { reloadProviders } from '../store';
import type { Provider } from '../model';
import { notice } from '../notices';

export function addProvider() {
  const dialog = $<HTMLDialogElement>('add');
  const form = $<HTMLFormElement>('add-form');
  form.reset();
  formError('add-error', null);
  $('add-cancel').onclick = () => dialog.close();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const value = (id: string) => $<HTMLInputElement>(id).value.trim() || null;
    const save = $<HTMLButtonElement>('add-save');
    save.disabled = true;
    formError('add-error', null);
    let added: Provider;
    try {
      added = await backend.addProvider(value('add-issuer') ?? '', value('add-name'), value('add-client-id'));
    } catch (e) {
      formError('add-error', e);
      return;
    } finally {
      save.disabled = false;
    }
    dialog.close();
    await reloadProviders();
    notice(
      added.set_up
        ? `Added ${added.display_name}. Connect it below.`
        : `Added ${added.display_name}. Press its Set up button to give it a client id.`,
    );
  };
  dialog.showModal();
}
