package store

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// ballastName is the file in the database directory that holds disk space
// for badger's shutdown flush. badger ignores files it does not know.
const ballastName = "plansync-ballast"

// ballastSize is how much the ballast holds. The free-space guard stops
// the server's own writes, but another program can take the disk to 0
// bytes free, and then badger's Close, which flushes every memtable into
// a level-0 table of about its size through a memory-mapped file, is
// SIGBUS (the file system cannot back the pages). Close deletes the ballast
// first when the disk is below the reserve, so the flush has room: one
// table per memtable that may exist (the active one and one waiting).
func ballastSize(o Options) int64 { return int64(o.NumMemtables) * o.MemTableSize }

// minReplayFreeBytes is the least free space Open needs on a disk below
// the reserve. Replaying a memtable log reads it through mmap up to the
// first empty entry, and on tmpfs a read of a hole allocates a page, so
// replay needs a few pages per log (NumMemtables of them); 1 MiB is far
// more, and far less than anything a server runs on.
const minReplayFreeBytes = 1 << 20 // bytes

// makeBallast creates the ballast when it is missing and the disk has room
// for it above the reserve (a ballast that took the disk below the reserve
// would refuse every write). Failing to make one is logged, not fatal: the
// store then runs as it would without.
func (s *Store) makeBallast() {
	name := filepath.Join(s.dir, ballastName)
	size := ballastSize(s.opts)
	if st, err := os.Stat(name); err == nil && st.Size() >= size {
		return
	}
	free, err := s.opts.FreeSpace()
	if err != nil || free < s.opts.MinFreeBytes+uint64(size) {
		s.log.Warn("store: no room for the shutdown ballast; a disk filled to the last byte by another program may crash badger's flush at shutdown", "free_bytes", free, "ballast_bytes", size, "err", err)
		return
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		err = allocate(f, size)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_ = os.Remove(name)
		s.log.Warn("store: cannot make the shutdown ballast; running without it", "err", err)
	}
}

// releaseBallast deletes the ballast when the disk is below the reserve
// (or its free space cannot be read), so that badger's shutdown flush has
// room. It reports whether it deleted one.
func (s *Store) releaseBallast() bool {
	if free, err := s.opts.FreeSpace(); err == nil && free >= s.opts.MinFreeBytes {
		return false
	}
	return removeBallast(s.dir, s.log)
}

// removeBallast deletes the ballast in dir and reports whether there was
// one.
func removeBallast(dir string, log *slog.Logger) bool {
	err := os.Remove(filepath.Join(dir, ballastName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Error("store: cannot release the shutdown ballast on a full disk", "err", err)
	}
	return err == nil
}

// memLogBytes is what badger's memtable logs in dir hold on disk (their
// allocated blocks, not their sparse length): about what flushing them
// after a crash writes.
func memLogBytes(dir string) int64 {
	names, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	var n int64
	for _, name := range names {
		n += allocatedBytes(name)
	}
	return n
}
