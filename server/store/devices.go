package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// deviceBinding is who may write under a device id: the session that first
// said hello with it. It is what stops one member from writing under
// another's device (and so under that device's clock), which the op index
// alone would only refuse op by op.
//
// An account type the server alone reads, so it is stored through marshal's
// msgpack path like server.Session.
type deviceBinding struct {
	User    uuid.UUID `msgpack:"u"`
	Session [32]byte  `msgpack:"s"`
	Bound   time.Time `msgpack:"b"`
}

func deviceKey(device uuid.UUID) []byte { return idKey(kindDevice, device) }

func userDeviceKey(user, device uuid.UUID) []byte { return pairKey(kindUserDevice, user, device) }

// bindGuardKey is read and written by every transaction that binds a new
// device of the user. Badger's conflict check covers keys a transaction
// read, not keys that appear in a range it scanned, so without it two
// concurrent binds would each count 63 live devices and both commit a 64th
// (a phantom): the guard makes the later one conflict, retry, and count 64.
// Binds of one user also take its count lock (countLocks), so they rarely
// reach the conflict at all.
func bindGuardKey(user uuid.UUID) []byte { return idKey(kindBindGuard, user) }

// BindDevice implements server.Store. A hello on a known device reads one
// key and writes nothing; only a device new to its session writes.
func (s *Store) BindDevice(ctx context.Context, device uuid.UUID, se *server.Session, maxPerUser int) error {
	if device == uuid.Nil {
		return errors.New("store: binding the nil device id")
	}
	var bound bool
	err := s.db.View(func(txn *badger.Txn) error {
		b, err := readBinding(txn, device)
		if err != nil || b == nil {
			return err
		}
		bound = b.User == se.User && b.Session == se.Hash
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: reading device binding: %w", err)
	}
	if bound {
		return nil
	}
	bind := func(txn *badger.Txn) error {
		b, err := readBinding(txn, device)
		if err != nil {
			return err
		}
		if b != nil {
			switch {
			case b.User == se.User && b.Session == se.Hash:
				return nil
			case b.User != se.User:
				return server.ErrDeviceTaken
			}
			live, err := sessionLive(txn, b.Session)
			if err != nil {
				return err
			}
			if live {
				return server.ErrDeviceTaken
			}
			// The user's earlier session on this device ended (signed out
			// or revoked): the device is theirs to bind again.
		}
		if _, err := getRaw(txn, bindGuardKey(se.User)); err != nil && !errors.Is(err, server.ErrNotFound) {
			return err
		}
		n, err := liveDevices(txn, se.User, device)
		if err != nil {
			return err
		}
		if n >= maxPerUser {
			return server.ErrDeviceLimit
		}
		v, err := marshal(&deviceBinding{User: se.User, Session: se.Hash, Bound: s.opts.Now()})
		if err != nil {
			return err
		}
		exp := uint64(se.Expires.Unix()) + 1
		// Same lifetime as the session: a binding outliving it would hold
		// the id for nobody.
		if err := txn.SetEntry(withExpiry(badger.NewEntry(deviceKey(device), v), exp)); err != nil {
			return err
		}
		if err := txn.SetEntry(withExpiry(badger.NewEntry(bindGuardKey(se.User), nil), exp)); err != nil {
			return err
		}
		return txn.SetEntry(withExpiry(badger.NewEntry(userDeviceKey(se.User, device), nil), exp))
	}
	unlock := s.counts.lock(se.User)
	err = s.update(bind)
	unlock()
	if err != nil {
		if errors.Is(err, server.ErrDeviceTaken) || errors.Is(err, server.ErrDeviceLimit) {
			return err
		}
		return fmt.Errorf("store: binding device: %w", err)
	}
	return nil
}

func withExpiry(e *badger.Entry, at uint64) *badger.Entry {
	e.ExpiresAt = at
	return e
}

// readBinding returns the binding of a device, or nil when it has none.
func readBinding(txn *badger.Txn, device uuid.UUID) (*deviceBinding, error) {
	raw, err := getRaw(txn, deviceKey(device))
	if errors.Is(err, server.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b := new(deviceBinding)
	if err := unmarshal(raw, b); err != nil {
		return nil, fmt.Errorf("device binding: %w", err)
	}
	return b, nil
}

func sessionLive(txn *badger.Txn, hash [32]byte) (bool, error) {
	_, err := getRaw(txn, sessionKey(hash))
	if errors.Is(err, server.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// liveDevices counts the user's device ids, other than except, whose
// sessions are live, deleting the bindings of ended sessions it meets so
// that the count stays cheap. It stops counting at MaxScanDevices.
func liveDevices(txn *badger.Txn, user, except uuid.UUID) (int, error) {
	prefix := idKey(kindUserDevice, user)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	var n int
	var stale [][]byte
	for it.Rewind(); it.Valid() && n < MaxScanDevices; it.Next() {
		k := it.Item().KeyCopy(nil)
		var dev uuid.UUID
		copy(dev[:], k[len(prefix):])
		if dev == except {
			continue
		}
		b, err := readBinding(txn, dev)
		live := false
		if err == nil && b != nil && b.User == user {
			live, err = sessionLive(txn, b.Session)
		}
		if err != nil {
			it.Close()
			return 0, err
		}
		if live {
			n++
		} else {
			stale = append(stale, k)
			if b != nil && b.User == user {
				stale = append(stale, deviceKey(dev))
			}
		}
	}
	it.Close()
	for _, k := range stale {
		if err := txn.Delete(k); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// MaxScanDevices bounds the index entries one bind reads: far above any
// per-user device limit, so the count is exact wherever it matters.
const MaxScanDevices = 4096

// DeviceBoundTo reports whether device is bound to session se already: the
// read BindDevice starts with, for a caller (server/cluster) that sends
// only the binds that write through its log.
func (s *Store) DeviceBoundTo(device uuid.UUID, se *server.Session) bool {
	var bound bool
	_ = s.db.View(func(txn *badger.Txn) error {
		b, err := readBinding(txn, device)
		if err != nil || b == nil {
			return err
		}
		bound = b.User == se.User && b.Session == se.Hash
		return nil
	})
	return bound
}
