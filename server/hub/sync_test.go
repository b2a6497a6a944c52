package hub_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// TestMembership: a user never sees a record of a space they are not a
// member of, live or on catch-up, and cannot write there, while the rest of
// the same push goes through.
func TestMembership(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{})
	ana, atok := e.user("Ana")
	bob, btok := e.user("Bob")
	s1 := e.space("Both", server.KindGeneral, ana, bob)
	s2 := e.space("Bob only", server.KindGeneral, bob)

	a := e.connect("ana", atok)
	b := e.connect("bob", btok)

	// Bob writes to both spaces; Ana gets only s1's change.
	secret := b.op(s2.ID, "notes", map[string]any{"text": "secret"})
	shared := b.op(s1.ID, "notes", map[string]any{"text": "shared"})
	seqs := b.pushOK(secret, shared)
	a.syncTo(s1.ID, seqs[1])
	leaked := func(msgs []protocol.Message) {
		t.Helper()
		for _, m := range msgs {
			if ch, ok := m.(*protocol.Changes); ok && ch.Space == s2.ID {
				t.Errorf("ana received changes of %s: %s", s2.ID, describe(ch))
			}
		}
		if a.rec(secret.Key()) != nil {
			t.Errorf("ana holds a record of a space she is not a member of")
		}
	}
	leaked(a.ping()) // Bob's ack came after fan-out, so anything sent to Ana is in before the pong
	if a.rec(shared.Key()) == nil {
		t.Fatal("ana did not receive the change of the shared space")
	}

	// Reconnecting with cursor 0 for both spaces (the client claims s2).
	a2 := e.dial("ana again", nil)
	w := a2.hello(atok, protocol.Cursor{Space: s1.ID}, protocol.Cursor{Space: s2.ID})
	for _, s := range w.Spaces {
		if s.ID == s2.ID {
			t.Errorf("welcome lists %s", s2.ID)
		}
	}
	a2.syncTo(s1.ID, e.head(s1.ID))
	leaked(a2.ping())
	if a2.rec(secret.Key()) != nil {
		t.Errorf("ana's catch-up carries a record of a space she is not a member of")
	}

	// Ana writes to s2 and s1 in one push: s2 is refused, s1 is committed.
	intrude := a.op(s2.ID, "notes", map[string]any{"text": "let me in"})
	own := a.op(s1.ID, "notes", map[string]any{"text": "mine"})
	ack, _ := a.ack(a.push(intrude, own))
	if len(ack.Results) != 2 {
		t.Fatalf("ack has %d results, want 2", len(ack.Results))
	}
	if r := ack.Results[0]; r.Code != protocol.CodeForbidden || r.Seq != 0 || !strings.Contains(r.Message, "not a member") {
		t.Errorf("op to a foreign space: %+v, want forbidden saying not a member", r)
	}
	if r := ack.Results[1]; r.Code != "" || r.Seq == 0 {
		t.Errorf("op to her own space: %+v, want committed", r)
	}
	if e.record(intrude.Key()) != nil {
		t.Error("the refused op was stored")
	}
	if e.record(own.Key()) == nil {
		t.Error("the accepted op was not stored")
	}
	b.syncTo(s1.ID, ack.Results[1].Seq)
	for _, m := range b.ping() {
		if ch, ok := m.(*protocol.Changes); ok && ch.Space == s2.ID {
			t.Errorf("bob received a change of s2 after ana's refused op: %s", describe(ch))
		}
	}
	if b.rec(intrude.Key()) != nil {
		t.Error("the refused op was fanned out")
	}
}

