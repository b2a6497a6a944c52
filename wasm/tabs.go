//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/idbstore"
)

// One tab syncs at a time. Every tab runs its own engine on the same
// IndexedDB database; the page takes a Web Lock and tells the tab that
// holds it setLeader(true) (API.md, "Several tabs"). The leader's engine is
// online; the others' are offline, so only the leader holds a WebSocket.
// The tabs meet in IndexedDB and nudge each other on a BroadcastChannel
// named "plansync-<dbName>" with these messages:
//
//	{kind: "outbox"}   a follower saved an edit: the leader reloads the
//	                   outbox from IndexedDB (client.Engine.Reload) and
//	                   pushes it
//	{kind: "changed", state}  the leader's copy changed (server changes,
//	                   acks, its own edits): followers reload; state is the
//	                   leader's sync state, which followers show
//	{kind: "session"}  someone signed in or out: every tab re-reads the
//	                   session from IndexedDB
//	{kind: "hello"}    a follower started: the leader answers "changed"
//	{kind: "rejected", event}  the server refused an edit: followers pass
//	                   the leader's "rejected" event to their subscribers,
//	                   since the edit may well have been made in one of them
//
// A message only says "look at IndexedDB"; a lost or repeated one costs a
// reload, never data.

// tabMsg kinds.
const (
	msgOutbox   = "outbox"
	msgChanged  = "changed"
	msgSession  = "session"
	msgHello    = "hello"
	msgRejected = "rejected"

	// changedEvery coalesces the leader's "changed" messages.
	changedEvery = 50 * time.Millisecond
)

// channelName is the BroadcastChannel of the database.
func channelName(db string) string {
	if db == "" {
		db = idbstore.DefaultName
	}
	return "plansync-" + db
}

// openChannel joins the tabs' BroadcastChannel and starts the goroutines
// that act on it. Without BroadcastChannel (old browsers, Node < 18) the
// tab works alone. Caller holds life.
func (a *app) openChannel() {
	if a.bc.Truthy() {
		return
	}
	a.reloadKick = make(chan struct{}, 1)
	a.changedKick = make(chan struct{}, 1)
	go a.reloadLoop()
	go a.changedLoop()
	ctor := js.Global().Get("BroadcastChannel")
	if ctor.Type() != js.TypeFunction {
		return
	}
	a.mu.Lock()
	name := channelName(a.dbName)
	a.mu.Unlock()
	bc := ctor.New(name)
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		// On the event loop: only note what to do.
		if len(args) == 0 {
			return nil
		}
		d := args[0].Get("data")
		if d.Type() != js.TypeObject {
			return nil
		}
		kv := d.Get("kind")
		if kv.Type() != js.TypeString {
			return nil
		}
		kind := kv.String()
		var st js.Value // the leader's state, read outside mu
		if kind == msgChanged {
			st = d.Get("state")
		}
		// mu only for leader and leaderState: emitJS below calls the
		// subscribers, which must not run under it.
		a.mu.Lock()
		leader := a.leader
		if kind == msgChanged && !leader && st.Type() == js.TypeObject {
			a.leaderState = st
		}
		a.mu.Unlock()
		switch kind {
		case msgRejected:
			if ev := d.Get("event"); !leader && ev.Type() == js.TypeObject && ev.Get("type").String() == msgRejected {
				a.emitJS(ev)
			}
		case msgHello:
			if leader {
				kick(a.changedKick)
			}
		case msgOutbox:
			if leader {
				kick(a.reloadKick)
			}
		case msgChanged:
			if !leader {
				kick(a.reloadKick)
			}
		case msgSession:
			kick(a.reloadKick)
		}
		return nil
	})
	bc.Set("onmessage", f)
	a.mu.Lock()
	a.bc, a.bcFunc = bc, f
	leader := a.leader
	a.mu.Unlock()
	if !leader {
		a.post(msgHello, nil)
	}
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// post sends a message to the other tabs (never to this one).
func (a *app) post(kind string, extra map[string]any) {
	a.mu.Lock()
	bc := a.bc
	a.mu.Unlock()
	if !bc.Truthy() {
		return
	}
	m := map[string]any{"kind": kind}
	for k, v := range extra {
		m[k] = v
	}
	// A lost message costs the other tabs a reload at worst (see above),
	// but say why it was lost.
	v, err := toJS(m)
	if err != nil {
		consoleLogger{}.Printf("plansync: converting a %q message for the other tabs: %v", kind, err)
		return
	}
	if _, err := protect(func() (any, error) { bc.Call("postMessage", v); return nil, nil }); err != nil {
		consoleLogger{}.Printf("plansync: telling the other tabs %q: %v", kind, err)
	}
}

