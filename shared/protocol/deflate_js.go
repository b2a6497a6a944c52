//go:build js

package protocol

import "syscall/js"

// In the browser, frame bodies are deflated by the browser's own
// CompressionStream("deflate-raw") rather than Go's compress/flate, whose
// compressor costs the wasm binary about 80 KB (issue 5's size budget).
// Inflating stays in Go: every frame the server sends must be readable,
// and the Go decoder bounds a "zip bomb" (MaxInflatedBytes).
//
// deflate waits for a promise, so it must run on a goroutine of its own
// (as the client engine's sends do), never in a js.FuncOf callback. Where
// the browser lacks the stream, or it fails, the body goes uncompressed,
// which every receiver accepts.
func deflate(body []byte) (z []byte, _ error) {
	defer func() {
		if recover() != nil {
			z = nil
		}
	}()
	g := js.Global()
	cs := g.Get("CompressionStream")
	if !cs.Truthy() || !g.Get("Response").Truthy() || !g.Get("Blob").Truthy() {
		return nil, nil
	}
	stream := cs.New("deflate-raw") // throws where deflate-raw is unknown
	src := g.Get("Uint8Array").New(len(body))
	js.CopyBytesToJS(src, body)
	blob := g.Get("Blob").New([]any{src})
	resp := g.Get("Response").New(blob.Call("stream").Call("pipeThrough", stream))

	done := make(chan js.Value, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- args[0]
		return nil
	})
	defer ok.Release()
	fail := js.FuncOf(func(js.Value, []js.Value) any {
		done <- js.Null()
		return nil
	})
	defer fail.Release()
	resp.Call("arrayBuffer").Call("then", ok, fail)
	buf := <-done
	if buf.IsNull() {
		return nil, nil
	}
	out := g.Get("Uint8Array").New(buf)
	z = make([]byte, out.Length())
	js.CopyBytesToGo(z, out)
	return z, nil
}
