//go:build !linux

package store

import (
	"errors"
	"os"
)

// allocate is not offered here: the store runs without a ballast (the
// server is deployed on Linux; this keeps the package building elsewhere).
func allocate(*os.File, int64) error {
	return errors.New("no fallocate on this system")
}
