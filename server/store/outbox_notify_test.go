package store

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/uuid"
)

func notifyItem(school uuid.UUID, due time.Time) *NotifyItem {
	return &NotifyItem{ID: newID(), School: school, User: newID(), Channel: "email", Due: due, Created: due, Payload: []byte{0x80}}
}

// Concurrent senders never claim one item twice, and every item is
// claimed.
func TestNotifyClaimOnce(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	now := time.Now()
	school := newID()
	var items []*NotifyItem
	for range 60 {
		items = append(items, notifyItem(school, now.Add(-time.Minute)))
	}
	if ok, err := s.EnqueueNotify(ctx, "ev", items); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, err := s.EnqueueNotify(ctx, "ev", items[:1]); err != nil || ok {
		t.Fatalf("the same event queued twice: %v %v", ok, err)
	}
	var mu sync.Mutex
	seen := map[uuid.UUID]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				got, err := s.ClaimNotify(ctx, now, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, it := range got {
					seen[it.ID]++
					if it.State != NotifySending || it.Attempts != 1 {
						t.Errorf("claimed %+v", it)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != len(items) {
		t.Fatalf("claimed %d of %d", len(seen), len(items))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times", id, n)
		}
	}
}

// The queue across a close and reopen: what was queued stays queued at
// its time; what was being sent is resolved by RecoverNotify (queued
// again for a channel that tells repeats apart, unsure otherwise).
func TestNotifyQueueSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Now()
	school := newID()
	s := openDir(t, dir, Options{})
	sending, later, pushed := notifyItem(school, now), notifyItem(school, now.Add(time.Hour)), notifyItem(school, now)
	pushed.Channel = "push"
	if _, err := s.EnqueueNotify(ctx, "", []*NotifyItem{sending, later, pushed}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimNotify(ctx, now, 10); err != nil || len(got) != 2 {
		t.Fatalf("claimed %d, %v", len(got), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir, Options{})
	requeued, unsure, err := s.RecoverNotify(ctx, now, func(ch string) bool { return ch == "push" })
	if err != nil || len(requeued) != 1 || requeued[0].ID != pushed.ID || len(unsure) != 1 || unsure[0].ID != sending.ID {
		t.Fatalf("recovered %v / %v, %v", requeued, unsure, err)
	}
	got, err := s.ClaimNotify(ctx, now, 10)
	if err != nil || len(got) != 1 || got[0].ID != pushed.ID || got[0].Attempts != 2 {
		t.Fatalf("claimed after reopening %+v, %v", got, err)
	}
	if got, _ := s.ClaimNotify(ctx, now.Add(2*time.Hour), 10); len(got) != 1 || got[0].ID != later.ID {
		t.Fatalf("the later item: %+v", got)
	}
	if it, err := s.NotifyItem(ctx, sending.ID); err != nil || it.State != NotifyUnsure {
		t.Fatalf("the unsure item %+v, %v", it, err)
	}
	// A retry goes back in the due index at its time.
	if err := s.FinishNotify(ctx, []uuid.UUID{later.ID}, NotifyQueued, now.Add(3*time.Hour), "503"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimNotify(ctx, now.Add(150*time.Minute), 10); len(got) != 0 {
		t.Fatal("a retry claimed before its time")
	}
	if got, _ := s.ClaimNotify(ctx, now.Add(3*time.Hour), 10); len(got) != 1 || got[0].LastErr != "503" || got[0].Attempts != 2 {
		t.Fatalf("the retry %+v", got)
	}
}

func TestNotifyCapAndReplyTokens(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	school := newID()
	day := time.Now().UTC()
	for i, want := range []bool{true, true, false} {
		if ok, err := s.TakeNotifyCap(ctx, school, day, 1, 2); err != nil || ok != want {
			t.Fatalf("take %d: %v %v", i, ok, err)
		}
	}
	if ok, _ := s.TakeNotifyCap(ctx, school, day.Add(24*time.Hour), 1, 2); !ok {
		t.Fatal("the next day starts afresh")
	}
	if ok, _ := s.TakeNotifyCap(ctx, newID(), day, 2, 2); !ok {
		t.Fatal("another school has its own cap")
	}

	rb := &ReplyBinding{User: newID(), Space: newID(), Lang: "es", Expires: day.Add(time.Hour)}
	if err := s.PutReplyToken(ctx, "tok-one", "+15551230000", rb); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReplyToken(ctx, "tok-one", day); err != nil || got.User != rb.User {
		t.Fatalf("token: %+v %v", got, err)
	}
	if got, err := s.ReplyBindingFor(ctx, "+15551230000", day); err != nil || got.Space != rb.Space {
		t.Fatalf("by address: %+v %v", got, err)
	}
	if _, err := s.ReplyToken(ctx, "tok-one", day.Add(time.Hour)); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := s.ReplyToken(ctx, "tok-two", day); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
}

// A restore drops reply tokens with the sessions: a reply address given
// out before the backup and revoked since must not write again.
func TestRestoreDropsReplyTokens(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	rb := &ReplyBinding{User: newID(), Space: newID(), Expires: time.Now().Add(time.Hour)}
	if err := s.PutReplyToken(ctx, "tok", "+15551230000", rb); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(dir, bytes.NewReader(buf.Bytes()), RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	r := openDir(t, dir, Options{})
	if _, err := r.ReplyToken(ctx, "tok", time.Now()); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("reply token after a restore: %v", err)
	}
	if _, err := r.ReplyBindingFor(ctx, "+15551230000", time.Now()); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("reply address after a restore: %v", err)
	}
}
