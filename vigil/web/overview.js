// The landing page: is every camera up, is the disk fine, what needs attention, what happened today.
import { api, el, esc, fmtTime } from './api.js';

const REFRESH_MS = 2000;        // a camera going down shows within a few seconds
const PICTURE_MS = 30000;       // last pictures are decoded from recordings: not more often than this
const gb = (b) => (b / 1e9).toFixed(1) + ' GB';
const ago = (ms) => {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`;
};

// A card is made once per camera and then only its words change: its picture is fetched again only when
// due (PICTURE_MS) or when the camera comes back.
function cameraCard(c) {
  const card = el(`<a class="cam-card" data-camera="${esc(c.id)}" href="#/live?camera=${encodeURIComponent(c.id)}">
    <img alt=""><span class="cam-name"></span><span class="cam-state"></span><span class="muted cam-error"></span>
    <span data-load></span></a>`);
  card.querySelector('img').onerror = (e) => { e.target.style.visibility = 'hidden'; };
  card.querySelector('img').onload = (e) => { e.target.style.visibility = ''; };
  return card;
}

function updateCard(card, c, stamp, hasPicture) {
  const state = c.enabled ? c.state : 'disabled';
  const cameBack = card.dataset.state && card.dataset.state !== 'online' && state === 'online';
  card.dataset.state = state;
  card.classList.toggle('up', c.state === 'online'); card.classList.toggle('down', c.state !== 'online');
  card.querySelector('.cam-name').textContent = c.name;
  card.querySelector('.cam-state').textContent = `${state}${c.state_since_ms ? ` · ${ago(c.state_since_ms)}` : ''}`;
  card.querySelector('.cam-error').textContent = c.last_error && c.state !== 'online' ? c.last_error : '';
  const load = card.querySelector('[data-load]');
  load.className = c.analysis && c.analysis.dropped_percent >= 5 ? 'error' : 'muted';
  load.textContent = c.analysis ? `AI ${c.analysis.analysed_fps.toFixed(1)} of ${c.analysis.fps} fps${c.analysis.dropped_percent > 0 ? ` · ${c.analysis.dropped_percent} % skipped` : ''}` : '';
  const img = card.querySelector('img');
  img.hidden = !hasPicture;  // nothing recorded in the last hour: no picture to ask for
  if (hasPicture && (cameBack || img.dataset.stamp !== String(stamp))) {
    img.dataset.stamp = String(stamp);
    img.src = `/api/cameras/${encodeURIComponent(c.id)}/snapshot.jpg?width=320&t=${cameBack ? Date.now() : stamp}`;
  }
}

function alarmRow(e) {
  return `<li data-id="${e.id}"><span class="badge sev-${esc(e.severity)}">${esc(e.type)}</span> ${esc(e.camera_id ?? 'system')} · ${fmtTime(e.start_ms)}
    <br><span class="muted">${esc(e.message)}</span> <button data-ack="${e.id}">Ack</button></li>`;
}

export async function renderOverview(view) {
  view.innerHTML = `<div class="overview">
    <section class="panel"><h3>Cameras <span id="ov-online" class="muted"></span></h3><div id="ov-cameras" class="cam-cards"></div></section>
    <section class="panel"><h3>Alarms, last 24 h <span id="ov-alarm-count" class="muted"></span></h3><ul id="ov-alarms" class="plain"></ul>
      <a href="#/events">All events</a></section>
    <section class="panel"><h3>Storage</h3><div id="ov-storage"></div></section>
    <section class="panel"><h3>Today</h3><div id="ov-today"></div></section></div>`;
  const $ = (s) => view.querySelector(s);
  let stamp = Date.now(), timer = null, stopped = false;
  $('#ov-alarms').onclick = async (ev) => {
    const b = ev.target.closest('[data-ack]');
    if (!b) return;
    await api(`/api/events/${b.dataset.ack}/ack`, { method: 'POST' });
    draw();
  };
  const draw = async () => {
    const o = await api('/api/overview');
    if (Date.now() - stamp > PICTURE_MS) stamp = Date.now();
    const cams = $('#ov-cameras');
    const ids = o.cameras.map((c) => c.id).join(' ');
    if (cams.dataset.ids !== ids) {  // cameras added or removed: the cards anew
      cams.replaceChildren(...o.cameras.map(cameraCard));
      cams.dataset.ids = ids;
      if (!o.cameras.length) cams.innerHTML = '<p class="muted">No cameras yet: add one on the Cameras page.</p>';
    }
    o.cameras.forEach((c, i) => updateCard(cams.children[i], c, stamp, o.pictures.includes(c.id)));
    $('#ov-online').textContent = `${o.online} of ${o.cameras.length} online${o.offline.length ? ` · offline: ${o.offline.join(', ')}` : ''}`;
    $('#ov-alarm-count').textContent = o.alarms_open ? `${o.alarms_open} not acknowledged` : 'none open';
    $('#ov-alarms').innerHTML = o.alarms.map(alarmRow).join('') || '<li class="muted">Nothing needs attention.</li>';
    const s = o.storage;
    const days = s.cameras.map((c) => c.days_kept);
    $('#ov-storage').innerHTML = `<p><strong>${gb(s.free_bytes)} free</strong> of ${gb(s.total_bytes)} · recordings ${gb(s.recordings_bytes)}</p>
      <meter min="0" max="1" low="0.8" high="0.9" optimum="0" value="${s.total_bytes ? (s.used_bytes / s.total_bytes).toFixed(3) : 0}"></meter>
      <p class="muted">${days.length ? `Days kept: ${Math.min(...days)}–${Math.max(...days)}` : 'Nothing recorded yet.'}</p>`;
    const counts = o.counts_today.map((c) => `<li>${esc(c.camera)}: ${c.in} in, ${c.out} out</li>`).join('');
    const plates = o.plates.map((e) => `<li><code>${esc(e.plate)}</code> ${esc(e.camera_id ?? '')} · ${new Date(e.start_ms).toLocaleTimeString()}</li>`).join('');
    $('#ov-today').innerHTML = `<p>People counted:</p><ul class="plain">${counts || '<li class="muted">no counting lines crossed</li>'}</ul>
      <p>Plates read: ${o.plates_today}</p><ul class="plain">${plates}</ul>`;
  };
  const loop = async () => {
    try { await draw(); } catch (err) { if (!stopped) $('#ov-online').textContent = String(err.message || err); }
    if (!stopped) timer = setTimeout(loop, REFRESH_MS);
  };
  await loop();
  return () => { stopped = true; clearTimeout(timer); };
}
