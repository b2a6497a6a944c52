// Package server holds the server's domain: users, spaces, memberships,
// sessions, and the Store interface every storage engine implements. It
// imports no storage or transport library; server/store (badger) and
// server/hub (WebSocket) do, each alone.
package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Errors a Store returns. Callers match them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrUnavailable means the store cannot take writes now: the disk is
	// nearly full or the store is closing. Nothing was written; the caller
	// tells the client to retry later and never acks.
	ErrUnavailable = errors.New("store unavailable for writes")
	// ErrRecordTooLarge refuses one op whose record would grow past the
	// store's size limit; the other ops of the commit still apply.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrUnreadable refuses an op to a stored record that cannot be
	// decoded (quarantined, see the store's log and metrics): the op stays
	// in its author's outbox until an operator repairs the record.
	ErrUnreadable = errors.New("stored record is unreadable (quarantined)")
	// ErrClockAhead refuses one op whose clock is further ahead of the
	// server's than hlc.MaxDrift: accepting it would let one device's
	// clock outrun every later honest edit. OpResult.Clock carries the
	// server's time, for the client to restamp the op with.
	ErrClockAhead = errors.New("op clock too far ahead of the server")
	// ErrClockReused refuses one op whose (device, clock) is not newer
	// than what the server holds for that device, and is not an op it
	// already applied: a copied profile, a reset clock or a device id
	// someone else wrote under. OpResult.Clock is the clock to restamp
	// above. It is never answered "already applied".
	ErrClockReused = errors.New("op clock reused by a different op")
	// ErrDeviceTaken refuses a hello whose device id is bound to another
	// user, or to another of the user's sessions that is still live: ops
	// under one device id must come from one session, or one device could
	// write under another's clock. The client picks a new id.
	ErrDeviceTaken = errors.New("device id is held by another session")
	// ErrDeviceLimit refuses binding one more device id to a user who
	// holds as many as the limit in live sessions.
	ErrDeviceLimit = errors.New("too many device ids for this user")
	// ErrTooManyInvites refuses a new invite to a space that holds
	// MaxOpenInvites open ones already: a member allowed to invite (a
	// family, when the school lets families invite) cannot grow the
	// server's invite list without bound.
	ErrTooManyInvites = errors.New("too many open invites for this space")
	// ErrQuotaExceeded refuses one op that would take its space or its
	// author past a storage quota; the op stays in its author's outbox.
	ErrQuotaExceeded = errors.New("storage quota exceeded")
)

// Role is what a member may do in a space.
type Role string

// Roles. The per-collection rules for each live with the plan schema.
const (
	RoleAdmin   Role = "admin"
	RoleTeacher Role = "teacher"
	RoleSupport Role = "support"
	RoleFamily  Role = "family"
	// RoleInterpreter reads its spaces and writes translations only.
	RoleInterpreter Role = "interpreter"
)

// User is a person with an account.
type User struct {
	ID      uuid.UUID `msgpack:"i"`
	Name    string    `msgpack:"n"`
	Created time.Time `msgpack:"c"`
	// Login is the name the user signs in with; empty for a family member
	// who joined with a device-bound session only.
	Login string `msgpack:"l,omitempty"`
	// Disabled accounts may not sign in, and every session of theirs was
	// ended when they were disabled; an admin enables them again.
	Disabled bool `msgpack:"x,omitempty"`
	// Languages are the languages the person reads and writes (BCP 47
	// tags, "es", "en"), most used first, for the team list.
	Languages []string `msgpack:"lg,omitempty"`
}

// Credential is how a login signs in: the user and an argon2id password
// hash in PHC form ($argon2id$v=19$m=...,t=...,p=...$salt$hash), which
// carries its own parameters so they can be raised later without breaking
// old hashes.
type Credential struct {
	Login string    `msgpack:"l"`
	User  uuid.UUID `msgpack:"u"`
	Hash  string    `msgpack:"h"`
}

// MaxOpenInvites bounds the invites of one space that may be open (not
// yet claimed, revoked, burned or expired) at once: far above what a
// family's team needs, low enough that listing them stays one short read.
const MaxOpenInvites = 50

