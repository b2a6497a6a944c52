package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
)

// TestRestoreDropsSessionsAndInvites: by default a restore ends every
// session and unclaimed invite of the backup (a session revoked after the
// backup must not work again, an invite claimed after it must not be
// claimed twice) and says how many; the records stay; each restore is a
// new incarnation. KeepSessions keeps them.
func TestRestoreDropsSessionsAndInvites(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	w := newWriter()
	sp := newID()
	commit(t, s, w.op(sp, "notes", newID(), map[string]any{"text": "kept"}))
	for i, tok := range []string{"a", "b"} {
		se := &server.Session{Hash: sha256.Sum256([]byte(tok)), User: w.author, Expires: time.Now().Add(time.Hour)}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(i, err)
		}
	}
	if err := s.CreateInvite(ctx, &server.Invite{ID: "INV1", Secret: "x", Space: sp, Created: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	inc, err := s.Incarnation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "default")
	rep, err := Restore(dir, bytes.NewReader(buf.Bytes()), RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DroppedSessions != 2 || rep.DroppedInvites != 1 {
		t.Fatalf("report %+v, want 2 sessions and 1 invite dropped", rep)
	}
	if rep.Incarnation == inc {
		t.Fatal("the restored database kept the backup's incarnation")
	}
	r := openDir(t, dir, Options{})
	if _, err := r.Session(ctx, sha256.Sum256([]byte("a"))); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("session after a default restore: %v", err)
	}
	if _, err := r.Invite(ctx, "INV1", time.Now()); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("invite after a default restore: %v", err)
	}
	if got, err := r.Incarnation(ctx); err != nil || got != rep.Incarnation {
		t.Fatalf("incarnation %s (%v), report says %s", got, err, rep.Incarnation)
	}
	if h, err := r.Head(ctx, sp); err != nil || h != 1 {
		t.Fatalf("head %d (%v): records lost in the restore", h, err)
	}

	keep := filepath.Join(t.TempDir(), "keep")
	rep, err = Restore(keep, bytes.NewReader(buf.Bytes()), RestoreOptions{KeepSessions: true})
	if err != nil || rep.DroppedSessions != 0 || rep.DroppedInvites != 0 {
		t.Fatalf("keep: %+v, %v", rep, err)
	}
	k := openDir(t, keep, Options{})
	if _, err := k.Session(ctx, sha256.Sum256([]byte("b"))); err != nil {
		t.Fatalf("session after --keep-sessions: %v", err)
	}
}
