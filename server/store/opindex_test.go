package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
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
