package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/wire"
)

// Issue 11, attack 2: "already applied" is said only of the same op. A
// spoofed far-future clock is refused, and an op sharing (device, clock)
// with a different op is refused for restamping, never acked unapplied.
func TestOpIndexAcksOnlyTheSameOp(t *testing.T) {
	s, _ := openTest(t, Options{})
	space, id := newID(), newID()
	teacher := newWriter()

	first := teacher.op(space, "goals", id, map[string]any{"title": "Read aloud"})
	r1 := commit(t, s, first)[0]
	if !r1.Changed {
		t.Fatal("first op not applied")
	}
	// The retransmit after a lost ack: the same op, the same seq.
	if r := commit(t, s, first)[0]; r.Changed || r.Seq != r1.Seq {
		t.Fatalf("retransmit: %+v, want unchanged at seq %d", r, r1.Seq)
	}
	// A different op at the same (device, clock): refused, with a hint.
	other := first
	other.Writes = []record.Write{{Name: "title", Value: "Something else", Base: &record.Ref{HLC: first.HLC, Node: first.Node}}}
	r := commitRaw(t, s, other)[0]
	if !errors.Is(r.Err, server.ErrClockReused) || r.Clock < first.HLC {
		t.Fatalf("reused clock: %+v, want ErrClockReused with a clock >= %v", r, first.HLC)
	}
	// Far ahead of the server's clock: refused with the server's time.
	spoof := teacher.op(space, "goals", id, map[string]any{"title": "From 2226"})
	spoof.HLC = hlc.New(time.Now().AddDate(200, 0, 0).UnixMilli(), 0)
	r = commitRaw(t, s, spoof)[0]
	if !errors.Is(r.Err, server.ErrClockAhead) || r.Clock == 0 || r.Clock > spoof.HLC {
		t.Fatalf("far future: %+v, want ErrClockAhead with the server's clock", r)
	}
	// The teacher's later edit is applied and is what a reader sees.
	later := teacher.op(space, "goals", id, map[string]any{"title": "Read aloud nightly"})
	if r := commit(t, s, later)[0]; !r.Changed {
		t.Fatalf("later edit not applied: %+v", r)
	}
	rec, err := s.Record(context.Background(), later.Key())
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Value("title"); got != "Read aloud nightly" {
		t.Fatalf("title %q", got)
	}
	// An older clock from the same device that names a new op: refused for
	// restamping, not swallowed.
	old := teacher.op(space, "goals", id, map[string]any{"title": "stale"})
	old.HLC = first.HLC - 1
	if r := commitRaw(t, s, old)[0]; !errors.Is(r.Err, server.ErrClockReused) {
		t.Fatalf("older clock: %+v, want ErrClockReused", r)
	}
	// Within one group too: two different ops at one (device, clock).
	a := teacher.op(space, "goals", newID(), map[string]any{"title": "a"})
	b := a
	b.Writes = []record.Write{{Name: "title", Value: "b"}}
	res := commitRaw(t, s, a, b)
	if !res[0].Changed || !errors.Is(res[1].Err, server.ErrClockReused) {
		t.Fatalf("same group: %+v", res)
	}
}

// TestOpIndexBelowTheDevicesLatest: the committer skips the index read for
// an op above its device's highest indexed clock (opHighs). An op at or
// below it is still looked up, with the cache warm and after a restart
// (cold): a retransmit of an older op is acked at its seq, and a different
// op at an indexed (device, clock) on a record that device never wrote is
// refused, where the record's clock alone would have let it apply.
func TestOpIndexBelowTheDevicesLatest(t *testing.T) {
	s, dir := openTest(t, Options{})
	space := newID()
	dev := newWriter()
	first := dev.op(space, "goals", newID(), map[string]any{"title": "first"})
	latest := dev.op(space, "goals", newID(), map[string]any{"title": "latest"})
	r1 := commit(t, s, first)[0]
	if r := commit(t, s, latest)[0]; !r1.Changed || !r.Changed {
		t.Fatalf("not applied: %+v, %+v", r1, r)
	}
	check := func(when string) {
		t.Helper()
		if r := commit(t, s, first)[0]; r.Changed || r.Seq != r1.Seq {
			t.Fatalf("%s: retransmit of an older op: %+v, want unchanged at seq %d", when, r, r1.Seq)
		}
		for _, at := range []record.Op{first, latest} {
			other := dev.op(space, "goals", newID(), map[string]any{"title": "another op"})
			other.HLC = at.HLC
			if r := commitRaw(t, s, other)[0]; !errors.Is(r.Err, server.ErrClockReused) {
				t.Fatalf("%s: a different op at an indexed clock on a new record: %+v, want ErrClockReused", when, r)
			}
		}
	}
	check("warm")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir, Options{})
	check("after a restart")
	// In one group: the second op at a new clock is refused from the
	// group's own entries, before anything is on disk.
	a := dev.op(space, "goals", newID(), map[string]any{"title": "a"})
	b := dev.op(space, "goals", newID(), map[string]any{"title": "b"})
	b.HLC = a.HLC
	if res := commitRaw(t, s, a, b); !res[0].Changed || !errors.Is(res[1].Err, server.ErrClockReused) {
		t.Fatalf("same group: %+v", res)
	}
}

// TestLogEntryReusesTheOpBytes: the log entry written with the op's bytes
// from its digest is the entry EncodeWire writes.
func TestLogEntryReusesTheOpBytes(t *testing.T) {
	op := newWriter().op(newID(), "goals", newID(), map[string]any{"title": "Read aloud", "n": int64(3), "tags": []any{"a", map[string]any{"b": 1.5}}})
	ob, _, err := encodeOp(&op)
	if err != nil {
		t.Fatal(err)
	}
	for _, conflict := range []bool{false, true} {
		e := server.LogEntry{Format: record.FormatVersion, Seq: 42, Op: op, Conflict: conflict}
		want, err := wire.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		e.Op = record.Op{}
		got, err := wire.Marshal(&logEntryOp{e, ob})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("conflict %v: log entry from the op's bytes differs:\n got %x\nwant %x", conflict, got, want)
		}
	}
}
