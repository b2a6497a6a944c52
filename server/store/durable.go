package store

import (
	"sync"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// syncedHeads keeps catch-up to what is durable. A group's log entries
// and records are visible in badger from its write until its fsync ends;
// a device sent one in that window could hold an entry that a crash takes
// back, and whose sequence number the restarted server gives to another
// op, which that device would then never receive. So the committer holds
// each space it is about to write at its head before the group, Changes
// and Head read no further than a held head, and the hold ends once the
// fsync succeeds (fan-out runs only after that too). A space not held has
// nothing unsynced: Open syncs what badger replayed.
//
// It is safe for concurrent use; only the committer holds and releases.
// It holds at most the spaces of one group, plus those of groups whose
// write failed part-way (released by the next successful fsync).
type syncedHeads struct {
	mu   sync.RWMutex
	held map[uuid.UUID]uint64 // space -> last durable seq
}

// hold marks the spaces a group is about to write at their heads before
// it. A space held already keeps its older, durable, head.
func (h *syncedHeads) hold(cs []server.Committed) {
	if len(cs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == nil {
		h.held = make(map[uuid.UUID]uint64, len(cs))
	}
	for _, c := range cs {
		if _, ok := h.held[c.Space]; !ok {
			h.held[c.Space] = c.From
		}
	}
}

// release ends every hold after a successful fsync: everything written
// before it is durable, parts of earlier failed groups included.
func (h *syncedHeads) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.held)
}

// limit returns head, or the durable head of space when that is lower.
func (h *syncedHeads) limit(space uuid.UUID, head uint64) uint64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if d, ok := h.held[space]; ok && d < head {
		return d
	}
	return head
}
