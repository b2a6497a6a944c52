//go:build !js

package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbidden are the packages the browser build must not carry (DESIGN.md
// section 8): each costs hundreds of KB on a prepaid phone plan, and the
// browser already does their job (fetch, its WebSocket, JSON). The msgpack
// library is on the list for its reflection, which cost 480 KB: the shared
// types encode themselves through shared/wire instead.
var forbidden = []string{"net/http", "encoding/json", "crypto/tls", "github.com/vmihailenco/msgpack/v5"}

// TestWasmDeps lists the dependencies of everything under wasm/ for the
// browser (GOOS=js go list -deps ./wasm/...) and fails if a forbidden
// package is among them, naming who imports it. The native build tool
// lives in server/cmd/wasmbuild so that nothing under wasm/ needs them.
func TestWasmDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	importers := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, imp := range f[1:] {
			importers[imp] = append(importers[imp], f[0])
		}
	}
	for _, pkg := range forbidden {
		who, ok := importers[pkg]
		if !ok {
			continue
		}
		slices.Sort(who)
		t.Errorf("the wasm build depends on %s, imported by %s", pkg, strings.Join(who, ", "))
	}
}
