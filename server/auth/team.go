package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// Team and account management: removing members, disabling accounts,
// passwords and setup codes, invite revocation, school settings.
//
// Who may remove whom from a student's space: the school's admins may
// remove teachers, support staff and family members; the student's
// teachers may remove family members (they invite them). Nobody removes an
// admin from a student's space: admins are members of every student space
// of their school by design (package doc), so an admin leaves by losing
// the admin role.

// Defaults for team management.
const (
	// DefaultSetupCodeLifetime is how long a password setup code works: an
	// admin hands it over in person or by phone, within days.
	DefaultSetupCodeLifetime = 72 * time.Hour
	// SetupCodeLen is the length of a setup code in code characters (5
	// bits each): 100 bits, so that, like a token, it needs only a plain
	// hash and no stretching, and guessing it is hopeless.
	SetupCodeLen = 20
	// SeenEvery is how often a session's last-seen time is written at
	// most: once a minute is precise enough for "last seen" and costs one
	// small write per active session per minute, not one per request.
	SeenEvery = time.Minute
)

// Codes of team management beyond shared/protocol's.
const (
	// CodeDisabled refuses a sign-in to a disabled account (after the
	// password checked out, so it tells a guesser nothing new). HTTP 403.
	CodeDisabled protocol.Code = "account_disabled"
)

// Errors of team management.
var (
	ErrDisabled  = protocol.Errorf(CodeDisabled, "this account is disabled: ask the school's admin")
	ErrBadSetup  = protocol.Errorf(CodeNotFound, "this setup code is not valid, was already used, or has expired: ask the admin for a new one")
	ErrNoSuchOne = protocol.Errorf(CodeNotFound, "no such member of this space")
)

// SetOnAccessChange sets the function told that a user's memberships
// changed (removed from a space, another role), to re-check their live
// sockets (hub.Revalidate).
func (s *Service) SetOnAccessChange(fn func(uuid.UUID) int) { s.o.OnAccessChange = fn }

func (s *Service) accessChanged(user uuid.UUID) {
	if s.o.OnAccessChange != nil {
		s.o.OnAccessChange(user)
	}
}

// endSessions deletes a user's sessions but keep and closes their sockets.
func (s *Service) endSessions(ctx context.Context, user uuid.UUID, keep [32]byte) (int, error) {
	gone, err := s.st.DeleteUserSessions(ctx, user, keep)
	if err != nil {
		return 0, err
	}
	if s.o.OnRevoke != nil {
		for _, h := range gone {
			s.o.OnRevoke(h)
		}
	}
	return len(gone), nil
}

// studentSpace reads a student space p is a member of.
func (s *Service) studentSpace(ctx context.Context, p *Principal, space uuid.UUID) (*server.Space, error) {
	if p.Role(space) == "" {
		return nil, ErrNoSuchSpace
	}
	sp, err := s.st.Space(ctx, space)
	if errors.Is(err, server.ErrNotFound) {
		return nil, ErrNoSuchSpace
	} else if err != nil {
		return nil, err
	}
	if sp.Kind != server.KindStudent {
		return nil, invalid("this is done in a student's space")
	}
	return sp, nil
}

// memberRole returns user's role in space, "" when not a member.
func (s *Service) memberRole(ctx context.Context, space, user uuid.UUID) (server.Role, error) {
	ms, err := s.st.Memberships(ctx, user)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.Space == space {
			return m.Role, nil
		}
	}
	return "", nil
}

// RemoveMember takes user out of a student's space (see the rules at the
// top of this file). A family member who is left in no other student
// space of the school leaves the school's space too. Their live sockets
// stop receiving the space at once (OnAccessChange).
func (s *Service) RemoveMember(ctx context.Context, p *Principal, space, user uuid.UUID) error {
	sp, err := s.studentSpace(ctx, p, space)
	if err != nil {
		return err
	}
	role, err := s.memberRole(ctx, space, user)
	if err != nil {
		return err
	}
	if role == "" {
		return ErrNoSuchOne
	}
	switch mine := p.Role(space); {
	case role == server.RoleAdmin:
		return invalid("admins are members of every student's space of their school; take away the admin role instead")
	case mine == server.RoleAdmin:
	case mine == server.RoleTeacher && role == server.RoleFamily:
	case mine == server.RoleTeacher:
		return protocol.Errorf(protocol.CodeForbidden, "a teacher removes family members; staff are removed by the school's admin")
	default:
		return protocol.Errorf(protocol.CodeForbidden, "only the student's teachers and the school's admins remove members")
	}
	return s.removeMember(ctx, sp, user, role)
}

