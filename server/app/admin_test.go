package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/shared/uuid"
)

// TestRemoveMemberDropsFamilyFromSchool: plansync member remove takes a
// family member whose only child leaves out of the school's space too, as
// the API's removal does, and keeps them there while another child stays.
func TestRemoveMemberDropsFamilyFromSchool(t *testing.T) {
	a := open(t, app.Config{})
	ctx := context.Background()
	st := a.Store
	now := time.Now().UTC()
	school := &server.Space{ID: uuid.Must(uuid.NewV7()), Name: "Elm", Kind: server.KindSchool, Created: now}
	ana := &server.Space{ID: uuid.Must(uuid.NewV7()), Name: "Ana", Kind: server.KindStudent, School: school.ID, Created: now}
	leo := &server.Space{ID: uuid.Must(uuid.NewV7()), Name: "Leo", Kind: server.KindStudent, School: school.ID, Created: now}
	for _, sp := range []*server.Space{school, ana, leo} {
		if err := st.CreateSpace(ctx, sp); err != nil {
			t.Fatal(err)
		}
	}
	rosa, err := app.AddUser(ctx, st, "Rosa")
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range []uuid.UUID{school.ID, ana.ID, leo.ID} {
		if err := st.PutMember(ctx, server.Member{Space: sp, User: rosa.ID, Role: server.RoleFamily, Since: now}); err != nil {
			t.Fatal(err)
		}
	}
	spaces := func() map[uuid.UUID]bool {
		ms, err := st.Memberships(ctx, rosa.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[uuid.UUID]bool{}
		for _, m := range ms {
			out[m.Space] = true
		}
		return out
	}
	if err := app.RemoveMember(ctx, st, ana.ID, rosa.ID); err != nil {
		t.Fatal(err)
	}
	if got := spaces(); got[ana.ID] || !got[leo.ID] || !got[school.ID] {
		t.Fatalf("after leaving Ana's plan, with Leo's still hers: %v", got)
	}
	if err := app.RemoveMember(ctx, st, leo.ID, rosa.ID); err != nil {
		t.Fatal(err)
	}
	if got := spaces(); len(got) != 0 {
		t.Fatalf("after leaving her last child's plan she is still in %v (the school's space must go too)", got)
	}
	if err := app.RemoveMember(ctx, st, leo.ID, rosa.ID); err == nil {
		t.Fatal("removing someone twice says nothing")
	}
}
