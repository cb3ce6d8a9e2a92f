// Live view: fMP4 fragments over a WebSocket into Media Source Extensions, one frame per fragment.
// Where MSE is missing (iPhone Safari), the tile falls back to the camera's HLS playlist.
import { api, el, enableZoom, esc } from './api.js';
import { ptzControls } from './onvif.js';

const LIVE_EDGE_S = 0.3; // further behind the newest frame than this, jump to it

export class LivePlayer {
  constructor(video, cameraId, stream, onState) {
    Object.assign(this, { video, cameraId, stream, onState });
    this.queue = []; this.sb = null; this.ms = null; this.ws = null; this.stopped = false; this.retry = null;
    // Asked for an H.264 rendition once this browser proved unable to decode the camera's codec (H.265 in most
    // desktop browsers); the server transcodes only then.
    this.h264 = false; this.transcoded = false;
  }

  start() {
    if (!window.MediaSource) {
      this.video.src = `/api/cameras/${encodeURIComponent(this.cameraId)}/playlist.m3u8`;
      this.video.play().catch(() => {});
      return;
    }
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/api/cameras/${encodeURIComponent(this.cameraId)}/live?stream=${this.stream}${this.h264 ? '&h264=1' : ''}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') {
        const msg = JSON.parse(m.data);
        if (msg.type === 'init') { this.transcoded = !!msg.transcoded; this.reset(msg.mime); }
        else if (msg.type === 'state') this.onState(msg.online ? 'online' : 'offline', msg.error);
        return;
      }
      this.queue.push(m.data);
      this.pump();
    };
    ws.onclose = (e) => {
      if (this.stopped) return;
      this.onState('offline', e.code === 4401 ? 'log in again' : 'connection to Vigil lost');
      this.retry = setTimeout(() => this.start(), 1000);
    };
  }

  reset(mime) {
    // A new init segment: the camera (re)connected. Start a fresh MediaSource.
    this.queue = []; this.sb = null;
    if (!MediaSource.isTypeSupported(mime)) {
      if (!this.h264 && MediaSource.isTypeSupported('video/mp4; codecs="avc1.42e01f"')) {
        this.h264 = true;
        const ws = this.ws; ws.onclose = null; ws.close();
        this.start();
        return;
      }
      this.onState('offline', `this browser cannot play ${mime}`); return;
    }
    const ms = new MediaSource();
    this.ms = ms;
    if (this.video.src) URL.revokeObjectURL(this.video.src);
    this.video.src = URL.createObjectURL(ms);
    ms.addEventListener('sourceopen', () => {
      // A later init (reconnect) or leaving the page may have detached this source
      // before its open event ran; adding a buffer to it then throws.
      if (this.stopped || this.ms !== ms || ms.readyState !== 'open') return;
      this.sb = ms.addSourceBuffer(mime);
      this.sb.mode = 'segments';
      this.sb.addEventListener('updateend', () => this.pump());
      this.pump();
    }, { once: true });
    this.onState('online');
  }

  pump() {
    const sb = this.sb, v = this.video;
    if (this.stopped || !sb || sb.updating || !this.ms || this.ms.readyState !== 'open') return;
    const b = v.buffered;
    if (b.length) {
      const end = b.end(b.length - 1);
      if (end - v.currentTime > LIVE_EDGE_S || v.currentTime < b.start(0)) v.currentTime = Math.max(b.start(b.length - 1), end - 0.05);
      if (v.paused) v.play().catch(() => {});
      if (v.currentTime - b.start(0) > 20) { sb.remove(b.start(0), v.currentTime - 5); return; }
    }
    if (this.queue.length) {
      try { sb.appendBuffer(this.queue.shift()); } catch (err) { this.onState('offline', String(err)); }
    }
  }

  stop() {
    this.stopped = true; clearTimeout(this.retry); this.ms = null;
    if (this.ws) this.ws.close();
    this.video.removeAttribute('src'); this.video.load();
  }
}

const LAYOUTS = { 1: 1, 4: 4, 9: 9 };

