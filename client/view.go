package client

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Get returns a copy of the record as this device sees it (server state
// with pending edits on top), deleted or not; nil when there is none.
func (e *Engine) Get(key record.Key) *record.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.view[key].Clone()
}

// List returns copies of the records of one collection of a space, oldest
// first (ids are UUIDv7). Deleted records are left out unless they carry
// conflicts: someone edited them while they were being deleted, and a
// person has to see that to decide.
func (e *Engine) List(space uuid.UUID, collection string) []*record.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*record.Record
	for k, r := range e.view {
		if k.Space != space || k.Collection != collection {
			continue
		}
		if r.Deleted() && !r.HasConflicts() {
			continue
		}
		out = append(out, r.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].ID[:], out[j].ID[:]) < 0 }) // see Engine.Open
	return out
}

// relayLocked recomputes the view of key from the server's record and the
// pending ops, and returns the events that tells the UI. Caller holds mu.
func (e *Engine) relayLocked(key record.Key) []Event {
	old := e.view[key]
	cur := e.server[key]
	for _, p := range e.byKey[key] {
		next, _, err := record.Apply(cur, &p.Op)
		if err != nil {
			// The server will refuse it too (conflict_limit); until then
			// the view shows the record without it.
			e.logf("pending op %d on %v does not apply: %v", p.LocalSeq, key, err)
			continue
		}
		cur = next
	}
	if cur == nil {
		delete(e.view, key)
	} else {
		e.view[key] = cur
	}
	if old == cur {
		return nil
	}
	evs := []Event{RecordChanged{Key: key}}
	if cur == nil || !cur.HasConflicts() {
		// newConflict is false for every field without conflicts.
		return evs
	}
	for _, name := range slices.Sorted(maps.Keys(cur.Fields)) {
		if newConflict(old, name, cur.Fields[name]) {
			evs = append(evs, ConflictAppeared{Key: key, Field: name})
		}
	}
	return evs
}

// newConflict reports whether f holds a concurrent version the UI has not
// been told about: the field had no conflicts in old, or one of its
// conflicting versions is new to it. (A plain edit of the visible value of
// an already conflicted field is not a new conflict.)
func newConflict(old *record.Record, name string, f *record.Field) bool {
	if len(f.Conflicts) == 0 {
		return false
	}
	var of *record.Field
	if old != nil {
		of = old.Fields[name]
	}
	if of == nil || len(of.Conflicts) == 0 {
		return true
	}
	seen := []record.Ref{of.Ref()}
	for _, c := range of.Conflicts {
		seen = append(seen, c.Ref())
	}
	for _, c := range f.Conflicts {
		if !slices.Contains(seen, c.Ref()) {
			return true
		}
	}
	return false
}

// Put writes fields of a record (creating it if needed). Each write is
// based on the field's version in the current view, so a concurrent edit by
// someone else shows up as a conflict, not a silent overwrite. It returns
// once the edit is durable in the outbox.
func (e *Engine) Put(ctx context.Context, space uuid.UUID, collection string, id uuid.UUID, fields map[string]any) error {
	if _, ok := fields[record.DeletedField]; ok {
		return ErrReserved
	}
	key := record.Key{Space: space, Collection: collection, ID: id}
	return e.edit(ctx, key, func(cur *record.Record, op *record.Op) error {
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			w := record.Write{Name: name, Value: fields[name], Base: baseOf(cur, name)}
			w.BaseText = e.baseText(cur, collection, &w)
			op.Writes = append(op.Writes, w)
		}
		return nil
	})
}

// baseText is the text a write of prose replaces, which the op carries so
// that an edit made concurrently elsewhere merges word by word (see
// record.Write.BaseText); "" for anything else, or when the field was
// empty, or unchanged.
func (e *Engine) baseText(cur *record.Record, collection string, w *record.Write) string {
	if w.Base == nil || e.opts.MergesText == nil || !e.opts.MergesText(collection, w.Name) {
		return ""
	}
	text, ok1 := w.Value.(string)
	base, ok2 := cur.Fields[w.Name].Value.(string)
	if !ok1 || !ok2 || base == text {
		return ""
	}
	return base
}

// Create makes a record with a new UUIDv7 id and returns the id.
func (e *Engine) Create(ctx context.Context, space uuid.UUID, collection string, fields map[string]any) (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, err
	}
	return id, e.Put(ctx, space, collection, id, fields)
}

// Delete marks a record deleted. The op names every field version it saw,
// so an edit made concurrently elsewhere surfaces as a conflict on
// record.DeletedField rather than vanishing under the tombstone.
func (e *Engine) Delete(ctx context.Context, key record.Key) error {
	return e.edit(ctx, key, func(cur *record.Record, op *record.Op) error {
		if cur == nil {
			return ErrNotFound
		}
		op.Writes = []record.Write{{Name: record.DeletedField, Value: true, Base: baseOf(cur, record.DeletedField)}}
		op.Seen = seenRefs(cur)
		return nil
	})
}

