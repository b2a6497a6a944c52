package webassets_test

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/plansync/plansync/server/webassets"
	"github.com/plansync/plansync/web"
)

// TestLangIndex: the app's languages are the catalogs present, each with
// its name and whether a person reviewed it, so adding a catalog file is
// all it takes; the index is in the shell (offline) and a catalog without
// its _meta entries stops the server with a clear error.
func TestLangIndex(t *testing.T) {
	fsys := app()
	fsys["i18n/en.json"] = &fstest.MapFile{Data: []byte(`{"_meta.name": "English", "_meta.reviewed": true, "a": "A"}`)}
	fsys["i18n/ar.json"] = &fstest.MapFile{Data: []byte(`{"_meta.name": "العربية", "_meta.reviewed": false, "a": "أ"}`)}
	fsys["i18n/README.json"] = &fstest.MapFile{Data: []byte(`not a catalog`)}
	h, err := webassets.New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	res := get(t, h, "/"+webassets.LangIndex, "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s: %d %s", webassets.LangIndex, res.StatusCode, res.Header.Get("Content-Type"))
	}
	var got []webassets.Lang
	if err := json.Unmarshal([]byte(body(t, res)), &got); err != nil {
		t.Fatal(err)
	}
	want := []webassets.Lang{{Code: "ar", Name: "العربية", Reviewed: false}, {Code: "en", Name: "English", Reviewed: true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("index %+v, want %+v", got, want)
	}
	if !contains(h.Build().Shell, "/"+webassets.LangIndex) {
		t.Errorf("the shell lacks %s, so the app offline would know no language", webassets.LangIndex)
	}

	// A new catalog is a new version of the app.
	before := h.Build().Version
	fsys["i18n/vi.json"] = &fstest.MapFile{Data: []byte(`{"_meta.name": "Tiếng Việt", "_meta.reviewed": false}`)}
	h2, err := webassets.New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if h2.Build().Version == before {
		t.Error("adding a catalog left the version as it was")
	}
	if b := body(t, get(t, h2, "/"+webassets.LangIndex, "")); !strings.Contains(b, `"vi"`) {
		t.Errorf("index after adding vi.json: %s", b)
	}

	for name, cat := range map[string]string{
		"no meta":       `{"a": "A"}`,
		"reviewed text": `{"_meta.name": "X", "_meta.reviewed": "no"}`,
		"not JSON":      `{"_meta.name": `,
	} {
		fsys["i18n/xx.json"] = &fstest.MapFile{Data: []byte(cat)}
		if _, err := webassets.New(fsys); err == nil || !strings.Contains(err.Error(), "i18n/xx.json") {
			t.Errorf("%s: New gave %v, want an error naming i18n/xx.json", name, err)
		}
	}
}

// TestEmbeddedLangs: the real catalogs all make it into the index.
func TestEmbeddedLangs(t *testing.T) {
	fsys := web.FS()
	if fsys == nil {
		t.Skip("built with no_ui")
	}
	h, err := webassets.New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var got []webassets.Lang
	if err := json.Unmarshal([]byte(body(t, get(t, h, "/"+webassets.LangIndex, ""))), &got); err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, l := range got {
		codes[l.Code] = true
	}
	for _, c := range []string{"en", "es", "ar", "vi", "zh"} {
		if !codes[c] {
			t.Errorf("index lacks %s: %+v", c, got)
		}
	}
}
