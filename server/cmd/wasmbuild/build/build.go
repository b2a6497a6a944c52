// Package build is wasmbuild's work, shared with the budget test in
// wasm/: build the browser client, hash, precompress, write assets.json.
package build

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/andybalholm/brotli"
)

// hashLen is how many hex digits of the SHA-256 name a file: enough that
// two builds never collide in a cache.
const hashLen = 12

// Asset is one built file in assets.json.
type Asset struct {
	File   string `json:"file"`   // hashed name, relative to the output folder
	Size   int    `json:"size"`   // bytes, uncompressed
	Gzip   int    `json:"gzip"`   // bytes of File.gz
	Brotli int    `json:"brotli"` // bytes of File.br
}

// Build builds pkg for js/wasm into out and returns the assets by logical
// name ("plansync.wasm", "wasm_exec.js").
func Build(pkg, out string) (map[string]Asset, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "wasmbuild")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "plansync.wasm")
	// The wasm's own package (pkg) is built without inlining: it is the
	// JavaScript glue, whose every call crosses into JS and costs far
	// more than a call frame, and inlining it made 37 KB of the binary
	// (a cheap phone downloads and compiles every byte). The engine, the
	// merge and the codecs below it keep their inlining.
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-gcflags="+pkg+"=-l", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	execJS := filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js")

	// Remove the previous build's hashed files so dist holds one version.
	old, _ := filepath.Glob(filepath.Join(out, "plansync.*.wasm*"))
	old2, _ := filepath.Glob(filepath.Join(out, "wasm_exec.*.js*"))
	for _, f := range append(old, old2...) {
		_ = os.Remove(f)
	}

	assets := map[string]Asset{}
	for name, src := range map[string]string{"plansync.wasm": bin, "wasm_exec.js": execJS} {
		a, err := emit(src, out, name)
		if err != nil {
			return nil, err
		}
		assets[name] = a
	}
	b, err := json.MarshalIndent(assets, "", "  ")
	if err != nil {
		return nil, err
	}
	return assets, os.WriteFile(filepath.Join(out, "assets.json"), append(b, '\n'), 0o644)
}

// emit writes src as out/base.<hash>.ext with .br and .gz beside it.
func emit(src, out, logical string) (Asset, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return Asset{}, err
	}
	sum := sha256.Sum256(data)
	ext := filepath.Ext(logical)
	name := strings.TrimSuffix(logical, ext) + "." + hex.EncodeToString(sum[:])[:hashLen] + ext
	var br, gz bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	gw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return Asset{}, err
	}
	for _, w := range []io.WriteCloser{bw, gw} {
		if _, err := w.Write(data); err != nil {
			return Asset{}, err
		}
		if err := w.Close(); err != nil {
			return Asset{}, err
		}
	}
	for suffix, b := range map[string][]byte{"": data, ".br": br.Bytes(), ".gz": gz.Bytes()} {
		if err := os.WriteFile(filepath.Join(out, name+suffix), b, 0o644); err != nil {
			return Asset{}, err
		}
	}
	return Asset{File: name, Size: len(data), Gzip: gz.Len(), Brotli: br.Len()}, nil
}
