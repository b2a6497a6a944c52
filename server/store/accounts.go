package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// conflictRetries is how often an account write is retried when a
// concurrent transaction touched the same keys (badger.ErrConflict).
const conflictRetries = 3

// update runs fn in a read-write transaction, retrying on conflicts so that
// a create racing another create of the same id reports ErrExists rather
// than a badger error. Every account write goes through it: it first
// passes the free-space guard (server.ErrUnavailable, nothing written), and
// after a successful commit it fsyncs before returning, so that a claim, a
// revocation, an invite-failure count or a session is durable before it is
// answered. DB.Sync per transaction rather than SyncWrites: SyncWrites
// would also fsync every group commit's transactions one by one, which the
// committer already does once per group; an account write is one
// transaction, so the cost is one fsync either way, and a login's fsync is
// small next to its password hashing.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	if err := s.checkSpace(); err != nil {
		return err
	}
	fn, mark := s.withMark(fn)
	var err error
	for range conflictRetries {
		if err = s.db.Update(fn); !errors.Is(err, badger.ErrConflict) {
			break
		}
	}
	if err != nil {
		return err
	}
	if mark != nil {
		s.mark.CompareAndSwap(mark, nil)
	}
	return s.syncDurable()
}

// create stores v at key, or returns server.ErrExists.
//
// When writes are refused but the key exists already, it reports ErrExists:
// nothing would be written either way, and a start-up that creates what it
// needs only if missing (the bench seed) still starts on a full disk.
func (s *Store) create(key []byte, v any, what string) error {
	if err := s.checkSpace(); err != nil {
		if _, gerr := s.getRawKey(key); gerr == nil {
			return fmt.Errorf("store: creating %s: %w", what, server.ErrExists)
		}
	}
	if err := s.update(func(txn *badger.Txn) error { return insertValue(txn, key, v) }); err != nil {
		return fmt.Errorf("store: creating %s: %w", what, err)
	}
	return nil
}

