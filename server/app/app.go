// Package app wires one Plansync server together: store, hub, HTTP. The
// plansync command and the end-to-end tests both run it, so the tests run
// exactly what ships.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"github.com/emersion/go-smtp"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/access"
	"github.com/plansync/plansync/server/api"
	"github.com/plansync/plansync/server/auth"
	"github.com/plansync/plansync/server/clientaddr"
	"github.com/plansync/plansync/server/cluster"
	"github.com/plansync/plansync/server/httpd"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/server/notify"
	"github.com/plansync/plansync/server/secevent"
	"github.com/plansync/plansync/server/store"
	"github.com/plansync/plansync/server/translate"
	"github.com/plansync/plansync/server/translations"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Version is the server's version, set at build time with -ldflags -X.
var Version = "dev"

// Config is everything the server needs to start.
type Config struct {
	Addr    string // listen address, e.g. 127.0.0.1:8080; port 0 picks one
	DataDir string // badger folder
	// Seed creates the demo school and plans on first start.
	Seed           bool
	AllowedOrigins []string
	Logger         *slog.Logger
	Web            fs.FS
	// Store and Hub override storage and connection settings (tests,
	// bench mode).
	Store store.Options
	Hub   hub.Options
	// Auth overrides account settings (tests: a clock, cheaper hashing).
	// Its Store, Logger and OnRevoke are set here.
	Auth auth.Options
	// APILimits overrides the API's rate limits.
	APILimits api.Limits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (server/clientaddr); none by default.
	TrustedProxies []netip.Prefix
	// HTTPTimeouts override the HTTP server's timeouts (tests).
	HTTPTimeouts httpd.Timeouts
	// AdminAddr is the loopback address of the admin listener (backup,
	// metrics, health detail); off when empty. AdminTokenFile is the file
	// of the token it asks for: when empty a fresh token is written to
	// AdminTokenFileName in DataDir at every start. AdminSocket is a unix
	// socket serving the same without a token (its mode, 0600, is the
	// check); off when empty.
	AdminAddr      string
	AdminTokenFile string
	AdminSocket    string
	// TLSCert and TLSKey are PEM files: when both are set the server
	// serves HTTPS (and wss) itself, with HSTS; otherwise plain HTTP, for
	// running behind a TLS proxy or on a laptop.
	TLSCert, TLSKey string
	// Notify turns on notifications; nil (the default) leaves them off.
	Notify *NotifyConfig
	// Translate is the machine translation engine (server/translate);
	// nil translates nothing, and no text is labelled a translation.
	Translate translate.Engine
	// Translations overrides the translator's settings (tests); its
	// Store, Engine and Logger are set here.
	Translations translations.Options
	// Cluster, when set, runs this server as one node of a cluster
	// (server/cluster); nil is the single-node badger server.
	Cluster *ClusterConfig
}

// App is a running server.
type App struct {
	cfg      Config
	log      *slog.Logger
	Store    *store.Store
	Hub      *hub.Hub
	Registry *prometheus.Registry
	srv      *http.Server
	Auth     *auth.Service
	API      *api.API
	// Events is the security event log every part writes to.
	Events *secevent.Log
	// Clients names the client of a request (peer or forwarded address,
	// grouped for rate limits).
	Clients *clientaddr.Resolver
	ln      net.Listener
	wg      sync.WaitGroup
	tls     bool

	admin                      []*adminServer
	adminAddr                  string
	adminToken, adminTokenFile string
	// Demo is what the seeded demo prints at start, when Seed is on.
	Demo *Demo
	// Notify is the notifier, nil when Config.Notify is.
	Notify    *notify.Service
	replySMTP *smtp.Server
	replyAddr string
	// Translator computes machine translations after commits; nil when
	// no engine is configured.
	Translator *translations.Service
	// cluster is set in cluster mode; Store is then its local view.
	cluster *clustered
}

