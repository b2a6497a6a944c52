// Package access decides, for every op and every record, what each role
// may write and read in a space: a hub.Rules that the sync hub asks for
// every pushed op and every record it sends, and that the HTTP API asks
// for every record it shows. One table, one place: it lives in shared/plan
// (plan.CheckRole), so the device refuses before it promises and the page
// shows only the controls the server accepts; this package adds what only
// the server has (the stored record, the space's kind).
//
// # Roles in a student's plan space
//
// R reads; W writes (creates and edits); "home" writes only records whose
// where is "home"; "own" edits only records nobody else has written;
// D deletes any record, "D own" only records nobody else has written.
//
//	collection  family              teacher        support          admin
//	about       R W, D own          R W own, D own -                R W D
//	goals       R                   R W D          R                R W D
//	actions     R W home, D own     R W D          R                R W D
//	checkins    R W home, D own     R W D          R W, D own       R W D
//	notes       R W own, D own      R W own, D own R W own, D own   R W own, D
//	meetings    R W, D own          R W D          R W, D own       R W D
//	family      R W, D own          R W, D own     R                R W D
//	meeting_    R W own, D own      R W own, D own R W own, D own   R W own, D
//	 answers
//	suggestions R W own, D own      R W own, D own R W own, D own   R W own, D,
//	                                + decide                        + decide
//	translations        R           R              R                R D
//	translation_flags   R W own, D own (every role; admin D)
//
// Interpreters read every collection and write translations only: they
// add or replace one (marked human, with their author), never the plan's
// own content. The server writes machine translations itself
// (server/translations), past this table. A translation is read by those
// who may read the text it translates (support staff see no translation
// of an about text); what it translates is fixed by its id
// (plan.TranslationID), so that can never change under a reader.
//
// # Roles in a school's space
//
//	collection  family  teacher        support  admin
//	services    R       R              R        R W D
//	events      R       R W, D own     R        R W D
//
// (Interpreters read both.)
//
// In general spaces (bench, scratch) every member reads and writes
// everything. An unknown role reads and writes nothing.
//
// Why these choices:
//   - A family sees everything in their child's space: there are no
//     staff-only notes, by design, since the plan is written by equal
//     partners. They write the parts that are theirs (about, family,
//     meetings, the notes thread) and the home side of the plan (home
//     actions and home check-ins); goals and school-side actions and
//     check-ins are the school's to write, which the family can discuss
//     in notes and meetings.
//   - The about texts are the family's own words: teachers may add their
//     own (what they see at school) but not rewrite the family's; family
//     members (say, two parents) may edit each other's.
//   - Support staff (counselors, social workers) are granted a space by an
//     admin for a purpose: they read the plan, take part in notes,
//     meetings and check-ins, and read how to reach the family; the
//     family's own portrait of the child (about) was written for the
//     child's teachers and stays with them unless the admin makes the
//     support worker a teacher of the space.
//   - Notes are never edited away: a note is edited only by its author,
//     and every edit stays in the space's log, so the history API shows
//     the earlier text. Nobody but its author (or an admin, moderating)
//     can delete a note, and a delete is a tombstone: the text stays in
//     the log too.
//   - Deleting what someone else wrote is kept to those responsible for
//     the collection (teachers for goals and actions, admins anywhere);
//     everyone may delete what only they wrote.
//   - Suggestions (issue 13) are the family's and support staff's way to
//     propose a goal or a change to one without writing goals: the
//     suggester writes and withdraws their own; "decide" is the right to
//     write a suggestion's decision fields (status, decline_reason, ...;
//     plan.DecisionFields) on anyone's, which teachers and admins have and
//     nobody else, so nobody accepts their own suggestion. A decided
//     suggestion has someone else's writes on it, so its author can no
//     longer edit or delete it: the answer stays readable to both.
//   - Each member's answers to a meeting's proposed times are a record of
//     their own (meeting_answers), so answers never collide offline.
//
// "Nobody else has written" means every field's visible version and every
// conflicting version was written by the op's author. Checks that depend on
// a record's current state (own, home) read it before the commit; a
// concurrent change between that read and the commit is not re-checked.
package access

import (
	"context"
	"errors"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
)

// The role table lives in shared/plan, beside the schema, so the device
// and the page decide with the same table the server enforces. These names
// keep this package's API.
type (
	Write  = plan.Write
	Delete = plan.Delete
	Access = plan.Access
)

const (
	WriteNone  = plan.WriteNone
	WriteAll   = plan.WriteAll
	WriteHome  = plan.WriteHome
	WriteOwn   = plan.WriteOwn
	DeleteNone = plan.DeleteNone
	DeleteOwn  = plan.DeleteOwn
	DeleteAny  = plan.DeleteAny
)

// Lookup returns what a role may do in a collection of a kind of space
// (for the UI, and for tests that walk the table).
func Lookup(kind plan.SpaceKind, collection string, role server.Role) Access {
	return plan.AccessOf(kind, collection, string(role))
}

// recordTimeout bounds the read of a record's current state for a check.
const recordTimeout = 5 * time.Second

// RecordReader reads a record's current state (server.Store does).
type RecordReader interface {
	Record(ctx context.Context, key record.Key) (*record.Record, error)
}

// Rules implements hub.Rules with the role table.
type Rules struct {
	Records RecordReader
}

var _ hub.Rules = Rules{}

func knownRole(r server.Role) bool { return plan.KnownRole(string(r)) }

// CheckOp implements hub.Rules: the role table first, then the plan schema.
func (ru Rules) CheckOp(role server.Role, sp *server.Space, op *record.Op) *protocol.Error {
	if !knownRole(role) {
		return protocol.Errorf(protocol.CodeForbidden, plan.CheckRole("", string(role), op, nil).Reason)
	}
	kind, typed := sp.Kind.Plan()
	if !typed {
		return hub.CheckSchema(sp, op)
	}
	if _, ok := plan.Lookup(kind, op.Collection); !ok {
		return hub.CheckSchema(sp, op) // unknown collection: the schema says so
	}
	var rec *record.Record
	if plan.NeedsRecord(kind, string(role), op) {
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		r, err := ru.Records.Record(ctx, op.Key())
		cancel()
		switch {
		case err == nil:
			rec = r
		case errors.Is(err, server.ErrNotFound):
		default:
			return protocol.Errorf(protocol.CodeUnavailable, "could not check this change right now; it stays on your device and will be sent again")
		}
	}
	if f := plan.CheckRole(kind, string(role), op, rec); f != nil {
		return protocol.Errorf(protocol.CodeForbidden, f.Reason)
	}
	return hub.CheckSchema(sp, op)
}

// Filter implements hub.Rules: a record is shown whole to roles that may
// read its collection and not at all to others.
func (Rules) Filter(role server.Role, sp *server.Space, rec *record.Record) *record.Record {
	if !knownRole(role) {
		return nil
	}
	kind, typed := sp.Kind.Plan()
	if !typed {
		return rec
	}
	if !Lookup(kind, rec.Collection, role).Read || !plan.ReadsTranslation(kind, string(role), rec) {
		return nil
	}
	return rec
}
