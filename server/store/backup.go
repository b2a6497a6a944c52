package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// restorePendingWrites bounds the batches badger's loader keeps in flight
// while restoring, and with them its memory.
const restorePendingWrites = 16

// Backup writes a full, consistent snapshot of the database to w in
// badger's backup format (expired sessions and overwritten versions are
// left out). Commits go on while it runs; the snapshot is taken at its start.
func (s *Store) Backup(w io.Writer) error {
	if _, err := s.db.Backup(w, 0); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

// Restore loads a backup made by Store.Backup into dir, which must be empty
// or not exist: loading over a live database would mix two histories. The
// restored database is synced and closed; Open it to serve.
func Restore(dir string, r io.Reader) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: restore: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("store: restore: %s is not empty", dir)
	}
	db, err := badger.Open(badgerOptions(dir, Options{}.withDefaults(dir)))
	if err != nil {
		return fmt.Errorf("store: restore: opening %s: %w", dir, err)
	}
	if err := db.Load(r, restorePendingWrites); err != nil {
		db.Close()
		return fmt.Errorf("store: restore: loading: %w", err)
	}
	if err := db.Sync(); err != nil {
		db.Close()
		return fmt.Errorf("store: restore: syncing: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("store: restore: closing: %w", err)
	}
	return nil
}