// DropMember takes user out of space without checking who asks
// (plansync member remove runs as the operator), and does all that
// RemoveMember does after its checks: a family member left with no child
// at the school leaves the school's space too.
func (s *Service) DropMember(ctx context.Context, space, user uuid.UUID) error {
	sp, err := s.st.Space(ctx, space)
	if errors.Is(err, server.ErrNotFound) {
		return ErrNoSuchSpace
	} else if err != nil {
		return err
	}
	role, err := s.memberRole(ctx, space, user)
	if err != nil {
		return err
	}
	if role == "" {
		return ErrNoSuchOne
	}
	return s.removeMember(ctx, sp, user, role)
}

func (s *Service) removeMember(ctx context.Context, sp *server.Space, user uuid.UUID, role server.Role) error {
	if err := s.st.DeleteMember(ctx, sp.ID, user); err != nil {
		return err
	}
	if role == server.RoleFamily && sp.School != uuid.Nil {
		ms, err := s.st.Memberships(ctx, user)
		if err != nil {
			return err
		}
		other := false
		for _, m := range ms {
			if m.Space == sp.School || m.Role != server.RoleFamily {
				continue
			}
			o, err := s.st.Space(ctx, m.Space)
			if err != nil && !errors.Is(err, server.ErrNotFound) {
				return err
			}
			if err == nil && o.School == sp.School {
				other = true
			}
		}
		if !other {
			if err := s.st.DeleteMember(ctx, sp.School, user); err != nil {
				return err
			}
		}
	}
	s.accessChanged(user)
	return nil
}

// schoolsOf returns the school spaces user is a member of, with roles.
func (s *Service) schoolsOf(ctx context.Context, user uuid.UUID) (map[uuid.UUID]server.Role, error) {
	ms, err := s.st.Memberships(ctx, user)
	if err != nil {
		return nil, err
	}
	out := map[uuid.UUID]server.Role{}
	for _, m := range ms {
		sp, err := s.st.Space(ctx, m.Space)
		if err != nil {
			if errors.Is(err, server.ErrNotFound) {
				continue
			}
			return nil, err
		}
		if sp.Kind == server.KindSchool {
			out[sp.ID] = m.Role
		}
	}
	return out, nil
}

// requireAdminOf checks that p administers every school user belongs to,
// and returns user's role there (a staff role over family when they
// differ). Every, not any: an admin of one school must not disable, reset
// or watch someone who is staff, or admin, in another.
func (s *Service) requireAdminOf(ctx context.Context, p *Principal, user uuid.UUID) (server.Role, error) {
	schools, err := s.schoolsOf(ctx, user)
	if err != nil {
		return "", err
	}
	if len(schools) == 0 {
		if _, err := s.st.User(ctx, user); errors.Is(err, server.ErrNotFound) {
			return "", protocol.Errorf(CodeNotFound, "no such user")
		}
		return "", ErrNotAdmin
	}
	var role server.Role
	for id, r := range schools {
		if p.Role(id) != server.RoleAdmin {
			return "", ErrNotAdmin
		}
		if role == "" || role == server.RoleFamily {
			role = r
		}
	}
	return role, nil
}

// SetDisabled disables or enables an account of p's school. Disabling ends
// every session of the account and closes its sockets; login is refused
// (ErrDisabled) until an admin enables it again. An admin cannot disable
// themselves (so a school keeps at least the admin who acts).
func (s *Service) SetDisabled(ctx context.Context, p *Principal, user uuid.UUID, disabled bool) (*server.User, error) {
	if user == p.User.ID {
		return nil, invalid("you cannot disable your own account")
	}
	if _, err := s.requireAdminOf(ctx, p, user); err != nil {
		return nil, err
	}
	return s.SetUserDisabled(ctx, user, disabled)
}

