//go:build !unix

package store

import "math"

// freeBytes cannot ask the operating system here; the server is deployed
// on unix, and this keeps the package building elsewhere for development.
func freeBytes(string) (uint64, error) { return math.MaxUint64, nil }