// reloadLoop brings this tab up to date with IndexedDB when another tab
// says so, one reload at a time and, like changedLoop, at most every
// changedEvery; kicks that arrive meanwhile coalesce. The throttle holds
// whatever the other tabs send: each reload reads the outbox again, and
// "outbox" messages from several followers are not coalesced.
func (a *app) reloadLoop() {
	for range a.reloadKick {
		a.syncFromStore()
		time.Sleep(changedEvery)
	}
}

// changedLoop tells followers the leader's copy changed, at most every
// changedEvery.
func (a *app) changedLoop() {
	for range a.changedKick {
		a.mu.Lock()
		leader := a.leader
		a.mu.Unlock()
		if leader {
			a.post(msgChanged, map[string]any{"state": a.state()})
		}
		time.Sleep(changedEvery)
	}
}

// syncFromStore reloads the engine from IndexedDB, and follows a sign in
// or out made in another tab.
func (a *app) syncFromStore() {
	a.life.Lock()
	defer a.life.Unlock()
	a.mu.Lock()
	st, eng, tok := a.store, a.eng, a.token
	a.mu.Unlock()
	if st == nil {
		return
	}
	ctx, cancel := withTimeout()
	defer cancel()
	stored, err := st.Value(ctx, tokenKey)
	if err != nil {
		consoleLogger{}.Printf("plansync: reading the session: %v", err)
		return
	}
	if stored != tok {
		// Another tab signed in or out: follow it. Read the whole session
		// before stopping anything, so that a failed read leaves this tab
		// as it was until the next reload.
		stored, user, err := loadSession(ctx, st)
		if err != nil {
			consoleLogger{}.Printf("plansync: reading the session: %v", err)
			return
		}
		a.stopEngine()
		a.mu.Lock()
		a.token = stored
		a.setUserLocked(user)
		a.meSpaces = nil
		a.mu.Unlock()
		if stored != "" {
			if err := a.startEngine(ctx); err != nil {
				consoleLogger{}.Printf("plansync: starting: %v", err)
			}
		}
		a.emitState()
		return
	}
	if eng == nil {
		return
	}
	switch err := eng.Reload(ctx); {
	case errors.Is(err, client.ErrStoreReset):
		// Emptied under us (another tab's sign out, or evicted): start
		// over on what is there.
		a.stopEngine()
		if tok != "" {
			if err := a.startEngine(ctx); err != nil {
				consoleLogger{}.Printf("plansync: restarting: %v", err)
			}
		}
		a.emitState()
	case err != nil:
		consoleLogger{}.Printf("plansync: reloading from IndexedDB: %v", err)
	}
}

// setLeader makes this tab the one that syncs (true) or a follower
// (false). The page calls it from its Web Lock (see API.md).
func (a *app) setLeader(leader bool) {
	a.mu.Lock()
	was := a.leader
	a.leader = leader
	online := a.online && leader
	eng := a.eng
	a.mu.Unlock()
	if eng != nil {
		eng.SetOnline(online)
	}
	if leader && !was && a.reloadKick != nil {
		// Pick up what was saved while another tab led.
		kick(a.reloadKick)
	}
	if !leader && was {
		a.post(msgHello, nil) // ask the leader for its state
	}
	a.emitState()
}

// edited tells the leader about a follower's edit, which is in
// IndexedDB already.
func (a *app) edited() {
	a.mu.Lock()
	leader := a.leader
	a.mu.Unlock()
	if !leader {
		a.post(msgOutbox, nil)
	}
}

// rejected passes a "rejected" event to the followers (not coalesced:
// each names a different edit).
func (a *app) rejected(ev map[string]any) {
	a.mu.Lock()
	leader := a.leader
	a.mu.Unlock()
	if leader {
		a.post(msgRejected, map[string]any{"event": ev})
	}
}

// engineChanged is called for every engine event: the leader tells the
// followers (coalesced).
func (a *app) engineChanged() {
	a.mu.Lock()
	leader, c := a.leader, a.changedKick
	a.mu.Unlock()
	if leader && c != nil {
		kick(c)
	}
}

// reload is the API's reload(): re-read IndexedDB now.
func (a *app) reload() (any, error) {
	if err := a.requireOpen(); err != nil {
		return nil, err
	}
	a.syncFromStore()
	return a.state(), nil
}

// jsString is v as a string, "" when it is not one.
func jsString(v js.Value) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}
