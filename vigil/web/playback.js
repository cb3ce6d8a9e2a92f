// Playback: up to 4 cameras on one clock, a zoomable 24-hour timeline per camera, tags and export.
import { api, el, enableZoom, esc, fmtTime } from './api.js';

const DAY = 86_400_000;
const CHUNK = 3_600_000; // each <video> plays an hour-long MP4 built from the recorded fragments
const FPS_STEP = 1 / 25;
const CHUNK_H264 = 600_000; // a transcoded stream: ten minutes at a time, made while it plays
const AHEAD_S = 60; // …and no further ahead of the play head than this (the server waits meanwhile)
const TYPES = { hevc: 'video/mp4; codecs="hvc1.1.6.L120.90"', h264: 'video/mp4; codecs="avc1.42e01f"' };
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// Whether this browser decodes a recording's codec itself (most desktop browsers have no H.265 decoder).
function plays(codec) {
  const type = TYPES[codec];
  if (!type) return true;  // MJPEG and others: let the browser try
  return document.createElement('video').canPlayType(type) !== '' || !!(window.MediaSource && MediaSource.isTypeSupported(type));
}

function appended(sb, op) {
  return new Promise((ok, fail) => {
    sb.addEventListener('updateend', ok, { once: true }); sb.addEventListener('error', fail, { once: true });
    try { op(); } catch (err) { fail(err); }
  });
}

// A <video> bound to one camera; knows the wall time of its first frame.
class Channel {
  constructor(cameraId, video, onMode) { Object.assign(this, { cameraId, video, onMode, startMs: 0, endMs: 0, transcoded: false, ctrl: null }); }
  stopStream() { if (this.ctrl) { this.ctrl.abort(); this.ctrl = null; } }
  async load(wall) {
    this.stopStream();
    const url = `/api/cameras/${encodeURIComponent(this.cameraId)}/playback.mp4?start=${Math.floor(wall)}&end=${Math.floor(wall + CHUNK)}`;
    const r = await fetch(url, { headers: { Range: 'bytes=0-0' }, credentials: 'same-origin' });
    if (!r.ok) { this.startMs = 0; this.video.removeAttribute('src'); this.video.load(); return false; }
    const codec = r.headers.get('X-Codec') || 'h264';
    this.transcoded = !plays(codec);
    this.onMode(this.transcoded);
    if (this.transcoded) return this.loadH264(wall);
    this.startMs = Number(r.headers.get('X-Start-Ms'));
    this.endMs = wall + CHUNK;
    this.video.src = url;
    await new Promise((ok) => { this.video.addEventListener('loadedmetadata', ok, { once: true }); setTimeout(ok, 5000); });
    const seeked = new Promise((ok) => { this.video.addEventListener('seeked', ok, { once: true }); setTimeout(ok, 5000); });
    this.video.currentTime = Math.max(0, (wall - this.startMs) / 1000);
    await seeked;
    return true;
  }
  // The recording as H.264 made by Vigil while it plays: a fragmented MP4 streamed into Media Source Extensions.
  async loadH264(wall) {
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    const url = `/api/cameras/${encodeURIComponent(this.cameraId)}/playback.mp4?start=${Math.floor(wall)}&end=${Math.floor(wall + CHUNK_H264)}&codec=h264`;
    let r;
    try { r = await fetch(url, { credentials: 'same-origin', signal: ctrl.signal }); } catch (_) { return false; }
    if (!r.ok) { this.startMs = 0; this.video.removeAttribute('src'); this.video.load(); return false; }
    this.startMs = Number(r.headers.get('X-Start-Ms'));
    this.endMs = wall + CHUNK_H264;
    const ms = new MediaSource();
    if (this.video.src.startsWith('blob:')) URL.revokeObjectURL(this.video.src);
    this.video.src = URL.createObjectURL(ms);
    await new Promise((ok) => ms.addEventListener('sourceopen', ok, { once: true }));
    const sb = ms.addSourceBuffer(`video/mp4; codecs="${r.headers.get('X-Codecs')}"`);
    const reader = r.body.getReader();
    const v = this.video, target = Math.max(0, (wall - this.startMs) / 1000);
    const bufferedEnd = () => (sb.buffered.length ? sb.buffered.end(sb.buffered.length - 1) : 0);
    let finished = false;
    (async () => {
      try {
        for (;;) {
          // Not reading holds the server's transcoder back: it makes what is watched, not the whole range.
          while (!ctrl.signal.aborted && bufferedEnd() - Math.max(v.currentTime, target) > AHEAD_S) await sleep(300);
          const { done, value } = await reader.read();
          if (done || ctrl.signal.aborted) break;
          if (sb.buffered.length && v.currentTime - sb.buffered.start(0) > AHEAD_S) {
            await appended(sb, () => sb.remove(0, v.currentTime - AHEAD_S / 2));
          }
          await appended(sb, () => sb.appendBuffer(value));
        }
        if (!ctrl.signal.aborted && ms.readyState === 'open') ms.endOfStream();
      } catch (_) { /* left, or seeked elsewhere: this stream is over */ } finally { finished = true; }
    })();
    const t0 = Date.now();
    while (!finished && bufferedEnd() <= target + 0.1 && Date.now() - t0 < 20000) await sleep(100);
    if (ctrl.signal.aborted) return false;
    v.currentTime = target;
    return true;
  }
  get wall() { return this.startMs + this.video.currentTime * 1000; }
}

