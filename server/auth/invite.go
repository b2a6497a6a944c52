package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// NewInvite makes an invite to a student's space and returns its code,
// grouped for reading ("K7QM-3XPD-9R"), and when it expires. The space's
// teachers and admins may, and its family members when their school lets
// families invite a co-caregiver (SchoolSettings.FamiliesInvite). The
// language (a BCP 47 tag, may be empty) is the slip's, and becomes the new
// member's.
func (s *Service) NewInvite(ctx context.Context, p *Principal, space uuid.UUID, language string) (string, time.Time, error) {
	role := p.Role(space)
	if role == "" {
		return "", time.Time{}, ErrNoSuchSpace
	}
	sp, err := s.st.Space(ctx, space)
	if err != nil {
		return "", time.Time{}, err
	}
	if sp.Kind != server.KindStudent {
		return "", time.Time{}, invalid("families are invited to a student's space")
	}
	switch role {
	case server.RoleTeacher, server.RoleAdmin:
	case server.RoleFamily:
		set, err := s.st.Settings(ctx, sp.School)
		if err != nil {
			return "", time.Time{}, err
		}
		if !set.FamiliesInvite {
			return "", time.Time{}, protocol.Errorf(protocol.CodeForbidden, "this school does not let families invite: ask the teacher for an invite")
		}
	default:
		return "", time.Time{}, protocol.Errorf(protocol.CodeForbidden, "only the student's teachers and the school's admins make family invites")
	}
	var lang string
	if language != "" {
		l, err := checkLanguages([]string{language})
		if err != nil {
			return "", time.Time{}, err
		}
		lang = l[0]
	}
	return s.makeInvite(ctx, space, p.User.ID, lang)
}

// MakeInvite makes an invite without checking who asks (the demo seed).
func (s *Service) MakeInvite(ctx context.Context, space, by uuid.UUID) (string, time.Time, error) {
	return s.makeInvite(ctx, space, by, "")
}

func (s *Service) makeInvite(ctx context.Context, space, by uuid.UUID, lang string) (string, time.Time, error) {
	now := s.o.Now().UTC()
	for range inviteIDRetries {
		id, secret := randomCode(InviteIDLen), randomCode(InviteSecretLen)
		h, err := s.hash(ctx, secret)
		if err != nil {
			return "", time.Time{}, err
		}
		inv := &server.Invite{ID: id, Secret: h, Space: space, By: by, Created: now, Expires: now.Add(s.o.InviteLifetime), Language: lang}
		err = s.st.CreateInvite(ctx, inv)
		if errors.Is(err, server.ErrExists) {
			continue
		} else if errors.Is(err, server.ErrTooManyInvites) {
			return "", time.Time{}, protocol.Errorf(protocol.CodeTooManyInvites, fmt.Sprintf("this plan has %d open invites: revoke one before making another", server.MaxOpenInvites))
		} else if err != nil {
			return "", time.Time{}, err
		}
		return FormatCode(id + secret), inv.Expires, nil
	}
	return "", time.Time{}, protocol.Errorf(protocol.CodeUnavailable, "could not find a free invite code: try again")
}

// ClaimRequest is what a family member sends to join a space.
type ClaimRequest struct {
	Code string
	// Name is how the others will see them ("Rosa, Ana's mom"); not needed
	// when a signed-in user claims.
	Name string
	// Passphrase, when set, gives the new user a login to sign in with on
	// another device; without it the session is bound to this device.
	Passphrase string
	Device     string
	// Client is the claimant's rate-limit key (server/clientaddr), only
	// for the security log.
	Client string
}

// ClaimResult is the outcome of a claim.
type ClaimResult struct {
	User  *server.User
	Space *server.Space
	// Token is the new session's token; empty when a signed-in user
	// joined another space (they keep their session, and see the new
	// space when their sync connection next says hello).
	Token string
}

// InviteID returns the lookup part of a normalized code, so that callers
// can rate-limit per code.
func InviteID(code string) (string, bool) {
	c, ok := NormalizeCode(code)
	if !ok {
		return "", false
	}
	return c[:InviteIDLen], true
}

