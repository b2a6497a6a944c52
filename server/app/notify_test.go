package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Notifications are off by default: no routes, nothing queued.
func TestNotifyOffByDefault(t *testing.T) {
	a := open(t, app.Config{})
	if a.Notify != nil {
		t.Fatal("a notifier without --notify")
	}
	if code, _ := get(t, http.DefaultClient, a.BaseURL()+"/api/notify/prefs", "", ""); code != http.StatusNotFound {
		t.Errorf("/api/notify/prefs without --notify: %d, want 404", code)
	}
}

// With --notify and no channel, a note the demo teacher commits reaches
// the notifier through the store's commit hook (beside the hub) and
// becomes a line of the office's call list for the demo parent, whose
// profile asks for texts; the routes and the reply server are up.
func TestNotifyWired(t *testing.T) {
	a := open(t, app.Config{Seed: true, Notify: &app.NotifyConfig{BaseURL: "https://plans.example.org", ReplyDomain: "reply.example.org", ReplyAddr: "127.0.0.1:0"}})
	if a.Notify == nil || a.ReplyAddr() == "" {
		t.Fatal("notifier or reply server not started")
	}
	if code, _ := get(t, http.DefaultClient, a.BaseURL()+"/api/notify/prefs", a.Demo.TeacherToken, ""); code != http.StatusOK {
		t.Errorf("GET /api/notify/prefs: %d", code)
	}
	ctx := context.Background()
	spaces, err := a.Store.Spaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var plan *server.Space
	var teacher, parent uuid.UUID
	for _, sp := range spaces {
		if sp.Kind != server.KindStudent {
			continue
		}
		ms, err := a.Store.Members(ctx, sp.ID)
		if err != nil {
			t.Fatal(err)
		}
		teacher, parent = uuid.Nil, uuid.Nil
		for _, m := range ms {
			switch m.Role {
			case server.RoleTeacher:
				teacher = m.User
			case server.RoleFamily:
				parent = m.User
			}
		}
		if teacher != uuid.Nil && parent != uuid.Nil {
			plan = sp
			break
		}
	}
	if plan == nil {
		t.Fatal("no demo plan with a teacher and a parent")
	}
	op := record.Op{Space: plan.ID, Collection: "notes", ID: uuid.Must(uuid.NewV7()), HLC: hlc.NewClock(nil, 0).Now(),
		Node: uuid.Must(uuid.NewV7()), Author: teacher, Writes: []record.Write{
			{Name: "kind", Value: "update"}, {Name: "lang", Value: "en"}, {Name: "text", Value: "Ana did well today"}}}
	if _, err := a.Store.Commit(ctx, []record.Op{op}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		items, err := a.Store.NotifyItems(ctx, plan.School, store.NotifyCall, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.User == parent {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no call-list item for the parent: %+v", a.Notify.Stats())
}
