package cluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// TestViewRebuiltFromLog: a node whose badger folder is gone rebuilds it
// from the log at start, before it serves: the same records at the same
// sequence numbers, the same accounts, and the same op index (a
// retransmit is found applied, not applied again).
func TestViewRebuiltFromLog(t *testing.T) {
	tr := newTrio(t)
	ctx := context.Background()
	a, c := tr.members[0], tr.members[2]
	space := uuid.Must(uuid.NewV7())
	w := newWriter()
	var ops []record.Op
	for i := range 20 {
		ops = append(ops, w.op(space, uuid.Must(uuid.NewV7()), "n", i))
	}
	if _, err := a.store.Commit(ctx, ops); err != nil {
		t.Fatal(err)
	}
	u := &server.User{ID: uuid.Must(uuid.NewV7()), Name: "Ana", Created: time.Now()}
	if err := a.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "c applied", func() bool { return c.store.Applied() == a.store.Applied() })
	tr.stop(c)
	if err := os.RemoveAll(filepath.Join(c.dir, "badger")); err != nil {
		t.Fatal(err)
	}
	tr.restart(c)
	if h, _ := c.store.Head(ctx, space); h != 20 {
		t.Fatalf("rebuilt head %d, want 20", h)
	}
	for i, op := range ops {
		rec, err := c.store.Record(ctx, op.Key())
		if err != nil || rec.Seq != uint64(i+1) {
			t.Fatalf("rebuilt record %d: %+v %v", i, rec, err)
		}
	}
	if _, err := c.store.local.User(ctx, u.ID); err != nil {
		t.Fatalf("rebuilt user: %v", err)
	}
	res, err := c.store.Commit(ctx, ops[:1])
	if err != nil || res[0].Changed || res[0].Seq != 1 {
		t.Fatalf("retransmit after the rebuild: %+v %v", res, err)
	}
}
