package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Account writes are log entries like ops, applied by every node through
// the same badger code (see exec); account reads are the local view's.
// A read that finds nothing asks the log how far it goes and waits for
// this node to get there before it says "not found" (lookup): a session
// made through another node a moment ago is found here too.

// lookup reads with get, and when it finds nothing catches up and reads
// again.
func lookup[T any](ctx context.Context, s *Store, get func() (T, error)) (T, error) {
	v, err := get()
	if errors.Is(err, server.ErrNotFound) && s.catchUp(ctx) {
		return get()
	}
	return v, err
}

func (s *Store) write(ctx context.Context, e *entry) error {
	_, err := s.propose(ctx, e)
	return err
}

// Changes implements server.Store (the local view).
func (s *Store) Changes(ctx context.Context, space uuid.UUID, after uint64, maxBytes int) (server.Page, error) {
	return s.local.Changes(ctx, space, after, maxBytes)
}

// Head implements server.Store (the local view).
func (s *Store) Head(ctx context.Context, space uuid.UUID) (uint64, error) {
	return s.local.Head(ctx, space)
}

// Record implements server.Store (the local view).
func (s *Store) Record(ctx context.Context, key record.Key) (*record.Record, error) {
	return s.local.Record(ctx, key)
}

// History implements server.Store (the local view).
func (s *Store) History(ctx context.Context, key record.Key) ([]server.LogEntry, error) {
	return s.local.History(ctx, key)
}

// CreateUser implements server.Store.
func (s *Store) CreateUser(ctx context.Context, u *server.User) error {
	return s.write(ctx, &entry{Kind: kCreateUser, User: u})
}

// User implements server.Store.
func (s *Store) User(ctx context.Context, id uuid.UUID) (*server.User, error) {
	return lookup(ctx, s, func() (*server.User, error) { return s.local.User(ctx, id) })
}

// CreateSpace implements server.Store.
func (s *Store) CreateSpace(ctx context.Context, sp *server.Space) error {
	return s.write(ctx, &entry{Kind: kCreateSpace, Space: sp})
}

// Space implements server.Store.
func (s *Store) Space(ctx context.Context, id uuid.UUID) (*server.Space, error) {
	return lookup(ctx, s, func() (*server.Space, error) { return s.local.Space(ctx, id) })
}

// Spaces implements server.Store.
func (s *Store) Spaces(ctx context.Context) ([]*server.Space, error) { return s.local.Spaces(ctx) }

// PutUser implements server.Store.
func (s *Store) PutUser(ctx context.Context, u *server.User) error {
	return s.write(ctx, &entry{Kind: kPutUser, User: u})
}

// PutMember implements server.Store.
func (s *Store) PutMember(ctx context.Context, m server.Member) error {
	return s.write(ctx, &entry{Kind: kPutMember, Member: &m})
}

// DeleteMember implements server.Store.
func (s *Store) DeleteMember(ctx context.Context, space, user uuid.UUID) error {
	return s.write(ctx, &entry{Kind: kDeleteMember, ID: space, ID2: user})
}

// Memberships implements server.Store.
func (s *Store) Memberships(ctx context.Context, user uuid.UUID) ([]server.Member, error) {
	return s.local.Memberships(ctx, user)
}

// Members implements server.Store.
func (s *Store) Members(ctx context.Context, space uuid.UUID) ([]server.Member, error) {
	return s.local.Members(ctx, space)
}

// CreateSession implements server.Store.
func (s *Store) CreateSession(ctx context.Context, se *server.Session) error {
	return s.write(ctx, &entry{Kind: kCreateSession, Session: se})
}

// Session implements server.Store.
func (s *Store) Session(ctx context.Context, hash [32]byte) (*server.Session, error) {
	return lookup(ctx, s, func() (*server.Session, error) { return s.local.Session(ctx, hash) })
}

// DeleteSession implements server.Store.
func (s *Store) DeleteSession(ctx context.Context, hash [32]byte) error {
	return s.write(ctx, &entry{Kind: kDeleteSession, Hash: hash})
}

// DeleteUserSessions implements server.Store.
func (s *Store) DeleteUserSessions(ctx context.Context, user uuid.UUID, keep [32]byte) ([][32]byte, error) {
	v, err := s.propose(ctx, &entry{Kind: kDeleteUserSessions, ID: user, Hash: keep})
	hs, _ := v.([][32]byte)
	return hs, err
}

// TouchSession implements server.Store.
func (s *Store) TouchSession(ctx context.Context, hash [32]byte, seen time.Time) error {
	return s.write(ctx, &entry{Kind: kTouchSession, Hash: hash, Time: seen})
}