// insert writes e in txn unless its key already holds a live value, and
// then returns server.ErrExists: every create (users, logins, sessions,
// invites) refuses to overwrite. It takes an entry so that keys with a TTL
// go the same way. Pass a fresh entry per transaction attempt: badger keeps
// the entry and rewrites its key when the transaction commits.
func insert(txn *badger.Txn, e *badger.Entry) error {
	if _, err := txn.Get(e.Key); err == nil {
		return server.ErrExists
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	return txn.SetEntry(e)
}

// insertValue encodes v and inserts it at key in txn (see insert).
func insertValue(txn *badger.Txn, key []byte, v any) error {
	b, err := marshal(v)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	return insert(txn, badger.NewEntry(key, b))
}

// get decodes the value at key into v, or returns server.ErrNotFound.
func (s *Store) get(key []byte, v any, what string) error {
	err := s.db.View(func(txn *badger.Txn) error {
		b, err := getRaw(txn, key)
		if err != nil {
			return err
		}
		return unmarshal(b, v)
	})
	if err != nil {
		return fmt.Errorf("store: reading %s: %w", what, err)
	}
	return nil
}

// CreateUser stores a new user, or returns server.ErrExists.
func (s *Store) CreateUser(ctx context.Context, u *server.User) error {
	return s.create(idKey(kindUser, u.ID), u, "user "+u.ID.String())
}

// User returns a user, or server.ErrNotFound.
func (s *Store) User(ctx context.Context, id uuid.UUID) (*server.User, error) {
	u := new(server.User)
	if err := s.get(idKey(kindUser, id), u, "user "+id.String()); err != nil {
		return nil, err
	}
	return u, nil
}

// CreateSpace stores a new space, or returns server.ErrExists.
func (s *Store) CreateSpace(ctx context.Context, sp *server.Space) error {
	return s.create(idKey(kindSpace, sp.ID), sp, "space "+sp.ID.String())
}

// Space returns a space, or server.ErrNotFound.
func (s *Store) Space(ctx context.Context, id uuid.UUID) (*server.Space, error) {
	sp := new(server.Space)
	if err := s.get(idKey(kindSpace, id), sp, "space "+id.String()); err != nil {
		return nil, err
	}
	return sp, nil
}

// Spaces returns every space, ordered by id.
func (s *Store) Spaces(ctx context.Context) ([]*server.Space, error) {
	var out []*server.Space
	err := s.scan([]byte{kindSpace}, func(_, v []byte) error {
		sp := new(server.Space)
		if err := unmarshal(v, sp); err != nil {
			return err
		}
		out = append(out, sp)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: listing spaces: %w", err)
	}
	return out, nil
}

// PutMember adds a member or changes their role. Both directions (space to
// users, user to spaces) are written in one transaction.
func (s *Store) PutMember(ctx context.Context, m server.Member) error {
	if m.Space == uuid.Nil || m.User == uuid.Nil || m.Role == "" {
		return fmt.Errorf("store: member needs a space, a user and a role (got %v)", m)
	}
	err := s.update(func(txn *badger.Txn) error { return putMember(txn, m) })
	if err != nil {
		return fmt.Errorf("store: putting member %s of %s: %w", m.User, m.Space, err)
	}
	return nil
}

// putMember writes both directions of a membership in txn. A role change
// keeps when the member joined and who brought them in.
func putMember(txn *badger.Txn, m server.Member) error {
	if b, err := getRaw(txn, pairKey(kindMember, m.Space, m.User)); err == nil {
		if old, err := decodeMember(b); err == nil && !old.Since.IsZero() {
			m.Since, m.By = old.Since, old.By
		}
	} else if !errors.Is(err, server.ErrNotFound) {
		return err
	}
	v, err := encodeMember(m)
	if err != nil {
		return err
	}
	if err := txn.Set(pairKey(kindMember, m.Space, m.User), v); err != nil {
		return err
	}
	return txn.Set(pairKey(kindMembership, m.User, m.Space), v)
}

// memberMeta is what a membership value holds after its role.
type memberMeta struct {
	Since time.Time `msgpack:"t,omitempty"`
	By    uuid.UUID `msgpack:"b,omitempty"`
}

// encodeMember writes a membership value: the role, then, after a 0x00
// (roles are plain words), msgpack of when and by whom. Values written
// before that are the bare role, and still read.
func encodeMember(m server.Member) ([]byte, error) {
	meta, err := marshal(memberMeta{Since: m.Since, By: m.By})
	if err != nil {
		return nil, err
	}
	v := append([]byte(m.Role), 0)
	return append(v, meta...), nil
}

// decodeMember reads a membership value into a Member's role, since and
// by (space and user come from the key).
func decodeMember(v []byte) (server.Member, error) {
	role, rest, found := bytes.Cut(v, []byte{0})
	m := server.Member{Role: server.Role(role)}
	if found && len(rest) > 0 {
		var meta memberMeta
		if err := unmarshal(rest, &meta); err != nil {
			return m, fmt.Errorf("decoding membership: %w", err)
		}
		m.Since, m.By = meta.Since, meta.By
	}
	return m, nil
}

// DeleteMember removes both directions of a membership.
func (s *Store) DeleteMember(ctx context.Context, space, user uuid.UUID) error {
	err := s.update(func(txn *badger.Txn) error {
		if err := txn.Delete(pairKey(kindMember, space, user)); err != nil {
			return err
		}
		return txn.Delete(pairKey(kindMembership, user, space))
	})
	if err != nil {
		return fmt.Errorf("store: deleting member %s of %s: %w", user, space, err)
	}
	return nil
}

// PutUser replaces an existing user.
func (s *Store) PutUser(ctx context.Context, u *server.User) error {
	err := s.update(func(txn *badger.Txn) error {
		if _, err := getRaw(txn, idKey(kindUser, u.ID)); err != nil {
			return err
		}
		b, err := marshal(u)
		if err != nil {
			return err
		}
		return txn.Set(idKey(kindUser, u.ID), b)
	})
	if err != nil {
		return fmt.Errorf("store: updating user %s: %w", u.ID, err)
	}
	return nil
}

// Memberships returns the spaces a user belongs to, ordered by space id.
func (s *Store) Memberships(ctx context.Context, user uuid.UUID) ([]server.Member, error) {
	var out []server.Member
	err := s.scan(idKey(kindMembership, user), func(k, v []byte) error {
		m, err := decodeMember(v)
		if err != nil {
			return err
		}
		m.Space, m.User = uuid.UUID(k[1+idLen:]), user
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: memberships of %s: %w", user, err)
	}
	return out, nil
}

// Members returns the members of a space, ordered by user id.
func (s *Store) Members(ctx context.Context, space uuid.UUID) ([]server.Member, error) {
	var out []server.Member
	err := s.scan(idKey(kindMember, space), func(k, v []byte) error {
		m, err := decodeMember(v)
		if err != nil {
			return err
		}
		m.Space, m.User = space, uuid.UUID(k[1+idLen:])
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: members of %s: %w", space, err)
	}
	return out, nil
}

// CreateSession stores a session, or returns server.ErrExists. Badger drops
// it by itself once it has expired (a TTL on the key and on its index
// entry), so abandoned sessions do not pile up.
func (s *Store) CreateSession(ctx context.Context, se *server.Session) error {
	err := s.update(func(txn *badger.Txn) error { return putSession(txn, se) })
	if err != nil {
		return fmt.Errorf("store: creating session: %w", err)
	}
	return nil
}

// putSession writes a new session and its per-user index entry in txn, or
// returns server.ErrExists.
func putSession(txn *badger.Txn, se *server.Session) error {
	if se.Expires.IsZero() {
		return errors.New("session without an expiry")
	}
	b, err := marshal(se)
	if err != nil {
		return fmt.Errorf("encoding session: %w", err)
	}
	// Badger expires keys in whole seconds, truncating; round up so it
	// never drops a session before Session itself calls it expired.
	exp := uint64(se.Expires.Unix()) + 1
	e := badger.NewEntry(sessionKey(se.Hash), b)
	e.ExpiresAt = exp
	if err := insert(txn, e); err != nil {
		return err
	}
	ie := badger.NewEntry(userSessionKey(se.User, se.Hash), nil)
	ie.ExpiresAt = exp
	return txn.SetEntry(ie)
}

// Session returns the session with this token hash, or server.ErrNotFound
// when there is none or it has expired.
func (s *Store) Session(ctx context.Context, hash [32]byte) (*server.Session, error) {
	se := new(server.Session)
	if err := s.get(sessionKey(hash), se, "session"); err != nil {
		return nil, err
	}
	if !time.Now().Before(se.Expires) {
		return nil, fmt.Errorf("store: session expired %s: %w", se.Expires.Format(time.RFC3339), server.ErrNotFound)
	}
	return se, nil
}

// DeleteSession removes a session (signing out) and its index entry.
// Deleting one that does not exist is not an error, so signing out twice
// is harmless.
func (s *Store) DeleteSession(ctx context.Context, hash [32]byte) error {
	err := s.update(func(txn *badger.Txn) error {
		b, err := getRaw(txn, sessionKey(hash))
		if errors.Is(err, server.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		var se server.Session
		if err := unmarshal(b, &se); err != nil {
			return err
		}
		if err := txn.Delete(userSessionKey(se.User, hash)); err != nil {
			return err
		}
		return txn.Delete(sessionKey(hash))
	})
	if err != nil {
		return fmt.Errorf("store: deleting session: %w", err)
	}
	return nil
}

// getRawKey returns a copy of the value at key, or server.ErrNotFound.
func (s *Store) getRawKey(key []byte) (b []byte, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		b, err = getRaw(txn, key)
		return err
	})
	return b, err
}

// scan calls fn with each key and value under prefix, in key order.
func (s *Store) scan(prefix []byte, fn func(k, v []byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
				return err
			}
		}
		return nil
	})
}
