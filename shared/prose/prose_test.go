package prose

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestMergeExamples(t *testing.T) {
	base := "Ana reads every night with her sister for ten minutes."
	for _, c := range []struct {
		name, ours, theirs, want string
		conflict                 bool
	}{
		{"different words", "Ana reads every evening with her sister for ten minutes.",
			"Ana reads every night with her brother for ten minutes.",
			"Ana reads every evening with her brother for ten minutes.", false},
		{"insert and delete far apart", "Ana reads aloud every night with her sister for ten minutes.",
			"Ana reads every night with her sister.", "Ana reads aloud every night with her sister.", false},
		{"same word", "Ana reads every evening with her sister for ten minutes.",
			"Ana reads every morning with her sister for ten minutes.", "", true},
		{"same gap", "Ana reads every night with her sister for ten quiet minutes.",
			"Ana reads every night with her sister for ten short minutes.", "", true},
		{"same edit twice", "Ana reads every evening with her sister for ten minutes.",
			"Ana reads every evening with her sister for ten minutes.", "Ana reads every evening with her sister for ten minutes.", false},
		{"same edit and another", "Ana reads every evening with her sister for ten minutes!",
			"Ana reads every evening with her sister for twenty minutes.", "Ana reads every evening with her sister for twenty minutes!", false},
		{"accents", "Ana lee cada noche con su hermana diez minutos, está feliz.",
			"Ana lee cada noche con su hermano diez minutos.", "", false},
	} {
		b := base
		if c.name == "accents" {
			b = "Ana lee cada noche con su hermana diez minutos."
			c.want = "Ana lee cada noche con su hermano diez minutos, está feliz."
		}
		for _, swap := range []bool{false, true} {
			o, th := c.ours, c.theirs
			if swap {
				o, th = th, o
			}
			got, err := Merge(b, o, th)
			if c.conflict {
				if !errors.Is(err, ErrConflict) {
					t.Errorf("%s (swap %v): got %q, %v; want a conflict", c.name, swap, got, err)
				}
				continue
			}
			if err != nil || got != c.want {
				t.Errorf("%s (swap %v): got %q, %v; want %q", c.name, swap, got, err, c.want)
			}
		}
	}
}

func FuzzMerge(f *testing.F) {
	f.Add("a b c", "a x c", "a b y")
	f.Fuzz(func(t *testing.T, b, x, y string) {
		m1, e1 := Merge(b, x, y)
		m2, e2 := Merge(b, y, x)
		if (e1 == nil) != (e2 == nil) || m1 != m2 {
			t.Fatalf("Merge(%q, %q, %q) = %q, %v; swapped %q, %v", b, x, y, m1, e1, m2, e2)
		}
	})
}

var vocab = strings.Fields("lee cada noche con su hermana diez minutos reads every night with her sister ten minutes está feliz practica sumas en casa")

func randomText(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = vocab[r.IntN(len(vocab))]
	}
	return strings.Join(w, " ")
}

// edit is one person's change to word slots of a base of distinct words:
// slot i is replaced, removed, or gets a word inserted before it.
type edit struct {
	slot int
	kind int // 0 replace, 1 delete, 2 insert before
	word string
}

func applyEdits(words []string, edits []edit) string {
	var out []string
	for i, w := range words {
		e := slices.IndexFunc(edits, func(e edit) bool { return e.slot == i })
		if e < 0 {
			out = append(out, w)
			continue
		}
		switch edits[e].kind {
		case 0:
			out = append(out, edits[e].word)
		case 1:
		case 2:
			out = append(out, edits[e].word, w)
		}
	}
	return strings.Join(out, " ")
}

// TestMergeProperty: two (or three) people edit different words of a text
// offline; whichever reaches the server first, the merge keeps every word
// each inserted, drops every word each deleted, and is the same text; when
// they edit the same word differently, neither version is lost (Merge
// refuses and the record keeps a conflict, see shared/record).
func TestMergeProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 5))
	fresh := 0
	word := func() string { fresh++; return fmt.Sprintf("nuevo%d", fresh) }
	for iter := range 500 {
		n := 12 + r.IntN(60)
		words := make([]string, n)
		for i := range words {
			words[i] = fmt.Sprintf("w%d", i)
		}
		base := strings.Join(words, " ")
		// Slots are dealt to people with at least one untouched word
		// between any two people's slots, so the edits do not overlap.
		people := 2 + iter%2
		perm := r.Perm(n)
		taken := map[int]int{}
		edits := make([][]edit, people)
		for _, s := range perm {
			p := r.IntN(people)
			if len(edits[p]) >= 4 {
				continue
			}
			ok := true
			for d := -1; d <= 1; d++ {
				if o, t := taken[s+d]; t && o != p {
					ok = false
				}
			}
			if _, t := taken[s]; t || !ok {
				continue
			}
			taken[s] = p
			edits[p] = append(edits[p], edit{slot: s, kind: r.IntN(3), word: word()})
		}
		texts := make([]string, people)
		for p := range texts {
			texts[p] = applyEdits(words, edits[p])
		}
		// Every arrival order gives the same text.
		var results []string
		for _, order := range orders(people) {
			merged := texts[order[0]]
			for _, p := range order[1:] {
				m, err := Merge(base, merged, texts[p])
				if err != nil {
					t.Fatalf("iter %d: non-overlapping edits %v did not merge: %v\nbase %q\nmerged so far %q\nnext %q", iter, edits, err, base, merged, texts[p])
				}
				merged = m
			}
			results = append(results, merged)
		}
		for _, m := range results[1:] {
			if m != results[0] {
				t.Fatalf("iter %d: order changed the merge:\n%q\n%q", iter, results[0], m)
			}
		}
		got := strings.Fields(results[0])
		for _, es := range edits {
			for _, e := range es {
				if e.kind != 1 && !slices.Contains(got, e.word) {
					t.Fatalf("iter %d: inserted word %q lost: %q", iter, e.word, results[0])
				}
				if e.kind != 2 && slices.Contains(got, words[e.slot]) {
					t.Fatalf("iter %d: replaced or deleted word %q still there: %q", iter, words[e.slot], results[0])
				}
			}
		}
		// Overlap: a second person changes one of the first person's
		// words another way; neither merge order may pick one silently.
		if len(edits[0]) > 0 && edits[0][0].kind == 0 {
			other := slices.Clone(edits[0])
			other[0].word = word()
			a, b := texts[0], applyEdits(words, other)
			if _, err := Merge(base, a, b); !errors.Is(err, ErrConflict) {
				t.Fatalf("iter %d: overlapping edits merged: %q / %q", iter, a, b)
			}
			if _, err := Merge(base, b, a); !errors.Is(err, ErrConflict) {
				t.Fatalf("iter %d: overlapping edits merged (swapped)", iter)
			}
		}
	}
}

func orders(n int) [][]int {
	if n == 2 {
		return [][]int{{0, 1}, {1, 0}}
	}
	return [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
}

// The merge of two long, entirely different texts stays cheap.
func TestMergeWorstCaseBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a, b, c := randomText(r, 1500), randomText(r, 1500), randomText(r, 1500)
	if _, err := Merge(a, b, c); err == nil {
		t.Log("merged")
	}
	long := strings.Repeat("x ", MaxTokens)
	if _, err := Merge(long, long+"y", "z"+long); !errors.Is(err, ErrTooLong) {
		t.Errorf("a text over MaxTokens merged: %v", err)
	}
}
