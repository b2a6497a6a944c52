// Command wasmbuild builds the browser client into web/dist: the wasm
// binary (-trimpath -ldflags='-s -w'), the Go toolchain's wasm_exec.js
// (copied at every build so it always matches the compiler, never
// vendored), content-hashed file names so they can be cached for a year,
// brotli (highest level) and gzip (level 9) copies for the server to send
// precompressed, and assets.json mapping logical names to hashed ones.
// It prints the sizes; the budget is enforced by wasm's budget test.
//
//	go run ./server/cmd/wasmbuild [-out web/dist] [-pkg ./wasm]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/plansync/plansync/server/cmd/wasmbuild/build"
)

func main() {
	out := flag.String("out", "web/dist", "output folder (created; the previous build's files removed)")
	pkg := flag.String("pkg", "./wasm", "package to build")
	flag.Parse()
	assets, err := build.Build(*pkg, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmbuild:", err)
		os.Exit(1)
	}
	for _, name := range []string{"plansync.wasm", "wasm_exec.js"} {
		a := assets[name]
		fmt.Printf("%-14s %-32s raw %9d  gzip %9d  brotli %9d\n", name, a.File, a.Size, a.Gzip, a.Brotli)
	}
}
