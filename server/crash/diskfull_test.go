package crash

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/benchauth"
	"github.com/plansync/plansync/shared/record"
)

// TestDiskFullRefusesWritesAndResumes runs the server in-process with its
// free-space reading faked (store.Options.FreeSpace). While the disk is
// "full" the server refuses every write with a clear error and acks none
// of them; it does not crash, /healthz says 503 (and only the admin
// listener says why), and it keeps serving reads
// (a new client syncs the existing records). When space returns, the
// client's edits are acked and stored, each once.
func TestDiskFullRefusesWritesAndResumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var free atomic.Uint64
	free.Store(1 << 40)
	a, err := app.OpenBench(ctx, dir, "127.0.0.1:0", app.Config{
		Logger:    quiet(),
		AdminAddr: "127.0.0.1:0",
		Store: store.Options{
			FreeSpace:         func() (uint64, error) { return free.Load(), nil },
			FreeSpaceInterval: time.Millisecond,
		},
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if a != nil {
			_ = a.Close(context.Background())
		}
	}()

	var mu sync.Mutex
	acks := map[string]bool{}
	open := func(k int, name string) (*client.Engine, *diskstore.Store) {
		st, err := diskstore.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		e := client.New(client.Options{
			Store: st, Transport: &wsdial.Transport{URL: a.URL()}, Token: benchauth.Token(k),
			BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
			OnAck: func(op record.Op, _ uint64) {
				mu.Lock()
				acks[op.Writes[0].Value.(string)] = true
				mu.Unlock()
			},
		})
		if err := e.Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Close(); _ = st.Close() })
		return e, st
	}
	synced := func(e *client.Engine) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := e.WaitSynced(sctx); err != nil {
			t.Fatalf("not synced: %v (%+v)", err, e.State())
		}
	}
	health := func() (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + a.Addr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	adminHealth := func() (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", "http://"+a.AdminAddr()+app.HealthPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+a.AdminToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	w, _ := open(0, "writer")
	sp := benchauth.SpaceID
	id1, err := w.Create(ctx, sp, Collection, map[string]any{"c0": "before"})
	if err != nil {
		t.Fatal(err)
	}
	synced(w)

	// The disk fills up.
	free.Store(1 << 20)
	if code, body := health(); code != http.StatusServiceUnavailable || body != "unavailable\n" {
		t.Fatalf("/healthz with a full disk: %d %q, want a terse 503", code, body)
	}
	if code, body := adminHealth(); code != http.StatusServiceUnavailable || !strings.Contains(body, "free on disk") {
		t.Fatalf("admin health with a full disk: %d %q", code, body)
	}
	if err := w.Put(ctx, sp, Collection, id1, map[string]any{"c0": "during"}); err != nil {
		t.Fatal(err)
	}
	id2, err := w.Create(ctx, sp, Collection, map[string]any{"c0": "new during"})
	if err != nil {
		t.Fatal(err)
	}
	// The client is told why, keeps its edits and retries.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.State().LastError, "unavailable") {
		if time.Now().After(deadline) {
			t.Fatalf("client state while the disk is full: %+v", w.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("client state while full: %+v", w.State())
	refused := a.Store.Stats().Refused
	// Reads go on: a new device syncs the record written before.
	r, _ := open(1, "reader")
	synced(r)
	if got := r.Get(record.Key{Space: sp, Collection: Collection, ID: id1}); got == nil || got.Value("c0") != "before" {
		t.Fatalf("reader sees %v while the disk is full", View(got))
	}
	time.Sleep(300 * time.Millisecond) // several retries of the writer
	mu.Lock()
	ackedWhileFull := acks["during"] || acks["new during"]
	mu.Unlock()
	if ackedWhileFull {
		t.Fatal("an edit was acked while the disk was full")
	}
	if n := len(w.Pending()); n != 2 {
		t.Fatalf("%d edits pending while the disk is full, want 2", n)
	}
	if len(w.Rejections()) > 0 {
		t.Fatalf("edits refused for good instead of kept: %+v", w.Rejections())
	}
	// Backoff ceilings of 20, 40 and 80 ms fit three retries in 300 ms.
	if now := a.Store.Stats().Refused; refused == 0 || now <= refused {
		t.Fatalf("store refused %d commits, then %d: the client did not retry", refused, now)
	}
	refused = a.Store.Stats().Refused
	head, err := a.Store.Head(ctx, sp)
	if err != nil || head != 1 {
		t.Fatalf("head %d (%v) while full, want 1", head, err)
	}

	// Space returns: the edits go through.
	free.Store(1 << 40)
	w.Kick()
	synced(w)
	if code, _ := health(); code != http.StatusOK {
		t.Fatalf("/healthz after space returned: %d", code)
	}
	mu.Lock()
	if !acks["during"] || !acks["new during"] {
		t.Fatalf("acks after space returned: %v", acks)
	}
	mu.Unlock()
	for id, want := range map[record.Key]string{
		{Space: sp, Collection: Collection, ID: id1}: "during",
		{Space: sp, Collection: Collection, ID: id2}: "new during",
	} {
		got, err := a.Store.Record(ctx, id)
		if err != nil || got.Value("c0") != want {
			t.Fatalf("stored %v (%v), want %q", View(got), err, want)
		}
	}
	// The reader was synced already; the new records reach it as news.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got := r.Get(record.Key{Space: sp, Collection: Collection, ID: id2})
		if got != nil && got.Value("c0") == "new during" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader sees %v after space returned", View(got))
		}
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	a = nil
	s, err := ReadState(ctx, filepath.Join(dir, "db"), sp)
	if err != nil {
		t.Fatal(err)
	}
	if s.CheckLog != nil || s.Head != 3 || s.DoubleApplied() != 0 {
		t.Fatalf("after the full disk: head %d (want 3), %d applied twice, CheckLog %v", s.Head, s.DoubleApplied(), s.CheckLog)
	}
	t.Logf("%d commits refused while full; all edits stored once after", refused)
}
