package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// This file is how the engine recovers by itself from what the server
// refuses about the device rather than about an edit: a clock too far ahead
// (clock_ahead), a (device, clock) already used by another op
// (clock_reused), a device id another session holds (device_taken), and a
// server restored from a backup (a new incarnation in Welcome). In each the
// typed edits stay in the outbox; they are restamped and sent again, and an
// edit leaves the outbox only when the server acks it.

// errRestored ends a connection whose Welcome showed a restored server:
// the Hello carried cursors of the old database, so the engine reconnects
// with none.
var errRestored = errors.New("server was restored from a backup; re-reading every space and resending acked edits it lost")

// setJournalLocked replaces the engine's count of the journal. Caller holds
// mu.
func (e *Engine) setJournalLocked(js []JournalOp) {
	e.journal, e.journalBytes = e.journal[:0:0], 0
	for i := range js {
		n := journalSize(&js[i].Op)
		e.journal = append(e.journal, journalEntry{localSeq: js[i].LocalSeq, size: n})
		e.journalBytes += n
	}
}

// journalSize is what an op counts against MaxJournalBytes: an upper
// bound of its msgpack encoding plus the entry's numbers, summed from the
// op's parts rather than encoded, since it is counted for every acked op
// (an encode per op made a 10,000-record push measurably slower, w1).
func journalSize(op *record.Op) int {
	const (
		id  = 2 + 16             // a uuid as msgpack bin
		key = 2                  // a one-letter field name
		ref = 1 + 2*key + 9 + id // {h, n}
	)
	n := 24 + 5 + 9*key + 4*id + 9 + strSize(len(op.Collection)) + 5 + len(op.Seen)*ref
	for i := range op.Writes {
		w := &op.Writes[i]
		n += 5 + 4*key + strSize(len(w.Name)) + valueSize(w.Value) + 5 + len(w.Resolves)*ref
		if w.Base != nil {
			n += ref
		}
	}
	return n
}

// strSize is the encoded size of a string or bin of n bytes, header included.
func strSize(n int) int {
	switch {
	case n < 32:
		return 1 + n
	case n < 1<<8:
		return 2 + n
	case n < 1<<16:
		return 3 + n
	}
	return 5 + n
}

// valueSize bounds the msgpack encoding of a field value from above.
func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return strSize(len(v))
	case []byte:
		return strSize(len(v))
	case []any:
		n := 5
		for _, e := range v {
			n += valueSize(e)
		}
		return n
	case map[string]any:
		n := 5
		for k, e := range v {
			n += strSize(len(k)) + valueSize(e)
		}
		return n
	default: // nil, bool, numbers (9 at most), a time (an extension)
		return 18
	}
}

// planJournalLocked returns the journal after adding acked and the entries to
// trim to keep it within MaxJournalOps and MaxJournalBytes, without
// changing e.journal (the caller commits them after the Store write).
// Caller holds mu, and applyMu: the new entries go into e.journal's spare
// capacity, beyond what e.journal shows, so one planner at a time. (A
// copy of the whole journal per ack made w1 measurably slower.)
func (e *Engine) planJournalLocked(acked []JournalOp) (next []journalEntry, bytes int, trim []uint64) {
	next = e.journal
	bytes = e.journalBytes
	for i := range acked {
		n := journalSize(&acked[i].Op)
		next = append(next, journalEntry{localSeq: acked[i].LocalSeq, size: n})
		bytes += n
	}
	drop := 0
	for drop < len(next)-1 && (len(next)-drop > MaxJournalOps || bytes > MaxJournalBytes) {
		trim = append(trim, next[drop].localSeq)
		bytes -= next[drop].size
		drop++
	}
	return next[drop:], bytes, trim
}

// cloneOp copies an op deep enough that its clocks and refs can change
// without touching a copy that shares its slices (an in-flight batch).
func cloneOp(op record.Op) record.Op {
	ws := make([]record.Write, len(op.Writes))
	for i, w := range op.Writes {
		if w.Base != nil {
			b := *w.Base
			w.Base = &b
		}
		w.Resolves = append([]record.Ref(nil), w.Resolves...)
		ws[i] = w
	}
	op.Writes = ws
	op.Seen = append([]record.Ref(nil), op.Seen...)
	return op
}