// Open opens the store, builds the hub and starts serving.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	tlsConf, err := loadTLS(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: cfg.Logger, Registry: prometheus.NewRegistry(), tls: tlsConf != nil,
		Events: secevent.New(cfg.Logger), Clients: clientaddr.New(cfg.TrustedProxies)}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), secevent.Collector())
	if cfg.Cluster != nil && (cfg.Notify != nil || cfg.Translate != nil) {
		// Each node would send every notification and translate every
		// text: the outbox and the translator are single-node for now.
		return nil, errors.New("notifications and machine translation are not yet supported in cluster mode: run without --notify and --translate, or on a single node")
	}
	so := cfg.Store
	so.Logger = cfg.Logger
	so.Registry = a.Registry
	var clock *cluster.Clock
	if cfg.Cluster != nil {
		// Time-dependent decisions of the view are the log entry's time.
		clock = new(cluster.Clock)
		so.Now = clock.Now
	}
	local, err := store.Open(cfg.DataDir, so)
	if err != nil {
		return nil, err
	}
	a.Store = local
	var st server.Store = local
	if cfg.Cluster != nil {
		if a.cluster, err = openCluster(ctx, cfg, local, clock); err != nil {
			_ = local.Close()
			return nil, err
		}
		st = a.cluster.store
	}
	ao := cfg.Auth
	ao.Store = st
	ao.Logger = cfg.Logger
	ao.Events = a.Events
	a.Auth = auth.New(ao)
	a.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "plansync_auth_hashes_total",
			Help: "Password and invite hashes and verifications run (argon2id).",
		}, func() float64 { return float64(a.Auth.HashStats().Hashes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "plansync_auth_hash_busy_total",
			Help: "Requests answered 503 because every hashing slot stayed taken for the queue timeout.",
		}, func() float64 { return float64(a.Auth.HashStats().Refused) }),
	)
	if cfg.Seed {
		demo, err := Seed(ctx, st, a.Auth, filepath.Join(cfg.DataDir, "demo-token"))
		if err != nil {
			_ = a.closeStore()
			return nil, fmt.Errorf("seeding the demo: %w", err)
		}
		a.Demo = demo
	}
	ho := cfg.Hub
	ho.Store = st
	// The notifier and the translator hear every durable commit after
	// the hub's fan-out, and only queue: commits never wait for them.
	var taps []func([]server.Committed)
	if cfg.Notify != nil {
		if err := a.openNotify(ctx); err != nil {
			_ = a.closeStore()
			return nil, err
		}
		taps = append(taps, a.Notify.Offer)
	}
	if cfg.Translate != nil {
		to := cfg.Translations
		to.Store, to.Engine = st, cfg.Translate
		if to.Logger == nil {
			to.Logger = cfg.Logger
		}
		a.Translator = translations.New(to)
		// The translator hears every durable commit after the hub's
		// fan-out, and only queues keys: commits never wait for it.
		taps = append(taps, a.Translator.Notify)
		a.Registry.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "plansync_translations_total", Help: "Machine translations committed.",
			}, func() float64 { return float64(a.Translator.Stats().Translated) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "plansync_translation_failures_total", Help: "Records whose translation failed (engine error, timeout, busy).",
			}, func() float64 { return float64(a.Translator.Stats().Failed) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "plansync_translation_dropped_total", Help: "Changed records not queued for translation because the queue was full.",
			}, func() float64 { return float64(a.Translator.Stats().Dropped) }),
		)
		a.log.Info("machine translation on", "engine", cfg.Translate.Name())
	}
	if len(taps) > 0 {
		ho.Store = commitTap{Store: st, taps: taps}
	}
	ho.Logger = cfg.Logger
	ho.Registry = a.Registry
	ho.AllowedOrigins = cfg.AllowedOrigins
	if ho.Security == nil {
		ho.Security = a.Events
	}
	if ho.ClientAddr == nil {
		// The same client key as the API's rate limits: the peer, or the
		// forwarded address when the peer is a trusted proxy.
		ho.ClientAddr = a.Clients.Key
	}
	if ho.Rules == nil {
		// Roles decide every op and every record sent (server/access).
		ho.Rules = access.Rules{Records: st}
	}
	if ho.Seen == nil {
		// A sync hello is a use of its session, for "last seen".
		ho.Seen = a.Auth.Seen
	}
	a.Hub = hub.New(ho)
	if cfg.Seed && a.Translator != nil {
		// The demo's seeded texts were written before the translator ran.
		if err := a.Translator.Backfill(ctx, st); err != nil {
			a.log.Warn("queueing the demo's texts for translation", "err", err)
		}
	}
	// Revoking a session closes its live sockets; a change of someone's
	// memberships re-reads them on theirs.
	a.Auth.SetOnRevoke(a.Hub.CloseSession)
	a.Auth.SetOnAccessChange(a.Hub.Revalidate)
	if a.cluster != nil {
		// Every node applies every revocation: a session ended through
		// any node closes its sockets on this one.
		a.cluster.store.SetHooks(a.Hub.CloseSession, a.Hub.Revalidate)
	}
	var langsChanged func(uuid.UUID)
	if a.Translator != nil {
		// A person who switched the app's language reads their plans'
		// older texts in it too, not only what is written after.
		langsChanged = func(user uuid.UUID) {
			ms, err := st.Memberships(context.Background(), user)
			if err != nil {
				a.log.Warn("reading memberships after a change of language", "user", user, "err", err)
				return
			}
			spaces := make([]uuid.UUID, 0, len(ms))
			for _, m := range ms {
				spaces = append(spaces, m.Space)
			}
			a.Translator.LanguagesChanged(st, spaces)
		}
	}
	a.API = api.New(api.Options{Auth: a.Auth, Store: st, Rules: ho.Rules, Logger: cfg.Logger, Now: cfg.Auth.Now, Limits: cfg.APILimits,
		ClientKey: a.Clients.Key, Events: a.Events, LanguagesChanged: langsChanged})
	handler := httpd.New(httpd.Options{
		Sync:    a.Hub,
		Healthy: a.Healthy,
		Web:     cfg.Web,
		Logger:  cfg.Logger,
		API:     withNotify(a.API, a.Notify),
		HSTS:    a.tls,
	})
	a.srv = httpd.NewServer(handler, cfg.Logger, cfg.HTTPTimeouts)
	if a.tls {
		a.srv.TLSConfig = tlsConf
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Hub.Close()
		_ = a.closeNotify(ctx)
		a.closeTranslator()
		a.wg.Wait()
		_ = a.closeStore()
		return nil, err
	}
	a.ln = ln
	if err := a.openAdmin(); err != nil {
		_ = ln.Close()
		_ = a.closeAdmin(ctx)
		a.Hub.Close()
		_ = a.closeNotify(ctx)
		a.closeTranslator()
		a.wg.Wait()
		_ = a.closeStore()
		return nil, err
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		serve := a.srv.Serve
		if a.tls {
			// The certificate is in TLSConfig already.
			serve = func(ln net.Listener) error { return a.srv.ServeTLS(ln, "", "") }
		}
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "err", err)
		}
	}()
	a.log.Info("serving", "addr", ln.Addr().String(), "tls", a.tls, "data", cfg.DataDir, "version", Version)
	return a, nil
}