// BindDevice implements server.Store. A hello on a device already bound
// to its session reads the local view only, as in single-node mode.
func (s *Store) BindDevice(ctx context.Context, device uuid.UUID, se *server.Session, maxPerUser int) error {
	if s.local.DeviceBoundTo(device, se) {
		return nil
	}
	return s.write(ctx, &entry{Kind: kBindDevice, ID: device, Session: se, N: maxPerUser})
}

// Sessions implements server.Store.
func (s *Store) Sessions(ctx context.Context, user uuid.UUID) ([]*server.Session, error) {
	return s.local.Sessions(ctx, user)
}

// CreateCredential implements server.Store.
func (s *Store) CreateCredential(ctx context.Context, c *server.Credential) error {
	return s.write(ctx, &entry{Kind: kCreateCredential, Credential: c})
}

// Credential implements server.Store.
func (s *Store) Credential(ctx context.Context, login string) (*server.Credential, error) {
	return lookup(ctx, s, func() (*server.Credential, error) { return s.local.Credential(ctx, login) })
}

// SetCredentialHash implements server.Store.
func (s *Store) SetCredentialHash(ctx context.Context, login, hash string) error {
	return s.write(ctx, &entry{Kind: kSetCredentialHash, Str: login, Str2: hash})
}

// CreateInvite implements server.Store.
func (s *Store) CreateInvite(ctx context.Context, inv *server.Invite) error {
	return s.write(ctx, &entry{Kind: kCreateInvite, Invite: inv})
}

// Invite implements server.Store.
func (s *Store) Invite(ctx context.Context, id string, now time.Time) (*server.Invite, error) {
	return lookup(ctx, s, func() (*server.Invite, error) { return s.local.Invite(ctx, id, now) })
}

// FailInvite implements server.Store.
func (s *Store) FailInvite(ctx context.Context, id string, maxFailures int) (bool, error) {
	v, err := s.propose(ctx, &entry{Kind: kFailInvite, Str: id, N: maxFailures})
	burned, _ := v.(bool)
	return burned, err
}

// Invites implements server.Store.
func (s *Store) Invites(ctx context.Context, space uuid.UUID) ([]*server.Invite, error) {
	return s.local.Invites(ctx, space)
}

// ClaimInvite implements server.Store. Two nodes racing to claim one
// invite both append to the log; the entry applied first claims it on
// every node and the other gets ErrNotFound on every node.
func (s *Store) ClaimInvite(ctx context.Context, id string, now time.Time, c *server.Claim) error {
	return s.write(ctx, &entry{Kind: kClaimInvite, Str: id, Time: now, Claim: c})
}

// RevokeInvite implements server.Store.
func (s *Store) RevokeInvite(ctx context.Context, id string, at time.Time, by uuid.UUID) (*server.Invite, error) {
	v, err := s.propose(ctx, &entry{Kind: kRevokeInvite, Str: id, Time: at, ID: by})
	inv, _ := v.(*server.Invite)
	return inv, err
}

// StoredInvite implements server.Store.
func (s *Store) StoredInvite(ctx context.Context, id string) (*server.Invite, error) {
	return lookup(ctx, s, func() (*server.Invite, error) { return s.local.StoredInvite(ctx, id) })
}

// CreateSetupCode implements server.Store.
func (s *Store) CreateSetupCode(ctx context.Context, sc *server.SetupCode) error {
	return s.write(ctx, &entry{Kind: kCreateSetupCode, SetupCode: sc})
}

// SetupCode implements server.Store.
func (s *Store) SetupCode(ctx context.Context, hash [32]byte, now time.Time) (*server.SetupCode, error) {
	return lookup(ctx, s, func() (*server.SetupCode, error) { return s.local.SetupCode(ctx, hash, now) })
}

// UseSetupCode implements server.Store.
func (s *Store) UseSetupCode(ctx context.Context, hash [32]byte, now time.Time, passwordHash string) (*server.SetupCode, error) {
	v, err := s.propose(ctx, &entry{Kind: kUseSetupCode, Hash: hash, Time: now, Str: passwordHash})
	sc, _ := v.(*server.SetupCode)
	return sc, err
}

// Settings implements server.Store.
func (s *Store) Settings(ctx context.Context, school uuid.UUID) (*server.SchoolSettings, error) {
	return s.local.Settings(ctx, school)
}

// PutSettings implements server.Store.
func (s *Store) PutSettings(ctx context.Context, school uuid.UUID, st *server.SchoolSettings) error {
	return s.write(ctx, &entry{Kind: kPutSettings, ID: school, Settings: st})
}
