package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

func TestChangesPaging(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	w := newWriter()
	space := newID()
	const n = 60
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = newID()
		commit(t, s, w.op(space, "notes", ids[i], map[string]any{"text": text(300)}))
	}
	// Edit every third record again: their first entries are superseded.
	for i := 0; i < n; i += 3 {
		commit(t, s, w.op(space, "notes", ids[i], map[string]any{"text": text(250), "pinned": true}))
	}
	head, _ := s.Head(ctx, space)
	if head != n+n/3 {
		t.Fatalf("head %d", head)
	}

	const maxBytes = 1000
	pages, recs := allChanges(t, s, space, 0, maxBytes)
	if len(pages) < n/4 {
		t.Errorf("%d pages for %d records of 300 bytes in pages of %d", len(pages), n, maxBytes)
	}
	if last := pages[len(pages)-1]; last.To != head || last.More {
		t.Errorf("last page %+v, head %d", last, head)
	}
	seen := map[uuid.UUID]bool{}
	for _, p := range pages {
		size := 0
		for _, r := range p.Records {
			b, _ := record.Marshal(r)
			size += len(b)
			if r.Seq <= p.From || r.Seq > p.To {
				t.Errorf("record seq %d outside page (%d, %d]", r.Seq, p.From, p.To)
			}
		}
		if size > maxBytes && len(p.Records) > 1 {
			t.Errorf("page of %d bytes, limit %d", size, maxBytes)
		}
	}
	for _, r := range recs {
		if seen[r.ID] {
			t.Errorf("record %s sent twice", r.ID)
		}
		seen[r.ID] = true
		cur, err := s.Record(ctx, r.Key())
		if err != nil || cur.Seq != r.Seq || !reflect.DeepEqual(cur, r) {
			t.Errorf("record %s sent at seq %d, current %v (%v)", r.ID, r.Seq, cur.Seq, err)
		}
	}
	if len(recs) != n {
		t.Errorf("initial sync sent %d records, want %d", len(recs), n)
	}

	// At the head: nothing, and the cursor stays.
	p, err := s.Changes(ctx, space, head, maxBytes)
	if err != nil || len(p.Records) != 0 || p.More || p.From != head || p.To != head {
		t.Errorf("changes at head: %+v %v", p, err)
	}
	// Tiny budget: one record per page, never none.
	pages, recs = allChanges(t, s, space, 0, 0)
	if len(recs) != n {
		t.Errorf("maxBytes 0: %d records", len(recs))
	}
	for _, p := range pages {
		if len(p.Records) != 1 {
			t.Errorf("maxBytes 0: page with %d records", len(p.Records))
		}
	}
	// Incremental: only what changed after the cursor.
	commit(t, s, w.op(space, "notes", ids[1], map[string]any{"text": "edited"}))
	_, recs = allChanges(t, s, space, head, 1<<20)
	if len(recs) != 1 || recs[0].ID != ids[1] || recs[0].Value("text") != "edited" {
		t.Errorf("incremental changes: %v", recs)
	}
}

func TestChangesScanBounded(t *testing.T) {
	s, _ := openTest(t, Options{})
	w := newWriter()
	space, busy, quiet := newID(), newID(), newID()
	ops := []record.Op{w.op(space, "goals", quiet, map[string]any{"area": "math"})}
	for i := range MaxPageScan + 100 {
		ops = append(ops, w.op(space, "goals", busy, map[string]any{"target": int64(i)}))
	}
	commit(t, s, ops...)

	p, err := s.Changes(context.Background(), space, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0].ID != quiet || p.To != MaxPageScan || !p.More {
		t.Errorf("first page: %d records, To %d, More %v", len(p.Records), p.To, p.More)
	}
	pages, recs := allChanges(t, s, space, p.To, 1<<20)
	if len(recs) != 1 || recs[0].ID != busy || recs[0].Value("target") != int64(MaxPageScan+99) {
		t.Errorf("rest: %d pages, %v", len(pages), recs)
	}
}

