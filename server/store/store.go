// Package store is the badger implementation of server.Store, and the only
// package that imports badger.
//
// Records change only through Commit, and Commit runs on a single committer
// goroutine: it gathers queued calls into a group, merges their ops in
// arrival order, writes the group in one transaction, fsyncs once, publishes
// the group to the OnCommit hook and only then answers the callers. One
// writer means per-space sequence numbers need no locks and the merge reads
// a stable state.
//
// The log invariants (see CheckLog): each space's log holds every seq from
// 1 to its head, each entry's record exists with a Seq at or above the
// entry's, and the history index names exactly the log entries of each
// record. Re-applying an op is harmless: record.Apply reports it unchanged
// and nothing is written.
package store

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/shared/uuid"
)

var _ server.Store = (*Store)(nil)

// ErrRecordTooLarge refuses an op whose record would encode to more than
// MaxRecordBytes; the op's other fields and the rest of the call still apply.
var ErrRecordTooLarge = server.ErrRecordTooLarge

// MaxRecordBytes bounds one encoded record, so that a record, its log entry
// and its index keys always fit one badger transaction (15% of a memtable).
const MaxRecordBytes = 1 << 20 // bytes

// Store is a server.Store on badger. Open starts its committer; Close stops
// it. It is safe for concurrent use.
type Store struct {
	// incarnation caches Incarnation once read or made: only Restore,
	// which works on a closed database, replaces it.
	incarnation atomic.Pointer[uuid.UUID]
	dir         string // the database directory (badger's, and the ballast's)
	db          *badger.DB
	opts        Options
	log         *slog.Logger
	// security receives security events; rate-limited, so a flood of
	// hostile ops cannot fill the disk with log lines.
	security *secevent.Log

	// mu guards closed. Commit holds it for reading while it enqueues, so
	// that Close (which takes it for writing) never closes reqs under a
	// sender.
	mu     sync.RWMutex
	closed bool
	reqs   chan *commitReq
	wg     sync.WaitGroup // the committer

	hook atomic.Pointer[func([]server.Committed)]
	// mark is stored by the next write's transaction (MarkNextWrite).
	mark atomic.Pointer[pendingMark]

	// outboxMu serialises the notification outbox's writes
	// (outbox_notify.go), which read what they change: one at a time they
	// never conflict, and a claim never races a finish.
	outboxMu sync.Mutex

	// Owned by the committer goroutine; nothing else touches them.
	heads  map[uuid.UUID]uint64 // space -> head, cached after first read
	usage  usage                // bytes charged to quotas, cached after first read
	opHigh opHighs              // each device's highest indexed clock, cached
	dirty  bool                 // written since the last successful sync

	guard  spaceGuard  // the free-space check of every write path
	counts countLocks  // serialise the writes that count a range (device binds, invites)
	synced syncedHeads // how far catch-up may read: the fsynced log
	// syncHook replaces db.Sync when set: tests inject an fsync failure
	// with it. Set before the first write, never changed after.
	syncHook func() error

	stats   stats
	metrics *metrics
}

// Stats counts the committer's work since Open.
type Stats struct {
	Commits uint64 // Commit calls answered
	Groups  uint64 // group commits run
	Syncs   uint64 // fsyncs (fewer than Commits when grouping works)
	Ops     uint64 // ops that changed a record
	Refused uint64 // Commit calls refused for lack of disk space
}

type stats struct {
	commits, groups, syncs, ops, refused atomic.Uint64
}

// Stats returns the counters so far.
func (s *Store) Stats() Stats {
	return Stats{
		Commits: s.stats.commits.Load(),
		Groups:  s.stats.groups.Load(),
		Syncs:   s.stats.syncs.Load(),
		Ops:     s.stats.ops.Load(),
		Refused: s.stats.refused.Load(),
	}
}

// Open opens (or creates) the database in dir and starts the committer.
func Open(dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults(dir)
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("store: registering metrics: %w", err)
	}
	db, readOnly, err := openBadger(dir, opts)
	if err != nil {
		m.unregister()
		return nil, err
	}
	s := &Store{
		dir:      dir,
		db:       db,
		opts:     opts,
		log:      opts.Logger,
		security: opts.Security,
		reqs:     make(chan *commitReq, commitQueueLen),
		heads:    make(map[uuid.UUID]uint64),
		usage:    newUsage(),
		opHigh:   opHighs{},
		metrics:  m,
	}
	s.guard.readOnly = readOnly
	if !readOnly {
		// What badger replayed from its log may not be on the disk yet
		// (the last run stopped between a write and its fsync); catch-up
		// treats it as durable (syncedHeads), so make it so.
		if err := db.Sync(); err != nil {
			m.unregister()
			db.Close()
			return nil, fmt.Errorf("store: syncing %s after opening: %w", dir, err)
		}
		s.makeBallast()
		if err := s.indexInvites(); err != nil {
			m.unregister()
			db.Close()
			return nil, fmt.Errorf("store: indexing invites: %w", err)
		}
	}
	s.wg.Add(1)
	go s.runCommitter()
	return s, nil
}

