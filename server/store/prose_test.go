package store

import (
	"sync"
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
)

// TestMergedChangeGoesWhole: a text merged word by word with a concurrent
// edit is handed to the hub as a record (no Sole op), so a member's device
// of an earlier build, which would make a conflict of the op (it ignores
// the base text), adopts the server's merged text instead. A plain edit
// still goes as its op.
func TestMergedChangeGoesWhole(t *testing.T) {
	s, _ := openTest(t, Options{})
	var mu sync.Mutex
	var got []server.Committed
	s.OnCommit(func(cs []server.Committed) {
		mu.Lock()
		got = append(got, cs...)
		mu.Unlock()
	})
	space, id := newID(), newID()
	a, b := newWriter(), newWriter()
	base := "Ana reads every night with her sister for ten minutes."
	create := a.op(space, "goals", id, map[string]any{"description": base})
	commit(t, s, create)
	ref := &record.Ref{HLC: create.HLC, Node: a.node}
	edit := func(w *writer, text string) record.Op {
		op := record.Op{Space: space, Collection: "goals", ID: id, HLC: w.clock.Now(), Node: w.node, Author: w.author,
			Writes: []record.Write{{Name: "description", Value: text, Base: ref, BaseText: base}}}
		if err := op.Validate(); err != nil {
			t.Fatal(err)
		}
		return op
	}
	commit(t, s, edit(a, "Ana reads every evening with her sister for ten minutes."))
	res := commit(t, s, edit(b, "Ana reads every night with her sister for twenty minutes."))
	if res[0].Conflict {
		t.Fatal("non-overlapping edits conflicted")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("%d commits seen", len(got))
	}
	if got[1].Sole[0] == nil {
		t.Error("a plain edit did not go as its op")
	}
	last := got[2]
	if last.Sole[0] != nil {
		t.Error("a merged change went as its op")
	}
	if v := last.Records[0].Value("description"); v != "Ana reads every evening with her sister for twenty minutes." {
		t.Errorf("merged %q", v)
	}
}
