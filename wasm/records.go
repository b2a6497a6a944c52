//go:build js && wasm

package main

import (
	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// recordJS is a record as the UI sees it (API.md, "Records"). The reserved
// _deleted field is shown as deleted, and among the fields only while it
// holds a conflict (someone edited the record while another deleted it),
// so that the UI can offer resolve(..., "_deleted", false).
func recordJS(r *record.Record, names map[uuid.UUID]string) map[string]any {
	fields := make(map[string]any, len(r.Fields))
	for name, f := range r.Fields {
		if name == record.DeletedField && len(f.Conflicts) == 0 {
			continue
		}
		fj := versionJS(f.Version, names)
		conflicts := make([]any, len(f.Conflicts))
		for i, c := range f.Conflicts {
			conflicts[i] = versionJS(c, names)
		}
		fj["conflicts"] = conflicts
		fields[name] = fj
	}
	return map[string]any{
		"id":         r.ID.String(),
		"space":      r.Space.String(),
		"collection": r.Collection,
		"deleted":    r.Deleted(),
		"conflicts":  r.HasConflicts(),
		"fields":     fields,
	}
}

func versionJS(v record.Version, names map[uuid.UUID]string) map[string]any {
	out := map[string]any{
		"value":  v.Value,
		"author": v.Author.String(),
		"time":   v.HLC.Millis(),
	}
	if n, ok := names[v.Author]; ok {
		out["authorName"] = n
	}
	return out
}

func spacesJS(sp []protocol.SpaceInfo) []any {
	out := make([]any, len(sp))
	for i, s := range sp {
		members := make([]any, len(s.Members))
		for j, m := range s.Members {
			members[j] = map[string]any{"id": m.ID.String(), "name": m.Name, "role": m.Role}
		}
		out[i] = map[string]any{"id": s.ID.String(), "name": s.Name, "kind": s.Kind, "role": s.Role, "members": members}
	}
	return out
}

func stateJS(st client.SyncState, signedIn bool) map[string]any {
	status := string(st.Status)
	if !signedIn {
		status = statusSignedOut
	}
	return map[string]any{
		"status":    status,
		"pending":   st.Pending,
		"reason":    string(st.Reason),
		"lastError": st.LastError,
		"signedIn":  signedIn,
	}
}

func keyJS(k record.Key) map[string]any {
	return map[string]any{"space": k.Space.String(), "collection": k.Collection, "id": k.ID.String()}
}

// eventJS converts an engine event for subscribers.
func eventJS(ev client.Event, signedIn bool) map[string]any {
	switch ev := ev.(type) {
	case client.RecordChanged:
		m := keyJS(ev.Key)
		m["type"] = "record"
		return m
	case client.ConflictAppeared:
		m := keyJS(ev.Key)
		m["type"], m["field"] = "conflict", ev.Field
		return m
	case client.StateChanged:
		return map[string]any{"type": "state", "state": stateJS(ev.State, signedIn)}
	case client.Rejected:
		m := keyJS(ev.Op.Key())
		m["type"], m["code"], m["message"] = "rejected", string(ev.Code), ev.Message
		m["held"] = ev.Held
		// values carries what the refused edit said, so that the page can
		// keep the person's words after the device has undone the edit.
		fields := make([]any, len(ev.Op.Writes))
		values := make(map[string]any, len(ev.Op.Writes))
		for i, w := range ev.Op.Writes {
			fields[i] = w.Name
			values[w.Name] = w.Value
		}
		m["fields"], m["values"] = fields, values
		return m
	case client.AccessChanged:
		// The page redraws: a removed space leaves the list (its unsent
		// words came just before as rejected events, kept as Not saved).
		return map[string]any{"type": "access", "space": ev.Space.String(), "removed": ev.Removed, "role": ev.Role, "unsaved": ev.Unsaved}
	}
	return nil
}
