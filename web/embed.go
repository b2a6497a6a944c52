//go:build !no_ui

// Package web is the browser app: the PWA shell (index.html, sw.js, the
// manifest), its UI modules in app/, message catalogs in i18n/, icons, and
// the wasm build that wasm/'s build program writes to dist/. The server
// embeds it, so one binary is the whole product; build with -tags no_ui to
// leave it out (a server behind a separately hosted app, or a faster
// compile while working on the server).
package web

import (
	"embed"
	"io/fs"
)

// files holds the top-level shell files by name and every subfolder with
// "*/*". The wildcard is there because dist/ is generated and gitignored: a
// pattern naming dist would break every build of a fresh clone, while "*/*"
// matches app/ always and dist/ whenever it has been built. Go files stay
// out: none live below web/ (the browser tests are in server/browser).
//
//go:embed index.html sw.js manifest.webmanifest */*
var files embed.FS

// FS returns the app's files, or nil when built with no_ui.
func FS() fs.FS { return files }
