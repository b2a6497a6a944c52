package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// HistoryEntry is one accepted change of a record: who wrote which fields,
// when, and whether it collided with a concurrent edit.
type HistoryEntry struct {
	Seq uint64 `json:"seq"`
	// Time is the author's device clock when they made the change (the
	// op's hybrid logical clock), which is when the person made it even if
	// it reached the server weeks later.
	Time     time.Time      `json:"time"`
	Author   UserJSON       `json:"author"`
	Fields   map[string]any `json:"fields"`
	Conflict bool           `json:"conflict,omitempty"`
}

var errNoRecord = protocol.Errorf(auth.CodeNotFound, "no such record, or you may not read it")

// history answers GET /api/spaces/{space}/records/{collection}/{id}/history
// for members of the space, showing only what the caller's role may read:
// the record as a whole, and each entry as a record of the fields it wrote,
// passed through the same Filter the sync hub uses.
func (a *API) history(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	space, err1 := uuid.Parse(r.PathValue("space"))
	id, err2 := uuid.Parse(r.PathValue("id"))
	collection := r.PathValue("collection")
	if err1 != nil || p.Role(space) == "" {
		a.fail(w, auth.ErrNoSuchSpace)
		return
	}
	if err2 != nil || !record.ValidName(collection) {
		a.fail(w, errNoRecord)
		return
	}
	ctx := r.Context()
	role := p.Role(space)
	sp, err := a.o.Store.Space(ctx, space)
	if err != nil {
		a.fail(w, err)
		return
	}
	key := record.Key{Space: space, Collection: collection, ID: id}
	rec, err := a.o.Store.Record(ctx, key)
	if errors.Is(err, server.ErrNotFound) {
		a.fail(w, errNoRecord)
		return
	} else if err != nil {
		a.fail(w, err)
		return
	}
	if a.o.Rules.Filter(role, sp, rec) == nil {
		a.fail(w, errNoRecord)
		return
	}
	entries, err := a.o.Store.History(ctx, key)
	if err != nil {
		a.fail(w, err)
		return
	}
	names := map[uuid.UUID]string{}
	out := make([]HistoryEntry, 0, len(entries))
	for _, e := range entries {
		view := &record.Record{Format: record.FormatVersion, Space: space, Collection: collection, ID: id, Seq: e.Seq,
			Fields: make(map[string]*record.Field, len(e.Op.Writes))}
		for _, wr := range e.Op.Writes {
			view.Fields[wr.Name] = &record.Field{Version: record.Version{Value: wr.Value, HLC: e.Op.HLC, Node: e.Op.Node, Author: e.Op.Author}}
		}
		view = a.o.Rules.Filter(role, sp, view)
		if view == nil || len(view.Fields) == 0 {
			continue
		}
		name, ok := names[e.Op.Author]
		if !ok {
			if u, err := a.o.Store.User(ctx, e.Op.Author); err == nil {
				name = u.Name
			}
			names[e.Op.Author] = name
		}
		fields := make(map[string]any, len(view.Fields))
		for n, f := range view.Fields {
			fields[n] = f.Value
		}
		out = append(out, HistoryEntry{Seq: e.Seq, Time: e.Op.HLC.Time(), Author: UserJSON{ID: e.Op.Author, Name: name},
			Fields: fields, Conflict: e.Conflict})
	}
	writeJSON(w, http.StatusOK, out)
}
