// Package storetest is the conformance test every client.Store passes:
// memstore, diskstore, and the browser's IndexedDB store. Durability is
// proven the only way that counts: write, close, reopen, compare.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Opener opens the store under test. Reopen closes s and opens the same
// storage again, as a restarted process or reloaded page would.
type Opener interface {
	Open(t *testing.T) client.Store
	Reopen(t *testing.T, s client.Store) client.Store
}

// JournalPlanter is an Opener that can also put a journal entry straight
// into a store under a LocalSeq its outbox holds, as no Store method does:
// a store that writes in several transactions may leave an op in both
// after a crash (diskstore's older layout did, mid-Rebase). Stores must
// agree on what that means (testOutboxAndJournal); an Opener that cannot
// plant one skips that case.
type JournalPlanter interface {
	PlantJournal(t *testing.T, s client.Store, j client.JournalOp)
}

// Run runs the conformance tests.
func Run(t *testing.T, o Opener) {
	t.Run("Empty", func(t *testing.T) { testEmpty(t, o) })
	t.Run("RoundTripAndReopen", func(t *testing.T) { testRoundTrip(t, o) })
	t.Run("OutboxOrderAndRemove", func(t *testing.T) { testOutbox(t, o) })
	t.Run("ApplyChangesReplaces", func(t *testing.T) { testReplace(t, o) })
	t.Run("Reset", func(t *testing.T) { testReset(t, o) })
	t.Run("AllocatesSeq", func(t *testing.T) { testAllocate(t, o) })
	t.Run("UpdatePending", func(t *testing.T) { testUpdate(t, o) })
	t.Run("AckPendingJournals", func(t *testing.T) { testAck(t, o) })
	t.Run("RebaseResendsJournal", func(t *testing.T) { testRebase(t, o) })
	t.Run("DropSpace", func(t *testing.T) { testDropSpace(t, o) })
	t.Run("JournalIsNotOutbox", func(t *testing.T) { testJournalNotOutbox(t, o) })
	t.Run("OutboxAndJournal", func(t *testing.T) { testOutboxAndJournal(t, o) })
}

// testJournalNotOutbox: an acked op is in the journal only; outbox
// writes that name it (restamp, removal, a dropped space's entries) leave
// it as acked, and Rebase brings it back as it was acked.
func testJournalNotOutbox(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	must(t, s.SaveMeta(ctx, client.Meta{Device: device}))
	for q := uint64(1); q <= 3; q++ {
		must(t, addPending(ctx, s, sampleOp(byte(q), q)))
	}
	must(t, s.AckPending(ctx, []client.JournalOp{{LocalSeq: 2, Seq: 9, Op: sampleOp(2, 2).Op}}, nil))
	restamped := func(q uint64) client.PendingOp {
		p := sampleOp(byte(q), q)
		p.Op.HLC += 1000
		return p
	}
	must(t, s.UpdatePending(ctx, []client.PendingOp{restamped(2), restamped(3)}, nil))
	must(t, s.RemovePending(ctx, []uint64{2}))
	must(t, s.DropSpace(ctx, space2, []uint64{2}))
	s = o.Reopen(t, s)
	snap := load(t, s)
	if want := []client.PendingOp{sampleOp(1, 1), restamped(3)}; !reflect.DeepEqual(snap.Outbox, want) {
		t.Fatalf("outbox %v, want 1 and 3 restamped", outboxSeqs(snap))
	}
	if want := []client.JournalOp{{LocalSeq: 2, Seq: 9, Op: sampleOp(2, 2).Op}}; !reflect.DeepEqual(snap.Journal, want) {
		t.Fatalf("journal:\n got %#v\nwant %#v", snap.Journal, want)
	}
	must(t, s.Rebase(ctx, client.Meta{Device: device, Incarnation: id(0x03)}))
	snap = load(t, s)
	s.Close()
	if want := []client.PendingOp{sampleOp(1, 1), sampleOp(2, 2), restamped(3)}; !reflect.DeepEqual(snap.Outbox, want) || len(snap.Journal) != 0 {
		t.Fatalf("after rebase: outbox %v, journal %v; want 1, 2 as acked, 3 restamped", outboxSeqs(snap), journalSeqs(snap))
	}
}

