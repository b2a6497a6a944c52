package hub

import (
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
)

// Rules decide, for a member of a space, which ops they may commit and how
// records look to them. The hub asks them for every op and every record it
// sends, over sync; any HTTP API asks the same Rules, so there is one rule
// in one place.
type Rules interface {
	// CheckOp returns nil when a member with role may commit op (already
	// shape-validated, Node and Author stamped) in space sp, or a
	// protocol error (CodeForbidden, CodeInvalid) saying why not.
	CheckOp(role server.Role, sp *server.Space, op *record.Op) *protocol.Error
	// Filter returns rec as the member may see it, or nil when they may
	// not see it at all. It must not modify rec.
	Filter(role server.Role, sp *server.Space, rec *record.Record) *record.Record
}

// MembersOnly lets every member read and write everything in their spaces,
// with the plan schema enforced in student and school spaces. Membership
// itself is checked by the hub before Rules are asked.
type MembersOnly struct{}

// CheckOp implements Rules.
func (MembersOnly) CheckOp(_ server.Role, sp *server.Space, op *record.Op) *protocol.Error {
	return CheckSchema(sp, op)
}

// Filter implements Rules.
func (MembersOnly) Filter(_ server.Role, _ *server.Space, rec *record.Record) *record.Record {
	return rec
}

// CheckSchema validates op against the plan schema of the space's kind.
// Spaces of other kinds (general workspaces, the benchmark space) are
// schemaless.
func CheckSchema(sp *server.Space, op *record.Op) *protocol.Error {
	kind, typed := sp.Kind.Plan()
	if !typed {
		return nil
	}
	fields := make(map[string]any, len(op.Writes))
	for _, w := range op.Writes {
		fields[w.Name] = w.Value
		if w.BaseText != "" && !plan.MergesText(kind, op.Collection, w.Name) {
			// Only prose merges word by word: a date or a name merged from
			// two edits would be a value nobody wrote.
			return protocol.Errorf(protocol.CodeInvalid, op.Collection+"."+w.Name+": a base text goes only with prose, which merges word by word")
		}
	}
	if err := plan.ValidateFields(kind, op.Collection, fields); err != nil {
		return protocol.Errorf(protocol.CodeInvalid, err.Error())
	}
	return nil
}
