package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/shared/uuid"
)

// SessionLifetime is how long a session lasts: families may be offline for
// weeks, so a session outlives a school term.
const SessionLifetime = auth.DefaultSessionLifetime

// AddUser creates a user.
func AddUser(ctx context.Context, st server.Store, name string) (*server.User, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, fmt.Errorf("a user needs a name of 1 to 200 characters")
	}
	u := &server.User{ID: uuid.Must(uuid.NewV7()), Name: name, Created: time.Now().UTC()}
	return u, st.CreateUser(ctx, u)
}

// AddSession signs a user in on a new device and returns its token, the
// only time the token exists outside the client: the store keeps its hash.
// The session itself comes from auth.Service.StartSession so admin commands
// and tests make sessions exactly as logins do (token, hash, lifetime, label).
func AddSession(ctx context.Context, st server.Store, user uuid.UUID, label string) (string, error) {
	if _, err := st.User(ctx, user); err != nil {
		return "", fmt.Errorf("user %s: %w", user, err)
	}
	return auth.New(auth.Options{Store: st}).StartSession(ctx, user, label)
}

// AddSpace creates a space.
func AddSpace(ctx context.Context, st server.Store, name string, kind server.SpaceKind) (*server.Space, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, fmt.Errorf("a space needs a name of 1 to 200 characters")
	}
	switch kind {
	case server.KindStudent, server.KindSchool, server.KindGeneral:
	default:
		return nil, fmt.Errorf("space kind %q unknown (student, school or general)", kind)
	}
	sp := &server.Space{ID: uuid.Must(uuid.NewV7()), Name: name, Kind: kind, Created: time.Now().UTC()}
	return sp, st.CreateSpace(ctx, sp)
}

// AddMember gives a user a role in a space.
func AddMember(ctx context.Context, st server.Store, space, user uuid.UUID, role server.Role) error {
	switch role {
	case server.RoleAdmin, server.RoleTeacher, server.RoleSupport, server.RoleFamily, server.RoleInterpreter:
	default:
		return fmt.Errorf("role %q unknown (admin, teacher, support, family or interpreter)", role)
	}
	if _, err := st.Space(ctx, space); err != nil {
		return fmt.Errorf("space %s: %w", space, err)
	}
	if _, err := st.User(ctx, user); err != nil {
		return fmt.Errorf("user %s: %w", user, err)
	}
	return st.PutMember(ctx, server.Member{Space: space, User: user, Role: role})
}

// RemoveMember takes a user out of a space (plansync member remove),
// as auth.Service.DropMember does: a family member left with no child at
// the school leaves the school's space too. The server is stopped while
// admin commands run, so no socket needs closing.
func RemoveMember(ctx context.Context, st server.Store, space, user uuid.UUID) error {
	return auth.New(auth.Options{Store: st}).DropMember(ctx, space, user)
}
