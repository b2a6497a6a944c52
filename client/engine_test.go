package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/internal/fakeserver"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

const waitLimit = 10 * time.Second

// world is a fake server with one space and some users.
type world struct {
	t     *testing.T
	srv   *fakeserver.Server
	space uuid.UUID
	users map[string]uuid.UUID // token → user
}

func newWorld(t *testing.T, tokens ...string) *world {
	t.Helper()
	w := &world{t: t, srv: fakeserver.New(), users: map[string]uuid.UUID{}}
	members := map[uuid.UUID]string{}
	for _, tok := range tokens {
		u := w.srv.AddUser(tok)
		w.users[tok] = u
		members[u] = "teacher"
	}
	w.space = w.srv.AddSpace("Ana", members)
	t.Cleanup(w.srv.Close)
	return w
}

func (w *world) engine(token string, store *memstore.Store, mod ...func(*client.Options)) *client.Engine {
	w.t.Helper()
	opts := client.Options{
		Store: store, Transport: w.srv.Transport(), Token: token,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		Rand: rand.New(rand.NewPCG(1, uint64(len(token)))),
	}
	if testing.Verbose() {
		opts.Logger = log.New(os.Stderr, token+" ", log.Lmicroseconds)
	}
	for _, m := range mod {
		m(&opts)
	}
	e := client.New(opts)
	if err := e.Open(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = e.Close() })
	return e
}

func (w *world) key(id uuid.UUID) record.Key {
	return record.Key{Space: w.space, Collection: "goals", ID: id}
}