// Invite lets one family member join one student's space. The code given
// out is the invite's ID (a short public lookup part) followed by a secret
// part; only a hash of the secret is stored. Failures counts wrong secrets
// tried against this ID: past a limit the invite is burned. A burned invite
// is kept (unclaimable) until it would have expired, with BurnedAt set, so
// the teacher who made it is told why the family's code stopped working.
type Invite struct {
	ID       string    `msgpack:"i"`
	Secret   string    `msgpack:"h"` // PHC hash of the secret part
	Space    uuid.UUID `msgpack:"s"`
	By       uuid.UUID `msgpack:"b"` // who made it
	Created  time.Time `msgpack:"c"`
	Expires  time.Time `msgpack:"e"`
	Failures int       `msgpack:"f,omitempty"`
	BurnedAt time.Time `msgpack:"x,omitempty"`
	// ClaimedBy and ClaimedAt say who used the invite and when; a claimed
	// invite is kept (unclaimable) for its maker's list until the store
	// drops it.
	ClaimedBy uuid.UUID `msgpack:"cb,omitempty"`
	ClaimedAt time.Time `msgpack:"ca,omitempty"`
	// RevokedAt and RevokedBy: a teacher or admin took the invite back
	// before anyone claimed it.
	RevokedAt time.Time `msgpack:"ra,omitempty"`
	RevokedBy uuid.UUID `msgpack:"rb,omitempty"`
	// Language is the language of the invite slip, which becomes the
	// new member's language.
	Language string `msgpack:"lg,omitempty"`
}

// Claimed reports whether someone used the invite.
func (inv *Invite) Claimed() bool { return !inv.ClaimedAt.IsZero() }

// Revoked reports whether the invite was taken back.
func (inv *Invite) Revoked() bool { return !inv.RevokedAt.IsZero() }

// SetupCode lets a staff member whose password an admin reset choose a new
// one. Only the SHA-256 of the code is stored (it carries 160 random bits,
// like a token); it is used at most once and expires.
type SetupCode struct {
	Hash    [32]byte  `msgpack:"h"`
	User    uuid.UUID `msgpack:"u"`
	Login   string    `msgpack:"l"`
	By      uuid.UUID `msgpack:"b"`
	Created time.Time `msgpack:"c"`
	Expires time.Time `msgpack:"e"`
}

// SchoolSettings are a school's choices, set by its admins. The zero value
// is the default.
type SchoolSettings struct {
	// FamiliesInvite lets a family member make a family invite for their
	// own child's space (a co-caregiver). Off by default: the school
	// decides who joins a plan.
	FamiliesInvite bool `msgpack:"fi,omitempty"`
}

// Burned reports whether too many wrong secrets were tried against the
// invite.
func (inv *Invite) Burned() bool { return !inv.BurnedAt.IsZero() }

// Claim is everything a successful invite claim writes, in the same
// transaction that uses the invite up, so that a claim either happens
// whole or not at all and an invite is used at most once.
type Claim struct {
	// NewUser is created; nil when a signed-in user joins another space.
	NewUser *User
	// Credential is set when the new user chose a passphrase.
	Credential *Credential
	// Members are the memberships granted (the student's space, and the
	// school's space to read its directory).
	Members []Member
	// Session is the new device session; nil for a signed-in user.
	Session *Session
}

// SpaceKind says what a space holds.
type SpaceKind string

// Space kinds.
const (
	KindStudent SpaceKind = "student"
	KindSchool  SpaceKind = "school"
	// KindGeneral spaces have no plan schema: any collection, any fields.
	// Bench mode and admin-made scratch spaces use them.
	KindGeneral SpaceKind = "general"
)

// Plan returns the plan schema kind that spaces of kind k follow, or false
// for schemaless kinds (general, anything unknown). It lives here, by the
// kinds, because both the schema check (server/hub) and the role table
// (server/access) map kinds to schemas and must agree.
func (k SpaceKind) Plan() (plan.SpaceKind, bool) {
	switch k {
	case KindStudent:
		return plan.Student, true
	case KindSchool:
		return plan.School, true
	}
	return "", false
}

// Space is the unit of sharing and sync: one student's plan or one school.
type Space struct {
	ID      uuid.UUID `msgpack:"i"`
	Name    string    `msgpack:"n"`
	Kind    SpaceKind `msgpack:"k"`
	Created time.Time `msgpack:"c"`
	// School is the school space a student space belongs to: its admins
	// are members of it. Nil for school and general spaces.
	School uuid.UUID `msgpack:"sc,omitempty"`
}

// Member says a user belongs to a space with a role.
type Member struct {
	Space uuid.UUID `msgpack:"s"`
	User  uuid.UUID `msgpack:"u"`
	Role  Role      `msgpack:"r"`
	// Since is when the user joined the space (zero for memberships
	// written before it was recorded); By is who added or invited them
	// (nil when unknown or made by an operator command).
	Since time.Time `msgpack:"t,omitempty"`
	By    uuid.UUID `msgpack:"b,omitempty"`
}

