package store

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
)

// TestCatchUpReadsOnlyDurable stops the committer inside a group's fsync,
// after its records are written to badger, and checks that catch-up
// (Changes) and Head do not show them yet, that fan-out has not run, and
// that both show them once the fsync returns.
func TestCatchUpReadsOnlyDurable(t *testing.T) {
	var armed atomic.Bool
	inSync, proceed := make(chan struct{}), make(chan struct{})
	s, _ := openTest(t, Options{Logger: slog.New(slog.DiscardHandler)})
	s.syncHook = func() error {
		if armed.CompareAndSwap(true, false) {
			close(inSync)
			<-proceed
		}
		return s.db.Sync()
	}
	var published atomic.Int32
	s.OnCommit(func([]server.Committed) { published.Add(1) })
	ctx := context.Background()
	w := newWriter()
	space := newID()
	first := w.op(space, "notes", newID(), map[string]any{"text": "synced"})
	commit(t, s, first)
	published.Store(0)

	armed.Store(true)
	later := w.op(space, "notes", newID(), map[string]any{"text": "not synced yet"})
	done := make(chan error, 1)
	go func() {
		_, err := s.Commit(ctx, []record.Op{later})
		done <- err
	}()
	select {
	case <-inSync:
	case <-time.After(10 * time.Second):
		t.Fatal("the committer never reached the fsync")
	}
	if _, err := s.Record(ctx, later.Key()); err != nil {
		t.Fatalf("the group is not written to badger before its fsync (%v): the test shows nothing", err)
	}
	p, err := s.Changes(ctx, space, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if p.To != 1 || p.More || len(p.Records) != 1 || p.Records[0].Key() != first.Key() {
		t.Errorf("catch-up during the fsync: to %d more %v %d records, want only seq 1", p.To, p.More, len(p.Records))
	}
	if h, err := s.Head(ctx, space); err != nil || h != 1 {
		t.Errorf("head during the fsync: %d %v, want 1", h, err)
	}
	if n := published.Load(); n != 0 {
		t.Errorf("fan-out ran %d times before the fsync ended", n)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p, err = s.Changes(ctx, space, 1, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if p.To != 2 || len(p.Records) != 1 || p.Records[0].Key() != later.Key() {
		t.Errorf("catch-up after the fsync: to %d, %d records, want seq 2", p.To, len(p.Records))
	}
	if h, err := s.Head(ctx, space); err != nil || h != 2 {
		t.Errorf("head after the fsync: %d %v, want 2", h, err)
	}
	if published.Load() != 1 {
		t.Errorf("fan-out ran %d times after the fsync, want 1", published.Load())
	}
}

// TestCatchUpStopsBeforeUnsyncedChange: a record synced at seq 1 is
// changed again by a group stopped inside its fsync. Catch-up must neither
// send the new state nor skip the record's old entry as superseded (the
// group's fan-out is an op the device applies to its copy, which it would
// then lack): the page ends before the entry, and after the fsync the
// record comes whole.
func TestCatchUpStopsBeforeUnsyncedChange(t *testing.T) {
	var armed atomic.Bool
	inSync, proceed := make(chan struct{}), make(chan struct{})
	s, _ := openTest(t, Options{Logger: slog.New(slog.DiscardHandler)})
	s.syncHook = func() error {
		if armed.CompareAndSwap(true, false) {
			close(inSync)
			<-proceed
		}
		return s.db.Sync()
	}
	ctx := context.Background()
	w := newWriter()
	space, id := newID(), newID()
	commit(t, s, w.op(space, "notes", id, map[string]any{"text": "v1"}))
	armed.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := s.Commit(ctx, []record.Op{w.op(space, "notes", id, map[string]any{"text": "v2"})})
		done <- err
	}()
	select {
	case <-inSync:
	case <-time.After(10 * time.Second):
		t.Fatal("the committer never reached the fsync")
	}
	p, err := s.Changes(ctx, space, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if p.To != 0 || p.More || len(p.Records) != 0 {
		t.Errorf("catch-up during the fsync: to %d more %v %d records, want an empty page to 0", p.To, p.More, len(p.Records))
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p, err = s.Changes(ctx, space, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if p.To != 2 || len(p.Records) != 1 || p.Records[0].Value("text") != "v2" {
		t.Errorf("catch-up after the fsync: to %d, %d records, want v2 at 2", p.To, len(p.Records))
	}
}
