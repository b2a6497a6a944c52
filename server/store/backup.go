package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/shared/uuid"
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

// RestoreOptions say what Restore keeps besides the data.
type RestoreOptions struct {
	// KeepSessions keeps the backup's sessions, invites and password
	// setup codes. By default all are dropped: the backup may hold
	// sessions revoked since it was taken (they would work again) and
	// invites or setup codes used since (they could be used twice).
	// Dropping them signs everyone out.
	KeepSessions bool
}

// RestoreReport says what Restore did.
type RestoreReport struct {
	Incarnation     uuid.UUID // the restored database's, new
	DroppedSessions int
	DroppedInvites  int
}

// Restore loads a backup made by Store.Backup into dir, which must be empty
// or not exist: loading over a live database would mix two histories. The
// restored database gets a new incarnation (see Store.Incarnation), loses
// its sessions and invites unless opts.KeepSessions, and is synced and
// closed; Open it to serve.
func Restore(dir string, r io.Reader, opts RestoreOptions) (*RestoreReport, error) {
	rep := new(RestoreReport)
	if err := restore(dir, r, opts, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

func restore(dir string, r io.Reader, opts RestoreOptions, rep *RestoreReport) error {
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
	if rep.Incarnation, err = newIncarnation(db); err != nil {
		db.Close()
		return fmt.Errorf("store: restore: new incarnation: %w", err)
	}
	if !opts.KeepSessions {
		// A user's session index (T) goes with the sessions (t).
		n, err := dropPrefixes(db, []byte{kindSession}, []byte{kindInvite}, []byte{kindUserSess}, []byte{kindSetup}, []byte{kindReplyToken}, []byte{kindReplyAddr})
		if err != nil {
			db.Close()
			return fmt.Errorf("store: restore: dropping sessions and invites: %w", err)
		}
		rep.DroppedSessions, rep.DroppedInvites = n[0], n[1]
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
