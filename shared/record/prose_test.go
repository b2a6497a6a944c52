package record

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/uuid"
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

// TestProseMergeProperty: replicas of a record, each applying the same
// concurrent prose edits (all from one base) in a different arrival order,
// end with the same text, holding every word each edit inserted and no
// conflict, when the edits touch different words; when two edits change
// the same word differently, every order keeps both versions.
func TestProseMergeProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 13))
	nodes := []uuid.UUID{nodeA, nodeB, userA}
	for iter := range 300 {
		n := 10 + r.IntN(40)
		words := make([]string, n)
		for i := range words {
			words[i] = fmt.Sprintf("w%d", i)
		}
		base := strings.Join(words, " ")
		r0, _ := mustApply(t, nil, op(nodeA, userA, t0, w("description", base, noBase)))
		bref := ref(r0, "description")
		people := 2 + iter%2
		// Person p edits slots congruent to p modulo people+1, so every
		// two people's slots have an untouched word between them.
		var ops []*Op
		var inserted []string
		for p := range people {
			edited := slices.Clone(words)
			for s := p; s < n; s += 2 * (people + 1) {
				if r.IntN(2) == 0 {
					word := fmt.Sprintf("p%di%d", p, s)
					edited[s] = word
					inserted = append(inserted, word)
				}
			}
			ops = append(ops, op(nodes[p], userB, t0+hlc.Timestamp(1+r.IntN(100)), pw("description", strings.Join(edited, " "), bref, base)))
		}
		var texts []any
		for _, order := range permutations(people) {
			rec := r0
			for _, i := range order {
				rec = mustApplyR(t, rec, ops[i])
			}
			if rec.HasConflicts() {
				t.Fatalf("iter %d order %v: non-overlapping edits conflicted", iter, order)
			}
			texts = append(texts, rec.Value("description"))
		}
		for _, x := range texts[1:] {
			if x != texts[0] {
				t.Fatalf("iter %d: orders disagree: %q vs %q", iter, texts[0], x)
			}
		}
		got := strings.Fields(texts[0].(string))
		for _, word := range inserted {
			if !slices.Contains(got, word) {
				t.Fatalf("iter %d: inserted %q lost from %q", iter, word, texts[0])
			}
		}
		// Two edits of one word, each its own way: both kept, in every order.
		a := op(nodeA, userA, t0+200, pw("description", strings.Replace(base, "w1 ", "alpha ", 1), bref, base))
		b := op(nodeB, userB, t0+201, pw("description", strings.Replace(base, "w1 ", "beta ", 1), bref, base))
		for _, pair := range [][2]*Op{{a, b}, {b, a}} {
			rec := mustApplyR(t, mustApplyR(t, r0, pair[0]), pair[1])
			f := rec.Fields["description"]
			if len(f.Conflicts) != 1 || f.Value == f.Conflicts[0].Value {
				t.Fatalf("iter %d: overlapping edits not both kept: %+v", iter, f)
			}
		}
	}
}

func permutations(n int) [][]int {
	if n == 2 {
		return [][]int{{0, 1}, {1, 0}}
	}
	return [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
}
