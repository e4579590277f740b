// Small DOM helpers every part of the window uses.
import { asUiError, sentence } from './model';

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Shows `e` in a form's error line, or hides the line when `e` is null. */
export function formError(id: string, e: unknown) {
  $(id).textContent = e === null ? '' : sentence(asUiError(e).message);
  $(id).hidden = e === null;
}

/**
 * Makes `list`'s children read like `next`, matched by `key`, changing only what differs. A row
 * the person is pointing at or has focused stays the same node: the window redraws every 30 s and
 * on every change, and replacing the rows then lost a click whose press and release straddled the
 * redraw, and the keyboard focus with it.
 */
export function patchList(list: Element, next: Element[], key: (e: Element) => string | null) {
  const old = new Map<string, Element>();
  for (const c of list.children) {
    const k = key(c);
    if (k !== null && !old.has(k)) old.set(k, c);
  }
  next.forEach((n, i) => {
    const k = key(n);
    const existing = k === null ? undefined : old.get(k);
    if (k !== null) old.delete(k);
    const node = existing ? morph(existing, n) : n;
    if (list.children[i] !== node) list.insertBefore(node, list.children[i] ?? null);
  });
  while (list.children.length > next.length) list.lastElementChild?.remove();
}

/** Turns `old` into `next` in place where their shapes agree; returns the node now in the page. */
function morph(old: Node, next: Node): Node {
  if (old.nodeType !== next.nodeType || old.nodeName !== next.nodeName) {
    old.parentNode?.replaceChild(next, old);
    return next;
  }
  if (!(old instanceof Element && next instanceof Element)) {
    if (old.nodeValue !== next.nodeValue) old.nodeValue = next.nodeValue;
    return old;
  }
  for (const { name } of [...old.attributes]) {
    // An open list of scopes stays open: the person opened it.
    const keep = name === 'open' && old.localName === 'details';
    if (!keep && !next.hasAttribute(name)) old.removeAttribute(name);
  }
  for (const { name, value } of [...next.attributes]) {
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  // Handlers are properties (see render.ts), so the kept node acts on the new data.
  if (old instanceof HTMLElement && next instanceof HTMLElement) old.onclick = next.onclick;
  const had = [...old.childNodes];
  const wants = [...next.childNodes];
  wants.forEach((n, i) => (i < had.length ? morph(had[i], n) : old.appendChild(n)));
  for (const extra of had.slice(wants.length)) extra.remove();
  return old;
}