function drawTimeline(canvas, tl, view, head) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width = canvas.clientWidth * devicePixelRatio, h = canvas.height = canvas.clientHeight * devicePixelRatio;
  const x = (t) => ((t - view.start) / (view.end - view.start)) * w;
  ctx.fillStyle = '#181b22'; ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = '#3f9f6f';
  for (const r of tl.ranges) ctx.fillRect(x(r.start_ms), h * 0.3, Math.max(2 * devicePixelRatio, x(r.end_ms) - x(r.start_ms)), h * 0.5);
  ctx.fillStyle = '#f5a524';
  for (const r of tl.smart || []) ctx.fillRect(x(r.start_ms), h * 0.22, Math.max(2 * devicePixelRatio, x(r.end_ms) - x(r.start_ms)), h * 0.08);
  ctx.fillStyle = '#e5484d';
  for (const e of tl.events) ctx.fillRect(x(e.start_ms), 0, 2, h * 0.3);
  ctx.fillStyle = '#9aa3b2'; ctx.font = `${10 * devicePixelRatio}px system-ui`;
  const step = [60e3, 300e3, 900e3, 3600e3, 3 * 3600e3].find((s) => (view.end - view.start) / s < 12) || 3 * 3600e3;
  for (let t = Math.ceil(view.start / step) * step; t < view.end; t += step) {
    ctx.fillRect(x(t), h * 0.8, 1, h * 0.2);
    ctx.fillText(new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), x(t) + 2, h * 0.98);
  }
  if (head) { ctx.fillStyle = '#4c8dff'; ctx.fillRect(x(head) - 1, 0, 3 * devicePixelRatio, h); }
}

