package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
)

// ErrStoreReset is returned by Reload when the Store was emptied under the
// engine (another engine on it reset it, or the browser wiped it): close
// this engine and open a new one.
var ErrStoreReset = errors.New("client: the store was reset by someone else")

// Reload re-reads the Store (records, cursors, outbox, metadata) and
// replaces what the engine holds in memory with it, publishing events for
// what changed. It is for several engines sharing one Store, the browser's
// tabs on one IndexedDB database: one tab, the leader, syncs (SetOnline
// true), the others run offline; a follower's edit lands in the shared
// outbox and the leader reloads to push it, and a follower reloads to see
// what the leader received from the server.
//
// Reload waits for a local edit in flight (editMu) and for the sync loop's
// store write in progress to reach memory (applyMu), so what it reads is at
// least as new as what the engine holds and replacing loses nothing. The
// edits of this engine are in the Store before they are in memory, and an
// op this engine pushed and the server acknowledged leaves the Store before
// it leaves memory, so neither comes back. It kicks the sync loop, which
// pushes any new ops when online.
func (e *Engine) Reload(ctx context.Context) error {
	e.editMu.Lock()
	defer e.editMu.Unlock()
	if err := e.reloadLocked(ctx); err != nil {
		return err
	}
	e.Kick()
	return nil
}

// reloadLocked is Reload; the caller holds editMu.
func (e *Engine) reloadLocked(ctx context.Context) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.mu.Lock()
	open := e.open
	e.mu.Unlock()
	if !open {
		return ErrClosed
	}
	snap, err := e.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("client: reload: %w", err)
	}
	if snap.Meta == nil {
		return ErrStoreReset
	}

	e.mu.Lock()
	if snap.Meta.Device != e.meta.Device && snap.Meta.Replaced != e.meta.Device {
		// A new id that does not say it replaced ours: the store was
		// wiped and opened afresh (see Engine.Open).
		e.mu.Unlock()
		return ErrStoreReset
	}
	// Metadata: the leader's Welcome names the user and the spaces.
	m := *snap.Meta
	e.skew.Store(m.Skew) // the leader's measurement
	if limit := driftLimit(hlc.New(e.now().UnixMilli(), 0)); e.clock.Last() > limit && m.LastHLC <= limit &&
		!slices.ContainsFunc(snap.Outbox, func(p PendingOp) bool { return p.Op.HLC > limit }) {
		// The leader found this device's clock far ahead and started its
		// HLC over, restamping the outbox (recover.go): so does this tab,
		// or each of its edits would be refused and restamped in turn.
		// Not while an op stamped far ahead waits: an edit made now would
		// precede it in clock but follow it in the outbox. The outbox's
		// clocks are observed below.
		e.clock = hlc.NewClock(e.now, m.LastHLC)
	}
	m.LastHLC = max(m.LastHLC, e.clock.Last())
	e.meta = m
	e.setJournalLocked(snap.Journal)
	touched := make(map[record.Key]bool, len(e.view))
	for k := range e.view {
		touched[k] = true
	}
	// Server state: keep our pointer when the record is the same version,
	// so that an unchanged record raises no event.
	server := make(map[record.Key]*record.Record, len(snap.Records))
	for k, r := range snap.Records {
		if old := e.server[k]; old != nil && old.Seq == r.Seq {
			r = old
		} else {
			_ = e.clock.Update(maxHLC(r, e.now()))
		}
		server[k] = r
		touched[k] = true
	}
	e.server = server
	for s, c := range snap.Cursors {
		e.cursors[s] = c
		e.heads[s] = max(e.heads[s], c)
	}
	for s := range e.cursors {
		if _, ok := snap.Cursors[s]; !ok {
			delete(e.cursors, s)
		}
	}
	// Outbox: the Store's, in LocalSeq order, keeping our pointers.
	have := make(map[uint64]*PendingOp, len(e.outbox))
	for _, p := range e.outbox {
		have[p.LocalSeq] = p
	}
	outbox := snap.Outbox
	sort.Slice(outbox, func(i, j int) bool { return outbox[i].LocalSeq < outbox[j].LocalSeq }) // see Open
	e.outbox = e.outbox[:0:0]
	e.byKey = make(map[record.Key][]*PendingOp)
	for i := range outbox {
		p := have[outbox[i].LocalSeq]
		if p == nil || !sameStamps(&p.Op, &outbox[i].Op) { // new, or restamped (recover.go)
			p = &outbox[i]
			e.clock.Observe(p.Op.HLC) // this device's own, from another tab
		}
		e.outbox = append(e.outbox, p)
		e.byKey[p.Op.Key()] = append(e.byKey[p.Op.Key()], p)
		e.nextSeq = max(e.nextSeq, p.LocalSeq)
		touched[p.Op.Key()] = true
	}
	var evs []Event
	keys := make([]record.Key, 0, len(touched))
	for k := range touched {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	for _, k := range keys {
		evs = append(evs, e.relayLocked(k)...)
	}
	evs = append(evs, e.setStateLocked("", "")...)
	e.mu.Unlock()
	e.hub.publish(evs...)
	return nil
}

// sameStamps reports whether two versions of one outbox op carry the same
// clock, device and write bases: whether the sync loop restamped it.
func sameStamps(a, b *record.Op) bool {
	if a.HLC != b.HLC || a.Node != b.Node || len(a.Writes) != len(b.Writes) {
		return false
	}
	for i := range a.Writes {
		x, y := a.Writes[i].Base, b.Writes[i].Base
		if (x == nil) != (y == nil) || x != nil && *x != *y {
			return false
		}
	}
	return true
}

func keyLess(a, b record.Key) bool {
	if c := bytes.Compare(a.Space[:], b.Space[:]); c != 0 {
		return c < 0
	}
	if a.Collection != b.Collection {
		return a.Collection < b.Collection
	}
	return bytes.Compare(a.ID[:], b.ID[:]) < 0
}