// Addr is the address the server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// URL is the sync endpoint's WebSocket URL.
func (a *App) URL() string {
	if a.tls {
		return "wss://" + a.Addr() + "/sync"
	}
	return "ws://" + a.Addr() + "/sync"
}

// BaseURL is the server's http:// or https:// root.
func (a *App) BaseURL() string {
	if a.tls {
		return "https://" + a.Addr()
	}
	return "http://" + a.Addr()
}

// loadTLS reads the certificate pair, or returns nil when neither file is
// named.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS needs both a certificate (--tls-cert) and its key (--tls-key)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Close shuts down cleanly: stop accepting, let every connection commit
// what it has read and send its acks, then close the store (which finishes
// in-flight commits and closes badger).
func (a *App) Close(ctx context.Context) error {
	err := errors.Join(a.srv.Shutdown(ctx), a.closeAdmin(ctx))
	a.Hub.Close()
	err = errors.Join(err, a.closeNotify(ctx))
	a.wg.Wait()
	a.closeTranslator()
	if cerr := a.closeStore(); err == nil {
		err = cerr
	}
	return err
}

func (a *App) closeTranslator() {
	if a.Translator != nil {
		a.Translator.Close()
	}
}

// commitTap is the store as the hub sees it, with more listeners on its
// commit hook (the store takes one): the notifier and the translator.
type commitTap struct {
	server.Store
	taps []func([]server.Committed)
}

// OnCommit implements server.Store: fn (the hub's fan-out), then each tap.
func (c commitTap) OnCommit(fn func([]server.Committed)) {
	c.Store.OnCommit(func(b []server.Committed) {
		fn(b)
		for _, tap := range c.taps {
			tap(b)
		}
	})
}

// closeStore closes the store: in cluster mode the cluster store (which
// closes the badger view), its connection and the embedded node.
func (a *App) closeStore() error {
	if a.cluster != nil {
		return a.cluster.close()
	}
	return a.Store.Close()
}