func waitSynced(t *testing.T, es ...*client.Engine) {
	t.Helper()
	for _, e := range es {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		err := e.WaitSynced(ctx)
		cancel()
		if err != nil {
			t.Fatalf("WaitSynced: %v (state %+v)", err, e.State())
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var ctx = context.Background()

// events collects a subscription in the background.
type events struct {
	ch <-chan client.Event
}

func subscribe(e *client.Engine) events {
	ch, _ := e.Subscribe(4096)
	return events{ch}
}

// waitFor reads events until one satisfies match.
func (ev events) waitFor(t *testing.T, what string, match func(client.Event) bool) client.Event {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case e, ok := <-ev.ch:
			if !ok {
				t.Fatalf("subscription closed waiting for %s", what)
			}
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no event: %s", what)
		}
	}
}

func TestOfflineEditsAreDurableAndSyncOnReconnect(t *testing.T) {
	w := newWorld(t, "lee")
	w.srv.SetDown(true)
	store := memstore.New()
	e := w.engine("lee", store)
	var ids []uuid.UUID
	for i := range 3 {
		id, err := e.Create(ctx, w.space, "goals", map[string]any{"title": fmt.Sprintf("goal %d", i)})
		must(t, err)
		ids = append(ids, id)
	}
	if st := e.State(); st.Pending != 3 || st.Status == client.StatusSynced {
		t.Fatalf("state %+v", st)
	}
	// Saved on this device: the store holds the outbox before any sync.
	snap, err := store.Load(ctx)
	must(t, err)
	if len(snap.Outbox) != 3 {
		t.Fatalf("store outbox %d, want 3", len(snap.Outbox))
	}

	// Restart the app while still offline: the edits are still there.
	must(t, e.Close())
	e = w.engine("lee", store.Reopen())
	if n := len(e.Pending()); n != 3 {
		t.Fatalf("pending after restart %d", n)
	}
	if got := e.Get(w.key(ids[1])).Value("title"); got != "goal 1" {
		t.Fatalf("view after restart: %v", got)
	}
	if got := len(e.List(w.space, "goals")); got != 3 {
		t.Fatalf("list after restart: %d", got)
	}

	w.srv.SetDown(false)
	e.Kick()
	waitSynced(t, e)
	snap, err = store.Load(ctx)
	must(t, err)
	if len(snap.Outbox) != 0 || e.State().Pending != 0 {
		t.Fatalf("outbox after sync: store %d, state %+v", len(snap.Outbox), e.State())
	}
	recs := w.srv.Records(w.space)
	for i, id := range ids {
		r := recs[w.key(id)]
		if r == nil || r.Value("title") != fmt.Sprintf("goal %d", i) {
			t.Fatalf("server record %d: %+v", i, r)
		}
		if r.Fields["title"].Author != w.users["lee"] || r.Fields["title"].Node != e.Device() {
			t.Fatalf("server stamped author %v node %v", r.Fields["title"].Author, r.Fields["title"].Node)
		}
	}
	if snap.Cursors[w.space] != w.srv.Head(w.space) {
		t.Fatalf("stored cursor %d, head %d", snap.Cursors[w.space], w.srv.Head(w.space))
	}
}

func TestPendingOpsAreRelaidWhenServerStateMoves(t *testing.T) {
	w := newWorld(t, "lee", "ana")
	a, b := w.engine("lee", memstore.New()), w.engine("ana", memstore.New())
	id, err := a.Create(ctx, w.space, "goals", map[string]any{"title": "read"})
	must(t, err)
	k := w.key(id)
	waitSynced(t, a)
	eventually(t, "b sees the record", func() bool { return b.Get(k) != nil })

	a.SetOnline(false)
	eventually(t, "a offline", func() bool { return a.State().Status == client.StatusOffline })
	must(t, a.Put(ctx, w.space, "goals", id, map[string]any{"target": "20 minutes"}))
	must(t, b.Put(ctx, w.space, "goals", id, map[string]any{"status": "started"}))
	waitSynced(t, b)
	if r := a.Get(k); r.Value("target") != "20 minutes" || r.Value("status") != nil {
		t.Fatalf("a before reconnect: %v / %v", r.Value("target"), r.Value("status"))
	}

	release := w.srv.HoldPushes()
	defer release()
	a.SetOnline(true)
	eventually(t, "a receives b's edit", func() bool { return a.Get(k).Value("status") == "started" })
	r := a.Get(k)
	if r.Value("target") != "20 minutes" || len(a.Pending()) != 1 {
		t.Fatalf("pending edit not laid on the new server state: target %v, pending %d", r.Value("target"), len(a.Pending()))
	}
	release()
	waitSynced(t, a)
	eventually(t, "b sees a's edit", func() bool { return b.Get(k).Value("target") == "20 minutes" })
	if r := a.Get(k); r.Value("target") != "20 minutes" || r.Value("status") != "started" || r.HasConflicts() {
		t.Fatalf("a after sync: %+v", r.Fields)
	}
}

func TestConcurrentEditConflictsAndResolve(t *testing.T) {
	w := newWorld(t, "lee", "ana")
	a, b := w.engine("lee", memstore.New()), w.engine("ana", memstore.New())
	id, err := a.Create(ctx, w.space, "goals", map[string]any{"title": "read"})
	must(t, err)
	k := w.key(id)
	waitSynced(t, a)
	eventually(t, "b sees the record", func() bool { return b.Get(k) != nil })
	evA, evB := subscribe(a), subscribe(b)

	a.SetOnline(false)
	b.SetOnline(false)
	must(t, a.Put(ctx, w.space, "goals", id, map[string]any{"title": "read every night"}))
	must(t, b.Put(ctx, w.space, "goals", id, map[string]any{"title": "read with a grown-up"}))
	a.SetOnline(true)
	waitSynced(t, a)
	b.SetOnline(true)
	waitSynced(t, b)

	isConflict := func(ev client.Event) bool {
		c, ok := ev.(client.ConflictAppeared)
		return ok && c.Key == k && c.Field == "title"
	}
	evB.waitFor(t, "conflict on b", isConflict)
	evA.waitFor(t, "conflict on a", isConflict)
	ra, rb := a.Get(k), b.Get(k)
	if !reflect.DeepEqual(ra, rb) {
		t.Fatalf("views differ:\n%+v\n%+v", ra.Fields["title"], rb.Fields["title"])
	}
	f := ra.Fields["title"]
	vals := []any{f.Value, f.Conflicts[0].Value}
	if len(f.Conflicts) != 1 || !slices.Contains(vals, "read every night") || !slices.Contains(vals, "read with a grown-up") {
		t.Fatalf("title %+v", f)
	}

	must(t, a.Resolve(ctx, k, "title", "read every night with a grown-up"))
	if r := a.Get(k); r.HasConflicts() {
		t.Fatalf("resolve not visible locally: %+v", r.Fields["title"])
	}
	waitSynced(t, a)
	eventually(t, "b sees the resolution", func() bool {
		r := b.Get(k)
		return !r.HasConflicts() && r.Value("title") == "read every night with a grown-up"
	})
}

func TestDeleteWithConcurrentEditSurfacesConflict(t *testing.T) {
	w := newWorld(t, "lee", "ana")
	a, b := w.engine("lee", memstore.New()), w.engine("ana", memstore.New())
	id, err := a.Create(ctx, w.space, "goals", map[string]any{"title": "read"})
	must(t, err)
	k := w.key(id)
	waitSynced(t, a)
	eventually(t, "b sees the record", func() bool { return b.Get(k) != nil })
	evA := subscribe(a)

	a.SetOnline(false)
	must(t, a.Delete(ctx, k))
	if got := a.List(w.space, "goals"); len(got) != 0 {
		t.Fatalf("deleted record still listed locally")
	}
	must(t, b.Put(ctx, w.space, "goals", id, map[string]any{"note": "she loves dinosaurs"}))
	waitSynced(t, b)
	a.SetOnline(true)
	waitSynced(t, a)

	evA.waitFor(t, "delete conflict", func(ev client.Event) bool {
		c, ok := ev.(client.ConflictAppeared)
		return ok && c.Key == k && c.Field == record.DeletedField
	})
	eventually(t, "both see the deleted record with its conflict", func() bool {
		ra, rb := a.Get(k), b.Get(k)
		return ra.Deleted() && rb.Deleted() && len(ra.Fields[record.DeletedField].Conflicts) == 1 && reflect.DeepEqual(ra, rb)
	})
	if got := a.List(w.space, "goals"); len(got) != 1 || got[0].Value("note") != "she loves dinosaurs" {
		t.Fatalf("a deleted record with a conflict must stay listed: %v", got)
	}

	// Keep it: the edit made during the delete wins.
	must(t, b.Resolve(ctx, k, record.DeletedField, false))
	waitSynced(t, b)
	eventually(t, "a sees it restored", func() bool {
		r := a.Get(k)
		return !r.Deleted() && !r.HasConflicts() && r.Value("note") == "she loves dinosaurs"
	})
}

func TestRefusedOpIsRejectedAndLeavesOutbox(t *testing.T) {
	w := newWorld(t, "lee")
	w.srv.Refuse = func(op *record.Op) (protocol.Code, string) {
		for _, wr := range op.Writes {
			if wr.Name == "grade" {
				return protocol.CodeForbidden, "families write grades? no"
			}
		}
		return "", ""
	}
	store := memstore.New()
	e := w.engine("lee", store)
	ev := subscribe(e)
	release := w.srv.HoldPushes()
	id, err := e.Create(ctx, w.space, "goals", map[string]any{"title": "read"})
	must(t, err)
	must(t, e.Put(ctx, w.space, "goals", id, map[string]any{"grade": "A"}))
	if e.Get(w.key(id)).Value("grade") != "A" {
		t.Fatal("optimistic edit not visible")
	}
	release()
	waitSynced(t, e)
	got := ev.waitFor(t, "rejected", func(ev client.Event) bool { _, ok := ev.(client.Rejected); return ok }).(client.Rejected)
	if got.Code != protocol.CodeForbidden || got.Op.Writes[0].Name != "grade" {
		t.Fatalf("rejected %+v", got)
	}
	if rs := e.Rejections(); len(rs) != 1 || rs[0].Code != protocol.CodeForbidden {
		t.Fatalf("rejections %+v", rs)
	}
	r := e.Get(w.key(id))
	if r.Value("grade") != nil || r.Value("title") != "read" {
		t.Fatalf("refused edit still in view: %+v", r.Fields)
	}
	snap, err := store.Load(ctx)
	must(t, err)
	if len(snap.Outbox) != 0 {
		t.Fatalf("refused op still in the stored outbox")
	}
	pushes := w.srv.Pushes()
	time.Sleep(50 * time.Millisecond)
	if w.srv.Pushes() != pushes {
		t.Fatal("refused op is being retried")
	}
}

func TestUnauthorizedStopsUntilNewToken(t *testing.T) {
	w := newWorld(t, "lee")
	e := w.engine("expired", memstore.New())
	ctx2, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	err := e.WaitSynced(ctx2)
	if !errors.Is(err, client.ErrStopped) {
		t.Fatalf("WaitSynced: %v", err)
	}
	if st := e.State(); st.Status != client.StatusStopped || st.Reason != protocol.CodeUnauthorized {
		t.Fatalf("state %+v", st)
	}
	must(t, e.Put(ctx, w.space, "goals", uuid.Must(uuid.NewV7()), map[string]any{"title": "still editable"}))
	e.SetToken("lee")
	waitSynced(t, e)
	if len(w.srv.Records(w.space)) != 1 {
		t.Fatal("edit made while stopped did not sync")
	}
}

func TestResendAfterLostAckIsHarmless(t *testing.T) {
	w := newWorld(t, "lee")
	e := w.engine("lee", memstore.New())
	waitSynced(t, e)
	release := w.srv.HoldPushes()
	id, err := e.Create(ctx, w.space, "goals", map[string]any{"title": "read"})
	must(t, err)
	eventually(t, "push sent", func() bool { return w.srv.Pushes() >= 1 })
	w.srv.DropAll() // the ack is lost with the connection
	release()
	waitSynced(t, e)
	if w.srv.Pushes() < 2 {
		t.Fatalf("op not resent: %d pushes", w.srv.Pushes())
	}
	if h := w.srv.Head(w.space); h != 1 {
		t.Fatalf("head %d: the resend was applied twice", h)
	}
	if e.Get(w.key(id)).Value("title") != "read" || len(e.Pending()) != 0 {
		t.Fatal("edit lost")
	}
}

func TestBigBacklogStreamsInBoundedPushes(t *testing.T) {
	w := newWorld(t, "lee")
	w.srv.SetDown(true)
	e := w.engine("lee", memstore.New())
	const n = 2*client.MaxOpsPerPush + 100
	for i := range n {
		_, err := e.Create(ctx, w.space, "checkins", map[string]any{"n": i})
		must(t, err)
	}
	w.srv.SetDown(false)
	e.Kick()
	waitSynced(t, e)
	if got := len(w.srv.Records(w.space)); got != n {
		t.Fatalf("server has %d records, want %d", got, n)
	}
	if p := w.srv.Pushes(); p < 3 {
		t.Fatalf("%d pushes for %d ops: not split at %d", p, n, client.MaxOpsPerPush)
	}
	if got := len(e.List(w.space, "checkins")); got != n {
		t.Fatalf("list %d", got)
	}
}

func TestDeadConnectionIsDetectedByHeartbeat(t *testing.T) {
	w := newWorld(t, "lee")
	w.srv.Heartbeat = 40 * time.Millisecond
	e := w.engine("lee", memstore.New())
	waitSynced(t, e)
	ev := subscribe(e)
	w.srv.SetSilent(true)
	ev.waitFor(t, "connection given up", func(x client.Event) bool {
		s, ok := x.(client.StateChanged)
		return ok && s.State.Status == client.StatusOffline && strings.Contains(s.State.LastError, "silent")
	})
	w.srv.SetSilent(false)
	_, err := e.Create(ctx, w.space, "goals", map[string]any{"title": "after"})
	must(t, err)
	waitSynced(t, e)
}

func TestWipedStoreResyncsAsNewDevice(t *testing.T) {
	w := newWorld(t, "lee", "ana")
	b := w.engine("ana", memstore.New())
	for i := range 3*fakeserver.PageRecords + 1 {
		_, err := b.Create(ctx, w.space, "goals", map[string]any{"title": fmt.Sprint(i)})
		must(t, err)
	}
	waitSynced(t, b)

	store := memstore.New()
	a := w.engine("lee", store)
	waitSynced(t, a)
	first := a.Device()
	if got := len(a.List(w.space, "goals")); got != 3*fakeserver.PageRecords+1 {
		t.Fatalf("paged catch-up gave %d records", got)
	}
	must(t, a.Close())
	must(t, store.Reset(ctx)) // the browser evicted the database

	a = w.engine("lee", store)
	if a.Device() == first {
		t.Fatal("wiped store kept its device id")
	}
	waitSynced(t, a)
	if got := len(a.List(w.space, "goals")); got != 3*fakeserver.PageRecords+1 {
		t.Fatalf("full resync gave %d records", got)
	}
	if sp := a.Spaces(); len(sp) != 1 || sp[0].ID != w.space || sp[0].Role != "teacher" {
		t.Fatalf("spaces %+v", sp)
	}
}

func TestSlowSubscriberNeverBlocksTheEngine(t *testing.T) {
	w := newWorld(t, "lee")
	e := w.engine("lee", memstore.New())
	ch, cancel := e.Subscribe(1)
	for i := range 50 {
		_, err := e.Create(ctx, w.space, "goals", map[string]any{"n": i})
		must(t, err)
	}
	waitSynced(t, e)
	if _, ok := <-ch; !ok {
		t.Fatal("no event kept")
	}
	cancel()
	cancel()
	if st := e.State(); st.Status != client.StatusSynced {
		t.Fatalf("state %+v", st)
	}
}

func TestEditValidation(t *testing.T) {
	w := newWorld(t, "lee")
	e := w.engine("lee", memstore.New())
	var ve *record.ValidationError
	if err := e.Put(ctx, w.space, "goals", uuid.New(), map[string]any{"title": "x"}); !errors.As(err, &ve) {
		t.Fatalf("v4 id accepted: %v", err)
	}
	if err := e.Put(ctx, w.space, "goals", uuid.Must(uuid.NewV7()), map[string]any{record.DeletedField: true}); !errors.Is(err, client.ErrReserved) {
		t.Fatalf("_deleted through Put: %v", err)
	}
	if err := e.Delete(ctx, w.key(uuid.Must(uuid.NewV7()))); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("delete of nothing: %v", err)
	}
	if n := len(e.Pending()); n != 0 {
		t.Fatalf("invalid edits queued: %d", n)
	}
	must(t, e.Close())
	if _, err := e.Create(ctx, w.space, "goals", map[string]any{"t": 1}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("edit after close: %v", err)
	}
}

