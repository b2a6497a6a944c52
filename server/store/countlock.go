package store

import (
	"hash/maphash"
	"sync"

	"github.com/plansync/plansync/shared/uuid"
)

// countLocks serialises, per user or space, the account writes that count
// a key range before adding to it (a user's device bindings, a space's open
// invites). Badger's optimistic transactions would also catch two of them
// racing (each rewrites a guard key the other read), but a burst of the
// same user's hellos would then spend its conflict retries against itself
// and fail some honest binds with an internal error: under the lock each
// one counts what the one before it wrote. The guard keys stay, so the
// counts hold even for a writer that skips the lock.
//
// A fixed stripe of mutexes bounds the memory however many ids there are;
// two ids sharing a stripe only wait for each other.
type countLocks struct {
	seed    maphash.Seed
	once    sync.Once
	stripes [countStripes]sync.Mutex
}

// countStripes is the number of mutexes in countLocks.
const countStripes = 64

func (c *countLocks) lock(id uuid.UUID) func() {
	c.once.Do(func() { c.seed = maphash.MakeSeed() })
	m := &c.stripes[maphash.Bytes(c.seed, id[:])%countStripes]
	m.Lock()
	return m.Unlock
}
