package record

import (
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/uuid"
)

var (
	space  = uuid.MustParse("01900000-0000-7000-8000-0000000000aa")
	recID  = uuid.MustParse("01900000-0000-7000-8000-0000000000bb")
	nodeA  = uuid.MustParse("01900000-0000-7000-8000-00000000000a")
	nodeB  = uuid.MustParse("01900000-0000-7000-8000-00000000000b")
	userA  = uuid.MustParse("01900000-0000-7000-8000-0000000000a1")
	userB  = uuid.MustParse("01900000-0000-7000-8000-0000000000b1")
	t0     = hlc.New(1_700_000_000_000, 0)
	noBase *Ref
)

func op(node, author uuid.UUID, ts hlc.Timestamp, writes ...Write) *Op {
	return &Op{Space: space, Collection: "goals", ID: recID, HLC: ts, Node: node, Author: author, Writes: writes}
}

func w(name string, v any, base *Ref) Write { return Write{Name: name, Value: v, Base: base} }

func ref(r *Record, field string) *Ref {
	x := r.Fields[field].Ref()
	return &x
}

func mustApply(t *testing.T, r *Record, o *Op) (*Record, Outcome) {
	t.Helper()
	n, out, err := Apply(r, o)
	if err != nil {
		t.Fatal(err)
	}
	return n, out
}

func TestDifferentFieldsBothStand(t *testing.T) {
	r, _ := mustApply(t, nil, op(nodeA, userA, t0, w("title", "Read", noBase), w("status", "open", noBase)))
	base := ref(r, "title")
	sbase := ref(r, "status")
	r, outA := mustApply(t, r, op(nodeA, userA, t0+10, w("title", "Read nightly", base)))
	r, outB := mustApply(t, r, op(nodeB, userB, t0+5, w("status", "met", sbase)))
	if outA.Conflict || outB.Conflict {
		t.Fatal("edits of different fields reported a conflict")
	}
	if r.Value("title") != "Read nightly" || r.Value("status") != "met" {
		t.Fatalf("got title %v status %v", r.Value("title"), r.Value("status"))
	}
}

func TestSameFieldCollisionKeepsBothThenResolves(t *testing.T) {
	r, _ := mustApply(t, nil, op(nodeA, userA, t0, w("title", "Read", noBase)))
	base := ref(r, "title")
	r, _ = mustApply(t, r, op(nodeA, userA, t0+10, w("title", "A's words", base)))
	r, out := mustApply(t, r, op(nodeB, userB, t0+5, w("title", "B's words", base)))
	if !out.Conflict {
		t.Fatal("collision not reported")
	}
	f := r.Fields["title"]
	if f.Value != "A's words" || len(f.Conflicts) != 1 || f.Conflicts[0].Value != "B's words" || f.Conflicts[0].Author != userB {
		t.Fatalf("later HLC must be visible with the other kept: %+v", f)
	}
	// the write arriving later but with the later clock wins visibility
	r2, _ := mustApply(t, nil, op(nodeA, userA, t0, w("title", "Read", noBase)))
	r2, _ = mustApply(t, r2, op(nodeB, userB, t0+5, w("title", "B's words", base)))
	r2, _ = mustApply(t, r2, op(nodeA, userA, t0+10, w("title", "A's words", base)))
	if r2.Value("title") != "A's words" || r2.Fields["title"].Conflicts[0].Value != "B's words" {
		t.Fatalf("arrival order changed the outcome: %+v", r2.Fields["title"])
	}
	// a write that saw both resolves
	seen := *ref(r, "title")
	res := Write{Name: "title", Value: "Both: read nightly", Base: &seen, Resolves: []Ref{f.Conflicts[0].Ref()}}
	r, out = mustApply(t, r, op(nodeB, userB, t0+20, res))
	if out.Conflict || len(r.Fields["title"].Conflicts) != 0 || r.Value("title") != "Both: read nightly" {
		t.Fatalf("resolve did not clear: %+v", r.Fields["title"])
	}
}

func TestResolveKeepsConflictsTheWriterDidNotSee(t *testing.T) {
	r, _ := mustApply(t, nil, op(nodeA, userA, t0, w("t", "x", noBase)))
	base := ref(r, "t")
	r, _ = mustApply(t, r, op(nodeA, userA, t0+10, w("t", "a", base)))
	r, _ = mustApply(t, r, op(nodeB, userB, t0+5, w("t", "b", base)))
	visible := *ref(r, "t")
	seenConflict := r.Fields["t"].Conflicts[0].Ref()
	nodeC := uuid.MustParse("01900000-0000-7000-8000-00000000000c")
	r, _ = mustApply(t, r, op(nodeC, userB, t0+7, w("t", "c", base))) // arrives after the resolver read
	r, _ = mustApply(t, r, op(nodeB, userB, t0+30, Write{Name: "t", Value: "ab", Base: &visible, Resolves: []Ref{seenConflict}}))
	f := r.Fields["t"]
	if f.Value != "ab" || len(f.Conflicts) != 1 || f.Conflicts[0].Value != "c" {
		t.Fatalf("unseen conflict lost: %+v", f)
	}
}