// TestPushAckFanOut: an ack comes after the op is durable and after the
// pusher's own changes; other members get the change live; a retransmit
// changes nothing; the changes frames of a space form a chain.
func TestPushAckFanOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{})
	ana, atok := e.user("Ana")
	bob, btok := e.user("Bob")
	sp := e.space("Room", server.KindGeneral, ana, bob)
	a := e.connect("ana", atok)
	b := e.connect("bob", btok)

	op := a.op(sp.ID, "goals", map[string]any{"title": "Read every night", "minutes": int64(20)})
	batch := a.push(op)
	ack, before := a.ack(batch)
	if len(ack.Results) != 1 || ack.Results[0].Seq == 0 {
		t.Fatalf("ack %+v, want one committed op", ack)
	}
	seq := ack.Results[0].Seq
	// Durable before the ack: the store has it.
	r := e.record(op.Key())
	if r == nil || r.Value("title") != "Read every night" || r.Seq != seq {
		t.Fatalf("after the ack the store holds %+v, want the op at seq %d", r, seq)
	}
	if f := r.Fields["title"]; f.Author != ana || f.Node != a.id {
		t.Errorf("stored author %s node %s, want the connection's user %s and device %s", f.Author, f.Node, ana, a.id)
	}
	// The pusher saw its change before the ack.
	sawOwn := false
	for _, m := range before {
		if ch, ok := m.(*protocol.Changes); ok {
			for _, r := range ch.Records {
				sawOwn = sawOwn || r.Key() == op.Key()
			}
			for _, o := range ch.Own {
				sawOwn = sawOwn || (o.ID == op.ID && o.HLC == op.HLC)
			}
		}
	}
	if !sawOwn {
		t.Errorf("the ack came before the changes carrying the op; before it: %s", describeAll(before))
	}
	// Bob gets it live.
	b.syncTo(sp.ID, seq)
	if r := b.rec(op.Key()); r == nil || r.Value("minutes") != int64(20) {
		t.Errorf("bob has %+v, want the new record", r)
	}

	// A retransmit after the ack changes nothing.
	head := e.head(sp.ID)
	a.send(&protocol.Push{Batch: batch, Ops: []record.Op{op}})
	again, before := a.ack(batch)
	if len(again.Results) != 1 || again.Results[0] != ack.Results[0] {
		t.Errorf("retransmit acked %+v, want %+v", again.Results, ack.Results)
	}
	for _, m := range before {
		t.Errorf("retransmit produced %s", describe(m))
	}
	if h := e.head(sp.ID); h != head {
		t.Errorf("retransmit moved the head from %d to %d", head, h)
	}
	for _, m := range b.ping() {
		t.Errorf("retransmit reached bob: %s", describe(m))
	}

	// More pushes from both sides, some in one batch, some editing the same
	// record: every frame continues the chain (the client checks From) and
	// both end at the head with the same records.
	for i := range 10 {
		a.push(a.edit(sp.ID, "goals", op.ID, map[string]any{"minutes": int64(21 + i)}))
		b.push(b.op(sp.ID, "notes", map[string]any{"text": fmt.Sprint("note ", i)}),
			b.op(sp.ID, "notes", map[string]any{"text": fmt.Sprint("other note ", i)}))
	}
	a.ack(a.batch)
	b.ack(b.batch)
	head = e.head(sp.ID)
	if head != seq+30 {
		t.Errorf("head %d, want %d", head, seq+30)
	}
	a.syncTo(sp.ID, head)
	b.syncTo(sp.ID, head)
	if len(a.recs) != 21 || len(b.recs) != 21 {
		t.Errorf("ana holds %d records, bob %d, want 21", len(a.recs), len(b.recs))
	}
	for k, r := range a.recs {
		stored := e.record(k)
		if br := b.rec(k); br == nil || br.Seq != r.Seq || r.Seq != stored.Seq {
			t.Errorf("record %s: ana at %d, bob at %v, store at %d", k.ID, r.Seq, br, stored.Seq)
		}
		// Records ana derived from her own ops (Changes.Own) and those she
		// was sent must both equal the store's, field for field.
		if !reflect.DeepEqual(r, stored) || !reflect.DeepEqual(b.rec(k), stored) {
			t.Errorf("record %s differs from the store:\n ana %+v\n bob %+v\nstore %+v", k.ID, r, b.rec(k), stored)
		}
	}
	if v := a.rec(op.Key()).Value("minutes"); v != int64(30) {
		t.Errorf("ana sees minutes %v, want 30", v)
	}
}

