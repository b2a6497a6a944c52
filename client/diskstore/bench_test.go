package diskstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/storetest"
)

// BenchmarkAckPending acks pushes of 500 ops of about 300 bytes, as w1
// (10,000 records pushed after offline creation) does, trimming the
// journal to its bounds once it is full, fsync included.
func BenchmarkAckPending(b *testing.B) {
	const push = 500
	ctx := context.Background()
	s, err := diskstore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveMeta(ctx, client.Meta{}); err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("a goal for the term ", 12)
	var journal []uint64
	seq := uint64(0)
	for b.Loop() {
		b.StopTimer()
		acked := make([]client.JournalOp, 0, push)
		for range push {
			seq++
			p := storetest.SampleOp(seq)
			p.LocalSeq = seq
			p.Op.Writes[0].Value = text
			if _, err := s.AddPending(ctx, p); err != nil {
				b.Fatal(err)
			}
			acked = append(acked, client.JournalOp{LocalSeq: seq, Seq: seq, Op: p.Op})
		}
		journal = append(journal, seqsOf(acked)...)
		var trim []uint64
		if over := len(journal) - 3*push; over > 0 {
			trim, journal = journal[:over:over], journal[over:]
		}
		b.StartTimer()
		if err := s.AckPending(ctx, acked, trim); err != nil {
			b.Fatal(err)
		}
	}
}

func seqsOf(js []client.JournalOp) []uint64 {
	q := make([]uint64, len(js))
	for i, j := range js {
		q[i] = j.LocalSeq
	}
	return q
}
