//go:build !js

package uuid

import "crypto/rand"

// randomBytes fills b from the operating system's random source.
func randomBytes(b []byte) error {
	_, err := rand.Read(b)
	return err
}
