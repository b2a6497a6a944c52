package plan

import (
	"fmt"
	"slices"

	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Roles of a member in a space: the role table below says what each may do.
// The server stores them as server.Role with the same strings.
const (
	RoleAdmin   = "admin"
	RoleTeacher = "teacher"
	RoleSupport = "support"
	RoleFamily  = "family"
	// RoleInterpreter reads the spaces assigned to it and writes
	// translations of their texts (marked human, with its author), never
	// the plan's own content.
	RoleInterpreter = "interpreter"
)

// Roles lists the roles the table knows, in the order screens show them.
var Roles = []string{RoleFamily, RoleTeacher, RoleSupport, RoleAdmin, RoleInterpreter}

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
	// Decide lets the role write the collection's decision fields
	// (DecisionFields) on any record, whatever Write says: a teacher
	// accepts or declines a family's suggestion without being able to
	// rewrite it. Roles without it may not write those fields at all.
	Decide bool
}

var (
	none    = Access{}
	read    = Access{Read: true}
	rwOwnD  = Access{Read: true, Write: WriteAll, Delete: DeleteOwn}
	rwd     = Access{Read: true, Write: WriteAll, Delete: DeleteAny}
	rw      = Access{Read: true, Write: WriteAll}
	readD   = Access{Read: true, Delete: DeleteAny}
	rHomeD  = Access{Read: true, Write: WriteHome, Delete: DeleteOwn}
	ownOnly = Access{Read: true, Write: WriteOwn, Delete: DeleteOwn}
	ownAnyD = Access{Read: true, Write: WriteOwn, Delete: DeleteAny}
	// suggest writes its own suggestions and deletes them while nobody
	// else has written them (so not once decided); decide also answers
	// anyone's.
	suggest   = Access{Read: true, Write: WriteOwn, Delete: DeleteOwn}
	decide    = Access{Read: true, Write: WriteOwn, Delete: DeleteOwn, Decide: true}
	decideAny = Access{Read: true, Write: WriteOwn, Delete: DeleteAny, Decide: true}
)

// decisionFields are the fields of a collection that record a decision
// about a record someone else wrote; only roles with Access.Decide write
// them. A suggestion's status says whether it was accepted, so its author
// cannot mark it accepted themselves.
var decisionFields = map[SpaceKind]map[string][]string{
	Student: {"suggestions": {"status", "decline_reason", "decision_lang", "accepted_goal_id", "decided_by_name", "decided_at"}},
}

// DecisionFields returns the decision fields of a collection (a copy).
func DecisionFields(kind SpaceKind, collection string) []string {
	return slices.Clone(decisionFields[kind][collection])
}

