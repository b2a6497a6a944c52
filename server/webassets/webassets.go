// Package webassets serves the embedded web app: the PWA shell (index.html,
// sw.js, the manifest, UI modules, catalogs, icons) and the wasm build in
// dist/.
//
// It exists instead of http.FileServer because a family on a prepaid phone
// pays for every byte: the wasm build is compressed once, at build time
// (dist/x.wasm.br and dist/x.wasm.gz beside dist/x.wasm), and this handler
// picks the variant the browser accepts; hashed names (dist/plansync.<hash>.wasm)
// are cached for a year, since a new build has new names; everything whose
// name stays the same across builds (index.html, sw.js, the manifest, the
// shell's modules) is revalidated on every load (no-cache with a strong ETag,
// so an unchanged file costs a 304).
//
// It also lists the UI catalogs (i18n/<code>.json) in i18n/index.json
// (LangIndex), which the app reads to know its languages.
//
// Everything is read and hashed once, in New: the embedded files never
// change while the server runs, so serving is map lookups.
package webassets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cache lifetimes.
const (
	// ImmutableCache is for content-hashed names: the bytes behind such a
	// name never change, so browsers need never ask again.
	ImmutableCache = "public, max-age=31536000, immutable"
	// RevalidateCache is for names that stay the same across builds: the
	// browser may keep a copy but must check it (cheaply, by ETag) before
	// use. The service worker, not the HTTP cache, is what opens the app
	// offline.
	RevalidateCache = "no-cache"
	// minGzipSize is the smallest shell file worth compressing at start.
	minGzipSize = 1024 // bytes
)

// ServiceWorker is the service worker's path. Its build line (see
// buildLine) is rewritten with this build's version and file list, so that
// any change to any file changes sw.js byte for byte, which is how a browser
// notices a new version.
const ServiceWorker = "sw.js"

// buildLine is the line of sw.js that New replaces; it must appear exactly
// once.
var buildLine = regexp.MustCompile(`(?m)^const BUILD = .*;.*$`)

// hashedName matches content-hashed names such as plansync.3fa9c2d1.wasm or
// wasm_exec.0a1b2c3d4e5f.js: eight or more hex digits between dots.
var hashedName = regexp.MustCompile(`\.[0-9a-f]{8,}\.[a-z0-9]+$`)

// Build is what sw.js learns about this build.
type Build struct {
	// Version changes whenever any served file changes; the service
	// worker names its cache after it.
	Version string `json:"version"`
	// Shell lists the URLs to precache besides those in dist/assets.json:
	// every file of the shell, "/" for index.html.
	Shell []string `json:"shell"`
}

// variant is one stored encoding of a file.
type variant struct {
	body []byte
	etag string
}

type entry struct {
	ctype string
	cache string
	// raw is the identity encoding; br and gz are nil when there is no
	// such variant.
	raw, br, gz *variant
}

// Handler serves a web app's files.
type Handler struct {
	files   map[string]*entry
	build   Build
	modTime time.Time
}

// New reads every file of fsys. Files named x.br and x.gz are served only
// as encodings of x, never on their own.
func New(fsys fs.FS) (*Handler, error) {
	h := &Handler{files: map[string]*entry{}, modTime: time.Now()}
	raw := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		raw[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the web app: %w", err)
	}
	if _, ok := raw[LangIndex]; !ok {
		idx, err := langIndex(raw)
		if err != nil {
			return nil, err
		}
		if idx != nil {
			raw[LangIndex] = idx
		}
	}
	names := make([]string, 0, len(raw))
	for p := range raw {
		if strings.HasSuffix(p, ".br") || strings.HasSuffix(p, ".gz") {
			if _, ok := raw[p[:len(p)-3]]; ok {
				continue
			}
		}
		names = append(names, p)
	}
	slices.Sort(names)
	all := sha256.New()
	for _, p := range names {
		sum := sha256.Sum256(raw[p])
		fmt.Fprintf(all, "%s %x\n", p, sum)
		if p == ServiceWorker || strings.HasPrefix(p, "dist/") {
			continue
		}
		if p == "index.html" {
			h.build.Shell = append(h.build.Shell, "/")
		}
		h.build.Shell = append(h.build.Shell, "/"+p)
	}
	h.build.Version = hex.EncodeToString(all.Sum(nil))[:16]
	for _, p := range names {
		b := raw[p]
		if p == ServiceWorker {
			var err error
			if b, err = h.stamp(b); err != nil {
				return nil, err
			}
		}
		e := &entry{ctype: contentType(p), cache: cacheControl(p), raw: newVariant(b, "")}
		if v, ok := raw[p+".br"]; ok {
			e.br = newVariant(v, "br")
		}
		if v, ok := raw[p+".gz"]; ok {
			e.gz = newVariant(v, "gz")
		} else if len(b) >= minGzipSize && compressible(e.ctype) {
			e.gz = newVariant(gzipped(b), "gz")
		}
		h.files[p] = e
	}
	return h, nil
}

