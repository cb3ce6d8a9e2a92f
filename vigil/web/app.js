// The single-page shell: login, navigation, the arm switch.
import { api, AuthError } from './api.js';
import { renderLive } from './live.js';
import { renderPlayback } from './playback.js';
import { renderCameras, renderEvents, renderSettings } from './pages.js';
import { renderRules } from './rules.js';
import { renderFaces } from './faces.js';
import { renderSearch } from './search.js';
import { renderPeople } from './people.js';
import { renderPlates } from './plates.js';
import { renderOverview } from './overview.js';
import { registerWorker, startNotifier, stopNotifier } from './notify.js';

const PAGES = { overview: renderOverview, live: renderLive, playback: renderPlayback, events: renderEvents, search: renderSearch, people: renderPeople, plates: renderPlates, rules: renderRules, faces: renderFaces, cameras: renderCameras, settings: renderSettings };
const $ = (id) => document.getElementById(id);
let cleanup = null;

function showLogin() {
  if (cleanup) { cleanup(); cleanup = null; }
  stopNotifier();
  $('top').hidden = true; $('view').innerHTML = ''; $('first-password').hidden = true; $('login').hidden = false;
  $('login').querySelector('[name=username]').focus();
}

// Each page renders into its own fresh element: a page still loading when the user moves on
// writes into a detached element, never over the page that replaced it, and its cleanup runs.
let routeGen = 0;
async function route() {
  const gen = ++routeGen;
  const [page, query] = (location.hash.slice(2) || 'overview').split('?');
  const render = PAGES[page] || renderOverview;
  if (cleanup) { cleanup(); cleanup = null; }
  $('top').classList.remove('open'); $('menu').setAttribute('aria-expanded', 'false');
  document.querySelectorAll('header nav a').forEach((a) => a.classList.toggle('active', a.dataset.page === page));
  const view = document.createElement('div');
  view.innerHTML = '<p class="muted">Loading…</p>';
  $('view').replaceChildren(view);
  try {
    const done = (await render(view, new URLSearchParams(query || ''))) || null;
    if (gen === routeGen) cleanup = done;
    else if (done) done();
  } catch (err) {
    if (gen === routeGen && !(err instanceof AuthError)) view.innerHTML = `<p class="error">${String(err.message || err)}</p>`;
  }
}

async function start() {
  // Asks without a 401: a login page that starts with a failed request would log a console error.
  const session = await (await fetch('/api/auth/session', { credentials: 'same-origin' })).json();
  if (!session.user) { showLogin(); return; }
  if (session.user.must_change_password) {
    $('login').hidden = true; $('first-password').hidden = false;
    $('first-password').querySelector('[name=current]').focus();
    return;
  }
  $('first-password').hidden = true;
  $('who').textContent = `${session.user.username} (${session.user.role})`;
  document.body.dataset.role = session.user.role;
  // What the role may not use is not shown (the server refuses it anyway).
  const rank = { viewer: 0, operator: 1, admin: 2 };
  document.querySelectorAll('[data-role]').forEach((e) => { e.hidden = rank[session.user.role] < rank[e.dataset.role]; });
  $('login').hidden = true; $('top').hidden = false;
  const arm = await api('/api/system/arm');
  setArm(arm.armed);
  startNotifier();
  route();
}

function setArm(armed) {
  $('arm').classList.toggle('armed', armed);
  $('arm').textContent = armed ? 'Armed' : 'Disarmed';
  $('arm').dataset.armed = armed ? '1' : '0';
}

$('arm').onclick = async () => setArm((await api('/api/system/arm', { method: 'PUT', json: { armed: $('arm').dataset.armed !== '1' } })).armed);
$('logout').onclick = async () => { await fetch('/api/auth/logout', { method: 'POST' }); showLogin(); };
$('login').onsubmit = async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await fetch('/api/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: f.get('username'), password: f.get('password') }) });
  if (r.ok) { $('login-error').textContent = ''; e.target.reset(); start(); }
  else $('login-error').textContent = (await r.json()).detail;
};
$('first-password').onsubmit = async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  if (f.get('new') !== f.get('again')) { $('first-password-error').textContent = 'the two new passwords differ'; return; }
  try {
    await api('/api/auth/password', { method: 'POST', json: { current_password: f.get('current'), new_password: f.get('new') } });
    e.target.reset(); $('first-password-error').textContent = ''; start();
  } catch (err) { $('first-password-error').textContent = String(err.message || err); }
};
window.addEventListener('vigil:login', showLogin);
$('menu').onclick = () => $('menu').setAttribute('aria-expanded', String($('top').classList.toggle('open')));

// On a phone a table shows as one card per row (app.css): each cell is labelled with its column's heading.
function labelTables(root) {
  root.querySelectorAll('table').forEach((t) => {
    const heads = [...t.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    if (!heads.length) return;
    t.classList.add('cards');
    t.querySelectorAll('tbody tr').forEach((tr) => {
      [...tr.children].forEach((td, i) => { if (heads[i] && !td.dataset.label && td.colSpan === 1) td.dataset.label = heads[i]; });
    });
  });
}
new MutationObserver(() => labelTables($('view'))).observe($('view'), { childList: true, subtree: true });
window.addEventListener('hashchange', () => { if (!$('top').hidden) route(); });
registerWorker();
start();
