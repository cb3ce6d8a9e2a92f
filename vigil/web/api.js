// Talking to Vigil's API. A 401 anywhere sends the user back to the login form.
export class AuthError extends Error {}

export async function api(path, options = {}) {
  const opts = { credentials: 'same-origin', ...options };
  if (opts.json !== undefined) {
    opts.body = JSON.stringify(opts.json);
    opts.headers = { 'Content-Type': 'application/json', ...(opts.headers || {}) };
    delete opts.json;
  }
  const r = await fetch(path, opts);
  if (r.status === 401) { window.dispatchEvent(new Event('vigil:login')); throw new AuthError('login needed'); }
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail; } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }
  const type = r.headers.get('content-type') || '';
  if (r.status === 204) return null;
  return type.includes('json') ? r.json() : r;
}

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
export const fmtTime = (ms) => new Date(ms).toLocaleString();
export const el = (html) => { const t = document.createElement('template'); t.innerHTML = html.trim(); return t.content.firstElementChild; };

// Digital zoom (EPTZ) on a video inside a box: wheel or pinch to zoom at the pointer, drag to pan.
export function enableZoom(box, video) {
  let scale = 1, x = 0, y = 0, drag = null;
  const apply = () => { video.style.transform = `translate(${x}px, ${y}px) scale(${scale})`; };
  const clamp = () => {
    const w = box.clientWidth, h = box.clientHeight;
    x = Math.min(0, Math.max(w - w * scale, x)); y = Math.min(0, Math.max(h - h * scale, y));
  };
  const zoomAt = (px, py, factor) => {
    const next = Math.min(8, Math.max(1, scale * factor));
    x = px - (px - x) * (next / scale); y = py - (py - y) * (next / scale); scale = next; clamp(); apply();
  };
  box.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = box.getBoundingClientRect();
    zoomAt(e.clientX - r.left, e.clientY - r.top, e.deltaY < 0 ? 1.2 : 1 / 1.2);
  }, { passive: false });
  const touches = new Map();
  let pinch = 0;
  box.addEventListener('pointerdown', (e) => {
    touches.set(e.pointerId, e);
    if (touches.size === 1 && scale > 1) drag = { sx: e.clientX - x, sy: e.clientY - y };
  });
  box.addEventListener('pointermove', (e) => {
    if (!touches.has(e.pointerId)) return;
    touches.set(e.pointerId, e);
    if (touches.size === 2) {
      const [a, b] = [...touches.values()];
      const d = Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY);
      if (pinch) { const r = box.getBoundingClientRect(); zoomAt((a.clientX + b.clientX) / 2 - r.left, (a.clientY + b.clientY) / 2 - r.top, d / pinch); }
      pinch = d;
    } else if (drag) { x = e.clientX - drag.sx; y = e.clientY - drag.sy; clamp(); apply(); }
  });
  const up = (e) => { touches.delete(e.pointerId); drag = null; pinch = 0; };
  box.addEventListener('pointerup', up); box.addEventListener('pointercancel', up);
  return () => { scale = 1; x = 0; y = 0; apply(); };
}

// Every event type Vigil raises (filters, linkage rules, notifications).
export const EVENT_TYPES = ['motion', 'smd', 'tripwire', 'intrusion', 'face_match', 'face_blocklist', 'face_stranger', 'face', 'tamper', 'scene_change', 'audio', 'external', 'occupancy', 'plate_match', 'plate_blocklist', 'plate_read', 'disk_missing', 'disk_quota', 'disk_full', 'disk_error', 'disk_low', 'camera_offline'];