// Build returns what sw.js was stamped with.
func (h *Handler) Build() Build { return h.build }

func (h *Handler) stamp(sw []byte) ([]byte, error) {
	if n := len(buildLine.FindAllIndex(sw, -1)); n != 1 {
		return nil, fmt.Errorf("webassets: %s must have exactly one line starting %q, has %d", ServiceWorker, "const BUILD = ", n)
	}
	js, err := json.Marshal(h.build)
	if err != nil {
		return nil, err
	}
	line := []byte("const BUILD = " + string(js) + "; // stamped by the server (server/webassets)")
	return buildLine.ReplaceAllLiteral(sw, line), nil
}

func newVariant(b []byte, enc string) *variant {
	sum := sha256.Sum256(b)
	tag := hex.EncodeToString(sum[:12])
	if enc != "" {
		tag += "-" + enc
	}
	return &variant{body: b, etag: `"` + tag + `"`}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "json") ||
		strings.Contains(ctype, "javascript") || strings.Contains(ctype, "svg") || ctype == "application/wasm"
}

// contentType is set from the extension alone: the process's MIME table
// varies by machine, and wasm must be application/wasm for
// instantiateStreaming to accept it.
func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".wasm":
		return "application/wasm"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

func cacheControl(p string) string {
	if strings.HasPrefix(p, "dist/") && hashedName.MatchString(p) {
		return ImmutableCache
	}
	return RevalidateCache
}

// ServeHTTP serves GET and HEAD; "/" is index.html. Routes inside the app
// are in the URL's fragment (#/plan/...), so every other path is a file or
// a 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if p == "" {
		p = "index.html"
	}
	e, ok := h.files[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	v, enc := e.raw, ""
	if e.br != nil || e.gz != nil {
		w.Header().Add("Vary", "Accept-Encoding")
		switch acc := r.Header.Get("Accept-Encoding"); {
		case e.br != nil && accepts(acc, "br"):
			v, enc = e.br, "br"
		case e.gz != nil && accepts(acc, "gzip"):
			v, enc = e.gz, "gzip"
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", e.ctype)
	hd.Set("Cache-Control", e.cache)
	hd.Set("ETag", v.etag)
	if enc != "" {
		hd.Set("Content-Encoding", enc)
		// The loader's progress bar counts decoded bytes; Content-Length
		// counts encoded ones.
		hd.Set("X-Uncompressed-Length", strconv.Itoa(len(e.raw.body)))
	}
	if p == ServiceWorker {
		// The app's scope is the whole origin.
		hd.Set("Service-Worker-Allowed", "/")
	}
	// ServeContent answers If-None-Match with 304 and handles HEAD and
	// ranges; the modification time is the server's start, for clients
	// that only send If-Modified-Since.
	http.ServeContent(w, r, "", h.modTime, bytes.NewReader(v.body))
}

// accepts reports whether an Accept-Encoding header allows coding with a
// non-zero quality.
func accepts(header, coding string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		params = strings.TrimSpace(params)
		if q, ok := strings.CutPrefix(params, "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
			return err == nil && f > 0
		}
		return true
	}
	return false
}
