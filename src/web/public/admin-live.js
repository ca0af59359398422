// The admin dashboard's live panel: session events from every app instance, pushed by the
// server over Server-Sent Events (GET /admin/events). Text only (textContent), never HTML.
const MAX_SHOWN = 50;
const LABELS = {
  created: 'Session created',
  revoked: 'Session revoked',
  expired: 'Session expired',
  login_failed: 'Failed sign-in',
  rate_limited: 'Rate-limited',
  new_device: 'Sign-in from a new device',
};

const list = document.getElementById('live-events');
const status = document.getElementById('live-status');

/** Who: the account's email when the event carries it, else its id (the id stays on hover). */
function who(event) {
  if (event.email) return String(event.email);
  return event.userId ? `user ${event.userId}` : 'unknown account';
}

function show(event) {
  const item = document.createElement('li');
  item.className = `live-${String(event.type).replace(/[^a-z_]/g, '')}`;
  const time = document.createElement('time');
  time.dateTime = String(event.at);
  time.textContent = String(event.at).slice(11, 19);
  const what = document.createElement('strong');
  what.textContent = LABELS[event.type] ?? String(event.type);
  const user = document.createElement('span');
  user.className = 'live-user';
  user.textContent = who(event);
  if (event.email && event.userId) user.title = `user ${event.userId}`;
  const count = event.count ? `${Number(event.count)} sessions` : null;
  const details = [count, event.sessionId ? `session ${event.sessionId}` : null, event.device ? `on ${event.device}` : null, event.ip ? `from ${event.ip}` : null];
  const rest = details.filter(Boolean).join(', ');
  item.append(time, ' ', what, ' ', user, rest ? `, ${rest}` : '');
  list.prepend(item);
  while (list.children.length > MAX_SHOWN) list.lastElementChild.remove();
}

if (list && status && 'EventSource' in window) {
  status.textContent = 'Connecting…';
  const source = new EventSource('/admin/events');
  source.addEventListener('open', () => {
    status.textContent = 'Connected. New events appear below as they happen.';
  });
  source.addEventListener('error', () => {
    status.textContent = 'Disconnected. Reconnecting…';
  });
  source.addEventListener('session', (message) => {
    try {
      show(JSON.parse(message.data));
    } catch {
      // not an event we understand
    }
  });
}
