package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// openTest opens a store in a fresh temp dir, closed at cleanup.
func openTest(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	return openDir(t, dir, opts), dir
}

func openDir(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.FreeSpace == nil {
		opts.FreeSpace = func() (uint64, error) { return 1 << 40, nil }
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// writer makes ops as one device would: strictly increasing clocks, each
// write based on the version it last saw (its own).
type writer struct {
	mu     sync.Mutex
	node   uuid.UUID
	author uuid.UUID
	clock  *hlc.Clock
	seen   map[string]*record.Ref // record key + field -> version seen
}

func newWriter() *writer {
	return &writer{node: newID(), author: newID(), clock: hlc.NewClock(nil, 0), seen: map[string]*record.Ref{}}
}

// op sets fields of one record, basing each write on what w saw.
func (w *writer) op(space uuid.UUID, coll string, id uuid.UUID, fields map[string]any) record.Op {
	w.mu.Lock()
	defer w.mu.Unlock()
	op := record.Op{Space: space, Collection: coll, ID: id, HLC: w.clock.Now(), Node: w.node, Author: w.author}
	for name, v := range fields {
		k := fmt.Sprint(space, coll, id, name)
		op.Writes = append(op.Writes, record.Write{Name: name, Value: v, Base: w.seen[k]})
		w.seen[k] = &record.Ref{HLC: op.HLC, Node: w.node}
	}
	if err := op.Validate(); err != nil {
		panic(err)
	}
	return op
}

// blind sets a field without having seen anything: concurrent with every
// other write to it.
func (w *writer) blind(space uuid.UUID, coll string, id uuid.UUID, name string, v any) record.Op {
	op := record.Op{Space: space, Collection: coll, ID: id, HLC: w.clock.Now(), Node: w.node, Author: w.author,
		Writes: []record.Write{{Name: name, Value: v}}}
	if err := op.Validate(); err != nil {
		panic(err)
	}
	return op
}

// text returns about n bytes of prose.
func text(n int) string {
	const s = "Maya reads aloud every evening and is working on multi-step word problems. "
	return strings.Repeat(s, n/len(s)+1)[:n]
}

// commit commits ops and fails the test on any refusal.
func commit(t testing.TB, s *Store, ops ...record.Op) []server.OpResult {
	t.Helper()
	res := commitRaw(t, s, ops...)
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("op %d: %v", i, r.Err)
		}
	}
	return res
}

// commitRaw commits ops and returns every op's result, refusals included.
func commitRaw(t testing.TB, s *Store, ops ...record.Op) []server.OpResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Commit(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(ops) {
		t.Fatalf("%d results for %d ops", len(res), len(ops))
	}
	return res
}

// allChanges pages through a space from after, checking each page's shape.
func allChanges(t testing.TB, s *Store, space uuid.UUID, after uint64, maxBytes int) ([]server.Page, []*record.Record) {
	t.Helper()
	var pages []server.Page
	var recs []*record.Record
	for {
		p, err := s.Changes(context.Background(), space, after, maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		if p.From != after {
			t.Fatalf("page From %d, asked after %d", p.From, after)
		}
		pages = append(pages, p)
		recs = append(recs, p.Records...)
		if !p.More {
			return pages, recs
		}
		if p.To <= after {
			t.Fatalf("page made no progress: %+v", p)
		}
		after = p.To
	}
}
