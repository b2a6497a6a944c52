package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
)

func TestUsersAndSpaces(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	u := &server.User{ID: newID(), Name: "Ms. Lee", Created: time.Now().Truncate(time.Millisecond)}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, &server.User{ID: u.ID, Name: "impostor"}); !errors.Is(err, server.ErrExists) {
		t.Errorf("duplicate user: %v", err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil || got.Name != u.Name || !got.Created.Equal(u.Created) {
		t.Errorf("user = %+v, %v", got, err)
	}
	if _, err := s.User(ctx, newID()); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("missing user: %v", err)
	}

	a := &server.Space{ID: newID(), Name: "Maya's plan", Kind: server.KindStudent}
	b := &server.Space{ID: newID(), Name: "Lincoln Elementary", Kind: server.KindSchool}
	for _, sp := range []*server.Space{a, b} {
		if err := s.CreateSpace(ctx, sp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSpace(ctx, a); !errors.Is(err, server.ErrExists) {
		t.Errorf("duplicate space: %v", err)
	}
	if sp, err := s.Space(ctx, b.ID); err != nil || sp.Kind != server.KindSchool {
		t.Errorf("space = %+v, %v", sp, err)
	}
	if _, err := s.Space(ctx, newID()); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("missing space: %v", err)
	}
	all, err := s.Spaces(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("spaces = %v, %v", all, err)
	}
}

func TestMembershipsBothWays(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	teacher, parent := newID(), newID()
	plan, school := newID(), newID()
	for _, m := range []server.Member{
		{Space: plan, User: teacher, Role: server.RoleTeacher},
		{Space: plan, User: parent, Role: server.RoleSupport},
		{Space: school, User: teacher, Role: server.RoleTeacher},
		{Space: plan, User: parent, Role: server.RoleFamily}, // role change
	} {
		if err := s.PutMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutMember(ctx, server.Member{Space: plan, User: parent}); err == nil {
		t.Error("member without a role accepted")
	}

	members, err := s.Members(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	want := []server.Member{{Space: plan, User: teacher, Role: server.RoleTeacher}, {Space: plan, User: parent, Role: server.RoleFamily}}
	sortMembers(members)
	sortMembers(want)
	if !slices.Equal(members, want) {
		t.Errorf("members = %v, want %v", members, want)
	}
	ms, err := s.Memberships(ctx, teacher)
	if err != nil {
		t.Fatal(err)
	}
	want = []server.Member{{Space: plan, User: teacher, Role: server.RoleTeacher}, {Space: school, User: teacher, Role: server.RoleTeacher}}
	sortMembers(ms)
	sortMembers(want)
	if !slices.Equal(ms, want) {
		t.Errorf("memberships = %v, want %v", ms, want)
	}
	if ms, _ := s.Memberships(ctx, parent); len(ms) != 1 || ms[0].Role != server.RoleFamily {
		t.Errorf("parent memberships = %v", ms)
	}
	if ms, _ := s.Memberships(ctx, newID()); len(ms) != 0 {
		t.Errorf("stranger memberships = %v", ms)
	}
}

func sortMembers(ms []server.Member) {
	slices.SortFunc(ms, func(a, b server.Member) int {
		if c := slices.Compare(a.Space[:], b.Space[:]); c != 0 {
			return c
		}
		return slices.Compare(a.User[:], b.User[:])
	})
}

func TestSessions(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	user := newID()
	live := &server.Session{Hash: sha256.Sum256([]byte("live")), User: user, Created: time.Now(), Expires: time.Now().Add(30 * 24 * time.Hour), Label: "kitchen tablet"}
	soon := &server.Session{Hash: sha256.Sum256([]byte("soon")), User: user, Created: time.Now(), Expires: time.Now().Add(100 * time.Millisecond)}
	past := &server.Session{Hash: sha256.Sum256([]byte("past")), User: user, Created: time.Now(), Expires: time.Now().Add(-time.Minute)}
	for _, se := range []*server.Session{live, soon, past} {
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, live); !errors.Is(err, server.ErrExists) {
		t.Errorf("duplicate session: %v", err)
	}
	if err := s.CreateSession(ctx, &server.Session{Hash: sha256.Sum256([]byte("forever")), User: user}); err == nil {
		t.Error("session without expiry accepted")
	}
	if got, err := s.Session(ctx, live.Hash); err != nil || got.User != user || got.Label != live.Label {
		t.Errorf("live session = %+v, %v", got, err)
	}
	if _, err := s.Session(ctx, soon.Hash); err != nil {
		t.Errorf("session before expiry: %v", err)
	}
	if _, err := s.Session(ctx, past.Hash); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	if _, err := s.Session(ctx, sha256.Sum256([]byte("never made"))); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
	time.Sleep(150 * time.Millisecond)
	if _, err := s.Session(ctx, soon.Hash); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("session after expiry: %v", err)
	}
	if err := s.DeleteSession(ctx, live.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, live.Hash); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("deleted session: %v", err)
	}
	if err := s.DeleteSession(ctx, live.Hash); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
}
