package record

import (
	"reflect"
	"testing"

	"github.com/plansync/plansync/shared/wire"
)

func pw(name, v string, base *Ref, baseText string) Write {
	return Write{Name: name, Value: v, Base: base, BaseText: baseText}
}

const proseBase = "Ana reads every night with her sister for ten minutes."

// Two people edit different words of one text offline, each from the same
// version; whichever op the server takes first, the record ends with both
// edits, the same text, and no conflict. The same edits without a base text
// (ops of earlier builds) keep a conflict, as before.
func TestConcurrentProseEditsMerge(t *testing.T) {
	r0, _ := mustApply(t, nil, op(nodeA, userA, t0, w("description", proseBase, noBase)))
	base := ref(r0, "description")
	a := op(nodeA, userA, t0+10, pw("description", "Ana reads every evening with her sister for ten minutes.", base, proseBase))
	b := op(nodeB, userB, t0+5, pw("description", "Ana reads every night with her sister for twenty minutes.", base, proseBase))
	want := "Ana reads every evening with her sister for twenty minutes."
	ab, out1 := mustApply(t, r0, a)
	ab, out2 := mustApply(t, ab, b)
	ba, _ := mustApply(t, r0, b)
	ba, out3 := mustApply(t, ba, a)
	for name, r := range map[string]*Record{"a then b": ab, "b then a": ba} {
		if r.Value("description") != want || r.HasConflicts() {
			t.Errorf("%s: %q, conflicts %v; want %q", name, r.Value("description"), r.Fields["description"].Conflicts, want)
		}
	}
	if out1.Merged || !out2.Merged || !out3.Merged || out2.Conflict {
		t.Errorf("outcomes %+v %+v %+v: want the second op of each order merged", out1, out2, out3)
	}
	// The merged text is the later op's version: an edit still based on
	// the version it replaced is concurrent with it, not an overwrite.
	if got := ab.Fields["description"].Ref(); got != b.ref() {
		t.Errorf("merged version %v, want the merging op's %v", got, b.ref())
	}

	old := *b
	old.Writes = []Write{w("description", b.Writes[0].Value, base)}
	r, out := mustApply(t, mustApplyR(t, r0, a), &old)
	if !out.Conflict || len(r.Fields["description"].Conflicts) != 1 {
		t.Errorf("an op without a base text merged: %+v %v", out, r.Fields["description"])
	}
}

func mustApplyR(t *testing.T, r *Record, o *Op) *Record {
	t.Helper()
	n, _ := mustApply(t, r, o)
	return n
}

// Edits of the same words stay a kept conflict with both versions.
func TestOverlappingProseEditsKeepBoth(t *testing.T) {
	r0, _ := mustApply(t, nil, op(nodeA, userA, t0, w("description", proseBase, noBase)))
	base := ref(r0, "description")
	a := op(nodeA, userA, t0+10, pw("description", "Ana reads every evening with her sister for ten minutes.", base, proseBase))
	b := op(nodeB, userB, t0+5, pw("description", "Ana reads every morning with her sister for ten minutes.", base, proseBase))
	r, out := mustApply(t, mustApplyR(t, r0, a), b)
	f := r.Fields["description"]
	if !out.Conflict || out.Merged || len(f.Conflicts) != 1 {
		t.Fatalf("outcome %+v field %+v", out, f)
	}
	vals := []any{f.Value, f.Conflicts[0].Value}
	if !reflect.DeepEqual(vals, []any{a.Writes[0].Value, b.Writes[0].Value}) {
		t.Errorf("kept %v", vals)
	}
}

// A base text travels under "t" and survives the codec; a decoder that
// does not know "t" (an earlier build's) reads the rest of the write.
func TestBaseTextWire(t *testing.T) {
	o := op(nodeA, userA, t0, pw("description", "new words", &Ref{HLC: t0 - 1, Node: nodeB}, "old words"))
	b, err := wire.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var got Op
	if err := wire.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, o) {
		t.Fatalf("round trip: %+v", got)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := *o
	bad.Writes = []Write{{Name: "description", Value: int64(3), Base: o.Writes[0].Base, BaseText: "x"}}
	if bad.Validate() == nil {
		t.Error("a base text on a number was accepted")
	}
	bad.Writes = []Write{{Name: "description", Value: "x", BaseText: "x"}}
	if bad.Validate() == nil {
		t.Error("a base text without a base was accepted")
	}
}
