// Package hlc is a hybrid logical clock: timestamps that follow wall time
// closely (so "when" in a plan's history reads naturally) but never go
// backwards and order every event a replica has seen before its own next one,
// even when the phone's clock is wrong.
//
// A Timestamp packs milliseconds since the Unix epoch into the high 48 bits
// and a logical counter into the low 16 bits, so ordering is a plain integer
// comparison and the wire form is one msgpack uint64. Two replicas can make
// the same Timestamp; the merge rules break such ties with the node id.
package hlc

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/plansync/plansync/shared/wire"
)

// Timestamp is a hybrid logical time. The zero Timestamp means "never":
// a write whose base is zero saw no earlier version of the field.
type Timestamp uint64

const (
	logicalBits = 16
	logicalMask = 1<<logicalBits - 1

	// MaxDrift bounds how far ahead of our wall clock a remote timestamp may
	// be before Update refuses it. Without a bound, one client with a clock
	// set to 2099 would drag every clock that hears from it into 2099.
	MaxDrift = 24 * time.Hour
)

// ErrDrift is returned by Update when a remote timestamp is further ahead of
// the local wall clock than MaxDrift.
var ErrDrift = errors.New("hlc: remote clock too far ahead")

// New builds a Timestamp from wall milliseconds and a logical counter.
func New(ms int64, logical uint16) Timestamp {
	return Timestamp(uint64(ms)<<logicalBits | uint64(logical))
}

// Millis is the wall-clock part in milliseconds since the Unix epoch.
func (t Timestamp) Millis() int64 { return int64(uint64(t) >> logicalBits) }

// Logical is the counter that orders events within one millisecond.
func (t Timestamp) Logical() uint16 { return uint16(uint64(t) & logicalMask) }

// Time is the wall-clock part as a time.Time (for history displays).
func (t Timestamp) Time() time.Time { return time.UnixMilli(t.Millis()).UTC() }

// IsZero reports whether t is the "never" timestamp.
func (t Timestamp) IsZero() bool { return t == 0 }

func (t Timestamp) String() string {
	if t == 0 {
		return "0"
	}
	return t.Time().Format("2006-01-02T15:04:05.000Z") + "+" + strconv.Itoa(int(t.Logical()))
}

// Clock hands out strictly increasing timestamps. It is safe for concurrent
// use. The zero Clock is not ready; use NewClock.
type Clock struct {
	mu   sync.Mutex
	now  func() time.Time
	last Timestamp
}

// NewClock returns a clock reading wall time from now (time.Now when nil)
// that never issues a timestamp at or below last (the last one it issued
// before a restart, so that a reloaded replica does not reuse one).
func NewClock(now func() time.Time, last Timestamp) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now, last: last}
}

// Now returns a timestamp greater than every one this clock issued or saw.
func (c *Clock) Now() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := New(c.now().UnixMilli(), 0)
	if wall > c.last {
		c.last = wall
	} else {
		c.last++ // the counter carries into the millisecond bits when full
	}
	return c.last
}

// Update folds in a timestamp seen from another replica so that the next Now
// is after it. It refuses timestamps more than MaxDrift ahead of local wall
// time rather than jumping the clock there.
func (c *Clock) Update(remote Timestamp) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if remote.Millis() > c.now().Add(MaxDrift).UnixMilli() {
		return ErrDrift
	}
	if remote > c.last {
		c.last = remote
	}
	return nil
}

// Observe raises the clock to t with no drift bound, for timestamps this
// device issued itself (another tab's edits in the shared outbox): the
// next timestamp must sort after them whatever the wall clock says now,
// or the merge would take a newer edit of this device for one already
// applied. Remote timestamps go through Update.
func (c *Clock) Observe(t Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t > c.last {
		c.last = t
	}
}

// Last returns the greatest timestamp issued or seen, for persisting.
func (c *Clock) Last() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// EncodeWire writes t as one msgpack unsigned integer.
func (t Timestamp) EncodeWire(w *wire.Writer) { w.Uint(uint64(t)) }

// DecodeWire reads what EncodeWire writes.
func (t *Timestamp) DecodeWire(r *wire.Reader) error {
	u, err := r.Uint()
	*t = Timestamp(u)
	return err
}
