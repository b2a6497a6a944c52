package web

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/plansync/plansync/shared/plan"
)

// reference is the catalog every other one must match key for key.
const reference = "en"

func loadCatalogs(t *testing.T) map[string]map[string]string {
	t.Helper()
	paths, err := filepath.Glob("i18n/*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = m
	}
	if out[reference] == nil {
		t.Fatalf("no i18n/%s.json", reference)
	}
	return out
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestCatalogsComplete fails on any key of en.json that another catalog
// lacks or leaves empty, on keys only another catalog has (a typo, or a
// string the UI no longer uses), and on placeholders that differ.
func TestCatalogsComplete(t *testing.T) {
	cats := loadCatalogs(t)
	ref := cats[reference]
	for lang, cat := range cats {
		if lang == reference {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(ref)) {
			v, ok := cat[k]
			switch {
			case !ok:
				t.Errorf("i18n/%s.json: missing %q (en: %q)", lang, k, ref[k])
			case strings.TrimSpace(v) == "":
				t.Errorf("i18n/%s.json: %q is empty", lang, k)
			case !slices.Equal(placeholders(v), placeholders(ref[k])):
				t.Errorf("i18n/%s.json: %q has placeholders %v, en has %v", lang, k, placeholders(v), placeholders(ref[k]))
			}
		}
		for k := range cat {
			if _, ok := ref[k]; !ok {
				t.Errorf("i18n/%s.json: %q is not in en.json", lang, k)
			}
		}
	}
}

// keyCall finds literal keys passed to t() and tn() in the UI modules.
var keyCall = regexp.MustCompile(`\b(tn?)\('([a-zA-Z0-9_.]+)'`)

// dataKey finds data-i18n, data-i18n-aria and data-i18n-placeholder keys.
var dataKey = regexp.MustCompile(`data-i18n(?:-aria|-placeholder)?="([^"]+)"`)

// dynamicKeys are built at run time from a fixed list (tabs, places,
// stop reasons) and so are invisible to keyCall.
var dynamicKeys = []string{
	"plan.about", "plan.goals", "plan.notes", "plan.meetings", "plan.family",
	"school.services", "school.events", "school.none_services", "school.none_events",
	"school.add_services", "school.add_events",
	"goal.school", "goal.home", "goal.add_school", "goal.add_home",
	"sync.signedOut", "sync.upgrade", "sync.userChanged", "sync.stopped",
	"form.save", "form.add", "notes.sendReply",
	"sync.waiting.other", "sync.sending.other",
	"role.family", "role.teacher", "role.support", "role.admin",
}

// TestKeysExist fails when the UI asks for a key en.json lacks: every
// literal key in app/*.js and index.html, every field and enum value of
// the plan's schema, and every validation error code.
func TestKeysExist(t *testing.T) {
	ref := loadCatalogs(t)[reference]
	want := map[string]string{}
	files, _ := filepath.Glob("app/*.js")
	files = append(files, "index.html")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyCall.FindAllStringSubmatch(string(b), -1) {
			k := m[2]
			if m[1] == "tn" {
				k += ".other"
			}
			want[k] = p
		}
		for _, m := range dataKey.FindAllStringSubmatch(string(b), -1) {
			want[m[1]] = p
		}
	}
	for _, k := range dynamicKeys {
		want[k] = "a dynamic key"
	}
	for _, kind := range []plan.SpaceKind{plan.Student, plan.School} {
		for _, c := range plan.Collections(kind) {
			want["thing."+c.Name] = "schema"
			for _, f := range c.Fields {
				schemaKeys(want, c.Name, f.Name, f)
			}
		}
	}
	for _, code := range []plan.Code{plan.CodeTooLong, plan.CodeRequired, plan.CodeNotInEnum, plan.CodeInvalidDate,
		plan.CodeBadLanguageTag, plan.CodeTooManyItems, plan.CodeOutOfRange, plan.CodeControlChar} {
		want["error."+string(code)] = "shared/plan"
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := ref[k]; !ok {
			t.Errorf("%s uses %q, which i18n/en.json lacks", want[k], k)
		}
	}
}

func schemaKeys(want map[string]string, coll, path string, f plan.Field) {
	if f.Type == plan.TypeID {
		return
	}
	want["field."+coll+"."+path] = "schema"
	vals := f.Enum
	if f.Type == plan.TypeList && f.Elem != nil {
		if f.Elem.Type == plan.TypeObject {
			for _, sub := range f.Elem.Fields {
				schemaKeys(want, coll, path+"."+sub.Name, sub)
			}
		}
		vals = f.Elem.Enum
	}
	for _, v := range vals {
		want["enum."+coll+"."+path+"."+v] = "schema"
	}
}
