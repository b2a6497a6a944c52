package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
)

// pendingMark is a mark the next write stores in its own transaction.
type pendingMark struct{ key, val []byte }

// MarkNextWrite makes the next write (a group commit or an account write)
// store the position v under name in the same transaction as what it
// writes, so the mark is durable exactly when the write is: an entry of
// the outside log that wrote something is never applied twice. The
// caller must be the store's only writer while it is pending (the
// cluster applier is). TakeMark ends it.
func (s *Store) MarkNextWrite(name string, v uint64) {
	s.mark.Store(&pendingMark{key: markKey(name), val: encodeSeq(v)})
}

// TakeMark ends the pending mark and reports whether no write stored it
// (the entry wrote nothing): the caller then stores it with SetMark.
func (s *Store) TakeMark() (unwritten bool) {
	return s.mark.Swap(nil) != nil
}

// withMark wraps a write transaction's function so that it also stores
// the pending mark, if there is one, and returns the mark it stored.
func (s *Store) withMark(fn func(txn *badger.Txn) error) (func(txn *badger.Txn) error, *pendingMark) {
	m := s.mark.Load()
	if m == nil {
		return fn, nil
	}
	return func(txn *badger.Txn) error {
		if err := fn(txn); err != nil {
			return err
		}
		return txn.Set(m.key, m.val)
	}, m
}

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

// SetMark stores a position under name without syncing, for an entry
// that wrote nothing (see MarkNextWrite): the next write syncs it. Lost
// to a crash, it makes that one entry be applied again, against the
// state it was decided on, so it decides the same.
func (s *Store) SetMark(name string, v uint64) error {
	return s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(markKey(name), encodeSeq(v))
	})
}
