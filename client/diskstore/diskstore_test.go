package diskstore_test

import (
	"context"
	"testing"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/storetest"
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