// rewriteOutbox restamps the outbox ops pick selects, in outbox order, with
// stamp, and points every ref of any outbox op at a restamped op's old
// (clock, device) to its new one, so that an edit made on top of a
// restamped one still replaces it rather than conflicting with it. The
// changed ops and meta (when not nil) are stored in one write, then
// replace the engine's. It returns the LocalSeqs restamped.
//
// The caller holds editMu (no edit may stamp with the clock being
// replaced, or name the old device) and applyMu, and not mu; pick and
// stamp run under mu.
func (e *Engine) rewriteOutbox(ctx context.Context, pick func(p *PendingOp) bool, stamp func(op *record.Op), meta *Meta) ([]uint64, error) {
	e.mu.Lock()
	remap := map[record.Ref]record.Ref{}
	changed := map[uint64]record.Op{}
	var restamped []uint64
	for _, p := range e.outbox {
		if !pick(p) {
			continue
		}
		restamped = append(restamped, p.LocalSeq)
		op := cloneOp(p.Op)
		old := record.Ref{HLC: op.HLC, Node: op.Node}
		stamp(&op)
		remap[old] = record.Ref{HLC: op.HLC, Node: op.Node}
		changed[p.LocalSeq] = op
	}
	if len(restamped) > 0 {
		for _, p := range e.outbox {
			op, ok := changed[p.LocalSeq]
			if !ok {
				op = cloneOp(p.Op)
			}
			if remapRefs(&op, remap) || ok {
				changed[p.LocalSeq] = op
			}
		}
	}
	var ups []PendingOp
	for _, p := range e.outbox { // in outbox order, for the store
		if op, ok := changed[p.LocalSeq]; ok {
			ups = append(ups, PendingOp{LocalSeq: p.LocalSeq, Op: op})
		}
	}
	if meta != nil {
		meta.LastHLC = max(meta.LastHLC, e.clock.Last())
	}
	e.mu.Unlock()
	if len(ups) == 0 && meta == nil {
		return nil, nil
	}
	if err := e.store.UpdatePending(ctx, ups, meta); err != nil {
		return nil, fmt.Errorf("client: store restamped edits: %w", err)
	}
	e.mu.Lock()
	keys := map[record.Key]bool{}
	for _, p := range e.outbox {
		if op, ok := changed[p.LocalSeq]; ok {
			p.Op = op
			keys[op.Key()] = true
		}
	}
	if meta != nil {
		e.meta = *meta
	}
	var evs []Event
	for k := range keys {
		evs = append(evs, e.relayLocked(k)...)
	}
	e.mu.Unlock()
	e.hub.publish(evs...)
	return restamped, nil
}

// remapRefs points op's refs (write bases, resolves, seen) through remap
// and reports whether any changed.
func remapRefs(op *record.Op, remap map[record.Ref]record.Ref) bool {
	changed := false
	re := func(r *record.Ref) {
		if n, ok := remap[*r]; ok {
			*r = n
			changed = true
		}
	}
	for i := range op.Writes {
		w := &op.Writes[i]
		if w.Base != nil {
			re(w.Base)
		}
		for j := range w.Resolves {
			re(&w.Resolves[j])
		}
	}
	for i := range op.Seen {
		re(&op.Seen[i])
	}
	return changed
}

// driftLimit is the newest clock the server takes when its clock reads
// server: what it refuses with clock_ahead is above it.
func driftLimit(server hlc.Timestamp) hlc.Timestamp {
	return hlc.New(server.Time().Add(hlc.MaxDrift).UnixMilli(), 0)
}

// measureSkewLocked sets the clock correction from a server clock reading when
// the corrected device clock is off by more than SkewTolerance, and
// reports whether it changed. Caller holds mu (for meta).
func (e *Engine) measureSkewLocked(server hlc.Timestamp) bool {
	raw := e.opts.Now()
	off := server.Millis() - raw.UnixMilli()
	if d := time.Duration(off-e.skew.Load()) * time.Millisecond; d < SkewTolerance && d > -SkewTolerance {
		return false
	}
	e.skew.Store(off)
	e.meta.Skew = off
	e.logf("device clock is %v off the server's; correcting", -time.Duration(off)*time.Millisecond)
	return true
}

