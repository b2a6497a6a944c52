package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// TestServerClosedMidLoadKeepsEveryAckedOp: clients write continuously;
// the server shuts down in the middle and reopens on the same folder. Every
// op a client saw acked is in the reopened store before any client
// reconnects, and after reconnecting every client converges with nothing
// lost and nothing applied twice.
func TestServerClosedMidLoadKeepsEveryAckedOp(t *testing.T) {
	const clients, perClient = 3, 400
	w := newWorld(t, clients)
	es := make([]*client.Engine, clients)
	for i := range es {
		es[i] = w.engine(i, fmt.Sprintf("c%d", i), false)
	}
	type written struct {
		id  uuid.UUID
		val string
	}
	var mu sync.Mutex
	created := make([][]written, clients)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, e := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < perClient; n++ {
				select {
				case <-stop:
					return
				default:
				}
				val := fmt.Sprintf("client %d note %d", i, n)
				id, err := e.Create(context.Background(), w.space, "notes", map[string]any{"text": val})
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				mu.Lock()
				created[i] = append(created[i], written{id, val})
				mu.Unlock()
				time.Sleep(time.Millisecond)
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	w.stop() // mid-load: clients are still writing
	close(stop)
	wg.Wait()

	// Acked = written and no longer in the outbox. No ack can arrive now.
	acked := 0
	dataDir := filepath.Join(w.dir, "server")
	st, err := store.Open(dataDir, store.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		pending := map[uuid.UUID]bool{}
		for _, p := range e.Pending() {
			pending[p.Op.ID] = true
		}
		for _, wr := range created[i] {
			if pending[wr.id] {
				continue
			}
			acked++
			r, err := st.Record(context.Background(), record.Key{Space: w.space, Collection: "notes", ID: wr.id})
			if err != nil || r.Value("text") != wr.val {
				t.Fatalf("acked op of client %d lost after restart: %v", i, err)
			}
		}
		if len(e.Rejections()) > 0 {
			t.Fatalf("client %d had ops rejected: %+v", i, e.Rejections()[0])
		}
	}
	head, err := st.Head(context.Background(), w.space)
	must(t, err)
	must(t, st.CheckLog(context.Background(), w.space))
	must(t, st.Close())
	if acked == 0 {
		t.Fatal("no op was acked before the shutdown: the test proved nothing")
	}
	t.Logf("%d ops acked before the shutdown, head %d", acked, head)

	w.start() // same folder, same port: the engines reconnect and resend
	waitSynced(t, es...)
	total := 0
	for i := range created {
		total += len(created[i])
	}
	deadline := time.Now().Add(waitLimit)
	for _, e := range es {
		for len(e.List(w.space, "notes")) != total {
			if time.Now().After(deadline) {
				t.Fatalf("client holds %d notes, want %d", len(e.List(w.space, "notes")), total)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Nothing applied twice: one log entry per op written.
	newHead, err := w.app.Store.Head(context.Background(), w.space)
	must(t, err)
	if newHead != uint64(total) {
		t.Fatalf("space head %d after %d creates: an op was applied twice or lost", newHead, total)
	}
}
