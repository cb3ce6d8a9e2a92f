// ONVIF in the browser: the "Add ONVIF camera" panel (discover, look, add) and PTZ controls on live tiles.
import { api, el, esc } from './api.js';

export function onvifPanel(onAdded) {
  const panel = el(`<div class="panel" id="onvif-panel"><h3>Add an ONVIF camera</h3>
    <p class="muted">Find cameras on the network, or type the camera's address; Vigil asks the camera for its streams.</p>
    <p><button type="button" id="o-discover">Discover cameras</button> <span id="o-found-state" class="muted"></span></p>
    <table id="o-found" hidden><thead><tr><th>Address</th><th>Vendor</th><th>Model</th><th>Login</th><th></th></tr></thead><tbody></tbody></table>
    <form id="o-form" class="form">
      <label for="o-host">Address</label><input id="o-host" required placeholder="192.168.1.20">
      <label for="o-port">ONVIF port</label><input id="o-port" type="number" value="80" min="1" max="65535">
      <label for="o-user">User</label><input id="o-user" autocomplete="off">
      <label for="o-pass">Password</label><input id="o-pass" type="password" autocomplete="new-password">
      <label for="o-id">Camera id</label><input id="o-id" required pattern="[a-z0-9][a-z0-9_\\-]*" placeholder="front-door">
      <label for="o-name">Name</label><input id="o-name" placeholder="from the camera's model">
      <label for="o-events">Camera's own events</label><input id="o-events" type="checkbox" checked>
      <span></span><span><button type="button" id="o-look">Look</button> <button type="submit" id="o-add">Add camera</button></span>
    </form><div id="o-info" class="muted"></div><p class="error" id="o-error" role="alert"></p></div>`);
  const $ = (s) => panel.querySelector(s);
  const device = () => ({ host: $('#o-host').value.trim(), port: Number($('#o-port').value || 80), username: $('#o-user').value, password: $('#o-pass').value });
  const fail = (err) => { $('#o-error').textContent = String(err.message || err); };
  $('#o-discover').onclick = async () => {
    $('#o-found-state').textContent = 'Looking…'; $('#o-error').textContent = '';
    try {
      const found = await api('/api/onvif/discover', { method: 'POST', json: { timeout_seconds: 2 } });
      $('#o-found-state').textContent = `${found.length} camera${found.length === 1 ? '' : 's'} answered`;
      $('#o-found').hidden = !found.length;
      $('#o-found tbody').innerHTML = found.map((d, i) => `<tr><td>${esc(d.address)}</td><td>${esc(d.vendor)}</td><td>${esc(d.model)}</td>
        <td>${d.needs_credentials === null ? '?' : d.needs_credentials ? 'needed' : 'none'}</td>
        <td>${d.camera_id ? `<span class="muted">added as ${esc(d.camera_id)}</span>` : `<button type="button" data-use="${i}">Use</button>`}</td></tr>`).join('');
      panel.querySelectorAll('[data-use]').forEach((b) => { b.onclick = () => {
        const d = found[Number(b.dataset.use)];
        $('#o-host').value = d.host; $('#o-port').value = d.port; $('#o-name').value = d.name || '';
        $('#o-user').focus();
      }; });
    } catch (err) { $('#o-found-state').textContent = ''; fail(err); }
  };
  $('#o-look').onclick = async () => {
    $('#o-error').textContent = ''; $('#o-info').textContent = 'Asking the camera…';
    try {
      const d = await api('/api/onvif/probe', { method: 'POST', json: device() });
      const p = (t) => d.profiles.find((x) => x.token === t);
      const main = p(d.main), sub = d.sub ? p(d.sub) : null;
      $('#o-info').textContent = `${d.manufacturer} ${d.model} (firmware ${d.firmware}) · records ${main.name} ${main.width}×${main.height} ${main.encoding}`
        + (sub ? ` · analyses ${sub.name} ${sub.width}×${sub.height}` : ' · no sub-stream') + (d.profiles.some((x) => x.ptz) ? ' · PTZ' : '');
    } catch (err) { $('#o-info').textContent = ''; fail(err); }
  };
  $('#o-form').onsubmit = async (e) => {
    e.preventDefault(); $('#o-error').textContent = ''; $('#o-info').textContent = 'Adding…';
    try {
      const cam = await api('/api/onvif/cameras', { method: 'POST', json: { ...device(), id: $('#o-id').value, name: $('#o-name').value, events: $('#o-events').checked } });
      $('#o-info').textContent = `Added ${cam.id}: recording ${cam.url}`;
      onAdded(cam);
    } catch (err) { $('#o-info').textContent = ''; fail(err); }
  };
  return panel;
}

// PTZ on a live tile: hold an arrow to move (the camera also stops by itself), presets to go to or save.
export function ptzControls(camId, onError) {
  const base = `/api/cameras/${encodeURIComponent(camId)}/ptz`;
  const box = el(`<span class="ptz" role="group" aria-label="PTZ">
      <button data-move="-1,0,0" title="Pan left" aria-label="pan left">◀</button><button data-move="0,1,0" title="Tilt up" aria-label="tilt up">▲</button>
      <button data-move="0,-1,0" title="Tilt down" aria-label="tilt down">▼</button><button data-move="1,0,0" title="Pan right" aria-label="pan right">▶</button>
      <button data-move="0,0,1" title="Zoom in" aria-label="zoom in">+</button><button data-move="0,0,-1" title="Zoom out" aria-label="zoom out">-</button>
      <select aria-label="preset"><option value="">presets…</option></select><button class="save-preset" title="Save this view as a preset">Save</button></span>`);
  const select = box.querySelector('select');
  const report = (err) => onError(String(err.message || err));
  const loadPresets = async () => {
    try {
      const presets = await api(`${base}/presets`);
      select.innerHTML = '<option value="">presets…</option>' + presets.map((p) => `<option value="${esc(p.token)}">${esc(p.name)}</option>`).join('');
    } catch (err) { report(err); }
  };
  box.addEventListener('pointerdown', (e) => e.stopPropagation()); // not a drag of the digital zoom
  box.addEventListener('dblclick', (e) => e.stopPropagation());
  box.querySelectorAll('[data-move]').forEach((b) => {
    const [pan, tilt, zoom] = b.dataset.move.split(',').map(Number);
    let moving = false;
    const stop = () => { if (moving) { moving = false; api(`${base}/stop`, { method: 'POST' }).catch(report); } };
    b.addEventListener('pointerdown', () => { moving = true; api(`${base}/move`, { method: 'POST', json: { pan: pan * 0.5, tilt: tilt * 0.5, zoom: zoom * 0.5, seconds: 10 } }).catch(report); });
    b.addEventListener('pointerup', stop); b.addEventListener('pointerleave', stop);
  });
  select.onchange = () => { if (select.value) api(`${base}/presets/${encodeURIComponent(select.value)}/goto`, { method: 'POST' }).catch(report); };
  box.querySelector('.save-preset').onclick = async () => {
    const name = prompt('Name of the preset for this view');
    if (!name) return;
    try { await api(`${base}/presets`, { method: 'POST', json: { name } }); await loadPresets(); } catch (err) { report(err); }
  };
  loadPresets();
  return box;
}
