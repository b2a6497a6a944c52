package webassets_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/plansync/plansync/server/webassets"
	"github.com/plansync/plansync/web"
)

func app() fstest.MapFS {
	return fstest.MapFS{
		"index.html":                             {Data: []byte("<!doctype html><title>x</title>")},
		"sw.js":                                  {Data: []byte("// sw\nconst BUILD = {}; // stamp\nself.x = 1;\n")},
		"app/ui.js":                              {Data: []byte(strings.Repeat("export const x = 1;\n", 200))},
		"dist/assets.json":                       {Data: []byte(`{"plansync.wasm":"plansync.0123456789abcdef.wasm"}`)},
		"dist/plansync.0123456789abcdef.wasm":    {Data: []byte("\x00asm raw")},
		"dist/plansync.0123456789abcdef.wasm.br": {Data: []byte("brotli")},
		"dist/plansync.0123456789abcdef.wasm.gz": {Data: []byte("gzip")},
	}
}

func get(t *testing.T, h http.Handler, path, acceptEncoding string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if acceptEncoding != "" {
		r.Header.Set("Accept-Encoding", acceptEncoding)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServing(t *testing.T) {
	h, err := webassets.New(app())
	if err != nil {
		t.Fatal(err)
	}
	const wasm = "/dist/plansync.0123456789abcdef.wasm"
	for _, tc := range []struct {
		name, path, accept    string
		status                int
		encoding, body, ctype string
		cache                 string
	}{
		{"brotli preferred", wasm, "gzip, deflate, br", 200, "br", "brotli", "application/wasm", webassets.ImmutableCache},
		{"gzip when no br", wasm, "gzip", 200, "gzip", "gzip", "application/wasm", webassets.ImmutableCache},
		{"br refused by q=0", wasm, "br;q=0, gzip", 200, "gzip", "gzip", "application/wasm", webassets.ImmutableCache},
		{"identity", wasm, "", 200, "", "\x00asm raw", "application/wasm", webassets.ImmutableCache},
		{"variant not served alone", wasm + ".br", "br", 404, "", "", "", ""},
		{"index at root", "/", "", 200, "", "<!doctype html><title>x</title>", "text/html; charset=utf-8", webassets.RevalidateCache},
		{"assets.json revalidated", "/dist/assets.json", "", 200, "", `{"plansync.wasm":"plansync.0123456789abcdef.wasm"}`, "application/json", webassets.RevalidateCache},
		{"shell gzipped at start", "/app/ui.js", "gzip", 200, "gzip", "", "text/javascript; charset=utf-8", webassets.RevalidateCache},
		{"unknown", "/nope", "", 404, "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := get(t, h, tc.path, tc.accept)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if got := res.Header.Get("Content-Encoding"); got != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			if got := res.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := res.Header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if b := body(t, res); tc.body != "" && b != tc.body {
				t.Errorf("body %q, want %q", b, tc.body)
			}
			if tc.encoding != "" && res.Header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q", res.Header.Get("Vary"))
			}
		})
	}
}

func TestNotModified(t *testing.T) {
	h, err := webassets.New(app())
	if err != nil {
		t.Fatal(err)
	}
	res := get(t, h, "/app/ui.js", "gzip")
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if res := get(t, h, "/app/ui.js", "gzip", "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
		t.Fatalf("status %d, want 304", res.StatusCode)
	}
	// The identity variant has its own tag: a cache must not mix them.
	if res := get(t, h, "/app/ui.js", "", "If-None-Match", etag); res.StatusCode != http.StatusOK {
		t.Fatalf("status %d for another encoding's tag, want 200", res.StatusCode)
	}
}

// TestServiceWorkerStamped checks that sw.js carries this build's version
// and shell list, and that any change to any file changes the version
// (which is what makes the browser install the new worker).
func TestServiceWorkerStamped(t *testing.T) {
	fsys := app()
	h1, err := webassets.New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	sw := body(t, get(t, h1, "/sw.js", ""))
	b := h1.Build()
	if !strings.Contains(sw, `"version":"`+b.Version+`"`) || !strings.Contains(sw, `"/app/ui.js"`) || !strings.Contains(sw, "self.x = 1;") {
		t.Fatalf("sw.js not stamped:\n%s", sw)
	}
	if strings.Contains(sw, "dist/") {
		t.Errorf("sw.js shell lists dist files (they come from assets.json):\n%s", sw)
	}
	fsys["dist/plansync.0123456789abcdef.wasm"] = &fstest.MapFile{Data: []byte("\x00asm new")}
	h2, err := webassets.New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if h2.Build().Version == b.Version {
		t.Error("a changed wasm did not change the build version")
	}
	delete(fsys, "sw.js")
	fsys["sw.js"] = &fstest.MapFile{Data: []byte("no build line")}
	if _, err := webassets.New(fsys); err == nil {
		t.Error("a sw.js without its build line was accepted")
	}
}

// TestEmbeddedApp serves the real embedded app: every file the shell
// names must be there, and sw.js must stamp.
func TestEmbeddedApp(t *testing.T) {
	fsys := web.FS()
	if fsys == nil {
		t.Skip("built with no_ui")
	}
	h, err := webassets.New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range h.Build().Shell {
		if res := get(t, h, p, "gzip, br"); res.StatusCode != 200 {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
	for _, p := range []string{"/", "/sw.js", "/manifest.webmanifest", "/app/boot.js", "/i18n/es.json", "/icons/icon-192.png"} {
		if !contains(h.Build().Shell, p) && p != "/sw.js" {
			t.Errorf("shell lacks %s", p)
		}
	}
	if ct := get(t, h, "/manifest.webmanifest", "").Header.Get("Content-Type"); ct != "application/manifest+json" {
		t.Errorf("manifest type %q", ct)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
