// Package e2e runs client engines against the real server (badger in a
// temp dir, 127.0.0.1, real WebSockets) for what only the real server can
// say: that the engine recovers by itself from a clock far ahead, a reused
// clock, a device id another session holds, a device limit, and a server
// restored from a backup, with every typed edit applied in the end.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

const waitLimit = 20 * time.Second

var ctx = context.Background()

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// world is a real server with one general space and its members.
type world struct {
	t      *testing.T
	dir    string
	data   string // the server's badger folder
	addr   string
	hub    hub.Options
	app    *app.App
	space  uuid.UUID
	users  []uuid.UUID
	toks   []string
	stores int
}

func newWorld(t *testing.T, members int, ho hub.Options) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), addr: "127.0.0.1:0", hub: ho}
	w.data = filepath.Join(w.dir, "server")
	w.start()
	sp, err := app.AddSpace(ctx, w.app.Store, "plan", server.KindGeneral)
	if err != nil {
		t.Fatal(err)
	}
	w.space = sp.ID
	for i := 0; i < members; i++ {
		u, err := app.AddUser(ctx, w.app.Store, fmt.Sprintf("user%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := app.AddMember(ctx, w.app.Store, sp.ID, u.ID, server.RoleTeacher); err != nil {
			t.Fatal(err)
		}
		w.users = append(w.users, u.ID)
		w.toks = append(w.toks, w.session(i))
	}
	t.Cleanup(w.stop)
	return w
}

// session signs member i in once more (another browser, another session).
func (w *world) session(i int) string {
	tok, err := app.AddSession(ctx, w.app.Store, w.users[i], "test")
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// start serves w.data on w.addr (the same port after the first start, so
// engines reconnect to it).
func (w *world) start() {
	a, err := app.Open(ctx, app.Config{Addr: w.addr, DataDir: w.data, Logger: quiet(), Hub: w.hub})
	if err != nil {
		w.t.Fatal(err)
	}
	w.app, w.addr = a, a.Addr()
}

func (w *world) stop() {
	if w.app == nil {
		return
	}
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.app.Close(c); err != nil {
		w.t.Errorf("server close: %v", err)
	}
	w.app = nil
}

// countingTransport counts dials, to prove an engine stopped dialing.
type countingTransport struct {
	client.Transport
	dials atomic.Int64
}

func (c *countingTransport) Dial(ctx context.Context) (client.Conn, error) {
	c.dials.Add(1)
	return c.Transport.Dial(ctx)
}

type engineOpts struct {
	store   client.Store // nil: a new disk store
	token   string
	offline bool
	now     func() time.Time
}

// engine opens an engine; its transport counts dials.
func (w *world) engine(o engineOpts) (*client.Engine, *countingTransport) {
	w.t.Helper()
	st := o.store
	if st == nil {
		w.stores++
		ds, err := diskstore.Open(filepath.Join(w.dir, fmt.Sprintf("client%d", w.stores)))
		if err != nil {
			w.t.Fatal(err)
		}
		st = ds
		w.t.Cleanup(func() { _ = ds.Close() })
	}
	tr := &countingTransport{Transport: &wsdial.Transport{URL: "ws://" + w.addr + "/sync"}}
	opts := client.Options{
		Store: st, Transport: tr, Token: o.token, Offline: o.offline, Now: o.now,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	}
	if testing.Verbose() {
		opts.Logger = log.New(os.Stderr, fmt.Sprintf("engine%d ", w.stores), log.Lmicroseconds)
	}
	e := client.New(opts)
	if err := e.Open(ctx); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = e.Close() })
	return e, tr
}

func waitSynced(t *testing.T, es ...*client.Engine) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	for i, e := range es {
		if err := e.WaitSynced(c); err != nil {
			t.Fatalf("engine %d not synced: %v (state %+v)", i, err, e.State())
		}
	}
}

// edits is what a test typed: record id → field → value.
type edits map[uuid.UUID]map[string]any