export async function renderPlayback(view, params) {
  const cameras = await api('/api/cameras');
  const today = new Date(); today.setHours(0, 0, 0, 0);
  view.innerHTML = `
    <div class="toolbar">
      <label>Day <input type="date" id="day"></label>
      <span id="cams">${cameras.map((c, i) => `<label><input type="checkbox" value="${esc(c.id)}" ${(params.get('camera') ? params.get('camera').split(',').includes(c.id) : i === 0) ? 'checked' : ''}> ${esc(c.name)}</label>`).join(' ')}</span>
      <label>Time <input type="time" id="at" step="1"></label><button id="go">Go</button>
    </div>
    <div class="toolbar">
      <button id="play">Pause</button>
      <button id="back" title="Previous frame">◀︎|</button><button id="fwd" title="Next frame">|▶︎</button>
      <label>Speed <select id="speed">${[0.25, 0.5, 1, 2, 4, 8, 16].map((s) => `<option ${s === 1 ? 'selected' : ''} value="${s}">${s}×</option>`).join('')}</select></label>
      <label title="Smart playback: only the parts with motion, targets or alarms">Smart <select id="smart"><option value="">off</option><option value="skip">skip idle</option><option value="8">idle at 8×</option><option value="16">idle at 16×</option></select></label>
      <span id="clock" class="muted"></span>
    </div>
    <div id="timelines"></div>
    <div class="players" id="players"></div>
    <div class="panel"><div class="toolbar"><input id="tag-text" placeholder="Tag text"><button id="tag-add">Tag at play head</button></div>
      <ul id="tags"></ul></div>
    <div class="panel"><div class="toolbar"><strong>Export</strong>
      <label>From <input type="datetime-local" id="ex-from" step="1"></label><label>To <input type="datetime-local" id="ex-to" step="1"></label>
      <a id="ex-download" href="#" download>Download MP4</a>
      <input id="ex-folder" placeholder="/media/usb0/exports"><button id="ex-go">Export to folder</button>
      <progress id="ex-progress" max="100" value="0" hidden></progress><span id="ex-status" class="muted"></span></div></div>`;
  const $ = (s) => view.querySelector(s);
  const dayInput = $('#day');
  const dayStart = params.get('at') ? new Date(Number(params.get('at'))) : new Date(Date.now() - 60_000);
  dayInput.valueAsDate = new Date(Date.UTC(dayStart.getFullYear(), dayStart.getMonth(), dayStart.getDate()));
  let channels = [], timer = null, head = params.get('at') ? Number(params.get('at')) : Date.now() - 60_000;
  let tlView = { start: 0, end: 0 }, timelines = {};
  let smart = [], seeking = false; // smart playback: merged ranges of interest of the selected cameras
  const jumps = [];
  const local = (ms) => { const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000); return d.toISOString().slice(0, 19); };
  const fromLocal = (s) => new Date(s).getTime();
  const selected = () => [...view.querySelectorAll('#cams input:checked')].map((i) => i.value).slice(0, 4);
  const dayBounds = () => { const d = new Date(dayInput.value + 'T00:00:00'); return [d.getTime(), d.getTime() + DAY]; };
  const master = () => channels.find((c) => c.startMs) || null;

  async function loadTimelines() {
    const [s, e] = dayBounds();
    if (!(tlView.start >= s && tlView.end <= e)) tlView = { start: s, end: e };
    $('#timelines').innerHTML = '';
    for (const id of selected()) {
      timelines[id] = await api(`/api/cameras/${encodeURIComponent(id)}/timeline?start=${s}&end=${e}`);
      if ($('#smart').value) timelines[id].smart = (await api(`/api/cameras/${encodeURIComponent(id)}/smart?start=${s}&end=${e}`)).ranges;
      const row = el(`<div><span class="tl-label">${esc(id)}</span><canvas class="timeline" data-camera="${esc(id)}"></canvas></div>`);
      $('#timelines').append(row);
      const canvas = row.querySelector('canvas');
      // Click or drag along the timeline to seek: the play head follows the pointer, video loads on release.
      const at = (ev) => { const r = canvas.getBoundingClientRect(); return tlView.start + ((ev.clientX - r.left) / r.width) * (tlView.end - tlView.start); };
      let dragging = false;
      canvas.onpointerdown = (ev) => { dragging = true; canvas.setPointerCapture(ev.pointerId); head = at(ev); redraw(); };
      canvas.onpointermove = (ev) => { if (dragging) { head = at(ev); redraw(); } };
      canvas.onpointerup = (ev) => { if (dragging) { dragging = false; seek(at(ev)); } };
      canvas.addEventListener('wheel', (ev) => {
        ev.preventDefault();
        const r = canvas.getBoundingClientRect();
        const at = tlView.start + ((ev.clientX - r.left) / r.width) * (tlView.end - tlView.start);
        const span = Math.min(DAY, Math.max(10 * 60_000, (tlView.end - tlView.start) * (ev.deltaY < 0 ? 0.7 : 1.4)));
        tlView = { start: at - ((at - tlView.start) / (tlView.end - tlView.start)) * span, end: 0 };
        tlView.end = tlView.start + span; redraw();
      }, { passive: false });
    }
    // The union of the cameras' ranges, so 4 channels in sync stop only where none has anything to show.
    const all = Object.entries(timelines).filter(([id]) => selected().includes(id)).flatMap(([, t]) => t.smart || []).sort((a, b) => a.start_ms - b.start_ms);
    smart = [];
    for (const r of all) {
      const last = smart[smart.length - 1];
      if (last && r.start_ms <= last.end_ms) last.end_ms = Math.max(last.end_ms, r.end_ms); else smart.push({ ...r });
    }
    $('#players').dataset.smart = JSON.stringify(smart.map((r) => [r.start_ms, r.end_ms]));
    redraw();
  }
  // Playing past midnight (or seeking to another day) moves the day shown: its timelines and tags follow the head.
  // A day picked by hand stays until the head itself changes day.
  const dayOf = (ms) => { const d = new Date(ms); return new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate())); };
  let headDay = dayOf(head).getTime();
  async function followDay() {
    if (!head || dayOf(head).getTime() === headDay) return;
    headDay = dayOf(head).getTime();
    dayInput.valueAsDate = dayOf(head);
    await loadTimelines(); await loadTags();
  }
  function redraw() {
    for (const c of view.querySelectorAll('canvas.timeline')) drawTimeline(c, timelines[c.dataset.camera] || { ranges: [], events: [] }, tlView, head);
    $('#clock').textContent = head ? fmtTime(head) : '';
  }

  async function seek(wall) {
    head = wall; seeking = true;
    try {
      const speed = Number($('#speed').value);
      await Promise.all(channels.map((c) => c.load(wall)));
      for (const c of channels) { c.video.playbackRate = speed; if ($('#play').textContent === 'Pause') c.video.play().catch(() => {}); }
      $('#ex-from').value = local(wall); $('#ex-to').value = local(wall + 60_000); updateDownload();
      $('#players').dataset.seek = String(Math.round(wall)); // the instant shown, for scripts and tests
    } finally {
      seeking = false; // a failed load (server restarting) must not stop the clock for good
    }
    followDay();
    redraw();
  }

  // Smart playback: over an idle part, jump to the next range of interest (or play it at 8×/16×).
  function smartStep(m) {
    const mode = $('#smart').value;
    if (!mode || !smart.length || seeking || m.video.paused) return false;
    const speed = Number($('#speed').value);
    const inside = smart.some((r) => head >= r.start_ms && head < r.end_ms);
    const rate = inside || mode === 'skip' ? speed : Math.max(speed, Number(mode));
    for (const c of channels) if (c.video.playbackRate !== rate) c.video.playbackRate = rate;
    $('#players').dataset.rate = String(rate);
    if (inside || mode !== 'skip') return false;
    const next = smart.find((r) => r.start_ms > head);
    if (!next) { channels.forEach((c) => c.video.pause()); $('#play').textContent = 'Play'; return true; }
    jumps.push([Math.round(head), next.start_ms]);
    $('#players').dataset.jumps = JSON.stringify(jumps);
    seek(next.start_ms);
    return true;
  }

  function sync() {
    // One clock drives all: the first playing channel; the others follow it.
    const m = master();
    if (!m || seeking) return;
    head = m.wall;
    $('#players').dataset.head = String(Math.round(head));
    if (smartStep(m)) return;
    for (const c of channels) {
      if (c === m || !c.startMs) continue;
      const target = (head - c.startMs) / 1000;
      if (Math.abs(c.video.currentTime - target) > 0.15) c.video.currentTime = target;
      if (c.video.paused !== m.video.paused) (m.video.paused ? c.video.pause() : c.video.play().catch(() => {}));
    }
    if (m.endMs && head > m.endMs - 2000) seek(head);
    followDay();
    redraw();
  }

  function setup() {
    channels.forEach((c) => { c.stopStream(); c.video.pause(); c.video.removeAttribute('src'); c.video.load(); });
    $('#players').innerHTML = '';
    channels = selected().map((id) => {
      const box = el(`<div class="tile"><div class="bar"><span>${esc(id)}</span> <span class="muted mode" title="this browser cannot decode the recording's codec: Vigil transcodes it to H.264 while it plays"></span></div><video muted playsinline data-camera="${esc(id)}"></video></div>`);
      $('#players').append(box);
      enableZoom(box, box.querySelector('video'));
      const video = box.querySelector('video');
      return new Channel(id, video, (transcoded) => {
        box.querySelector('.mode').textContent = transcoded ? 'H.264 by Vigil' : '';
        video.dataset.transcoded = transcoded ? '1' : '';
        updateDownload();
      });
    });
  }

  async function loadTags() {
    const [s, e] = dayBounds();
    const tags = await api(`/api/tags?start=${s}&end=${e}`);
    $('#tags').innerHTML = tags.map((t) => `<li><a href="#" data-at="${t.start_ms}" data-camera="${esc(t.camera_id)}">${fmtTime(t.start_ms)} — ${esc(t.camera_id)}: ${esc(t.text)}</a></li>`).join('') || '<li class="muted">No tags this day</li>';
    view.querySelectorAll('#tags a').forEach((a) => { a.onclick = (ev) => { ev.preventDefault(); seek(Number(a.dataset.at)); }; });
  }

  function updateDownload() {
    const cam = selected()[0];
    if (!cam) return;
    // A recording this browser cannot play downloads as H.264 made by Vigil (the file on disk stays as recorded).
    const h264 = channels.find((c) => c.cameraId === cam)?.transcoded;
    $('#ex-download').href = `/api/cameras/${encodeURIComponent(cam)}/playback.mp4?start=${fromLocal($('#ex-from').value)}&end=${fromLocal($('#ex-to').value)}${h264 ? '&codec=h264' : ''}`;
    $('#ex-download').textContent = h264 ? 'Download MP4 (H.264 by Vigil)' : 'Download MP4';
  }

  $('#go').onclick = () => { const [s] = dayBounds(); const [hh, mm, ss] = ($('#at').value || '00:00:00').split(':').map(Number); seek(s + ((hh * 60 + mm) * 60 + (ss || 0)) * 1000); };
  $('#play').onclick = () => {
    const m = master(); if (!m) return;
    const pause = !m.video.paused;
    channels.forEach((c) => (pause ? c.video.pause() : c.video.play().catch(() => {})));
    $('#play').textContent = pause ? 'Play' : 'Pause';
  };
  const step = (d) => { channels.forEach((c) => { c.video.pause(); c.video.currentTime = Math.max(0, c.video.currentTime + d); }); $('#play').textContent = 'Play'; };
  $('#back').onclick = () => step(-FPS_STEP); $('#fwd').onclick = () => step(FPS_STEP);
  $('#smart').onchange = async () => {
    await loadTimelines();
    const m = master();
    if ($('#smart').value === 'skip' && smart.length && !smart.some((r) => head >= r.start_ms && head < r.end_ms)) {
      const next = smart.find((r) => r.start_ms > head) || smart[0];
      seek(next.start_ms);
    } else if (m && !$('#smart').value) channels.forEach((c) => { c.video.playbackRate = Number($('#speed').value); });
  };
  $('#speed').onchange = () => channels.forEach((c) => { c.video.playbackRate = Number($('#speed').value); });
  view.querySelectorAll('#cams input').forEach((i) => { i.onchange = async () => { setup(); await loadTimelines(); seek(head); }; });
  dayInput.onchange = async () => { await loadTimelines(); loadTags(); };
  $('#tag-add').onclick = async () => {
    const cam = master()?.cameraId || selected()[0];
    if (!cam) return;
    await api('/api/tags', { method: 'POST', json: { camera: cam, at: String(Math.round(head)), text: $('#tag-text').value || 'tag' } });
    $('#tag-text').value = ''; loadTags();
  };
  $('#ex-from').onchange = updateDownload; $('#ex-to').onchange = updateDownload;
  $('#ex-go').onclick = async () => {
    $('#ex-status').textContent = ''; $('#ex-progress').hidden = false; $('#ex-progress').value = 0;
    try {
      let job = await api('/api/exports', { method: 'POST', json: { cameras: selected(), start: String(fromLocal($('#ex-from').value)), end: String(fromLocal($('#ex-to').value)), target: { type: 'folder', path: $('#ex-folder').value } } });
      while (job.status === 'queued' || job.status === 'running') {
        $('#ex-progress').value = job.percent; await new Promise((r) => setTimeout(r, 300));
        job = await api(`/api/exports/${job.id}`);
      }
      $('#ex-progress').value = job.percent;
      $('#ex-status').textContent = job.status === 'done' ? `Saved ${job.files.join(', ')}` : `Failed: ${job.error}`;
    } catch (err) { $('#ex-status').textContent = String(err.message || err); }
  };

  if (params.get('smart')) $('#smart').value = params.get('smart');
  if (params.get('speed')) $('#speed').value = params.get('speed');
  setup();
  await loadTimelines();
  await loadTags();
  await seek(head);
  timer = setInterval(sync, 250);
  return () => { clearInterval(timer); channels.forEach((c) => { c.stopStream(); c.video.pause(); c.video.removeAttribute('src'); }); };
}
