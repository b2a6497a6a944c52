package store

import (
	"context"
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
)

// TestMarkNextWrite: a pending mark is stored by the next write's own
// transaction (a group commit, an account write) and survives a reopen;
// a call that writes nothing leaves it for TakeMark to report.
func TestMarkNextWrite(t *testing.T) {
	s, dir := openTest(t, Options{})
	ctx := context.Background()
	w := newWriter()
	space := newID()
	s.MarkNextWrite("log", 7)
	if _, err := s.Commit(ctx, []record.Op{w.op(space, "notes", newID(), map[string]any{"a": 1})}); err != nil {
		t.Fatal(err)
	}
	if s.TakeMark() {
		t.Fatal("a commit that wrote left its mark unwritten")
	}
	if m, _ := s.Mark("log"); m != 7 {
		t.Fatalf("mark after a commit: %d", m)
	}
	s.MarkNextWrite("log", 8)
	if err := s.CreateUser(ctx, &server.User{ID: newID(), Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if s.TakeMark() {
		t.Fatal("an account write left its mark unwritten")
	}
	s.MarkNextWrite("log", 9)
	if err := s.DeleteSession(ctx, [32]byte{1}); err != nil { // nothing to delete: still a transaction
		t.Fatal(err)
	}
	s.TakeMark()
	s.MarkNextWrite("log", 10)
	if _, err := s.Commit(ctx, nil); err != nil { // no ops: no group at all
		t.Fatal(err)
	}
	if !s.TakeMark() {
		t.Fatal("a call that wrote nothing consumed the mark")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openDir(t, dir, Options{})
	if m, _ := s2.Mark("log"); m < 8 {
		t.Fatalf("mark after reopening: %d", m)
	}
}