func (ed edits) put(t *testing.T, e *client.Engine, space, id uuid.UUID, fields map[string]any) {
	t.Helper()
	if err := e.Put(ctx, space, "goals", id, fields); err != nil {
		t.Fatal(err)
	}
	if ed[id] == nil {
		ed[id] = map[string]any{}
	}
	for k, v := range fields {
		ed[id][k] = v
	}
}

func (ed edits) create(t *testing.T, e *client.Engine, space uuid.UUID, fields map[string]any) uuid.UUID {
	t.Helper()
	id, err := e.Create(ctx, space, "goals", fields)
	if err != nil {
		t.Fatal(err)
	}
	ed[id] = map[string]any{}
	for k, v := range fields {
		ed[id][k] = v
	}
	return id
}

// check says every edit is what e reads, with no conflict and a clock the
// server would take.
func (ed edits) check(t *testing.T, who string, e *client.Engine, space uuid.UUID) {
	t.Helper()
	limit := hlc.New(time.Now().Add(hlc.MaxDrift).UnixMilli(), 0)
	for id, fields := range ed {
		r := e.Get(record.Key{Space: space, Collection: "goals", ID: id})
		if r == nil {
			t.Errorf("%s: record %s missing", who, id)
			continue
		}
		for name, want := range fields {
			f := r.Fields[name]
			if f == nil || f.Value != want {
				t.Errorf("%s: %s.%s = %v, want %v", who, id, name, f, want)
				continue
			}
			if len(f.Conflicts) > 0 {
				t.Errorf("%s: %s.%s has conflicts %+v", who, id, name, f.Conflicts)
			}
			if f.HLC > limit {
				t.Errorf("%s: %s.%s stamped %v, past the drift limit", who, id, name, f.HLC)
			}
		}
	}
}

// fresh opens a new device for member i, syncs it and checks it reads ed,
// and that every engine in same holds exactly its copy of those records
// (the same versions, devices and authors: a copy derived from a device's
// own op must not differ from the server's record).
func (w *world) fresh(t *testing.T, i int, ed edits, same ...*client.Engine) {
	t.Helper()
	e, _ := w.engine(engineOpts{token: w.toks[i]})
	waitSynced(t, e)
	ed.check(t, "fresh device", e, w.space)
	for n, o := range same {
		for id := range ed {
			k := record.Key{Space: w.space, Collection: "goals", ID: id}
			if got, want := o.Get(k), e.Get(k); got == nil || !reflect.DeepEqual(got.Fields, want.Fields) {
				t.Errorf("engine %d's copy of %s differs from the server's:\n got %+v\nwant %+v", n, id, got, want)
			}
		}
	}
}

func noRejections(t *testing.T, es ...*client.Engine) {
	t.Helper()
	for i, e := range es {
		if rs := e.Rejections(); len(rs) > 0 {
			t.Errorf("engine %d: refused %+v", i, rs)
		}
		if p := e.Pending(); len(p) > 0 {
			t.Errorf("engine %d: %d edits still pending", i, len(p))
		}
	}
}

// shiftedClock is a device clock off by an offset the test can change.
type shiftedClock struct{ off atomic.Int64 }

func (c *shiftedClock) now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

const twoHundredYears = 200 * 365 * 24 * time.Hour

