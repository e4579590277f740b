// Notices: confirmations that fade, and errors that stay until dismissed, stacked in the page's
// flow so they never cover a button.
import { $ } from './dom';
import { asUiError, errorTitle, sentence, type UiError } from './model';

// The stack sits above the accounts, so taking a notice out moves everything below it up. A
// confirmation that fades while the pointer is over the window at or below it therefore keeps its
// (now empty) place until the person's next click or key has landed, or the pointer goes above it
// or leaves: a row must never slide under a pointer that is about to click (Revoke turning into the
// button of the row below). Above the notice nothing moves, so there it goes at once.
let pointerInside = false;
let pointerY = Number.POSITIVE_INFINITY;
const faded = new Set<HTMLElement>();

function collapseFaded() {
  for (const box of faded) box.remove();
  faded.clear();
}

/** Whether taking `box` out would move what is under the pointer. */
function underPointerWouldMove(box: HTMLElement): boolean {
  return pointerInside && pointerY >= box.getBoundingClientRect().top;
}

function fade(box: HTMLElement) {
  if (!box.isConnected) return;
  if (!underPointerWouldMove(box)) return box.remove();
  box.classList.add('notice-faded');
  box.setAttribute('aria-hidden', 'true');
  faded.add(box);
}

export function watchPointer(doc: Document = document) {
  const moved = (e: Event) => {
    pointerInside = true;
    pointerY = e instanceof MouseEvent ? e.clientY : Number.POSITIVE_INFINITY;
    if (faded.size && ![...faded].some(underPointerWouldMove)) collapseFaded();
  };
  doc.addEventListener('pointermove', moved, { passive: true });
  doc.addEventListener('mouseover', moved, { passive: true });
  doc.documentElement.addEventListener('mouseleave', () => {
    pointerInside = false;
    collapseFaded();
  });
  // After the click's own handlers (bubbling, then a task later), so it acts where it was aimed.
  const after = () => setTimeout(collapseFaded);
  doc.addEventListener('click', after);
  doc.addEventListener('keydown', after);
}

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
  // The new notice moves the page anyway: the faded ones' places go in the same move.
  collapseFaded();
  stack.prepend(box);
  // A short stack: the oldest confirmations go first, errors stay until dismissed.
  const infos = stack.querySelectorAll('.notice-info');
  if (stack.children.length > 3 && infos.length) infos[infos.length - 1].remove();
  // Errors stay until dismissed; confirmations fade on their own.
  if (kind === 'info') setTimeout(() => fade(box), 6000);
}

export function showError(e: unknown, action: string) {
  const err: UiError = asUiError(e);
  notice(errorTitle(err, action), 'error', sentence(err.message));
}