// Session is a signed-in device. Only the SHA-256 of its token is stored,
// so a copy of the database does not let anyone sign in.
type Session struct {
	Hash    [32]byte  `msgpack:"h"`
	User    uuid.UUID `msgpack:"u"`
	Created time.Time `msgpack:"c"`
	Expires time.Time `msgpack:"e"`
	Label   string    `msgpack:"l,omitempty"` // which device, for the owner's session list
	// Client is where the session signed in (the client key of
	// server/clientaddr: an address, grouped); LastSeen is when it was
	// last used, written at most once a minute (auth.SeenEvery).
	Client   string    `msgpack:"cl,omitempty"`
	LastSeen time.Time `msgpack:"ls,omitempty"`
}

// OpResult is the fate of one op given to Store.Commit.
type OpResult struct {
	// Seq is the space sequence number the op was committed at; for an op
	// that was already applied, the record's current one.
	Seq uint64
	// Changed is false when the op was already applied.
	Changed bool
	// Conflict is true when the op left concurrent values in a field.
	Conflict bool
	// Err is set when this op alone was refused (record.ErrTooManyConflicts);
	// the other ops of the call still apply.
	Err error
	// Clock is, with ErrClockAhead or ErrClockReused, the clock the op
	// must be restamped above to be taken.
	Clock hlc.Timestamp
}

// Committed is what one group commit changed in one space, published in
// commit order after the commit is durable: records (newest state, each
// once) changed in the sequence range (From, To].
type Committed struct {
	Space   uuid.UUID
	From    uint64
	To      uint64
	Records []*record.Record
	// Sole[i] is the op that changed Records[i] when exactly one op of the
	// group did (nil otherwise). A member who holds the space up to From
	// gets the same record by applying that op to their copy, so the hub
	// sends the op (or, to the device that made it, a reference to it)
	// instead of the whole record: an edit of one field costs its bytes,
	// not the record's.
	Sole []*record.Op
}

// Page is a page of a space's changes: the records changed in (From, To],
// each in its newest state. More says the log continues past To.
type Page struct {
	From    uint64
	To      uint64
	Records []*record.Record
	More    bool
}

// LogEntry is one accepted op in a space's log: the history of a plan.
type LogEntry struct {
	// Format is the encoding version of the stored entry (record.FormatVersion
	// when written); 0 marks entries written before it was recorded, read
	// as version 1.
	Format   uint8     `msgpack:"f,omitempty"`
	Seq      uint64    `msgpack:"q"`
	Op       record.Op `msgpack:"o"`
	Conflict bool      `msgpack:"x,omitempty"`
}

