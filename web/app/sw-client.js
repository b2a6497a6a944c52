// The page's side of the service worker: register it, and when a new
// version has installed, say so and let the person reload when it suits
// them (never switch the app under someone writing a note). The worker
// waits until the page posts {type: 'skipWaiting'}.

const UPDATE_CHECK_EVERY = 60 * 60 * 1000; // ms

let reloading = false;

function offer(worker) {
  const bar = document.getElementById('update');
  const button = document.getElementById('update-reload');
  if (!bar || !button) return;
  bar.hidden = false;
  button.onclick = () => {
    reloading = true;
    button.disabled = true;
    worker.postMessage({ type: 'skipWaiting' });
  };
}

export function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // Only a reload the person asked for; the first install's claim
    // changes the controller too, and must not reload.
    if (reloading) location.reload();
  });
  navigator.serviceWorker.register('/sw.js', { scope: '/', updateViaCache: 'none' }).then((reg) => {
    if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
    reg.addEventListener('updatefound', () => {
      const w = reg.installing;
      if (!w) return;
      w.addEventListener('statechange', () => {
        if (w.state === 'installed' && navigator.serviceWorker.controller) offer(w);
      });
    });
    setInterval(() => reg.update().catch(() => {}), UPDATE_CHECK_EVERY);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') reg.update().catch(() => {});
    });
  }).catch((err) => console.warn('service worker not registered', err));
}

// askPersistence asks once, after the first save, that the browser keep
// this site's storage under pressure: unsynced edits live in IndexedDB.
export function askPersistence() {
  if (localStorage.getItem('plansync.persistAsked')) return;
  localStorage.setItem('plansync.persistAsked', '1');
  navigator.storage?.persist?.().catch(() => {});
}
