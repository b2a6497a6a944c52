//go:build !js

package main

import (
	"testing"

	"github.com/plansync/plansync/server/cmd/wasmbuild/build"
)

// The wasm's size budget (issue 5): a family on a prepaid plan downloads
// it once per version, brotli-compressed, and the phone keeps the raw
// bytes compiled. Decimal megabytes, the stricter reading.
const (
	budgetRaw    = 4_500_000
	budgetBrotli = 900_000
)

// TestWasmSizeBudget builds the browser client exactly as `make wasm` does
// (-trimpath -ldflags='-s -w', brotli at its highest level) and fails when
// it outgrows the budget, so that no dependency creeps in unnoticed.
func TestWasmSizeBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm")
	}
	assets, err := build.Build(".", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := assets["plansync.wasm"]
	t.Logf("plansync.wasm: raw %d (budget %d), gzip %d, brotli %d (budget %d)", a.Size, budgetRaw, a.Gzip, a.Brotli, budgetBrotli)
	if a.Size > budgetRaw {
		t.Errorf("wasm is %d bytes raw, budget %d", a.Size, budgetRaw)
	}
	if a.Brotli > budgetBrotli {
		t.Errorf("wasm is %d bytes brotli-compressed, budget %d", a.Brotli, budgetBrotli)
	}
}
