package auth

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/plansync/plansync/shared/protocol"
)

// DefaultHashQueueTimeout is how long a login, claim or account change
// waits for a hashing slot before it is told the server is busy: a few
// hashes' time under a burst, short enough that a flood of claims turns
// into quick 503s instead of a pile of goroutines each holding 19 MiB.
const DefaultHashQueueTimeout = 3 * time.Second

// ErrBusy is the answer when every hashing slot stayed taken for the queue
// timeout.
var ErrBusy = protocol.Errorf(protocol.CodeUnavailable, "the server is busy signing people in: try again in a few seconds")

// hasher bounds concurrent argon2id work process-wide. Each hash takes
// Params.Memory (19 MiB by default) and a core for tens of milliseconds:
// unbounded, 24 concurrent claims cost hundreds of MiB and starve sync.
// Slots default to runtime.NumCPU(), since more at once only queue inside
// the scheduler while holding their memory.
type hasher struct {
	slots   chan struct{}
	timeout time.Duration

	mu           sync.Mutex
	inFlight     int
	peak         int
	refused      int64
	totalHashing int64
}

func newHasher(slots int, timeout time.Duration) *hasher {
	if slots <= 0 {
		slots = runtime.NumCPU()
	}
	if timeout <= 0 {
		timeout = DefaultHashQueueTimeout
	}
	return &hasher{slots: make(chan struct{}, slots), timeout: timeout}
}

// do runs fn in a hashing slot, waiting at most the queue timeout (or
// until ctx ends) for one; it returns ErrBusy when none came free.
func (h *hasher) do(ctx context.Context, fn func()) error {
	t := time.NewTimer(h.timeout)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-t.C:
		h.mu.Lock()
		h.refused++
		h.mu.Unlock()
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	h.mu.Lock()
	h.inFlight++
	h.totalHashing++
	h.peak = max(h.peak, h.inFlight)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inFlight--
		h.mu.Unlock()
		<-h.slots
	}()
	fn()
	return nil
}

// HashStats describe the hashing bound since the service started.
type HashStats struct {
	Slots   int   // concurrent hashes allowed
	Peak    int   // most hashes ever running at once
	Refused int64 // requests told ErrBusy
	Hashes  int64 // hashes and verifications run
}

// HashStats returns the hashing bound's figures (metrics, tests).
func (s *Service) HashStats() HashStats {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	return HashStats{Slots: cap(h.slots), Peak: h.peak, Refused: h.refused, Hashes: h.totalHashing}
}

// hash hashes a password within the bound.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	var out string
	err := s.h.do(ctx, func() { out = HashPassword(password, s.o.Params) })
	return out, err
}

// verify checks a password against a PHC string within the bound.
func (s *Service) verify(ctx context.Context, password, phc string) (bool, error) {
	var ok bool
	err := s.h.do(ctx, func() { ok = VerifyPassword(password, phc) })
	return ok, err
}
