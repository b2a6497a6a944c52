package crash

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"

	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// State is what the server durably holds of one space, read from its badger
// folder while no server runs.
type State struct {
	Head    uint64
	Records map[record.Key]*record.Record
	// Logged counts the log entries of each op (HLC and device): an op
	// applied twice has two.
	Logged map[record.Ref]int
	// Entries is the number of log entries found through the records'
	// histories; CheckLog makes it equal Head.
	Entries int
	// Values maps every value written by a logged op to the op.
	Values map[string]record.Ref
	// CheckLog is store.CheckLog's verdict (nil: the log is sound).
	CheckLog error
}

// quiet returns a logger that drops everything: the checks open stores only
// to read them, and their logs would bury the run's own.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// ReadState opens the badger folder dir with server/store (so no server
// may be running on it), reads one space whole and closes it.
func ReadState(ctx context.Context, dir string, space uuid.UUID) (*State, error) {
	st, err := store.Open(dir, store.Options{Logger: quiet()})
	if err != nil {
		return nil, err
	}
	s, err := readState(ctx, st, space)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return s, err
}

func readState(ctx context.Context, st *store.Store, space uuid.UUID) (*State, error) {
	s := &State{Logged: map[record.Ref]int{}, Values: map[string]record.Ref{}}
	var err error
	if s.Head, err = st.Head(ctx, space); err != nil {
		return nil, err
	}
	s.CheckLog = st.CheckLog(ctx, space)
	if s.Records, err = st.AllRecords(ctx, space); err != nil {
		return nil, err
	}
	for key := range s.Records {
		h, err := st.History(ctx, key)
		if err != nil {
			return nil, err
		}
		for _, e := range h {
			ref := record.Ref{HLC: e.Op.HLC, Node: e.Op.Node}
			s.Logged[ref]++
			s.Entries++
			for _, w := range e.Op.Writes {
				if v, ok := w.Value.(string); ok {
					s.Values[v] = ref
				}
			}
		}
	}
	return s, nil
}

// DoubleApplied counts log entries beyond the first of each op.
func (s *State) DoubleApplied() int { return s.Entries - len(s.Logged) }

// Present reports whether an edit the server acknowledged as ack survived:
// its op is in the log, and the record's field holds the op's value
// (visible or among the conflicts) or a value a later logged op of the same
// device wrote over it. Only the edit's own client writes its field, so
// nothing else may legitimately replace the value.
func (s *State) Present(ed Edit, ack Ack) bool {
	if s.Logged[ack.Ref] == 0 {
		return false
	}
	r := s.Records[ed.Key]
	if r == nil || r.Fields[ed.Field] == nil {
		return false
	}
	f := r.Fields[ed.Field]
	for _, v := range append([]record.Version{f.Version}, f.Conflicts...) {
		if v.Ref() == ack.Ref && v.Value == ed.Value {
			return true
		}
		if v.Node == ack.Ref.Node && v.HLC > ack.Ref.HLC && s.Logged[v.Ref()] > 0 {
			return true
		}
	}
	return false
}

// View is what a person sees of a record: each field's visible value
// followed by its conflicting values.
func View(r *record.Record) map[string][]any {
	if r == nil {
		return nil
	}
	out := map[string][]any{}
	for name, f := range r.Fields {
		vals := []any{f.Value}
		for _, c := range f.Conflicts {
			vals = append(vals, c.Value)
		}
		out[name] = vals
	}
	return out
}

// Views returns the views of a set of records by key.
func Views(recs map[record.Key]*record.Record) map[record.Key]map[string][]any {
	out := make(map[record.Key]map[string][]any, len(recs))
	for k, r := range recs {
		out[k] = View(r)
	}
	return out
}

// diffViews describes the first differences between two sets of views.
func diffViews(a, b map[record.Key]map[string][]any) string {
	var d []string
	for k, va := range a {
		if vb, ok := b[k]; !ok {
			d = append(d, fmt.Sprintf("%s only on the first", k.ID))
		} else if !reflect.DeepEqual(va, vb) {
			d = append(d, fmt.Sprintf("%s: %v vs %v", k.ID, va, vb))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s only on the second", k.ID))
		}
	}
	slices.Sort(d)
	if len(d) > 3 {
		d = append(d[:3], fmt.Sprintf("and %d more", len(d)-3))
	}
	return strings.Join(d, "; ")
}

// tally sorts acked edits into present and lost against a server state.
// lost collects (by value) the edits found lost, so that an edit is counted
// once across checks.
func tally(s *State, edits []Edit, acks map[string]Ack, lost map[string]bool) (newLost []Edit) {
	for _, ed := range edits {
		a, ok := acks[ed.Value]
		if !ok || lost[ed.Value] {
			continue
		}
		if !s.Present(ed, a) {
			lost[ed.Value] = true
			newLost = append(newLost, ed)
		}
	}
	return newLost
}
