// Package auth is who people are: staff accounts with passwords, families
// joining through invite codes, and long-lived device sessions. It decides
// who may manage accounts and invites; what each role may read and write in
// a plan is server/access's job.
//
// Schools and roles live in memberships, not on users: a staff member's
// role in their school's space (admin, teacher, support) is their role in
// the school. Admins are made members (as admin) of every student space of
// their school, so the sync hub, which only knows memberships, lets them
// see everything in their school and nothing outside it.
//
// Joining by invite: a teacher or admin of a student's space makes a code
// (see code.go); a family member claims it once, before it expires, with a
// name and either a passphrase (then they get a login like "rosa-7k2m" to
// sign in on another device) or nothing at all (a session bound to this
// device: many families will never manage a password). A signed-in family
// member can claim a sibling's invite to join a second space.
//
// Errors returned are *protocol.Error values whose messages are safe to
// show; anything else is internal. Login failures never say whether the
// login or the password was wrong.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// Defaults for Options.
const (
	// DefaultSessionLifetime: families may be offline for weeks, so a
	// session outlives a school year.
	DefaultSessionLifetime = 400 * 24 * time.Hour
	// DefaultInviteLifetime is how long an invite code can be claimed.
	DefaultInviteLifetime = 7 * 24 * time.Hour
	// DefaultMaxInviteFailures is how many wrong secrets may be tried
	// against one invite before it is burned: at 30 secret bits, five
	// guesses succeed with odds of about 1 in 200 million.
	DefaultMaxInviteFailures = 5
)

// Limits on what people type.
const (
	MaxNameLen  = 100 // runes of a person's or a space's name
	MinLoginLen = 2   // characters of a login
	MaxLoginLen = 64
	// inviteIDRetries bounds the search for a free invite ID (20 bits:
	// collisions are rare until thousands of invites are live).
	inviteIDRetries = 8
	// loginRetries bounds the search for a free generated family login.
	loginRetries = 5
	// SessionIDBytes is how much of a session's token hash its public id
	// shows: enough to tell a user's sessions apart, useless for signing in.
	SessionIDBytes = 8
)

// Codes beyond shared/protocol's that the HTTP API maps to statuses.
const (
	CodeNotFound protocol.Code = "not_found" // HTTP 404
	CodeExists   protocol.Code = "exists"    // HTTP 409
)

// Errors with messages safe to show.
var (
	ErrBadLogin = protocol.Errorf(protocol.CodeUnauthorized, "login or password is wrong")
	// ErrUnknownLogin is ErrBadLogin (errors.Is holds, and the person is
	// told exactly the same) for a login that names no account: the
	// security log then keeps a digest, not the typed text, which may be a
	// password typed one field too early.
	ErrUnknownLogin error = unknownLogin{}
	ErrSignedOut          = protocol.Errorf(protocol.CodeUnauthorized, "not signed in, or the session has ended: sign in again")
	ErrBadInvite          = protocol.Errorf(CodeNotFound, "this invite code is not valid, was already used, or has expired: ask the teacher for a new one")
	ErrNotAdmin           = protocol.Errorf(protocol.CodeForbidden, "only a school admin may do this")
	ErrNoSuchSpace        = protocol.Errorf(CodeNotFound, "no such space, or you are not a member of it")
)

func invalid(msg string) error { return protocol.Errorf(protocol.CodeInvalid, msg) }

// Options configure a Service. Zero values take the defaults.
type Options struct {
	Store  server.Store
	Logger *slog.Logger
	// Now is the clock for invites and sessions (tests move it).
	Now func() time.Time
	// OnRevoke is called after a session is deleted, with its token hash,
	// to close its live sockets (hub.CloseSession).
	OnRevoke func(hash [32]byte) int
	// OnAccessChange is called after a user's memberships changed
	// (removed from a space, another role), to re-check their live
	// sockets (hub.Revalidate).
	OnAccessChange    func(user uuid.UUID) int
	Params            Params
	SessionLifetime   time.Duration
	InviteLifetime    time.Duration
	MaxInviteFailures int
	// HashSlots bounds concurrent argon2id hashes process-wide
	// (runtime.NumCPU() when 0); HashQueueTimeout is how long a request
	// waits for a slot before ErrBusy (DefaultHashQueueTimeout when 0).
	HashSlots        int
	HashQueueTimeout time.Duration
	// Events is the security event log (burned invites); nil only counts.
	Events *secevent.Log
}

