// Package prose merges edits of one text that two people made offline from
// the same starting version: a three-way merge against that base, at word
// granularity, so that edits to different words both stand and only edits
// that overlap are left for people to choose between.
//
// It lives in shared/ because the browser (wasm) and the server must compute
// the same merged text from the same three texts: a replica applying an op
// and the server applying it agree byte for byte. So everything here is a
// pure function of its inputs. The diff is the lcs package of
// github.com/aymanbagabas/go-udiff (the Go team's golang.org/x/tools diff,
// Myers' algorithm, kept as a module) run on tokens: it bounds its search
// by a depth, never by time, so every machine finds the same diff. Texts
// above MaxTokens tokens do not merge (they keep a conflict, as before),
// which bounds the work one op can cause.
//
// github.com/sergi/go-diff was the first choice: its package-level regular
// expressions link regexp and every Unicode table into the browser build,
// 853 KB raw and 158 KB brotli, far past the wasm budget.
package prose

import (
	"errors"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff/lcs"
)

// MaxTokens bounds the words, spaces and punctuation marks of each text a
// merge looks at. The longest prose field of the plan schema (8,000
// characters) is about 3,000 tokens; Myers' diff costs up to the product of
// the lengths, so this keeps a hostile op's merge to milliseconds.
const MaxTokens = 4096

// ErrTooLong is returned by Merge when a text has more than MaxTokens
// tokens.
var ErrTooLong = errors.New("prose: text too long to merge")

// ErrConflict is returned by Merge when the two edits touch the same words
// (or the same gap between words) and differ there: people must choose.
var ErrConflict = errors.New("prose: edits overlap")

// tokenize splits s into words, runs of white space, and single ASCII
// punctuation marks and symbols. A word is letters, digits, apostrophes and
// any character beyond ASCII that is not a space, so "está", "3rd" and
// "¿Qué" are one token each: classifying by Unicode category would link
// its tables into the browser build (about 60 KB) for no better merge.
func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		class := classOf(r)
		j := i + n
		if class != other {
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if classOf(r2) != class {
					break
				}
				j += n2
			}
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

const (
	word = iota
	space
	other
)

func classOf(r rune) int {
	switch {
	case unicode.IsSpace(r):
		return space
	case r >= utf8.RuneSelf, r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '\'':
		return word
	}
	return other
}

// hunk replaces base tokens [start, end) with the tokens repl.
type hunk struct {
	start, end int
	repl       []string
}

// hunks diffs base against text (both tokens) into the replaced ranges of
// base, sorted and disjoint: the library's diffs, with their replacements.
func hunks(base, text []string) []hunk {
	diffs := lcs.DiffLines(base, text)
	out := make([]hunk, len(diffs))
	for i, d := range diffs {
		out[i] = hunk{start: d.Start, end: d.End, repl: text[d.ReplStart:d.ReplEnd]}
	}
	return out
}

func (h hunk) equal(o hunk) bool {
	return h.start == o.start && h.end == o.end && slices.Equal(h.repl, o.repl)
}

// Merge merges two edits of base, ours and theirs, and returns the text
// with both. Edits to different words both stand. Two edits that touch the
// same tokens, or meet at the same point (two insertions in one gap, an
// insertion at the edge of a replaced word), are a conflict (ErrConflict)
// unless they are the same edit. The result does not depend on which side
// is ours: Merge(b, x, y) and Merge(b, y, x) agree.
func Merge(base, ours, theirs string) (string, error) {
	if ours == theirs {
		return ours, nil
	}
	if base == ours {
		return theirs, nil
	}
	if base == theirs {
		return ours, nil
	}
	bt, ot, tt := tokenize(base), tokenize(ours), tokenize(theirs)
	if len(bt) > MaxTokens || len(ot) > MaxTokens || len(tt) > MaxTokens {
		return "", ErrTooLong
	}
	x, y := hunks(bt, ot), hunks(bt, tt)

	// Walk both lists (each sorted and disjoint) and interleave them,
	// refusing any pair that touches.
	var all []hunk
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case j == len(y) || i < len(x) && x[i].end < y[j].start:
			all = append(all, x[i])
			i++
		case i == len(x) || y[j].end < x[i].start:
			all = append(all, y[j])
			j++
		case x[i].equal(y[j]):
			all = append(all, x[i])
			i++
			j++
		default:
			return "", ErrConflict
		}
	}
	out := make([]byte, 0, max(0, len(ours)+len(theirs)-len(base)))
	pos := 0
	for _, h := range all {
		for ; pos < h.start; pos++ {
			out = append(out, bt[pos]...)
		}
		for _, tok := range h.repl {
			out = append(out, tok...)
		}
		pos = h.end
	}
	for ; pos < len(bt); pos++ {
		out = append(out, bt[pos]...)
	}
	return string(out), nil
}
