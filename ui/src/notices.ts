// Notices: confirmations that fade, and errors that stay until dismissed, stacked after the page's
// content (see style.css: coming and going, they move no row).
import { $ } from './dom';
import { asUiError, errorTitle, sentence, type UiError } from './model';

export function notice(text: string, kind: 'info' | 'error' = 'info', detail?: string) {
  const box = document.createElement('div');
  box.className = `notice notice-${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  const strong = document.createElement('strong');
  strong.textContent = text;
  box.append(strong);
  if (detail) {
    const p = document.createElement('p');
    p.textContent = detail;
    box.append(p);
  }
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'notice-close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.addEventListener('click', () => box.remove());
  box.append(close);
  const stack = $('notices');
  stack.prepend(box);
  // A short stack: the oldest confirmations go first, errors stay until dismissed.
  const infos = stack.querySelectorAll('.notice-info');
  if (stack.children.length > 3 && infos.length) infos[infos.length - 1].remove();
  // Errors stay until dismissed; confirmations fade on their own.
  if (kind === 'info') setTimeout(() => box.remove(), 6000);
}

export function showError(e: unknown, action: string) {
  const err: UiError = asUiError(e);
  notice(errorTitle(err, action), 'error', sentence(err.message));
}