// Service manages accounts, invites and sessions.
type Service struct {
	o  Options
	st server.Store
	h  *hasher
}

// New returns a Service over o.Store.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Params == (Params{}) {
		o.Params = DefaultParams
	}
	if o.SessionLifetime == 0 {
		o.SessionLifetime = DefaultSessionLifetime
	}
	if o.InviteLifetime == 0 {
		o.InviteLifetime = DefaultInviteLifetime
	}
	if o.MaxInviteFailures == 0 {
		o.MaxInviteFailures = DefaultMaxInviteFailures
	}
	return &Service{o: o, st: o.Store, h: newHasher(o.HashSlots, o.HashQueueTimeout)}
}

// SetOnRevoke sets the function told about revoked sessions; the hub is
// built after the service, so the app sets it once both exist.
func (s *Service) SetOnRevoke(fn func([32]byte) int) { s.o.OnRevoke = fn }

// NewToken returns a fresh session token: 256 random bits, URL-safe.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "pst_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// SessionID is the public id of a session: the hex of the start of its
// token hash.
func SessionID(hash [32]byte) string { return hex.EncodeToString(hash[:SessionIDBytes]) }

// Principal is a signed-in user as a request sees them.
type Principal struct {
	User    *server.User
	Session *server.Session
	// Roles are the user's memberships: space -> role.
	Roles map[uuid.UUID]server.Role
}

// Role returns the principal's role in a space, "" when not a member.
func (p *Principal) Role(space uuid.UUID) server.Role { return p.Roles[space] }

// Authenticate returns the principal of a session token, or ErrSignedOut.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" || len(token) > 200 {
		return nil, ErrSignedOut
	}
	se, err := s.st.Session(ctx, server.HashToken(token))
	if errors.Is(err, server.ErrNotFound) {
		return nil, ErrSignedOut
	} else if err != nil {
		return nil, err
	}
	u, err := s.st.User(ctx, se.User)
	if errors.Is(err, server.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, ErrSignedOut
	} else if err != nil {
		return nil, err
	}
	s.seen(ctx, se)
	roles, err := s.roles(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &Principal{User: u, Session: se, Roles: roles}, nil
}

func (s *Service) roles(ctx context.Context, user uuid.UUID) (map[uuid.UUID]server.Role, error) {
	ms, err := s.st.Memberships(ctx, user)
	if err != nil {
		return nil, err
	}
	roles := make(map[uuid.UUID]server.Role, len(ms))
	for _, m := range ms {
		roles[m.Space] = m.Role
	}
	return roles, nil
}

// NormalizeLogin lowercases and trims a login and checks its characters:
// letters, digits, '.', '_' and '-', so a login is easy to type on any
// keyboard and cannot hide look-alike characters.
func NormalizeLogin(login string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(login))
	if len(l) < MinLoginLen || len(l) > MaxLoginLen {
		return "", invalid(fmt.Sprintf("a login has %d to %d characters", MinLoginLen, MaxLoginLen))
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "", invalid("a login uses only letters a-z, digits, '.', '_' and '-'")
		}
	}
	return l, nil
}

// checkName trims a name and checks its length and characters.
func checkName(what, name string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" || utf8.RuneCountInString(n) > MaxNameLen || !utf8.ValidString(n) {
		return "", invalid(fmt.Sprintf("%s needs a name of 1 to %d characters", what, MaxNameLen))
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return "", invalid(what + " name has a control character")
		}
	}
	return n, nil
}

// CheckPassword checks a new password's length.
func CheckPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return invalid(fmt.Sprintf("a password or passphrase needs at least %d characters", MinPasswordLen))
	}
	if len(pw) > MaxPasswordBytes {
		return invalid(fmt.Sprintf("a password or passphrase has at most %d bytes", MaxPasswordBytes))
	}
	return nil
}

// newSession makes a session for user on a device, signing in from client
// (a server/clientaddr key), and returns its token.
func (s *Service) newSession(user uuid.UUID, device, client string) (string, *server.Session) {
	tok := NewToken()
	now := s.o.Now().UTC()
	label := strings.TrimSpace(device)
	if utf8.RuneCountInString(label) > MaxNameLen {
		label = string([]rune(label)[:MaxNameLen])
	}
	if len(client) > MaxNameLen {
		client = client[:MaxNameLen]
	}
	return tok, &server.Session{Hash: server.HashToken(tok), User: user, Created: now, Expires: now.Add(s.o.SessionLifetime), Label: label, Client: client, LastSeen: now}
}

