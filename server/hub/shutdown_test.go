package hub_test

import (
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
)

// TestCleanShutdown closes the server while a client streams pushes: the
// client sees the connection end instead of hanging, and every push that was
// acked is in the store when it is opened again.
func TestCleanShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{PushRate: 1e6, PushBurst: 1e6})
	ana, atok := e.user("Ana")
	sp := e.space("Room", server.KindGeneral, ana)
	c := e.connect("ana", atok)
	idle := e.connect("ana, idle", atok)

	var (
		mu    sync.Mutex
		sent  = map[uint64]record.Op{}
		acked = map[uint64]protocol.Result{}
	)
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() { // the client streams pushes of one op each
		defer close(writerDone)
		for batch := uint64(1); ; batch++ {
			select {
			case <-stop:
				return
			default:
			}
			op := c.op(sp.ID, "notes", map[string]any{"text": "streamed"})
			mu.Lock()
			sent[batch] = op
			mu.Unlock()
			c.remember(op)
			if err := c.sendErr(&protocol.Push{Batch: batch, Ops: []record.Op{op}}); err != nil {
				return
			}
		}
	}()
	readerDone := make(chan error, 1)
	go func() { // and reads acks until the connection ends
		for {
			m, err := c.read(2 * waitFor)
			if err != nil {
				readerDone <- err
				return
			}
			switch m := m.(type) {
			case *protocol.Ack:
				mu.Lock()
				acked[m.Batch] = m.Results[0]
				mu.Unlock()
			case *protocol.Error:
				readerDone <- m
				return
			}
		}
	}()
	defer func() {
		close(stop)
		<-writerDone
	}()

	waitUntil(t, "streaming", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 50
	})
	start := time.Now()
	e.close()
	t.Logf("closed in %v", time.Since(start))

	select {
	case err := <-readerDone:
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce) && ce.Code == websocket.CloseGoingAway:
		case errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure, errors.Is(err, syscall.ECONNRESET):
			// The server closes the socket right after its close frame;
			// with our pushes still unread on its side, TCP resets the
			// connection, which can overtake the close frame.
			t.Logf("streaming client: connection ended without a close frame: %v", err)
		default:
			t.Errorf("the client saw %v, want going away", err)
		}
	case <-time.After(waitFor):
		t.Fatal("the client is still connected after the server closed")
	}
	// A client that was not sending gets a proper going away.
	if _, code := idle.readUntilClosed(); code != websocket.CloseGoingAway {
		t.Errorf("idle client: close %d, want %d going away", code, websocket.CloseGoingAway)
	}

	// Reopen the same data folder: every acked push is there.
	e.open()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 50 {
		t.Fatalf("only %d acks", len(acked))
	}
	head := e.head(sp.ID)
	for batch, res := range acked {
		if res.Code != "" || res.Seq == 0 {
			t.Errorf("batch %d acked with %+v", batch, res)
			continue
		}
		op := sent[batch]
		r := e.record(op.Key())
		if r == nil {
			t.Errorf("batch %d was acked at seq %d but is not stored", batch, res.Seq)
		} else if r.Seq != res.Seq || r.Value("text") != "streamed" {
			t.Errorf("batch %d acked at seq %d, stored at %d with %v", batch, res.Seq, r.Seq, r.Value("text"))
		}
		if res.Seq > head {
			t.Errorf("batch %d acked at seq %d past the head %d", batch, res.Seq, head)
		}
	}
	t.Logf("%d pushes sent, %d acked, head %d after reopening", len(sent), len(acked), head)

	// The reopened server serves the same data.
	c2 := e.connect("ana again", atok)
	c2.syncTo(sp.ID, head)
	if uint64(len(c2.recs)) != head {
		t.Errorf("reopened server sent %d records, want %d", len(c2.recs), head)
	}
}
