package access_test

import (
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// fixture is a running server with a few records written by the right
// people, and a socket for each role.
type fixture struct {
	e                               *apitest.Env
	family, teacher, support, admin *apitest.Sock
	goal, schoolAction, homeAction  uuid.UUID
	teacherNote, familyNote         uuid.UUID
	familyAbout, service            uuid.UUID
}

func setup(t *testing.T) *fixture {
	e := apitest.Start(t, nil)
	f := &fixture{e: e, goal: apitest.NewID(), schoolAction: apitest.NewID(), homeAction: apitest.NewID(),
		teacherNote: apitest.NewID(), familyNote: apitest.NewID(), familyAbout: apitest.NewID(), service: apitest.NewID()}
	f.family = e.MustDial(e.Family.Token)
	f.teacher = e.MustDial(e.Teacher.Token)
	f.support = e.MustDial(e.Support.Token)
	f.admin = e.MustDial(e.Admin.Token)
	ana := e.Ana.ID
	ok := func(s *apitest.Sock, op record.Op) {
		t.Helper()
		if r := s.PushOne(op); r.Code != "" {
			t.Fatalf("setup op %s refused: %s", op.Collection, apitest.String(r))
		}
	}
	ok(f.teacher, f.teacher.Op(ana, "goals", f.goal, map[string]any{"area": "reading", "description": "Read aloud", "description_lang": "en"}))
	ok(f.teacher, f.teacher.Op(ana, "actions", f.schoolAction, map[string]any{"goal_id": f.goal.String(), "where": "school", "what": "Paired reading", "lang": "en"}))
	ok(f.teacher, f.teacher.Op(ana, "actions", f.homeAction, map[string]any{"goal_id": f.goal.String(), "where": "home", "what": "Read at bedtime", "lang": "en"}))
	ok(f.teacher, f.teacher.Op(ana, "notes", f.teacherNote, map[string]any{"kind": "praise", "text": "Great reading today", "lang": "en"}))
	ok(f.family, f.family.Op(ana, "notes", f.familyNote, map[string]any{"kind": "question", "text": "¿Qué libro lee?", "lang": "es"}))
	ok(f.family, f.family.Op(ana, "about", f.familyAbout, map[string]any{"kind": "strengths", "text": "Le encanta dibujar", "lang": "es"}))
	ok(f.admin, f.admin.Op(e.School.ID, "services", f.service, map[string]any{"name": "Counselor", "kind": "counselor"}))
	return f
}

type opCase struct {
	name string
	sock func(f *fixture) *apitest.Sock
	op   func(f *fixture, s *apitest.Sock) record.Op
	code protocol.Code
	// mention must appear in a refusal's message (the collection.field).
	mention string
}

func write(space func(f *fixture) uuid.UUID, coll string, id func(f *fixture) uuid.UUID, fields map[string]any) func(f *fixture, s *apitest.Sock) record.Op {
	return func(f *fixture, s *apitest.Sock) record.Op {
		rid := apitest.NewID()
		if id != nil {
			rid = id(f)
		}
		fs := map[string]any{}
		for k, v := range fields {
			if v == "$goal" {
				v = f.goal.String()
			}
			fs[k] = v
		}
		return s.Op(space(f), coll, rid, fs)
	}
}

func ana(f *fixture) uuid.UUID    { return f.e.Ana.ID }
func sam(f *fixture) uuid.UUID    { return f.e.Sam.ID }
func school(f *fixture) uuid.UUID { return f.e.School.ID }

func famS(f *fixture) *apitest.Sock { return f.family }
func teaS(f *fixture) *apitest.Sock { return f.teacher }
func supS(f *fixture) *apitest.Sock { return f.support }
func admS(f *fixture) *apitest.Sock { return f.admin }

var del = map[string]any{record.DeletedField: true}

func TestRolesOverSync(t *testing.T) {
	f := setup(t)
	id := func(get func(f *fixture) uuid.UUID) func(f *fixture) uuid.UUID { return get }
	goal := id(func(f *fixture) uuid.UUID { return f.goal })
	schoolAction := id(func(f *fixture) uuid.UUID { return f.schoolAction })
	homeAction := id(func(f *fixture) uuid.UUID { return f.homeAction })
	teacherNote := id(func(f *fixture) uuid.UUID { return f.teacherNote })
	familyNote := id(func(f *fixture) uuid.UUID { return f.familyNote })
	familyAbout := id(func(f *fixture) uuid.UUID { return f.familyAbout })
	service := id(func(f *fixture) uuid.UUID { return f.service })
	forbidden := protocol.CodeForbidden
	cases := []opCase{
		// Family.
		{"family writes about", famS, write(ana, "about", nil, map[string]any{"kind": "hopes", "text": "Que lea con gusto", "lang": "es"}), "", ""},
		{"family may not write goals", famS, write(ana, "goals", goal, map[string]any{"description": "Read more"}), forbidden, "goals.description"},
		{"family adds a home action", famS, write(ana, "actions", nil, map[string]any{"goal_id": "$goal", "where": "home", "what": "Library on Saturdays", "lang": "en"}), "", ""},
		{"family edits a home action", famS, write(ana, "actions", homeAction, map[string]any{"how_often": "Every night"}), "", ""},
		{"family may not add a school action", famS, write(ana, "actions", nil, map[string]any{"goal_id": "$goal", "where": "school", "what": "x"}), forbidden, "actions.where"},
		{"family may not add an action without where", famS, write(ana, "actions", nil, map[string]any{"goal_id": "$goal", "what": "x"}), forbidden, "actions.where"},
		{"family may not edit a school action", famS, write(ana, "actions", schoolAction, map[string]any{"what": "x"}), forbidden, "actions.where"},
		{"family may not move a home action to school", famS, write(ana, "actions", homeAction, map[string]any{"where": "school"}), forbidden, "actions.where"},
		{"family adds a home check-in", famS, write(ana, "checkins", nil, map[string]any{"goal_id": "$goal", "where": "home", "what_happened": "Leyó dos páginas", "lang": "es"}), "", ""},
		{"family may not add a school check-in", famS, write(ana, "checkins", nil, map[string]any{"goal_id": "$goal", "where": "school"}), forbidden, "checkins.where"},
		{"family writes a note", famS, write(ana, "notes", nil, map[string]any{"kind": "update", "text": "Gracias", "lang": "es"}), "", ""},
		{"family edits own note", famS, write(ana, "notes", familyNote, map[string]any{"text": "¿Qué libro lee Ana?"}), "", ""},
		{"family may not edit the teacher's note", famS, write(ana, "notes", teacherNote, map[string]any{"text": "changed"}), forbidden, "notes.text"},
		{"family may not delete the teacher's note", famS, write(ana, "notes", teacherNote, del), forbidden, "notes._deleted"},
		{"family may not delete a goal", famS, write(ana, "goals", goal, del), forbidden, "goals"},
		{"family writes meetings", famS, write(ana, "meetings", nil, map[string]any{"title": "Charla", "lang": "es"}), "", ""},
		{"family writes the family profile", famS, write(ana, "family", nil, map[string]any{"preferred_language": "es"}), "", ""},
		{"family reads but may not write services", famS, write(school, "services", service, map[string]any{"cost": "paid"}), forbidden, "services.cost"},
		{"family may not write events", famS, write(school, "events", nil, map[string]any{"title": "x"}), forbidden, "events.title"},
		{"family is not a member of Sam's space", famS, write(sam, "notes", nil, map[string]any{"kind": "update", "text": "hi", "lang": "en"}), forbidden, "not a member"},
		// Teacher.
		{"teacher writes goals", teaS, write(ana, "goals", goal, map[string]any{"status": "in_progress"}), "", ""},
		{"teacher writes school actions", teaS, write(ana, "actions", schoolAction, map[string]any{"how_often": "Daily"}), "", ""},
		{"teacher may not edit the family's note", teaS, write(ana, "notes", familyNote, map[string]any{"text": "x"}), forbidden, "notes.text"},
		{"teacher may not rewrite the family's about", teaS, write(ana, "about", familyAbout, map[string]any{"text": "x"}), forbidden, "about.text"},
		{"teacher adds their own about", teaS, write(ana, "about", nil, map[string]any{"kind": "strengths", "text": "Kind to classmates", "lang": "en"}), "", ""},
		{"teacher writes events", teaS, write(school, "events", nil, map[string]any{"title": "Reading night", "lang": "en"}), "", ""},
		{"teacher may not write services", teaS, write(school, "services", nil, map[string]any{"name": "x"}), forbidden, "services.name"},
		{"teacher of Ana is not in Sam's space", teaS, write(sam, "goals", nil, map[string]any{"area": "math"}), forbidden, "not a member"},
		{"schema violation names the field", teaS, write(ana, "goals", goal, map[string]any{"status": "bogus"}), protocol.CodeInvalid, "goals.status"},
		// Support.
		{"support writes check-ins", supS, write(ana, "checkins", nil, map[string]any{"goal_id": "$goal", "where": "school", "progress": "on_track"}), "", ""},
		{"support writes notes", supS, write(ana, "notes", nil, map[string]any{"kind": "update", "text": "Met with Ana", "lang": "en"}), "", ""},
		{"support writes meetings", supS, write(ana, "meetings", nil, map[string]any{"title": "Check-in"}), "", ""},
		{"support may not write goals", supS, write(ana, "goals", goal, map[string]any{"status": "met"}), forbidden, "goals.status"},
		{"support may not write about", supS, write(ana, "about", nil, map[string]any{"kind": "hopes", "text": "x", "lang": "en"}), forbidden, "about.kind"},
		{"support may not write the family profile", supS, write(ana, "family", nil, map[string]any{"best_times": "x"}), forbidden, "family.best_times"},
		// Admin.
		{"admin writes services", admS, write(school, "services", service, map[string]any{"cost": "free"}), "", ""},
		{"admin writes goals", admS, write(ana, "goals", goal, map[string]any{"target": "By March"}), "", ""},
		{"admin may not edit someone's note", admS, write(ana, "notes", teacherNote, map[string]any{"text": "x"}), forbidden, "notes.text"},
		{"admin is a member of every student space", admS, write(sam, "goals", nil, map[string]any{"area": "math"}), "", ""},
		{"admin deletes a note (moderation)", admS, write(ana, "notes", teacherNote, del), "", ""},
	}
	for _, c := range cases {
		s := c.sock(f)
		r := s.PushOne(c.op(f, s))
		if r.Code != c.code {
			t.Errorf("%s: got %s, want code %q", c.name, apitest.String(r), c.code)
			continue
		}
		if c.code == "" && r.Seq == 0 {
			t.Errorf("%s: accepted without a seq", c.name)
		}
		if c.mention != "" && !strings.Contains(r.Message, c.mention) {
			t.Errorf("%s: message %q does not name %q", c.name, r.Message, c.mention)
		}
	}
}

// A refused op does not stop the rest of its push.
func TestRefusedOpLeavesTheRestOfThePush(t *testing.T) {
	f := setup(t)
	s := f.family
	ack := s.Push(
		s.Op(f.e.Ana.ID, "goals", f.goal, map[string]any{"status": "met"}),
		s.Op(f.e.Ana.ID, "notes", apitest.NewID(), map[string]any{"kind": "praise", "text": "Thank you", "lang": "en"}),
	)
	if ack.Results[0].Code != protocol.CodeForbidden || ack.Results[1].Code != "" || ack.Results[1].Seq == 0 {
		t.Fatalf("results %s / %s", apitest.String(ack.Results[0]), apitest.String(ack.Results[1]))
	}
}

// Family members may delete what only they wrote, nothing else.
func TestDeleteOwn(t *testing.T) {
	f := setup(t)
	s := f.family
	if r := s.PushOne(s.Op(f.e.Ana.ID, "notes", f.familyNote, del)); r.Code != "" {
		t.Fatalf("deleting own note: %s", apitest.String(r))
	}
	if r := s.PushOne(s.Op(f.e.Ana.ID, "actions", f.homeAction, del)); r.Code != protocol.CodeForbidden {
		t.Fatalf("deleting the teacher's home action: %s", apitest.String(r))
	}
}

// Support staff are not sent the family's about texts, neither when
// catching up nor live; the same rule hides them in the history API.
func TestFilterHidesWhatARoleMayNotRead(t *testing.T) {
	f := setup(t)
	e := f.e
	aboutKey := apitest.Key(e.Ana.ID, "about", f.familyAbout)
	noteKey := apitest.Key(e.Ana.ID, "notes", f.familyNote)
	// Catch-up: a fresh support connection gets the note, not the about.
	fresh := e.MustDial(e.Support.Token)
	if !fresh.HasRecord(noteKey, 5*time.Second) {
		t.Fatal("support did not catch up on the notes")
	}
	if fresh.Record(aboutKey) != nil {
		t.Fatal("support was sent an about record while catching up")
	}
	// Live fan-out: the family writes an about and then a note; support
	// sees the note arrive and never the about.
	about2, note2 := apitest.NewID(), apitest.NewID()
	f.family.Push(
		f.family.Op(e.Ana.ID, "about", about2, map[string]any{"kind": "hopes", "text": "Que sea feliz", "lang": "es"}),
		f.family.Op(e.Ana.ID, "notes", note2, map[string]any{"kind": "update", "text": "Ya leímos", "lang": "es"}),
	)
	if !f.support.HasRecord(apitest.Key(e.Ana.ID, "notes", note2), 5*time.Second) {
		t.Fatal("support did not get the live note")
	}
	if f.support.Record(apitest.Key(e.Ana.ID, "about", about2)) != nil || f.support.Record(aboutKey) != nil {
		t.Fatal("support was sent an about record live")
	}
	// The teacher does see the about, live and caught up.
	if !f.teacher.HasRecord(apitest.Key(e.Ana.ID, "about", about2), 5*time.Second) {
		t.Fatal("the teacher did not get the about")
	}
	// History API: the same rule.
	path := "/api/spaces/" + e.Ana.ID.String() + "/records/about/" + f.familyAbout.String() + "/history"
	if st := e.Do("GET", path, e.Support.Token, nil, nil); st != 404 {
		t.Fatalf("support reading about's history: status %d, want 404", st)
	}
	var h []api.HistoryEntry
	if st := e.Do("GET", path, e.Teacher.Token, nil, &h); st != 200 || len(h) != 1 {
		t.Fatalf("teacher reading about's history: status %d, %d entries", st, len(h))
	}
	// Non-members see nothing at all.
	if st := e.Do("GET", path, e.OtherTeacher.Token, nil, nil); st != 404 {
		t.Fatalf("a teacher of another student: status %d, want 404", st)
	}
}

// A note's edits keep the earlier text in its history, with its author.
func TestNoteHistoryKeepsEarlierText(t *testing.T) {
	f := setup(t)
	e := f.e
	f.family.PushOne(f.family.Op(e.Ana.ID, "notes", f.familyNote, map[string]any{"text": "¿Qué libro está leyendo Ana?"}))
	f.teacher.PushOne(f.teacher.Op(e.Ana.ID, "goals", f.goal, map[string]any{"status": "met"}))
	var h []api.HistoryEntry
	path := "/api/spaces/" + e.Ana.ID.String() + "/records/notes/" + f.familyNote.String() + "/history"
	if st := e.Do("GET", path, e.Teacher.Token, nil, &h); st != 200 {
		t.Fatalf("status %d", st)
	}
	if len(h) != 2 || h[0].Fields["text"] != "¿Qué libro lee?" || h[1].Fields["text"] != "¿Qué libro está leyendo Ana?" {
		t.Fatalf("history %+v", h)
	}
	for _, en := range h {
		if en.Author.ID != e.Family.ID || en.Author.Name != "Rosa García" {
			t.Fatalf("author %+v, want Rosa", en.Author)
		}
	}
	if h[0].Seq >= h[1].Seq || h[0].Time.IsZero() {
		t.Fatalf("entries out of order or without time: %+v", h)
	}
	// The goal's history shows the teacher.
	var gh []api.HistoryEntry
	path = "/api/spaces/" + e.Ana.ID.String() + "/records/goals/" + f.goal.String() + "/history"
	if st := e.Do("GET", path, e.Family.Token, nil, &gh); st != 200 || len(gh) != 2 || gh[1].Author.Name != "Ms. Lee" || gh[1].Fields["status"] != "met" {
		t.Fatalf("goal history: %d %+v", st, gh)
	}
}
