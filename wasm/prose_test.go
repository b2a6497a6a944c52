//go:build !js

package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"slices"
	"testing"

	"github.com/plansync/plansync/shared/plan"
)

var updateProse = flag.Bool("update-prose", false, "rewrite prose.go from shared/plan")

// proseGo renders the prose fields of shared/plan as Go. The browser build
// reads this table rather than importing shared/plan, whose tables and
// validation cost 36 KB of a wasm that is at its budget; the page already
// validates with the generated web/app/schema.js, and the server has the
// last word.
func proseGo() []byte {
	var names []string
	for _, kind := range []plan.SpaceKind{plan.Student, plan.School} {
		for _, c := range plan.Collections(kind) {
			for _, f := range c.Fields {
				if plan.MergesText(kind, c.Name, f.Name) {
					names = append(names, c.Name+"."+f.Name)
				}
			}
		}
	}
	slices.Sort(names)
	var b bytes.Buffer
	b.WriteString("// Code generated from shared/plan by wasm/prose_test.go; DO NOT EDIT.\n\n//go:build js\n\n")
	b.WriteString("// Regenerate with: go test ./wasm -run TestProseMirror -update-prose\n\n")
	b.WriteString("package main\n\n")
	b.WriteString("// proseFields are the fields whose edits carry their base text, so that\n")
	b.WriteString("// concurrent edits of other words merge (plan.MergesText).\n")
	b.WriteString("var proseFields = map[string]bool{\n")
	for _, n := range names {
		fmt.Fprintf(&b, "\t%q: true,\n", n)
	}
	b.WriteString("}\n\n")
	b.WriteString("func mergesText(collection, field string) bool { return proseFields[collection+\".\"+field] }\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		panic(err)
	}
	return out
}

func TestProseMirror(t *testing.T) {
	want := proseGo()
	if *updateProse {
		if err := os.WriteFile("prose.go", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("prose.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("wasm/prose.go differs from shared/plan: run go test ./wasm -run TestProseMirror -update-prose")
	}
}