// openBadger opens badger in dir, read-only when the disk is below the
// reserve, and reports which.
func openBadger(dir string, opts Options) (*badger.DB, bool, error) {
	// Below the reserve at start-up, badger is opened read-only: a
	// read-write open may replay its log into a fresh memtable and create
	// mmapped files, and on a full tmpfs touching an unbacked page of those
	// is SIGBUS. Read-only, it maps nothing for writing, reads are served
	// and every write is refused (server.ErrUnavailable) until a restart
	// with space opens it read-write again. A directory that does not
	// exist yet cannot be opened read-only and is opened as usual.
	//
	// Even read-only, badger replays its memtable logs through mmap, and on
	// tmpfs reading a hole of those sparse files allocates a page: at 0
	// bytes free that is SIGBUS too. So the ballast goes first (the last
	// run was killed before its Close could release it), and with less
	// than minReplayFreeBytes left Open refuses, clearly, rather than crash.
	// A run that was killed also leaves a log badger must truncate, which
	// it cannot read-only; that one is opened read-write when the disk has
	// room to flush what the logs hold, and the guard refuses writes as
	// usual until space returns.
	bo := badgerOptions(dir, opts)
	readOnly := false
	var free uint64
	var ferr error
	var err error
	if free, ferr = opts.FreeSpace(); ferr == nil && free < opts.MinFreeBytes {
		if _, serr := os.Stat(filepath.Join(dir, "MANIFEST")); serr == nil {
			readOnly = true
			if removeBallast(dir, opts.Logger) {
				opts.Logger.Warn("store: disk below the reserve at start; released the ballast so that badger can replay its log")
				free, ferr = opts.FreeSpace()
			}
			if ferr == nil && free < minReplayFreeBytes {
				return nil, false, fmt.Errorf("store: opening %s: %d bytes free on its disk, fewer than the %d that replaying its log needs; free some space and start again: %w", dir, free, minReplayFreeBytes, server.ErrUnavailable)
			}
		}
	}
	var db *badger.DB
	if readOnly {
		db, err = badger.Open(bo.WithReadOnly(true))
		// badger does not wrap its errors: only the text says so.
		if err != nil && strings.Contains(err.Error(), badger.ErrTruncateNeeded.Error()) {
			need := uint64(memLogBytes(dir)) + minReplayFreeBytes
			if ferr == nil && free < need {
				return nil, false, fmt.Errorf("store: opening %s: its log needs replaying after a crash, which needs %d bytes free, and the disk has %d; free some space and start again: %w", dir, need, free, server.ErrUnavailable)
			}
			opts.Logger.Warn("store: disk below the reserve at start after a crash; replaying the log read-write, refusing writes until space returns", "free_bytes", free, "min_free_bytes", opts.MinFreeBytes)
			readOnly = false
			db, err = badger.Open(bo)
		} else if err == nil {
			opts.Logger.Warn("store: disk below the reserve at start; opening read-only, refusing writes until restarted with space", "free_bytes", free, "min_free_bytes", opts.MinFreeBytes)
		}
	} else {
		db, err = badger.Open(bo)
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: opening %s: %w", dir, err)
	}
	return db, readOnly, nil
}

// OnCommit sets the function that receives every durable group, in commit
// order, on the committer goroutine. Every Commit waits for it, so it should
// only hand the group on; it may wait for room in a bounded queue (the
// hub's publish does, so a fan-out that falls behind slows commits rather
// than growing memory), but a wait that never ends stalls every write. The
// records it receives are shared with every subscriber and must not be
// modified.
func (s *Store) OnCommit(fn func([]server.Committed)) {
	s.hook.Store(&fn)
}

// Close refuses new commits (server.ErrUnavailable), lets the committer
// finish every queued one, then closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()

	s.wg.Wait()
	s.metrics.unregister()
	if !s.guard.readOnly && s.releaseBallast() {
		s.log.Warn("store: disk below the reserve at shutdown; released the ballast so that badger can flush its memtables")
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: closing: %w", err)
	}
	return nil
}

// Healthy reports whether the store can take writes: nil, or an error
// wrapping server.ErrUnavailable when it is closed or the disk is below
// MinFreeBytes. It reads free space afresh (one statfs), for /healthz.
func (s *Store) Healthy() error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return fmt.Errorf("store: closed: %w", server.ErrUnavailable)
	}
	if s.guard.readOnly {
		return fmt.Errorf("store: %w", errReadOnly)
	}
	free, err := s.opts.FreeSpace()
	if err != nil {
		return fmt.Errorf("store: cannot read free disk space (%v): %w", err, server.ErrUnavailable)
	}
	if free < s.opts.MinFreeBytes {
		return fmt.Errorf("store: %d bytes free on disk, %d reserved: %w", free, s.opts.MinFreeBytes, server.ErrUnavailable)
	}
	return nil
}
