package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
)

// seedNode is the device id stamped on the demo's records.
var seedNode = uuid.MustParse("0190a000-0000-7000-8000-000000005eed")

type seedRecord struct {
	collection string
	id         uuid.UUID
	fields     map[string]any
}

// Seed creates the demo on an empty store (a school, two students with
// plans in English and Spanish, and a teacher who is a member of all
// three) and returns the demo teacher's session token, kept in tokenFile so
// that every start prints the same one.
func Seed(ctx context.Context, st server.Store, tokenFile string) (string, error) {
	spaces, err := st.Spaces(ctx)
	if err != nil {
		return "", err
	}
	var teacher uuid.UUID
	if len(spaces) == 0 {
		if teacher, err = seedData(ctx, st); err != nil {
			return "", err
		}
	} else if b, err := os.ReadFile(tokenFile); err == nil {
		tok := strings.TrimSpace(string(b))
		if _, err := st.Session(ctx, server.HashToken(tok)); err == nil {
			return tok, nil
		}
	}
	if teacher == uuid.Nil {
		ms, err := st.Members(ctx, spaces[0].ID)
		if err != nil || len(ms) == 0 {
			return "", errors.New("the data folder has spaces but no demo teacher: start without seeding")
		}
		teacher = ms[0].User
	}
	tok, err := AddSession(ctx, st, teacher, "demo")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

func seedData(ctx context.Context, st server.Store) (uuid.UUID, error) {
	teacher, err := AddUser(ctx, st, "Ms. Lee")
	if err != nil {
		return uuid.Nil, err
	}
	school, err := AddSpace(ctx, st, "Maple Elementary", server.KindSchool)
	if err != nil {
		return uuid.Nil, err
	}
	ana, err := AddSpace(ctx, st, "Ana García", server.KindStudent)
	if err != nil {
		return uuid.Nil, err
	}
	sam, err := AddSpace(ctx, st, "Sam Okafor", server.KindStudent)
	if err != nil {
		return uuid.Nil, err
	}
	for _, sp := range []*server.Space{school, ana, sam} {
		if err := AddMember(ctx, st, sp.ID, teacher.ID, server.RoleTeacher); err != nil {
			return uuid.Nil, err
		}
	}
	clock := hlc.NewClock(nil, 0)
	var ops []record.Op
	add := func(space uuid.UUID, recs ...seedRecord) {
		for _, r := range recs {
			op := record.Op{Space: space, Collection: r.collection, ID: r.id, HLC: clock.Now(), Node: seedNode, Author: teacher.ID}
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
	add(school.ID, SeedSchool()...)
	add(ana.ID, SeedAna()...)
	add(sam.ID, SeedSam()...)
	for i := range ops {
		if err := ops[i].Validate(); err != nil {
			return uuid.Nil, fmt.Errorf("seed op %d: %w", i, err)
		}
	}
	res, err := st.Commit(ctx, ops)
	if err != nil {
		return uuid.Nil, err
	}
	for _, r := range res {
		if r.Err != nil {
			return uuid.Nil, r.Err
		}
	}
	return teacher.ID, nil
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
