//go:build !js

package protocol

import (
	"bytes"
	"compress/flate"
	"sync"
)

var flatePool = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.DefaultCompression)
	return w
}}

// deflate compresses a frame body (RFC 1951). A nil result means "send it
// uncompressed", which every receiver accepts.
func deflate(body []byte) ([]byte, error) {
	var z bytes.Buffer
	fw := flatePool.Get().(*flate.Writer)
	fw.Reset(&z)
	_, _ = fw.Write(body)
	err := fw.Close()
	flatePool.Put(fw)
	if err != nil {
		return nil, err
	}
	return z.Bytes(), nil
}
