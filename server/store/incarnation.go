package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// kindStoreMeta prefixes facts about the database itself rather than its
// data. It is defined here, apart from keys.go, and no other kind uses it.
const kindStoreMeta byte = '_'

// incarnationKey holds the database's incarnation: 16 bytes, a UUID.
var incarnationKey = []byte{kindStoreMeta, 'i'}

// Incarnation identifies this database: it is made the first time it is
// asked for (a new database, or one from before incarnations existed) and
// replaced by Restore. Clients compare it with the one they last saw
// (protocol.Welcome.Incarnation): a different one means sequence numbers
// were reused and their cursors are void.
//
// It is read without a write transaction: every hello asks for it, and a
// read must not pass the free-space guard, or a full disk would refuse
// every sign-in to the sync socket instead of serving reads. Only a
// database that has none yet writes one, and that write is guarded like
// any other (server.ErrUnavailable on a full disk).
func (s *Store) Incarnation(ctx context.Context) (uuid.UUID, error) {
	if p := s.incarnation.Load(); p != nil {
		return *p, nil
	}
	id, err := s.readIncarnation()
	if errors.Is(err, server.ErrNotFound) {
		err = s.update(func(txn *badger.Txn) error {
			b, err := getRaw(txn, incarnationKey)
			if err == nil {
				return decodeIncarnation(b, &id)
			}
			if !errors.Is(err, server.ErrNotFound) {
				return err
			}
			id = uuid.New()
			return txn.Set(incarnationKey, id[:])
		})
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("store: incarnation: %w", err)
	}
	s.incarnation.Store(&id)
	return id, nil
}

// readIncarnation returns the stored incarnation, or server.ErrNotFound.
func (s *Store) readIncarnation() (id uuid.UUID, err error) {
	b, err := s.getRawKey(incarnationKey)
	if err != nil {
		return uuid.Nil, err
	}
	return id, decodeIncarnation(b, &id)
}

func decodeIncarnation(b []byte, id *uuid.UUID) error {
	if len(b) != len(id) {
		return fmt.Errorf("incarnation of %d bytes", len(b))
	}
	copy(id[:], b)
	return nil
}

// newIncarnation gives db a fresh incarnation, for Restore.
func newIncarnation(db *badger.DB) (uuid.UUID, error) {
	id := uuid.New()
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(incarnationKey, id[:]) }); err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// dropPrefixes deletes every key under the given prefixes and returns how
// many keys were under each. It counts before deleting (DropPrefix cannot
// say), in the same quiet database Restore holds.
func dropPrefixes(db *badger.DB, prefixes ...[]byte) ([]int, error) {
	counts := make([]int, len(prefixes))
	err := db.View(func(txn *badger.Txn) error {
		for i, p := range prefixes {
			opts := badger.DefaultIteratorOptions
			opts.PrefetchValues = false
			opts.Prefix = p
			it := txn.NewIterator(opts)
			for it.Rewind(); it.Valid(); it.Next() {
				counts[i]++
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := db.DropPrefix(prefixes...); err != nil {
		return nil, err
	}
	return counts, nil
}