// TestCatchUpPaging: a backlog larger than a page arrives in contiguous
// pages, More on all but the last, each record once in its newest state;
// a cursor in the middle gets only the rest.
func TestCatchUpPaging(t *testing.T) {
	t.Parallel()
	const pageBytes = 1024
	e := newEnv(t, hub.Options{PageBytes: pageBytes})
	ana, atok := e.user("Ana")
	bob, btok := e.user("Bob")
	sp := e.space("Room", server.KindGeneral, ana, bob)
	other := e.space("Other", server.KindGeneral, ana)

	a := e.connect("ana", atok)
	var ids []uuid.UUID
	for i := range 4 {
		var ops []record.Op
		for j := range 10 {
			op := a.op(sp.ID, "notes", map[string]any{"text": fmt.Sprintf("note %d.%d %s", i, j, strings.Repeat("words ", 30))})
			ids = append(ids, op.ID)
			ops = append(ops, op)
		}
		a.pushOK(ops...)
	}
	// Edit a few again, so the log holds superseded entries.
	for _, id := range ids[:5] {
		a.pushOK(a.edit(sp.ID, "notes", id, map[string]any{"text": "edited"}))
	}
	a.pushOK(a.op(other.ID, "notes", map[string]any{"text": "elsewhere"}))
	head := e.head(sp.ID)
	if head != 45 {
		t.Fatalf("head %d, want 45", head)
	}

	// Bob has nothing yet.
	b := e.connect("bob", btok, protocol.Cursor{Space: sp.ID, Seq: 0})
	b.syncTo(sp.ID, head)
	pages := b.pages
	if len(pages) < 3 {
		t.Fatalf("catch-up of %d records in %d pages, want at least 3 of about %d bytes", len(ids), len(pages), pageBytes)
	}
	for i, p := range pages {
		if last := i == len(pages)-1; p.More == last {
			t.Errorf("page %d of %d: more=%v", i+1, len(pages), p.More)
		}
		if len(p.Records) == 0 {
			t.Errorf("page %d is empty", i+1)
		}
	}
	if pages[0].From != 0 || pages[len(pages)-1].To != head {
		t.Errorf("pages cover (%d, %d], want (0, %d]", pages[0].From, pages[len(pages)-1].To, head)
	}
	if len(b.got) != len(ids) {
		t.Errorf("received %d distinct records, want %d", len(b.got), len(ids))
	}
	for i, id := range ids {
		k := record.Key{Space: sp.ID, Collection: "notes", ID: id}
		if n := b.got[k]; n != 1 {
			t.Errorf("record %d received %d times", i, n)
		}
		if r, s := b.rec(k), e.record(k); r == nil || r.Seq != s.Seq || r.Value("text") != s.Value("text") {
			t.Errorf("record %d: received %v, stored %v", i, r, s)
		}
	}

	// A cursor in the middle gets exactly the records changed after it.
	mid := uint64(20)
	b2 := e.connect("bob from 20", btok, protocol.Cursor{Space: sp.ID, Seq: mid})
	b2.syncTo(sp.ID, head)
	if b2.pages[0].From != mid {
		t.Errorf("catch-up from %d starts at %d", mid, b2.pages[0].From)
	}
	want := 0
	for _, id := range ids {
		k := record.Key{Space: sp.ID, Collection: "notes", ID: id}
		s := e.record(k)
		if s.Seq > mid {
			want++
			if b2.got[k] != 1 {
				t.Errorf("record at seq %d received %d times from cursor %d", s.Seq, b2.got[k], mid)
			}
		} else if b2.got[k] != 0 {
			t.Errorf("record at seq %d re-sent to a client at cursor %d", s.Seq, mid)
		}
	}
	if len(b2.got) != want {
		t.Errorf("received %d records from cursor %d, want %d", len(b2.got), mid, want)
	}

	// A cursor past the head (a restored server) starts over.
	b4 := e.dial("bob ahead", nil)
	b4.hello(btok, protocol.Cursor{Space: sp.ID, Seq: head + 100})
	b4.mu.Lock()
	b4.cursor[sp.ID] = 0 // the server restarts a cursor past its head at 0
	b4.mu.Unlock()
	b4.syncTo(sp.ID, head)
	if len(b4.got) != len(ids) {
		t.Errorf("from a cursor past the head: %d records, want %d", len(b4.got), len(ids))
	}
}

