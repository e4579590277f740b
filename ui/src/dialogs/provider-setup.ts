// Setting a service up: where to register Keyport with it, the redirect address to give, then
// its client id (and secret, for services that want one); connects once it is set up.
import { backend } from '../backend';
import { $, formError } from '../dom';
import { reloadProviders, state } from '../store';
import type { Provider } from '../model';
import { showError } from '../notices';

/** Asks for `p`'s client id (and secret); once it is set up, `then` goes on with it (a sign-in). */
export function setUp(p: Provider, then: (ready: Provider) => Promise<void>) {
  const dialog = $<HTMLDialogElement>('setup');
  const form = $<HTMLFormElement>('setup-form');
  form.reset();
  $('setup-title').textContent = `Set up ${p.display_name}`;
  $('setup-intro').textContent =
    `Keyport signs in to ${p.display_name} as an app you register once. It takes a minute:`;
  $('setup-name').textContent = p.display_name;
  const where = $('setup-where');
  where.replaceChildren();
  if (p.registration_url) {
    const link = document.createElement('a');
    link.href = '#';
    link.textContent = 'open its developer settings';
    link.addEventListener('click', (ev) => {
      ev.preventDefault();
      backend.openRegistrationPage(p.id).catch((e) => showError(e, 'Open the page'));
    });
    where.append(' (', link, ')');
  }
  $('setup-redirect').textContent = p.redirect_uri;
  $('setup-secret-row').hidden = !p.wants_client_secret;
  formError('setup-error', null);
  $('setup-cancel').onclick = () => dialog.close();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const clientId = $<HTMLInputElement>('setup-client-id').value.trim();
    const secret = $<HTMLInputElement>('setup-client-secret').value;
    try {
      await backend.setUpProvider(p.id, clientId, p.wants_client_secret && secret ? secret : null);
    } catch (e) {
      formError('setup-error', e);
      return;
    }
    dialog.close();
    await reloadProviders();
    const ready = state.providers.find((x) => x.id === p.id);
    if (ready?.set_up) await then(ready);
  };
  dialog.showModal();
}
