package main

import "io/fs"

// webFS is the embedded web app; the browser issue fills web/.
func webFS() fs.FS { return nil }
