package client

import (
	"math/rand/v2"
	"time"
)

// backoff computes reconnect delays: exponential with full jitter (a delay
// drawn uniformly from [0, min(max, base·2^attempt)]), as in "Exponential
// Backoff And Jitter" (AWS Architecture Blog, 2015). Full jitter spreads a
// crowd of clients that lost the server at the same moment across the whole
// window instead of bunching them at its edge. Owned by the sync loop; not
// safe for concurrent use.
type backoff struct {
	base, max time.Duration
	rand      *rand.Rand
	attempt   int
}

// ceiling is the upper bound of the next delay.
func (b *backoff) ceiling() time.Duration {
	d := b.base
	for i := 0; i < b.attempt && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// next returns the delay before the next attempt and counts the attempt.
func (b *backoff) next() time.Duration {
	c := b.ceiling()
	b.attempt++
	return time.Duration(b.rand.Int64N(int64(c) + 1))
}

// reset starts over after a healthy connection.
func (b *backoff) reset() { b.attempt = 0 }