// roleTable is the role table (its reasons are in server/access's package
// doc), by space kind, collection and role; a missing entry is none. It
// lives here, beside the schema, because the device must refuse what the
// server will refuse before it says "saved", and the screens show only
// the controls the server will accept: one table, read by the server, the
// wasm client and (generated as web/app/roles.js) the page.
var roleTable = map[SpaceKind]map[string]map[string]Access{
	Student: {
		"about":    {RoleFamily: rwOwnD, RoleTeacher: ownOnly, RoleSupport: none, RoleAdmin: rwd, RoleInterpreter: read},
		"goals":    {RoleFamily: read, RoleTeacher: rwd, RoleSupport: read, RoleAdmin: rwd, RoleInterpreter: read},
		"actions":  {RoleFamily: rHomeD, RoleTeacher: rwd, RoleSupport: read, RoleAdmin: rwd, RoleInterpreter: read},
		"checkins": {RoleFamily: rHomeD, RoleTeacher: rwd, RoleSupport: rwOwnD, RoleAdmin: rwd, RoleInterpreter: read},
		"notes":    {RoleFamily: ownOnly, RoleTeacher: ownOnly, RoleSupport: ownOnly, RoleAdmin: ownAnyD, RoleInterpreter: read},
		"meetings": {RoleFamily: rwOwnD, RoleTeacher: rwd, RoleSupport: rwOwnD, RoleAdmin: rwd, RoleInterpreter: read},
		"family":   {RoleFamily: rwOwnD, RoleTeacher: rwOwnD, RoleSupport: read, RoleAdmin: rwd, RoleInterpreter: read},
		// The server writes machine translations itself (it commits past
		// this table); interpreters add or replace them, marked human
		// (checkTranslation). A wrong one is replaced, not deleted; admins
		// may delete any record (moderation).
		Translations: {RoleFamily: read, RoleTeacher: read, RoleSupport: read, RoleAdmin: readD, RoleInterpreter: rw},
		// Any reader may say "this translation is wrong".
		TranslationFlags: {RoleFamily: ownOnly, RoleTeacher: ownOnly, RoleSupport: ownOnly, RoleAdmin: ownAnyD, RoleInterpreter: ownOnly},
		// Added with issue 13.
		"meeting_answers": {RoleFamily: ownOnly, RoleTeacher: ownOnly, RoleSupport: ownOnly, RoleAdmin: ownAnyD, RoleInterpreter: read},
		"suggestions":     {RoleFamily: suggest, RoleTeacher: decide, RoleSupport: suggest, RoleAdmin: decideAny, RoleInterpreter: read},
	},
	School: {
		"services": {RoleFamily: read, RoleTeacher: read, RoleSupport: read, RoleAdmin: rwd, RoleInterpreter: read},
		"events":   {RoleFamily: read, RoleTeacher: rwOwnD, RoleSupport: read, RoleAdmin: rwd, RoleInterpreter: read},
	},
}

// fieldWriters narrows the table for single fields: only the roles listed
// may write them, whatever the collection's row allows. A note's
// "urgent" is the school's to set, because it sends past a family's quiet
// hours and digest.
var fieldWriters = map[SpaceKind]map[string]map[string][]string{
	Student: {"notes": {"urgent": {RoleTeacher, RoleSupport, RoleAdmin}}},
}

// FieldWriters returns the roles that may write each narrowed field of a
// kind of space, by collection and field (a copy, for the generated page
// table).
func FieldWriters(kind SpaceKind) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for c, row := range fieldWriters[kind] {
		out[c] = map[string][]string{}
		for f, roles := range row {
			out[c][f] = slices.Clone(roles)
		}
	}
	return out
}

// MayWriteField reports whether role may write field of collection, as
// far as fieldWriters is concerned (the collection's row still decides).
func MayWriteField(kind SpaceKind, collection, field, role string) bool {
	roles, ok := fieldWriters[kind][collection][field]
	return !ok || slices.Contains(roles, role)
}

// AccessOf returns what a role may do in a collection of a kind of space.
func AccessOf(kind SpaceKind, collection, role string) Access {
	return roleTable[kind][collection][role]
}

// RoleTable returns the table's rows for a kind of space, by collection
// and role (a copy: for tests and the generated page table).
func RoleTable(kind SpaceKind) map[string]map[string]Access {
	out := map[string]map[string]Access{}
	for c, row := range roleTable[kind] {
		out[c] = map[string]Access{}
		for r, a := range row {
			out[c][r] = a
		}
	}
	return out
}

// KnownRole reports whether the table has decisions for role.
func KnownRole(role string) bool { return slices.Contains(Roles, role) }

// Forbidden is a refusal by the role table, worded for the person refused.
type Forbidden struct{ Reason string }

func (f *Forbidden) Error() string { return f.Reason }

func forbidden(format string, args ...any) *Forbidden {
	return &Forbidden{Reason: fmt.Sprintf(format, args...)}
}

// who names a role's members in messages.
func who(r string) string {
	switch r {
	case RoleFamily:
		return "family members"
	case RoleTeacher:
		return "teachers"
	case RoleSupport:
		return "support staff"
	case RoleAdmin:
		return "admins"
	case RoleInterpreter:
		return "interpreters"
	}
	return "members with role " + r
}

