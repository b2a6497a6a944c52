package main

import (
	"io/fs"

	"github.com/plansync/plansync/web"
)

// webFS is the embedded web app (nil in a no_ui build).
func webFS() fs.FS { return web.FS() }
