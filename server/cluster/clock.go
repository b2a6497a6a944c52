package cluster

import (
	"sync/atomic"
	"time"
)

// Clock is the badger view's clock in cluster mode (store.Options.Now):
// while a log entry is applied it reads that entry's time, so that every
// node makes the same time-dependent decisions; outside of an apply it is
// the wall clock. Only the applier sets it.
type Clock struct{ at atomic.Int64 } // unix ms; 0 outside of an apply

// Now implements store.Options.Now.
func (c *Clock) Now() time.Time {
	if ms := c.at.Load(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Now()
}

func (c *Clock) set(t time.Time) { c.at.Store(t.UnixMilli()) }
func (c *Clock) clear()          { c.at.Store(0) }
