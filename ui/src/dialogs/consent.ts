// "Allow <program> to use <account>?": asked when a program Keyport has not seen asks the running
// app's agent for a token. One question at a time; the others wait their turn. The program waits
// for the answer (a minute at most), so the dialog closes by itself when it stops waiting.
import { backend } from '../backend';
import { $ } from '../dom';
import { reload } from '../store';
import { consentExe, consentHint, consentText, consentTitle, remembersAnswers, type Question, type Reply } from '../model';
import { notice, showError } from '../notices';

const queue: Question[] = [];

function showNext() {
  const dialog = $<HTMLDialogElement>('consent');
  const q = queue[0];
  if (!q) {
    if (dialog.open) dialog.close();
    return;
  }
  $('consent-title').textContent = consentTitle(q);
  $('consent-text').textContent = consentText(q);
  $('consent-exe').textContent = consentExe(q);
  $('consent-always').hidden = !remembersAnswers(q);
  $('consent-hint').textContent = consentHint(q);
  const answer = (reply: Reply) => async () => {
    queue.shift();
    showNext();
    try {
      await backend.answerConsent(q.id, reply);
      if (reply === 'deny') notice(`Denied ${q.program} the use of ${q.account_label}.`);
    } catch (e) {
      showError(e, 'Answer');
    }
    await reload();
  };
  $('consent-deny').onclick = answer('deny');
  $('consent-once').onclick = answer('once');
  $('consent-always').onclick = answer('always');
  // Escape must not answer for the person: they choose, or the program stops waiting.
  dialog.oncancel = (ev) => ev.preventDefault();
  if (!dialog.open) dialog.showModal();
  $('consent-deny').focus();
}

export async function listenForConsent() {
  await backend.onConsentAsked((q) => {
    queue.push(q);
    if (queue.length === 1) showNext();
  });
  await backend.onConsentEnded((id) => {
    const i = queue.findIndex((q) => q.id === id);
    if (i < 0) return;
    queue.splice(i, 1);
    if (i === 0) showNext();
  });
}
