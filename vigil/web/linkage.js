// Settings → alarm linkage: the rules of vigil.yml (read-only here) and rules made here, which the server checks
// exactly as it checks the config file and applies from the next event on.
import { api, esc, el, EVENT_TYPES } from './api.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const boxes = (name, values, labels, checked) => values.map((v, i) =>
  `<label><input type="checkbox" name="${name}" value="${esc(v)}" ${checked.includes(v) ? 'checked' : ''}> ${esc(labels[i])}</label>`).join('');

function describe(r) {
  const when = r.schedule.map((w) => `${w.days.map((d) => DAYS[d]).join(' ')} ${w.start}–${w.end}`).join('; ') || 'always';
  const acts = [...r.email.map((m) => `e-mail ${m}`), ...(r.webhook ? ['webhook'] : []), ...(r.mqtt ? ['MQTT'] : []),
    ...(r.buzzer ? ['buzzer'] : []), ...(r.record.length ? [`record ${r.record.join(', ')}`] : []),
    ...r.ptz_preset.map((p) => `PTZ ${p.camera} → ${p.preset}`)];
  return { when, acts: acts.join(', ') || 'nothing' };
}

export function linkagePanel(cameras) {
  const panel = el(`<div class="panel" id="linkage-panel"><h3>Alarm linkage</h3><p id="lk-status" class="muted"></p>
    <table><thead><tr><th>Rule</th><th>Events</th><th>Cameras</th><th>When</th><th>Actions</th><th></th></tr></thead><tbody id="lk-rows"></tbody></table>
    <details id="lk-details"><summary id="lk-title">New linkage rule</summary>
    <form id="lk-form" class="form">
      <label for="lk-name">Name</label><input id="lk-name" placeholder="e.g. night intruder">
      <span>Events</span><div class="type-choice" id="lk-types">${boxes('type', ['*', ...EVENT_TYPES], ['all', ...EVENT_TYPES], [])}</div>
      <span>Cameras</span><div class="type-choice" id="lk-cams">${boxes('cam', cameras.map((c) => c.id), cameras.map((c) => c.name), [])} <span class="muted">none: all</span></div>
      <label for="lk-sev">At least</label><select id="lk-sev"><option>info</option><option>warning</option><option>alarm</option><option>critical</option></select>
      <span>Days</span><div class="type-choice" id="lk-days">${boxes('day', DAYS.map((_, i) => String(i)), DAYS, DAYS.map((_, i) => String(i)))}</div>
      <label for="lk-from">From – to</label><span><input id="lk-from" value="00:00" size="5" pattern="[0-2][0-9]:[0-5][0-9]"> – <input id="lk-to" value="24:00" size="5" pattern="[0-2][0-9]:[0-5][0-9]"></span>
      <label for="lk-every">At most every (s)</label><input id="lk-every" type="number" min="0" max="86400" value="60">
      <label for="lk-mail">E-mail to</label><input id="lk-mail" placeholder="guard@example.org, …">
      <label for="lk-hook">Webhook URL</label><input id="lk-hook" placeholder="https://…">
      <label for="lk-mqtt">MQTT</label><input id="lk-mqtt" type="checkbox">
      <label for="lk-buzz">Buzzer</label><input id="lk-buzz" type="checkbox">
      <label for="lk-rec">Record cameras</label><input id="lk-rec" placeholder="self, cam2 (cameras in alarm record mode)">
      <span></span><span><button type="submit">Save rule</button> <button type="button" id="lk-new">Clear</button></span>
    </form></details><p class="error" id="lk-error" role="alert"></p></div>`);
  const $ = (s) => panel.querySelector(s);
  let rules = [], editing = null;
  const checked = (name) => [...panel.querySelectorAll(`input[name=${name}]:checked`)].map((b) => b.value);
  const setChecked = (name, values) => panel.querySelectorAll(`input[name=${name}]`).forEach((b) => { b.checked = values.includes(b.value); });
  const fill = (r, id) => {
    editing = id; $('#lk-title').textContent = id ? `Edit rule ${r.name || id}` : 'New linkage rule';
    $('#lk-name').value = r.name || ''; setChecked('type', r.types || []); setChecked('cam', r.cameras || []);
    $('#lk-sev').value = r.min_severity || 'info';
    const w = (r.schedule || [])[0] || { days: [0, 1, 2, 3, 4, 5, 6], start: '00:00', end: '24:00' };
    setChecked('day', w.days.map(String)); $('#lk-from').value = w.start; $('#lk-to').value = w.end;
    $('#lk-every').value = r.min_interval_seconds ?? 60; $('#lk-mail').value = (r.email || []).join(', ');
    $('#lk-hook').value = r.webhook || ''; $('#lk-mqtt').checked = !!r.mqtt; $('#lk-buzz').checked = !!r.buzzer;
    $('#lk-rec').value = (r.record || []).join(', ');
  };
  const body = () => {
    const days = checked('day').map(Number), start = $('#lk-from').value.trim(), end = $('#lk-to').value.trim();
    const always = days.length === 7 && start === '00:00' && end === '24:00';
    const keep = editing ? rules.find((x) => x.id === editing).rule : {};
    return { name: $('#lk-name').value.trim(), types: checked('type').length ? checked('type') : ['*'], cameras: checked('cam'),
      min_severity: $('#lk-sev').value, schedule: always ? [] : [{ days, start, end }],
      min_interval_seconds: Number($('#lk-every').value || 0), email: list($('#lk-mail').value),
      webhook: $('#lk-hook').value.trim() || null, mqtt: $('#lk-mqtt').checked, buzzer: $('#lk-buzz').checked,
      record: list($('#lk-rec').value), ptz_preset: keep.ptz_preset || [] };
  };
  const load = async () => {
    rules = await api('/api/alarms/linkage');
    $('#lk-rows').innerHTML = rules.map(({ id, source, rule: r }) => {
      const d = describe(r);
      return `<tr data-rule="${esc(id)}"><td>${esc(r.name || id)}</td><td>${esc(r.types.join(', '))} ≥ ${esc(r.min_severity)}</td>
        <td>${esc(r.cameras.join(', ') || 'all')}</td><td>${esc(d.when)}${r.min_interval_seconds ? `, every ${r.min_interval_seconds} s at most` : ''}</td><td>${esc(d.acts)}</td>
        <td>${source === 'config' ? `<span class="muted" title="alarms.linkage in vigil.yml">in vigil.yml</span>`
          : `<button type="button" data-edit="${esc(id)}">Edit</button> <button type="button" data-del="${esc(id)}">Delete</button>`}</td></tr>`;
    }).join('') || '<tr><td colspan="6" class="muted">No linkage rules yet: alarms are only logged. Make one below.</td></tr>';
  };
  const status = async () => {
    const a = await api('/api/alarms/status');
    const sent = Object.entries(a.sent).map(([k, n]) => `${esc(k)} ${n}`).join(', ') || 'nothing yet';
    const failed = Object.entries(a.failed).map(([k, n]) => `${esc(k)} ${n}`).join(', ');
    $('#lk-status').innerHTML = `${a.armed ? 'Armed' : 'Disarmed'} · sent: ${sent}${failed ? ` · <span class="error">failed: ${failed}</span>` : ''}`;
  };
  $('#lk-rows').onclick = async (ev) => {
    const edit = ev.target.closest('[data-edit]'), del = ev.target.closest('[data-del]');
    if (edit) { fill(rules.find((x) => x.id === edit.dataset.edit).rule, edit.dataset.edit); $('#lk-details').open = true; }
    if (del && confirm('Delete this linkage rule?')) {
      await api(`/api/alarms/linkage/${encodeURIComponent(del.dataset.del)}`, { method: 'DELETE' });
      load();
    }
  };
  $('#lk-new').onclick = () => { fill({}, null); $('#lk-error').textContent = ''; };
  $('#lk-form').onsubmit = async (e) => {
    e.preventDefault();
    try {
      await api(editing ? `/api/alarms/linkage/${encodeURIComponent(editing)}` : '/api/alarms/linkage',
        { method: editing ? 'PUT' : 'POST', json: body() });
      $('#lk-error').textContent = ''; fill({}, null); load();
    } catch (err) { $('#lk-error').textContent = String(err.message || err); }
  };
  fill({}, null);
  load().catch((err) => { $('#lk-status').textContent = err.message; });
  status().catch(() => {});
  return panel;
}