// Store is the server's durable state. Badger implements it (server/store);
// a distributed engine can implement it later without the hub changing.
//
// Commit is the only write path for records. It returns after the ops are
// durable (fsynced): acks depend on that. Implementations batch concurrent
// Commit calls into one sync (group commit) and publish each durable batch
// to the OnCommit hook, in commit order, before any of those calls return.
type Store interface {
	// Commit merges already validated and authorized ops (Node and Author
	// stamped) into their records and appends them to their spaces' logs.
	// It returns one result per op, or ErrUnavailable (nothing written).
	Commit(ctx context.Context, ops []record.Op) ([]OpResult, error)
	// OnCommit sets the function that receives every durable batch, in
	// commit order. It is called from the committing goroutine, and every
	// Commit of the batch (and the next batch) waits for it: it should do
	// bounded work, such as handing the batch to a bounded queue, and may
	// wait on that queue only as back-pressure, while its consumer makes
	// progress (the hub's publish does). Set it before the first Commit.
	OnCommit(func([]Committed))
	// Changes returns the records of space changed after seq after, up to
	// about maxBytes of encoded records (at least one record).
	Changes(ctx context.Context, space uuid.UUID, after uint64, maxBytes int) (Page, error)
	// Head returns the space's latest sequence number (0 when empty).
	Head(ctx context.Context, space uuid.UUID) (uint64, error)
	// Record returns one record, or ErrNotFound.
	Record(ctx context.Context, key record.Key) (*record.Record, error)
	// History returns the log entries of one record, oldest first.
	History(ctx context.Context, key record.Key) ([]LogEntry, error)

	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, id uuid.UUID) (*User, error)
	CreateSpace(ctx context.Context, s *Space) error
	Space(ctx context.Context, id uuid.UUID) (*Space, error)
	Spaces(ctx context.Context) ([]*Space, error)
	// PutUser replaces an existing user (disabled, languages), or
	// returns ErrNotFound.
	PutUser(ctx context.Context, u *User) error
	// PutMember adds a member or changes their role.
	PutMember(ctx context.Context, m Member) error
	// DeleteMember removes a user from a space (both directions); removing
	// one who is not a member is not an error.
	DeleteMember(ctx context.Context, space, user uuid.UUID) error
	// Memberships returns the spaces a user belongs to.
	Memberships(ctx context.Context, user uuid.UUID) ([]Member, error)
	// Members returns the members of a space.
	Members(ctx context.Context, space uuid.UUID) ([]Member, error)

	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with this token hash, or ErrNotFound
	// (also for an expired one).
	Session(ctx context.Context, hash [32]byte) (*Session, error)
	DeleteSession(ctx context.Context, hash [32]byte) error
	// DeleteUserSessions deletes every live session of user except keep
	// (a zero hash keeps none) and returns the hashes it deleted.
	DeleteUserSessions(ctx context.Context, user uuid.UUID, keep [32]byte) ([][32]byte, error)
	// TouchSession records that a session was used at seen; a session
	// gone meanwhile is not an error.
	TouchSession(ctx context.Context, hash [32]byte, seen time.Time) error
	// BindDevice binds a device id to the session saying hello with it, or
	// finds it bound to that session already. It returns ErrDeviceTaken
	// when another user, or another live session of the same user, holds
	// the id, and ErrDeviceLimit when the user already holds maxPerUser
	// ids in live sessions. A binding lasts as long as its session.
	BindDevice(ctx context.Context, device uuid.UUID, se *Session, maxPerUser int) error
	// Sessions returns a user's live sessions, ordered by token hash.
	Sessions(ctx context.Context, user uuid.UUID) ([]*Session, error)

	// CreateCredential stores a login, or returns ErrExists when the login
	// is taken.
	CreateCredential(ctx context.Context, c *Credential) error
	// Credential returns the credential of a login, or ErrNotFound.
	Credential(ctx context.Context, login string) (*Credential, error)
	// SetCredentialHash replaces the password hash of a login (a hash
	// upgraded at login), or returns ErrNotFound.
	SetCredentialHash(ctx context.Context, login, hash string) error

	// CreateInvite stores an invite, or returns ErrExists when its ID is
	// taken by a live invite.
	CreateInvite(ctx context.Context, inv *Invite) error
	// Invite returns a live invite, or ErrNotFound when there is none with
	// this ID or it expired before now.
	Invite(ctx context.Context, id string, now time.Time) (*Invite, error)
	// FailInvite counts a wrong secret tried against an invite and burns
	// the invite (BurnedAt: no longer claimable, still listed) once
	// maxFailures have been counted; it reports whether the invite is
	// burned or gone.
	FailInvite(ctx context.Context, id string, maxFailures int) (burned bool, err error)
	// Invites lists the invites of a space the store still keeps (live,
	// burned, claimed, revoked, and expired ones for a while after expiry),
	// oldest first.
	Invites(ctx context.Context, space uuid.UUID) ([]*Invite, error)
	// ClaimInvite marks the live invite claimed and writes c in one transaction,
	// or returns ErrNotFound (no such live invite: expired, used, burned)
	// or ErrExists (c's user or login is taken), writing nothing.
	ClaimInvite(ctx context.Context, id string, now time.Time, c *Claim) error
	// RevokeInvite marks an unclaimed invite revoked, or returns
	// ErrNotFound; it returns the invite as it was before.
	RevokeInvite(ctx context.Context, id string, at time.Time, by uuid.UUID) (*Invite, error)
	// StoredInvite returns an invite whatever its state (claimed, burned,
	// revoked, expired but still kept), or ErrNotFound.
	StoredInvite(ctx context.Context, id string) (*Invite, error)

	// CreateSetupCode stores a password setup code until it expires.
	CreateSetupCode(ctx context.Context, sc *SetupCode) error
	// SetupCode reads the live setup code with this hash (ErrNotFound
	// when there is none or it expired), without using it.
	SetupCode(ctx context.Context, hash [32]byte, now time.Time) (*SetupCode, error)
	// UseSetupCode deletes the live setup code with this hash and sets its
	// login's password hash in one transaction, or returns ErrNotFound.
	UseSetupCode(ctx context.Context, hash [32]byte, now time.Time, passwordHash string) (*SetupCode, error)

	// Settings returns a school's settings (the zero value when never set).
	Settings(ctx context.Context, school uuid.UUID) (*SchoolSettings, error)
	// PutSettings replaces a school's settings.
	PutSettings(ctx context.Context, school uuid.UUID, st *SchoolSettings) error

	// Close stops accepting commits, finishes those in flight, and closes
	// the database.
	Close() error
}

// HashToken is how a session token is stored and looked up. Tokens carry
// 256 random bits, so a plain SHA-256 (no salt, no stretching) is enough to
// make a leaked database useless for signing in.
func HashToken(tok string) [32]byte { return sha256.Sum256([]byte(tok)) }
