// "Add an MCP server…": a remote MCP server by its URL. Keyport discovers its sign-in and adds it
// as a service; the sign-in then starts at once, as for any service. "Through my organization's
// sign-in" signs in with an identity assertion from the person's account at their organization's
// identity provider instead of the browser.
import { backend } from '../backend';
import { $, formError } from '../dom';
import type { Provider } from '../model';
import { reloadProviders, state } from '../store';
import { connect } from './signin';

/** The accounts that can sign in for an organization: any but an MCP server's own. */
function fillAccounts() {
  const select = $<HTMLSelectElement>('mcp-via');
  const people = state.accounts.filter((a) => !a.mcp_server);
  select.replaceChildren(
    ...people.map((a) => {
      const option = document.createElement('option');
      option.value = a.id;
      option.textContent = `${a.nickname} (${a.provider_name})`;
      return option;
    }),
  );
  select.disabled = people.length === 0;
}

/** The organization's sign-in, when the person opened that part and filled it. */
function organization(): { via: string; client_id: string; client_secret: string } | null {
  if (!$<HTMLDetailsElement>('mcp-org').open) return null;
  const via = $<HTMLSelectElement>('mcp-via').value;
  const client_id = $<HTMLInputElement>('mcp-client-id').value.trim();
  const client_secret = $<HTMLInputElement>('mcp-client-secret').value;
  if (!via || !client_id || !client_secret) {
    throw new Error("Choose your account and give the client ID and secret your organization registered, or close \"Through my organization's sign-in\".");
  }
  return { via, client_id, client_secret };
}

export function addMcpServer() {
  const dialog = $<HTMLDialogElement>('mcp');
  const form = $<HTMLFormElement>('mcp-form');
  form.reset();
  $<HTMLDetailsElement>('mcp-org').open = false;
  fillAccounts();
  formError('mcp-error', null);
  $('mcp-cancel').onclick = () => dialog.close();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const save = $<HTMLButtonElement>('mcp-save');
    save.disabled = true;
    formError('mcp-error', null);
    let added: Provider;
    try {
      added = await backend.addMcpServer($<HTMLInputElement>('mcp-url').value.trim(), organization());
    } catch (e) {
      formError('mcp-error', e);
      return;
    } finally {
      save.disabled = false;
    }
    dialog.close();
    await reloadProviders();
    await connect(added);
    // The first sign-in names the server after what it says it is: its tile too.
    await reloadProviders();
  };
  dialog.showModal();
}
