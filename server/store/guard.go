package store

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/plansync/plansync/server"
)

// spaceGuard is the one free-space check every write path passes before it
// touches badger: group commits and account writes (users, logins,
// sessions, invites, claims, invite-failure counts, memberships). It is
// safe for concurrent use.
type spaceGuard struct {
	mu      sync.Mutex
	ok      bool      // last reading was at or above the reserve
	checked time.Time // when it was taken
	// readOnly: badger was opened read-only (disk below the reserve at
	// start); every write is refused until a restart. Set before the
	// committer starts, never changed.
	readOnly bool
}

// errReadOnly refuses writes of a store opened read-only.
var errReadOnly = fmt.Errorf("opened read-only because the disk was below the reserve at start; restart once space is freed: %w", server.ErrUnavailable)

// checkSpace refuses a write when free disk space is below MinFreeBytes.
// A good reading is trusted for FreeSpaceInterval (by default not at all);
// a bad one is taken again at every write, so writes resume as soon as
// space returns.
func (s *Store) checkSpace() error {
	g := &s.guard
	if g.readOnly {
		return fmt.Errorf("store: %w", errReadOnly)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if g.ok && now.Sub(g.checked) < s.opts.FreeSpaceInterval {
		return nil
	}
	free, err := s.opts.FreeSpace()
	if err != nil {
		g.ok = false
		return fmt.Errorf("store: cannot read free disk space (%v): %w", err, server.ErrUnavailable)
	}
	wasOK := g.ok || g.checked.IsZero()
	g.ok, g.checked = free >= s.opts.MinFreeBytes, now
	if g.ok && !wasOK {
		s.log.Info("store: free disk space back above the reserve, taking writes", "free_bytes", free)
	}
	if !g.ok {
		if wasOK {
			s.log.Warn("store: disk nearly full, refusing writes", "free_bytes", free, "min_free_bytes", s.opts.MinFreeBytes)
		}
		return fmt.Errorf("store: %d bytes free on disk, %d reserved: %w", free, s.opts.MinFreeBytes, server.ErrUnavailable)
	}
	return nil
}

// syncFailed is called when an fsync fails. Retrying an fsync after a
// failure is unsafe (the kernel may have dropped the dirty pages and the
// retry then "succeeds"), so the process must not go on and ack: it logs
// and exits, and badger replays its write-ahead log on the next start.
// Tests replace it through Options.OnSyncFailure.
func defaultSyncFailure(err error) {
	os.Exit(syncFailureExit)
}

// syncFailureExit is the process exit status after a failed fsync: not
// zero, so a supervisor restarts the server and the restart replays the
// log, and distinct from a crash's status so operators can tell them apart.
const syncFailureExit = 70 // EX_SOFTWARE

// syncDurable makes every committed write durable, or stops the process
// (Options.OnSyncFailure) when the fsync fails. It returns the error only
// when the hook returned (tests), so that nothing is acked after it.
func (s *Store) syncDurable() error {
	if s.opts.NoSync {
		return nil
	}
	sync := s.db.Sync
	if s.syncHook != nil {
		sync = s.syncHook
	}
	if err := sync(); err != nil {
		s.log.Error("store: fsync failed; stopping so that nothing unsynced is acked (the next start replays the log)", "err", err)
		s.opts.OnSyncFailure(err)
		return fmt.Errorf("store: syncing: %w", err)
	}
	return nil
}