// Claim uses an invite: it makes a family member of the invite's student
// space (and a reader of the school's space), either a new user or p when
// p is signed in. Wrong secrets are counted per invite; after
// MaxInviteFailures the invite is burned. Every failure to match a live
// invite is the same ErrBadInvite.
func (s *Service) Claim(ctx context.Context, p *Principal, req ClaimRequest) (*ClaimResult, error) {
	code, ok := NormalizeCode(req.Code)
	if !ok {
		return nil, ErrBadInvite
	}
	id, secret := code[:InviteIDLen], code[InviteIDLen:]
	now := s.o.Now()
	var name string
	if p == nil {
		var err error
		if name, err = checkName("a family member", req.Name); err != nil {
			return nil, err
		}
		if req.Passphrase != "" {
			if err := CheckPassword(req.Passphrase); err != nil {
				return nil, err
			}
		}
	}
	inv, err := s.st.Invite(ctx, id, now)
	if errors.Is(err, server.ErrNotFound) {
		if _, err := s.verify(ctx, secret, dummyHash); err != nil {
			return nil, err
		}
		return nil, ErrBadInvite
	} else if err != nil {
		return nil, err
	}
	ok, err = s.verify(ctx, secret, inv.Secret)
	if err != nil {
		return nil, err
	}
	if !ok {
		burned, err := s.st.FailInvite(ctx, id, s.o.MaxInviteFailures)
		if err != nil {
			return nil, err
		}
		if burned && inv.Failures+1 >= s.o.MaxInviteFailures {
			// This failure burned it (later ones find it burned already).
			s.o.Events.Event(secevent.BurnedInvite, "client", req.Client, "invite", id, "space", inv.Space, "by", inv.By)
		}
		return nil, ErrBadInvite
	}
	sp, err := s.st.Space(ctx, inv.Space)
	if err != nil {
		return nil, err
	}
	members := func(user uuid.UUID, roles map[uuid.UUID]server.Role) []server.Member {
		at := now.UTC()
		ms := []server.Member{{Space: sp.ID, User: user, Role: server.RoleFamily, Since: at, By: inv.By}}
		if sp.School != uuid.Nil && roles[sp.School] == "" {
			ms = append(ms, server.Member{Space: sp.School, User: user, Role: server.RoleFamily, Since: at, By: inv.By})
		}
		return ms
	}
	if p != nil {
		if p.Role(sp.ID) != "" {
			return nil, protocol.Errorf(CodeExists, "you are already a member of "+sp.Name+"'s plan")
		}
		if err := s.st.ClaimInvite(ctx, id, now, &server.Claim{Members: members(p.User.ID, p.Roles)}); err != nil {
			if errors.Is(err, server.ErrNotFound) {
				return nil, ErrBadInvite
			}
			return nil, err
		}
		return &ClaimResult{User: p.User, Space: sp}, nil
	}
	var hash string
	if req.Passphrase != "" {
		if hash, err = s.hash(ctx, req.Passphrase); err != nil {
			return nil, err
		}
	}
	for range loginRetries {
		u := &server.User{ID: uuid.Must(uuid.NewV7()), Name: name, Created: now.UTC()}
		if inv.Language != "" {
			u.Languages = []string{inv.Language}
		}
		c := &server.Claim{NewUser: u, Members: members(u.ID, nil)}
		if hash != "" {
			u.Login = familyLogin(name)
			c.Credential = &server.Credential{Login: u.Login, User: u.ID, Hash: hash}
		}
		tok, se := s.newSession(u.ID, req.Device, req.Client)
		c.Session = se
		err := s.st.ClaimInvite(ctx, id, now, c)
		switch {
		case err == nil:
			return &ClaimResult{User: u, Space: sp, Token: tok}, nil
		case errors.Is(err, server.ErrNotFound):
			return nil, ErrBadInvite
		case errors.Is(err, server.ErrExists):
			continue // the generated login was taken: draw another
		default:
			return nil, err
		}
	}
	return nil, protocol.Errorf(protocol.CodeUnavailable, "could not find a free login: try again")
}

// familyLogin makes a login a family member can remember: the first word
// of their name in plain letters and four random characters, "rosa-7k2m".
func familyLogin(name string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(name) {
		if sb.Len() >= 12 {
			break
		}
		r = foldLatin(r)
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			sb.WriteRune(r)
		} else if unicode.IsSpace(r) && sb.Len() > 0 {
			break
		}
	}
	base := sb.String()
	if len(base) < MinLoginLen {
		base = "family"
	}
	return base + "-" + strings.ToLower(randomCode(4))
}

