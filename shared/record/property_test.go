package record

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/uuid"
)

// The property test models the system the merge rules are written for: a
// server applying ops in arrival order, and replicas that edit offline on top
// of the last server state they saw, send their FIFO outbox (sometimes
// resending ops whose ack was lost) and pull records back in any order.

type simServer struct {
	recs map[uuid.UUID]*Record
	// replacedBy[{field, ref}] is true once a write of that field that saw
	// ref was applied.
	replacedBy map[fieldVersion]bool
	written    map[Ref]any // every value ever written by an op, by version
	writtenOn  map[Ref]string
}

type fieldVersion struct {
	field string
	ref   Ref
}

type simReplica struct {
	node   uuid.UUID
	author uuid.UUID
	clock  hlc.Timestamp
	server map[uuid.UUID]*Record // last server state seen
	outbox []*Op
}

func (r *simReplica) view(id uuid.UUID) *Record {
	rec := r.server[id]
	for _, o := range r.outbox {
		if o.ID == id {
			if n, _, err := Apply(rec, o); err == nil {
				rec = n // an op over the conflict limit will be refused
			}
		}
	}
	return rec
}

func (s *simServer) apply(t *testing.T, o *Op) {
	cur := s.recs[o.ID]
	next, out, err := Apply(cur, o)
	if err == ErrTooManyConflicts {
		delete(s.written, Ref{HLC: o.HLC, Node: o.Node}) // refused, never acked
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !out.Changed {
		return
	}
	for _, w := range o.Writes {
		if w.Base != nil {
			s.replacedBy[fieldVersion{w.Name, *w.Base}] = true
		}
		for _, x := range w.Resolves {
			s.replacedBy[fieldVersion{w.Name, x}] = true
		}
	}
	s.recs[o.ID] = next
}

func runSim(t *testing.T, seed uint64, replicas, steps int) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ids := []uuid.UUID{uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())}
	fields := []string{"title", "status", "description"}
	srv := &simServer{recs: map[uuid.UUID]*Record{}, replacedBy: map[fieldVersion]bool{}, written: map[Ref]any{}, writtenOn: map[Ref]string{}}
	reps := make([]*simReplica, replicas)
	for i := range reps {
		reps[i] = &simReplica{node: uuid.Must(uuid.NewV7()), author: uuid.Must(uuid.NewV7()), clock: t0, server: map[uuid.UUID]*Record{}}
	}
	serial := 0
	for step := 0; step < steps; step++ {
		r := reps[rng.IntN(len(reps))]
		switch k := rng.IntN(10); {
		case k < 5: // edit offline on top of the local view
			id := ids[rng.IntN(len(ids))]
			r.clock += hlc.Timestamp(1 + rng.IntN(3))
			v := r.view(id)
			o := &Op{Space: space, Collection: "goals", ID: id, HLC: r.clock, Node: r.node, Author: r.author}
			if v != nil && !v.Deleted() && rng.IntN(12) == 0 {
				o.Writes = []Write{{Name: DeletedField, Value: true, Base: fieldRef(v, DeletedField)}}
				for _, f := range v.Fields {
					o.Seen = append(o.Seen, f.Ref())
				}
			} else {
				name := fields[rng.IntN(len(fields))]
				if v != nil && v.Deleted() && rng.IntN(2) == 0 {
					name = DeletedField
				}
				serial++
				var val any = fmt.Sprintf("r%d-%d", slices.Index(reps, r), serial)
				if name == DeletedField {
					val = false
				}
				wr := Write{Name: name, Value: val, Base: fieldRef(v, name)}
				if v != nil && v.Fields[name] != nil && rng.IntN(2) == 0 {
					for _, c := range v.Fields[name].Conflicts {
						wr.Resolves = append(wr.Resolves, c.Ref())
					}
				}
				o.Writes = []Write{wr}
				if name != DeletedField {
					ref := Ref{HLC: o.HLC, Node: o.Node}
					srv.written[ref] = val
					srv.writtenOn[ref] = name
				}
			}
			r.outbox = append(r.outbox, o)
		case k < 8: // send a prefix of the outbox; the ack may be lost
			n := rng.IntN(len(r.outbox) + 1)
			for _, o := range r.outbox[:n] {
				srv.apply(t, o)
				if rng.IntN(4) == 0 {
					srv.apply(t, o) // a duplicated frame
				}
			}
			if rng.IntN(3) != 0 {
				r.outbox = r.outbox[n:]
			}
		default: // pull server records, in random order
			for _, i := range rng.Perm(len(ids)) {
				if rec := srv.recs[ids[i]]; rec != nil {
					r.server[ids[i]] = rec
				}
			}
		}
	}
	// Everyone comes online: flush, then pull.
	for _, r := range reps {
		for _, o := range r.outbox {
			srv.apply(t, o)
		}
		r.outbox = nil
	}
	for _, r := range reps {
		for id, rec := range srv.recs {
			r.server[id] = rec
		}
	}
	for _, id := range ids {
		want := reps[0].view(id)
		for i, r := range reps[1:] {
			if got := r.view(id); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: replica %d diverged on %s", seed, i+1, id)
			}
		}
	}
	// Nothing replaced by a write that saw it comes back (a retransmit
	// re-applied would do that).
	for _, rec := range srv.recs {
		for name, f := range rec.Fields {
			if name == DeletedField {
				continue
			}
			for _, v := range append([]Version{f.Version}, f.Conflicts...) {
				if srv.replacedBy[fieldVersion{name, v.Ref()}] {
					t.Fatalf("seed %d: %v came back after a write replaced it", seed, v.Value)
				}
			}
		}
	}
	// Every word ever written is visible, a conflict, or was replaced by a
	// write that saw it.
	for ref, val := range srv.written {
		if srv.replacedBy[fieldVersion{srv.writtenOn[ref], ref}] {
			continue
		}
		found := false
		for _, rec := range srv.recs {
			f := rec.Fields[srv.writtenOn[ref]]
			if f == nil {
				continue
			}
			if f.Ref() == ref && f.Value == val {
				found = true
			}
			for _, c := range f.Conflicts {
				if c.Ref() == ref && c.Value == val {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("seed %d: value %v (%v) lost", seed, val, ref)
		}
	}
}

func fieldRef(r *Record, name string) *Ref {
	if r == nil || r.Fields[name] == nil {
		return nil
	}
	x := r.Fields[name].Ref()
	return &x
}

func TestPropertyConvergeAndNeverLoseAWord(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	for s := 0; s < seeds; s++ {
		runSim(t, uint64(s), 3+s%3, 300)
	}
}
