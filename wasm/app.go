//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"

	"sync"
	"syscall/js"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/idbstore"
	"github.com/plansync/plansync/client/jsws"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Limits and names.
const (
	// callTimeout bounds one API call: a fetch, a store write.
	callTimeout = 30 * time.Second
	// eventBuffer is how many engine events wait for the UI's callbacks;
	// past it events are dropped (the engine never waits for the UI), which
	// is why API.md tells subscribers to re-read on any event.
	eventBuffer = 256
	// maxSubscribers bounds subscribe(): more than this is a UI leaking
	// subscriptions.
	maxSubscribers = 64
	// statusSignedOut is the state's status when no one is signed in.
	statusSignedOut = "signedOut"
	// tokenKey and userKey name the app values kept in IndexedDB
	// (idbstore.SetValue): never localStorage, which every script of the
	// origin reads synchronously, and never a URL.
	tokenKey = "token"
	userKey  = "user"
)

// app is the state behind globalThis.plansync.
//
// life serializes what starts or stops the engine (open, signIn, join,
// signOut, recovering a lost database); mu guards the fields, and is never
// held while calling JavaScript callbacks or waiting.
type app struct {
	life sync.Mutex

	mu       sync.Mutex
	opened   bool
	apiBase  string
	syncURL  string
	dbName   string
	store    *idbstore.Store
	eng      *client.Engine
	token    string
	user     js.Value // {id, name, login} as the server sent it
	userID   uuid.UUID
	meSpaces []any // from GET /api/me, until the first Welcome
	online   bool
	subs     map[int]js.Value
	nextSub  int
	fwdDone  chan struct{} // closed when the event forwarder ends
	winFuncs []js.Func     // online/offline listeners, for the page's lifetime

	// Several tabs (tabs.go): leader says this tab syncs; leaderState is
	// the last sync state a leader broadcast, shown by a follower.
	leader      bool
	leaderState js.Value
	bc          js.Value // the tabs' BroadcastChannel, or undefined
	bcFunc      js.Func
	reloadKick  chan struct{} // capacity 1: reload from IndexedDB
	changedKick chan struct{} // capacity 1: tell the followers
}

func newApp() *app {
	return &app{subs: map[int]js.Value{}, online: true, user: js.Null(), leader: true, leaderState: js.Undefined(), bc: js.Undefined()}
}

// navigatorOnline reads navigator.onLine; true where there is no navigator
// (Node in tests).
func navigatorOnline() bool {
	nav := js.Global().Get("navigator")
	if !nav.Truthy() || nav.Get("onLine").Type() != js.TypeBoolean {
		return true
	}
	return nav.Get("onLine").Bool()
}

// open opens the local database and, when a session token is stored,
// starts syncing. A second call returns the state.
func (a *app) open(syncURL, apiURL, dbName string) (any, error) {
	a.life.Lock()
	defer a.life.Unlock()
	if a.isOpen() {
		return a.state(), nil
	}
	base := apiURL
	if base == "" {
		var err error
		if base, err = apiBaseFor(syncURL); err != nil {
			return nil, err
		}
	} else if _, err := apiBaseFor(syncURL); err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout()
	defer cancel()
	a.mu.Lock()
	a.apiBase, a.syncURL, a.dbName = base, syncURL, dbName
	a.online = navigatorOnline()
	a.mu.Unlock()
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	a.listenOnline()
	a.openChannel()
	a.mu.Lock()
	a.opened = true
	a.mu.Unlock()
	if a.token != "" {
		if err := a.startEngine(ctx); err != nil {
			return nil, err
		}
	}
	return a.state(), nil
}

func (a *app) isOpen() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.opened
}

// openStore opens IndexedDB and reads the session kept there. Caller
// holds life.
func (a *app) openStore(ctx context.Context) error {
	st, err := idbstore.Open(ctx, idbstore.Options{Name: a.dbName, OnLost: func() {
		// On the event loop: hand off.
		go a.recoverLost()
	}})
	if err != nil {
		return err
	}
	tok, user, err := loadSession(ctx, st)
	if err != nil {
		_ = st.Close()
		return err
	}
	a.mu.Lock()
	a.store, a.token = st, tok
	a.setUserLocked(user)
	a.mu.Unlock()
	return nil
}