// testOutboxAndJournal: an op both in the outbox and in the journal is an
// outbox op, to be sent (again: the server answers a retransmit with its
// seq), and the outbox's copy is the one kept (it may have been restamped
// since). Load lists it in the outbox only, Rebase keeps the outbox copy,
// an ack journals the outbox copy, and trimming that drops the journal
// copy for good.
func testOutboxAndJournal(t *testing.T, o Opener) {
	pl, ok := o.(JournalPlanter)
	if !ok {
		t.Skip("this opener cannot plant a journal entry")
	}
	ctx := context.Background()
	s := o.Open(t)
	must(t, s.SaveMeta(ctx, client.Meta{Device: device}))
	for q := uint64(1); q <= 2; q++ {
		must(t, addPending(ctx, s, sampleOp(byte(q), q)))
	}
	stale := func(q uint64) client.JournalOp {
		p := sampleOp(byte(q), q)
		p.Op.HLC -= 1000
		return client.JournalOp{LocalSeq: q, Seq: 3, Op: p.Op}
	}
	pl.PlantJournal(t, s, stale(1))
	pl.PlantJournal(t, s, stale(2))
	s = o.Reopen(t, s)
	snap := load(t, s)
	if want := []client.PendingOp{sampleOp(1, 1), sampleOp(2, 2)}; !reflect.DeepEqual(snap.Outbox, want) || len(snap.Journal) != 0 {
		t.Fatalf("outbox %v, journal %v; want 1 and 2 in the outbox only", outboxSeqs(snap), journalSeqs(snap))
	}
	acked := client.JournalOp{LocalSeq: 2, Seq: 8, Op: sampleOp(2, 2).Op}
	must(t, s.AckPending(ctx, []client.JournalOp{acked}, nil))
	snap = load(t, s)
	if want := []client.JournalOp{acked}; !reflect.DeepEqual(snap.Journal, want) || !reflect.DeepEqual(outboxSeqs(snap), []uint64{1}) {
		t.Fatalf("after the ack: outbox %v, journal %#v; want 1, and 2 as acked", outboxSeqs(snap), snap.Journal)
	}
	must(t, s.AckPending(ctx, nil, []uint64{2}))
	snap = load(t, s)
	if len(snap.Journal) != 0 {
		t.Fatalf("after trimming 2: journal %#v", snap.Journal)
	}
	must(t, s.Rebase(ctx, client.Meta{Device: device, Incarnation: id(0x04)}))
	s = o.Reopen(t, s)
	snap = load(t, s)
	s.Close()
	if want := []client.PendingOp{sampleOp(1, 1)}; !reflect.DeepEqual(snap.Outbox, want) || len(snap.Journal) != 0 {
		t.Fatalf("after rebase: outbox %v, journal %v; want 1 as added", outboxSeqs(snap), journalSeqs(snap))
	}
}

func outboxSeqs(snap *client.Snapshot) []uint64 {
	var got []uint64
	for _, p := range snap.Outbox {
		got = append(got, p.LocalSeq)
	}
	return got
}

func journalSeqs(snap *client.Snapshot) []uint64 {
	var got []uint64
	for _, j := range snap.Journal {
		got = append(got, j.LocalSeq)
	}
	return got
}

