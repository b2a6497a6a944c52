package diskstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/storetest"
	"github.com/plansync/plansync/shared/uuid"
)

type opener struct{ dirs map[client.Store]string }

func (o *opener) Open(t *testing.T) client.Store {
	dir := t.TempDir()
	s, err := diskstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	o.dirs[s] = dir
	return s
}

func (o *opener) Reopen(t *testing.T, s client.Store) client.Store {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	dir := o.dirs[s]
	s2, err := diskstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	o.dirs[s2] = dir
	return s2
}

func TestConformance(t *testing.T) {
	storetest.Run(t, &opener{dirs: map[client.Store]string{}})
}

// TestManyOpsSurviveReopen checks an offline backlog bigger than one push
// and a changes page too big for one transaction.
func TestManyOpsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	o := &opener{dirs: map[client.Store]string{}}
	s := o.Open(t)
	if err := s.SaveMeta(ctx, client.Meta{}); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := uint64(1); i <= n; i++ {
		if _, err := s.AddPending(ctx, storetest.SampleOp(i)); err != nil {
			t.Fatal(err)
		}
	}
	recs := storetest.BigPage(3000)
	if err := s.ApplyChanges(ctx, recs[0].Space, 3000, recs); err != nil {
		t.Fatal(err)
	}
	s = o.Reopen(t, s)
	defer s.Close()
	snap, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Outbox) != n || snap.Outbox[0].LocalSeq != 1 || snap.Outbox[n-1].LocalSeq != n {
		t.Fatalf("outbox of %d after reopen", len(snap.Outbox))
	}
	if len(snap.Records) != len(recs) || snap.Cursors[recs[0].Space] != 3000 {
		t.Fatalf("%d records, cursor %d", len(snap.Records), snap.Cursors[recs[0].Space])
	}
}

// TestRestampAndRebaseBiggerThanOneTransaction: restamping a big offline
// outbox and rebasing a big journal each exceed one badger transaction,
// and still complete with nothing lost or doubled.
func TestRestampAndRebaseBiggerThanOneTransaction(t *testing.T) {
	ctx := context.Background()
	o := &opener{dirs: map[client.Store]string{}}
	s := o.Open(t)
	if err := s.SaveMeta(ctx, client.Meta{}); err != nil {
		t.Fatal(err)
	}
	const n = 2500
	text := strings.Repeat("read every night with a grown-up. ", 40) // 1.4 KB: 3.4 MB in all
	ops := make([]client.PendingOp, n)
	for i := range ops {
		p := storetest.SampleOp(uint64(i + 1))
		p.Op.Writes[0].Value = text
		if _, err := s.AddPending(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.Op.HLC += 1 << 20
		ops[i] = p
	}
	newDev := uuid.Must(uuid.NewV7())
	if err := s.UpdatePending(ctx, ops, &client.Meta{Device: newDev}); err != nil {
		t.Fatalf("restamp of %d ops: %v", n, err)
	}
	for i := 0; i < n; i += 500 {
		var acked []client.JournalOp
		for _, p := range ops[i : i+500] {
			acked = append(acked, client.JournalOp{LocalSeq: p.LocalSeq, Seq: p.LocalSeq, Op: p.Op})
		}
		if err := s.AckPending(ctx, acked, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Rebase(ctx, client.Meta{Device: newDev, Incarnation: newDev}); err != nil {
		t.Fatalf("rebase of %d journaled ops: %v", n, err)
	}
	s = o.Reopen(t, s)
	defer s.Close()
	snap, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Journal) != 0 || len(snap.Outbox) != n || snap.Meta.Incarnation != newDev {
		t.Fatalf("after rebase: journal %d, outbox %d, meta %+v", len(snap.Journal), len(snap.Outbox), snap.Meta)
	}
	for i, p := range snap.Outbox {
		if p.LocalSeq != ops[i].LocalSeq || p.Op.HLC != ops[i].Op.HLC {
			t.Fatalf("outbox[%d] = %d at %v, want %d at %v", i, p.LocalSeq, p.Op.HLC, ops[i].LocalSeq, ops[i].Op.HLC)
		}
	}
}

func (o *opener) PlantJournal(t *testing.T, s client.Store, j client.JournalOp) {
	if err := s.(*diskstore.Store).PlantJournal(j); err != nil {
		t.Fatal(err)
	}
}
