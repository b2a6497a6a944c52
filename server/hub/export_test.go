package hub

import (
	"net"
	"net/http"
)

// SetUpgradedHook makes f see each upgraded request and its socket; nil
// removes it.
func SetUpgradedHook(f func(*http.Request, net.Conn)) {
	if f == nil {
		testUpgraded.Store(nil)
		return
	}
	testUpgraded.Store(&f)
}

// SetTestHook makes f run at one point of each kind of per-connection work
// ("reader", "writer", "pusher", "catch-up", "offer", "hello", "welcome") with the
// peer's address; nil removes it.
func SetTestHook(f func(kind, remote string)) {
	if f == nil {
		testHook.Store(nil)
		return
	}
	testHook.Store(&f)
}

// Registered returns how many connections the hub's user, session and
// space maps hold.
func (h *Hub) Registered() (users, sessions, spaces int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, m := range h.byUser {
		users += len(m)
	}
	for _, m := range h.bySession {
		sessions += len(m)
	}
	for _, m := range h.bySpace {
		spaces += len(m)
	}
	return users, sessions, spaces
}
