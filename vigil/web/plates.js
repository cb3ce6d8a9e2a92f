// Licence plates: the allow and block lists, and the plates read lately (with their pictures).
import { api, esc, fmtTime } from './api.js';

export async function renderPlates(view) {
  view.innerHTML = `<div class="panel"><form id="pl-form" class="toolbar">
      <label>Plate <input name="plate" required size="12" placeholder="KX19 ABC"></label>
      <label>List <select name="list"><option value="block">block (alarm)</option><option value="allow">allow</option></select></label>
      <label>Note <input name="note" size="24" placeholder="why, whose"></label>
      <button type="submit">Add</button> <span id="pl-error" class="error" role="alert"></span></form>
      <table><thead><tr><th>Plate</th><th>List</th><th>Note</th><th></th></tr></thead><tbody id="pl-rows"></tbody></table></div>
    <div class="panel"><strong>Read in the last 24 hours</strong> <span class="muted">(search any time on the Search page)</span>
      <table><thead><tr><th></th><th>Time</th><th>Camera</th><th>Plate</th><th>What</th></tr></thead><tbody id="pl-reads"></tbody></table></div>`;
  const $ = (s) => view.querySelector(s);
  const load = async () => {
    const entries = await api('/api/plates');
    $('#pl-rows').innerHTML = entries.map((e) => `<tr data-plate="${esc(e.plate)}"><td><b>${esc(e.plate)}</b></td>
      <td><span class="badge">${esc(e.list)}</span></td><td>${esc(e.note)}</td><td><button data-del="${esc(e.plate)}">Remove</button></td></tr>`).join('')
      || '<tr><td colspan="4" class="muted">No plates listed.</td></tr>';
    view.querySelectorAll('[data-del]').forEach((b) => {
      b.onclick = async () => { await api(`/api/plates/${encodeURIComponent(b.dataset.del)}`, { method: 'DELETE' }); load(); };
    });
    const reads = await api(`/api/search?type=plate_read,plate_match,plate_blocklist&start=${Date.now() - 86400000}&limit=100`);
    $('#pl-reads').innerHTML = reads.hits.map((h) => `<tr><td>${h.snapshot_url ? `<img class="thumb" loading="lazy" alt="" src="${esc(h.snapshot_url)}">` : ''}</td>
      <td>${fmtTime(h.start_ms)}</td><td>${esc(h.camera_id)}</td><td><b>${esc(h.plate)}</b></td><td><span class="badge">${esc(h.type)}</span> ${esc(h.message)}</td></tr>`).join('')
      || '<tr><td colspan="5" class="muted">No plate read. Turn on analytics.plates for a camera that sees vehicles close up.</td></tr>';
  };
  $('#pl-form').onsubmit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      await api('/api/plates', { method: 'POST', json: { plate: f.get('plate'), list: f.get('list'), note: f.get('note') } });
      $('#pl-error').textContent = ''; e.target.reset(); load();
    } catch (err) { $('#pl-error').textContent = String(err.message || err); }
  };
  await load();
}
