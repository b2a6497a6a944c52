package client

import (
	"sync"

	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
)

// Event is something the UI may want to redraw for: RecordChanged,
// ConflictAppeared, StateChanged, Rejected or AccessChanged.
type Event interface{ isEvent() }

// RecordChanged says the view of a record changed (by a local edit, a
// change from the server, or an op leaving the outbox).
type RecordChanged struct{ Key record.Key }

// ConflictAppeared says a field of a record now holds a concurrent value it
// did not hold before: two people edited it without seeing each other, and
// someone should choose (Engine.Resolve).
type ConflictAppeared struct {
	Key   record.Key
	Field string
}

// StateChanged carries the new sync state.
type StateChanged struct{ State SyncState }

// Rejected says the server refused an edit. The op has left the outbox; the
// UI shows the person what was not saved and why (Code), since retrying the
// same op would be refused again. With Held the op stays in the outbox
// instead (see Rejection.Held): the UI says it is not on the server yet.
//
// Refusals for the device's clock or id (clock_ahead, clock_reused,
// device_taken) raise no event: the engine restamps and resends by itself.
type Rejected struct {
	Op      record.Op
	Code    protocol.Code
	Message string
	Held    bool
}

func (RecordChanged) isEvent()    {}
func (ConflictAppeared) isEvent() {}
func (StateChanged) isEvent()     {}
func (Rejected) isEvent()         {}

// hub fans events out to subscribers without ever waiting for one: a
// subscriber whose buffer is full misses the event. Missing a RecordChanged
// or StateChanged is harmless when the UI reads Get/List/State again, which
// is why a subscriber should treat its channel as "something changed" and
// re-read; Rejections keeps the refused edits for the same reason.
type hub struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
}

func (h *hub) subscribe(buffer int) (<-chan Event, func()) {
	if buffer < 1 {
		buffer = 1
	}
	ch := make(chan Event, buffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	if h.subs == nil {
		h.subs = make(map[chan Event]struct{})
	}
	h.subs[ch] = struct{}{}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if _, ok := h.subs[ch]; ok {
				delete(h.subs, ch)
				close(ch)
			}
		})
	}
}

// publish delivers evs to every subscriber with room, in order.
func (h *hub) publish(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		for _, ev := range evs {
			select {
			case ch <- ev:
			default:
			}
		}
	}
}

// close ends every subscription (their channels close).
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		close(ch)
	}
	h.subs = nil
}
