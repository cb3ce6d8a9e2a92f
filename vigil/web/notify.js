// Alarm notifications on this device while Vigil is open (a tab or the installed app): the user turns them on
// and picks the event types. Notifications to a closed browser would need a push service on the internet, which
// a recorder in a private network does not reach; they are left out on purpose.
import { esc, el } from './api.js';

const KEY = 'vigil.notify';
const TYPES = ['tripwire', 'intrusion', 'occupancy', 'face_match', 'face_blocklist', 'face_stranger', 'plate_match',
  'plate_blocklist', 'tamper', 'scene_change', 'audio', 'external', 'camera_offline', 'disk_full', 'disk_error',
  'disk_missing', 'disk_quota', 'disk_low', 'motion', 'smd', 'plate_read', 'face'];
const QUIET = new Set(['motion', 'smd', 'plate_read', 'face', 'scene_change']);  // too frequent to be on by default
const supported = () => 'Notification' in window && 'serviceWorker' in navigator;

function choice() {
  try {
    const c = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (c && Array.isArray(c.types)) return c;
  } catch (_) { /* unreadable: defaults */ }
  return { on: false, types: TYPES.filter((t) => !QUIET.has(t)) };
}

export async function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  try { await navigator.serviceWorker.register('/sw.js'); } catch (err) { console.warn('service worker:', err); }
}

let socket = null, retry = null;

export function stopNotifier() {
  clearTimeout(retry); retry = null;
  if (socket) { socket.onclose = null; socket.close(); socket = null; delete document.body.dataset.notifier; }
}

export function startNotifier() {
  stopNotifier();
  const c = choice();
  if (!c.on || !supported() || Notification.permission !== 'granted') return;
  const wanted = new Set(c.types);
  socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events/live`);
  socket.onopen = () => { document.body.dataset.notifier = 'open'; };  // for scripts and tests
  socket.onmessage = async (m) => {
    const { kind, event: e } = JSON.parse(m.data);
    if (kind !== 'new' || !e || !wanted.has(e.type)) return;
    const reg = await navigator.serviceWorker.ready;
    // The tag folds the same event shown by several open tabs into one notification.
    await reg.showNotification(`${e.type.replace(/_/g, ' ')} · ${e.camera_id ?? 'Vigil'}`, {
      body: e.message, tag: `vigil-event-${e.id}`, icon: '/web/icon-192.png', timestamp: e.start_ms,
      data: { url: e.camera_id ? `/#/events?camera=${encodeURIComponent(e.camera_id)}` : '/#/events' },
    });
  };
  socket.onclose = () => { delete document.body.dataset.notifier; socket = null; retry = setTimeout(startNotifier, 5000); };
}

// The Settings page's panel.
export function notifyPanel() {
  const c = choice();
  const panel = el(`<div class="panel" id="notify-panel"><h3>Notifications on this device</h3>
    <p id="notify-state" class="muted"></p>
    <p><label><input type="checkbox" id="notify-on"> Notify me of these events while Vigil is open here</label></p>
    <div class="type-choice">${TYPES.map((t) => `<label><input type="checkbox" data-type="${esc(t)}" ${c.types.includes(t) ? 'checked' : ''}> ${esc(t)}</label>`).join('')}</div></div>`);
  const on = panel.querySelector('#notify-on');
  const state = panel.querySelector('#notify-state');
  const show = () => {
    if (!supported()) { state.textContent = 'This browser cannot show notifications.'; on.disabled = true; return; }
    const p = Notification.permission;
    on.checked = choice().on && p === 'granted';
    state.textContent = p === 'denied' ? 'Notifications are blocked for this site: allow them in the browser\'s site settings.'
      : on.checked ? 'On. Closed browsers get nothing: that would need a push service on the internet.' : 'Off.';
  };
  const save = (next) => { localStorage.setItem(KEY, JSON.stringify(next)); startNotifier(); show(); };
  on.onchange = async () => {
    if (on.checked && Notification.permission !== 'granted') await Notification.requestPermission();
    save({ ...choice(), on: on.checked && Notification.permission === 'granted' });
  };
  panel.querySelectorAll('[data-type]').forEach((box) => {
    box.onchange = () => save({ ...choice(), types: [...panel.querySelectorAll('[data-type]:checked')].map((b) => b.dataset.type) });
  });
  show();
  return panel;
}