// StartSession signs a user in on a new device without a password (admin
// commands, the demo) and returns the token.
func (s *Service) StartSession(ctx context.Context, user uuid.UUID, device string) (string, error) {
	tok, se := s.newSession(user, device, "")
	return tok, s.st.CreateSession(ctx, se)
}

// Login checks a login and password and starts a session on device. Every failure is ErrBadLogin, and an unknown login costs the same
// hashing time as a wrong password; a disabled account, once its password
// checked out, is ErrDisabled.
func (s *Service) Login(ctx context.Context, login, password, device string) (string, *server.User, error) {
	return s.LoginFrom(ctx, login, password, device, "")
}

// LoginFrom is Login from client (a server/clientaddr key, shown in the
// session list).
func (s *Service) LoginFrom(ctx context.Context, login, password, device, client string) (string, *server.User, error) {
	l, nerr := NormalizeLogin(login)
	if nerr != nil || len(password) > MaxPasswordBytes {
		if _, err := s.verify(ctx, password, dummyHash); err != nil {
			return "", nil, err
		}
		if nerr != nil {
			return "", nil, ErrUnknownLogin
		}
		return "", nil, ErrBadLogin
	}
	cred, err := s.st.Credential(ctx, l)
	if errors.Is(err, server.ErrNotFound) {
		if _, err := s.verify(ctx, password, dummyHash); err != nil {
			return "", nil, err
		}
		return "", nil, ErrUnknownLogin
	} else if err != nil {
		return "", nil, err
	}
	ok, err := s.verify(ctx, password, cred.Hash)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, ErrBadLogin
	}
	if NeedsRehash(cred.Hash, s.o.Params) {
		// Made with weaker parameters than today's: the password is at
		// hand now, and only now, to hash it again.
		h, err := s.hash(ctx, password)
		if err != nil {
			return "", nil, err
		}
		if err := s.st.SetCredentialHash(ctx, l, h); err != nil {
			return "", nil, err
		}
	}
	u, err := s.st.User(ctx, cred.User)
	if err != nil {
		return "", nil, err
	}
	if u.Disabled {
		return "", nil, ErrDisabled
	}
	tok, se := s.newSession(u.ID, device, client)
	if err := s.st.CreateSession(ctx, se); err != nil {
		return "", nil, err
	}
	return tok, u, nil
}

// createAccount makes a user with a login and password. The login is taken
// first, so two accounts racing for one login cannot both get it.
func (s *Service) createAccount(ctx context.Context, name, login, password string) (*server.User, error) {
	n, err := checkName("a person", name)
	if err != nil {
		return nil, err
	}
	l, err := NormalizeLogin(login)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	u := &server.User{ID: uuid.Must(uuid.NewV7()), Name: n, Login: l, Created: s.o.Now().UTC()}
	h, err := s.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	err = s.st.CreateCredential(ctx, &server.Credential{Login: l, User: u.ID, Hash: h})
	if errors.Is(err, server.ErrExists) {
		return nil, protocol.Errorf(CodeExists, "the login "+l+" is taken: choose another")
	} else if err != nil {
		return nil, err
	}
	return u, s.st.CreateUser(ctx, u)
}

// InitSchool creates a school space and its first admin (plansync init).
func (s *Service) InitSchool(ctx context.Context, school, adminName, adminLogin, password string) (*server.Space, *server.User, error) {
	n, err := checkName("a school", school)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.createAccount(ctx, adminName, adminLogin, password)
	if err != nil {
		return nil, nil, err
	}
	sp := &server.Space{ID: uuid.Must(uuid.NewV7()), Name: n, Kind: server.KindSchool, Created: s.o.Now().UTC()}
	if err := s.st.CreateSpace(ctx, sp); err != nil {
		return nil, nil, err
	}
	if err := s.st.PutMember(ctx, server.Member{Space: sp.ID, User: u.ID, Role: server.RoleAdmin, Since: sp.Created}); err != nil {
		return nil, nil, err
	}
	return sp, u, nil
}

