package web

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/plansync/plansync/shared/plan"
)

// jsAccess is plan.Access as the page reads it.
type jsAccess struct {
	Read   bool   `json:"read"`
	Write  string `json:"write"`
	Delete string `json:"delete"`
	// Decide: may write the collection's decision fields (DECISIONS).
	Decide bool `json:"decide,omitempty"`
}

func rolesJS(t *testing.T) []byte {
	writes := map[plan.Write]string{plan.WriteNone: "none", plan.WriteAll: "all", plan.WriteHome: "home", plan.WriteOwn: "own"}
	deletes := map[plan.Delete]string{plan.DeleteNone: "none", plan.DeleteOwn: "own", plan.DeleteAny: "any"}
	out := map[string]map[string]map[string]jsAccess{}
	for _, kind := range []plan.SpaceKind{plan.Student, plan.School} {
		out[string(kind)] = map[string]map[string]jsAccess{}
		for c, row := range plan.RoleTable(kind) {
			out[string(kind)][c] = map[string]jsAccess{}
			for r, a := range row {
				out[string(kind)][c][r] = jsAccess{Read: a.Read, Write: writes[a.Write], Delete: deletes[a.Delete], Decide: a.Decide}
			}
		}
	}
	js, err := json.MarshalIndent(out, "", "  ") // maps marshal sorted: stable output
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("// Code generated from shared/plan by web/roles_test.go; DO NOT EDIT.\n")
	b.WriteString("// Regenerate with: go test ./web -run TestRolesMirror -update\n\n")
	b.WriteString("export const ROLES = ")
	b.Write(js)
	b.WriteString(";\n")
	// Decision fields: written only by roles whose row says decide.
	decisions := map[string]map[string][]string{}
	for _, kind := range []plan.SpaceKind{plan.Student, plan.School} {
		for _, c := range plan.Collections(kind) {
			if d := plan.DecisionFields(kind, c.Name); len(d) > 0 {
				if decisions[string(kind)] == nil {
					decisions[string(kind)] = map[string][]string{}
				}
				decisions[string(kind)][c.Name] = d
			}
		}
	}
	dj, err := json.MarshalIndent(decisions, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("\nexport const DECISIONS = ")
	b.Write(dj)
	// The fields only some roles may write (plan.FieldWriters).
	fw := map[string]map[string]map[string][]string{}
	for _, kind := range []plan.SpaceKind{plan.Student, plan.School} {
		if w := plan.FieldWriters(kind); len(w) > 0 {
			fw[string(kind)] = w
		}
	}
	js, err = json.MarshalIndent(fw, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("\nexport const FIELD_WRITERS = ")
	b.Write(js)
	b.WriteString(";\n")
	return b.Bytes()
}

// TestRolesMirror keeps app/roles.js equal to the role table the server
// enforces (shared/plan), so a screen can show a control only where the
// server will accept what it does.
func TestRolesMirror(t *testing.T) {
	want := rolesJS(t)
	if *update {
		if err := os.WriteFile("app/roles.js", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("app/roles.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("app/roles.js differs from shared/plan: run go test ./web -run TestRolesMirror -update")
	}
}
