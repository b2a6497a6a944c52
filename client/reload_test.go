package client_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/shared/uuid"
)

// Two engines on one store are two browser tabs on one IndexedDB database:
// the leader syncs, the follower runs offline and they meet through the
// store (Engine.Reload).
func TestReloadFollowerEditReachesServerThroughLeader(t *testing.T) {
	w := newWorld(t, "lee", "ana")
	shared := memstore.New()
	leader := w.engine("lee", shared)
	waitSynced(t, leader)
	follower := w.engine("lee", shared, func(o *client.Options) { o.Offline = true })
	other := w.engine("ana", memstore.New())

	// The follower's edit goes into the shared outbox; the leader reloads
	// and pushes it.
	id := uuid.Must(uuid.NewV7())
	must(t, follower.Put(ctx, w.space, "goals", id, map[string]any{"title": "from the follower"}))
	if n := follower.State().Pending; n != 1 {
		t.Fatalf("follower pending %d", n)
	}
	must(t, leader.Reload(ctx))
	waitSynced(t, leader)
	if r := w.srv.Records(w.space)[w.key(id)]; r == nil || r.Fields["title"].Value != "from the follower" {
		t.Fatalf("server has %v", r)
	}
	// The follower learns that its edit is on the server.
	must(t, follower.Reload(ctx))
	if n := follower.State().Pending; n != 0 {
		t.Fatalf("follower still has %d pending after reload", n)
	}

	// Someone else's edit reaches the leader, then the follower on reload.
	ev := subscribe(follower)
	must(t, other.Put(ctx, w.space, "goals", id, map[string]any{"title": "from ana"}))
	waitSynced(t, other)
	eventually(t, "leader sees ana's edit", func() bool {
		r := leader.Get(w.key(id))
		return r != nil && r.Fields["title"].Value == "from ana"
	})
	must(t, follower.Reload(ctx))
	ev.waitFor(t, "record event on the follower", func(e client.Event) bool {
		rc, ok := e.(client.RecordChanged)
		return ok && rc.Key == w.key(id)
	})
	if r := follower.Get(w.key(id)); r == nil || r.Fields["title"].Value != "from ana" {
		t.Fatalf("follower sees %v", r)
	}
	if got := follower.Spaces(); len(got) != 1 || got[0].ID != w.space {
		t.Fatalf("follower spaces %v", got)
	}
}

// Both tabs edit at once, the leader reloading as it goes: every edit
// reaches the server exactly once (no LocalSeq is used twice) and both
// engines end with the same view.
func TestReloadConcurrentTabsConverge(t *testing.T) {
	w := newWorld(t, "lee")
	shared := memstore.New()
	leader := w.engine("lee", shared)
	follower := w.engine("lee", shared, func(o *client.Options) { o.Offline = true })
	const n = 40
	var wg sync.WaitGroup
	ids := make([]uuid.UUID, 2*n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7())
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := range n {
			if err := leader.Put(ctx, w.space, "goals", ids[i], map[string]any{"title": fmt.Sprint("L", i)}); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			if err := follower.Put(ctx, w.space, "goals", ids[n+i], map[string]any{"title": fmt.Sprint("F", i)}); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range n {
			if err := leader.Reload(ctx); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	must(t, leader.Reload(ctx))
	waitSynced(t, leader)
	recs := w.srv.Records(w.space)
	if len(recs) != 2*n {
		t.Fatalf("server has %d records, want %d", len(recs), 2*n)
	}
	must(t, follower.Reload(ctx))
	if p := follower.State().Pending; p != 0 {
		t.Fatalf("follower pending %d", p)
	}
	for _, id := range ids {
		a, b := leader.Get(w.key(id)), follower.Get(w.key(id))
		if a == nil || b == nil || a.Seq == 0 || a.Seq != b.Seq || a.Fields["title"].Value != b.Fields["title"].Value {
			t.Fatalf("%v: leader %v, follower %v", id, a, b)
		}
	}
	snap, err := shared.Load(ctx)
	must(t, err)
	if got := len(snap.Outbox); got != 0 {
		t.Fatalf("store outbox holds %d", got)
	}
}

// The follower's clock runs ahead and the leader edits the same field
// without having reloaded: the leader's edit must still come out on top,
// as the later one, and the follower's must still reach the server (the
// server orders a record's ops of one device by HLC, and both tabs are one
// device). The leader's save finds that another engine wrote to the store,
// reloads and redoes its edit on top.
func TestReloadEditAfterOtherTabsEditOfSameRecord(t *testing.T) {
	w := newWorld(t, "lee")
	shared := memstore.New()
	leader := w.engine("lee", shared)
	waitSynced(t, leader)
	follower := w.engine("lee", shared, func(o *client.Options) {
		o.Offline = true
		o.Now = func() time.Time { return time.Now().Add(2 * time.Second) }
	})
	id := uuid.Must(uuid.NewV7())
	must(t, follower.Put(ctx, w.space, "goals", id, map[string]any{"title": "F", "target": "from the follower"}))
	must(t, leader.Put(ctx, w.space, "goals", id, map[string]any{"title": "L"}))
	waitSynced(t, leader)
	r := w.srv.Records(w.space)[w.key(id)]
	if r == nil || r.Fields["title"].Value != "L" || r.Fields["target"] == nil || r.Fields["target"].Value != "from the follower" || r.HasConflicts() {
		t.Fatalf("server has %+v", r)
	}
	must(t, follower.Reload(ctx))
	if got := follower.Get(w.key(id)); got.Fields["title"].Value != "L" || follower.State().Pending != 0 {
		t.Fatalf("follower sees %+v, pending %d", got, follower.State().Pending)
	}
}
