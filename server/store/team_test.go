package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
)

func TestMembershipKeepsSinceAndByAcrossRoleChanges(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	space, user, by := newID(), newID(), newID()
	since := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	if err := s.PutMember(ctx, server.Member{Space: space, User: user, Role: server.RoleSupport, Since: since, By: by}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMember(ctx, server.Member{Space: space, User: user, Role: server.RoleTeacher, Since: since.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Members(ctx, space)
	if err != nil || len(ms) != 1 || ms[0].Role != server.RoleTeacher || !ms[0].Since.Equal(since) || ms[0].By != by {
		t.Fatalf("members %+v %v", ms, err)
	}
	mb, err := s.Memberships(ctx, user)
	if err != nil || len(mb) != 1 || mb[0].Role != server.RoleTeacher || !mb[0].Since.Equal(since) || mb[0].Space != space {
		t.Fatalf("memberships %+v %v", mb, err)
	}
	// A value written before since was recorded (the bare role) still reads.
	old := newID()
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(pairKey(kindMember, space, old), []byte("family")) }); err != nil {
		t.Fatal(err)
	}
	if ms, err := s.Members(ctx, space); err != nil || len(ms) != 2 {
		t.Fatalf("with a legacy member: %+v %v", ms, err)
	}
	if err := s.DeleteMember(ctx, space, user); err != nil {
		t.Fatal(err)
	}
	if mb, _ := s.Memberships(ctx, user); len(mb) != 0 {
		t.Fatalf("memberships after delete: %+v", mb)
	}
}

func TestSetupCodeIsSingleUseAndExpires(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	now := time.Now()
	user := newID()
	if err := s.CreateCredential(ctx, &server.Credential{Login: "lee", User: user, Hash: "old"}); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte("code"))
	if err := s.CreateSetupCode(ctx, &server.SetupCode{Hash: h, User: user, Login: "lee", Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseSetupCode(ctx, h, now.Add(2*time.Hour), "late"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("expired code used: %v", err)
	}
	if sc, err := s.UseSetupCode(ctx, h, now, "new"); err != nil || sc.User != user {
		t.Fatalf("use: %+v %v", sc, err)
	}
	if c, _ := s.Credential(ctx, "lee"); c.Hash != "new" {
		t.Fatalf("hash %q, want new", c.Hash)
	}
	if _, err := s.UseSetupCode(ctx, h, now, "again"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("second use: %v", err)
	}
}

func TestDeleteUserSessionsKeepsOne(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	now := time.Now()
	user := newID()
	var hs [][32]byte
	for _, l := range []string{"a", "b", "c"} {
		se := &server.Session{Hash: sha256.Sum256([]byte(l)), User: user, Created: now, Expires: now.Add(time.Hour)}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, se.Hash)
	}
	if err := s.TouchSession(ctx, hs[0], now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if se, err := s.Session(ctx, hs[0]); err != nil || !se.LastSeen.Equal(now.Add(time.Minute).UTC()) {
		t.Fatalf("touched session %+v %v", se, err)
	}
	gone, err := s.DeleteUserSessions(ctx, user, hs[0])
	if err != nil || len(gone) != 2 {
		t.Fatalf("deleted %d, %v", len(gone), err)
	}
	if ses, _ := s.Sessions(ctx, user); len(ses) != 1 || ses[0].Hash != hs[0] {
		t.Fatalf("left %+v", ses)
	}
}

func TestRevokeAndClaimedInvitesStayListed(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	now := time.Now()
	space, by, fam := newID(), newID(), newID()
	for _, id := range []string{"AAAA", "BBBB"} {
		if err := s.CreateInvite(ctx, &server.Invite{ID: id, Secret: "h", Space: space, By: by, Created: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RevokeInvite(ctx, "AAAA", now, by); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimInvite(ctx, "AAAA", now, &server.Claim{}); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("revoked invite claimed: %v", err)
	}
	if err := s.ClaimInvite(ctx, "BBBB", now, &server.Claim{Members: []server.Member{{Space: space, User: fam, Role: server.RoleFamily}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeInvite(ctx, "BBBB", now, by); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("claimed invite revoked: %v", err)
	}
	list, err := s.Invites(ctx, space)
	if err != nil || len(list) != 2 || !list[0].Revoked() && !list[1].Revoked() {
		t.Fatalf("list %+v %v", list, err)
	}
	for _, inv := range list {
		if inv.ID == "BBBB" && (inv.ClaimedBy != fam || !inv.Claimed()) {
			t.Fatalf("claimed invite %+v", inv)
		}
	}
}
