package auth_test

import (
	"context"
	"testing"

	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/store"
)

// TestLoginUpgradesWeakHash: a password hashed with weaker parameters than
// today's is hashed again at the next login, and still signs in after.
func TestLoginUpgradesWeakHash(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	weak := auth.Params{Memory: 8 * 1024, Iterations: 1, Threads: 1}
	old := auth.New(auth.Options{Store: st, Params: weak})
	const pw = "a long enough passphrase"
	if _, _, err := old.InitSchool(ctx, "Lincoln Elementary", "Ms. Lee", "lee", pw); err != nil {
		t.Fatal(err)
	}
	before, err := st.Credential(ctx, "lee")
	if err != nil || !auth.NeedsRehash(before.Hash, auth.DefaultParams) {
		t.Fatalf("the weak hash %v is not weaker than the defaults (%v)", before, err)
	}

	today := auth.New(auth.Options{Store: st, Params: auth.DefaultParams})
	if _, _, err := today.Login(ctx, "lee", pw, "test"); err != nil {
		t.Fatal(err)
	}
	after, err := st.Credential(ctx, "lee")
	if err != nil {
		t.Fatal(err)
	}
	if auth.NeedsRehash(after.Hash, auth.DefaultParams) || after.Hash == before.Hash || after.User != before.User {
		t.Fatalf("after login the hash is %q (was %q)", after.Hash, before.Hash)
	}
	if _, _, err := today.Login(ctx, "lee", pw, "test"); err != nil {
		t.Fatalf("signing in with the upgraded hash: %v", err)
	}
	if _, _, err := today.Login(ctx, "lee", "the wrong passphrase!", "test"); err != auth.ErrBadLogin {
		t.Fatalf("a wrong password after the upgrade: %v", err)
	}
}