// testUpdate: restamped ops replace their entries, an op no longer in the
// outbox is not brought back, and the metadata goes with them.
func testUpdate(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	must(t, s.SaveMeta(ctx, client.Meta{Device: device, User: user}))
	for q := uint64(1); q <= 3; q++ {
		must(t, addPending(ctx, s, sampleOp(byte(q), q)))
	}
	must(t, s.RemovePending(ctx, []uint64{2}))
	newDev := id(0xee)
	var ups []client.PendingOp
	for q := uint64(1); q <= 3; q++ {
		p := sampleOp(byte(q), q)
		p.Op.Node = newDev
		p.Op.HLC += 1000
		ups = append(ups, p)
	}
	meta := client.Meta{Device: newDev, User: user, Incarnation: id(0x77), Skew: -6_311_390_400_000, Replaced: device}
	must(t, s.UpdatePending(ctx, ups, &meta))
	s = o.Reopen(t, s)
	defer s.Close()
	snap := load(t, s)
	if want := []client.PendingOp{ups[0], ups[2]}; !reflect.DeepEqual(snap.Outbox, want) {
		t.Fatalf("outbox after update:\n got %#v\nwant %#v", snap.Outbox, want)
	}
	if snap.Meta == nil || !reflect.DeepEqual(*snap.Meta, meta) {
		t.Fatalf("meta: got %+v, want %+v", snap.Meta, meta)
	}
	// Without metadata only the ops change.
	ups[0].Op.HLC++
	must(t, s.UpdatePending(ctx, ups[:1], nil))
	snap = load(t, s)
	if snap.Outbox[0].Op.HLC != ups[0].Op.HLC || !reflect.DeepEqual(*snap.Meta, meta) {
		t.Fatalf("after op-only update: %+v %+v", snap.Outbox[0], snap.Meta)
	}
}

// testAck: acked ops move from the outbox to the journal, trim drops
// journal entries, unknown numbers are ignored, and it all survives a
// reopen; Reset empties the journal.
func testAck(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	must(t, s.SaveMeta(ctx, client.Meta{Device: device}))
	for _, q := range []uint64{1, 2, 3, 256, 300} {
		must(t, addPending(ctx, s, sampleOp(byte(q), q)))
	}
	j := func(q, seq uint64) client.JournalOp {
		p := sampleOp(byte(q), q)
		return client.JournalOp{LocalSeq: q, Seq: seq, Op: p.Op}
	}
	must(t, s.AckPending(ctx, []client.JournalOp{j(1, 10), j(256, 11), j(2, 12)}, nil))
	must(t, s.AckPending(ctx, []client.JournalOp{j(3, 13), j(999, 14)}, []uint64{1, 4242}))
	s = o.Reopen(t, s)
	snap := load(t, s)
	if got, want := outboxSeqs(snap), []uint64{300}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
	if want := []client.JournalOp{j(2, 12), j(3, 13), j(256, 11)}; !reflect.DeepEqual(snap.Journal, want) {
		t.Fatalf("journal:\n got %#v\nwant %#v", snap.Journal, want)
	}
	must(t, s.Reset(ctx))
	snap = load(t, s)
	s.Close()
	if len(snap.Journal) != 0 {
		t.Fatalf("journal after reset: %v", journalSeqs(snap))
	}
}

// testRebase: the server's state goes, the journal comes back into the
// outbox in LocalSeq order among the unacked ops, the metadata is saved.
func testRebase(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	must(t, s.SaveMeta(ctx, client.Meta{Device: device, User: user, Incarnation: id(0x01)}))
	must(t, s.ApplyChanges(ctx, space, 7, []*record.Record{sampleRecord(1, 3, "a"), sampleRecord(2, 7, "b")}))
	must(t, s.ApplyChanges(ctx, space2, 2, nil))
	for q := uint64(1); q <= 5; q++ {
		must(t, addPending(ctx, s, sampleOp(byte(q), q)))
	}
	must(t, s.AckPending(ctx, []client.JournalOp{
		{LocalSeq: 1, Seq: 4, Op: sampleOp(1, 1).Op},
		{LocalSeq: 3, Seq: 5, Op: sampleOp(3, 3).Op},
	}, nil))
	meta := client.Meta{Device: device, User: user, Incarnation: id(0x02)}
	must(t, s.Rebase(ctx, meta))
	s = o.Reopen(t, s)
	defer s.Close()
	snap := load(t, s)
	if len(snap.Records) != 0 || len(snap.Cursors) != 0 || len(snap.Journal) != 0 {
		t.Fatalf("after rebase: %d records, cursors %v, journal %v", len(snap.Records), snap.Cursors, journalSeqs(snap))
	}
	var want []client.PendingOp
	for q := uint64(1); q <= 5; q++ {
		want = append(want, sampleOp(byte(q), q))
	}
	if !reflect.DeepEqual(snap.Outbox, want) {
		t.Fatalf("outbox after rebase: %v, want 1..5 as added", outboxSeqs(snap))
	}
	if snap.Meta == nil || !reflect.DeepEqual(*snap.Meta, meta) {
		t.Fatalf("meta: got %+v, want %+v", snap.Meta, meta)
	}
	// A new number is still above every one held.
	q, err := s.AddPending(ctx, sampleOp(9, 0))
	must(t, err)
	if q <= 5 {
		t.Fatalf("allocated %d after rebase", q)
	}
}