// loadSession reads the session saveSession kept in st: the token ("" when
// signed out) and the user (null when none, or when its JSON does not
// parse: the token alone still syncs, and the next sign in rewrites it).
// openStore and syncFromStore (tabs.go) share it so that both read the
// same keys the same way.
func loadSession(ctx context.Context, st *idbstore.Store) (token string, user js.Value, err error) {
	user = js.Null()
	if token, err = st.Value(ctx, tokenKey); err != nil {
		return "", user, err
	}
	userText, err := st.Value(ctx, userKey)
	if err != nil {
		return "", user, err
	}
	if userText != "" {
		if u, err := jsonParse(userText); err == nil {
			user = u
		}
	}
	return token, user, nil
}

// setUserLocked remembers the signed-in user. Caller holds mu.
func (a *app) setUserLocked(u js.Value) {
	a.user, a.userID = u, uuid.Nil
	if u.Type() == js.TypeObject && u.Get("id").Type() == js.TypeString {
		a.userID, _ = uuid.Parse(u.Get("id").String())
	}
}

// listenOnline follows the browser's online and offline events, which
// pause and resume syncing (Engine.SetOnline) so that a phone without
// signal does not keep dialing.
func (a *app) listenOnline() {
	g := js.Global()
	if g.Get("addEventListener").Type() != js.TypeFunction || len(a.winFuncs) > 0 {
		return
	}
	for _, ev := range []string{"online", "offline"} {
		online := ev == "online"
		f := js.FuncOf(func(js.Value, []js.Value) any {
			a.mu.Lock()
			a.online = online
			eng, leader := a.eng, a.leader
			a.mu.Unlock()
			if eng != nil {
				eng.SetOnline(online && leader) // never blocks
			}
			return nil
		})
		a.winFuncs = append(a.winFuncs, f)
		g.Call("addEventListener", ev, f)
	}
}

// startEngine loads the store into a new engine and starts syncing and
// forwarding its events. Caller holds life.
func (a *app) startEngine(ctx context.Context) error {
	a.mu.Lock()
	eng := client.New(client.Options{
		Store:     a.store,
		Transport: &jsws.Transport{URL: a.syncURL},
		Token:     a.token,
		Logger:    consoleLogger{},
		Offline:   !a.online || !a.leader,
		// Prose fields, from shared/plan (prose.go): the server refuses a
		// base text on anything else.
		MergesText: mergesText,
	})
	a.mu.Unlock()
	if err := eng.Open(ctx); err != nil {
		return err
	}
	ch, _ := eng.Subscribe(eventBuffer)
	done := make(chan struct{})
	a.mu.Lock()
	a.eng, a.fwdDone = eng, done
	a.mu.Unlock()
	// Owned by the engine: its channel closes when the engine closes, and
	// stopEngine waits for done.
	go func() {
		defer close(done)
		for ev := range ch {
			if _, ok := ev.(client.StateChanged); ok {
				a.emitState() // a follower shows the leader's
			} else {
				if _, ok := ev.(client.AccessChanged); ok {
					// A Welcome changed the spaces: the list read at sign
					// in no longer holds, even when none are left.
					a.mu.Lock()
					a.meSpaces = nil
					a.mu.Unlock()
				}
				m := eventJS(ev, true)
				a.emit(m)
				if _, ok := ev.(client.Rejected); ok {
					a.rejected(m)
				}
			}
			a.engineChanged()
		}
	}()
	return nil
}

// stopEngine closes the engine and waits for its forwarder. Caller holds
// life.
func (a *app) stopEngine() {
	a.mu.Lock()
	eng, done := a.eng, a.fwdDone
	a.eng, a.fwdDone = nil, nil
	a.mu.Unlock()
	if eng == nil {
		return
	}
	if err := eng.Close(); err != nil {
		consoleLogger{}.Printf("plansync: closing the engine: %v", err)
	}
	<-done
}

// recoverLost reopens a database the browser took away and starts over:
// the new database is empty, so the engine takes a new device id and
// syncs everything again. The session survives when this page still holds
// it; edits in the lost outbox are gone with it.
func (a *app) recoverLost() {
	a.life.Lock()
	defer a.life.Unlock()
	a.mu.Lock()
	st := a.store
	a.mu.Unlock()
	if st == nil || !st.Lost() {
		return
	}
	consoleLogger{}.Printf("plansync: the browser deleted the local database; starting over")
	a.stopEngine()
	_ = st.Close()
	ctx, cancel := withTimeout()
	defer cancel()
	a.mu.Lock()
	tok, user := a.token, a.user
	a.mu.Unlock()
	if err := a.openStore(ctx); err != nil {
		consoleLogger{}.Printf("plansync: reopening the database: %v", err)
		return
	}
	if tok != "" {
		if err := a.saveSession(ctx, tok, user); err != nil {
			consoleLogger{}.Printf("plansync: saving the session: %v", err)
			return
		}
		if err := a.startEngine(ctx); err != nil {
			consoleLogger{}.Printf("plansync: restarting: %v", err)
		}
	}
	a.emitState()
}

