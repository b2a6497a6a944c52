//go:build no_ui

package web

import "io/fs"

// FS returns nil: this build leaves the app out, and the server serves no
// files at /.
func FS() fs.FS { return nil }
