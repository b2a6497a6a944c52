package access_test

import (
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/uuid"
)

// TestInterpreterRole: an interpreter of Ana's plan reads it and writes
// translations (marked human) and flags; it may not write the plan's own
// content, pass its words off as a machine's, or delete a translation.
// Everyone else reads translations and may flag them, and may not write
// them.
func TestInterpreterRole(t *testing.T) {
	f := setup(t)
	e := f.e
	interp := e.Staff("Mr. Tran", "tran", server.RoleInterpreter)
	e.AddMember(e.Ana.ID, interp.ID, server.RoleInterpreter)
	is := e.MustDial(interp.Token)
	intS := func(*fixture) *apitest.Sock { return is }
	trID := plan.TranslationID("notes", f.teacherNote, "text", plan.SourceHash("Great reading today"), "es")
	tr := func(*fixture) uuid.UUID { return trID }
	goal := func(f *fixture) uuid.UUID { return f.goal }
	teacherNote := func(f *fixture) uuid.UUID { return f.teacherNote }
	human := map[string]any{"of_collection": "notes", "of_id": f.teacherNote.String(), "of_field": "text",
		"source_hash": plan.SourceHash("Great reading today"), "source_lang": "en", "lang": "es",
		"text": "Muy buena lectura hoy", "by": "human"}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(out, kv[i].(string))
			} else {
				out[kv[i].(string)] = kv[i+1]
			}
		}
		return out
	}
	forbidden := protocol.CodeForbidden
	cases := []opCase{
		{"interpreter adds a human translation", intS, write(ana, plan.Translations, tr, human), "", ""},
		{"interpreter replaces it", intS, write(ana, plan.Translations, tr, map[string]any{"text": "¡Qué buena lectura hoy!", "by": "human"}), "", ""},
		{"interpreter may not mark a translation machine", intS, write(ana, plan.Translations, nil, with(human, "by", "machine")), forbidden, "translations.by"},
		{"interpreter may not write a text without marking it human", intS, write(ana, plan.Translations, tr, map[string]any{"text": "x"}), forbidden, "translations.by"},
		{"interpreter may not name an engine", intS, write(ana, plan.Translations, nil, with(human, "engine", "Apertium")), forbidden, "translations.engine"},
		{"interpreter may not add a translation under an id of its own", intS, write(ana, plan.Translations, nil, human), forbidden, "translations.of_id"},
		{"interpreter may not move a translation to another text", intS, write(ana, plan.Translations, tr, map[string]any{"of_collection": "about"}), forbidden, "translations.of_id"},
		{"interpreter may not delete a translation", intS, write(ana, plan.Translations, tr, del), forbidden, "translations"},
		{"interpreter may not edit the teacher's note", intS, write(ana, "notes", teacherNote, map[string]any{"text": "Muy buena lectura hoy"}), forbidden, "notes.text"},
		{"interpreter may not write a note", intS, write(ana, "notes", nil, map[string]any{"kind": "update", "text": "hola", "lang": "es"}), forbidden, "notes"},
		{"interpreter may not write goals", intS, write(ana, "goals", goal, map[string]any{"description": "Leer en voz alta"}), forbidden, "goals.description"},
		{"interpreter may not write about", intS, write(ana, "about", nil, map[string]any{"kind": "hopes", "text": "x", "lang": "es"}), forbidden, "about"},
		{"interpreter may not write meetings", intS, write(ana, "meetings", nil, map[string]any{"title": "x", "lang": "es"}), forbidden, "meetings"},
		{"interpreter may not write services", intS, write(school, "services", nil, map[string]any{"name": "x"}), forbidden, "services"},
		{"interpreter is not in Sam's space", intS, write(sam, plan.Translations, nil, human), forbidden, "not a member"},
		{"interpreter may flag", intS, write(ana, plan.TranslationFlags, nil, map[string]any{"translation_id": trID.String()}), "", ""},
		{"family may not write a translation", famS, write(ana, plan.Translations, tr, map[string]any{"text": "x", "by": "human"}), forbidden, "translations.by"},
		{"teacher may not write a translation", teaS, write(ana, plan.Translations, nil, human), forbidden, "translations"},
		{"support may not write a translation", supS, write(ana, plan.Translations, nil, human), forbidden, "translations"},
		{"admin may not write a translation", admS, write(ana, plan.Translations, nil, human), forbidden, "translations"},
		{"family flags a translation", famS, write(ana, plan.TranslationFlags, nil, map[string]any{"translation_id": trID.String(), "note": "No dice eso", "lang": "es"}), "", ""},
		{"teacher flags a translation", teaS, write(ana, plan.TranslationFlags, nil, map[string]any{"translation_id": trID.String()}), "", ""},
		{"support flags a translation", supS, write(ana, plan.TranslationFlags, nil, map[string]any{"translation_id": trID.String()}), "", ""},
		{"admin deletes a translation (moderation)", admS, write(ana, plan.Translations, tr, del), "", ""},
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
	// The interpreter reads the plan: it was sent the teacher's note.
	if !is.HasRecord(apitest.Key(e.Ana.ID, "notes", f.teacherNote), 5*time.Second) {
		t.Error("the interpreter was not sent the plan's notes")
	}

	// A translation is read by those who read what it translates:
	// support staff, who may not read the family's about texts, are not
	// sent their translation, live or caught up; the teacher is.
	aboutHash := plan.SourceHash("Le encanta dibujar")
	aboutTr := plan.TranslationID("about", f.familyAbout, "text", aboutHash, "en")
	note := apitest.NewID()
	is.Push(is.Op(e.Ana.ID, plan.Translations, aboutTr, map[string]any{"of_collection": "about", "of_id": f.familyAbout.String(), "of_field": "text",
		"source_hash": aboutHash, "source_lang": "es", "lang": "en", "text": "She loves to draw", "by": "human"}))
	f.teacher.PushOne(f.teacher.Op(e.Ana.ID, "notes", note, map[string]any{"kind": "update", "text": "Drawing club on Friday", "lang": "en"}))
	trKey := apitest.Key(e.Ana.ID, plan.Translations, aboutTr)
	if !f.teacher.HasRecord(trKey, 5*time.Second) {
		t.Fatal("the teacher was not sent the about's translation")
	}
	if !f.support.HasRecord(apitest.Key(e.Ana.ID, "notes", note), 5*time.Second) {
		t.Fatal("support did not get the live note")
	}
	if f.support.Record(trKey) != nil {
		t.Fatal("support was sent the translation of an about text it may not read")
	}
	if fresh := e.MustDial(e.Support.Token); !fresh.HasRecord(apitest.Key(e.Ana.ID, "notes", note), 5*time.Second) || fresh.Record(trKey) != nil {
		t.Fatal("support caught up without the note, or with the about's translation")
	}
}
