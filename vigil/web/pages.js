// Events, cameras and settings pages.
import { api, esc, fmtTime, EVENT_TYPES } from './api.js';
import { onvifPanel } from './onvif.js';
import { notifyPanel } from './notify.js';
import { linkagePanel } from './linkage.js';
import { scheduleGrid, describe as describeSchedule } from './schedule.js';

const CLASSES = ['human', 'vehicle', 'person', 'car', 'truck', 'bus', 'motorcycle', 'bicycle'];

function eventRow(e) {
  // Without a snapshot of its own, the recording at the event's time; not for a few seconds (not on disk yet).
  const recorded = e.camera_id && Date.now() - e.start_ms > 10000;
  const thumb = e.snapshot_url || (recorded ? `/api/cameras/${encodeURIComponent(e.camera_id)}/snapshot.jpg?at=${e.start_ms}&width=160` : '');
  const what = [e.label, e.rule_id ? `rule ${e.rule_id}` : '', e.score != null && e.label ? `${Math.round(e.score * 100)}%` : ''].filter(Boolean).join(' · ');
  return `<tr data-id="${e.id}" data-clip="${esc(e.clip_url || '')}">
      <td>${thumb ? `<img class="thumb" loading="lazy" alt="" src="${esc(thumb)}">` : ''}</td>
      <td>${fmtTime(e.start_ms)}${e.end_ms && e.end_ms !== e.start_ms ? ` <span class="muted">${Math.round((e.end_ms - e.start_ms) / 1000)} s</span>` : ''}</td>
      <td>${esc(e.camera_id ?? '—')}</td><td><span class="badge">${esc(e.type)}</span>${e.source === 'camera' ? ' <span class="muted" title="detected by the camera itself (ONVIF)">camera</span>' : ''}</td>
      <td>${esc(e.message)}<br><span class="muted">${esc(what)}</span></td>
      <td>${e.details.ack ? `<span class="muted" title="${fmtTime(e.details.ack.at_ms)}">✓ ${esc(e.details.ack.by)}</span>` : `<button data-ack="${e.id}">Ack</button>`}</td></tr>`;
}