// NeedsRecord reports whether CheckRole must see the record's current
// state to decide op (an own or home rule applies).
func NeedsRecord(kind SpaceKind, role string, op *record.Op) bool {
	a := AccessOf(kind, op.Collection, role)
	deletes, data := splitWrites(op)
	decision, data := splitDecisions(kind, op.Collection, data)
	return (len(data) > 0 && (a.Write == WriteHome || a.Write == WriteOwn)) ||
		(deletes && a.Delete == DeleteOwn) || len(decision) > 0
}

// splitDecisions separates the decision fields among data (sorted) from
// the rest.
func splitDecisions(kind SpaceKind, collection string, data []string) (decision, rest []string) {
	dec := decisionFields[kind][collection]
	if len(dec) == 0 {
		return nil, data
	}
	for _, name := range data {
		if slices.Contains(dec, name) {
			decision = append(decision, name)
		} else {
			rest = append(rest, name)
		}
	}
	return decision, rest
}

// CheckRole decides whether a member with role may apply op, authored by
// op.Author, to rec (the record's current state, nil when it does not exist
// yet; it matters only when NeedsRecord says so). It returns a *Forbidden,
// or nil. The server calls it for every pushed op; a device calls it
// before it promises anything, with the record it holds.
func CheckRole(kind SpaceKind, role string, op *record.Op, rec *record.Record) *Forbidden {
	if !KnownRole(role) {
		return forbidden("%s may not write in this space", who(role))
	}
	a := AccessOf(kind, op.Collection, role)
	deletes, data := splitWrites(op)
	decision, rest := splitDecisions(kind, op.Collection, data)
	if len(decision) > 0 && !a.Decide {
		return forbidden("%s may not decide on %s (%s.%s)", who(role), op.Collection, op.Collection, decision[0])
	}
	if len(decision) > 0 && rec == nil {
		return forbidden("%s are decided only once written (%s.%s)", op.Collection, op.Collection, decision[0])
	}
	data = rest
	if len(data) > 0 && a.Write == WriteNone {
		return forbidden("%s may not change %s (%s.%s)", who(role), op.Collection, op.Collection, data[0])
	}
	if deletes && a.Delete == DeleteNone {
		return forbidden("%s may not delete %s", who(role), op.Collection)
	}
	if deletes && a.Delete == DeleteOwn && !WrittenOnlyBy(rec, op.Author) {
		return forbidden("%s may delete only %s that nobody else has written (%s.%s)", who(role), op.Collection, op.Collection, record.DeletedField)
	}
	if op.Collection == Translations && len(data) > 0 {
		if f := checkTranslation(op); f != nil {
			return f
		}
	}
	for _, f := range data {
		if !MayWriteField(kind, op.Collection, f, role) {
			return forbidden("%s may not set %s of %s (%s.%s)", who(role), f, op.Collection, op.Collection, f)
		}
	}
	if len(data) > 0 {
		switch a.Write {
		case WriteOwn:
			if !WrittenOnlyBy(rec, op.Author) {
				return forbidden("%s is changed only by the person who wrote it (%s.%s)", op.Collection, op.Collection, data[0])
			}
		case WriteHome:
			if f := checkHome(role, rec, op); f != nil {
				return f
			}
		}
	}
	return nil
}

// splitWrites says whether op deletes and names the data fields it
// writes, sorted, so a message names the same field whatever order the
// client sent.
func splitWrites(op *record.Op) (deletes bool, data []string) {
	for _, w := range op.Writes {
		if w.Name == record.DeletedField {
			deletes = true
		} else {
			data = append(data, w.Name)
		}
	}
	slices.Sort(data)
	return deletes, data
}

// checkHome lets a write through when the record is (and stays) a home
// one: an existing record's where must be "home", a new record must set
// it, and no write may change it.
func checkHome(role string, rec *record.Record, op *record.Op) *Forbidden {
	refuse := func() *Forbidden {
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

// WrittenOnlyBy reports whether every version of every field of rec (the
// visible one and any in conflict) was written by author. A record that
// does not exist yet counts as the author's.
func WrittenOnlyBy(rec *record.Record, author uuid.UUID) bool {
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
