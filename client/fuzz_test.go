package client

import (
	"reflect"
	"runtime"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// A device's store may hold bytes written by another app version, cut short
// by a crash or damaged on disk; the engine decodes them at every start.

func fuzzPending() []PendingOp {
	sp := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	id := uuid.MustParse("01900000-0000-7000-8000-000000000002")
	node := uuid.MustParse("01900000-0000-7000-8000-000000000003")
	ts := hlc.New(1_700_000_000_000, 1)
	return []PendingOp{
		{LocalSeq: 1, Op: record.Op{Space: sp, Collection: "goals", ID: id, HLC: ts, Node: node, Author: node,
			Writes: []record.Write{{Name: "title", Value: "read every night"}, {Name: "minutes", Value: int64(20)}}}},
		{LocalSeq: 1 << 40, Op: record.Op{Space: sp, Collection: "goals", ID: id, HLC: ts + 1,
			Writes: []record.Write{{Name: record.DeletedField, Value: true, Base: &record.Ref{HLC: ts, Node: node}}},
			Seen:   []record.Ref{{HLC: ts, Node: node}}}},
	}
}

// FuzzUnmarshalPending: no panic, and an outbox entry that decodes encodes
// and decodes to the same entry (it is what will be pushed), after a first
// trip that may turn a float 3.0 into 3.
func FuzzUnmarshalPending(f *testing.F) {
	for _, p := range fuzzPending() {
		b, err := MarshalPending(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x82, 0xa1, 'f', 0x01, 0xa1, 'o', 0x81, 0xa1, 'w', 0xdd, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := UnmarshalPending(b)
		if err != nil {
			return
		}
		enc, err := MarshalPending(p)
		if err != nil {
			t.Fatalf("decoded pending op does not encode: %v", err)
		}
		again, err := UnmarshalPending(enc)
		if err != nil {
			t.Fatalf("re-encoded pending op does not decode: %v", err)
		}
		// The first trip may turn a float 3.0 into the integer 3 (compact
		// floats); from then on the op must stay as it is.
		if enc, err = MarshalPending(again); err != nil {
			t.Fatalf("pending op does not encode twice: %v", err)
		}
		third, err := UnmarshalPending(enc)
		if err != nil || !reflect.DeepEqual(again, third) {
			t.Fatalf("pending op does not round-trip (%v):\n%#v\n%#v", err, again, third)
		}
	})
}

// FuzzUnmarshalMeta: no panic, and metadata that decodes round-trips.
func FuzzUnmarshalMeta(f *testing.F) {
	m := Meta{Device: uuid.MustParse("01900000-0000-7000-8000-000000000003"), User: uuid.MustParse("01900000-0000-7000-8000-000000000004"),
		LastHLC: hlc.New(1_700_000_000_000, 9),
		Spaces:  []protocol.SpaceInfo{{ID: uuid.MustParse("01900000-0000-7000-8000-000000000001"), Name: "Ana", Kind: "student", Role: "parent", Head: 12}}}
	full := m
	full.Incarnation, full.Skew, full.Replaced = uuid.MustParse("01900000-0000-7000-8000-000000000005"), -6_311_390_400_000, m.User
	for _, m := range []Meta{m, {}, full} {
		b, err := MarshalMeta(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := UnmarshalMeta(b)
		if err != nil {
			return
		}
		enc, err := MarshalMeta(m)
		if err != nil {
			t.Fatalf("decoded meta does not encode: %v", err)
		}
		again, err := UnmarshalMeta(enc)
		if err != nil {
			t.Fatalf("re-encoded meta does not decode: %v", err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("meta does not round-trip:\n%#v\n%#v", m, again)
		}
	})
}

// FuzzUnmarshalJournal: no panic, and a journal entry that decodes
// round-trips after a first trip (as FuzzUnmarshalPending): it is what a
// restored server is sent.
func FuzzUnmarshalJournal(f *testing.F) {
	for _, p := range fuzzPending() {
		b, err := MarshalJournal(JournalOp{LocalSeq: p.LocalSeq, Seq: 7, Op: p.Op})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := UnmarshalJournal(b)
		if err != nil {
			return
		}
		enc, err := MarshalJournal(j)
		if err != nil {
			t.Fatalf("decoded journal op does not encode: %v", err)
		}
		again, err := UnmarshalJournal(enc)
		if err != nil {
			t.Fatalf("re-encoded journal op does not decode: %v", err)
		}
		if enc, err = MarshalJournal(again); err != nil {
			t.Fatalf("journal op does not encode twice: %v", err)
		}
		third, err := UnmarshalJournal(enc)
		if err != nil || !reflect.DeepEqual(again, third) {
			t.Fatalf("journal op does not round-trip (%v):\n%#v\n%#v", err, again, third)
		}
	})
}

// TestUnmarshalStoredAllocationIsBoundedByInput: stored bytes that declare
// huge lengths cost next to nothing to refuse.
func TestUnmarshalStoredAllocationIsBoundedByInput(t *testing.T) {
	for name, b := range map[string][]byte{
		"pending array32 writes": {0x82, 0xa1, 'f', 0x01, 0xa1, 'o', 0x81, 0xa1, 'w', 0xdd, 0x7f, 0xff, 0xff, 0xff},
		"pending str32 name":     {0x82, 0xa1, 'f', 0x01, 0xa1, 'o', 0x81, 0xa1, 'c', 0xdb, 0x7f, 0xff, 0xff, 0xff},
		"meta array32 spaces":    {0x82, 0xa1, 'f', 0x01, 0xa1, 's', 0xdd, 0x7f, 0xff, 0xff, 0xff},
		"meta map32":             {0xdf, 0x7f, 0xff, 0xff, 0xff},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 4 {
			_, _ = UnmarshalPending(b)
			_, _ = UnmarshalMeta(b)
			_, _ = UnmarshalJournal(b)
		}
		runtime.ReadMemStats(&after)
		if got := (after.TotalAlloc - before.TotalAlloc) / 4; got > 64<<10 {
			t.Errorf("%s: %d-byte input allocated %d bytes", name, len(b), got)
		}
	}
}