func TestHistory(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	teacher, parent := newWriter(), newWriter()
	space, goal := newID(), newID()
	key := record.Key{Space: space, Collection: "goals", ID: goal}

	ops := []record.Op{teacher.op(space, "goals", goal, map[string]any{"area": "reading", "target": int64(10)})}
	commit(t, s, ops[0])
	commit(t, s, parent.op(space, "notes", newID(), map[string]any{"text": "unrelated"}))
	// The parent edits the target offline, the teacher too, each unaware
	// of the other: both writes conflict.
	p := parent.blind(space, "goals", goal, "target", 3.5)
	ops = append(ops, p, teacher.op(space, "goals", goal, map[string]any{"target": int64(12)}))
	res := commit(t, s, ops[1], ops[2])
	if !res[0].Conflict {
		t.Errorf("blind write did not conflict: %+v", res[0])
	}

	hist, err := s.History(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 {
		t.Fatalf("%d history entries", len(hist))
	}
	wantSeq := []uint64{1, 3, 4}
	wantAuthor := []uuid.UUID{teacher.author, parent.author, teacher.author}
	for i, e := range hist {
		if e.Seq != wantSeq[i] || e.Op.Author != wantAuthor[i] || e.Conflict != (i > 0) {
			t.Errorf("entry %d: seq %d author %s conflict %v", i, e.Seq, e.Op.Author, e.Conflict)
		}
		if !reflect.DeepEqual(e.Op, ops[i]) {
			t.Errorf("entry %d op:\n got %#v\nwant %#v", i, e.Op, ops[i])
		}
	}
	if h, err := s.History(ctx, record.Key{Space: space, Collection: "goals", ID: newID()}); err != nil || len(h) != 0 {
		t.Errorf("history of a missing record: %v %v", h, err)
	}
}

func TestReopenKeepsEveryCommit(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, Options{})
	ctx := context.Background()
	w := newWriter()
	spaces := []uuid.UUID{newID(), newID(), newID()}
	type acked struct {
		op  record.Op
		seq uint64
	}
	var acks []acked
	ids := []uuid.UUID{newID(), newID(), newID(), newID()}
	for round := range 10 {
		var ops []record.Op
		for i, sp := range spaces {
			ops = append(ops, w.op(sp, "goals", ids[(round+i)%len(ids)], map[string]any{"status": text(20 + round)}))
		}
		for i, r := range commit(t, s, ops...) {
			acks = append(acks, acked{ops[i], r.Seq})
		}
	}
	heads := map[uuid.UUID]uint64{}
	for _, sp := range spaces {
		heads[sp], _ = s.Head(ctx, sp)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openDir(t, dir, Options{})
	for _, a := range acks {
		hist, err := s.History(ctx, a.op.Key())
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range hist {
			found = found || (e.Seq == a.seq && reflect.DeepEqual(e.Op, a.op))
		}
		if !found {
			t.Errorf("acked op at seq %d missing after reopen", a.seq)
		}
	}
	for _, sp := range spaces {
		if h, _ := s.Head(ctx, sp); h != heads[sp] {
			t.Errorf("head %d after reopen, was %d", h, heads[sp])
		}
		if err := s.CheckLog(ctx, sp); err != nil {
			t.Error(err)
		}
		res := commit(t, s, w.op(sp, "notes", newID(), map[string]any{"text": "after reopen"}))
		if res[0].Seq != heads[sp]+1 {
			t.Errorf("seq %d after reopen, want %d", res[0].Seq, heads[sp]+1)
		}
	}
	// Re-sending an op acked before the restart changes nothing.
	if r := commit(t, s, acks[0].op); r[0].Changed {
		t.Errorf("op re-applied after reopen: %+v", r[0])
	}
}

func TestOnCommitRecordsNewestOnce(t *testing.T) {
	s, _ := openTest(t, Options{})
	w := newWriter()
	space, id := newID(), newID()
	var got []server.Committed
	s.OnCommit(func(cs []server.Committed) { got = append(got, cs...) })
	commit(t, s,
		w.op(space, "goals", id, map[string]any{"area": "a"}),
		w.op(space, "notes", newID(), map[string]any{"text": "n"}),
		w.op(space, "goals", id, map[string]any{"area": "b"}),
	)
	if len(got) != 1 || got[0].From != 0 || got[0].To != 3 || len(got[0].Records) != 2 {
		t.Fatalf("published %+v", got)
	}
	if r := got[0].Records[1]; r.ID != id || r.Seq != 3 || r.Value("area") != "b" {
		t.Errorf("newest state not published: %+v", r)
	}
}