// SetUserDisabled is SetDisabled without checking who asks (plansync
// user disable/enable).
func (s *Service) SetUserDisabled(ctx context.Context, user uuid.UUID, disabled bool) (*server.User, error) {
	u, err := s.st.User(ctx, user)
	if errors.Is(err, server.ErrNotFound) {
		return nil, protocol.Errorf(CodeNotFound, "no such user")
	} else if err != nil {
		return nil, err
	}
	u.Disabled = disabled
	if err := s.st.PutUser(ctx, u); err != nil {
		return nil, err
	}
	if disabled {
		if _, err := s.endSessions(ctx, user, [32]byte{}); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// ChangePassword sets p's own password after checking the current one.
// Every other session of p ends (a stolen device stops with the old
// password); the session asking stays signed in. It returns how many
// sessions ended.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) (int, error) {
	if p.User.Login == "" {
		return 0, invalid("this account has no password: it signs in on this device only")
	}
	if err := CheckPassword(next); err != nil {
		return 0, err
	}
	cred, err := s.st.Credential(ctx, p.User.Login)
	if err != nil {
		return 0, err
	}
	if len(current) > MaxPasswordBytes { // refused before it costs a hash
		return 0, protocol.Errorf(protocol.CodeForbidden, "the current password is wrong")
	}
	ok, err := s.verify(ctx, current, cred.Hash)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, protocol.Errorf(protocol.CodeForbidden, "the current password is wrong")
	}
	h, err := s.hash(ctx, next)
	if err != nil {
		return 0, err
	}
	if err := s.st.SetCredentialHash(ctx, p.User.Login, h); err != nil {
		return 0, err
	}
	return s.endSessions(ctx, p.User.ID, p.Session.Hash)
}

// ResetPassword gives an admin a one-time setup code for a staff member of
// their school, who sets a new password with it (UseSetupCode). The old
// password keeps working until then and no session ends: a reset is for a
// forgotten password; a stolen one is handled by disabling the account or
// revoking its sessions.
func (s *Service) ResetPassword(ctx context.Context, p *Principal, user uuid.UUID) (string, time.Time, error) {
	role, err := s.requireAdminOf(ctx, p, user)
	if err != nil {
		return "", time.Time{}, err
	}
	if role == server.RoleFamily {
		return "", time.Time{}, invalid("families choose their own passphrase; a family member who lost theirs is invited again")
	}
	return s.MakeSetupCode(ctx, user, p.User.ID)
}

// MakeSetupCode makes a setup code for user without checking who asks
// (plansync user reset-password).
func (s *Service) MakeSetupCode(ctx context.Context, user, by uuid.UUID) (string, time.Time, error) {
	u, err := s.st.User(ctx, user)
	if errors.Is(err, server.ErrNotFound) {
		return "", time.Time{}, protocol.Errorf(CodeNotFound, "no such user")
	} else if err != nil {
		return "", time.Time{}, err
	}
	if u.Login == "" {
		return "", time.Time{}, invalid("this account has no login to set a password for")
	}
	code := randomCode(SetupCodeLen)
	now := s.o.Now().UTC()
	sc := &server.SetupCode{Hash: server.HashToken(code), User: u.ID, Login: u.Login, By: by, Created: now, Expires: now.Add(DefaultSetupCodeLifetime)}
	if err := s.st.CreateSetupCode(ctx, sc); err != nil {
		return "", time.Time{}, err
	}
	return FormatSetupCode(code), sc.Expires, nil
}