// TestEnginesConverge: three devices edit the same records offline at
// random (overlapping fields, deletes, resolves), then sync; every view
// must equal the server's state, round after round.
func TestEnginesConverge(t *testing.T) {
	tokens := []string{"lee", "ana", "sam"}
	w := newWorld(t, tokens...)
	var es []*client.Engine
	for _, tok := range tokens {
		es = append(es, w.engine(tok, memstore.New()))
	}
	var ids []uuid.UUID
	for i := range 4 {
		id, err := es[0].Create(ctx, w.space, "goals", map[string]any{"title": fmt.Sprint("goal ", i)})
		must(t, err)
		ids = append(ids, id)
	}
	waitSynced(t, es...)
	fields := []string{"title", "target", "status", "note"}
	rng := rand.New(rand.NewPCG(42, 7))
	for round := range 5 {
		for _, e := range es {
			e.SetOnline(false)
		}
		for i, e := range es {
			for range 15 {
				id := ids[rng.IntN(len(ids))]
				k := w.key(id)
				cur := e.Get(k)
				switch n := rng.IntN(10); {
				case n == 0:
					if cur != nil && !cur.Deleted() {
						must(t, e.Delete(ctx, k))
					}
				case n <= 2 && cur != nil && cur.HasConflicts():
					for name, f := range cur.Fields {
						if len(f.Conflicts) > 0 {
							v := any(fmt.Sprintf("resolved by %d", i))
							if name == record.DeletedField {
								v = false
							}
							must(t, e.Resolve(ctx, k, name, v))
							break
						}
					}
				default:
					must(t, e.Put(ctx, w.space, "goals", id, map[string]any{
						fields[rng.IntN(len(fields))]: fmt.Sprintf("r%d e%d %d", round, i, rng.IntN(1000)),
					}))
				}
			}
		}
		for _, e := range es {
			e.SetOnline(true)
		}
		waitSynced(t, es...)
		head := w.srv.Head(w.space)
		want := normalize(t, w.srv.Records(w.space))
		eventually(t, fmt.Sprint("round ", round, " converges"), func() bool {
			for _, e := range es {
				if len(e.Pending()) != 0 {
					return false
				}
				for k, r := range want {
					if !reflect.DeepEqual(e.Get(k), r) {
						return false
					}
				}
			}
			return w.srv.Head(w.space) == head
		})
		for j := 1; j < len(es); j++ {
			if !reflect.DeepEqual(es[0].List(w.space, "goals"), es[j].List(w.space, "goals")) {
				t.Fatalf("round %d: lists of engine 0 and %d differ", round, j)
			}
		}
	}
}

