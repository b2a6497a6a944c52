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

// TestCommitAppliesOnEveryNode: an op acked through one node is in every
// node's view at the same sequence number, fanned out on each, and the
// same op sent again through another node is found applied (the op index
// is applied from the log, so dedupe is cluster-wide).
func TestCommitAppliesOnEveryNode(t *testing.T) {
	tr := newTrio(t)
	ctx := context.Background()
	got := make([]chan server.Committed, 3)
	for i, m := range tr.members {
		ch := make(chan server.Committed, 16)
		got[i] = ch
		m.store.OnCommit(func(cs []server.Committed) {
			for _, c := range cs {
				ch <- c
			}
		})
	}
	space, id := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	w := newWriter()
	op := w.op(space, id, "title", "hello")
	res, err := tr.members[0].store.Commit(ctx, []record.Op{op})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || !res[0].Changed || res[0].Seq != 1 {
		t.Fatalf("result %+v", res[0])
	}
	for i, ch := range got {
		select {
		case c := <-ch:
			if c.Space != space || c.To != 1 {
				t.Fatalf("node %d fanned out %+v", i, c)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("node %d fanned nothing out", i)
		}
	}
	for i, m := range tr.members {
		waitFor(t, 5*time.Second, "applied", func() bool { h, _ := m.store.Head(ctx, space); return h == 1 })
		rec, err := m.store.Record(ctx, op.Key())
		if err != nil || rec.Seq != 1 || rec.Fields["title"].Value != "hello" {
			t.Fatalf("node %d record %+v %v", i, rec, err)
		}
	}
	again, err := tr.members[2].store.Commit(ctx, []record.Op{op})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Changed || again[0].Seq != 1 || again[0].Err != nil {
		t.Fatalf("retransmit through another node: %+v", again[0])
	}
	// A different op under the same (device, clock): refused everywhere.
	forged := op
	forged.Writes = []record.Write{{Name: "title", Value: "forged"}}
	bad, err := tr.members[1].store.Commit(ctx, []record.Op{forged})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(bad[0].Err, server.ErrClockReused) {
		t.Fatalf("forged op: %+v", bad[0])
	}
}

// TestSyncAlways: the embedded node runs with JetStream's sync_always, so
// a replica fsyncs its Raft log before answering and the publish ack (a
// quorum's answers) means the entry is on a quorum's disks.
func TestSyncAlways(t *testing.T) {
	n, err := StartNode(NodeConfig{Name: "solo", Dir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown()
	if !n.SyncAlways() {
		t.Fatal("the node does not sync every write")
	}
	off, err := StartNode(NodeConfig{Name: "control", Dir: t.TempDir(), NoSync: true, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Shutdown()
	if off.SyncAlways() {
		t.Fatal("NoSync did not turn sync_always off")
	}
}