// requireAdmin checks that p is an admin of the school space.
func requireAdmin(p *Principal, school uuid.UUID) error {
	if p.Role(school) != server.RoleAdmin {
		return ErrNotAdmin
	}
	return nil
}

// CreateStaff makes a staff account in a school: admin, teacher or support.
// Only the school's admins may. A new admin becomes a member of every
// student space of the school.
func (s *Service) CreateStaff(ctx context.Context, p *Principal, school uuid.UUID, name, login, password string, role server.Role) (*server.User, error) {
	if err := requireAdmin(p, school); err != nil {
		return nil, err
	}
	switch role {
	case server.RoleAdmin, server.RoleTeacher, server.RoleSupport, server.RoleInterpreter:
	default:
		return nil, invalid("a staff role is admin, teacher, support or interpreter")
	}
	return s.AddStaff(ctx, school, name, login, password, role)
}

// AddStaff makes a staff account without checking who asks (plansync
// commands and the demo seed run as the operator).
func (s *Service) AddStaff(ctx context.Context, school uuid.UUID, name, login, password string, role server.Role) (*server.User, error) {
	u, err := s.createAccount(ctx, name, login, password)
	if err != nil {
		return nil, err
	}
	now := s.o.Now().UTC()
	if err := s.st.PutMember(ctx, server.Member{Space: school, User: u.ID, Role: role, Since: now}); err != nil {
		return nil, err
	}
	if role == server.RoleAdmin {
		spaces, err := s.st.Spaces(ctx)
		if err != nil {
			return nil, err
		}
		for _, sp := range spaces {
			if sp.School == school {
				if err := s.st.PutMember(ctx, server.Member{Space: sp.ID, User: u.ID, Role: server.RoleAdmin, Since: now}); err != nil {
					return nil, err
				}
			}
		}
	}
	return u, nil
}

// CreateStudent makes a student's plan space in a school; only its admins
// may, and they all become its members.
func (s *Service) CreateStudent(ctx context.Context, p *Principal, school uuid.UUID, name string) (*server.Space, error) {
	if err := requireAdmin(p, school); err != nil {
		return nil, err
	}
	return s.AddStudent(ctx, school, name)
}

// AddStudent makes a student space without checking who asks.
func (s *Service) AddStudent(ctx context.Context, school uuid.UUID, name string) (*server.Space, error) {
	n, err := checkName("a student", name)
	if err != nil {
		return nil, err
	}
	sc, err := s.st.Space(ctx, school)
	if err != nil || sc.Kind != server.KindSchool {
		return nil, ErrNoSuchSpace
	}
	sp := &server.Space{ID: uuid.Must(uuid.NewV7()), Name: n, Kind: server.KindStudent, School: school, Created: s.o.Now().UTC()}
	if err := s.st.CreateSpace(ctx, sp); err != nil {
		return nil, err
	}
	ms, err := s.st.Members(ctx, school)
	if err != nil {
		return nil, err
	}
	var admins []uuid.UUID
	for _, m := range ms {
		if m.Role == server.RoleAdmin {
			if err := s.st.PutMember(ctx, server.Member{Space: sp.ID, User: m.User, Role: server.RoleAdmin, Since: sp.Created}); err != nil {
				return nil, err
			}
			admins = append(admins, m.User)
		}
	}
	// The admins' open sockets reconnect and list the new plan (each
	// connection's spaces are fixed at hello).
	for _, a := range admins {
		s.accessChanged(a)
	}
	return sp, nil
}