// saveSession keeps the token and user in IndexedDB and in memory.
func (a *app) saveSession(ctx context.Context, token string, user js.Value) error {
	userText := ""
	if user.Type() == js.TypeObject {
		userText = jsJSON.Call("stringify", user).String()
	}
	a.mu.Lock()
	st := a.store
	a.mu.Unlock()
	if err := st.SetValue(ctx, tokenKey, token); err != nil {
		return err
	}
	if err := st.SetValue(ctx, userKey, userText); err != nil {
		return err
	}
	a.mu.Lock()
	a.token = token
	a.setUserLocked(user)
	a.mu.Unlock()
	return nil
}

func (a *app) requireOpen() error {
	if !a.isOpen() {
		return errorf(CodeNotOpen, "The app is not ready yet (call open() first).")
	}
	return nil
}

// signIn signs in with a login and password, keeps the session and starts
// syncing.
func (a *app) signIn(login, password, device string) (any, error) {
	if err := a.requireOpen(); err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout()
	defer cancel()
	res, err := a.request(ctx, "POST", "/api/login", map[string]any{"login": login, "password": password, "device": device}, "")
	if err != nil {
		return nil, err
	}
	return a.startSession(ctx, res.Get("token").String(), res.Get("user"))
}

// join claims an invite code: as a new family member, or, when someone is
// signed in, adding the space to their account.
func (a *app) join(code, name, passphrase, device string) (any, error) {
	if err := a.requireOpen(); err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout()
	defer cancel()
	body := map[string]any{"code": code, "name": name, "device": device}
	if passphrase != "" {
		body["passphrase"] = passphrase
	}
	a.mu.Lock()
	cur := a.token
	a.mu.Unlock()
	res, err := a.request(ctx, "POST", "/api/invites/claim", body, cur)
	if err != nil {
		return nil, err
	}
	tok := cur
	if t := res.Get("token"); t.Type() == js.TypeString && t.String() != "" {
		tok = t.String()
	}
	return a.startSession(ctx, tok, res.Get("user"))
}

// useSession takes over a session the page started itself over HTTP
// (web/app/auth.js signs in and claims invites before this client has
// loaded on a slow link): it keeps the token and starts syncing, as after
// signIn.
func (a *app) useSession(token string) (any, error) {
	if err := a.requireOpen(); err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout()
	defer cancel()
	return a.startSession(ctx, token, js.Null())
}

// startSession reads the user's spaces, keeps the session and (re)starts
// syncing; it answers {user, spaces}.
func (a *app) startSession(ctx context.Context, token string, user js.Value) (any, error) {
	if token == "" {
		return nil, errorf(protocol.CodeInternal, "The server did not start a session.")
	}
	me, err := a.request(ctx, "GET", "/api/me", nil, token)
	if err != nil {
		return nil, err
	}
	spaces := []any{}
	if arr := me.Get("spaces"); arr.Type() == js.TypeObject {
		for i := range arr.Length() {
			s := arr.Index(i)
			spaces = append(spaces, map[string]any{"id": s.Get("id").String(), "name": s.Get("name").String(),
				"kind": s.Get("kind").String(), "role": s.Get("role").String()})
		}
	}
	if u := me.Get("user"); u.Type() == js.TypeObject {
		user = u
	}

	a.life.Lock()
	defer a.life.Unlock()
	if err := a.saveSession(ctx, token, user); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.meSpaces = spaces
	eng := a.eng
	a.mu.Unlock()
	if eng != nil {
		eng.SetToken(token)
	} else if err := a.startEngine(ctx); err != nil {
		return nil, err
	}
	a.emitState()
	a.post(msgSession, nil)
	return map[string]any{"user": user, "spaces": spaces}, nil
}

// signOut ends the session on the server (when reachable) and erases
// this device's copy, unsynced edits included: the UI warns first when
// state().pending is not zero.
func (a *app) signOut() (any, error) {
	if err := a.requireOpen(); err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout()
	defer cancel()
	a.life.Lock()
	defer a.life.Unlock()
	a.mu.Lock()
	tok := a.token
	a.mu.Unlock()
	revoked := false
	if tok != "" {
		_, err := a.request(ctx, "POST", "/api/logout", nil, tok)
		var ae *apiError
		// Unauthorized: the session had ended already.
		revoked = err == nil || (errors.As(err, &ae) && ae.Code == protocol.CodeUnauthorized)
	}
	a.stopEngine()
	a.mu.Lock()
	st := a.store
	a.meSpaces = nil
	a.mu.Unlock()
	if err := st.Reset(ctx); err != nil {
		return nil, err
	}
	if err := a.saveSession(ctx, "", js.Null()); err != nil {
		return nil, err
	}
	a.emitState()
	a.post(msgSession, nil)
	return map[string]any{"revoked": revoked}, nil
}

