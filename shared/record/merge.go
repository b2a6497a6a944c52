package record

import (
	"errors"
	"maps"
	"slices"

	"github.com/plansync/plansync/shared/prose"
)

// MaxConflicts bounds the unresolved concurrent values one field may hold.
// Real collisions come in twos and threes; a field past this is someone
// writing blind in a loop, and the op is refused (ErrTooManyConflicts) rather
// than growing a record without end. Refusing keeps the words in the
// author's outbox, where they stay visible; nothing already stored is lost.
const MaxConflicts = 32

// ErrTooManyConflicts is returned by Apply when an op would push a field past
// MaxConflicts.
var ErrTooManyConflicts = errors.New("record: field has too many unresolved conflicts")

// MaxRecordFields bounds the fields one record may hold, far below
// wire.MaxMapLen so that a record the merge builds is always one its decoder
// reads. The plan schema names a few dozen fields per collection; a newer
// app version may add some, which an older server keeps (nothing written is
// dropped because the schema grew), but no record legitimately nears this.
const MaxRecordFields = 512

// ErrTooManyFields is returned by Apply when an op would give a record more
// than MaxRecordFields fields.
var ErrTooManyFields = errors.New("record: too many fields")

// Outcome says what applying an op did.
type Outcome struct {
	// Changed is false for an op that was already applied.
	Changed bool
	// Conflict is true when the op collided with a version its author had
	// not seen, so that a field now holds concurrent values.
	Conflict bool
	// Merged is true when a text the op wrote was merged word by word with
	// a concurrent edit (Write.BaseText), so the record holds a text
	// nobody wrote whole. A replica of an earlier build, which ignores
	// BaseText, would make a conflict of that op instead: whoever sends
	// the change on sends the record, not the op.
	Merged bool
}

// Apply merges op into rec (which must be the record op addresses; nil is an
// empty record) and returns the new record. rec is not modified.
//
// The rules, per written field:
//   - The author saw the current version (Base is its Ref): the write
//     replaces it.
//   - Otherwise the edits were concurrent: the later Ref is visible and the
//     other is kept in Conflicts with its author and time.
//   - Versions named in Resolves were seen and chosen between by the author,
//     so they leave Conflicts; so does Base when it has become a conflict.
//   - An op already applied (its clock at or below the device's entry in
//     the record's Clock) changes nothing, so a retransmit after a lost ack
//     is harmless.
//
// A delete is a write of DeletedField. Any field version the deleter did not
// see (not in op.Seen), and any later write to a deleted record that does
// not itself touch DeletedField, is added to DeletedField's conflicts with
// value false: "someone edited this while it was being deleted".
func Apply(rec *Record, op *Op) (*Record, Outcome, error) {
	if rec != nil && op.HLC <= rec.nodeClock(op.Node) {
		return rec, Outcome{}, nil
	}
	var next *Record
	if rec == nil {
		next = &Record{Format: FormatVersion, Space: op.Space, Collection: op.Collection, ID: op.ID, Fields: make(map[string]*Field, len(op.Writes))}
	} else {
		next = rec.Clone()
	}
	out := Outcome{Changed: true}
	wasDeleted := next.Deleted()
	touchesDeleted := false
	for i := range op.Writes {
		w := &op.Writes[i]
		if w.Name == DeletedField {
			touchesDeleted = true
		}
		v := Version{Value: w.Value, HLC: op.HLC, Node: op.Node, Author: op.Author}
		if conflict, merged, err := next.write(w, v); err != nil {
			return rec, Outcome{}, err
		} else if conflict {
			out.Conflict = true
		} else if merged {
			out.Merged = true
		}
	}
	if op.IsDelete() {
		// Sorted, so that every replica lists the conflicts in one order.
		for _, name := range slices.Sorted(maps.Keys(next.Fields)) {
			f := next.Fields[name]
			if name == DeletedField || f.Ref() == op.ref() || slices.Contains(op.Seen, f.Ref()) {
				continue
			}
			if err := next.flagEditDuringDelete(f.Version); err != nil {
				return rec, Outcome{}, err
			}
			out.Conflict = true
		}
	} else if wasDeleted && !touchesDeleted {
		if err := next.flagEditDuringDelete(Version{HLC: op.HLC, Node: op.Node, Author: op.Author}); err != nil {
			return rec, Outcome{}, err
		}
		out.Conflict = true
	}
	if len(next.Fields) > MaxRecordFields {
		return rec, Outcome{}, ErrTooManyFields
	}
	next.setNodeClock(op.Node, op.HLC)
	return next, out, nil
}