func TestReapplyIsNoop(t *testing.T) {
	o1 := op(nodeA, userA, t0, w("t", "x", noBase))
	r, _ := mustApply(t, nil, o1)
	o2 := op(nodeB, userB, t0+5, w("t", "y", ref(r, "t")))
	r, _ = mustApply(t, r, o2)
	for _, o := range []*Op{o1, o2} {
		again, out := mustApply(t, r, o)
		if out.Changed || again != r {
			t.Fatalf("re-applying %v changed the record", o.HLC)
		}
	}
	if len(r.Fields["t"].Conflicts) != 0 {
		t.Fatal("retransmit resurrected a replaced value")
	}
}

func TestDeleteNeverSwallowsConcurrentEdit(t *testing.T) {
	r, _ := mustApply(t, nil, op(nodeA, userA, t0, w("t", "x", noBase), w("s", "open", noBase)))
	seen := []Ref{r.Fields["t"].Ref(), r.Fields["s"].Ref()}
	edit := op(nodeB, userB, t0+5, w("t", "edited offline", ref(r, "t")))
	del := op(nodeA, userA, t0+10, w(DeletedField, true, noBase))
	del.Seen = seen

	// edit first, then the delete that did not see it
	r1, _ := mustApply(t, r, edit)
	r1, out := mustApply(t, r1, del)
	// delete first, then the edit made without seeing it
	r2, _ := mustApply(t, r, del)
	r2, out2 := mustApply(t, r2, edit)
	for i, x := range []*Record{r1, r2} {
		if !x.Deleted() || x.Value("t") != "edited offline" {
			t.Fatalf("order %d: want deleted with the edit kept, got %+v", i, x.Fields)
		}
		c := x.Fields[DeletedField].Conflicts
		if len(c) != 1 || c[0].Author != userB || c[0].Value != false {
			t.Fatalf("order %d: concurrent edit not surfaced on the delete: %+v", i, c)
		}
	}
	if !out.Conflict || !out2.Conflict {
		t.Fatal("conflict not reported")
	}
	// a delete that saw everything is clean
	r3, out3 := mustApply(t, r, del)
	if out3.Conflict || len(r3.Fields[DeletedField].Conflicts) != 0 {
		t.Fatal("clean delete reported a conflict")
	}
}

func TestConflictLimit(t *testing.T) {
	r, _ := mustApply(t, nil, op(nodeA, userA, t0, w("t", "x", noBase)))
	for i := 0; i < MaxConflicts; i++ {
		n := uuid.New()
		r, _ = mustApply(t, r, op(n, userB, t0+hlc.Timestamp(i+1), w("t", i, noBase)))
	}
	if _, _, err := Apply(r, op(uuid.New(), userB, t0+1000, w("t", "one more", noBase))); err != ErrTooManyConflicts {
		t.Fatalf("got %v", err)
	}
}

func TestValidate(t *testing.T) {
	good := func() *Op { return op(nodeA, userA, t0, w("title", int8(5), noBase)) }
	o := good()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, ok := o.Writes[0].Value.(int64); !ok {
		t.Fatalf("int8 not normalized: %T", o.Writes[0].Value)
	}
	bad := map[string]func(o *Op){
		"no space":       func(o *Op) { o.Space = uuid.Nil },
		"v4 id":          func(o *Op) { o.ID = uuid.New() },
		"no clock":       func(o *Op) { o.HLC = 0 },
		"no writes":      func(o *Op) { o.Writes = nil },
		"bad collection": func(o *Op) { o.Collection = "Goals!" },
		"bad field":      func(o *Op) { o.Writes[0].Name = "9lives" },
		"dup field":      func(o *Op) { o.Writes = append(o.Writes, o.Writes[0]) },
		"bad utf8":       func(o *Op) { o.Writes[0].Value = "\xff\xfe" },
		"huge":           func(o *Op) { o.Writes[0].Value = string(make([]byte, MaxValueBytes+1)) },
		"deep":           func(o *Op) { o.Writes[0].Value = []any{[]any{[]any{[]any{[]any{"x"}}}}} },
		"weird type":     func(o *Op) { o.Writes[0].Value = struct{}{} },
		"non-string key": func(o *Op) { o.Writes[0].Value = map[any]any{1: 2} },
	}
	for name, mut := range bad {
		o := good()
		mut(o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
