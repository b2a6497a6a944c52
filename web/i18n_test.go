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

// catalog is one i18n/<code>.json: its messages and its _meta entries.
type catalog struct {
	msgs map[string]string
	// name is the language's name in itself ("_meta.name").
	name string
	// reviewed says whether a person has read it through ("_meta.reviewed").
	reviewed bool
	// plurals are the CLDR plural forms its language uses
	// ("_meta.plurals", default "one other"): what Intl.PluralRules gives
	// in the browser, and so the forms tn looks for.
	plurals []string
}

// cldrForms are the plural categories Intl.PluralRules may answer.
var cldrForms = []string{"zero", "one", "two", "few", "many", "other"}

func loadCatalogs(t *testing.T) map[string]*catalog {
	t.Helper()
	paths, err := filepath.Glob("i18n/*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*catalog{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		c := &catalog{msgs: map[string]string{}, plurals: []string{"one", "other"}}
		for k, v := range raw {
			var err error
			switch k {
			case "_meta.name":
				err = json.Unmarshal(v, &c.name)
			case "_meta.reviewed":
				err = json.Unmarshal(v, &c.reviewed)
			case "_meta.plurals":
				var s string
				if err = json.Unmarshal(v, &s); err == nil {
					c.plurals = strings.Fields(s)
				}
			default:
				if strings.HasPrefix(k, "_meta.") {
					t.Errorf("%s: unknown %q", p, k)
					continue
				}
				var s string
				err = json.Unmarshal(v, &s)
				c.msgs[k] = s
			}
			if err != nil {
				t.Errorf("%s: %q: %v", p, k, err)
			}
		}
		if _, ok := raw["_meta.name"]; !ok || c.name == "" {
			t.Errorf("%s: no \"_meta.name\" (the language's name in itself, for the picker)", p)
		}
		if _, ok := raw["_meta.reviewed"]; !ok {
			t.Errorf("%s: no \"_meta.reviewed\" (true once a person has read it through)", p)
		}
		for _, f := range c.plurals {
			if !slices.Contains(cldrForms, f) {
				t.Errorf("%s: \"_meta.plurals\" has %q, not a CLDR plural form", p, f)
			}
		}
		if !slices.Contains(c.plurals, "other") {
			t.Errorf("%s: \"_meta.plurals\" lacks \"other\"", p)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = c
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

// pluralBases are the keys tn() is called with: those en.json has as
// both KEY.one and KEY.other.
func pluralBases(ref map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range ref {
		if base, ok := strings.CutSuffix(k, ".other"); ok {
			if _, one := ref[base+".one"]; one {
				out[base] = true
			}
		}
	}
	return out
}

// pluralKey splits KEY.FORM when KEY is a plural base.
func pluralKey(bases map[string]bool, k string) (base, form string, ok bool) {
	i := strings.LastIndexByte(k, '.')
	if i < 0 || !bases[k[:i]] || !slices.Contains(cldrForms, k[i+1:]) {
		return "", "", false
	}
	return k[:i], k[i+1:], true
}

// TestCatalogsComplete fails on any key of en.json that another catalog
// lacks or leaves empty, on keys only another catalog has (a typo, or a
// string the UI no longer uses), and on placeholders that differ. A
// plural (KEY.one and KEY.other in en.json) must have exactly the forms
// the catalog's "_meta.plurals" names, each with en's KEY.other
// placeholders, except that a form other than "other" may spell the
// number out instead of {n} (Arabic "تغييران", two changes). Its output is
// the list of what each catalog lacks:
//
//	go test ./web -run TestCatalogsComplete
func TestCatalogsComplete(t *testing.T) {
	cats := loadCatalogs(t)
	ref := cats[reference].msgs
	bases := pluralBases(ref)
	for _, lang := range slices.Sorted(maps.Keys(cats)) {
		c := cats[lang]
		cat := c.msgs
		check := func(k, v, want string, mayDropN bool) {
			got, exp := placeholders(v), placeholders(want)
			if mayDropN && !slices.Contains(got, "n") {
				exp = slices.DeleteFunc(slices.Clone(exp), func(s string) bool { return s == "n" })
			}
			switch {
			case strings.TrimSpace(v) == "":
				t.Errorf("i18n/%s.json: %q is empty", lang, k)
			case !slices.Equal(got, exp):
				t.Errorf("i18n/%s.json: %q has placeholders %v, en has %v", lang, k, got, exp)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(ref)) {
			if _, _, ok := pluralKey(bases, k); ok {
				continue
			}
			v, ok := cat[k]
			if !ok {
				t.Errorf("i18n/%s.json: missing %q (en: %q)", lang, k, ref[k])
				continue
			}
			check(k, v, ref[k], false)
		}
		for _, base := range slices.Sorted(maps.Keys(bases)) {
			for _, f := range c.plurals {
				k := base + "." + f
				v, ok := cat[k]
				if !ok {
					t.Errorf("i18n/%s.json: missing %q, a plural form of %s (en: %q)", lang, k, lang, ref[base+".other"])
					continue
				}
				check(k, v, ref[base+".other"], f != "other")
			}
		}
		for k := range cat {
			_, f, plural := pluralKey(bases, k)
			if _, inRef := ref[k]; plural && slices.Contains(c.plurals, f) || !plural && inRef {
				continue
			}
			t.Errorf("i18n/%s.json: %q is not in en.json (nor a plural form \"_meta.plurals\" names)", lang, k)
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
	ref := loadCatalogs(t)[reference].msgs
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
