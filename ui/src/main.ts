// The Keyport window: start-up and the wiring of page-wide events. The data and its change
// announcements are in `store.ts`; the lists that draw it in `lists.ts`; row actions in
// `actions.ts` (through `run.ts`); each dialog is its own module in `dialogs/`; rendering in
// `render.ts`, wording and logic in `model.ts`; `backend.ts` is the only module that talks to the
// backend. Imports point one way: nothing imports `lists.ts` or `main.ts`.
import './style.css';
import { backend } from './backend';
import { showBackground } from './background';
import { addMcpServer } from './dialogs/add-mcp';
import { addProvider } from './dialogs/add-provider';
import { listenForConsent } from './dialogs/consent';
import { showDeviceCode } from './device';
import { showSignInAddress } from './dialogs/signin';
import { $ } from './dom';
import { drawLists, renderProviders } from './lists';
import { cssString, errorTitle, sentence } from './model';
import { notice } from './notices';
import { reload, reloadProviders } from './store';

// The desktop's font, named for the stylesheet (`--ui-font`) before anything is drawn, so that
// WebKitGTK need not resolve `system-ui` for the first frame (150 ms where we measure).
const font = backend.interfaceFont();
if (font) document.documentElement.style.setProperty('--ui-font', cssString(font));

async function start() {
  drawLists();
  $('provider-search').addEventListener('input', renderProviders);
  $('add-provider').addEventListener('click', addProvider);
  $('add-mcp').addEventListener('click', addMcpServer);
  await Promise.all([reload(), reloadProviders(), showBackground()]);
  requestAnimationFrame(() => void backend.painted());
  await backend.onAccountsChanged(() => void reload());
  await backend.onBrowserFailed((provider, url) => showSignInAddress(provider, url));
  await listenForConsent();
  await backend.onDeviceCode(showDeviceCode);
  await backend.onNotice((e) => notice(errorTitle(e, 'Sign in'), 'error', sentence(e.message)));
  // The first frame came from what the backend read as the app started; now that changes are
  // listened to, catch up with any made since.
  await Promise.all([reload(), reloadProviders()]);
  // Expiry texts and the "expiring" state move with the clock.
  setInterval(() => void reload(), 30_000);
}

void start();