func (o *Op) ref() Ref { return Ref{HLC: o.HLC, Node: o.Node} }

// write applies one field write; it reports whether it left a conflict
// or merged two texts.
func (r *Record) write(w *Write, v Version) (conflict, merged bool, err error) {
	f := r.Fields[w.Name]
	if f == nil {
		r.Fields[w.Name] = &Field{Version: v}
		return false, false, nil
	}
	// Versions the author saw and wrote over leave Conflicts: those named
	// in Resolves, and the base itself when it has since become a conflict
	// (the author rewrote it while someone else's edit took the front).
	if len(w.Resolves) > 0 || w.Base != nil {
		f.Conflicts = slices.DeleteFunc(f.Conflicts, func(c Version) bool {
			return slices.Contains(w.Resolves, c.Ref()) || (w.Base != nil && *w.Base == c.Ref())
		})
	}
	if w.Base != nil && *w.Base == f.Ref() {
		f.Version = v
		return false, false, nil
	}
	if slices.Contains(w.Resolves, f.Ref()) {
		// The author saw the visible version as one side of a conflict and
		// chose: their choice replaces it even though Base named another.
		f.Version = v
		return false, false, nil
	}
	if text, ok := mergeText(w, f.Value); ok {
		// Concurrent edits of different words of one text: both stand.
		// The merged text is a new version, the op's, so that an edit
		// still based on the version it replaced does not overwrite it.
		v.Value = text
		f.Version = v
		return false, true, nil
	}
	if len(f.Conflicts) >= MaxConflicts {
		return false, false, ErrTooManyConflicts
	}
	if f.Ref().Less(v.Ref()) {
		f.Conflicts = append(f.Conflicts, f.Version)
		f.Version = v
	} else {
		f.Conflicts = append(f.Conflicts, v)
	}
	return true, false, nil
}

// mergeText merges a concurrent text write with the visible text when the
// write says what its base was (Write.BaseText) and the two edits touch
// different words (prose.Merge); otherwise it reports false and the write
// becomes a conflict, as it would without a base.
func mergeText(w *Write, visible any) (text string, ok bool) {
	// The merge runs inside the server's committer on texts a client
	// chose: should the diff library ever panic on some input, that input
	// keeps a conflict (on every replica alike) instead of stopping the
	// server.
	defer func() {
		if recover() != nil {
			text, ok = "", false
		}
	}()
	if w.BaseText == "" || w.Base == nil {
		return "", false
	}
	theirs, ok1 := w.Value.(string)
	ours, ok2 := visible.(string)
	if !ok1 || !ok2 {
		return "", false
	}
	text, err := prose.Merge(w.BaseText, ours, theirs)
	if err != nil || len(text) > MaxValueBytes {
		// Past the value bound the merge would make a record its own
		// decoder refuses: keep both versions instead. (The schema's
		// tighter per-field limits are checked on writes, not merges: a
		// merged text may run past its field's MaxLen by the words the
		// other edit added, and the next edit must trim it.)
		return "", false
	}
	return text, true
}

// flagEditDuringDelete records on DeletedField that an edit was made without
// seeing the delete, so a person decides whether the record stays deleted.
func (r *Record) flagEditDuringDelete(edit Version) error {
	del := r.Fields[DeletedField]
	if del == nil {
		return nil
	}
	ref := edit.Ref()
	if ref == del.Ref() || slices.ContainsFunc(del.Conflicts, func(c Version) bool { return c.Ref() == ref }) {
		return nil
	}
	if len(del.Conflicts) >= MaxConflicts {
		return ErrTooManyConflicts
	}
	del.Conflicts = append(del.Conflicts, Version{Value: false, HLC: edit.HLC, Node: edit.Node, Author: edit.Author})
	return nil
}
