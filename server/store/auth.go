package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// Sessions returns a user's live sessions, ordered by token hash. It walks
// the user's index (T|user|hash), so its cost is that user's sessions, not
// everyone's.
func (s *Store) Sessions(ctx context.Context, user uuid.UUID) ([]*server.Session, error) {
	var out []*server.Session
	now := time.Now()
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = idKey(kindUserSess, user)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var hash [32]byte
			copy(hash[:], it.Item().Key()[1+idLen:])
			b, err := getRaw(txn, sessionKey(hash))
			if errors.Is(err, server.ErrNotFound) {
				continue // expired between the two keys' TTLs
			} else if err != nil {
				return err
			}
			se := new(server.Session)
			if err := unmarshal(b, se); err != nil {
				return err
			}
			if now.Before(se.Expires) {
				out = append(out, se)
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: sessions of %s: %w", user, err)
	}
	return out, nil
}

// CreateCredential stores a login, or returns server.ErrExists.
func (s *Store) CreateCredential(ctx context.Context, c *server.Credential) error {
	if c.Login == "" || c.User == uuid.Nil || c.Hash == "" {
		return errors.New("store: a credential needs a login, a user and a hash")
	}
	return s.create(loginKey(c.Login), c, "login "+c.Login)
}

// Credential returns the credential of a login, or server.ErrNotFound.
func (s *Store) Credential(ctx context.Context, login string) (*server.Credential, error) {
	c := new(server.Credential)
	if err := s.get(loginKey(login), c, "login"); err != nil {
		return nil, err
	}
	return c, nil
}

// SetCredentialHash replaces the hash of an existing login.
func (s *Store) SetCredentialHash(ctx context.Context, login, hash string) error {
	if hash == "" {
		return errors.New("store: a credential needs a hash")
	}
	err := s.update(func(txn *badger.Txn) error {
		b, err := getRaw(txn, loginKey(login))
		if err != nil {
			return err
		}
		c := new(server.Credential)
		if err := unmarshal(b, c); err != nil {
			return err
		}
		c.Hash = hash
		nb, err := marshal(c)
		if err != nil {
			return err
		}
		return txn.Set(loginKey(login), nb)
	})
	if err != nil {
		return fmt.Errorf("store: updating login %s: %w", login, err)
	}
	return nil
}

// CreateInvite stores an invite until it expires (a TTL on its key), or
// returns server.ErrExists when a live invite has the same ID.
func (s *Store) CreateInvite(ctx context.Context, inv *server.Invite) error {
	if inv.ID == "" || inv.Secret == "" || inv.Space == uuid.Nil || inv.Expires.IsZero() {
		return errors.New("store: an invite needs an id, a secret hash, a space and an expiry")
	}
	defer s.counts.lock(inv.Space)()
	err := s.update(func(txn *badger.Txn) error {
		open, err := openInvites(txn, inv.Space, inv.Created)
		if err != nil {
			return err
		}
		if open >= server.MaxOpenInvites {
			return server.ErrTooManyInvites
		}
		e, err := inviteEntry(inv)
		if err != nil {
			return err
		}
		if err := insert(txn, e); err != nil {
			return err
		}
		return txn.SetEntry(withExpiry(badger.NewEntry(spaceInviteKey(inv.Space, inv.ID), nil), e.ExpiresAt))
	})
	if err != nil {
		if errors.Is(err, server.ErrTooManyInvites) {
			return err
		}
		return fmt.Errorf("store: creating invite: %w", err)
	}
	return nil
}