// engine returns the running engine, or nil when no one is signed in.
func (a *app) engine() (*client.Engine, error) {
	if err := a.requireOpen(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.eng, nil
}

func (a *app) names() map[uuid.UUID]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.userID == uuid.Nil {
		return nil
	}
	return map[uuid.UUID]string{a.userID: a.user.Get("name").String()}
}

func (a *app) spaces() (any, error) {
	eng, err := a.engine()
	if err != nil || eng == nil {
		return []any{}, err
	}
	if sp := eng.Spaces(); len(sp) > 0 {
		return spacesJS(sp), nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.meSpaces != nil {
		return a.meSpaces, nil
	}
	return []any{}, nil
}

func parseKey(space, collection, id string) (record.Key, error) {
	sp, err := uuid.Parse(space)
	if err != nil {
		return record.Key{}, errorf(protocol.CodeBadRequest, "space is not a valid id.")
	}
	if !record.ValidName(collection) {
		return record.Key{}, errorf(protocol.CodeBadRequest, fmt.Sprintf("%q is not a collection name.", collection))
	}
	k := record.Key{Space: sp, Collection: collection}
	if id != "" {
		if k.ID, err = uuid.Parse(id); err != nil {
			return record.Key{}, errorf(protocol.CodeBadRequest, "id is not a valid id.")
		}
	}
	return k, nil
}

func (a *app) list(space, collection string) (any, error) {
	k, err := parseKey(space, collection, "")
	if err != nil {
		return nil, err
	}
	eng, err := a.engine()
	if err != nil || eng == nil {
		return []any{}, err
	}
	names := a.names()
	recs := eng.List(k.Space, k.Collection)
	out := make([]any, len(recs))
	for i, r := range recs {
		out[i] = recordJS(r, names)
	}
	return out, nil
}

func (a *app) get(space, collection, id string) (any, error) {
	k, err := parseKey(space, collection, id)
	if err != nil {
		return nil, err
	}
	eng, err := a.engine()
	if err != nil || eng == nil {
		return nil, err
	}
	r := eng.Get(k)
	if r == nil {
		return nil, nil
	}
	return recordJS(r, a.names()), nil
}

// signedInEngine is engine() for edits: someone must be signed in.
func (a *app) signedInEngine() (*client.Engine, error) {
	eng, err := a.engine()
	if err == nil && eng == nil {
		err = errorf(CodeSignedOut, "Sign in first.")
	}
	return eng, err
}

// editErr classifies an edit's error: what is not the store's or the
// engine's is the op failing validation.
func editErr(err error) error {
	if err == nil {
		return nil
	}
	if ae := classify(err); ae.Code != protocol.CodeInternal {
		return ae
	}
	return errorf(protocol.CodeInvalid, err.Error())
}

// edit runs one edit (put, remove, resolve) on the record space,
// collection, id: it checks the key and that someone is signed in, bounds
// the call with callTimeout, classifies the error (editErr) and, once the
// edit is in IndexedDB, tells the leader (edited). id may be "" only for
// put's create.
func (a *app) edit(space, collection, id string, do func(context.Context, *client.Engine, record.Key) (any, error)) (any, error) {
	k, err := parseKey(space, collection, id)
	if err != nil {
		return nil, err
	}
	eng, err := a.signedInEngine()
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout()
	defer cancel()
	res, err := do(ctx, eng, k)
	if err != nil {
		return nil, editErr(err)
	}
	a.edited()
	return res, nil
}

// put writes fields and resolves once the edit is durable in IndexedDB.
// Without an id it creates the record; either way it answers the id.
func (a *app) put(space, collection, id string, fields map[string]any) (any, error) {
	return a.edit(space, collection, id, func(ctx context.Context, eng *client.Engine, k record.Key) (any, error) {
		if id == "" {
			nid, err := eng.Create(ctx, k.Space, k.Collection, fields)
			if err != nil {
				return nil, err
			}
			return nid.String(), nil
		}
		return k.ID.String(), eng.Put(ctx, k.Space, k.Collection, k.ID, fields)
	})
}

func (a *app) remove(space, collection, id string) (any, error) {
	return a.edit(space, collection, id, func(ctx context.Context, eng *client.Engine, k record.Key) (any, error) {
		return nil, eng.Delete(ctx, k)
	})
}

func (a *app) resolve(space, collection, id, field string, value any) (any, error) {
	return a.edit(space, collection, id, func(ctx context.Context, eng *client.Engine, k record.Key) (any, error) {
		return nil, eng.Resolve(ctx, k, field, value)
	})
}

// history fetches a record's history from the server (it is not kept on
// the device).
func (a *app) history(space, collection, id string) (any, error) {
	k, err := parseKey(space, collection, id)
	if err != nil {
		return nil, err
	}
	if err := a.requireOpen(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	tok := a.token
	a.mu.Unlock()
	if tok == "" {
		return nil, errorf(CodeSignedOut, "Sign in first.")
	}
	ctx, cancel := withTimeout()
	defer cancel()
	return a.request(ctx, "GET", "/api/spaces/"+k.Space.String()+"/records/"+k.Collection+"/"+k.ID.String()+"/history", nil, tok)
}

// state is the sync state for the UI.
func (a *app) state() map[string]any {
	a.mu.Lock()
	eng, signedIn, leader, ls, user := a.eng, a.token != "", a.leader, a.leaderState, a.user
	a.mu.Unlock()
	if !signedIn || user.IsUndefined() {
		user = js.Null()
	}
	if eng == nil {
		// No engine: not signed in, whatever a half-read session says.
		m := stateJS(client.SyncState{Status: client.StatusOffline}, false)
		m["leader"], m["user"] = leader, js.Null()
		return m
	}
	st := eng.State()
	if !leader && ls.Type() == js.TypeObject && ls.Get("status").Type() == js.TypeString {
		// A follower is offline by design: say what the leader says,
		// with this tab's count of waiting edits (the shared outbox as
		// last reloaded).
		st.Status = client.Status(ls.Get("status").String())
		if st.Status == client.StatusSynced && st.Pending > 0 {
			st.Status = client.StatusSyncing
		}
		st.LastError = jsString(ls.Get("lastError"))
		st.Reason = protocol.Code(jsString(ls.Get("reason")))
	}
	m := stateJS(st, signedIn)
	m["leader"], m["user"] = leader, user
	return m
}

func (a *app) emitState() {
	a.emit(map[string]any{"type": "state", "state": a.state()})
}

// subscribe adds a callback for events; it returns the id to unsubscribe.
func (a *app) subscribe(cb js.Value) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.subs) >= maxSubscribers {
		return 0, errorf(protocol.CodeTooLarge, fmt.Sprintf("More than %d subscriptions: unsubscribe the old ones.", maxSubscribers))
	}
	a.nextSub++
	a.subs[a.nextSub] = cb
	return a.nextSub, nil
}

