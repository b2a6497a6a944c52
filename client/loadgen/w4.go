package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/shared/benchauth"
	"github.com/plansync/plansync/shared/record"
)

// The w4 record and edits (CONTRACT.md, w4).
const (
	w4ID         = "rec-w4"
	w4Title      = "original title"
	w4Status     = "open"
	w4TitleByA   = "title edited by A"
	w4StatusByB  = "status edited by B"
	outcomeBoth  = "both edits kept"
	outcomeBothC = "both edits kept, conflict surfaced"
)

// W4Final is one replica's view of the record at the end.
type W4Final struct {
	Title  string `json:"title"`
	Status string `json:"status"`
	// Conflicts is how many concurrent versions the record's fields hold
	// for a person to choose between.
	Conflicts int `json:"conflicts"`
}

// W4Result is the concurrent offline edits' result.
type W4Result struct {
	Workload         string  `json:"workload"`
	Completed        bool    `json:"completed"`
	Converged        bool    `json:"converged"`
	ConvergeMs       float64 `json:"convergeMs"`
	TitleEditKept    bool    `json:"titleEditKept"`
	StatusEditKept   bool    `json:"statusEditKept"`
	ConflictSurfaced bool    `json:"conflictSurfaced"`
	Outcome          string  `json:"outcome"`
	FinalA           W4Final `json:"finalA"`
	FinalB           W4Final `json:"finalB"`
	Error            string  `json:"error,omitempty"`
}

// w4: clients A and B on disk share rec-w4; offline, A edits the title and
// B the status; back online, both must converge with both edits visible.
// Different fields of one record merge field by field, so no conflict is
// expected; one would be surfaced (ConflictAppeared), never dropped.
func (r *runner) w4(ctx context.Context) (*W4Result, error) {
	res := &W4Result{Workload: W4, Outcome: "did not converge"}
	var engines [2]*client.Engine
	var stores [2]client.Store
	defer func() { r.closeAll(engines[:], stores[:]) }()
	for i, name := range []string{"w4a", "w4b"} {
		e, st, err := r.diskEngine(ctx, name, i, false)
		if err != nil {
			return nil, err
		}
		engines[i], stores[i] = e, st
	}
	a, b := engines[0], engines[1]
	var conflicts [2]<-chan client.Event
	for i, e := range engines {
		ch, unsub := e.Subscribe(eventBuffer)
		defer unsub()
		conflicts[i] = ch
	}

	// The contract's id rec-w4 names the record; the engine gives it a
	// UUIDv7, which this process hands to B directly.
	id, err := a.Create(ctx, benchauth.SpaceID, Collection, map[string]any{"title": w4Title, "status": w4Status})
	if err != nil {
		res.Error = "create " + w4ID + ": " + err.Error()
		return res, nil
	}
	key := keyOf(id)
	if !waitFor(ctx, func() bool { return b.Get(key) != nil }) {
		res.Error = "B never received " + w4ID
		return res, nil
	}
	for _, e := range engines {
		if err := e.WaitSynced(ctx); err != nil {
			res.Error = "initial sync: " + err.Error()
			return res, nil
		}
	}

	if err := r.h.Phase(PhaseOffline); err != nil {
		return nil, err
	}
	for _, e := range engines {
		e.SetOnline(false)
	}
	offline := func() bool {
		return a.State().Status == client.StatusOffline && b.State().Status == client.StatusOffline
	}
	if !waitFor(ctx, offline) {
		res.Error = "engines did not go offline"
		return res, nil
	}
	if err := a.Put(ctx, benchauth.SpaceID, Collection, id, map[string]any{"title": w4TitleByA}); err != nil {
		res.Error = "A's edit: " + err.Error()
		return res, nil
	}
	if err := b.Put(ctx, benchauth.SpaceID, Collection, id, map[string]any{"status": w4StatusByB}); err != nil {
		res.Error = "B's edit: " + err.Error()
		return res, nil
	}
	if err := r.h.Phase(PhaseOnline); err != nil {
		return nil, err
	}

	start := time.Now()
	for _, e := range engines {
		e.SetOnline(true)
	}
	agree := func() bool {
		if a.State().Status != client.StatusSynced || b.State().Status != client.StatusSynced {
			return false
		}
		return finalOf(a.Get(key)) == finalOf(b.Get(key))
	}
	res.Converged = waitFor(ctx, agree)
	res.ConvergeMs = ms(time.Since(start))
	res.FinalA, res.FinalB = finalOf(a.Get(key)), finalOf(b.Get(key))
	for _, ch := range conflicts {
		if drainConflicts(ch) {
			res.ConflictSurfaced = true
		}
	}
	if res.FinalA.Conflicts > 0 || res.FinalB.Conflicts > 0 {
		res.ConflictSurfaced = true
	}
	res.TitleEditKept = res.FinalA.Title == w4TitleByA && res.FinalB.Title == w4TitleByA
	res.StatusEditKept = res.FinalA.Status == w4StatusByB && res.FinalB.Status == w4StatusByB
	switch {
	case !res.Converged:
		res.Error = "replicas did not agree in time"
	case res.TitleEditKept && res.StatusEditKept && !res.ConflictSurfaced:
		res.Outcome = outcomeBoth
	case res.TitleEditKept && res.StatusEditKept:
		res.Outcome = outcomeBothC
	default:
		res.Outcome = fmt.Sprintf("converged; title edit kept %t, status edit kept %t", res.TitleEditKept, res.StatusEditKept)
	}
	res.Completed = res.Converged
	return res, nil
}

// finalOf is a replica's view of the w4 record.
func finalOf(rec *record.Record) W4Final {
	var f W4Final
	if rec == nil {
		return f
	}
	f.Title, _ = rec.Value("title").(string)
	f.Status, _ = rec.Value("status").(string)
	for _, fl := range rec.Fields {
		f.Conflicts += len(fl.Conflicts)
	}
	return f
}

// drainConflicts reads the events queued on ch without waiting and reports
// whether one was a ConflictAppeared. The channel holds at most
// eventBuffer events, so this ends.
func drainConflicts(ch <-chan client.Event) bool {
	found := false
	for range eventBuffer {
		select {
		case ev, ok := <-ch:
			if !ok {
				return found
			}
			if _, ok := ev.(client.ConflictAppeared); ok {
				found = true
			}
		default:
			return found
		}
	}
	return found
}