// testDropSpace: a space the person left loses its records, its cursor
// and the outbox entries named, durably; a neighbouring space (its id
// differs in the last byte only, so a store matching keys by a prefix too
// short would take it too), the other ops and the metadata stay.
func testDropSpace(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	meta := client.Meta{Device: device, User: user}
	must(t, s.SaveMeta(ctx, meta))
	inOther := func(r *record.Record) *record.Record { r.Space = space2; return r }
	must(t, s.ApplyChanges(ctx, space, 7, []*record.Record{sampleRecord(1, 3, "a"), sampleRecord(2, 7, "b")}))
	kept := inOther(sampleRecord(1, 4, "stays"))
	must(t, s.ApplyChanges(ctx, space2, 4, []*record.Record{kept}))
	other := sampleOp(9, 3)
	other.Op.Space = space2
	for _, p := range []client.PendingOp{sampleOp(1, 1), sampleOp(2, 2), other, sampleOp(4, 4)} {
		must(t, addPending(ctx, s, p))
	}
	must(t, s.AckPending(ctx, []client.JournalOp{{LocalSeq: 4, Seq: 7, Op: sampleOp(4, 4).Op}}, nil))
	must(t, s.DropSpace(ctx, space, []uint64{1, 2, 99}))
	s = o.Reopen(t, s)
	defer s.Close()
	snap := load(t, s)
	if len(snap.Records) != 1 || !reflect.DeepEqual(snap.Records[kept.Key()], kept) {
		t.Errorf("records after the drop: %+v, want only %v", snap.Records, kept.Key())
	}
	if want := map[uuid.UUID]uint64{space2: 4}; !reflect.DeepEqual(snap.Cursors, want) {
		t.Errorf("cursors: got %v, want %v", snap.Cursors, want)
	}
	if got := outboxSeqs(snap); !reflect.DeepEqual(got, []uint64{3}) {
		t.Errorf("outbox: got %v, want [3]", got)
	}
	if got := journalSeqs(snap); !reflect.DeepEqual(got, []uint64{4}) {
		t.Errorf("journal: got %v, want [4] (the journal is not the space's copy)", got)
	}
	if snap.Meta == nil || !reflect.DeepEqual(*snap.Meta, meta) {
		t.Errorf("meta: got %+v, want %+v", snap.Meta, meta)
	}
	must(t, s.DropSpace(ctx, space, nil)) // again, on nothing: no error
}

var (
	space  = uuid.MustParse("01900000-0000-7000-8000-0000000000a1")
	space2 = uuid.MustParse("01900000-0000-7000-8000-0000000000a2")
	device = uuid.MustParse("01900000-0000-7000-8000-0000000000d1")
	user   = uuid.MustParse("01900000-0000-7000-8000-0000000000b1")
)

func id(n byte) uuid.UUID {
	u := uuid.MustParse("01900000-0000-7000-8000-000000000000")
	u[15] = n
	return u
}

