// AI search: events and targets by time, camera, type, class, colours, plate and face; thumbnails that play
// their clip; pages of results.
import { api, esc, fmtTime } from './api.js';

const COLORS = ['black', 'gray', 'white', 'red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown'];
const TYPES = ['smd', 'tripwire', 'intrusion', 'motion', 'face_match', 'face_blocklist', 'face_stranger', 'face', 'tamper', 'plate_match', 'plate_blocklist', 'plate_read'];
const CLASSES = ['human', 'vehicle', 'person', 'car', 'truck', 'bus', 'motorcycle', 'bicycle'];
const PAGE = 48;

const options = (xs, any = 'any') => `<option value="">${any}</option>${xs.map((x) => `<option>${esc(x)}</option>`).join('')}`;
const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16);

function card(h) {
  const colours = [h.upper_color && `top ${h.upper_color}`, h.lower_color && `bottom ${h.lower_color}`, h.body_color].filter(Boolean).join(' · ');
  const extra = [h.label, colours, h.plate && `plate ${h.plate}`, h.person && `👤 ${h.person}`, h.source === 'camera' && 'by the camera'].filter(Boolean).join(' · ');
  return `<figure class="hit" data-id="${h.id}" data-clip="${esc(h.clip_url || '')}" tabindex="0">
    ${h.snapshot_url ? `<img loading="lazy" alt="" src="${esc(h.snapshot_url)}">` : '<div class="noimg muted">no picture</div>'}
    <figcaption><span class="badge">${esc(h.type)}</span> ${esc(h.camera_id ?? '')}<br>${fmtTime(h.start_ms)}
    <br><span class="muted">${esc(extra || h.message)}</span></figcaption></figure>`;
}

export async function renderSearch(view, params) {
  const cameras = await api('/api/cameras');
  const now = Date.now();
  view.innerHTML = `<form id="s-form" class="toolbar wrap">
      <label>From <input name="start" type="datetime-local" value="${local(now - 86400000)}"></label>
      <label>To <input name="end" type="datetime-local" value="${local(now + 60000)}"></label>
      <label>Camera <select name="camera">${options(cameras.map((c) => c.id), 'all')}</select></label>
      <label>Type <select name="type">${options(TYPES, 'all')}</select></label>
      <label>Target <select name="class">${options(CLASSES)}</select></label>
      <label>Top <select name="upper">${options(COLORS)}</select></label>
      <label>Bottom <select name="lower">${options(COLORS)}</select></label>
      <label>Vehicle <select name="body">${options(COLORS)}</select></label>
      <label>Plate <input name="plate" size="9" placeholder="AB12*"></label>
      <label>Person <input name="person" size="10" placeholder="whole name or id"></label>
      <label>Gender <select name="gender">${options(['female', 'male'])}</select></label>
      <label>By <select name="source"><option value="">anyone</option><option value="vigil">Vigil</option><option value="camera">the camera</option></select></label>
      <label>Sort <select name="sort"><option value="time">newest</option><option value="score">best match</option></select></label>
      <button type="submit">Search</button></form>
    <p id="s-summary" class="muted"></p>
    <video id="s-player" controls muted hidden style="max-width:640px;width:100%"></video>
    <div id="s-hits" class="hits"></div>
    <div class="toolbar"><button id="s-prev" disabled>Previous</button><button id="s-next" disabled>Next</button></div>`;
  const $ = (sel) => view.querySelector(sel);
  const form = $('#s-form');
  for (const [k, v] of params) {
    if (!form.elements[k]) continue;
    // #/search?start=<epoch ms> (links from other pages) fills the local date-time field
    form.elements[k].value = (k === 'start' || k === 'end') && /^\d+$/.test(v) ? local(Number(v)) : v;
  }
  let offset = 0;
  let latest = 0; // a slow answer to an older search must not replace a newer one's
  const run = async () => {
    const mine = ++latest;
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    for (const [k, v] of new FormData(form)) {
      if (!v) continue;
      q.set(k, k === 'start' || k === 'end' ? String(new Date(v).getTime()) : v);
    }
    $('#s-summary').textContent = 'Searching…';
    let r;
    try { r = await api(`/api/search?${q}`); } catch (err) { if (mine === latest) $('#s-summary').textContent = err.message; return; }
    if (mine !== latest) return;
    const last = offset + r.hits.length;
    $('#s-summary').textContent = r.total ? `${offset + 1}–${last} of ${r.total}${r.total_capped ? '+' : ''} events` : 'Nothing found.';
    $('#s-hits').innerHTML = r.hits.map(card).join('');
    $('#s-prev').disabled = offset === 0;
    $('#s-next').disabled = last >= r.total;
    view.querySelectorAll('.hit').forEach((f) => {
      f.onclick = () => {
        if (!f.dataset.clip) return;
        const p = $('#s-player');
        p.hidden = false; p.src = f.dataset.clip; p.play().catch(() => {});
        p.scrollIntoView({ block: 'nearest' });
      };
    });
  };
  form.onsubmit = (e) => { e.preventDefault(); offset = 0; run(); };
  $('#s-prev').onclick = () => { offset = Math.max(0, offset - PAGE); run(); };
  $('#s-next').onclick = () => { offset += PAGE; run(); };
  await run();
}
