//go:build !unix

package store

import (
	"math"
	"os"
)

// freeBytes cannot ask the operating system here; the server is deployed
// on unix, and this keeps the package building elsewhere for development.
func freeBytes(string) (uint64, error) { return math.MaxUint64, nil }

// allocatedBytes is the length of the file at path here (no block count);
// 0 when it cannot say.
func allocatedBytes(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