// normalize passes records through the wire encoding, as every client
// receives them.
func normalize(t *testing.T, recs map[record.Key]*record.Record) map[record.Key]*record.Record {
	out := map[record.Key]*record.Record{}
	for k, r := range recs {
		b, err := record.Marshal(r)
		must(t, err)
		n, err := record.Unmarshal(b)
		must(t, err)
		out[k] = n
	}
	return out
}

// TestHeldOpStaysAndIsResentOnNextConnection: an op refused with
// quota_exceeded is not refused for good: it stays in the outbox (and the
// store), is not resent in a loop on the same connection, and applies on
// the next connection once the server takes it.
func TestHeldOpStaysAndIsResentOnNextConnection(t *testing.T) {
	w := newWorld(t, "lee")
	var full atomic.Bool
	full.Store(true)
	w.srv.Refuse = func(op *record.Op) (protocol.Code, string) {
		if full.Load() {
			return protocol.CodeQuota, "the plan is over its storage quota"
		}
		return "", ""
	}
	store := memstore.New()
	e := w.engine("lee", store)
	ev := subscribe(e)
	id, err := e.Create(ctx, w.space, "goals", map[string]any{"title": "read"})
	must(t, err)
	got := ev.waitFor(t, "held", func(ev client.Event) bool { _, ok := ev.(client.Rejected); return ok }).(client.Rejected)
	if got.Code != protocol.CodeQuota || !got.Held {
		t.Fatalf("event %+v, want a held quota_exceeded", got)
	}
	if p := e.Pending(); len(p) != 1 {
		t.Fatalf("pending %d, want the held op", len(p))
	}
	snap, err := store.Load(ctx)
	must(t, err)
	if len(snap.Outbox) != 1 {
		t.Fatal("held op left the stored outbox")
	}
	pushes := w.srv.Pushes()
	time.Sleep(50 * time.Millisecond)
	if w.srv.Pushes() != pushes {
		t.Fatal("held op is resent on the same connection")
	}
	// Held again on the next connection: Rejections keeps one entry.
	w.srv.DropAll()
	ev.waitFor(t, "held again", func(ev client.Event) bool { r, ok := ev.(client.Rejected); return ok && r.Held })
	if rs := e.Rejections(); len(rs) != 1 || !rs[0].Held {
		t.Fatalf("rejections %+v, want the one held edit", rs)
	}
	full.Store(false)
	w.srv.DropAll()
	waitSynced(t, e)
	if e.Get(w.key(id)).Value("title") != "read" || len(w.srv.Records(w.space)) != 1 {
		t.Fatal("held op did not apply on the next connection")
	}
	if rs := e.Rejections(); len(rs) != 0 {
		t.Fatalf("rejections %+v after the held edit applied", rs)
	}
}

// TestEndlessClockRefusalsNeverDropTheEdit: a server that refuses an op
// for its clock however often it is restamped ends the connection after
// maxRestamps (backoff, not a spin), and the edit stays in the outbox.
func TestEndlessClockRefusalsNeverDropTheEdit(t *testing.T) {
	w := newWorld(t, "lee")
	w.srv.Refuse = func(op *record.Op) (protocol.Code, string) {
		return protocol.CodeClockReused, "always"
	}
	e := w.engine("lee", memstore.New())
	_, err := e.Create(ctx, w.space, "goals", map[string]any{"title": "read"})
	must(t, err)
	first := e.Pending()[0].Op.HLC
	eventually(t, "a connection given up", func() bool { return strings.Contains(e.State().LastError, "refused with clock_reused") })
	p := e.Pending()
	if len(p) != 1 || p[0].Op.HLC == first || len(e.Rejections()) != 0 {
		t.Fatalf("pending %+v (first clock %v), rejections %+v", p, first, e.Rejections())
	}
}