// openInvites counts the space's invites that could still be claimed at
// now. Reading each index entry's invite also puts those keys in the
// transaction's read set, so two creates racing for the last open slot
// conflict on the guard below rather than both commit.
func openInvites(txn *badger.Txn, space uuid.UUID, now time.Time) (int, error) {
	if _, err := getRaw(txn, idKey(kindSpaceInv, space)); err != nil && !errors.Is(err, server.ErrNotFound) {
		return 0, err
	}
	var n int
	err := eachSpaceInvite(txn, space, func(inv *server.Invite) bool {
		if openAt(inv, now) {
			n++
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	// The space's own guard entry (I|space, no id) is rewritten by every
	// create, so that racing creates conflict (a phantom the range read
	// alone would miss; see bindGuardKey).
	return n, txn.Set(idKey(kindSpaceInv, space), nil)
}

// eachSpaceInvite calls fn with each invite the space's index names,
// oldest key first, until fn returns false. Index entries whose invite is
// gone are skipped (both expire together; a crash between them cannot
// happen, they share a transaction).
func eachSpaceInvite(txn *badger.Txn, space uuid.UUID, fn func(*server.Invite) bool) error {
	prefix := idKey(kindSpaceInv, space)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) == len(prefix) {
			continue // the guard entry
		}
		inv, err := readInvite(txn, string(k[len(prefix):]))
		if errors.Is(err, server.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if !fn(inv) {
			return nil
		}
	}
	return nil
}

// indexInvites gives every stored invite its space's index entry: invites
// made before the index existed (a week's worth at most, InviteKeep more
// once used) are listed like new ones. It runs once per writable open and
// writes only what is missing.
func (s *Store) indexInvites() error {
	var missing []*badger.Entry
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{kindInvite}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			b, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			inv := new(server.Invite)
			if err := unmarshal(b, inv); err != nil {
				continue // listed nowhere either way; Invite reports it
			}
			k := spaceInviteKey(inv.Space, inv.ID)
			if _, err := txn.Get(k); errors.Is(err, badger.ErrKeyNotFound) {
				missing = append(missing, withExpiry(badger.NewEntry(k, nil), item.ExpiresAt()))
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(missing) == 0 {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, e := range missing {
		if err := wb.SetEntry(e); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// inviteEntry encodes an invite as an entry that badger drops once the
// invite has expired.
func inviteEntry(inv *server.Invite) (*badger.Entry, error) {
	b, err := marshal(inv)
	if err != nil {
		return nil, fmt.Errorf("encoding invite: %w", err)
	}
	e := badger.NewEntry(inviteKey(inv.ID), b)
	e.ExpiresAt = uint64(inv.Expires.Add(InviteKeep).Unix()) + 1 // whole seconds, rounded up
	return e, nil
}

// readInvite reads an invite in whatever state it is kept, or returns
// server.ErrNotFound.
func readInvite(txn *badger.Txn, id string) (*server.Invite, error) {
	b, err := getRaw(txn, inviteKey(id))
	if err != nil {
		return nil, err
	}
	inv := new(server.Invite)
	if err := unmarshal(b, inv); err != nil {
		return nil, fmt.Errorf("decoding invite: %w", err)
	}
	return inv, nil
}

// openAt says the invite could be claimed at now.
func openAt(inv *server.Invite, now time.Time) bool {
	return now.Before(inv.Expires) && !inv.Burned() && !inv.Claimed() && !inv.Revoked()
}

// getInvite reads a live invite in txn, or returns server.ErrNotFound.
func getInvite(txn *badger.Txn, id string, now time.Time) (*server.Invite, error) {
	inv, err := readInvite(txn, id)
	if err != nil {
		return nil, err
	}
	if !openAt(inv, now) {
		return nil, server.ErrNotFound
	}
	return inv, nil
}

// Invite returns a live invite, or server.ErrNotFound.
func (s *Store) Invite(ctx context.Context, id string, now time.Time) (*server.Invite, error) {
	var inv *server.Invite
	err := s.db.View(func(txn *badger.Txn) (err error) {
		inv, err = getInvite(txn, id, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading invite: %w", err)
	}
	return inv, nil
}

// FailInvite counts one wrong secret against an invite and burns it once
// maxFailures are counted: the invite stays, unclaimable, with BurnedAt
// set, until its key's TTL drops it at expiry, so Invites shows its maker
// that it was burned. The count is durable, so restarting the server does
// not give a guesser fresh tries. An invite already burned or gone
// reports burned.
func (s *Store) FailInvite(ctx context.Context, id string, maxFailures int) (bool, error) {
	burned := false
	err := s.update(func(txn *badger.Txn) error {
		burned = false
		inv, err := readInvite(txn, id)
		if errors.Is(err, server.ErrNotFound) {
			burned = true
			return nil
		} else if err != nil {
			return err
		}
		if inv.Burned() || inv.Claimed() || inv.Revoked() {
			burned = true
			return nil
		}
		inv.Failures++
		if inv.Failures >= maxFailures {
			burned = true
			inv.BurnedAt = s.opts.Now().UTC()
		}
		e, err := inviteEntry(inv)
		if err != nil {
			return err
		}
		return txn.SetEntry(e)
	})
	if err != nil {
		return false, fmt.Errorf("store: counting a failed invite claim: %w", err)
	}
	return burned, nil
}

// Invites lists a space's invites that have not yet been dropped
// (expired ones stay InviteKeep, so their maker sees what became of
// them), burned ones included, oldest first. It reads the space's own
// index range; server.MaxOpenInvites bounds how many can be open.
func (s *Store) Invites(ctx context.Context, space uuid.UUID) ([]*server.Invite, error) {
	var out []*server.Invite
	err := s.db.View(func(txn *badger.Txn) error {
		return eachSpaceInvite(txn, space, func(inv *server.Invite) bool {
			out = append(out, inv)
			return ctx.Err() == nil
		})
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("store: listing invites: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// ClaimInvite uses up a live invite (marks it claimed, by whom and when,
// and keeps it for its maker's list) and writes the claim in one
// transaction. Badger's transactions are optimistic: of two claims racing
// for one invite, the second to commit sees a conflict, is retried, and
// then finds the invite gone, so an invite is used at most once.
func (s *Store) ClaimInvite(ctx context.Context, id string, now time.Time, c *server.Claim) error {
	err := s.update(func(txn *badger.Txn) error {
		inv, err := getInvite(txn, id, now)
		if err != nil {
			return err
		}
		inv.ClaimedAt = now.UTC()
		if c.NewUser != nil {
			inv.ClaimedBy = c.NewUser.ID
		} else if len(c.Members) > 0 {
			inv.ClaimedBy = c.Members[0].User
		}
		e, err := inviteEntry(inv)
		if err != nil {
			return err
		}
		if err := txn.SetEntry(e); err != nil {
			return err
		}
		if u := c.NewUser; u != nil {
			if err := insertValue(txn, idKey(kindUser, u.ID), u); err != nil {
				return err
			}
		}
		if cr := c.Credential; cr != nil {
			if err := insertValue(txn, loginKey(cr.Login), cr); err != nil {
				return err
			}
		}
		for _, m := range c.Members {
			if err := putMember(txn, m); err != nil {
				return err
			}
		}
		if c.Session != nil {
			return putSession(txn, c.Session)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: claiming invite: %w", err)
	}
	return nil
}