// restampAhead recovers from a clock too far ahead of the server's, as
// read at server (a Welcome's ServerTime, or a clock_ahead refusal's
// Result.Clock): the skew is measured again, the HLC starts over below
// the drift limit (past server and every plausible clock of the records
// held), and every outbox op above the limit, which the server would
// refuse, is restamped in outbox order. refused are LocalSeqs the server
// refused with clock_ahead; they are restamped even when below the limit
// (the server's clock disagrees with ours). It returns the LocalSeqs
// restamped.
//
// Starting the clock below ops this device stamped earlier is safe: the
// server's op index refuses a (device, clock) reused by a different op
// (clock_reused), and the engine restamps past it.
func (e *Engine) restampAhead(ctx context.Context, server hlc.Timestamp, refused map[uint64]hlc.Timestamp) ([]uint64, error) {
	e.editMu.Lock()
	defer e.editMu.Unlock()
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	limit := driftLimit(server)
	e.mu.Lock()
	e.measureSkewLocked(server)
	ahead := e.clock.Last() > limit
	for _, p := range e.outbox {
		if h, ok := refused[p.LocalSeq]; ok && h == p.Op.HLC || p.Op.HLC > limit {
			ahead = true
		}
	}
	if !ahead {
		e.mu.Unlock()
		return nil, nil
	}
	last := server
	now := e.now()
	for _, r := range e.server {
		last = max(last, maxHLC(r, now))
	}
	for _, p := range e.outbox {
		if p.Op.HLC <= limit {
			last = max(last, p.Op.HLC)
		}
	}
	if last > limit {
		last = server
	}
	e.clock = hlc.NewClock(e.now, last)
	meta := e.meta
	meta.LastHLC = 0 // the old one is ahead: rewriteOutbox sets the new clock's
	e.mu.Unlock()
	seqs, err := e.rewriteOutbox(ctx, func(p *PendingOp) bool {
		h, ok := refused[p.LocalSeq]
		return ok && h == p.Op.HLC || p.Op.HLC > limit
	}, func(op *record.Op) { op.HLC = e.clock.Now() }, &meta)
	if err != nil {
		return nil, err
	}
	e.logf("restamped %d edits stamped ahead of the server's clock", len(seqs))
	return seqs, nil
}

// restampReused recovers from clock_reused: each refused op (LocalSeq to
// the clock it was sent with) gets a clock past the server's hint for it.
// An op already restamped since it was sent is left alone; it is sent
// again as it is.
func (e *Engine) restampReused(ctx context.Context, refused map[uint64]hlc.Timestamp, hints map[uint64]hlc.Timestamp) (int, error) {
	e.editMu.Lock()
	defer e.editMu.Unlock()
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.mu.Lock()
	for q, h := range hints {
		if refused[q] != 0 {
			e.clock.Observe(h)
		}
	}
	e.mu.Unlock()
	seqs, err := e.rewriteOutbox(ctx, func(p *PendingOp) bool {
		h, ok := refused[p.LocalSeq]
		return ok && h == p.Op.HLC
	}, func(op *record.Op) { op.HLC = e.clock.Now() }, nil)
	if err == nil && len(seqs) > 0 {
		e.logf("restamped %d edits whose clock another edit of this device id had used", len(seqs))
	}
	return len(seqs), err
}

// newDevice recovers from device_taken: the hello's device id is bound to
// another session (a copied browser profile, another account on a shared
// store, or someone spoofing it). The device takes a new id, stamps it on
// every op not yet acked (their clocks stay: under a new id they cannot
// collide), points refs at those ops to the new id, and keeps the id in
// its Meta, all in one store write.
func (e *Engine) newDevice(ctx context.Context) error {
	e.editMu.Lock()
	defer e.editMu.Unlock()
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	e.mu.Lock()
	meta := e.meta
	old := meta.Device
	meta.Device = id
	meta.Replaced = old
	meta.LastHLC = e.clock.Last()
	e.mu.Unlock()
	seqs, err := e.rewriteOutbox(ctx, func(*PendingOp) bool { return true }, func(op *record.Op) { op.Node = id }, &meta)
	if err != nil {
		return err
	}
	e.logf("device id %s is held by another session; now %s (%d unsynced edits moved)", old, id, len(seqs))
	return nil
}

// rebase acts on a Welcome from a restored server (incarnation inc): the
// store drops the server's state and moves the journal of acked ops back
// into the outbox, and the engine reloads from it. The server's dedupe
// answers a resent op it still holds with "already applied", so sending
// the whole journal again is harmless; the ops it lost are applied again.
func (e *Engine) rebase(ctx context.Context, inc uuid.UUID) error {
	e.editMu.Lock()
	defer e.editMu.Unlock()
	e.mu.Lock()
	m := e.meta
	old := m.Incarnation
	m.Incarnation = inc
	m.LastHLC = e.clock.Last()
	journaled := len(e.journal)
	e.mu.Unlock()
	if err := e.store.Rebase(ctx, m); err != nil {
		return fmt.Errorf("client: rebase after restore: %w", err)
	}
	e.mu.Lock()
	e.heads = make(map[uuid.UUID]uint64)
	e.more = make(map[uuid.UUID]bool)
	e.mu.Unlock()
	if err := e.reloadLocked(ctx); err != nil {
		return err
	}
	// Journaled ops made under an earlier device id go out under this one
	// (the server stamps the hello's): say so in the outbox, or the copy
	// derived from the server's answer would differ from its record.
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.mu.Lock()
	dev := e.meta.Device
	e.mu.Unlock()
	if _, err := e.rewriteOutbox(ctx, func(p *PendingOp) bool { return p.Op.Node != dev },
		func(op *record.Op) { op.Node = dev }, nil); err != nil {
		return err
	}
	e.logf("server database changed (incarnation %s, was %s): re-reading, resending %d acked edits", inc, old, journaled)
	return nil
}