func sampleRecord(n byte, seq uint64, text string) *record.Record {
	ts := hlc.New(1_700_000_000_000+int64(seq), 0)
	return &record.Record{Format: record.FormatVersion, Space: space, Collection: "goals", ID: id(n), Seq: seq,
		Fields: map[string]*record.Field{
			"description": {Version: record.Version{Value: text, HLC: ts, Node: device, Author: user},
				Conflicts: []record.Version{{Value: "other", HLC: ts - 1, Node: user, Author: user}}},
			"count": {Version: record.Version{Value: int64(seq), HLC: ts, Node: device, Author: user}},
			"tags":  {Version: record.Version{Value: []any{"a", map[string]any{"k": 1.5}}, HLC: ts, Node: device, Author: user}},
		},
		Clock: []record.NodeClock{{Node: device, HLC: ts}}}
}

func sampleOp(n byte, seq uint64) client.PendingOp {
	base := record.Ref{HLC: 5, Node: device}
	op := record.Op{Space: space, Collection: "goals", ID: id(n), HLC: hlc.New(1_700_000_000_000, uint16(seq)), Node: device, Author: user,
		Writes: []record.Write{{Name: "status", Value: "met", Base: &base, Resolves: []record.Ref{{HLC: 4, Node: user}}},
			{Name: "count", Value: int64(300)}},
		Seen: []record.Ref{base}}
	if err := op.Validate(); err != nil {
		panic(err)
	}
	return client.PendingOp{LocalSeq: seq, Op: op}
}

func load(t *testing.T, s client.Store) *client.Snapshot {
	t.Helper()
	snap, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testEmpty(t *testing.T, o Opener) {
	s := o.Open(t)
	defer s.Close()
	snap := load(t, s)
	if snap.Meta != nil || len(snap.Records) != 0 || len(snap.Outbox) != 0 || len(snap.Cursors) != 0 {
		t.Fatalf("new store not empty: %+v", snap)
	}
}

func testRoundTrip(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	meta := client.Meta{Device: device, User: user, LastHLC: 99, Spaces: []protocol.SpaceInfo{{ID: space, Name: "Ana", Kind: "student", Role: "family", Head: 7}}}
	must(t, s.SaveMeta(ctx, meta))
	recs := []*record.Record{sampleRecord(1, 3, "read every night"), sampleRecord(2, 7, "count to ten")}
	must(t, s.ApplyChanges(ctx, space, 7, recs))
	must(t, s.ApplyChanges(ctx, space2, 2, nil))
	ops := []client.PendingOp{sampleOp(1, 1), sampleOp(3, 2)}
	for _, p := range ops {
		must(t, addPending(ctx, s, p))
	}
	check := func(snap *client.Snapshot) {
		t.Helper()
		if snap.Meta == nil || !reflect.DeepEqual(*snap.Meta, meta) {
			t.Errorf("meta: got %+v, want %+v", snap.Meta, meta)
		}
		if len(snap.Records) != 2 {
			t.Fatalf("%d records, want 2", len(snap.Records))
		}
		for _, r := range recs {
			if got := snap.Records[r.Key()]; !reflect.DeepEqual(got, r) {
				t.Errorf("record %v:\n got %#v\nwant %#v", r.Key(), got, r)
			}
		}
		if !reflect.DeepEqual(snap.Outbox, ops) {
			t.Errorf("outbox:\n got %#v\nwant %#v", snap.Outbox, ops)
		}
		if want := map[uuid.UUID]uint64{space: 7, space2: 2}; !reflect.DeepEqual(snap.Cursors, want) {
			t.Errorf("cursors: got %v, want %v", snap.Cursors, want)
		}
	}
	check(load(t, s))
	s = o.Reopen(t, s)
	defer s.Close()
	check(load(t, s))
}

func testOutbox(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	must(t, s.SaveMeta(ctx, client.Meta{Device: device}))
	// Sequence numbers past 255 and 65535 catch stores that order keys
	// by text or little-endian bytes.
	seqs := []uint64{1, 2, 9, 10, 255, 256, 70000}
	for _, q := range seqs {
		must(t, addPending(ctx, s, sampleOp(byte(q), q)))
	}
	must(t, s.RemovePending(ctx, []uint64{2, 256, 12345}))
	s = o.Reopen(t, s)
	defer s.Close()
	var got []uint64
	for _, p := range load(t, s).Outbox {
		got = append(got, p.LocalSeq)
	}
	if want := []uint64{1, 9, 10, 255, 70000}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outbox after remove and reopen: %v, want %v", got, want)
	}
}