export async function renderLive(view, params) {
  const cameras = await api('/api/cameras');
  let layout = Number(localStorage.getItem('vigil.layout') || 4);
  if (!LAYOUTS[layout]) layout = 4;
  // #/live?camera=id (from the overview): that camera alone, until the user picks a layout.
  let focus = cameras.some((c) => c.id === params?.get('camera')) ? params.get('camera') : null;
  if (focus) layout = 1;
  const saved = JSON.parse(localStorage.getItem('vigil.tiles') || '[]');
  view.innerHTML = `<div class="toolbar"><span>Layout</span>
      <button data-layout="1">1</button><button data-layout="4">2×2</button><button data-layout="9">3×3</button>
      <span class="muted">Double-click a tile for full screen · wheel or pinch to zoom, drag to pan</span></div>
    <div class="grid" id="grid"></div>`;
  const grid = view.querySelector('#grid');
  const players = [];
  const draw = () => {
    players.splice(0).forEach((p) => p.stop());
    grid.className = `grid n${layout}`;
    grid.innerHTML = '';
    for (let i = 0; i < layout; i++) {
      const camId = (focus && i === 0 ? focus : saved[i]) ?? cameras[i]?.id ?? '';
      const options = ['<option value="">—</option>', ...cameras.map((c) =>
        `<option value="${esc(c.id)}" ${c.id === camId ? 'selected' : ''}>${esc(c.name)}</option>`)].join('');
      const tile = el(`<div class="tile" data-camera="${esc(camId)}">
          <div class="bar"><select aria-label="camera">${options}</select>
            <span class="state">—</span><span class="spacer"></span><span class="ptz-slot"></span>
            <button class="snap" title="Snapshot">Snapshot</button></div>
          <video muted playsinline autoplay></video>
          <div class="placeholder" hidden></div></div>`);
      grid.append(tile);
      const video = tile.querySelector('video');
      const state = tile.querySelector('.state');
      const placeholder = tile.querySelector('.placeholder');
      const unzoom = enableZoom(tile, video);
      let player = null;
      const play = (id, stream) => {
        if (player) { player.stop(); players.splice(players.indexOf(player), 1); }
        tile.dataset.camera = id; unzoom();
        const slot = tile.querySelector('.ptz-slot');
        slot.innerHTML = '';
        const cam = cameras.find((c) => c.id === id);
        if (cam?.onvif) slot.append(ptzControls(id, (msg) => { placeholder.hidden = false; placeholder.textContent = `PTZ: ${msg}`; setTimeout(() => { if (tile.dataset.state === 'online') placeholder.hidden = true; }, 4000); }));
        if (!id) { state.textContent = '—'; placeholder.hidden = false; placeholder.textContent = 'No camera'; return; }
        player = new LivePlayer(video, id, stream, (s, err) => {
          const transcoded = s === 'online' && player && player.transcoded;
          state.textContent = transcoded ? 'online · H.264 by Vigil' : s; state.className = `state ${s}`;
          tile.dataset.state = s; tile.dataset.transcoded = transcoded ? '1' : '';
          state.title = transcoded ? 'this browser cannot decode the camera\'s codec: Vigil transcodes it to H.264' : '';
          placeholder.hidden = s === 'online';
          placeholder.textContent = s === 'online' ? '' : `Camera offline${err ? ': ' + err : ''} — waiting for it to return`;
        });
        players.push(player); player.start();
      };
      tile.querySelector('select').onchange = (e) => { saved[i] = e.target.value; localStorage.setItem('vigil.tiles', JSON.stringify(saved)); play(e.target.value, 'sub'); };
      tile.querySelector('.snap').onclick = () => { if (tile.dataset.camera) window.open(`/api/cameras/${encodeURIComponent(tile.dataset.camera)}/snapshot.jpg`, '_blank'); };
      tile.addEventListener('dblclick', () => {
        if (document.fullscreenElement) document.exitFullscreen();
        else tile.requestFullscreen().catch(() => {});
      });
      tile.addEventListener('fullscreenchange', () => play(tile.dataset.camera, document.fullscreenElement === tile ? 'main' : 'sub'));
      play(camId, layout === 1 ? 'main' : 'sub');
    }
  };
  view.querySelectorAll('[data-layout]').forEach((b) => { b.onclick = () => { focus = null; layout = Number(b.dataset.layout); localStorage.setItem('vigil.layout', layout); draw(); }; });
  draw();
  return () => players.forEach((p) => p.stop());
}
