package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// seedNode is the device id stamped on the demo's records.
var seedNode = uuid.MustParse("0190a000-0000-7000-8000-000000005eed")

type seedRecord struct {
	collection string
	id         uuid.UUID
	fields     map[string]any
}

// Demo logins: a fixed password, printed at start, for the seeded demo
// only (make run); a real school starts with plansync init.
const (
	DemoPassword     = "plansync-demo"
	DemoAdminLogin   = "park"
	DemoTeacherLogin = "lee"
)

// Demo is what the seeded demo prints at start.
type Demo struct {
	School       string
	AdminLogin   string
	TeacherLogin string
	Password     string
	// TeacherToken is a session of the demo teacher, the same on every
	// start (kept in the data folder).
	TeacherToken string
	// InviteCode lets a new user join InviteStudent's plan as a parent; a
	// fresh one is made on every start (only its hash is stored).
	InviteCode    string
	InviteStudent string
	InviteExpires time.Time
}

// Seed creates the demo on an empty store (a school with an admin and a
// teacher, two students with plans in English and Spanish written by the
// teacher and by family members) and returns the demo's logins, the
// teacher's session token (kept in tokenFile so that every start prints the
// same one) and a fresh family invite code.
func Seed(ctx context.Context, st server.Store, svc *auth.Service, tokenFile string) (*Demo, error) {
	spaces, err := st.Spaces(ctx)
	if err != nil {
		return nil, err
	}
	if len(spaces) == 0 {
		if err := seedData(ctx, st, svc); err != nil {
			return nil, err
		}
	}
	cred, err := st.Credential(ctx, DemoTeacherLogin)
	if errors.Is(err, server.ErrNotFound) {
		return nil, errors.New("the data folder has spaces but no demo teacher (login " + DemoTeacherLogin + "): start without seeding, or with an empty data folder")
	} else if err != nil {
		return nil, err
	}
	teacher := cred.User
	d := &Demo{AdminLogin: DemoAdminLogin, TeacherLogin: DemoTeacherLogin, Password: DemoPassword}
	if b, err := os.ReadFile(tokenFile); err == nil {
		tok := strings.TrimSpace(string(b))
		if se, err := st.Session(ctx, server.HashToken(tok)); err == nil && se.User == teacher {
			d.TeacherToken = tok
		}
	}
	if d.TeacherToken == "" {
		if d.TeacherToken, err = svc.StartSession(ctx, teacher, "demo"); err != nil {
			return nil, err
		}
		if err := os.WriteFile(tokenFile, []byte(d.TeacherToken+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	ms, err := st.Memberships(ctx, teacher)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		sp, err := st.Space(ctx, m.Space)
		if err != nil {
			return nil, err
		}
		switch {
		case sp.Kind == server.KindSchool:
			d.School = sp.Name
		case sp.Kind == server.KindStudent && d.InviteCode == "":
			d.InviteCode, d.InviteExpires, err = svc.MakeInvite(ctx, sp.ID, teacher)
			if errors.Is(err, server.ErrUnavailable) {
				// A restart on a full disk still serves the demo's reads;
				// it prints no invite code until space returns.
				d.InviteCode = ""
				continue
			} else if err != nil {
				return nil, err
			}
			d.InviteStudent = sp.Name
		}
	}
	return d, nil
}

func seedData(ctx context.Context, st server.Store, svc *auth.Service) error {
	school, _, err := svc.InitSchool(ctx, "Maple Elementary", "Ms. Park", DemoAdminLogin, DemoPassword)
	if err != nil {
		return err
	}
	teacher, err := svc.AddStaff(ctx, school.ID, "Ms. Lee", DemoTeacherLogin, DemoPassword, server.RoleTeacher)
	if err != nil {
		return err
	}
	ana, err := svc.AddStudent(ctx, school.ID, "Ana García")
	if err != nil {
		return err
	}
	sam, err := svc.AddStudent(ctx, school.ID, "Sam Okafor")
	if err != nil {
		return err
	}
	// Family members who wrote their parts of the plans; they have no
	// login (as if they had joined with a device-bound session).
	rosa, err := AddUser(ctx, st, "Rosa García")
	if err != nil {
		return err
	}
	david, err := AddUser(ctx, st, "David Okafor")
	if err != nil {
		return err
	}
	// The languages each person reads, which the server translates into
	// when it has an engine (--translate).
	for u, lang := range map[*server.User]string{teacher: "en", rosa: "es", david: "en"} {
		u.Languages = []string{lang}
		if err := st.PutUser(ctx, u); err != nil {
			return err
		}
	}
	for _, m := range []server.Member{
		{Space: ana.ID, User: teacher.ID, Role: server.RoleTeacher},
		{Space: sam.ID, User: teacher.ID, Role: server.RoleTeacher},
		{Space: ana.ID, User: rosa.ID, Role: server.RoleFamily},
		{Space: sam.ID, User: david.ID, Role: server.RoleFamily},
		{Space: school.ID, User: rosa.ID, Role: server.RoleFamily},
		{Space: school.ID, User: david.ID, Role: server.RoleFamily},
	} {
		if err := st.PutMember(ctx, m); err != nil {
			return err
		}
	}
	clock := hlc.NewClock(nil, 0)
	var ops []record.Op
	add := func(space, family uuid.UUID, recs ...seedRecord) {
		for _, r := range recs {
			author := teacher.ID
			if family != uuid.Nil && familyWrites(r) {
				author = family
			}
			op := record.Op{Space: space, Collection: r.collection, ID: r.id, HLC: clock.Now(), Node: seedNode, Author: author}
			names := make([]string, 0, len(r.fields))
			for k := range r.fields {
				names = append(names, k)
			}
			slices.Sort(names)
			for _, k := range names {
				op.Writes = append(op.Writes, record.Write{Name: k, Value: r.fields[k]})
			}
			ops = append(ops, op)
		}
	}
	add(school.ID, uuid.Nil, SeedSchool()...)
	add(ana.ID, rosa.ID, SeedAna()...)
	add(sam.ID, david.ID, SeedSam()...)
	for i := range ops {
		if err := ops[i].Validate(); err != nil {
			return fmt.Errorf("seed op %d: %w", i, err)
		}
	}
	res, err := st.Commit(ctx, ops)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// familyWrites says which demo records the family wrote: their own texts
// and the home side of the plan.
func familyWrites(r seedRecord) bool {
	switch r.collection {
	case "about", "family":
		return true
	case "actions", "checkins":
		return r.fields["where"] == "home"
	}
	return false
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// SeedSchool is the demo school's directory and events.
func SeedSchool() []seedRecord {
	return []seedRecord{
		{"services", newID(), map[string]any{"name": "Family counselor: Ms. Ortiz", "kind": "counselor", "offers": "Short, confidential conversations with families about worries at home or at school. Home visits possible.", "contact": "Room 12, or call 555-0142 (Mon-Thu)", "languages": []any{"en", "es"}, "cost": "free", "lang": "en"}},
		{"services", newID(), map[string]any{"name": "Centro Comunitario Esperanza", "kind": "community_partner", "offers": "Tutoría por las tardes, clases de inglés para adultos y ayuda con trámites.", "contact": "Calle Maple 210, 555-0199", "languages": []any{"es", "en"}, "cost": "free", "lang": "es"}},
		{"events", newID(), map[string]any{"title": "Reading at home: a workshop for families", "kind": "workshop", "starts_at": "2026-12-03T17:30:00-05:00", "ends_at": "2026-12-03T18:30:00-05:00", "place": "Library (childcare and Spanish interpretation provided)", "description": "Simple ways to read together at home, whatever language you read in.", "languages": []any{"en", "es"}, "lang": "en"}},
	}
}

// SeedAna is a plan written mostly in Spanish by the family and in English
// by the school, as real plans are.
func SeedAna() []seedRecord {
	goal := newID()
	return []seedRecord{
		{"about", newID(), map[string]any{"kind": "strengths", "text": "Ana es muy curiosa, le encanta dibujar y ayuda a su hermano pequeño con las tareas.", "lang": "es"}},
		{"about", newID(), map[string]any{"kind": "works_at_home", "text": "Leemos juntas en español antes de dormir; le ayuda tener un horario fijo.", "lang": "es"}},
		{"goals", goal, map[string]any{"area": "reading", "description": "Read a short chapter book aloud with fewer than five errors per page.", "description_lang": "en", "target": "By March, in English or Spanish", "status": "in_progress", "start_date": "2026-09-15", "target_date": "2027-03-15"}},
		{"actions", newID(), map[string]any{"goal_id": goal.String(), "where": "school", "who": "Ms. Lee", "what": "Ten minutes of paired reading", "how_often": "Every school day", "lang": "en"}},
		{"actions", newID(), map[string]any{"goal_id": goal.String(), "where": "home", "who": "Mamá", "what": "Leer un capítulo juntas y hablar de los dibujos", "how_often": "Cuatro noches por semana", "lang": "es"}},
		{"notes", newID(), map[string]any{"author_name": "Ms. Lee", "lang": "en", "kind": "praise", "text": "Ana read a whole page to the class today without stopping. She was so proud!"}},
		{"family", newID(), map[string]any{"preferred_language": "es", "contact_methods": []any{"text_message", "phone_call"}, "best_times": "Después de las 6 de la tarde", "barriers": []any{"work_hours", "data_limits"}, "lang": "es"}},
	}
}

// SeedSam is a plan written in English.
func SeedSam() []seedRecord {
	goal := newID()
	return []seedRecord{
		{"about", newID(), map[string]any{"kind": "interests", "text": "Sam loves dinosaurs, building with blocks and counting everything he sees.", "lang": "en"}},
		{"goals", goal, map[string]any{"area": "math", "description": "Add and subtract within 20 using objects or drawings.", "description_lang": "en", "status": "not_started", "start_date": "2026-11-01", "target_date": "2027-02-01"}},
		{"checkins", newID(), map[string]any{"goal_id": goal.String(), "date": "2026-11-20", "where": "home", "what_happened": "Counted the stairs and the spoons at dinner.", "progress": "some_progress", "by": "Dad", "lang": "en"}},
		{"meetings", newID(), map[string]any{"title": "Plan check-in", "proposed_times": []any{map[string]any{"start": "2026-12-08T16:00:00-05:00", "place": "phone_call"}}, "agenda": "How counting practice is going at home and at school", "interpreter_needed": false, "status": "proposed", "lang": "en"}},
	}
}
