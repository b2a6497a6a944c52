package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

func TestBackupRestore(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	w := newWriter()
	spaces := []uuid.UUID{newID(), newID()}
	for _, sp := range spaces {
		if err := s.CreateSpace(ctx, &server.Space{ID: sp, Name: "plan", Kind: server.KindStudent}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutMember(ctx, server.Member{Space: sp, User: w.author, Role: server.RoleTeacher}); err != nil {
			t.Fatal(err)
		}
		ids := []uuid.UUID{newID(), newID(), newID()}
		for round := range 5 {
			for _, id := range ids {
				commit(t, s, w.op(sp, "goals", id, map[string]any{"status": text(10 + round)}))
			}
		}
	}
	if err := s.CreateUser(ctx, &server.User{ID: w.author, Name: "Ms. Lee"}); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("token"))
	if err := s.CreateSession(ctx, &server.Session{Hash: hash, User: w.author, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(dir, bytes.NewReader(buf.Bytes()), RestoreOptions{KeepSessions: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(dir, bytes.NewReader(buf.Bytes()), RestoreOptions{}); err == nil {
		t.Error("restore into a non-empty dir accepted")
	}
	r := openDir(t, dir, Options{})

	// Every key and value, records and logs included, came back.
	want, got := dump(t, s), dump(t, r)
	if len(want) == 0 || !reflect.DeepEqual(want, got) {
		t.Fatalf("restored %d keys, backed up %d; equal: %v", len(got), len(want), reflect.DeepEqual(want, got))
	}
	for _, sp := range spaces {
		if err := r.CheckLog(ctx, sp); err != nil {
			t.Error(err)
		}
		_, a := allChanges(t, s, sp, 0, 1<<20)
		_, b := allChanges(t, r, sp, 0, 1<<20)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("space %s: records differ after restore", sp)
		}
		h, _ := r.Head(ctx, sp)
		res := commit(t, r, w.op(sp, "notes", newID(), map[string]any{"text": "after restore"}))
		if res[0].Seq != h+1 {
			t.Errorf("seq %d after restore, head was %d", res[0].Seq, h)
		}
	}
	if _, err := r.Session(ctx, hash); err != nil {
		t.Errorf("session after restore: %v", err)
	}
}

// dump returns every key and value of the database.
func dump(t *testing.T, s *Store) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if k := it.Item().KeyCopy(nil); string(k) != string(incarnationKey) { // new on every restore
				m[string(k)] = string(v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
