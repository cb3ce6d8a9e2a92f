// Vigil's service worker: makes the UI installable, keeps its own files for when the box is out of reach, and
// shows alarm notifications. It never keeps video, pictures or API answers: those are recordings and personal data,
// and stale ones would mislead.
const CACHE = 'vigil-ui';
const isUi = (url) => url.origin === self.location.origin && (url.pathname === '/' || url.pathname.startsWith('/web/')
  || url.pathname === '/manifest.webmanifest');

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

// Network first, so an upgraded Vigil is seen at once; the kept copy only when the network fails.
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || !isUi(url)) return;
  e.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const r = await fetch(e.request);
      if (r.ok) await cache.put(e.request, r.clone());
      return r;
    } catch (err) {
      const kept = await cache.match(e.request);
      if (kept) return kept;
      throw err;
    }
  })());
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  const target = e.notification.data?.url || '/#/events';
  e.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const c of open) {
      if (new URL(c.url).origin === self.location.origin) { await c.focus(); return c.navigate(target); }
    }
    return self.clients.openWindow(target);
  })());
});
