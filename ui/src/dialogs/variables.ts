// The Connect form of a service whose addresses depend on the account (a tenant, a shop, a
// self-hosted server): one field per variable, checked as the backend checks them.
import { $ } from '../dom';
import { validVariable, VARIABLE_PATTERN, type Provider } from '../model';

/** Asks for the provider's variables; resolves to null when cancelled. */
export function askVariables(p: Provider): Promise<Record<string, string> | null> {
  const dialog = $<HTMLDialogElement>('vars');
  const form = $<HTMLFormElement>('vars-form');
  $('vars-title').textContent = `Connect ${p.display_name}`;
  const inputs = Object.entries(p.variables).map(([name, v]) => {
    const input = document.createElement('input');
    input.name = name;
    input.required = v.default === null;
    input.value = v.default ?? '';
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.pattern = VARIABLE_PATTERN;
    input.title = 'Letters, digits, dots, dashes and underscores';
    input.dataset.variable = name;
    const label = document.createElement('label');
    label.append(v.description, input);
    return { name, input, label };
  });
  $('vars-fields').replaceChildren(...inputs.map((i) => i.label));
  return new Promise((resolve) => {
    $('vars-cancel').onclick = () => {
      dialog.close();
      resolve(null);
    };
    dialog.oncancel = () => resolve(null);
    form.onsubmit = (ev) => {
      ev.preventDefault();
      if (!inputs.every((i) => validVariable(i.input.value.trim()))) return;
      dialog.close();
      resolve(Object.fromEntries(inputs.map((i) => [i.name, i.input.value.trim()])));
    };
    dialog.showModal();
    inputs[0]?.input.focus();
  });
}
