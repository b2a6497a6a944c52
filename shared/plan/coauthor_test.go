package plan

import (
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

var (
	famUser     = uuid.MustParse("01900000-0000-7000-8000-0000000000f1")
	teacherUser = uuid.MustParse("01900000-0000-7000-8000-0000000000e1")
	suggID      = uuid.MustParse("01900000-0000-7000-8000-0000000005a1")
)

func suggOp(author uuid.UUID, ts hlc.Timestamp, writes ...record.Write) *record.Op {
	return &record.Op{Space: suggID, Collection: "suggestions", ID: suggID, HLC: ts, Node: author, Author: author, Writes: writes}
}

func wr(name string, v any) record.Write { return record.Write{Name: name, Value: v} }

func applied(t *testing.T, rec *record.Record, op *record.Op) *record.Record {
	t.Helper()
	n, _, err := record.Apply(rec, op)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The role table's suggestion rules: family members and support staff
// suggest; only teachers and admins decide (status and the other decision
// fields), on anyone's suggestion, without rewriting it; a decided
// suggestion is no longer its author's to edit or delete.
func TestSuggestionRoles(t *testing.T) {
	create := suggOp(famUser, 10, wr("kind", "new_goal"), wr("text", "Leer con su hermana"), wr("lang", "es"))
	for _, role := range []string{RoleFamily, RoleSupport, RoleTeacher} {
		if f := CheckRole(Student, role, create, nil); f != nil {
			t.Errorf("%s may not suggest: %v", role, f)
		}
	}
	open := applied(t, nil, create)
	selfAccept := suggOp(famUser, 11, wr("status", "accepted"))
	if CheckRole(Student, RoleFamily, selfAccept, open) == nil {
		t.Error("a family member accepted their own suggestion")
	}
	if CheckRole(Student, RoleSupport, selfAccept, open) == nil {
		t.Error("support staff decided a suggestion")
	}
	born := suggOp(teacherUser, 12, wr("kind", "new_goal"), wr("text", "x"), wr("lang", "en"), wr("status", "accepted"))
	if CheckRole(Student, RoleTeacher, born, nil) == nil {
		t.Error("a suggestion was created already decided")
	}
	decline := suggOp(teacherUser, 13, wr("status", "declined"), wr("decline_reason", "Hablemos en la reunión"), wr("decision_lang", "es"))
	if !NeedsRecord(Student, RoleTeacher, decline) {
		t.Error("deciding must read the record")
	}
	if f := CheckRole(Student, RoleTeacher, decline, open); f != nil {
		t.Errorf("a teacher may not decline: %v", f)
	}
	if f := CheckRole(Student, RoleAdmin, decline, open); f != nil {
		t.Errorf("an admin may not decline: %v", f)
	}
	rewrite := suggOp(teacherUser, 14, wr("text", "The teacher's words"), wr("status", "accepted"))
	if CheckRole(Student, RoleTeacher, rewrite, open) == nil {
		t.Error("a teacher rewrote a family's suggestion")
	}
	// While open, the author edits and deletes it; once decided, neither.
	edit := suggOp(famUser, 15, wr("text", "Leer con su hermana cada noche"))
	del := suggOp(famUser, 16, record.Write{Name: record.DeletedField, Value: true})
	if CheckRole(Student, RoleFamily, edit, open) != nil || CheckRole(Student, RoleFamily, del, open) != nil {
		t.Error("the author may not edit or delete an open suggestion")
	}
	decided := applied(t, open, decline)
	if CheckRole(Student, RoleFamily, edit, decided) == nil || CheckRole(Student, RoleFamily, del, decided) == nil {
		t.Error("the author edited or deleted a decided suggestion")
	}
	if got := DecisionFields(Student, "suggestions"); len(got) == 0 || got[0] != "status" {
		t.Errorf("DecisionFields = %v", got)
	}
}

// Each member's meeting answers are their own record: nobody else edits
// them, so two answers never collide.
func TestMeetingAnswerRoles(t *testing.T) {
	op := &record.Op{Space: suggID, Collection: "meeting_answers", ID: suggID, HLC: 1, Author: famUser,
		Writes: []record.Write{wr("meeting_id", suggID.String())}}
	for _, role := range Roles {
		f := CheckRole(Student, role, op, nil)
		if role == RoleInterpreter {
			// Interpreters write translations only, never the plan's content.
			if f == nil {
				t.Error("an interpreter answered a meeting")
			}
			continue
		}
		if f != nil {
			t.Errorf("%s may not answer: %v", role, f)
		}
	}
	rec := applied(t, nil, op)
	other := *op
	other.Author, other.HLC = teacherUser, 2
	if CheckRole(Student, RoleTeacher, &other, rec) == nil {
		t.Error("a teacher changed a family member's answers")
	}
}

func TestMergesText(t *testing.T) {
	for _, c := range []struct {
		coll, field string
		want        bool
	}{
		{"goals", "description", true}, {"about", "text", true}, {"actions", "what", true},
		{"suggestions", "text", true}, {"family", "best_times", true}, {"events", "description", true},
		{"goals", "target_date", false}, {"goals", "status", false}, {"notes", "author_name", false},
		{"notes", "goal_id", false}, {"services", "name", false}, {"nope", "text", false},
	} {
		if got := MergesTextAnyKind(c.coll, c.field); got != c.want {
			t.Errorf("MergesText(%s.%s) = %v, want %v", c.coll, c.field, got, c.want)
		}
	}
	if MergesText(School, "goals", "description") {
		t.Error("goals merge in a school space")
	}
}
