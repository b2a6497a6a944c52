// Package translate is machine translation on the school's own machine:
// an Engine interface and two adapters, Apertium run as local processes
// (the default: a child's plan never leaves the server) and any
// LibreTranslate-compatible HTTP API a district runs itself.
//
// Engines translate one text between two languages given as BCP 47 tags
// ("en", "es-MX"); only the primary language counts. Every engine bounds
// its input (MaxInput) and its time, and refuses what it cannot do with
// ErrUnsupported rather than returning the text unchanged: a translation
// that is really the original would be labelled as one.
//
// Apertium runs as a bounded pool of processes (ApertiumOptions.Procs at
// once, each with a timeout that kills its whole pipeline): a pipeline
// takes a core and its dictionaries' memory while it runs, and a burst of
// notes must not fork one per family on a small school server that is
// also committing everyone's edits. Work past the pool waits a bounded
// time and then fails with ErrBusy; the text is tried again at its next
// change.
package translate

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Errors an engine returns; match them with errors.Is.
var (
	// ErrUnsupported: the engine has no way from this language to that one.
	ErrUnsupported = errors.New("translate: language pair not supported")
	// ErrTooLong: the text is over the engine's input limit.
	ErrTooLong = errors.New("translate: text too long")
	// ErrBusy: every slot stayed taken for the queue wait.
	ErrBusy = errors.New("translate: engine busy")
)

// DefaultMaxInput is the default input limit in bytes: the longest text of
// a plan (a note, 8,000 runes) in any script fits.
const DefaultMaxInput = 32 << 10

// Engine translates texts. Implementations are safe for concurrent use.
type Engine interface {
	// Name is how a translation names its engine ("Apertium").
	Name() string
	// Supports reports whether the engine translates from one language to
	// another.
	Supports(ctx context.Context, from, to string) (bool, error)
	// Translate returns text in language to.
	Translate(ctx context.Context, text, from, to string) (string, error)
}

// base is a tag's primary language, lowercased.
func base(tag string) string {
	b, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(b)
}

func checkInput(text string, limit int) error {
	if len(text) > limit {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(text), limit)
	}
	return nil
}
