package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

// TestSessionOnAnotherNode: a session made through one node is found on
// another at once (a read miss catches up with the log), and deleting it
// through that other node tells every node's hook, so the first node
// closes its sockets.
func TestSessionOnAnotherNode(t *testing.T) {
	tr := newTrio(t)
	ctx := context.Background()
	a, b := tr.members[0], tr.members[1]
	revoked := make(chan [32]byte, 4)
	a.store.SetHooks(func(h [32]byte) int { revoked <- h; return 1 }, func(uuid.UUID) int { return 0 })
	u := &server.User{ID: uuid.Must(uuid.NewV7()), Name: "Ana", Created: time.Now()}
	if err := a.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	se := &server.Session{Hash: server.HashToken("tok"), User: u.ID, Created: time.Now(), Expires: time.Now().Add(time.Hour)}
	if err := a.store.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	got, err := b.store.Session(ctx, se.Hash)
	if err != nil || got.User != u.ID {
		t.Fatalf("session on B: %+v %v", got, err)
	}
	if err := b.store.CreateUser(ctx, u); !errors.Is(err, server.ErrExists) {
		t.Fatalf("creating the same user through B: %v", err)
	}
	start := time.Now()
	if err := b.store.DeleteSession(ctx, se.Hash); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-revoked:
		if h != se.Hash {
			t.Fatal("wrong session revoked")
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("revocation reached A after %v", d)
		}
	case <-time.After(time.Second):
		t.Fatal("A was not told of the revocation within a second")
	}
	if _, err := a.store.Session(ctx, se.Hash); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("session on A after revocation: %v", err)
	}
}

// TestInviteClaimedOnce: two nodes racing to claim one invite: exactly one
// claim succeeds, on every node the same one.
func TestInviteClaimedOnce(t *testing.T) {
	tr := newTrio(t)
	ctx := context.Background()
	space := uuid.Must(uuid.NewV7())
	now := time.Now()
	inv := &server.Invite{ID: "ABCD1234", Secret: "h", Space: space, By: uuid.Must(uuid.NewV7()), Created: now, Expires: now.Add(time.Hour)}
	if err := tr.members[0].store.CreateInvite(ctx, inv); err != nil {
		t.Fatal(err)
	}
	for _, m := range tr.members {
		waitFor(t, 5*time.Second, "invite applied", func() bool { _, err := m.store.local.Invite(ctx, inv.ID, now); return err == nil })
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	users := make([]uuid.UUID, 3)
	for i, m := range tr.members {
		users[i] = uuid.Must(uuid.NewV7())
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := &server.User{ID: users[i], Name: "family", Created: now}
			errs[i] = m.store.ClaimInvite(ctx, inv.ID, now, &server.Claim{NewUser: u,
				Members: []server.Member{{Space: space, User: users[i], Role: server.RoleFamily}}})
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("claimed twice: by %d and %d", winner, i)
			}
			winner = i
		case !errors.Is(err, server.ErrNotFound):
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody claimed the invite")
	}
	for _, m := range tr.members {
		waitFor(t, 5*time.Second, "claim applied", func() bool {
			got, err := m.store.local.StoredInvite(ctx, inv.ID)
			return err == nil && got.ClaimedBy == users[winner]
		})
		ms, err := m.store.Members(ctx, space)
		if err != nil || len(ms) != 1 || ms[0].User != users[winner] {
			t.Fatalf("%s members %+v %v", m.name, ms, err)
		}
	}
}
