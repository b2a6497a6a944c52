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

// InviteKeep is how long an invite stays in the store after it expired
// (claimed, burned and revoked ones too, from their expiry): long enough
// for a teacher to see in the invite list what became of a code given out
// last month, short enough that invites do not pile up.
const InviteKeep = 30 * 24 * time.Hour

// StoredInvite returns an invite in whatever state it is kept.
func (s *Store) StoredInvite(ctx context.Context, id string) (*server.Invite, error) {
	inv := new(server.Invite)
	if err := s.get(inviteKey(id), inv, "invite"); err != nil {
		return nil, err
	}
	return inv, nil
}

// RevokeInvite marks an invite revoked unless it was claimed or revoked
// already (then server.ErrNotFound). A burned or expired one may still be
// revoked: the list then says so, and nothing else changes.
func (s *Store) RevokeInvite(ctx context.Context, id string, at time.Time, by uuid.UUID) (*server.Invite, error) {
	var before *server.Invite
	err := s.update(func(txn *badger.Txn) error {
		inv, err := readInvite(txn, id)
		if err != nil {
			return err
		}
		if inv.Claimed() || inv.Revoked() {
			return server.ErrNotFound
		}
		cp := *inv
		before = &cp
		inv.RevokedAt, inv.RevokedBy = at.UTC(), by
		e, err := inviteEntry(inv)
		if err != nil {
			return err
		}
		return txn.SetEntry(e)
	})
	if err != nil {
		return nil, fmt.Errorf("store: revoking invite: %w", err)
	}
	return before, nil
}

// DeleteUserSessions deletes a user's sessions but keep, in one
// transaction, walking the user's index.
func (s *Store) DeleteUserSessions(ctx context.Context, user uuid.UUID, keep [32]byte) ([][32]byte, error) {
	var out [][32]byte
	err := s.update(func(txn *badger.Txn) error {
		out = out[:0]
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = idKey(kindUserSess, user)
		it := txn.NewIterator(opts)
		var hashes [][32]byte
		for it.Rewind(); it.Valid(); it.Next() {
			var h [32]byte
			copy(h[:], it.Item().Key()[1+idLen:])
			hashes = append(hashes, h)
		}
		it.Close()
		for _, h := range hashes {
			if h == keep {
				continue
			}
			if err := txn.Delete(userSessionKey(user, h)); err != nil {
				return err
			}
			if err := txn.Delete(sessionKey(h)); err != nil {
				return err
			}
			out = append(out, h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: deleting sessions of %s: %w", user, err)
	}
	return out, nil
}

// TouchSession rewrites a session with its last-seen time, keeping its
// TTL (the entry's expiry is the session's).
func (s *Store) TouchSession(ctx context.Context, hash [32]byte, seen time.Time) error {
	err := s.update(func(txn *badger.Txn) error {
		b, err := getRaw(txn, sessionKey(hash))
		if errors.Is(err, server.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		se := new(server.Session)
		if err := unmarshal(b, se); err != nil {
			return err
		}
		se.LastSeen = seen.UTC()
		nb, err := marshal(se)
		if err != nil {
			return err
		}
		e := badger.NewEntry(sessionKey(hash), nb)
		e.ExpiresAt = uint64(se.Expires.Unix()) + 1
		return txn.SetEntry(e)
	})
	if err != nil {
		return fmt.Errorf("store: touching session: %w", err)
	}
	return nil
}

// setupKey is p|sha256(code).
func setupKey(hash [32]byte) []byte { return append([]byte{kindSetup}, hash[:]...) }

// CreateSetupCode stores a setup code with a TTL at its expiry.
func (s *Store) CreateSetupCode(ctx context.Context, sc *server.SetupCode) error {
	if sc.Login == "" || sc.User == uuid.Nil || sc.Expires.IsZero() {
		return errors.New("store: a setup code needs a login, a user and an expiry")
	}
	err := s.update(func(txn *badger.Txn) error {
		b, err := marshal(sc)
		if err != nil {
			return err
		}
		e := badger.NewEntry(setupKey(sc.Hash), b)
		e.ExpiresAt = uint64(sc.Expires.Unix()) + 1
		return insert(txn, e)
	})
	if err != nil {
		return fmt.Errorf("store: creating setup code: %w", err)
	}
	return nil
}

// SetupCode implements server.Store.
func (s *Store) SetupCode(ctx context.Context, hash [32]byte, now time.Time) (*server.SetupCode, error) {
	sc := new(server.SetupCode)
	err := s.db.View(func(txn *badger.Txn) error {
		b, err := getRaw(txn, setupKey(hash))
		if err != nil {
			return err
		}
		if err := unmarshal(b, sc); err != nil {
			return err
		}
		if !now.Before(sc.Expires) {
			return server.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sc, nil
}

// UseSetupCode deletes a live setup code and sets its login's password
// hash in the same transaction, so a code sets a password at most once.
func (s *Store) UseSetupCode(ctx context.Context, hash [32]byte, now time.Time, passwordHash string) (*server.SetupCode, error) {
	var sc *server.SetupCode
	err := s.update(func(txn *badger.Txn) error {
		b, err := getRaw(txn, setupKey(hash))
		if err != nil {
			return err
		}
		sc = new(server.SetupCode)
		if err := unmarshal(b, sc); err != nil {
			return err
		}
		if !now.Before(sc.Expires) {
			return server.ErrNotFound
		}
		cb, err := getRaw(txn, loginKey(sc.Login))
		if err != nil {
			return err
		}
		c := new(server.Credential)
		if err := unmarshal(cb, c); err != nil {
			return err
		}
		if c.User != sc.User {
			return server.ErrNotFound
		}
		c.Hash = passwordHash
		nb, err := marshal(c)
		if err != nil {
			return err
		}
		if err := txn.Set(loginKey(sc.Login), nb); err != nil {
			return err
		}
		return txn.Delete(setupKey(hash))
	})
	if err != nil {
		return nil, fmt.Errorf("store: using setup code: %w", err)
	}
	return sc, nil
}

// Settings returns a school's settings, the zero value when never set.
func (s *Store) Settings(ctx context.Context, school uuid.UUID) (*server.SchoolSettings, error) {
	st := new(server.SchoolSettings)
	err := s.get(idKey(kindSettings, school), st, "settings")
	if errors.Is(err, server.ErrNotFound) {
		return st, nil
	}
	return st, err
}

// PutSettings replaces a school's settings.
func (s *Store) PutSettings(ctx context.Context, school uuid.UUID, st *server.SchoolSettings) error {
	err := s.update(func(txn *badger.Txn) error {
		b, err := marshal(st)
		if err != nil {
			return err
		}
		return txn.Set(idKey(kindSettings, school), b)
	})
	if err != nil {
		return fmt.Errorf("store: putting settings of %s: %w", school, err)
	}
	return nil
}