// TestClockFarAheadOfflineEditsApply: a device whose clock is 200 years
// ahead edits offline, one edit on top of another; when it connects, its
// edits are restamped from the server's time and applied, and a fresh
// device reads them.
func TestClockFarAheadOfflineEditsApply(t *testing.T) {
	w := newWorld(t, 2, hub.Options{})
	var clk shiftedClock
	clk.off.Store(int64(twoHundredYears))
	st := memstore.New()
	e, _ := w.engine(engineOpts{store: st, token: w.toks[0], offline: true, now: clk.now})
	ed := edits{}
	id := ed.create(t, e, w.space, map[string]any{"title": "Read nightly", "status": "open"})
	ed.put(t, e, w.space, id, map[string]any{"status": "met"}) // base: the create's far-future clock
	for i := 0; i < 5; i++ {
		ed.create(t, e, w.space, map[string]any{"title": fmt.Sprintf("goal %d", i)})
	}
	e.SetOnline(true)
	waitSynced(t, e)
	noRejections(t, e)
	ed.check(t, "the device", e, w.space)
	w.fresh(t, 1, ed, e)

	// A restart later, offline: the skew is remembered, so a new edit is
	// stamped right before the server is heard from.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, _ = w.engine(engineOpts{store: st, token: w.toks[0], offline: true, now: clk.now})
	ed.put(t, e, w.space, id, map[string]any{"title": "Read every night"})
	limit := hlc.New(time.Now().Add(hlc.MaxDrift).UnixMilli(), 0)
	if p := e.Pending(); len(p) != 1 || p[0].Op.HLC > limit {
		t.Fatalf("pending after restart: %+v", p)
	}
	e.SetOnline(true)
	waitSynced(t, e)
	noRejections(t, e)
	ed.check(t, "the device", e, w.space)
	w.fresh(t, 1, ed, e)
}

// TestClockJumpsAheadWhileConnected: the device's clock jumps 200 years
// ahead after the Welcome measured it right, so the server refuses the next
// edits with clock_ahead; the engine restamps them from the refusal's
// server time and they apply.
func TestClockJumpsAheadWhileConnected(t *testing.T) {
	w := newWorld(t, 2, hub.Options{})
	var clk shiftedClock
	e, tr := w.engine(engineOpts{token: w.toks[0], now: clk.now})
	ed := edits{}
	id := ed.create(t, e, w.space, map[string]any{"title": "Count to ten", "status": "open"})
	waitSynced(t, e)
	clk.off.Store(int64(twoHundredYears))
	ed.put(t, e, w.space, id, map[string]any{"status": "met"})
	ed.put(t, e, w.space, id, map[string]any{"title": "Count to twenty"})
	ed.create(t, e, w.space, map[string]any{"title": "Write a letter"})
	waitSynced(t, e)
	noRejections(t, e)
	if n := tr.dials.Load(); n != 1 {
		// One connection: the refusals were answered on it, not by a
		// reconnect whose Welcome corrected the clock.
		t.Fatalf("dialed %d times", n)
	}
	ed.check(t, "the device", e, w.space)
	w.fresh(t, 1, ed, e)
}

