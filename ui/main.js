// Renders the connected accounts. The only place that talks to the Tauri backend is `invoke` below.
const invoke = (cmd, args) => window.__TAURI__.core.invoke(cmd, args);

const STATUS_LABELS = { ok: 'OK', expiring: 'Expiring soon', expired: 'Expired', needs_reconnect: 'Needs reconnect' };

function relative(seconds) {
  if (seconds === null || seconds === undefined) return 'never expires';
  const abs = Math.abs(seconds);
  const amount = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.floor(abs / 60)} min` : abs < 172800 ? `${Math.floor(abs / 3600)} h` : `${Math.floor(abs / 86400)} days`;
  return seconds > 0 ? `expires in ${amount}` : `expired ${amount} ago`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function agoText(at) {
  const secs = Math.max(0, Math.floor(Date.now() / 1000) - at);
  return secs < 60 ? 'just now' : secs < 3600 ? `${Math.floor(secs / 60)} min ago` : secs < 86400 ? `${Math.floor(secs / 3600)} h ago` : `${Math.floor(secs / 86400)} days ago`;
}

// "git 2 min ago, curl 1 h ago": the latest use per program, newest first.
function usedBy(uses, accountId) {
  const latest = new Map();
  for (const u of uses) {
    if (u.account !== accountId) continue;
    const name = u.program ?? 'unknown program';
    if (!latest.has(name)) latest.set(name, u.at);
  }
  return [...latest].slice(0, 4).map(([name, at]) => `${name} ${agoText(at)}`).join(', ');
}

function render(accounts, uses) {
  const list = document.getElementById('accounts');
  list.replaceChildren();
  document.getElementById('empty').hidden = accounts.length > 0;
  for (const a of accounts) {
    const item = el('li', 'account');
    item.dataset.id = a.id;
    const head = el('div', 'account-head');
    head.append(el('span', 'nickname', a.nickname), el('span', `badge status-${a.status}`, STATUS_LABELS[a.status] ?? a.status));
    const expiry = a.status === 'needs_reconnect' ? [] : [relative(a.expires_in)];
    const meta = el('div', 'meta', [a.provider_name, a.id, ...expiry].join(' · '));
    item.append(head, meta);
    if (a.status_reason) item.append(el('div', 'reason', a.status_reason));
    const used = usedBy(uses, a.id);
    if (used) item.append(el('div', 'used', `Recently used by ${used}`));
    if (a.scopes.length) {
      const scopes = el('details', 'scopes');
      scopes.append(el('summary', null, `${a.scopes.length} scopes`), el('div', null, a.scopes.join(' ')));
      item.append(scopes);
    }
    list.append(item);
  }
}

async function refresh() {
  const error = document.getElementById('error');
  try {
    const [accounts, uses] = await Promise.all([invoke('list_accounts'), invoke('recent_uses')]);
    render(accounts, uses);
    error.hidden = true;
  } catch (e) {
    error.textContent = e?.message ?? String(e);
    error.hidden = false;
  }
}

refresh().then(() => requestAnimationFrame(() => invoke('painted')));
setInterval(refresh, 5000);
