package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/api/apitest"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/translate"
	"github.com/plansync/plansync/shared/plan"
	"github.com/plansync/plansync/shared/record"
)

// TestTranslationReadOffline: real client engines on disk stores. The
// teacher's engine writes an English note; the server translates it with
// real apertium; the mother's engine, on another device, receives the
// Spanish translation; with the server gone, her device reopened offline
// still reads it, beside the note as written.
func TestTranslationReadOffline(t *testing.T) {
	engine, err := translate.NewApertium(context.Background(), translate.ApertiumOptions{})
	if errors.Is(err, translate.ErrNotInstalled) {
		t.Skip("apertium is not installed: make test installs it (apt-get install -y apertium apertium-eng-spa)")
	} else if err != nil {
		t.Fatal(err)
	}
	e := apitest.Start(t, func(c *app.Config) { c.Translate = engine })
	for _, p := range []struct {
		u    apitest.User
		lang string
	}{{e.Teacher, "en"}, {e.Family, "es"}} {
		if st := e.Do("PUT", "/api/me/languages", p.u.Token, api.LanguagesRequest{Languages: []string{p.lang}}, nil); st != 200 {
			t.Fatalf("languages: %d", st)
		}
	}
	dir := t.TempDir()
	open := func(name, token string, offline bool) (*client.Engine, *diskstore.Store) {
		st, err := diskstore.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		eng := client.New(client.Options{Store: st, Transport: &wsdial.Transport{URL: "ws://" + e.App.Addr() + "/sync"}, Token: token, Offline: offline})
		if err := eng.Open(ctx); err != nil {
			t.Fatal(err)
		}
		return eng, st
	}
	teacher, tst := open("teacher", e.Teacher.Token, false)
	defer func() { _ = teacher.Close(); _ = tst.Close() }()
	mother, mst := open("mother", e.Family.Token, false)
	text := "Thank you for coming to the meeting. Ana read two books."
	id, err := teacher.Create(ctx, e.Ana.ID, "notes", map[string]any{"kind": "praise", "text": text, "lang": "en"})
	if err != nil {
		t.Fatal(err)
	}
	key := record.Key{Space: e.Ana.ID, Collection: plan.Translations, ID: plan.TranslationID("notes", id, "text", plan.SourceHash(text), "es")}
	deadline := time.Now().Add(30 * time.Second)
	for mother.Get(key) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the mother's device has no translation after 30 s (translator %+v)", e.App.Translator.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = mother.Close()
	_ = mst.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.App.Close(cctx); err != nil {
		t.Fatal(err)
	}
	again, ast := open("mother", e.Family.Token, true)
	defer func() { _ = again.Close(); _ = ast.Close() }()
	tr := again.Get(key)
	if tr == nil {
		t.Fatal("offline, the mother's device lost the translation")
	}
	es, _ := tr.Value("text").(string)
	if tr.Value("by") != plan.ByMachine || !strings.Contains(es, "libros") {
		t.Fatalf("offline translation %v", tr.Fields)
	}
	if n := again.Get(record.Key{Space: e.Ana.ID, Collection: "notes", ID: id}); n == nil || n.Value("text") != text {
		t.Fatal("offline, the note as written is not beside its translation")
	}
	t.Logf("offline: %q beside %q", es, text)
}
