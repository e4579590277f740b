// "Add an MCP server…": a remote MCP server by its URL. Keyport discovers its sign-in and adds it
// as a service; the sign-in then starts at once, as for any service.
import { backend } from '../backend';
import { $, formError } from '../dom';
import type { Provider } from '../model';
import { reloadProviders } from '../store';
import { connect } from './signin';

export function addMcpServer() {
  const dialog = $<HTMLDialogElement>('mcp');
  const form = $<HTMLFormElement>('mcp-form');
  form.reset();
  formError('mcp-error', null);
  $('mcp-cancel').onclick = () => dialog.close();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const save = $<HTMLButtonElement>('mcp-save');
    save.disabled = true;
    formError('mcp-error', null);
    let added: Provider;
    try {
      added = await backend.addMcpServer($<HTMLInputElement>('mcp-url').value.trim());
    } catch (e) {
      formError('mcp-error', e);
      return;
    } finally {
      save.disabled = false;
    }
    dialog.close();
    await reloadProviders();
    await connect(added);
  };
  dialog.showModal();
}
