package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// TestQuorumLost: with two of three nodes down the survivor refuses
// writes with ErrUnavailable (never an ack), still serves reads, and takes
// writes again once a second node is back; the nodes that were down catch
// up from the log, at the same sequence numbers.
func TestQuorumLost(t *testing.T) {
	tr := newTrio(t)
	ctx := context.Background()
	a, b, c := tr.members[0], tr.members[1], tr.members[2]
	space := uuid.Must(uuid.NewV7())
	w := newWriter()
	first := w.op(space, uuid.Must(uuid.NewV7()), "title", "before")
	if _, err := a.store.Commit(ctx, []record.Op{first}); err != nil {
		t.Fatal(err)
	}
	tr.stop(b)
	tr.stop(c)

	start := time.Now()
	lost := w.op(space, uuid.Must(uuid.NewV7()), "title", "during")
	res, err := a.store.Commit(ctx, []record.Op{lost})
	if !errors.Is(err, server.ErrUnavailable) {
		t.Fatalf("commit without a quorum: %v %+v, want ErrUnavailable", res, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("refusal took %v", d)
	}
	waitFor(t, 10*time.Second, "Healthy reports the lost quorum", func() bool { return errors.Is(a.store.Healthy(), server.ErrUnavailable) })
	// Reads are the local view's: still served.
	if rec, err := a.store.Record(ctx, first.Key()); err != nil || rec.Fields["title"].Value != "before" {
		t.Fatalf("read without a quorum: %+v %v", rec, err)
	}
	// An account write is refused alike.
	if err := a.store.CreateUser(ctx, &server.User{ID: uuid.Must(uuid.NewV7()), Name: "x"}); !errors.Is(err, server.ErrUnavailable) {
		t.Fatalf("account write without a quorum: %v", err)
	}

	tr.restart(b)
	after := w.op(space, uuid.Must(uuid.NewV7()), "title", "after")
	var ok bool
	for range 20 { // the stream elects a leader again within a few seconds
		res, err = a.store.Commit(ctx, []record.Op{after})
		if err == nil {
			ok = true
			break
		}
		if !errors.Is(err, server.ErrUnavailable) {
			t.Fatal(err)
		}
	}
	if !ok {
		t.Fatalf("no write taken after the quorum came back: %v", err)
	}
	// The refused op may have reached the log after all (it was proposed),
	// which is fine: it was never acked, and a retry finds it applied.
	tr.restart(c)
	head, _ := a.store.Head(ctx, space)
	if head != res[0].Seq {
		t.Fatalf("head %d, last ack %d", head, res[0].Seq)
	}
	for _, m := range []*member{b, c} {
		waitFor(t, 10*time.Second, m.name+" caught up", func() bool { h, _ := m.store.Head(ctx, space); return h == head })
		rec, err := m.store.Record(ctx, after.Key())
		if err != nil || rec.Seq != res[0].Seq {
			t.Fatalf("%s: %+v %v", m.name, rec, err)
		}
	}
}
