//go:build js

package uuid

import (
	"errors"
	"syscall/js"
)

// randomBytes fills b from the browser's crypto.getRandomValues. In the
// browser crypto/rand reads the same source, but it links in the FIPS 140
// module (AES-GCM, SHA-3, HMAC-DRBG, math/big): about 186 KB of a wasm a
// family downloads on a prepaid plan, for 16 random bytes at a time.
func randomBytes(b []byte) error {
	c := js.Global().Get("crypto")
	if c.IsUndefined() {
		return errors.New("uuid: no crypto.getRandomValues in this JavaScript environment")
	}
	a := js.Global().Get("Uint8Array").New(len(b))
	c.Call("getRandomValues", a)
	js.CopyBytesToGo(b, a)
	return nil
}
