// Package httpd is the server's public HTTP surface: the sync socket, a
// terse health check, the API and the embedded web app, every response
// carrying the security headers. Metrics and health detail are on the
// admin listener (server/app), never here.
package httpd

import (
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/plansync/plansync/server/webassets"
)

// Options configure the handler.
type Options struct {
	// Sync serves the WebSocket endpoint at /sync.
	Sync http.Handler
	// Healthy reports whether the server can take writes; /healthz
	// answers 503 when it returns an error, without saying why (the
	// admin listener does): disk figures and error text help an attacker
	// more than a load balancer.
	Healthy func() error
	// Web is the app's files, served at / by server/webassets
	// (precompressed variants, cache lifetimes, the stamped sw.js); nil
	// serves none.
	Web    fs.FS
	Logger *slog.Logger
	// API is mounted at /api/ when set.
	API http.Handler
	// HSTS sends Strict-Transport-Security: only when this server itself
	// terminates TLS (--tls-cert). Behind a TLS proxy the proxy sends it,
	// and on plain HTTP the header is ignored by browsers anyway.
	HSTS bool
}

// ContentSecurityPolicy allows only our own scripts, no inline code, and
// wasm compilation ('wasm-unsafe-eval'), which the Go app needs.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// HSTSValue tells browsers to use only HTTPS for two years (the preload
// list's minimum is one): a school's server keeps its name for years, and
// a shorter value leaves a window for a downgrade on a café's Wi-Fi.
const HSTSValue = "max-age=63072000"

// New returns the server's root handler.
func New(o Options) http.Handler {
	mux := http.NewServeMux()
	if o.Sync != nil {
		mux.Handle("GET /sync", longLived(o.Sync))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if o.Healthy != nil {
			if err := o.Healthy(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("unavailable\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
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
	return securityHeaders(mux, o.HSTS)
}

func securityHeaders(next http.Handler, hsts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if hsts && r.TLS != nil {
			h.Set("Strict-Transport-Security", HSTSValue)
		}
		next.ServeHTTP(w, r)
	})
}

// Server timeouts, generous enough for a slow phone on a bad network and
// bounded against clients that trickle bytes to hold connections (and
// their goroutines and buffers) open. A sync socket is exempt once
// upgraded: it lives for hours, and the hub keeps its own deadlines
// (hello, pong wait, write wait).
const (
	// ReadHeaderTimeout bounds a request's headers: a few hundred bytes.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds a whole request, body included. The largest body
	// is the API's 16 KiB, seconds even at dial-up speed; without it a
	// body trickled one byte at a time held a connection for ever.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds writing one response. The largest is the web
	// app's wasm (a few MiB, precompressed): two minutes is ~40 KiB/s, a
	// poor mobile link.
	WriteTimeout = 2 * time.Minute
	// IdleTimeout bounds a kept-alive connection between requests.
	IdleTimeout = 120 * time.Second
)

// Timeouts override the server timeouts (tests); zero fields take the
// constants above.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

func (t Timeouts) orDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.ReadHeader, ReadHeaderTimeout)
	def(&t.Read, ReadTimeout)
	def(&t.Write, WriteTimeout)
	def(&t.Idle, IdleTimeout)
	return t
}

// NewServer wraps a handler in an http.Server with the timeouts.
func NewServer(h http.Handler, log *slog.Logger, t Timeouts) *http.Server {
	t = t.orDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// longLived clears the server's read and write deadlines of a WebSocket
// upgrade request before next takes the connection over, so ReadTimeout
// and WriteTimeout bound the handshake but not the socket's life. (The
// websocket library clears them again after hijacking; this does not
// depend on it.) Plain requests keep their deadlines.
func longLived(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
		}
		next.ServeHTTP(w, r)
	})
}
