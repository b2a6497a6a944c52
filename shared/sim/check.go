package sim

import (
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// reference is the model the run is checked against. It is deliberately
// simpler than the merge: it only remembers which ops were made, acked and
// refused; the server's log says which were applied. From those it states
// what must be true of the final records without recomputing any merge.
type reference struct {
	ops     map[record.Ref]bool // every op a replica made
	acks    map[record.Ref]bool // acked as committed
	refuses map[record.Ref]bool // acked as refused
}

func newReference() *reference {
	return &reference{ops: map[record.Ref]bool{}, acks: map[record.Ref]bool{}, refuses: map[record.Ref]bool{}}
}

func refOf(op record.Op) record.Ref { return record.Ref{HLC: op.HLC, Node: op.Node} }

func (m *reference) made(op record.Op)    { m.ops[refOf(op)] = true }
func (m *reference) acked(op record.Op)   { m.acks[refOf(op)] = true }
func (m *reference) refused(op record.Op) { m.refuses[refOf(op)] = true }

// fieldVersion is one version of one field of one record.
type fieldVersion struct {
	id    uuid.UUID
	field string
	ref   record.Ref
}

// transmit carries a frame across the wire: through the real codec when
// the run asks for it, so that what arrives is what the bytes say.
func (w *world) transmit(m protocol.Message) protocol.Message {
	if !w.cfg.Codec {
		return m
	}
	b, err := protocol.Encode(m)
	if err != nil {
		w.srv.fatal = fmt.Errorf("encode %s: %v", m.Type(), err)
		return m
	}
	out, err := protocol.Decode(b)
	if err != nil {
		w.srv.fatal = fmt.Errorf("decode %s: %v", m.Type(), err)
		return m
	}
	return out
}

// check holds the settled run to the reference model.
func (w *world) check() error {
	s := w.srv
	// 1. Every replica holds exactly the server's records, and so sees
	// what every other replica sees.
	for _, r := range w.reps {
		if r.cursor != s.head {
			return fmt.Errorf("replica %d ended at cursor %d, server head %d", r.idx, r.cursor, s.head)
		}
		for _, id := range w.ids {
			if d := diff(r.view(id), s.recs[id]); d != "" {
				return fmt.Errorf("replica %d diverged on record %s: %s", r.idx, id, d)
			}
		}
	}

	// 2. No op applied twice: each (node, clock) changes a record once.
	applied := map[record.Ref]bool{}
	seenByDelete := map[fieldVersion]bool{} // field versions a delete named in Seen
	replaced := map[fieldVersion]bool{}     // written over by a write that saw it
	written := map[fieldVersion]any{}       // every value an applied op wrote
	for _, e := range s.log {
		ref := refOf(e.op)
		if applied[ref] {
			return fmt.Errorf("op %v on %s applied twice (seq %d)", ref.HLC, e.op.ID, e.seq)
		}
		applied[ref] = true
		for _, x := range e.op.Seen {
			seenByDelete[fieldVersion{e.op.ID, "", x}] = true
		}
		if !w.ref.ops[ref] {
			return fmt.Errorf("op %v on %s applied but no replica made it", ref.HLC, e.op.ID)
		}
		// A write replaces only versions applied before it: a base or
		// resolve naming a version never applied (an op the server
		// refused, whose (device, clock) a hostile device then reused for
		// a different op) names that refused op, not the later one.
		for _, wr := range e.op.Writes {
			written[fieldVersion{e.op.ID, wr.Name, ref}] = wr.Value
			if wr.Base != nil && applied[*wr.Base] {
				replaced[fieldVersion{e.op.ID, wr.Name, *wr.Base}] = true
			}
			for _, x := range wr.Resolves {
				if applied[x] {
					replaced[fieldVersion{e.op.ID, wr.Name, x}] = true
				}
			}
		}
	}

	// 3. Nothing acked lost: an acked op was applied (an op the server
	// skipped as "already applied" without ever applying it would be a
	// silent loss), whatever else the server said of it: a refusal is
	// never an ack, and an op refused on one delivery and acked on
	// another was applied on that other.
	for ref := range w.ref.acks {
		if !applied[ref] {
			return fmt.Errorf("op %v of node %s was acked but never applied (also refused: %v)", ref.HLC, ref.Node, w.ref.refuses[ref])
		}
	}

	// 4. Every conflict kept: every value an applied op wrote is visible,
	// kept as a conflict, or was written over by a write that saw it.
	for _, e := range s.log {
		ref := refOf(e.op)
		rec := s.recs[e.op.ID]
		for _, wr := range e.op.Writes {
			fv := fieldVersion{e.op.ID, wr.Name, ref}
			if replaced[fv] {
				continue
			}
			if !holds(rec, wr.Name, ref, wr.Value) {
				return fmt.Errorf("value %v written to %s.%s at %v by node %s is lost (acked: %v)", wr.Value, e.op.ID, wr.Name, ref.HLC, ref.Node, w.ref.acks[ref])
			}
		}
	}

	// 5. Nothing comes back: no version a write saw and replaced is in a
	// final record, and every version there was written by an applied op.
	for _, id := range w.ids {
		rec := s.recs[id]
		if rec == nil {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(rec.Fields)) {
			f := rec.Fields[name]
			for _, v := range append([]record.Version{f.Version}, f.Conflicts...) {
				fv := fieldVersion{id, name, v.Ref()}
				if name == record.DeletedField {
					// Flags of edits made during a delete carry the edit's
					// ref with value false; a later unseen delete may
					// raise one again.
					if !applied[v.Ref()] {
						return fmt.Errorf("%s.%s holds a version no applied op made (%v)", id, name, v.HLC)
					}
					continue
				}
				val, ok := written[fv]
				if !ok || !reflect.DeepEqual(val, v.Value) {
					return fmt.Errorf("%s.%s holds %v at %v, which no applied op wrote", id, name, v.Value, v.HLC)
				}
				if replaced[fv] {
					return fmt.Errorf("%s.%s: %v came back after a write that saw it replaced it", id, name, v.Value)
				}
			}
		}
	}

	// 6. A delete hides nothing its author did not see: every visible
	// version of a deleted record was named in a delete's Seen, or is
	// flagged on _deleted, or was flagged and resolved by someone who saw
	// the flag.
	for _, id := range w.ids {
		rec := s.recs[id]
		if rec == nil || !rec.Deleted() {
			continue
		}
		del := rec.Fields[record.DeletedField]
		for _, name := range slices.Sorted(maps.Keys(rec.Fields)) {
			ref := rec.Fields[name].Ref()
			if name == record.DeletedField || seenByDelete[fieldVersion{id, "", ref}] ||
				replaced[fieldVersion{id, record.DeletedField, ref}] ||
				slices.ContainsFunc(del.Conflicts, func(c record.Version) bool { return c.Ref() == ref }) {
				continue
			}
			return fmt.Errorf("deleted record %s hides %s=%v, an edit no delete saw and nobody was shown", id, name, rec.Fields[name].Value)
		}
	}
	return nil
}

// holds reports whether the field holds version ref with value, visible or
// as a conflict.
func holds(rec *record.Record, name string, ref record.Ref, value any) bool {
	if rec == nil || rec.Fields[name] == nil {
		return false
	}
	f := rec.Fields[name]
	if f.Ref() == ref && reflect.DeepEqual(f.Value, value) {
		return true
	}
	for _, c := range f.Conflicts {
		if c.Ref() == ref && reflect.DeepEqual(c.Value, value) {
			return true
		}
	}
	return false
}

// diff describes how two records differ, "" when they are the same. Slices
// an encoding round trip may turn from empty to nil compare as equal.
// Conflicts must be in the same order: a device that derives a record from
// an op (protocol.Changes.Own, Patches) must list them as the server does.
func diff(a, b *record.Record) string {
	switch {
	case a == nil && b == nil:
		return ""
	case a == nil || b == nil:
		return fmt.Sprintf("one side missing (%v, %v)", a != nil, b != nil)
	case a.Seq != b.Seq:
		return fmt.Sprintf("seq %d vs %d", a.Seq, b.Seq)
	case a.Key() != b.Key():
		return "keys differ"
	}
	if !slices.Equal(a.Clock, b.Clock) {
		return fmt.Sprintf("clock %v vs %v", a.Clock, b.Clock)
	}
	an, bn := slices.Sorted(maps.Keys(a.Fields)), slices.Sorted(maps.Keys(b.Fields))
	if !slices.Equal(an, bn) {
		return fmt.Sprintf("fields %v vs %v", an, bn)
	}
	for _, name := range an {
		fa, fb := a.Fields[name], b.Fields[name]
		if !sameVersion(fa.Version, fb.Version) {
			return fmt.Sprintf("field %s: %v@%v vs %v@%v", name, fa.Value, fa.HLC, fb.Value, fb.HLC)
		}
		if len(fa.Conflicts) != len(fb.Conflicts) {
			return fmt.Sprintf("field %s: %d conflicts vs %d", name, len(fa.Conflicts), len(fb.Conflicts))
		}
		ca, cb := fa.Conflicts, fb.Conflicts
		for i := range ca {
			if !sameVersion(ca[i], cb[i]) {
				return fmt.Sprintf("field %s: conflict %d differs: %v@%v vs %v@%v", name, i, ca[i].Value, ca[i].HLC, cb[i].Value, cb[i].HLC)
			}
		}
	}
	return ""
}

func sameVersion(a, b record.Version) bool {
	return a.Ref() == b.Ref() && a.Author == b.Author && reflect.DeepEqual(a.Value, b.Value)
}