// Resolve chooses value for a field that holds conflicts: the write is
// based on the visible version and names every concurrent version the
// person saw, which clears them. Resolving record.DeletedField with false
// keeps a record someone edited while it was being deleted; with true,
// deletes it for good.
func (e *Engine) Resolve(ctx context.Context, key record.Key, field string, value any) error {
	return e.edit(ctx, key, func(cur *record.Record, op *record.Op) error {
		f := (*record.Field)(nil)
		if cur != nil {
			f = cur.Fields[field]
		}
		if f == nil {
			return fmt.Errorf("%w: field %q of %v", ErrNotFound, field, key)
		}
		w := record.Write{Name: field, Value: value, Base: baseOf(cur, field)}
		for _, c := range f.Conflicts {
			w.Resolves = append(w.Resolves, c.Ref())
		}
		op.Writes = []record.Write{w}
		if field == record.DeletedField && value == true {
			// Keeping the delete is a delete that saw every field; without
			// Seen the merge would raise the same conflicts again.
			op.Seen = seenRefs(cur)
		}
		return nil
	})
}

// seenRefs names the visible version of every field of cur but
// record.DeletedField, in field-name order: what a delete saw (see Delete).
func seenRefs(cur *record.Record) []record.Ref {
	var seen []record.Ref
	for _, name := range slices.Sorted(maps.Keys(cur.Fields)) {
		if name != record.DeletedField {
			seen = append(seen, cur.Fields[name].Ref())
		}
	}
	return seen
}

func baseOf(cur *record.Record, name string) *record.Ref {
	if cur == nil {
		return nil
	}
	f := cur.Fields[name]
	if f == nil {
		return nil
	}
	ref := f.Ref()
	return &ref
}

// maxEditRetries bounds how often an edit is redone because another engine
// on the Store wrote in between (see edit).
const maxEditRetries = 8

// edit builds an op against the current view with fill, stamps it, stores
// it durably in the outbox, lays it on the view and wakes the sync loop.
//
// Several engines may share the Store (browser tabs, see Reload), and all
// stamp their ops with the same device id, on which the server orders a
// record's ops by HLC. So an op must be built on a view that holds every op
// already in the Store, with a clock past theirs. The Store allocates
// LocalSeq: when it hands back the number this engine expected (one past
// the highest it has seen), nobody wrote in between and all is well;
// otherwise the op is taken back, the engine reloads and the edit is redone.
func (e *Engine) edit(ctx context.Context, key record.Key, fill func(cur *record.Record, op *record.Op) error) error {
	e.editMu.Lock()
	defer e.editMu.Unlock()
	for attempt := 0; ; attempt++ {
		p, err := e.editOnce(ctx, key, fill)
		if err != nil {
			return err
		}
		e.mu.Lock()
		expected := p.LocalSeq == e.nextSeq+1
		e.mu.Unlock()
		if !expected && attempt < maxEditRetries {
			if err := e.store.RemovePending(ctx, []uint64{p.LocalSeq}); err != nil {
				return fmt.Errorf("client: save edit: %w", err)
			}
			e.mu.Lock()
			e.nextSeq = max(e.nextSeq, p.LocalSeq)
			e.mu.Unlock()
			if err := e.reloadLocked(ctx); err != nil {
				return err
			}
			continue
		}
		e.mu.Lock()
		e.nextSeq = max(e.nextSeq, p.LocalSeq)
		e.outbox = append(e.outbox, p)
		e.byKey[key] = append(e.byKey[key], p)
		evs := e.relayLocked(key)
		evs = append(evs, e.setStateLocked("", "")...)
		e.mu.Unlock()
		e.hub.publish(evs...)
		e.Kick()
		return nil
	}
}

// editOnce builds, stamps and stores the op; the caller holds editMu.
func (e *Engine) editOnce(ctx context.Context, key record.Key, fill func(cur *record.Record, op *record.Op) error) (*PendingOp, error) {
	e.mu.Lock()
	if !e.open {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if len(e.outbox) >= MaxPendingOps {
		e.mu.Unlock()
		return nil, ErrOutboxFull
	}
	op := record.Op{Space: key.Space, Collection: key.Collection, ID: key.ID, Node: e.meta.Device, Author: e.meta.User}
	err := fill(e.view[key], &op)
	seq := e.nextSeq + 1
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	op.HLC = e.clock.Now()
	if err := op.Validate(); err != nil {
		return nil, err
	}
	p := &PendingOp{LocalSeq: seq, Op: op}
	// The op carries its HLC into the store, which is how the clock's
	// high-water mark survives a restart (see Open). The store has the last
	// word on LocalSeq.
	stored, err := e.store.AddPending(ctx, *p)
	if err != nil {
		return nil, fmt.Errorf("client: save edit: %w", err)
	}
	p.LocalSeq = stored
	return p, nil
}
