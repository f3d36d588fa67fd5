// GOV.UK Frontend's components, and the queue polling for new actions (a short request
// every few seconds: no long-held connection takes a web worker away from Twilio).
import { initAll } from './govuk-frontend.min.js';

initAll();

const queue = document.getElementById('queue');
if (queue && queue.dataset.poll) {
  const refresh = async () => {
    // Never replace the table while someone is typing a note in it.
    if (queue.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') return;
    try {
      const answer = await fetch(queue.dataset.poll, { credentials: 'same-origin',
                                                       redirect: 'manual' });
      if (answer.ok && !answer.redirected) queue.innerHTML = await answer.text();
      else window.location.reload();  // signed out (idle): the page goes to sign-in
    } catch (error) { /* offline for a moment: try again next time */ }
  };
  setInterval(refresh, 5000);
}
