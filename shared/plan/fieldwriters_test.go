package plan

import (
	"testing"

	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// A note's "urgent" mark sends past a family's quiet hours, so only staff
// may set it: a family writing its own note with it is refused, staff are
// not, and a family's note without it still goes through.
func TestUrgentStaffOnly(t *testing.T) {
	author := uuid.Must(uuid.NewV7())
	note := func(urgent bool) *record.Op {
		op := &record.Op{Collection: "notes", ID: uuid.Must(uuid.NewV7()), Author: author, Writes: []record.Write{
			{Name: "kind", Value: "update"}, {Name: "lang", Value: "en"}, {Name: "text", Value: "hello"}}}
		if urgent {
			op.Writes = append(op.Writes, record.Write{Name: "urgent", Value: true})
		}
		return op
	}
	if f := CheckRole(Student, RoleFamily, note(true), nil); f == nil {
		t.Error("a family set urgent")
	}
	if f := CheckRole(Student, RoleFamily, note(false), nil); f != nil {
		t.Errorf("a family's plain note refused: %s", f.Reason)
	}
	for _, r := range []string{RoleTeacher, RoleSupport, RoleAdmin} {
		if f := CheckRole(Student, r, note(true), nil); f != nil {
			t.Errorf("%s may not set urgent: %s", r, f.Reason)
		}
	}
	c, ok := Lookup(Student, "notes")
	if !ok {
		t.Fatal("no notes")
	}
	if f, ok := c.Field("urgent"); !ok || f.Type != TypeBool {
		t.Error("notes have no boolean urgent field")
	}
	w := FieldWriters(Student)
	w["notes"]["urgent"][0] = "family"
	if MayWriteField(Student, "notes", "urgent", RoleFamily) {
		t.Error("FieldWriters returned the table itself")
	}
}