func (a *app) unsubscribe(id int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.subs, id)
}

// emit calls every subscriber with ev. A callback that throws is logged
// and does not stop the others.
func (a *app) emit(ev map[string]any) {
	if ev == nil {
		return
	}
	a.mu.Lock()
	n := len(a.subs)
	a.mu.Unlock()
	if n == 0 {
		return
	}
	jv, err := toJS(ev)
	if err != nil {
		// A bug in the event's Go form; the subscribers re-read on the
		// next event.
		consoleLogger{}.Printf("plansync: converting a %v event: %v", ev["type"], err)
		return
	}
	a.emitJS(jv)
}

// emitJS calls every subscriber with an event already in JS form.
func (a *app) emitJS(jv js.Value) {
	a.mu.Lock()
	cbs := make([]js.Value, 0, len(a.subs))
	for _, cb := range a.subs {
		cbs = append(cbs, cb)
	}
	a.mu.Unlock()
	for _, cb := range cbs {
		if _, err := protect(func() (any, error) { cb.Invoke(jv); return nil, nil }); err != nil {
			consoleLogger{}.Printf("plansync: a subscriber threw: %v", err)
		}
	}
}

// consoleLogger writes to the browser console synchronously. (Go's
// os.Stderr under Node is asynchronous, and blocking inside an event
// handler stalls the page; see client/idbstore's tests.)
type consoleLogger struct{}

func (consoleLogger) Printf(format string, v ...any) {
	js.Global().Get("console").Call("log", fmt.Sprintf(format, v...))
}

// Write lets the log package use the console.
func (consoleLogger) Write(p []byte) (int, error) {
	js.Global().Get("console").Call("log", string(p))
	return len(p), nil
}
