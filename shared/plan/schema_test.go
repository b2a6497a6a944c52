package plan

import (
	"slices"
	"testing"
)

// TestSchemaConsistent guards the tables against mistakes a reader would
// not spot: a LangField naming no language field, an empty enum, a list
// without a bound.
func TestSchemaConsistent(t *testing.T) {
	for _, kind := range []SpaceKind{Student, School} {
		cols := Collections(kind)
		if len(cols) == 0 {
			t.Fatalf("%s: no collections", kind)
		}
		for _, c := range cols {
			if c.Kind != kind {
				t.Errorf("%s: kind %q, want %q", c.Name, c.Kind, kind)
			}
			seen := map[string]bool{}
			for i := range c.Fields {
				f := &c.Fields[i]
				if f.Name == "" || seen[f.Name] || f.Name[0] == '_' || label(f.Name) != f.Name {
					t.Errorf("%s: bad or repeated field name %q", c.Name, f.Name)
				}
				seen[f.Name] = true
				checkFieldDef(t, c, c.Name+"."+f.Name, f, 0)
			}
		}
	}
}

func checkFieldDef(t *testing.T, c *Collection, path string, f *Field, depth int) {
	t.Helper()
	if f.Text {
		if f.Type != TypeString {
			t.Errorf("%s: Text on a %s field", path, f.Type)
		}
		lf, ok := c.Field(f.LangField)
		if !ok || lf.Type != TypeLang {
			t.Errorf("%s: LangField %q is not a language field of %s", path, f.LangField, c.Name)
		}
	} else if f.LangField != "" {
		t.Errorf("%s: LangField without Text", path)
	}
	switch f.Type {
	case TypeString:
		if f.MaxLen <= 0 {
			t.Errorf("%s: no MaxLen", path)
		}
	case TypeEnum:
		if len(f.Enum) == 0 {
			t.Errorf("%s: empty enum", path)
		}
		for i, v := range f.Enum {
			if v == "" || slices.Contains(f.Enum[:i], v) || label(v) != v {
				t.Errorf("%s: bad or repeated enum value %q", path, v)
			}
		}
	case TypeInt, TypeNumber:
		if f.Min > f.Max {
			t.Errorf("%s: Min > Max", path)
		}
	case TypeList, TypeObject:
		if depth >= MaxDepth {
			t.Errorf("%s: nests deeper than MaxDepth", path)
		}
		if f.Type == TypeList {
			if f.Elem == nil || f.MaxItems <= 0 || f.Elem.Name != "" || f.Elem.Required {
				t.Errorf("%s: list needs an unnamed, optional Elem and MaxItems", path)
			} else {
				checkFieldDef(t, c, path+"[]", f.Elem, depth+1)
			}
			if f.Unique && f.Elem != nil && f.Elem.Type != TypeEnum && f.Elem.Type != TypeLang && f.Elem.Type != TypeString {
				t.Errorf("%s: Unique on a list of %s", path, f.Elem.Type)
			}
		} else {
			if len(f.Fields) == 0 {
				t.Errorf("%s: object without fields", path)
			}
			for i := range f.Fields {
				checkFieldDef(t, c, path+"."+f.Fields[i].Name, &f.Fields[i], depth+1)
			}
		}
	case TypeBool, TypeDate, TypeTimestamp, TypeID, TypeLang:
	default:
		t.Errorf("%s: unknown type %q", path, f.Type)
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	c, ok := Lookup(Student, "goals")
	if !ok {
		t.Fatal("goals not found")
	}
	f, ok := c.Field("status")
	if !ok {
		t.Fatal("goals.status not found")
	}
	f.Enum[0] = "anything"
	f.Enum = append(f.Enum, "done")
	d, _ := c.Field("description")
	d.MaxLen = 1 << 30
	c.Fields = nil

	if err := ValidateFields(Student, "goals", map[string]any{"status": "done"}); CodeOf(err) != CodeNotInEnum {
		t.Errorf("mutating a looked-up schema changed validation: %v", err)
	}
	again, _ := Lookup(Student, "goals")
	if st, _ := again.Field("status"); st.Enum[0] != "not_started" {
		t.Errorf("mutating a looked-up schema changed the next lookup: %v", st.Enum)
	}
	m, _ := Lookup(Student, "meetings")
	pt, _ := m.Field("proposed_times")
	pt.Elem.Fields[0].Required = false
	pt.Elem.MaxLen = 9
	if err := ValidateFields(Student, "meetings", map[string]any{"proposed_times": []any{map[string]any{}}}); CodeOf(err) != CodeRequired {
		t.Errorf("mutating a nested looked-up field changed validation: %v", err)
	}
}

func TestLookupAndCollections(t *testing.T) {
	want := map[SpaceKind][]string{
		Student: {"about", "goals", "actions", "checkins", "notes", "meetings", "family", "translations", "translation_flags", "meeting_answers", "suggestions"},
		School:  {"services", "events"},
	}
	for kind, names := range want {
		var got []string
		for _, c := range Collections(kind) {
			got = append(got, c.Name)
		}
		if !slices.Equal(got, names) {
			t.Errorf("Collections(%s) = %v, want %v", kind, got, names)
		}
		for _, n := range names {
			if c, ok := Lookup(kind, n); !ok || c.Name != n {
				t.Errorf("Lookup(%s, %s) failed", kind, n)
			}
		}
	}
	if _, ok := Lookup(School, "goals"); ok {
		t.Error("goals found in a school space")
	}
	if _, ok := Lookup("district", "goals"); ok {
		t.Error("goals found in an unknown kind")
	}
	if got := Collections("district"); len(got) != 0 {
		t.Errorf("Collections of an unknown kind = %v", got)
	}
	if _, ok := (&Collection{}).Field("x"); ok {
		t.Error("field found in an empty collection")
	}
}

// TestTextFieldsMarked pins the fields a later language layer depends on.
func TestTextFieldsMarked(t *testing.T) {
	cases := []struct {
		kind       SpaceKind
		coll, name string
		lang       string
	}{
		{Student, "about", "text", "lang"},
		{Student, "goals", "description", "description_lang"},
		{Student, "goals", "target", "description_lang"},
		{Student, "actions", "what", "lang"},
		{Student, "checkins", "what_happened", "lang"},
		{Student, "notes", "text", "lang"},
		{Student, "meetings", "agenda", "lang"},
		{Student, "meetings", "agreed_actions", "lang"},
		{Student, "family", "barriers_detail", "lang"},
		{School, "services", "offers", "lang"},
		{School, "events", "description", "lang"},
	}
	for _, tc := range cases {
		c, _ := Lookup(tc.kind, tc.coll)
		f, ok := c.Field(tc.name)
		if !ok || !f.Text || f.LangField != tc.lang {
			t.Errorf("%s.%s: want Text with LangField %q, got %+v", tc.coll, tc.name, tc.lang, f)
		}
	}
	for _, notText := range [][2]string{{"notes", "author_name"}, {"checkins", "by"}, {"notes", "lang"}} {
		c, _ := Lookup(Student, notText[0])
		if f, _ := c.Field(notText[1]); f.Text {
			t.Errorf("%s.%s: marked as Text", notText[0], notText[1])
		}
	}
}