// AddMember lets an admin put a staff member of their school (teacher or
// support) into a student's space. Families join only through invites.
func (s *Service) AddMember(ctx context.Context, p *Principal, space, user uuid.UUID, role server.Role) error {
	sp, err := s.st.Space(ctx, space)
	if errors.Is(err, server.ErrNotFound) || (err == nil && p.Role(space) == "") {
		return ErrNoSuchSpace
	} else if err != nil {
		return err
	}
	if sp.Kind != server.KindStudent {
		return invalid("staff join a school with a staff account; members are added to student spaces")
	}
	if err := requireAdmin(p, sp.School); err != nil {
		return err
	}
	if role != server.RoleTeacher && role != server.RoleSupport && role != server.RoleInterpreter {
		return invalid("an admin adds teachers, support staff and interpreters to a student's space; families join by invite")
	}
	ms, err := s.st.Memberships(ctx, user)
	if err != nil {
		return err
	}
	staff, had := false, server.Role("")
	for _, m := range ms {
		if m.Space == space {
			had = m.Role
		}
		if m.Space == sp.School && m.Role != server.RoleFamily {
			staff = true
		}
		if m.Space == space && m.Role == server.RoleAdmin {
			return protocol.Errorf(CodeExists, "this user is an admin of the school and already a member")
		}
	}
	if !staff {
		return protocol.Errorf(CodeNotFound, "no such staff member in this school")
	}
	if err := s.st.PutMember(ctx, server.Member{Space: space, User: user, Role: role, Since: s.o.Now().UTC(), By: p.User.ID}); err != nil {
		return err
	}
	if had != role {
		// Another role reads and writes other things: their sockets
		// must not keep the old role's view. A new member's sockets
		// reconnect too, so the plan they were given shows at once
		// instead of at their next sign-in.
		s.accessChanged(user)
	}
	return nil
}

// SessionInfo is a session as its owner or an admin sees it: never the
// token, nor the hash it is stored under.
type SessionInfo struct {
	ID      string    `json:"id"`
	Label   string    `json:"label"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Current bool      `json:"current"`
	// LastSeen is when the session was last used (to within SeenEvery);
	// Client is where it signed in (an address, grouped as the server's
	// rate limits group it; empty for sessions made by operator commands
	// or before it was recorded).
	LastSeen *time.Time `json:"last_seen,omitempty"`
	Client   string     `json:"client,omitempty"`
}

// mayManage reports whether p may see and revoke user's sessions: their
// own, or, for an admin, those of someone of only p's schools
// (requireAdminOf: sessions show where and when a person signs in); a
// user in no school, those of anyone in a space where p is admin.
func (s *Service) mayManage(ctx context.Context, p *Principal, user uuid.UUID) (bool, error) {
	if user == p.User.ID {
		return true, nil
	}
	schools, err := s.schoolsOf(ctx, user)
	if err != nil {
		return false, err
	}
	if len(schools) > 0 {
		for id := range schools {
			if p.Role(id) != server.RoleAdmin {
				return false, nil
			}
		}
		return true, nil
	}
	ms, err := s.st.Memberships(ctx, user)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if p.Role(m.Space) == server.RoleAdmin {
			return true, nil
		}
	}
	return false, nil
}

// Sessions lists a user's sessions for p.
func (s *Service) Sessions(ctx context.Context, p *Principal, user uuid.UUID) ([]SessionInfo, error) {
	ok, err := s.mayManage(ctx, p, user)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, protocol.Errorf(protocol.CodeForbidden, "you may list only your own sessions")
	}
	ses, err := s.st.Sessions(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, 0, len(ses))
	for _, se := range ses {
		si := SessionInfo{ID: SessionID(se.Hash), Label: se.Label, Created: se.Created, Expires: se.Expires, Current: se.Hash == p.Session.Hash, Client: se.Client}
		if !se.LastSeen.IsZero() {
			t := se.LastSeen
			si.LastSeen = &t
		}
		out = append(out, si)
	}
	return out, nil
}

// Revoke ends one of user's sessions by its public id and closes its live
// sockets.
func (s *Service) Revoke(ctx context.Context, p *Principal, user uuid.UUID, id string) error {
	ok, err := s.mayManage(ctx, p, user)
	if err != nil {
		return err
	}
	if !ok {
		return protocol.Errorf(protocol.CodeForbidden, "you may revoke only your own sessions")
	}
	ses, err := s.st.Sessions(ctx, user)
	if err != nil {
		return err
	}
	for _, se := range ses {
		if SessionID(se.Hash) == strings.ToLower(id) {
			return s.revoke(ctx, se.Hash)
		}
	}
	return protocol.Errorf(CodeNotFound, "no such session")
}

// Logout ends the principal's own session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	return s.revoke(ctx, p.Session.Hash)
}

func (s *Service) revoke(ctx context.Context, hash [32]byte) error {
	if err := s.st.DeleteSession(ctx, hash); err != nil {
		return err
	}
	if s.o.OnRevoke != nil {
		s.o.OnRevoke(hash)
	}
	return nil
}

type unknownLogin struct{}

func (unknownLogin) Error() string { return ErrBadLogin.Error() }
func (unknownLogin) Unwrap() error { return ErrBadLogin }
