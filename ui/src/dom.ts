// Small DOM helpers every part of the window uses.
import { asUiError, sentence } from './model';

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Shows `e` in a form's error line, or hides the line when `e` is null. */
export function formError(id: string, e: unknown) {
  $(id).textContent = e === null ? '' : sentence(asUiError(e).message);
  $(id).hidden = e === null;
}