export async function renderEvents(view, params) {
  const cameras = await api('/api/cameras');
  const opts = (xs) => xs.map((x) => `<option>${esc(x)}</option>`).join('');
  view.innerHTML = `<div class="toolbar">
      <label>Camera <select id="ev-cam"><option value="">all</option>${cameras.map((c) => `<option value="${esc(c.id)}">${esc(c.name)}</option>`).join('')}</select></label>
      <label>Type <select id="ev-type"><option value="">all</option>${opts(EVENT_TYPES)}</select></label>
      <label>Target <select id="ev-class"><option value="">any</option>${opts(CLASSES)}</select></label>
      <label>Rule <input id="ev-rule" size="8" placeholder="rule id"></label>
      <label>From <input id="ev-from" type="datetime-local"></label><label>To <input id="ev-to" type="datetime-local"></label>
      <button id="ev-go">Filter</button> <span id="ev-live" class="muted"></span></div>
    <video id="ev-player" controls muted hidden style="max-width:640px;width:100%"></video>
    <table><thead><tr><th></th><th>Time</th><th>Camera</th><th>Type</th><th>What</th><th></th></tr></thead><tbody id="ev-rows"></tbody></table>`;
  // A thumbnail that cannot load (its recording not on disk yet) is hidden, not shown broken.
  view.querySelector('#ev-rows').addEventListener('error', (e) => { if (e.target.tagName === 'IMG') e.target.style.visibility = 'hidden'; }, true);
  const $ = (sel) => view.querySelector(sel);
  if (params?.get('camera')) $('#ev-cam').value = params.get('camera');  // from a notification
  const filters = () => {
    const q = new URLSearchParams({ limit: '200' });
    for (const [key, sel] of [['camera', '#ev-cam'], ['type', '#ev-type'], ['class', '#ev-class'], ['rule', '#ev-rule']]) {
      const v = $(sel).value.trim();
      if (v) q.set(key, v);
    }
    const from = $('#ev-from').value, to = $('#ev-to').value;
    if (from) q.set('start', String(new Date(from).getTime()));
    if (to) q.set('end', String(new Date(to).getTime()));
    return q;
  };
  const bind = (tr) => {
    const ack = tr.querySelector('[data-ack]');
    if (ack) {
      ack.onclick = async (ev) => {
        ev.stopPropagation();
        const e = await api(`/api/events/${ack.dataset.ack}/ack`, { method: 'POST' });
        tr.outerHTML = eventRow(e); bind($(`#ev-rows tr[data-id="${e.id}"]`));
      };
    }
    tr.onclick = () => {
      if (!tr.dataset.clip) return;
      const p = $('#ev-player');
      p.hidden = false; p.src = tr.dataset.clip; p.play().catch(() => {});
    };
  };
  const load = async () => {
    const events = await api(`/api/events?${filters()}`);
    $('#ev-rows').innerHTML = events.map(eventRow).join('')
      || '<tr class="empty"><td colspan="6" class="muted">No events. Alarms and analytics will fill this page.</td></tr>';
    view.querySelectorAll('#ev-rows tr[data-id]').forEach(bind);
  };
  // New events arrive over a WebSocket and are added on top while they match the filters.
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events/live`);
  const liveMark = $('#ev-live'), rows = $('#ev-rows');  // held: the socket may close after the page is left
  ws.onopen = () => { liveMark.textContent = '● live'; };
  ws.onclose = () => { liveMark.textContent = ''; };
  ws.onmessage = (m) => {
    const { kind, event: e } = JSON.parse(m.data);
    if (!e) return;
    const q = filters();
    const wanted = (!q.get('camera') || q.get('camera') === e.camera_id) && (!q.get('type') || q.get('type') === e.type)
      && (!q.get('rule') || q.get('rule') === e.rule_id) && !q.get('end') && !q.get('class');
    const old = rows.querySelector(`tr[data-id="${e.id}"]`);
    if (kind === 'update' && old) { old.outerHTML = eventRow(e); bind(rows.querySelector(`tr[data-id="${e.id}"]`)); return; }
    if (kind !== 'new' || !wanted || old) return;
    rows.querySelector('tr.empty')?.remove();
    rows.insertAdjacentHTML('afterbegin', eventRow(e));
    const tr = rows.querySelector(`tr[data-id="${e.id}"]`);
    tr.classList.add('ev-new'); bind(tr);
  };
  $('#ev-go').onclick = load;
  await load();
  return () => ws.close();
}

// How a camera's analysis keeps up: the rate analysed beside the rate asked for, and the share of pictures
// skipped when the machine is short of CPU (every camera is slowed alike then).
function analysisLoad(a) {
  if (!a) return '';
  // A few percent skipped is a busy moment; from 5 % on the machine is short of CPU for its cameras.
  const over = a.dropped_percent >= 5;
  return ` <span class="${over ? 'error' : 'muted'}" data-load title="analysed over the last 30 s">· ${a.analysed_fps.toFixed(1)} of ${a.fps} fps${a.dropped_percent > 0 ? ` · ${a.dropped_percent} % skipped` : ''}</span>`;
}

// The camera's own clock (its RTCP sender reports) against this machine's. Outside -1 s .. +0.5 s it is wrong,
// and the recordings are dated by the pictures' arrival instead (the API's camera_clock_ms).
function cameraClock(ms) {
  if (ms === null || ms === undefined) return '';
  const title = 'the camera\'s clock (RTCP sender reports) minus this machine\'s, at a picture\'s arrival';
  if (ms < -1000 || ms > 500) {
    const s = ms / 1000;
    return ` <span class="error" data-clock title="${title}">· camera clock ${s > 0 ? '+' : ''}${s.toFixed(1)} s off: set its time (NTP)</span>`;
  }
  return ` <span class="muted" data-clock title="${title}">· camera clock in step (${ms} ms)</span>`;
}

export async function renderCameras(view) {
  const draw = async () => {
    const cameras = await api('/api/cameras');
    view.innerHTML = `<div class="panel"><table><thead><tr><th>Id</th><th>Name</th><th>URL</th><th>State</th><th>Recording</th><th>Analytics</th><th>Source</th><th></th></tr></thead><tbody>
      ${cameras.map((c) => `<tr><td>${esc(c.id)}</td><td>${esc(c.name)}</td><td class="muted">${esc(c.url)}</td>
        <td>${esc(c.state)}${cameraClock(c.camera_clock_ms)}${c.node ? ` <span class="muted">· node ${esc(c.node)}</span>` : ''}${c.onvif ? ' <span class="muted">· ONVIF</span>' : ''}${c.last_error ? ` <span class="muted">${esc(c.last_error)}</span>` : ''}</td><td>${c.record ? `${esc(c.record.mode)} · ${esc(describeSchedule(c.record.schedule))}` : ''}</td><td>${c.analytics ? `<a href="#/rules?camera=${encodeURIComponent(c.id)}">on · rules</a>${analysisLoad(c.analysis)}` : '<span class="muted">off</span>'}</td><td>${esc(c.source)}</td>
        <td>${c.source === 'api' ? `<button data-edit="${esc(c.id)}">Edit</button> <button data-del="${esc(c.id)}">Remove</button>` : '<span class="muted">in vigil.yml</span>'}</td></tr>`).join('')}
      </tbody></table></div>
      <div class="panel"><h3 id="cam-form-title">Add a camera</h3><form id="cam-form" class="form">
        <label for="c-id">Id</label><input id="c-id" required pattern="[a-z0-9][a-z0-9_\\-]*">
        <label for="c-name">Name</label><input id="c-name">
        <label for="c-url">Main stream URL</label><input id="c-url" required placeholder="rtsp://user:pass@192.168.1.20:554/stream1">
        <label for="c-sub">Sub-stream URL</label><input id="c-sub" placeholder="optional">
        <label for="c-seg">Segment seconds</label><input id="c-seg" type="number" value="60" min="2">
        <label for="c-days">Keep days</label><input id="c-days" type="number" min="0" step="0.5" placeholder="no limit">
        <label for="c-gb">Quota GB</label><input id="c-gb" type="number" min="0" step="0.1" placeholder="no limit">
        <label for="c-mode">Record</label><select id="c-mode"><option value="continuous">continuously</option><option value="motion">around motion</option><option value="intelligent">around AI events</option><option value="alarm">around alarms</option></select>
        <span>Record when</span><div id="c-sched-slot"><p class="muted" id="c-sched-note">Click or drag hours to switch them off and on: always, as drawn.</p></div>
        <label for="c-enabled">Enabled</label><input id="c-enabled" type="checkbox" checked>
        <label for="c-ai">Analytics (AI rules)</label><input id="c-ai" type="checkbox">
        <span></span><span><button type="button" id="c-test">Test URL</button> <button type="submit">Save</button></span>
      </form><p class="error" id="cam-error" role="alert"></p><img id="cam-preview" alt="" hidden style="max-width:320px"></div>`;
    view.append(onvifPanel(() => draw()));
    // A scale-out cluster's nodes (admins; [] for a single Vigil).
    const nodes = document.body.dataset.role === 'admin' ? await api('/api/system/nodes').catch(() => []) : [];
    if (nodes.length) {
      const panel = document.createElement('div');
      panel.className = 'panel';
      panel.id = 'nodes';
      panel.innerHTML = `<h3>Nodes</h3><table><thead><tr><th>Node</th><th>State</th><th>Address</th><th>Cameras</th><th>Streaming</th><th>Uploaded</th></tr></thead><tbody>
        ${nodes.map((n) => `<tr data-node="${esc(n.id)}"><td>${esc(n.id)}</td><td>${n.alive ? 'alive' : `<span class="error">down since ${esc(new Date(n.seen_ms).toLocaleTimeString())}</span>`}</td>
          <td class="muted">${esc(n.url)}</td><td>${n.cameras.length}: ${esc(n.cameras.join(' '))}</td><td>${n.online}</td><td>${n.uploaded}</td></tr>`).join('')}
        </tbody></table>`;
      view.prepend(panel);
    }
    const $ = (s) => view.querySelector(s);
    let editing = null;
    let grid = scheduleGrid([]);
    const showGrid = (windows) => { grid.remove(); grid = scheduleGrid(windows); $('#c-sched-slot').prepend(grid); };
    showGrid([]);
    view.querySelectorAll('[data-del]').forEach((b) => { b.onclick = async () => { if (confirm(`Remove ${b.dataset.del}? Its recordings stay until retention removes them.`)) { await api(`/api/cameras/${encodeURIComponent(b.dataset.del)}`, { method: 'DELETE' }); draw(); } }; });
    view.querySelectorAll('[data-edit]').forEach((b) => {
      b.onclick = () => {
        const c = cameras.find((x) => x.id === b.dataset.edit);
        editing = c.id; $('#cam-form-title').textContent = `Edit ${c.id}`;
        $('#c-id').value = c.id; $('#c-id').disabled = true; $('#c-name').value = c.name; $('#c-url').value = c.url;
        $('#c-sub').value = c.sub_url || ''; $('#c-enabled').checked = c.enabled; $('#c-ai').checked = c.analytics;
        const r = c.record || {};
        $('#c-seg').value = r.segment_seconds ?? 60; $('#c-days').value = r.max_days ?? ''; $('#c-gb').value = r.max_gb ?? '';
        $('#c-mode').value = r.mode || 'continuous'; showGrid(r.schedule || []);
      };
    });
    $('#c-test').onclick = async () => {
      $('#cam-error').textContent = 'Connecting…'; $('#cam-preview').hidden = true;
      try {
        const r = await api('/api/cameras/test', { method: 'POST', json: { url: $('#c-url').value } });
        if (r.ok) { $('#cam-preview').src = r.snapshot; $('#cam-preview').hidden = false; $('#cam-error').textContent = ''; }
        else $('#cam-error').textContent = r.error;
      } catch (err) { $('#cam-error').textContent = String(err.message || err); }
    };
    $('#cam-form').onsubmit = async (e) => {
      e.preventDefault();
      const num = (s) => (view.querySelector(s).value === '' ? null : Number(view.querySelector(s).value));
      const body = { id: $('#c-id').value, name: $('#c-name').value, url: $('#c-url').value, sub_url: $('#c-sub').value || null,
        enabled: $('#c-enabled').checked, analytics: { enabled: $('#c-ai').checked }, record: { ...(editing ? cameras.find((x) => x.id === editing).record : {}), segment_seconds: num('#c-seg') ?? 60, max_days: num('#c-days') || null, max_gb: num('#c-gb') || null,
          mode: $('#c-mode').value, schedule: grid.windows() } };
      if (grid.isEmpty()) { $('#cam-error').textContent = 'The schedule has no hour on: switch some on, or untick Enabled to stop the camera.'; return; }
      try {
        // PATCH when editing: what the form does not show (masks, analysis rate, faces, ONVIF) is kept.
        await api(editing ? `/api/cameras/${encodeURIComponent(editing)}` : '/api/cameras', { method: editing ? 'PATCH' : 'POST', json: body });
        draw();
      } catch (err) { $('#cam-error').textContent = String(err.message || err); }
    };
  };
  await draw();
}

export async function renderSettings(view) {
  const s = await api('/api/storage');
  const gb = (b) => (b / 1e9).toFixed(1) + ' GB';
  view.innerHTML = `<div class="panel"><h3>Storage</h3>
      <p>${esc(s.path)}: ${gb(s.used_bytes)} used of ${gb(s.total_bytes)}, <strong>${gb(s.free_bytes)} free</strong>; recordings ${gb(s.recordings_bytes)}.</p>
      <table><thead><tr><th>Camera</th><th>Segments</th><th>Size</th><th>Oldest</th><th>Days kept</th></tr></thead><tbody>
      ${s.cameras.map((c) => `<tr><td>${esc(c.camera)}</td><td>${c.segments}</td><td>${gb(c.bytes)}</td><td>${fmtTime(c.oldest_ms)}</td><td>${c.days_kept}</td></tr>`).join('')}</tbody></table></div>
    <div class="panel"><h3>Users</h3><ul id="users"></ul>
      <form id="user-form" class="toolbar"><input id="u-name" placeholder="user name" required><input id="u-pass" type="password" placeholder="password (8+)" required>
        <select id="u-role"><option>viewer</option><option>operator</option><option>admin</option></select><button>Add user</button></form>
      <p class="error" id="user-error"></p></div>
    <div class="panel"><h3>My account</h3>
      <form id="pw-form" class="toolbar"><input id="pw-current" type="password" placeholder="current password" autocomplete="current-password" required>
        <input id="pw-new" type="password" placeholder="new password (8+)" autocomplete="new-password" minlength="8" required><button>Change password</button></form>
      <p class="muted" id="pw-note">Changing it ends your other browser sessions.</p>
      <table><thead><tr><th>Session or token</th><th>Started</th><th>Ends</th><th></th></tr></thead><tbody id="sessions"></tbody></table></div>
    <div class="panel" id="config-panel" hidden><h3>Configuration</h3>
      <p class="muted">After editing vigil.yml: cameras added, removed or changed start, stop or restart; the others keep recording.</p>
      <div class="toolbar"><button type="button" id="reload-config">Reload vigil.yml</button></div>
      <p id="reload-result" role="status"></p></div>
    <div id="linkage-slot"></div>
    <div class="panel" id="audit-panel" hidden><h3>Audit log</h3><p class="muted">Logins, watching, exports and changes, newest first.</p>
      <table><thead><tr><th>When</th><th>Who</th><th>From</th><th>What</th><th>Camera</th><th>Result</th></tr></thead><tbody id="audit"></tbody></table></div>`;
  const slot = view.querySelector('#linkage-slot');
  if (document.body.dataset.role === 'admin') {
    slot.append(linkagePanel(await api('/api/cameras')));
    view.querySelector('#config-panel').hidden = false;
    view.querySelector('#reload-config').onclick = async () => {
      const out = view.querySelector('#reload-result');
      try {
        const r = await api('/api/system/reload', { method: 'POST' });
        out.className = ''; out.textContent = `Reloaded: ${r.summary}.`;
      } catch (err) { out.className = 'error'; out.textContent = `Not reloaded, nothing changed: ${err.message}`; }
    };
  }
  slot.append(notifyPanel());
  api('/api/audit?limit=50').then((rows) => {
    view.querySelector('#audit-panel').hidden = false;
    view.querySelector('#audit').innerHTML = rows.map((r) => `<tr><td>${fmtTime(r.t_ms)}</td><td>${esc(r.username ?? r.details.username ?? '—')}</td>
      <td>${esc(r.address)}</td><td>${esc(r.action)}</td><td>${esc(r.camera_id ?? '')}</td><td>${r.status ?? ''}</td></tr>`).join('');
  }).catch(() => {}); // not an admin: no audit panel
  const loadSessions = async () => {
    const rows = await api('/api/auth/sessions');
    view.querySelector('#sessions').innerHTML = rows.map((r) => `<tr><td>${esc(r.kind === 'token' ? `token “${r.name}”` : 'browser')}${r.current ? ' <span class="muted">(this one)</span>' : ''}</td>
      <td>${fmtTime(r.created_ms)}</td><td>${r.expires_ms ? fmtTime(r.expires_ms) : 'never'}</td>
      <td>${r.current ? '' : `<button data-revoke="${esc(r.id)}">End</button>`}</td></tr>`).join('');
    view.querySelectorAll('[data-revoke]').forEach((b) => { b.onclick = async () => { await api(`/api/auth/sessions/${b.dataset.revoke}`, { method: 'DELETE' }); loadSessions(); }; });
  };
  view.querySelector('#pw-form').onsubmit = async (e) => {
    e.preventDefault();
    try {
      await api('/api/auth/password', { method: 'POST', json: { current_password: view.querySelector('#pw-current').value, new_password: view.querySelector('#pw-new').value } });
      e.target.reset(); view.querySelector('#pw-note').textContent = 'Password changed; your other browser sessions have ended.'; loadSessions();
    } catch (err) { view.querySelector('#pw-note').textContent = String(err.message || err); }
  };
  loadSessions().catch(() => {});
  const loadUsers = async () => {
    try {
      const users = await api('/api/users');
      const list = view.querySelector('#users');
      list.innerHTML = users.map((u) => `<li data-user="${esc(u.username)}">${esc(u.username)} <span class="muted">${esc(u.role)}${u.disabled ? ' · disabled' : ''}</span>
        <button type="button" data-act="${u.disabled ? 'enable' : 'disable'}">${u.disabled ? 'Enable' : 'Disable'}</button>
        <button type="button" data-act="delete">Delete</button></li>`).join('');
      list.querySelectorAll('button[data-act]').forEach((b) => {
        b.onclick = async () => {
          const name = b.closest('li').dataset.user;
          const act = b.dataset.act;
          if (act === 'delete' && !confirm(`Delete ${name}? Their sessions end now; their audit rows stay.`)) return;
          try {
            if (act === 'delete') await api(`/api/users/${encodeURIComponent(name)}`, { method: 'DELETE' });
            else await api(`/api/users/${encodeURIComponent(name)}`, { method: 'PUT', json: { disabled: act === 'disable' } });
            view.querySelector('#user-error').textContent = '';
            loadUsers();
          } catch (err) { view.querySelector('#user-error').textContent = err.message; }
        };
      });
    } catch (err) { view.querySelector('#users').innerHTML = `<li class="muted">${esc(err.message)}</li>`; }
  };
  view.querySelector('#user-form').onsubmit = async (e) => {
    e.preventDefault();
    try {
      await api('/api/users', { method: 'POST', json: { username: view.querySelector('#u-name').value, password: view.querySelector('#u-pass').value, role: view.querySelector('#u-role').value } });
      e.target.reset(); view.querySelector('#user-error').textContent = ''; loadUsers();
    } catch (err) { view.querySelector('#user-error').textContent = err.message; }
  };
  await loadUsers();
}
