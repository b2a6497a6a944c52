package translations_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/translate"
	"github.com/plansync/plansync/server/translations"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/protocol"
	"github.com/plansync/plansync/shared/record"
)

func apertium(t *testing.T) translate.Engine {
	t.Helper()
	a, err := translate.NewApertium(context.Background(), translate.ApertiumOptions{})
	if errors.Is(err, translate.ErrNotInstalled) {
		t.Skip("apertium is not installed: make test installs it (apt-get install -y apertium apertium-eng-spa)")
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func setLangs(t *testing.T, e *apitest.Env, u apitest.User, langs ...string) {
	t.Helper()
	if st := e.Do("PUT", "/api/me/languages", u.Token, api.LanguagesRequest{Languages: langs}, nil); st != 200 {
		t.Fatalf("languages of %s: status %d", u.Name, st)
	}
}

// base is an op writing fields over the versions the socket holds, as a
// client that saw them does (no conflict with what it replaces).
func overwrite(s *apitest.Sock, k record.Key, fields map[string]any) record.Op {
	op := s.Op(k.Space, k.Collection, k.ID, fields)
	if rec := s.Record(k); rec != nil {
		for i, w := range op.Writes {
			if f := rec.Fields[w.Name]; f != nil {
				ref := f.Ref()
				op.Writes[i].Base = &ref
			}
		}
	}
	return op
}

func str(rec *record.Record, name string) string {
	s, _ := rec.Value(name).(string)
	return s
}

// TestServerTranslatesAndSyncs runs the real server with real apertium:
// the teacher (English) writes a note in English; the server translates
// it into Spanish, the family's language, and the family's socket is sent
// the translation, labelled machine and Apertium, by the server's author.
// An interpreter then replaces it (marked human, their author), the family
// is sent that, and the server never overwrites it; an edit of the text
// gets a new translation. The interpreter may not edit the note itself.
func TestServerTranslatesAndSyncs(t *testing.T) {
	engine := apertium(t)
	e := apitest.Start(t, func(c *app.Config) {
		c.Translate = engine
		c.Translations.LangsTTL = time.Millisecond
		c.Translations.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	setLangs(t, e, e.Teacher, "en")
	setLangs(t, e, e.Family, "es-MX", "en")
	interp := e.Staff("Mr. Tran", "tran", server.RoleInterpreter)
	e.AddMember(e.Ana.ID, interp.ID, server.RoleInterpreter)
	teacher, family, is := e.MustDial(e.Teacher.Token), e.MustDial(e.Family.Token), e.MustDial(interp.Token)

	note := apitest.NewID()
	text := "Ana read two books this week. The meeting is on Tuesday."
	if r := teacher.PushOne(teacher.Op(e.Ana.ID, "notes", note, map[string]any{"kind": "update", "text": text, "lang": "en"})); r.Code != "" {
		t.Fatalf("note: %s", apitest.String(r))
	}
	trKey := apitest.Key(e.Ana.ID, plan.Translations, plan.TranslationID("notes", note, "text", plan.SourceHash(text), "es"))
	if !family.HasRecord(trKey, 30*time.Second) {
		t.Fatalf("the family was not sent a Spanish translation (translator stats %+v)", e.App.Translator.Stats())
	}
	tr := family.Record(trKey)
	t.Logf("machine: %q", str(tr, "text"))
	if str(tr, "by") != plan.ByMachine || str(tr, "engine") != "Apertium" || str(tr, "lang") != "es" || str(tr, "source_lang") != "en" ||
		str(tr, "of_collection") != "notes" || str(tr, "of_id") != note.String() || str(tr, "of_field") != "text" || str(tr, "source_hash") != plan.SourceHash(text) {
		t.Fatalf("translation fields %v", tr.Fields)
	}
	if !strings.Contains(str(tr, "text"), "libros") || !strings.Contains(str(tr, "text"), "martes") {
		t.Errorf("not Spanish: %q", str(tr, "text"))
	}
	if tr.Fields["text"].Author != translations.AuthorFor(e.Ana.ID) {
		t.Errorf("machine translation's author %s, want the server's", tr.Fields["text"].Author)
	}
	// The note itself is untouched: one version, the teacher's.
	if n := family.Record(apitest.Key(e.Ana.ID, "notes", note)); str(n, "text") != text || n.Fields["text"].Author != e.Teacher.ID {
		t.Errorf("the note changed: %v", n.Fields)
	}
	// Nobody reads English-to-English.
	if _, err := e.App.Store.Record(context.Background(), apitest.Key(e.Ana.ID, plan.Translations, plan.TranslationID("notes", note, "text", plan.SourceHash(text), "en"))); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("an English translation of an English note: %v", err)
	}

	// The interpreter replaces it.
	if !is.HasRecord(trKey, 10*time.Second) {
		t.Fatal("the interpreter was not sent the translation")
	}
	better := "Ana leyó dos libros esta semana. La reunión es el martes."
	if r := is.PushOne(overwrite(is, trKey, map[string]any{"text": better, "by": plan.ByHuman})); r.Code != "" {
		t.Fatalf("interpreter's translation: %s", apitest.String(r))
	}
	if !poll(10*time.Second, func() bool { r := family.Record(trKey); return r != nil && str(r, "text") == better }) {
		t.Fatal("the family was not sent the interpreter's translation")
	}
	tr = family.Record(trKey)
	if str(tr, "by") != plan.ByHuman || tr.Fields["text"].Author != interp.ID || tr.HasConflicts() {
		t.Fatalf("human translation: by %q author %s (interpreter %s), conflicts %v", str(tr, "by"), tr.Fields["text"].Author, interp.ID, tr.HasConflicts())
	}
	// The interpreter may not touch the plan's content.
	if r := is.PushOne(overwrite(is, apitest.Key(e.Ana.ID, "notes", note), map[string]any{"text": better})); r.Code != protocol.CodeForbidden {
		t.Fatalf("interpreter editing the note: %s", apitest.String(r))
	}

	// A change that keeps the text is looked at again and leaves the
	// human translation alone; a new text gets a new translation.
	before := e.App.Translator.Stats().Translated
	if r := teacher.PushOne(overwrite(teacher, apitest.Key(e.Ana.ID, "notes", note), map[string]any{"kind": "praise"})); r.Code != "" {
		t.Fatal(apitest.String(r))
	}
	text2 := "Ana read three books this week."
	if r := teacher.PushOne(overwrite(teacher, apitest.Key(e.Ana.ID, "notes", note), map[string]any{"text": text2})); r.Code != "" {
		t.Fatal(apitest.String(r))
	}
	tr2 := apitest.Key(e.Ana.ID, plan.Translations, plan.TranslationID("notes", note, "text", plan.SourceHash(text2), "es"))
	if !family.HasRecord(tr2, 30*time.Second) {
		t.Fatal("no translation of the edited text")
	}
	if !strings.Contains(str(family.Record(tr2), "text"), "tres libros") {
		t.Errorf("edited text's translation %q", str(family.Record(tr2), "text"))
	}
	waitIdle(t, e.App.Translator)
	if got := e.App.Translator.Stats().Translated - before; got != 1 {
		t.Errorf("%d translations committed after the edits, want 1 (the new text only)", got)
	}
	if r, _ := e.App.Store.Record(context.Background(), trKey); str(r, "text") != better || str(r, "by") != plan.ByHuman {
		t.Errorf("the server overwrote the interpreter: %v", r.Fields)
	}
}

// poll checks cond every 10 ms for up to d (Sock.Wait holds the lock
// Sock.Record takes).
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func waitIdle(t *testing.T, s *translations.Service) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !s.Idle() {
		if time.Now().After(deadline) {
			t.Fatal("the translator did not go idle in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNoEngineNoTranslation: without an engine the server runs no
// translator, everything else syncs, and no translation appears.
func TestNoEngineNoTranslation(t *testing.T) {
	e := apitest.Start(t, nil)
	if e.App.Translator != nil {
		t.Fatal("a translator runs without an engine")
	}
	setLangs(t, e, e.Family, "es")
	teacher, family := e.MustDial(e.Teacher.Token), e.MustDial(e.Family.Token)
	note, text := apitest.NewID(), "See you on Tuesday."
	teacher.PushOne(teacher.Op(e.Ana.ID, "notes", note, map[string]any{"kind": "update", "text": text, "lang": "en"}))
	if !family.HasRecord(apitest.Key(e.Ana.ID, "notes", note), 10*time.Second) {
		t.Fatal("the note did not sync")
	}
	time.Sleep(200 * time.Millisecond)
	if family.Record(apitest.Key(e.Ana.ID, plan.Translations, plan.TranslationID("notes", note, "text", plan.SourceHash(text), "es"))) != nil {
		t.Fatal("a translation appeared without an engine")
	}
}

// testWriter sends the translator's warnings to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestSeededDemoTranslated: the seeded demo with apertium translates the
// plan's existing texts into its people's languages: Rosa's Spanish into
// English for Ms. Lee, Ms. Lee's English into Spanish for Rosa.
func TestSeededDemoTranslated(t *testing.T) {
	engine := apertium(t)
	a, err := app.Open(context.Background(), app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Seed: true, Translate: engine,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close(context.Background()) }()
	waitIdle(t, a.Translator)
	spaces, err := a.Store.Spaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	langs := map[string]int{}
	for _, sp := range spaces {
		page, err := a.Store.Changes(context.Background(), sp.ID, 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			if r.Collection == plan.Translations {
				langs[str(r, "source_lang")+">"+str(r, "lang")]++
			}
		}
	}
	t.Logf("translations %v, stats %+v", langs, a.Translator.Stats())
	if langs["es>en"] == 0 || langs["en>es"] == 0 {
		t.Fatalf("the demo's translations %v: want Spanish to English and English to Spanish", langs)
	}
}

// TestSwitchedLanguageTranslatesOlderTexts: a parent who read English
// switches the app to Spanish; the note written before the switch is
// translated into Spanish and sent to them, without waiting for its next
// change or for the cached languages to expire (LangsTTL stays at its
// default minute here).
func TestSwitchedLanguageTranslatesOlderTexts(t *testing.T) {
	engine := apertium(t)
	e := apitest.Start(t, func(c *app.Config) {
		c.Translate = engine
		c.Translations.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	setLangs(t, e, e.Teacher, "en")
	setLangs(t, e, e.Family, "en")
	teacher, family := e.MustDial(e.Teacher.Token), e.MustDial(e.Family.Token)
	note := apitest.NewID()
	text := "Ana read two books this week."
	if r := teacher.PushOne(teacher.Op(e.Ana.ID, "notes", note, map[string]any{"kind": "update", "text": text, "lang": "en"})); r.Code != "" {
		t.Fatalf("note: %s", apitest.String(r))
	}
	if !family.HasRecord(apitest.Key(e.Ana.ID, "notes", note), 10*time.Second) {
		t.Fatal("the family was not sent the note")
	}
	waitIdle(t, e.App.Translator)
	trKey := apitest.Key(e.Ana.ID, plan.Translations, plan.TranslationID("notes", note, "text", plan.SourceHash(text), "es"))
	if _, err := e.App.Store.Record(context.Background(), trKey); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("a Spanish translation while nobody reads Spanish: %v", err)
	}

	setLangs(t, e, e.Family, "es", "en")
	if !family.HasRecord(trKey, 30*time.Second) {
		t.Fatalf("the note written before the switch was not translated into Spanish (stats %+v)", e.App.Translator.Stats())
	}
	if got := str(family.Record(trKey), "text"); !strings.Contains(got, "libros") {
		t.Errorf("not Spanish: %q", got)
	}
}
