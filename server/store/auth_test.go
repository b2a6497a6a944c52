package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
)

func TestCredentials(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	c := &server.Credential{Login: "lee", User: newID(), Hash: "$argon2id$..."}
	if err := s.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCredential(ctx, &server.Credential{Login: "lee", User: newID(), Hash: "x"}); !errors.Is(err, server.ErrExists) {
		t.Fatalf("second lee: %v", err)
	}
	got, err := s.Credential(ctx, "lee")
	if err != nil || *got != *c {
		t.Fatalf("Credential = %+v, %v", got, err)
	}
	if _, err := s.Credential(ctx, "kim"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("unknown login: %v", err)
	}
}

func TestSessionsByUser(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	alice, bob := newID(), newID()
	now := time.Now()
	mk := func(user [16]byte, tok string, life time.Duration) *server.Session {
		se := &server.Session{Hash: sha256.Sum256([]byte(tok)), User: user, Created: now, Expires: now.Add(life), Label: tok}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		return se
	}
	a1 := mk(alice, "a1", time.Hour)
	mk(alice, "a2", time.Hour)
	mk(alice, "a-old", -time.Minute)
	mk(bob, "b1", time.Hour)
	list, err := s.Sessions(ctx, alice)
	if err != nil || len(list) != 2 {
		t.Fatalf("alice's sessions: %d, %v", len(list), err)
	}
	for _, se := range list {
		if se.User != alice {
			t.Fatalf("a session of %s in alice's list", se.User)
		}
	}
	if err := s.DeleteSession(ctx, a1.Hash); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Sessions(ctx, alice); len(list) != 1 || list[0].Label != "a2" {
		t.Fatalf("after delete: %+v", list)
	}
	if err := s.DeleteSession(ctx, a1.Hash); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func TestInviteLifecycle(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	now := time.Now()
	inv := &server.Invite{ID: "K7QM", Secret: "hash", Space: newID(), By: newID(), Created: now, Expires: now.Add(time.Hour)}
	if err := s.CreateInvite(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInvite(ctx, inv); !errors.Is(err, server.ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := s.Invite(ctx, "K7QM", now.Add(2*time.Hour)); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("expired invite read: %v", err)
	}
	for i := 1; i < 3; i++ {
		if burned, err := s.FailInvite(ctx, "K7QM", 3); err != nil || burned {
			t.Fatalf("failure %d: burned %v, %v", i, burned, err)
		}
	}
	if got, _ := s.Invite(ctx, "K7QM", now); got.Failures != 2 {
		t.Fatalf("failures %d, want 2", got.Failures)
	}
	if burned, err := s.FailInvite(ctx, "K7QM", 3); err != nil || !burned {
		t.Fatalf("third failure did not burn: %v", err)
	}
	if _, err := s.Invite(ctx, "K7QM", now); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("burned invite read: %v", err)
	}
	if err := s.ClaimInvite(ctx, "K7QM", now, &server.Claim{}); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("burned invite claimed: %v", err)
	}
	// It stays listed, marked, for its maker to see; failures stop counting.
	if burned, err := s.FailInvite(ctx, "K7QM", 3); err != nil || !burned {
		t.Fatalf("failure after burning: %v %v", burned, err)
	}
	list, err := s.Invites(ctx, inv.Space, now)
	if err != nil || len(list) != 1 || !list[0].Burned() || list[0].Failures != 3 {
		t.Fatalf("invites after burning: %+v %v", list, err)
	}
	// Expired, it is still listed (InviteKeep), for its maker to see.
	if list, _ := s.Invites(ctx, inv.Space, now.Add(2*time.Hour)); len(list) != 1 {
		t.Fatalf("expired invite not kept: %+v", list)
	}
	if list, _ := s.Invites(ctx, newID(), now); len(list) != 0 {
		t.Fatalf("another space's invites listed: %+v", list)
	}
}

// Of many claims racing for one invite, exactly one wins, and what it
// writes is there whole.
func TestClaimInviteIsSingleUse(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	now := time.Now()
	space := newID()
	if err := s.CreateInvite(ctx, &server.Invite{ID: "AAAA", Secret: "h", Space: space, Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	users := make([]*server.User, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := &server.User{ID: newID(), Name: fmt.Sprint("parent ", i), Login: fmt.Sprint("p", i), Created: now}
			users[i] = u
			errs[i] = s.ClaimInvite(ctx, "AAAA", now, &server.Claim{
				NewUser:    u,
				Credential: &server.Credential{Login: u.Login, User: u.ID, Hash: "h"},
				Members:    []server.Member{{Space: space, User: u.ID, Role: server.RoleFamily}},
				Session:    &server.Session{Hash: sha256.Sum256([]byte(u.Login)), User: u.ID, Created: now, Expires: now.Add(time.Hour)},
			})
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatalf("claims %d and %d both won", won, i)
			}
			won = i
		case !errors.Is(err, server.ErrNotFound):
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no claim won")
	}
	ms, err := s.Members(ctx, space)
	if err != nil || len(ms) != 1 || ms[0].User != users[won].ID {
		t.Fatalf("members %+v, %v", ms, err)
	}
	for i, u := range users {
		_, uerr := s.User(ctx, u.ID)
		_, cerr := s.Credential(ctx, u.Login)
		if (i == won) != (uerr == nil) || (i == won) != (cerr == nil) {
			t.Fatalf("claim %d (won %v): user %v, credential %v", i, i == won, uerr, cerr)
		}
	}
	if ses, _ := s.Sessions(ctx, users[won].ID); len(ses) != 1 {
		t.Fatalf("winner's sessions: %d", len(ses))
	}
	// An expired invite cannot be claimed.
	if err := s.CreateInvite(ctx, &server.Invite{ID: "BBBB", Secret: "h", Space: space, Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimInvite(ctx, "BBBB", now.Add(2*time.Hour), &server.Claim{}); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("expired claim: %v", err)
	}
}
