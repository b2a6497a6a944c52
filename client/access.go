package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// errRoleChanged ends a session whose Welcome gave the person another role
// in a space the device holds: the Hello asked for that space from its old
// cursor, and what the new role may read differs, so the engine dropped its
// copy and reconnects to read the space from scratch.
var errRoleChanged = errors.New("role changed in a space; reading it again")

// droppedMessage is the Rejection.Message of an unsent edit of a space the
// person was removed from.
const droppedMessage = "you are no longer a member of this space: this edit was not saved"

// AccessChanged says this device's access to a space changed, as the
// server's Welcome showed after it closed the socket with
// protocol.CodeAccessChanged (or on any later connection):
//
//   - Removed: the Welcome no longer lists the space. Its records and
//     cursor are gone from the device (a RecordChanged for each record),
//     and its Unsaved edits that were still in the outbox are Rejections
//     with code forbidden, their full values kept, so the UI can show them
//     as not saved instead of losing them.
//   - Otherwise Role is the person's new role there: the device dropped its
//     copy of the space (what the role may read changed; the server sends no
//     deletion for what it may no longer read) and reads it again from
//     scratch. Its edits stay in the outbox; the server decides on them.
type AccessChanged struct {
	Space   uuid.UUID
	Removed bool
	Role    string
	Unsaved int
}

func (AccessChanged) isEvent() {}

// accessDiffLocked compares what the device holds with a Welcome's spaces:
// gone are the spaces it holds (records, cursor, outbox, or the last
// Welcome's list) that listed lacks; reread are the spaces of the last
// Welcome listed again with another role. Caller holds mu.
func (e *Engine) accessDiffLocked(listed []protocol.SpaceInfo) (gone []uuid.UUID, reread map[uuid.UUID]string) {
	now := make(map[uuid.UUID]string, len(listed))
	for _, sp := range listed {
		now[sp.ID] = sp.Role
	}
	held := map[uuid.UUID]bool{}
	for _, sp := range e.meta.Spaces {
		held[sp.ID] = true
		if role, ok := now[sp.ID]; ok && sp.Role != "" && role != sp.Role {
			if reread == nil {
				reread = map[uuid.UUID]string{}
			}
			reread[sp.ID] = role
		}
	}
	for sp := range e.cursors {
		held[sp] = true
	}
	for k := range e.server {
		held[k.Space] = true
	}
	for _, p := range e.outbox {
		held[p.Op.Space] = true
	}
	for sp := range held {
		if _, ok := now[sp]; !ok {
			gone = append(gone, sp)
		}
	}
	// sort.Slice, not slices.SortFunc: see Engine.Open.
	sort.Slice(gone, func(i, j int) bool { return bytes.Compare(gone[i][:], gone[j][:]) < 0 })
	return gone, reread
}

// dropSpace erases the device's copy of space, durably then in memory.
// With removed, the space's outbox ops leave with it and become Rejections
// (forbidden: what the server answers an op to a space the person is not a
// member of, so the UI shows the same "not saved" card either way); without,
// they stay, for a space read again under a new role. It holds editMu, so
// that no edit lands in the outbox between choosing the ops and removing
// them.
func (e *Engine) dropSpace(ctx context.Context, space uuid.UUID, removed bool, role string) error {
	e.editMu.Lock()
	defer e.editMu.Unlock()
	e.applyMu.Lock() // store, then memory, as one step for Reload
	defer e.applyMu.Unlock()
	e.mu.Lock()
	var seqs []uint64
	var refused []Rejection
	if removed {
		for _, p := range e.outbox {
			if p.Op.Space == space {
				seqs = append(seqs, p.LocalSeq)
				refused = append(refused, Rejection{Op: p.Op, Code: protocol.CodeForbidden, Message: droppedMessage, At: e.now()})
			}
		}
	}
	e.mu.Unlock()
	if err := e.store.DropSpace(ctx, space, seqs); err != nil {
		return fmt.Errorf("client: drop space %s: %w", space, err)
	}
	e.mu.Lock()
	gone := make(map[uint64]bool, len(seqs))
	for _, q := range seqs {
		gone[q] = true
	}
	keys := map[record.Key]bool{}
	for k := range e.server {
		if k.Space == space {
			keys[k] = true
			delete(e.server, k)
		}
	}
	e.outbox = slices.DeleteFunc(e.outbox, func(p *PendingOp) bool {
		if gone[p.LocalSeq] {
			keys[p.Op.Key()] = true
			return true
		}
		return false
	})
	for k := range keys {
		e.byKey[k] = slices.DeleteFunc(e.byKey[k], func(p *PendingOp) bool { return gone[p.LocalSeq] })
		if len(e.byKey[k]) == 0 {
			delete(e.byKey, k)
		}
	}
	delete(e.cursors, space)
	delete(e.heads, space)
	delete(e.more, space)
	// A held edit of the space is refused now, not held.
	e.rejections = slices.DeleteFunc(e.rejections, func(o Rejection) bool { return removed && o.Held && o.Op.Space == space })
	sorted := make([]record.Key, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Slice(sorted, func(i, j int) bool { return keyLess(sorted[i], sorted[j]) })
	// The refusals first: they carry the words, and events past the
	// subscribers' buffer are dropped, the last first.
	evs := e.rejectLocked(refused)
	for _, k := range sorted {
		evs = append(evs, e.relayLocked(k)...)
	}
	evs = append(evs, AccessChanged{Space: space, Removed: removed, Role: role, Unsaved: len(refused)})
	evs = append(evs, e.setStateLocked("", "")...)
	e.mu.Unlock()
	if removed {
		e.logf("no longer a member of space %s: dropped its copy, %d unsent edits kept as refused", space, len(refused))
	} else {
		e.logf("role in space %s is now %q: reading it again", space, role)
	}
	e.hub.publish(evs...)
	return nil
}
