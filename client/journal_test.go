package client

import (
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

func journalOp(q uint64, text string) JournalOp {
	sp := uuid.MustParse("01900000-0000-7000-8000-0000000000a1")
	return JournalOp{LocalSeq: q, Seq: q, Op: record.Op{Space: sp, Collection: "goals", ID: sp, HLC: hlc.New(1_700_000_000_000, uint16(q)),
		Writes: []record.Write{{Name: "title", Value: text}}}}
}

// TestJournalTrimsOldestPastItsBounds: the journal keeps the newest acked
// ops within MaxJournalOps and MaxJournalBytes, dropping the oldest first,
// and never drops the op just acked.
func TestJournalTrimsOldestPastItsBounds(t *testing.T) {
	e := &Engine{}
	var batch []JournalOp
	for q := uint64(1); q <= MaxJournalOps+7; q++ {
		batch = append(batch, journalOp(q, "x"))
	}
	next, bytes, trim := e.planJournalLocked(batch)
	if len(next) != MaxJournalOps || len(trim) != 7 || trim[0] != 1 || trim[6] != 7 || next[0].localSeq != 8 {
		t.Fatalf("count bound: kept %d (first %d), trimmed %v", len(next), next[0].localSeq, trim)
	}
	e.journal, e.journalBytes = next, bytes

	big := string(make([]byte, MaxJournalBytes/4))
	var bigs []JournalOp
	for q := uint64(MaxJournalOps + 8); q < MaxJournalOps+13; q++ {
		bigs = append(bigs, journalOp(q, big))
	}
	next, bytes, trim = e.planJournalLocked(bigs)
	if bytes > MaxJournalBytes || len(next) == 0 || next[len(next)-1].localSeq != MaxJournalOps+12 {
		t.Fatalf("byte bound: %d bytes in %d entries", bytes, len(next))
	}
	sum := 0
	for _, j := range next {
		sum += j.size
	}
	if sum != bytes || len(trim) < MaxJournalOps {
		t.Fatalf("bytes %d, entries sum to %d; trimmed %d", bytes, sum, len(trim))
	}

	// One op bigger than the bound alone is kept: the newest always is.
	e.journal, e.journalBytes = nil, 0
	huge := journalOp(1, string(make([]byte, MaxJournalBytes+1)))
	next, _, trim = e.planJournalLocked([]JournalOp{huge})
	if len(next) != 1 || len(trim) != 0 {
		t.Fatalf("huge op: kept %d, trimmed %v", len(next), trim)
	}
}
