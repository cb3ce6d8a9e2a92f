// Analytics rules: draw tripwires, intrusion zones and motion masks on a picture of the camera, set their filters, save.
import { api, esc } from './api.js';

const COLORS = { tripwire: '#ffd23f', intrusion: '#ff7b3f', smd: '#4cc38a', counter: '#c08cff', mask: '#9aa3b2' };
const AREAS = ['intrusion', 'mask'];

// Side A of a tripwire lies on the right hand of someone walking it from its first point (picture y points down).
function sideMarks(p, q, w, h) {
  const mx = (p[0] + q[0]) / 2 * w, my = (p[1] + q[1]) / 2 * h;
  const dx = (q[0] - p[0]) * w, dy = (q[1] - p[1]) * h, len = Math.hypot(dx, dy) || 1;
  const nx = -dy / len * 16, ny = dx / len * 16;
  return [[mx + nx, my + ny], [mx - nx, my - ny]];
}

function drawRule(g, r, w, h, color, label) {
  const pts = r.points.map(([x, y]) => [x * w, y * h]);
  if (!pts.length) return;
  g.strokeStyle = color; g.fillStyle = color; g.lineWidth = 3;
  g.beginPath(); pts.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
  if (AREAS.includes(r.kind) && pts.length > 2) { g.closePath(); g.globalAlpha = r.kind === 'mask' ? 0.45 : 0.18; g.fill(); g.globalAlpha = 1; }
  g.stroke();
  pts.forEach(([x, y]) => { g.beginPath(); g.arc(x, y, 4, 0, 2 * Math.PI); g.fill(); });
  g.font = 'bold 14px system-ui'; g.fillText(label, pts[0][0] + 6, pts[0][1] - 6);
  if ((r.kind === 'tripwire' || r.kind === 'counter') && r.points.length > 1) {
    const [a, b] = sideMarks(r.points[0], r.points[1], w, h);
    g.fillText('A', a[0] - 4, a[1] + 5); g.fillText('B', b[0] - 4, b[1] + 5);
  }
}