func testReplace(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	defer s.Close()
	must(t, s.ApplyChanges(ctx, space, 3, []*record.Record{sampleRecord(1, 3, "old")}))
	newer := sampleRecord(1, 5, "new")
	must(t, s.ApplyChanges(ctx, space, 5, []*record.Record{newer}))
	snap := load(t, s)
	if len(snap.Records) != 1 || !reflect.DeepEqual(snap.Records[newer.Key()], newer) || snap.Cursors[space] != 5 {
		t.Fatalf("got %+v", snap)
	}
}

// testAllocate: the store, not the caller, has the last word on LocalSeq
// (two engines on one store, each hinting from its own memory).
func testAllocate(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	defer s.Close()
	must(t, s.SaveMeta(ctx, client.Meta{Device: device}))
	a, err := s.AddPending(ctx, sampleOp(1, 5))
	must(t, err)
	b, err := s.AddPending(ctx, sampleOp(2, 1)) // a stale hint
	must(t, err)
	c, err := s.AddPending(ctx, sampleOp(3, 0))
	must(t, err)
	if a != 5 || b <= a || c <= b {
		t.Fatalf("allocated %d, %d, %d; want 5 then increasing", a, b, c)
	}
	var got []uint64
	for _, p := range load(t, s).Outbox {
		got = append(got, p.LocalSeq)
	}
	if want := []uint64{a, b, c}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
}

func testReset(t *testing.T, o Opener) {
	ctx := context.Background()
	s := o.Open(t)
	must(t, s.SaveMeta(ctx, client.Meta{Device: device}))
	must(t, s.ApplyChanges(ctx, space, 3, []*record.Record{sampleRecord(1, 3, "x")}))
	must(t, addPending(ctx, s, sampleOp(1, 1)))
	must(t, s.Reset(ctx))
	s = o.Reopen(t, s)
	defer s.Close()
	snap := load(t, s)
	if snap.Meta != nil || len(snap.Records) != 0 || len(snap.Outbox) != 0 || len(snap.Cursors) != 0 {
		t.Fatalf("after reset: %+v", snap)
	}
	// Usable again after a reset.
	must(t, addPending(ctx, s, sampleOp(1, 1)))
	if n := len(load(t, s).Outbox); n != 1 {
		t.Fatalf("outbox after reset and add: %d", n)
	}
}

// SampleOp returns a valid pending op with LocalSeq seq, for stores' own
// tests.
func SampleOp(seq uint64) client.PendingOp { return sampleOp(byte(seq), seq) }

// BigPage returns n records of about 1 KiB each with distinct ids and
// sequence numbers 1..n, enough to exceed one small transaction.
func BigPage(n int) []*record.Record {
	out := make([]*record.Record, n)
	text := string(make([]byte, 0, 1024))
	for len(text) < 1024 {
		text += "read every night with a grown-up. "
	}
	for i := range out {
		r := sampleRecord(0, uint64(i+1), text)
		r.ID = uuid.Must(uuid.NewV7())
		out[i] = r
	}
	return out
}

// addPending stores p and checks that the store kept the number asked for
// (every caller here asks for a fresh, increasing one).
func addPending(ctx context.Context, s client.Store, p client.PendingOp) error {
	q, err := s.AddPending(ctx, p)
	if err == nil && q != p.LocalSeq {
		err = fmt.Errorf("AddPending(seq %d) stored it as %d", p.LocalSeq, q)
	}
	return err
}