// copyStore makes a second memstore holding what src holds: a copied
// browser profile.
func copyStore(t *testing.T, src *memstore.Store) *memstore.Store {
	t.Helper()
	snap, err := src.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dst := memstore.New()
	if snap.Meta != nil {
		if err := dst.SaveMeta(ctx, *snap.Meta); err != nil {
			t.Fatal(err)
		}
	}
	for sp, c := range snap.Cursors {
		var recs []*record.Record
		for _, r := range snap.Records {
			if r.Space == sp {
				recs = append(recs, r)
			}
		}
		if err := dst.ApplyChanges(ctx, sp, c, recs); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range snap.Outbox {
		if _, err := dst.AddPending(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestSharedDeviceIDBothSync: two engines on copies of one profile (so one
// device id) for different users, and for two sessions of one user: the
// second to say hello gets device_taken, takes a new id, moves its offline
// edits to it, and both end with all their edits applied.
func TestSharedDeviceIDBothSync(t *testing.T) {
	for _, sameUser := range []bool{false, true} {
		t.Run(fmt.Sprintf("sameUser=%v", sameUser), func(t *testing.T) {
			w := newWorld(t, 3, hub.Options{})
			orig := memstore.New()
			a0, _ := w.engine(engineOpts{store: orig, token: w.toks[0]})
			waitSynced(t, a0)
			if err := a0.Close(); err != nil {
				t.Fatal(err)
			}
			// Same user: the whole profile is copied, signed in. Another
			// user: only the device id is the same (a profile copied
			// before signing in, or an id someone spoofs).
			copied := copyStore(t, orig.Reopen())
			tokB := w.session(0)
			if !sameUser {
				copied = memstore.New()
				if err := copied.SaveMeta(ctx, client.Meta{Device: a0.Device()}); err != nil {
					t.Fatal(err)
				}
				tokB = w.toks[1]
			}
			a, _ := w.engine(engineOpts{store: orig, token: w.toks[0]})
			b, _ := w.engine(engineOpts{store: copied, token: tokB, offline: true})
			tab, _ := w.engine(engineOpts{store: copied, token: tokB, offline: true}) // a follower tab
			if a.Device() != b.Device() {
				t.Fatal("copied profile has another device id")
			}
			shared := a.Device()
			ed := edits{}
			idA := ed.create(t, a, w.space, map[string]any{"title": "from A", "status": "open"})
			waitSynced(t, a) // A holds the id now
			idB := ed.create(t, b, w.space, map[string]any{"title": "from B", "status": "open"})
			ed.put(t, b, w.space, idB, map[string]any{"status": "met"})
			b.SetOnline(true)
			waitSynced(t, a, b)
			ed.put(t, a, w.space, idA, map[string]any{"status": "met"})
			ed.put(t, b, w.space, idB, map[string]any{"title": "from B, again"})
			waitSynced(t, a, b)
			noRejections(t, a, b)
			if b.Device() == shared || a.Device() != shared {
				t.Fatalf("devices after: a %s b %s, shared %s", a.Device(), b.Device(), shared)
			}
			eventuallyReads(t, a, ed, w.space)
			eventuallyReads(t, b, ed, w.space)
			ed.check(t, "A", a, w.space)
			ed.check(t, "B", b, w.space)
			w.fresh(t, 2, ed, a, b)
			// B's store keeps the new id for its next start.
			snap, err := copied.Load(ctx)
			if err != nil || snap.Meta.Device != b.Device() {
				t.Fatalf("stored device %v (%v), want %s", snap.Meta, err, b.Device())
			}
			// Another tab on B's store follows the new id rather than
			// taking the store for wiped, and its edits go out under it.
			if err := tab.Reload(ctx); err != nil {
				t.Fatalf("the other tab's reload: %v", err)
			}
			if tab.Device() != b.Device() {
				t.Fatalf("other tab on %s, leader on %s", tab.Device(), b.Device())
			}
			ed.put(t, tab, w.space, idB, map[string]any{"status": "met again"})
			if err := b.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			waitSynced(t, b)
			eventuallyReads(t, a, ed, w.space)
			noRejections(t, a, b)
		})
	}
}

// TestCopiedSessionClockReused: a copied profile with its session token
// too, so both copies may write under the one device id, and the copy
// whose clock is behind writes a record after the other did: the server
// refuses the op with clock_reused, the engine restamps past the hint, and
// both edits apply.
func TestCopiedSessionClockReused(t *testing.T) {
	w := newWorld(t, 2, hub.Options{})
	orig := memstore.New()
	a0, _ := w.engine(engineOpts{store: orig, token: w.toks[0]})
	ed := edits{}
	id := ed.create(t, a0, w.space, map[string]any{"title": "Shared goal", "status": "open"})
	waitSynced(t, a0)
	if err := a0.Close(); err != nil {
		t.Fatal(err)
	}
	copied := copyStore(t, orig.Reopen())
	var behind shiftedClock
	behind.off.Store(int64(-time.Hour))
	a, _ := w.engine(engineOpts{store: orig, token: w.toks[0]})
	ed.put(t, a, w.space, id, map[string]any{"status": "met"})
	waitSynced(t, a)
	// The copy's clock is an hour behind, and so below what the record
	// holds from this device (its Meta.LastHLC is from before the copy).
	b, _ := w.engine(engineOpts{store: copied, token: w.toks[0], offline: true, now: behind.now})
	ed.put(t, b, w.space, id, map[string]any{"title": "Shared goal, renamed"})
	b.SetOnline(true)
	waitSynced(t, a, b)
	noRejections(t, a, b)
	eventuallyReads(t, a, ed, w.space)
	eventuallyReads(t, b, ed, w.space)
	ed.check(t, "A", a, w.space)
	ed.check(t, "B", b, w.space)
	w.fresh(t, 1, ed, a, b)
}

func eventuallyReads(t *testing.T, e *client.Engine, ed edits, space uuid.UUID) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ok := true
		for id, fields := range ed {
			r := e.Get(record.Key{Space: space, Collection: "goals", ID: id})
			for name, want := range fields {
				if r == nil || r.Fields[name] == nil || r.Fields[name].Value != want {
					ok = false
				}
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			ed.check(t, "engine", e, space)
			t.Fatal("edits never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDeviceLimitStopsAndKeepsOutbox: past the server's device limit the
// engine stops dialing, says why, and keeps its edits; once the person
// signs out elsewhere and in again (SetToken), they sync.
func TestDeviceLimitStopsAndKeepsOutbox(t *testing.T) {
	w := newWorld(t, 2, hub.Options{MaxDevicesPerUser: 2})
	var others []*client.Engine
	var otherToks []string
	for i := 0; i < 2; i++ {
		tok := w.session(0)
		e, _ := w.engine(engineOpts{token: tok})
		waitSynced(t, e)
		others, otherToks = append(others, e), append(otherToks, tok)
	}
	e, tr := w.engine(engineOpts{token: w.toks[0], offline: true})
	ed := edits{}
	ed.create(t, e, w.space, map[string]any{"title": "Kept while stopped"})
	e.SetOnline(true)
	c, cancel := context.WithTimeout(ctx, waitLimit)
	err := e.WaitSynced(c)
	cancel()
	if st := e.State(); err == nil || st.Status != client.StatusStopped || st.Reason != "device_limit" {
		t.Fatalf("WaitSynced %v, state %+v; want stopped with device_limit", err, st)
	}
	dials := tr.dials.Load()
	time.Sleep(500 * time.Millisecond) // 25 base backoffs: a busy loop would dial again
	if n := tr.dials.Load(); n != dials || n != 1 {
		t.Fatalf("dialed %d times, then %d: want one dial and none after stopping", dials, n)
	}
	if p := e.Pending(); len(p) != 1 {
		t.Fatalf("outbox holds %d edits, want 1", len(p))
	}
	// The person signs out on one of the other devices and in again here.
	if err := w.app.Store.DeleteSession(ctx, server.HashToken(otherToks[0])); err != nil {
		t.Fatal(err)
	}
	_ = others[0].Close()
	e.SetToken(w.session(0))
	waitSynced(t, e)
	noRejections(t, e)
	w.fresh(t, 1, ed, e)
}

// TestRestoreResendsAckedEdits: a backup is taken, two devices make more
// edits and the server acks them, the server is restored from the backup
// and started again: both devices notice the new incarnation, re-read
// their spaces and resend the acked edits the restored server lost, so
// nothing acked is lost and a new device reads every change.
func TestRestoreResendsAckedEdits(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepSessions=%v", keep), func(t *testing.T) { testRestore(t, keep) })
	}
}

func testRestore(t *testing.T, keepSessions bool) {
	w := newWorld(t, 3, hub.Options{})
	a, _ := w.engine(engineOpts{token: w.toks[0]})
	b, _ := w.engine(engineOpts{token: w.toks[1]})
	ed := edits{}
	before := ed.create(t, a, w.space, map[string]any{"title": "Before the backup", "status": "open"})
	ed.create(t, b, w.space, map[string]any{"title": "B before the backup"})
	waitSynced(t, a, b)
	var backup bytes.Buffer
	if err := w.app.Store.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	// Acked after the backup: lost by the restore unless resent.
	ed.put(t, a, w.space, before, map[string]any{"status": "met"})
	for i := 0; i < 20; i++ {
		ed.create(t, a, w.space, map[string]any{"title": fmt.Sprintf("A after %d", i)})
	}
	ed.create(t, b, w.space, map[string]any{"title": "B after the backup"})
	waitSynced(t, a, b)

	w.stop()
	// Typed while the server is down: unsynced, on top of an acked edit
	// the restore loses.
	ed.put(t, a, w.space, before, map[string]any{"title": "Before the backup, renamed"})
	w.data = filepath.Join(w.dir, "restored")
	rep, err := store.Restore(w.data, &backup, store.RestoreOptions{KeepSessions: keepSessions})
	if err != nil {
		t.Fatal(err)
	}
	w.start()
	if !keepSessions {
		// Everyone signs in again.
		for _, e := range []*client.Engine{a, b} {
			c, cancel := context.WithTimeout(ctx, waitLimit)
			err := e.WaitSynced(c)
			cancel()
			if st := e.State(); err == nil || st.Reason != "unauthorized" {
				t.Fatalf("after a restore without sessions: %v, state %+v", err, st)
			}
		}
		for i := range w.toks {
			w.toks[i] = w.session(i)
		}
		a.SetToken(w.toks[0])
		b.SetToken(w.toks[1])
	}
	// After the restore someone else writes too: the devices must get it
	// though their old cursors were past the restored head.
	c, _ := w.engine(engineOpts{token: w.toks[2]})
	waitSynced(t, c)
	ed.create(t, c, w.space, map[string]any{"title": "After the restore"})
	waitSynced(t, c, a, b)
	eventuallyReads(t, a, ed, w.space)
	eventuallyReads(t, b, ed, w.space)
	noRejections(t, a, b, c)
	ed.check(t, "A", a, w.space)
	ed.check(t, "B", b, w.space)
	w.fresh(t, 2, ed, a, b, c)
	if inc, err := w.app.Store.Incarnation(ctx); err != nil || inc != rep.Incarnation {
		t.Fatalf("incarnation %s (%v), restore said %s", inc, err, rep.Incarnation)
	}
}

// TestClockJumpKeepsEditOrder: one field edited fifty times in a row while
// the device clock jumps 200 years ahead partway, with pushes in flight:
// the restamped edits keep their order, so the last value typed is the one
// every device reads, with no conflict.
func TestClockJumpKeepsEditOrder(t *testing.T) {
	w := newWorld(t, 2, hub.Options{})
	var clk shiftedClock
	e, _ := w.engine(engineOpts{token: w.toks[0], now: clk.now})
	ed := edits{}
	id := ed.create(t, e, w.space, map[string]any{"title": "v", "status": "open"})
	waitSynced(t, e)
	for i := 0; i < 50; i++ {
		if i == 10 {
			clk.off.Store(int64(twoHundredYears))
		}
		ed.put(t, e, w.space, id, map[string]any{"title": fmt.Sprintf("v%d", i)})
		if i%7 == 0 {
			time.Sleep(2 * time.Millisecond) // let some pushes and refusals cross
		}
	}
	waitSynced(t, e)
	noRejections(t, e)
	ed.check(t, "the device", e, w.space)
	w.fresh(t, 1, ed, e)
}

// TestOtherTabFollowsClockCorrection: two tabs on one store, the device
// clock 200 years ahead; the leader's Welcome corrects it, and the other
// tab, reloading, stamps its next edit right too.
func TestOtherTabFollowsClockCorrection(t *testing.T) {
	w := newWorld(t, 2, hub.Options{})
	var clk shiftedClock
	clk.off.Store(int64(twoHundredYears))
	st := memstore.New()
	leader, _ := w.engine(engineOpts{store: st, token: w.toks[0], offline: true, now: clk.now})
	tab, _ := w.engine(engineOpts{store: st, token: w.toks[0], offline: true, now: clk.now})
	ed := edits{}
	id := ed.create(t, tab, w.space, map[string]any{"title": "From the other tab", "status": "open"})
	if err := leader.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	leader.SetOnline(true)
	waitSynced(t, leader)
	if err := tab.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	ed.put(t, tab, w.space, id, map[string]any{"status": "met"})
	limit := hlc.New(time.Now().Add(hlc.MaxDrift).UnixMilli(), 0)
	if p := tab.Pending(); len(p) != 1 || p[0].Op.HLC > limit {
		t.Fatalf("the other tab's edit: %+v", p)
	}
	if err := leader.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, leader)
	noRejections(t, leader)
	ed.check(t, "leader", leader, w.space)
	w.fresh(t, 1, ed, leader)
}