// FormatSetupCode groups a setup code by fives for reading aloud.
func FormatSetupCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// normalizeSetupCode reads a typed setup code as NormalizeCode reads
// invite codes (case, dashes, spaces, look-alike letters).
func normalizeSetupCode(typed string) (string, bool) {
	if len(typed) > 4*SetupCodeLen {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if !strings.ContainsRune(codeAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	return b.String(), b.Len() == SetupCodeLen
}

// UseSetupCode sets a new password with a setup code, once, before it
// expires. Every session of the account ends (whoever knew the old
// password is signed out). It returns the account's login.
func (s *Service) UseSetupCode(ctx context.Context, code, password string) (string, error) {
	c, ok := normalizeSetupCode(code)
	if !ok {
		return "", ErrBadSetup
	}
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	// A guess costs a read, not a hash: unsigned callers must not be able
	// to fill the hashing slots that logins and claims wait for.
	if _, err := s.st.SetupCode(ctx, server.HashToken(c), s.o.Now()); errors.Is(err, server.ErrNotFound) {
		return "", ErrBadSetup
	} else if err != nil {
		return "", err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return "", err
	}
	sc, err := s.st.UseSetupCode(ctx, server.HashToken(c), s.o.Now(), h)
	if errors.Is(err, server.ErrNotFound) {
		return "", ErrBadSetup
	} else if err != nil {
		return "", err
	}
	if _, err := s.endSessions(ctx, sc.User, [32]byte{}); err != nil {
		return "", err
	}
	return sc.Login, nil
}

// SignOutOthers ends every session of p but the one asking.
func (s *Service) SignOutOthers(ctx context.Context, p *Principal) (int, error) {
	return s.endSessions(ctx, p.User.ID, p.Session.Hash)
}

// seen records a session's use at most every SeenEvery. The check reads
// the session Authenticate has just read, so it costs nothing more; a
// failed write only loses a last-seen time.
func (s *Service) seen(ctx context.Context, se *server.Session) {
	now := s.o.Now()
	if now.Sub(se.LastSeen) < SeenEvery {
		return
	}
	if err := s.st.TouchSession(ctx, se.Hash, now); err != nil {
		if !errors.Is(err, server.ErrUnavailable) {
			// A full disk is logged by the store, once; not here per request.
			s.o.Logger.Warn("recording a session's last use", "err", err)
		}
		return
	}
	se.LastSeen = now.UTC()
}

// Seen records that a sync connection used a session (hub.Options.Seen).
func (s *Service) Seen(se *server.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.seen(ctx, se)
}

// TeamMember is one member of a space as its other members see them.
type TeamMember struct {
	ID        uuid.UUID   `json:"id"`
	Name      string      `json:"name"`
	Role      server.Role `json:"role"`
	Since     *time.Time  `json:"since,omitempty"`
	Languages []string    `json:"languages"`
	// InvitedBy is who added or invited them, when known.
	InvitedBy *PersonRef `json:"invited_by,omitempty"`
	Disabled  bool       `json:"disabled,omitempty"`
}

// PersonRef names a person.
type PersonRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// Team lists the members of a student's space for any of its members,
// and of a school's space (its staff and families) for its admins; staff
// first (admin, teacher, support), then family, each by name.
func (s *Service) Team(ctx context.Context, p *Principal, space uuid.UUID) ([]TeamMember, error) {
	if p.Role(space) == "" {
		return nil, ErrNoSuchSpace
	}
	sp, err := s.st.Space(ctx, space)
	if err != nil {
		return nil, err
	}
	switch sp.Kind {
	case server.KindStudent:
	case server.KindSchool:
		if err := requireAdmin(p, space); err != nil {
			return nil, err
		}
	default:
		return nil, invalid("teams are of a student's or a school's space")
	}
	ms, err := s.st.Members(ctx, space)
	if err != nil {
		return nil, err
	}
	names := map[uuid.UUID]*server.User{}
	var failed error // a store that failed, unlike a user gone, fails the list
	user := func(id uuid.UUID) *server.User {
		if u, ok := names[id]; ok {
			return u
		}
		u, err := s.st.User(ctx, id)
		if err != nil {
			if !errors.Is(err, server.ErrNotFound) && failed == nil {
				failed = err
			}
			u = nil
		}
		names[id] = u
		return u
	}
	out := make([]TeamMember, 0, len(ms))
	for _, m := range ms {
		u := user(m.User)
		if failed != nil {
			return nil, failed
		}
		if u == nil {
			continue
		}
		tm := TeamMember{ID: u.ID, Name: u.Name, Role: m.Role, Languages: append([]string{}, u.Languages...), Disabled: u.Disabled}
		if !m.Since.IsZero() {
			t := m.Since
			tm.Since = &t
		}
		if m.By != uuid.Nil {
			if b := user(m.By); b != nil {
				tm.InvitedBy = &PersonRef{ID: b.ID, Name: b.Name}
			}
		}
		out = append(out, tm)
	}
	order := map[server.Role]int{server.RoleAdmin: 0, server.RoleTeacher: 1, server.RoleSupport: 2, server.RoleFamily: 3, server.RoleInterpreter: 4}
	slices.SortStableFunc(out, func(a, b TeamMember) int {
		if d := order[a.Role] - order[b.Role]; d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// SetLanguages sets the caller's languages (BCP 47 tags, at most
// MaxLanguages of MaxLanguageLen characters).
func (s *Service) SetLanguages(ctx context.Context, p *Principal, langs []string) (*server.User, error) {
	clean, err := checkLanguages(langs)
	if err != nil {
		return nil, err
	}
	u, err := s.st.User(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	u.Languages = clean
	return u, s.st.PutUser(ctx, u)
}

// Limits on languages.
const (
	MaxLanguages   = 8  // a person's languages
	MaxLanguageLen = 35 // characters of one BCP 47 tag (RFC 5646's practical bound)
)

func checkLanguages(langs []string) ([]string, error) {
	if len(langs) > MaxLanguages {
		return nil, invalid("at most 8 languages")
	}
	out := make([]string, 0, len(langs))
	for _, l := range langs {
		l = strings.TrimSpace(l)
		if l == "" || len(l) > MaxLanguageLen {
			return nil, invalid("a language is a tag like es or en-US")
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return nil, invalid("a language is a tag like es or en-US")
			}
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, nil
}

// Settings returns a school's settings to any member of the school.
func (s *Service) Settings(ctx context.Context, p *Principal, school uuid.UUID) (*server.SchoolSettings, error) {
	if p.Role(school) == "" {
		return nil, ErrNoSuchSpace
	}
	sp, err := s.st.Space(ctx, school)
	if err != nil || sp.Kind != server.KindSchool {
		return nil, ErrNoSuchSpace
	}
	return s.st.Settings(ctx, school)
}

// PutSettings replaces a school's settings; only its admins may.
func (s *Service) PutSettings(ctx context.Context, p *Principal, school uuid.UUID, st *server.SchoolSettings) error {
	if _, err := s.Settings(ctx, p, school); err != nil {
		return err
	}
	if err := requireAdmin(p, school); err != nil {
		return err
	}
	return s.st.PutSettings(ctx, school, st)
}

// RevokeInvite takes back an unclaimed invite of a student's space: its
// teachers and admins may, and the family member who made it.
func (s *Service) RevokeInvite(ctx context.Context, p *Principal, space uuid.UUID, id string) error {
	if _, err := s.studentSpace(ctx, p, space); err != nil {
		return err
	}
	id = strings.ToUpper(strings.TrimSpace(id))
	inv, err := s.st.StoredInvite(ctx, id)
	if errors.Is(err, server.ErrNotFound) || (err == nil && inv.Space != space) {
		return protocol.Errorf(CodeNotFound, "no such invite")
	} else if err != nil {
		return err
	}
	role := p.Role(space)
	if role != server.RoleTeacher && role != server.RoleAdmin && inv.By != p.User.ID {
		return protocol.Errorf(protocol.CodeForbidden, "only the student's teachers and the school's admins revoke its invites")
	}
	if inv.Claimed() {
		return protocol.Errorf(CodeExists, "this invite was already claimed: remove the member instead")
	}
	if _, err := s.st.RevokeInvite(ctx, id, s.o.Now(), p.User.ID); errors.Is(err, server.ErrNotFound) {
		return protocol.Errorf(CodeExists, "this invite was already claimed or revoked")
	} else if err != nil {
		return err
	}
	return nil
}
