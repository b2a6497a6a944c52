package store

import (
	"log/slog"
	"time"

	"github.com/plansync/plansync/server/secevent"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults, sized for a small two-core machine with a few hundred MiB of
// memory to spare: badger's own defaults (64 MiB memtables, five of them, a
// 256 MiB block cache, 1 GiB value log files) assume a database server.
const (
	// DefaultMemTableSize is the size of one in-memory write table. A badger
	// transaction may hold at most 15% of it (2.4 MiB here), which bounds a
	// single record (see MaxRecordBytes).
	DefaultMemTableSize = 16 << 20 // bytes
	// DefaultNumMemtables is how many memtables may exist at once (the
	// active one and one being flushed).
	DefaultNumMemtables = 2
	// DefaultBlockCacheSize caches decompressed table blocks for reads.
	DefaultBlockCacheSize = 16 << 20 // bytes
	// DefaultIndexCacheSize caches table indexes and bloom filters; without
	// a limit badger keeps every index in memory.
	DefaultIndexCacheSize = 8 << 20 // bytes
	// DefaultValueLogFileSize is the size of one value log file. Values stay
	// in the LSM tree (see valueThreshold), so these stay small.
	DefaultValueLogFileSize = 64 << 20 // bytes
	// DefaultNumCompactors is badger's minimum useful number (one of them
	// is dedicated to level 0).
	DefaultNumCompactors = 2

	// DefaultMinFreeBytes is the free disk space below which every write
	// (group commits and account writes alike) is refused with
	// server.ErrUnavailable. badger writes through memory-mapped files, and
	// a store into a page the file system cannot back is SIGBUS, which
	// kills the process, not an error it could answer. A write that passes
	// the guard can still make badger grow the active memtable's log by a
	// transaction, flush a full memtable into a level-0 table of about its
	// size, and compact tables (the output is written before the input is
	// deleted): four memtables' worth covers a flush and a compaction of
	// that size with room for the manifest and for writes already past the
	// guard when it first reads the disk as full.
	DefaultMinFreeBytes = 4 * DefaultMemTableSize // bytes
	// DefaultFreeSpaceInterval is how long a free-space reading that was
	// above MinFreeBytes is trusted. Zero: every write reads it again (one
	// statfs, small next to the fsync every write makes), because a disk
	// filled from outside the server (logs, another program) within a
	// cached interval would otherwise take writes at 0 bytes free. A
	// reading below the reserve is never cached either way, so writes
	// resume at the first one after space returns.
	DefaultFreeSpaceInterval = 0

	// DefaultMaxGroupOps is how many ops the committer gathers into one
	// group commit (one transaction, one fsync) before it stops taking more
	// queued requests. A group can exceed it by one request.
	DefaultMaxGroupOps = 2048
)

// commitQueueLen is how many Commit calls may wait for the committer; more
// block in Commit (until their context ends), which pushes back on the hub.
const commitQueueLen = 256 // requests

// valueThreshold keeps every value (records reach at most MaxRecordBytes)
// inside the LSM tree, so compaction alone reclaims overwritten records and
// no value-log garbage collection is needed.
const valueThreshold = 1 << 20 // bytes, badger's maximum

// Options tune a Store. The zero value of each field means its default.
type Options struct {
	// Now is the server's clock, against which ops too far ahead are
	// refused (server.ErrClockAhead), and the time written by the account
	// writes that stamp one (device bindings, burned invites); nil is
	// time.Now. In cluster mode it is the time of the log entry being
	// applied, so that every node decides alike (server/cluster).
	Now              func() time.Time
	MemTableSize     int64 // bytes; DefaultMemTableSize
	NumMemtables     int   // DefaultNumMemtables
	BlockCacheSize   int64 // bytes; DefaultBlockCacheSize
	IndexCacheSize   int64 // bytes; DefaultIndexCacheSize
	ValueLogFileSize int64 // bytes; DefaultValueLogFileSize
	NumCompactors    int   // DefaultNumCompactors

	// MinFreeBytes: below this much free disk space Commit returns
	// server.ErrUnavailable without touching badger.
	MinFreeBytes uint64
	// FreeSpace reports the free bytes on the database's disk. Nil means
	// statfs(2) on the database directory; tests set it to fake a full disk.
	FreeSpace func() (uint64, error)
	// FreeSpaceInterval is how long a good free-space reading is trusted;
	// zero (DefaultFreeSpaceInterval) reads it at every write.
	FreeSpaceInterval time.Duration

	// OnSyncFailure is called when an fsync fails. Nil means log and exit
	// the process with a non-zero status (see defaultSyncFailure); tests
	// set it to observe the failure instead.
	OnSyncFailure func(error)

	// MaxGroupOps bounds the ops of one group commit.
	MaxGroupOps int

	// SpaceQuota and UserQuota bound the log bytes one space holds and one
	// person's ops add (DefaultSpaceQuota, DefaultUserQuota); past either
	// an op is refused with server.ErrQuotaExceeded. Negative means none.
	SpaceQuota int64
	UserQuota  int64
	// Security receives security events (quarantined records, quotas
	// reached); nil means a log on Logger.
	Security *secevent.Log

	// NoSync skips the fsync after each group commit, so Commit returns
	// before its ops are durable. It exists only for the crash harness's
	// control run (to show that the harness detects lost acks); never set
	// it anywhere else.
	NoSync bool

	// Logger receives badger's warnings and errors and the store's own
	// messages. Nil means slog.Default().
	Logger *slog.Logger
	// Registry, when set, receives the store's metrics (group size, group
	// commit latency, refusals). Nil means none; the store never registers
	// on the global default registry.
	Registry prometheus.Registerer
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults(dir string) Options {
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.NumMemtables == 0 {
		o.NumMemtables = DefaultNumMemtables
	}
	if o.BlockCacheSize == 0 {
		o.BlockCacheSize = DefaultBlockCacheSize
	}
	if o.IndexCacheSize == 0 {
		o.IndexCacheSize = DefaultIndexCacheSize
	}
	if o.ValueLogFileSize == 0 {
		o.ValueLogFileSize = DefaultValueLogFileSize
	}
	if o.NumCompactors == 0 {
		o.NumCompactors = DefaultNumCompactors
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = DefaultMinFreeBytes
	}
	if o.FreeSpace == nil {
		o.FreeSpace = func() (uint64, error) { return freeBytes(dir) }
	}
	if o.OnSyncFailure == nil {
		o.OnSyncFailure = defaultSyncFailure
	}
	if o.MaxGroupOps == 0 {
		o.MaxGroupOps = DefaultMaxGroupOps
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Security == nil {
		o.Security = secevent.New(o.Logger)
	}
	if o.SpaceQuota == 0 {
		o.SpaceQuota = DefaultSpaceQuota
	}
	if o.UserQuota == 0 {
		o.UserQuota = DefaultUserQuota
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
