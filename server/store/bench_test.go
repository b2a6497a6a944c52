package store

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// recordText is the size of the text in benchmark records, which encode to
// about 300 bytes with their clock, author and ids.
const recordText = 150

// BenchmarkCommit commits batches of 500 new records, one Commit at a time:
// the cost of one push of a large offline outbox, fsync included.
func BenchmarkCommit(b *testing.B) {
	const batch = 500
	s, _ := openTest(b, Options{})
	w := newWriter()
	space := newID()
	ops := 0
	for b.Loop() {
		b.StopTimer()
		batchOps := make([]record.Op, batch)
		for i := range batchOps {
			batchOps[i] = w.op(space, "notes", newID(), map[string]any{"text": text(recordText)})
		}
		b.StartTimer()
		commit(b, s, batchOps...)
		ops += batch
	}
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(s.Stats().Syncs)/float64(b.N), "syncs/op")
}

// BenchmarkCommitParallel has many clients push 5 ops each: group commit
// shares fsyncs between them.
func BenchmarkCommitParallel(b *testing.B) {
	const batch = 5
	s, _ := openTest(b, Options{})
	spaces := []uuid.UUID{newID(), newID(), newID(), newID()}
	var ops atomic.Int64
	var n atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		w := newWriter()
		space := spaces[n.Add(1)%int64(len(spaces))]
		for pb.Next() {
			batchOps := make([]record.Op, batch)
			for i := range batchOps {
				batchOps[i] = w.op(space, "notes", newID(), map[string]any{"text": text(recordText)})
			}
			if _, err := s.Commit(context.Background(), batchOps); err != nil {
				b.Error(err)
				return
			}
			ops.Add(batch)
		}
	})
	st := s.Stats()
	b.ReportMetric(float64(ops.Load())/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(st.Commits)/float64(max(st.Syncs, 1)), "commits/sync")
}

// BenchmarkChanges pages through a space of 10,000 records (a first sync),
// 256 KiB per page.
func BenchmarkChanges(b *testing.B) {
	const records, pageBytes = 10_000, 256 << 10
	s, _ := openTest(b, Options{})
	w := newWriter()
	space := newID()
	for range records / 500 {
		ops := make([]record.Op, 500)
		for i := range ops {
			ops[i] = w.op(space, "notes", newID(), map[string]any{"text": text(recordText)})
		}
		commit(b, s, ops...)
	}
	sent := 0
	for b.Loop() {
		var after uint64
		for {
			p, err := s.Changes(context.Background(), space, after, pageBytes)
			if err != nil {
				b.Fatal(err)
			}
			sent += len(p.Records)
			after = p.To
			if !p.More {
				break
			}
		}
	}
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "records/s")
}
