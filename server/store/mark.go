package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
)

// Marks remember how far this database has applied an outside log: in
// cluster mode (server/cluster) the replicated stream every write goes
// through, so that a restarted node resumes after the last entry it
// applied instead of from the start.

func markKey(name string) []byte { return append([]byte{kindMark}, name...) }

// Mark returns the position stored under name, 0 when none was.
func (s *Store) Mark(name string) (uint64, error) {
	var v uint64
	err := s.db.View(func(txn *badger.Txn) error {
		b, err := getRaw(txn, markKey(name))
		if errors.Is(err, server.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if len(b) != seqLen {
			return fmt.Errorf("store: mark %q is %d bytes", name, len(b))
		}
		v = binary.BigEndian.Uint64(b)
		return nil
	})
	return v, err
}

// SetMark stores a position under name without syncing: the next group
// commit or account write syncs it with what it wrote. A mark lost to a
// crash is behind what was applied, never ahead, so the entries after it
// are applied again, and applying an entry twice changes nothing the
// second time for ops (the op index) and for the account writes that are
// creates, deletes or replacements (see server/cluster for the ones that
// count).
func (s *Store) SetMark(name string, v uint64) error {
	return s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(markKey(name), encodeSeq(v))
	})
}
