// Package httpd is the server's HTTP surface: the sync socket, health and
// metrics endpoints, and the embedded web app, every response carrying the
// security headers.
package httpd

import (
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/plansync/plansync/server/webassets"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the handler.
type Options struct {
	// Sync serves the WebSocket endpoint at /sync.
	Sync http.Handler
	// Gatherer is exposed at /metrics.
	Gatherer prometheus.Gatherer
	// Healthy reports whether the server can take writes; /healthz
	// answers 503 when it returns an error.
	Healthy func() error
	// Web is the app's files, served at / by server/webassets
	// (precompressed variants, cache lifetimes, the stamped sw.js); nil
	// serves none.
	Web    fs.FS
	Logger *slog.Logger
	// API is mounted at /api/ when set.
	API http.Handler
}

// ContentSecurityPolicy allows only our own scripts, no inline code, and
// wasm compilation ('wasm-unsafe-eval'), which the Go app needs.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// New returns the server's root handler.
func New(o Options) http.Handler {
	mux := http.NewServeMux()
	if o.Sync != nil {
		mux.Handle("GET /sync", o.Sync)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if o.Healthy != nil {
			if err := o.Healthy(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("unavailable: " + err.Error() + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if o.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	if o.API != nil {
		mux.Handle("/api/", o.API)
	}
	if o.Web != nil {
		web, err := webassets.New(o.Web)
		if err != nil {
			// A broken embedded app is a build bug; the API and sync
			// still work, so say so on / rather than refuse to start.
			if o.Logger != nil {
				o.Logger.Error("web app not served", "err", err)
			}
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "the web app is missing from this build", http.StatusInternalServerError)
			})
		} else {
			mux.Handle("/", web)
		}
	}
	return securityHeaders(mux)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		next.ServeHTTP(w, r)
	})
}

// Server timeouts: generous enough for a slow phone, bounded against
// clients that trickle headers to hold connections open.
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 120 * time.Second
)

// NewServer wraps a handler in an http.Server with those timeouts.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