// foldLatin maps common accented Latin letters to their base letter, so
// that "José" gives "jose".
func foldLatin(r rune) rune {
	const from, to = "áàâäãåéèêëíìîïóòôöõúùûüñçýÿ", "aaaaaaeeeeiiiiooooouuuuncyy"
	fr, tr := []rune(from), []rune(to)
	for i, c := range fr {
		if c == r {
			return tr[i]
		}
	}
	return r
}

// Invite states, as InviteInfo.State says them.
const (
	InviteOpen    = "open"    // may be claimed
	InviteClaimed = "claimed" // used: ClaimedBy, ClaimedAt
	InviteExpired = "expired" // not claimed in time
	InviteBurned  = "burned"  // too many wrong codes were tried: the family needs a new one
	InviteRevoked = "revoked" // taken back: RevokedAt
)

// InviteInfo is an invite as its space's teachers and admins see it: never
// its secret. Burned means too many wrong codes were tried, so the family
// needs a new one.
type InviteInfo struct {
	ID        string     `json:"id"`
	State     string     `json:"state"`
	By        uuid.UUID  `json:"by"`
	ByName    string     `json:"by_name,omitempty"`
	Created   time.Time  `json:"created"`
	Expires   time.Time  `json:"expires"`
	Language  string     `json:"language,omitempty"`
	Failures  int        `json:"failures"`
	Burned    bool       `json:"burned"`
	BurnedAt  *time.Time `json:"burned_at,omitempty"`
	ClaimedBy *PersonRef `json:"claimed_by,omitempty"`
	ClaimedAt *time.Time `json:"claimed_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func timeRef(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Invites lists the invites of a student's space the server keeps (open,
// claimed, expired, burned, revoked; for store.InviteKeep after expiry),
// oldest first, for its teachers and admins; a family member sees the
// ones they made, while their school lets families invite.
func (s *Service) Invites(ctx context.Context, p *Principal, space uuid.UUID) ([]InviteInfo, error) {
	role := p.Role(space)
	if role == "" {
		return nil, ErrNoSuchSpace
	}
	staff := role == server.RoleTeacher || role == server.RoleAdmin
	if !staff {
		ok := false
		if role == server.RoleFamily {
			sp, err := s.st.Space(ctx, space)
			if err != nil {
				return nil, err
			}
			set, err := s.st.Settings(ctx, sp.School)
			if err != nil {
				return nil, err
			}
			ok = set.FamiliesInvite
		}
		if !ok {
			return nil, protocol.Errorf(protocol.CodeForbidden, "only the student's teachers and the school's admins see its invites")
		}
	}
	now := s.o.Now()
	invs, err := s.st.Invites(ctx, space)
	if err != nil {
		return nil, err
	}
	names := map[uuid.UUID]string{}
	var failed error // a store that failed, unlike a user gone, fails the list
	name := func(id uuid.UUID) string {
		if n, ok := names[id]; ok {
			return n
		}
		n := ""
		if u, err := s.st.User(ctx, id); err == nil {
			n = u.Name
		} else if !errors.Is(err, server.ErrNotFound) && failed == nil {
			failed = err
		}
		names[id] = n
		return n
	}
	out := make([]InviteInfo, 0, len(invs))
	for _, inv := range invs {
		if !staff && inv.By != p.User.ID {
			continue
		}
		ii := InviteInfo{ID: inv.ID, By: inv.By, ByName: name(inv.By), Created: inv.Created, Expires: inv.Expires, Language: inv.Language,
			Failures: inv.Failures, Burned: inv.Burned(), BurnedAt: timeRef(inv.BurnedAt), ClaimedAt: timeRef(inv.ClaimedAt), RevokedAt: timeRef(inv.RevokedAt)}
		switch {
		case inv.Claimed():
			ii.State = InviteClaimed
			ii.ClaimedBy = &PersonRef{ID: inv.ClaimedBy, Name: name(inv.ClaimedBy)}
		case inv.Revoked():
			ii.State = InviteRevoked
		case inv.Burned():
			ii.State = InviteBurned
		case !now.Before(inv.Expires):
			ii.State = InviteExpired
		default:
			ii.State = InviteOpen
		}
		out = append(out, ii)
	}
	if failed != nil {
		return nil, failed
	}
	return out, nil
}
