//go:build js

package protocol

import (
	"bytes"
	"testing"
)

// TestDeflateJS: a body deflated by the browser's CompressionStream is a
// frame the Go decoder (the server's) reads back. Runs under Node (see
// wasm/API.md, "Tests").
func TestDeflateJS(t *testing.T) {
	body := bytes.Repeat([]byte("the same goal, written again and again; "), 100)
	z, err := deflate(body)
	if err != nil {
		t.Fatal(err)
	}
	if z == nil || len(z) >= len(body) {
		t.Fatalf("deflate gave %d bytes for %d", len(z), len(body))
	}
	got, err := inflate(z, MaxInflatedBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatal("inflated body differs")
	}
}