export async function renderRules(view, params) {
  const cameras = await api('/api/cameras');
  if (!cameras.length) { view.innerHTML = '<p class="muted">No cameras yet: add one on the Cameras page.</p>'; return null; }
  const camId = params.get('camera') || cameras[0].id;
  const cam = cameras.find((c) => c.id === camId) || cameras[0];
  view.innerHTML = `<div class="toolbar">
      <label>Camera <select id="r-cam">${cameras.map((c) => `<option value="${esc(c.id)}"${c.id === cam.id ? ' selected' : ''}>${esc(c.name)}</option>`).join('')}</select></label>
      <span id="r-status" class="muted"></span></div>
    <div class="rules-layout">
      <div class="editor" id="r-editor"><img id="r-pic" alt="camera picture"><canvas id="r-canvas"></canvas></div>
      <div class="panel"><h3>Rules <span class="muted" id="r-count"></span></h3><ul id="r-list" class="rule-list"></ul>
        <h3 id="r-form-title">New rule</h3>
        <form id="r-form" class="form">
          <label for="r-kind">Kind</label><select id="r-kind"><option value="tripwire">Tripwire (line)</option><option value="intrusion">Intrusion zone</option><option value="smd">Smart motion (whole picture)</option><option value="counter">Counting line (people in / out)</option><option value="mask">Motion mask (motion ignored here)</option></select>
          <label for="r-id">Id</label><input id="r-id" required pattern="[A-Za-z0-9][A-Za-z0-9_\\-]*" placeholder="e.g. gate">
          <label for="r-name">Name</label><input id="r-name" placeholder="shown in events">
          <label for="r-targets" data-for="tripwire intrusion smd counter">Targets</label><select id="r-targets" data-for="tripwire intrusion smd counter"><option value="human">Humans</option><option value="vehicle">Vehicles</option><option value="both">Humans and vehicles</option></select>
          <label for="r-dir" data-for="tripwire counter">Direction (counting: the way in)</label><select id="r-dir" data-for="tripwire counter"><option value="both">Both ways</option><option value="a_to_b">A → B</option><option value="b_to_a">B → A</option></select>
          <label for="r-loiter" data-for="intrusion">Loiter after (s)</label><input id="r-loiter" data-for="intrusion" type="number" min="1" value="10">
          <label for="r-max" data-for="counter">Max occupancy</label><input id="r-max" data-for="counter" type="number" min="0" value="0" title="an alarm when more are inside; 0: none">
          <label for="r-sens" data-for="tripwire intrusion smd counter">Sensitivity</label><input id="r-sens" data-for="tripwire intrusion smd counter" type="range" min="0" max="1" step="0.05" value="0.5">
          <label for="r-minh" data-for="tripwire intrusion smd counter">Min height (%)</label><input id="r-minh" data-for="tripwire intrusion smd counter" type="number" min="0" max="100" value="0">
          <span></span><span class="muted" id="r-hint"></span>
          <span></span><span><button type="button" id="r-clear">Clear points</button> <button type="submit">Save rule</button></span>
        </form><p class="error" id="r-error" role="alert"></p></div>
    </div>`;
  const $ = (s) => view.querySelector(s);
  const pic = $('#r-pic'), canvas = $('#r-canvas');
  let rules = [], draft = [];

  const hint = () => {
    const kind = $('#r-kind').value;
    view.querySelectorAll('[data-for]').forEach((e) => { e.hidden = !e.dataset.for.split(' ').includes(kind); });
    $('#r-hint').textContent = kind === 'tripwire' || kind === 'counter' ? `Click the picture to place the line (${draft.length} points; 2 or more).`
      : kind === 'intrusion' ? `Click the picture to outline the zone (${draft.length} points; 3 or more).`
      : kind === 'mask' ? `Click the picture to outline where motion is ignored — a tree, a road, the clock (${draft.length} points; 3 or more).`
      : 'Smart motion watches the whole picture.';
  };
  const redraw = () => {
    const w = canvas.width = pic.clientWidth, h = canvas.height = pic.clientHeight;
    const g = canvas.getContext('2d');
    g.clearRect(0, 0, w, h);
    rules.forEach((r) => drawRule(g, r, w, h, COLORS[r.kind], r.name || r.id));
    drawRule(g, { kind: $('#r-kind').value, points: draft }, w, h, '#4cc9ff', 'new');
    hint();
  };
  const load = async () => {
    rules = await api(`/api/cameras/${encodeURIComponent(cam.id)}/rules`);
    $('#r-count').textContent = `${rules.length} of 10`;
    $('#r-list').innerHTML = rules.map((r) => `<li data-rule="${esc(r.id)}"><span style="color:${COLORS[r.kind]}">■</span>
        <strong>${esc(r.name || r.id)}</strong> <span class="muted">${r.kind === 'mask' ? 'motion mask' : `${esc(r.kind)}, ${esc(r.targets)}`}${r.kind === 'tripwire' || r.kind === 'counter' ? `, ${esc(r.direction)}` : ''}</span>
        <button data-del="${esc(r.id)}">Delete</button></li>`).join('') || '<li class="muted">No rules: draw one.</li>';
    view.querySelectorAll('[data-del]').forEach((b) => {
      b.onclick = async () => { await api(`/api/cameras/${encodeURIComponent(cam.id)}/rules/${encodeURIComponent(b.dataset.del)}`, { method: 'DELETE' }); load(); };
    });
    const st = await api(`/api/cameras/${encodeURIComponent(cam.id)}/analytics`);
    $('#r-status').textContent = st.enabled ? `Analysis on: ${st.frames} frames, detector ran on ${st.detections_run}, ${st.events} events.`
      : 'Analysis is off for this camera: enable it in the camera settings (analytics.enabled) for rules to fire.';
    redraw();
  };
  pic.onload = redraw;
  pic.onerror = () => { $('#r-error').textContent = 'No picture yet: the camera has not recorded anything. You can still draw.'; pic.style.minHeight = '360px'; redraw(); };
  pic.src = `/api/cameras/${encodeURIComponent(cam.id)}/snapshot.jpg?width=960`;
  canvas.onclick = (e) => {
    if ($('#r-kind').value === 'smd') return;
    const r = canvas.getBoundingClientRect();
    draft.push([+((e.clientX - r.left) / r.width).toFixed(4), +((e.clientY - r.top) / r.height).toFixed(4)]);
    redraw();
  };
  $('#r-clear').onclick = () => { draft = []; redraw(); };
  $('#r-kind').onchange = redraw;
  $('#r-cam').onchange = () => { location.hash = `#/rules?camera=${encodeURIComponent($('#r-cam').value)}`; };
  $('#r-form').onsubmit = async (e) => {
    e.preventDefault();
    const kind = $('#r-kind').value;
    const body = { id: $('#r-id').value, name: $('#r-name').value, kind, targets: $('#r-targets').value,
      points: kind === 'smd' ? [] : draft, direction: $('#r-dir').value, loiter_seconds: Number($('#r-loiter').value) || 10,
      sensitivity: Number($('#r-sens').value), min_height: (Number($('#r-minh').value) || 0) / 100,
      max_occupancy: kind === 'counter' ? Number($('#r-max').value) || 0 : 0 };
    try {
      await api(`/api/cameras/${encodeURIComponent(cam.id)}/rules`, { method: 'POST', json: body });
      draft = []; $('#r-error').textContent = ''; e.target.reset(); load();
    } catch (err) { $('#r-error').textContent = String(err.message || err); }
  };
  const onResize = () => redraw();
  window.addEventListener('resize', onResize);
  await load();
  return () => window.removeEventListener('resize', onResize);
}
