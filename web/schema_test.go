package web

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/plansync/plansync/shared/plan"
)

var update = flag.Bool("update", false, "rewrite generated files (app/schema.js, icons)")

// jsField is plan.Field as the UI reads it.
type jsField struct {
	Name      string    `json:"name,omitempty"`
	Type      string    `json:"type"`
	MaxLen    int       `json:"maxLen,omitempty"`
	MaxItems  int       `json:"maxItems,omitempty"`
	Min       int64     `json:"min,omitempty"`
	Max       int64     `json:"max,omitempty"`
	Enum      []string  `json:"enum,omitempty"`
	Required  bool      `json:"required,omitempty"`
	Unique    bool      `json:"unique,omitempty"`
	Text      bool      `json:"text,omitempty"`
	LangField string    `json:"langField,omitempty"`
	Elem      *jsField  `json:"elem,omitempty"`
	Fields    []jsField `json:"fields,omitempty"`
}

type jsCollection struct {
	Name   string    `json:"name"`
	Fields []jsField `json:"fields"`
}

func toJS(f plan.Field) jsField {
	j := jsField{Name: f.Name, Type: string(f.Type), MaxLen: f.MaxLen, MaxItems: f.MaxItems, Min: f.Min, Max: f.Max,
		Enum: f.Enum, Required: f.Required, Unique: f.Unique, Text: f.Text, LangField: f.LangField}
	if f.Elem != nil {
		e := toJS(*f.Elem)
		j.Elem = &e
	}
	for _, sub := range f.Fields {
		j.Fields = append(j.Fields, toJS(sub))
	}
	return j
}

// schemaJS renders shared/plan as the ES module the forms are built from.
func schemaJS(t *testing.T) []byte {
	out := map[string][]jsCollection{}
	for _, kind := range []plan.SpaceKind{plan.Student, plan.School} {
		for _, c := range plan.Collections(kind) {
			jc := jsCollection{Name: c.Name}
			for _, f := range c.Fields {
				jc.Fields = append(jc.Fields, toJS(f))
			}
			out[string(kind)] = append(out[string(kind)], jc)
		}
	}
	js, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("// Code generated from shared/plan by web/schema_test.go; DO NOT EDIT.\n")
	b.WriteString("// Regenerate with: go test ./web -run TestSchemaMirror -update\n\n")
	b.WriteString("export const SCHEMA = ")
	b.Write(js)
	b.WriteString(";\n\nexport const MAX_LANG_TAG_LEN = ")
	b.WriteString(jsonString(t, plan.MaxLangTagLen))
	b.WriteString(";\n")
	return b.Bytes()
}

func jsonString(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSchemaMirror keeps app/schema.js equal to shared/plan, so the forms
// never offer a field, enum value or length the server would refuse.
func TestSchemaMirror(t *testing.T) {
	want := schemaJS(t)
	if *update {
		if err := os.WriteFile("app/schema.js", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("app/schema.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("app/schema.js differs from shared/plan: run go test ./web -run TestSchemaMirror -update")
	}
}
