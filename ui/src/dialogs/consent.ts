// "Allow <program> to use <account>?": asked when a program Keyport has not seen asks the running
// app's agent for a token. One question at a time; the others wait their turn. The program waits
// for the answer (a minute at most), so the dialog closes by itself when it stops waiting.
import { backend } from '../backend';
import { $ } from '../dom';
import { reload } from '../store';
import { alwaysLabel, consentExe, consentHint, consentText, consentTitle, remembersAnswers, type Question, type Reply } from '../model';
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
  $('consent-always').textContent = alwaysLabel(q);
  $('consent-hint').textContent = consentHint(q);
  const answer = (reply: Reply) => async () => {
    queue.shift();
    showNext();
    try {
      await backend.answerConsent(q.id, reply);
      if (reply === 'deny') notice(`Denied ${q.program} the use of ${q.account_label}, until you forget that answer.`);
      if (reply === 'deny_once') notice(`Denied ${q.program} the use of ${q.account_label} this time.`);
    } catch (e) {
      showError(e, 'Answer');
    }
    await reload();
  };
  $('consent-deny').onclick = answer('deny');
  $('consent-once').onclick = answer('once');
  $('consent-always').onclick = answer('always');
  // A key press can be a slip: Enter and Escape deny this time only, never for good (the
  // buttons keep their meaning when clicked). Escape must not close the question unanswered.
  dialog.oncancel = (ev) => ev.preventDefault();
  dialog.onkeydown = (ev) => {
    if (ev.key !== 'Enter' && ev.key !== 'Escape') return;
    ev.preventDefault();
    void answer('deny_once')();
  };
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
    // The program stopped waiting before anyone answered: say so, or it would leave no trace.
    const [gone] = queue.splice(i, 1);
    notice(`${gone.program} stopped waiting for your answer and got no token for ${gone.account_label}.`);
    if (i === 0) showNext();
  });
}
