package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
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
	list, err := s.Invites(ctx, inv.Space)
	if err != nil || len(list) != 1 || !list[0].Burned() || list[0].Failures != 3 {
		t.Fatalf("invites after burning: %+v %v", list, err)
	}
	// Expired, it is still listed (InviteKeep), for its maker to see.
	if list, _ := s.Invites(ctx, inv.Space); len(list) != 1 {
		t.Fatalf("expired invite not kept: %+v", list)
	}
	if list, _ := s.Invites(ctx, newID()); len(list) != 0 {
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

// TestInviteIndexAndBound: a space's invites are listed from its own
// index, no other space's among them; at most server.MaxOpenInvites are
// open at once, also when creates race; a revoked one frees its slot; and
// an invite stored before the index existed is listed after a reopen.
func TestInviteIndexAndBound(t *testing.T) {
	ctx := context.Background()
	s, dir := openTest(t, Options{})
	now := time.Now().UTC()
	space, other := newID(), newID()
	mk := func(sp uuid.UUID, id string) error {
		return s.CreateInvite(ctx, &server.Invite{ID: id, Secret: "h", Space: sp, Created: now, Expires: now.Add(time.Hour)})
	}
	if err := mk(other, "OTHER"); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, server.MaxOpenInvites+10)
	for i := range server.MaxOpenInvites + 10 {
		go func() { errs <- mk(space, fmt.Sprintf("S%03d", i)) }()
	}
	var made, refused int
	for range server.MaxOpenInvites + 10 {
		switch err := <-errs; {
		case err == nil:
			made++
		case errors.Is(err, server.ErrTooManyInvites):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if made != server.MaxOpenInvites || refused != 10 {
		t.Fatalf("%d made, %d refused; want %d and 10", made, refused, server.MaxOpenInvites)
	}
	list, err := s.Invites(ctx, space)
	if err != nil || len(list) != server.MaxOpenInvites {
		t.Fatalf("listed %d, %v", len(list), err)
	}
	for _, inv := range list {
		if inv.Space != space {
			t.Fatalf("invite %s of another space listed", inv.ID)
		}
	}
	if _, err := s.RevokeInvite(ctx, list[0].ID, now, newID()); err != nil {
		t.Fatal(err)
	}
	if err := mk(space, "AFTER"); err != nil {
		t.Fatalf("after a revoke: %v", err)
	}

	// An invite written the way the store wrote them before the index.
	legacy := &server.Invite{ID: "LEGACY", Secret: "h", Space: other, Created: now, Expires: now.Add(time.Hour)}
	e, err := inviteEntry(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.SetEntry(e) }); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Invites(ctx, other); len(l) != 1 {
		t.Fatalf("before reopening: %d listed (the test writes no index entry)", len(l))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir, Options{})
	if l, err := s.Invites(ctx, other); err != nil || len(l) != 2 {
		t.Fatalf("after reopening: %d listed, %v; want OTHER and LEGACY", len(l), err)
	}
}
