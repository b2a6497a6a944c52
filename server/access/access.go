// Package access decides, for every op and every record, what each role
// may write and read in a space: a hub.Rules that the sync hub asks for
// every pushed op and every record it sends, and that the HTTP API asks
// for every record it shows. One table, one place.
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
//
// # Roles in a school's space
//
//	collection  family  teacher        support  admin
//	services    R       R              R        R W D
//	events      R       R W, D own     R        R W D
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
//
// "Nobody else has written" means every field's visible version and every
// conflicting version was written by the op's author. Checks that depend on
// a record's current state (own, home) read it before the commit; a
// concurrent change between that read and the commit is not re-checked.
package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Write says which records of a collection a role may create and edit.
type Write int

const (
	WriteNone Write = iota // may not write
	WriteAll               // may create and edit any record
	WriteHome              // only records whose "where" is "home"
	WriteOwn               // may create; edit only records nobody else wrote
)

// Delete says which records of a collection a role may delete.
type Delete int

const (
	DeleteNone Delete = iota
	DeleteOwn         // records nobody else wrote
	DeleteAny
)

// Access is what one role may do in one collection.
type Access struct {
	Read   bool
	Write  Write
	Delete Delete
}

var (
	none    = Access{}
	read    = Access{Read: true}
	rwOwnD  = Access{Read: true, Write: WriteAll, Delete: DeleteOwn}
	rwd     = Access{Read: true, Write: WriteAll, Delete: DeleteAny}
	rHomeD  = Access{Read: true, Write: WriteHome, Delete: DeleteOwn}
	ownOnly = Access{Read: true, Write: WriteOwn, Delete: DeleteOwn}
	ownAnyD = Access{Read: true, Write: WriteOwn, Delete: DeleteAny}
)

// table is the role table of the package doc, by space kind, collection
// and role. A missing entry is none.
var table = map[plan.SpaceKind]map[string]map[server.Role]Access{
	plan.Student: {
		"about":    {server.RoleFamily: rwOwnD, server.RoleTeacher: ownOnly, server.RoleSupport: none, server.RoleAdmin: rwd},
		"goals":    {server.RoleFamily: read, server.RoleTeacher: rwd, server.RoleSupport: read, server.RoleAdmin: rwd},
		"actions":  {server.RoleFamily: rHomeD, server.RoleTeacher: rwd, server.RoleSupport: read, server.RoleAdmin: rwd},
		"checkins": {server.RoleFamily: rHomeD, server.RoleTeacher: rwd, server.RoleSupport: rwOwnD, server.RoleAdmin: rwd},
		"notes":    {server.RoleFamily: ownOnly, server.RoleTeacher: ownOnly, server.RoleSupport: ownOnly, server.RoleAdmin: ownAnyD},
		"meetings": {server.RoleFamily: rwOwnD, server.RoleTeacher: rwd, server.RoleSupport: rwOwnD, server.RoleAdmin: rwd},
		"family":   {server.RoleFamily: rwOwnD, server.RoleTeacher: rwOwnD, server.RoleSupport: read, server.RoleAdmin: rwd},
	},
	plan.School: {
		"services": {server.RoleFamily: read, server.RoleTeacher: read, server.RoleSupport: read, server.RoleAdmin: rwd},
		"events":   {server.RoleFamily: read, server.RoleTeacher: rwOwnD, server.RoleSupport: read, server.RoleAdmin: rwd},
	},
}

// Lookup returns what a role may do in a collection of a kind of space
// (for the UI, and for tests that walk the table).
func Lookup(kind plan.SpaceKind, collection string, role server.Role) Access {
	return table[kind][collection][role]
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

func knownRole(r server.Role) bool {
	switch r {
	case server.RoleAdmin, server.RoleTeacher, server.RoleSupport, server.RoleFamily:
		return true
	}
	return false
}

// who names a role's members in messages.
func who(r server.Role) string {
	switch r {
	case server.RoleFamily:
		return "family members"
	case server.RoleTeacher:
		return "teachers"
	case server.RoleSupport:
		return "support staff"
	case server.RoleAdmin:
		return "admins"
	}
	return "members with role " + string(r)
}

func forbidden(format string, args ...any) *protocol.Error {
	return protocol.Errorf(protocol.CodeForbidden, fmt.Sprintf(format, args...))
}

// CheckOp implements hub.Rules: the role table first, then the plan schema.
func (ru Rules) CheckOp(role server.Role, sp *server.Space, op *record.Op) *protocol.Error {
	if !knownRole(role) {
		return forbidden("%s may not write in this space", who(role))
	}
	kind, typed := sp.Kind.Plan()
	if !typed {
		return hub.CheckSchema(sp, op)
	}
	if _, ok := plan.Lookup(kind, op.Collection); !ok {
		return hub.CheckSchema(sp, op) // unknown collection: the schema says so
	}
	a := Lookup(kind, op.Collection, role)
	var deletes bool
	var data []string
	for _, w := range op.Writes {
		if w.Name == record.DeletedField {
			deletes = true
		} else {
			data = append(data, w.Name)
		}
	}
	slices.Sort(data) // name the same field whatever order the client sent

	if len(data) > 0 && a.Write == WriteNone {
		return forbidden("%s may not change %s (%s.%s)", who(role), op.Collection, op.Collection, data[0])
	}
	if deletes && a.Delete == DeleteNone {
		return forbidden("%s may not delete %s", who(role), op.Collection)
	}
	needRecord := (len(data) > 0 && (a.Write == WriteHome || a.Write == WriteOwn)) ||
		(deletes && a.Delete == DeleteOwn)
	var rec *record.Record
	if needRecord {
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
	if deletes && a.Delete == DeleteOwn && !writtenOnlyBy(rec, op.Author) {
		return forbidden("%s may delete only %s that nobody else has written (%s.%s)", who(role), op.Collection, op.Collection, record.DeletedField)
	}
	if len(data) > 0 {
		switch a.Write {
		case WriteOwn:
			if !writtenOnlyBy(rec, op.Author) {
				return forbidden("%s is changed only by the person who wrote it (%s.%s)", op.Collection, op.Collection, data[0])
			}
		case WriteHome:
			if perr := checkHome(role, rec, op); perr != nil {
				return perr
			}
		}
	}
	return hub.CheckSchema(sp, op)
}

// checkHome lets a write through when the record is (and stays) a home
// one: an existing record's where must be "home", a new record must set
// it, and no write may change it.
func checkHome(role server.Role, rec *record.Record, op *record.Op) *protocol.Error {
	refuse := func() *protocol.Error {
		return forbidden("%s write %s at home only: where must be \"home\" (%s.where)", who(role), op.Collection, op.Collection)
	}
	if rec != nil && rec.Value("where") != "home" {
		return refuse()
	}
	set := false
	for _, w := range op.Writes {
		if w.Name == "where" {
			if w.Value != "home" {
				return refuse()
			}
			set = true
		}
	}
	if rec == nil && !set {
		return refuse()
	}
	return nil
}

// writtenOnlyBy reports whether every version of every field of rec (the
// visible one and any in conflict) was written by author. A record that
// does not exist yet counts as the author's.
func writtenOnlyBy(rec *record.Record, author uuid.UUID) bool {
	if rec == nil {
		return true
	}
	for _, f := range rec.Fields {
		if f.Author != author {
			return false
		}
		for _, c := range f.Conflicts {
			if c.Author != author {
				return false
			}
		}
	}
	return true
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
	if !Lookup(kind, rec.Collection, role).Read {
		return nil
	}
	return rec
}