// TestInvalidOps: each bad op is refused alone with invalid and a message
// naming what is wrong; the good ops of the same push apply.
func TestInvalidOps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{})
	ana, atok := e.user("Ana")
	sp := e.space("Student", server.KindStudent, ana)
	a := e.connect("ana", atok)

	good := func() record.Op {
		return a.op(sp.ID, "goals", map[string]any{"status": "in_progress", "description": "Reads 20 minutes a night", "description_lang": "en"})
	}
	v4 := good()
	v4.ID = uuid.New()
	badName := a.op(sp.ID, "goals", map[string]any{"Status!": "met"})
	badUTF8 := a.op(sp.ID, "goals", map[string]any{"description": "caf\xe9", "description_lang": "fr"})
	bogus := a.op(sp.ID, "goals", map[string]any{"status": "bogus"})
	unknownField := a.op(sp.ID, "goals", map[string]any{"colour": "blue"})
	unknownColl := a.op(sp.ID, "spells", map[string]any{"name": "x"})
	noClock := good()
	noClock.HLC = 0

	ok1, ok2 := good(), good()
	ops := []record.Op{ok1, v4, badName, badUTF8, bogus, unknownField, unknownColl, noClock, ok2}
	want := []string{"", "UUIDv7", "Status!", "description", "status", "colour", "spells", "clock", ""}
	ack, _ := a.ack(a.push(ops...))
	if len(ack.Results) != len(ops) {
		t.Fatalf("%d results for %d ops", len(ack.Results), len(ops))
	}
	for i, r := range ack.Results {
		if want[i] == "" {
			if r.Code != "" || r.Seq == 0 {
				t.Errorf("op %d: %+v, want committed", i, r)
			}
			if e.record(ops[i].Key()) == nil {
				t.Errorf("op %d acked but not stored", i)
			}
			continue
		}
		if r.Code != protocol.CodeInvalid || r.Seq != 0 || !strings.Contains(r.Message, want[i]) {
			t.Errorf("op %d: %+v, want invalid naming %q", i, r, want[i])
		}
		if ops[i].ID.Version() == 7 && e.record(ops[i].Key()) != nil {
			t.Errorf("op %d refused but stored", i)
		}
	}
	// The refused ops were not fanned out either: only the good ones arrive.
	a.syncTo(sp.ID, e.head(sp.ID))
	a.ping()
	if len(a.recs) != 2 || a.rec(ok1.Key()) == nil || a.rec(ok2.Key()) == nil {
		t.Errorf("received %d records, want the 2 good ones", len(a.recs))
	}
	if h := e.head(sp.ID); h != 2 {
		t.Errorf("head %d, want 2", h)
	}
}

// TestAckWaitsForCatchUp: a client that pushes while still catching up gets
// its ack only after the changes carrying its op, which come after the
// backlog before them, so it never drops a pending op it has not yet seen
// applied.
func TestAckWaitsForCatchUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hub.Options{PageBytes: 512})
	ana, atok := e.user("Ana")
	sp := e.space("Room", server.KindGeneral, ana)
	seed := newSeeder()
	ops := make([]record.Op, 2000)
	for i := range ops {
		ops[i] = seed.op(sp.ID, i)
	}
	e.commit(ops...)

	a := e.connect("ana", atok)
	op := a.op(sp.ID, "notes", map[string]any{"text": "pushed while catching up"})
	ack, before := a.ack(a.push(op))
	if len(ack.Results) != 1 || ack.Results[0].Seq != uint64(len(ops))+1 {
		t.Fatalf("ack %+v, want the op at seq %d", ack.Results, len(ops)+1)
	}
	if at := a.at(sp.ID); at < ack.Results[0].Seq {
		t.Errorf("ack arrived with the client at seq %d, before the op's seq %d (%d frames before it)", at, ack.Results[0].Seq, len(before))
	}
	if a.rec(op.Key()) == nil {
		t.Error("ack arrived before the changes carrying the op")
	}
	if len(a.got) != len(ops)+1 {
		t.Errorf("%d records before the ack, want %d", len(a.got), len(ops)+1)
	}
}
