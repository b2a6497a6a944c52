// Service worker: opens the app with no connection. The shell and the
// wasm are precached at install into a cache named after the build
// version; the server stamps the line below with that version and the
// shell's file list (server/webassets), so any change to the app changes
// this file and the browser installs the new worker. The new worker then
// waits: the page shows "a new version is ready" and posts
// {type: 'skipWaiting'} only when the person clicks reload.
const BUILD = {"version":"dev","shell":["/"]}; // stamped by the server (server/webassets)

const PREFIX = 'plansync-';
const CACHE = PREFIX + BUILD.version;

// Never answered from the cache: the API, the sync socket, server status.
const NETWORK_ONLY = [/^\/api\//, /^\/sync$/, /^\/healthz$/, /^\/metrics$/];

// assetFiles lists the files assets.json names (a map of logical names to
// file names; values may also be objects with a "file"), without the
// .br/.gz variants: the browser negotiates encodings itself.
function assetFiles(raw) {
  const map = raw && raw.files && typeof raw.files === 'object' ? raw.files : raw || {};
  const out = [];
  for (const v of Object.values(map)) {
    const name = typeof v === 'string' ? v : v && (v.file || v.name || v.path);
    if (typeof name !== 'string' || /\.(br|gz)$/.test(name)) continue;
    out.push(name.startsWith('/') ? name : '/dist/' + name);
  }
  return out;
}

async function precache() {
  const cache = await caches.open(CACHE);
  // no-cache: the shell's names are stable, so the HTTP cache may hold
  // the previous build's copy.
  const requests = BUILD.shell.map((u) => new Request(u, { cache: 'no-cache' }));
  const res = await fetch('/dist/assets.json', { cache: 'no-cache' });
  if (res.ok) {
    const raw = await res.clone().json();
    await cache.put('/dist/assets.json', res);
    for (const u of assetFiles(raw)) requests.push(new Request(u));
  }
  await cache.addAll(requests);
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    // Take the page that installed us, so the first visit already works
    // offline on its next reload.
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skipWaiting') self.skipWaiting();
});

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, { ignoreVary: true });
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok && res.type === 'basic') await cache.put(request, res.clone());
  return res;
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (NETWORK_ONLY.some((re) => re.test(url.pathname))) return;
  if (req.mode === 'navigate') {
    // Every route of the app is index.html with a #fragment.
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      return (await cache.match('/', { ignoreVary: true })) || fetch(req);
    })());
    return;
  }
  if (url.pathname === '/dist/assets.json') {
    // The page asks with no-cache; the cache's copy matches this build.
    event.respondWith(cacheFirst(new Request(url.pathname)));
    return;
  }
  event.respondWith(cacheFirst(req));
});

// Push (server/notify's Web Push channel): the payload is {title, body,
// url, tag, lang}, the words and a link to the exact item and nothing
// else of the plan. One notification per tag, so a message the server
// sent again after a crash replaces itself. Open pages hear of it too
// ({type: 'push-shown'}), so they can say it arrived.
self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  const title = typeof data.title === 'string' && data.title ? data.title : 'Plansync';
  const url = sameOriginLink(data.url);
  event.waitUntil((async () => {
    await self.registration.showNotification(title, {
      body: typeof data.body === 'string' ? data.body : '',
      tag: typeof data.tag === 'string' && data.tag ? data.tag : undefined,
      lang: typeof data.lang === 'string' ? data.lang : undefined,
      icon: '/icons/icon-192.png',
      data: { url },
    });
    for (const c of await self.clients.matchAll({ type: 'window', includeUncontrolled: true })) {
      c.postMessage({ type: 'push-shown', title, url });
    }
  })());
});

// sameOriginLink keeps a link only when it points into this app; anything
// else opens the app's home.
function sameOriginLink(u) {
  try {
    const url = new URL(u, self.location.origin);
    if (url.origin === self.location.origin) return url.href;
  } catch {
    // not a URL
  }
  return new URL('/', self.location.origin).href;
}

// A tap on the notification focuses a window of the app already open on
// that item, else another window of the app (sent to the item), else
// opens a new one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = sameOriginLink(event.notification.data && event.notification.data.url);
  event.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const exact = wins.find((w) => w.url === url);
    if (exact) return exact.focus();
    const any = wins.find((w) => new URL(w.url).origin === self.location.origin);
    if (any) {
      try {
        const w = await any.focus();
        return await (w || any).navigate(url);
      } catch {
        // an uncontrolled window cannot be navigated: open one
      }
    }
    return self.clients.openWindow(url);
  })());
});
