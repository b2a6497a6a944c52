package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/loadgen"
	"github.com/plansync/plansync/client/memstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/crash"
	"github.com/plansync/plansync/server/hub"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Config shapes a World.
type Config struct {
	// Users is how many members the space has; each client signs in as one.
	Users int
	// Hub overrides connection limits (heartbeat, pong wait...).
	Hub hub.Options
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
	// Rand draws the clients' backoff jitter and the scenarios' choices.
	Rand *rand.Rand
}

// World is one running server with one general space, its members, and the
// client engines of a scenario. It remembers what every client wrote so
// that Converge can say whether anything was lost.
type World struct {
	Dir   string
	App   *app.App
	Space uuid.UUID
	Users []uuid.UUID
	cfg   Config
	toks  []string

	mu      sync.Mutex
	clients []*Client
	proxies []*Proxy
	want    map[record.Key]map[string]any // the last value each field was given; one writer per record
}

// NewWorld starts a server in dir.
func NewWorld(ctx context.Context, dir string, cfg Config) (*World, error) {
	if cfg.Users == 0 {
		cfg.Users = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(1, 2))
	}
	ac := app.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "server"), Logger: cfg.Logger, Hub: cfg.Hub}
	// The soak fills the disk with badger folders; never refuse for that.
	ac.Store.FreeSpace = func() (uint64, error) { return 1 << 40, nil }
	a, err := app.Open(ctx, ac)
	if err != nil {
		return nil, err
	}
	w := &World{Dir: dir, App: a, cfg: cfg, want: map[record.Key]map[string]any{}}
	sp, err := app.AddSpace(ctx, a.Store, "faults", server.KindGeneral)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	w.Space = sp.ID
	for i := range cfg.Users {
		u, err := app.AddUser(ctx, a.Store, fmt.Sprintf("member %d", i))
		if err == nil {
			err = app.AddMember(ctx, a.Store, sp.ID, u.ID, server.RoleTeacher)
		}
		var tok string
		if err == nil {
			tok, err = app.AddSession(ctx, a.Store, u.ID, "faults")
		}
		if err != nil {
			_ = w.Close()
			return nil, err
		}
		w.Users, w.toks = append(w.Users, u.ID), append(w.toks, tok)
	}
	return w, nil
}

// Token is member i's session token.
func (w *World) Token(i int) string { return w.toks[i] }

// URL is the server's sync endpoint, without a proxy.
func (w *World) URL() string { return w.App.URL() }

// Proxy starts a fault-injecting proxy in front of the server, closed with
// the world.
func (w *World) Proxy(name string) (*Proxy, error) {
	p, err := NewProxy(name, w.App.Addr())
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.proxies = append(w.proxies, p)
	w.mu.Unlock()
	return p, nil
}

// Close closes the clients, the proxies and the server.
func (w *World) Close() error {
	w.mu.Lock()
	cs, ps := w.clients, w.proxies
	w.clients, w.proxies = nil, nil
	w.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
	for _, p := range ps {
		p.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return w.App.Close(ctx)
}

// Client is a real client engine (in-memory store, gorilla transport) whose
// traffic is counted.
type Client struct {
	*client.Engine
	Name string
	w    *World

	counter loadgen.Counter // frame bytes and dials
}

// ClientOptions shape a client; zero fields take fast test defaults.
type ClientOptions struct {
	User    int    // which member signs in
	URL     string // where to dial; the server itself when empty
	Offline bool
	// Configure, when set, changes the engine's options last.
	Configure func(*client.Options)
}

// NewClient opens an engine.
func (w *World) NewClient(ctx context.Context, name string, o ClientOptions) (*Client, error) {
	c := &Client{Name: name, w: w}
	url := o.URL
	if url == "" {
		url = w.URL()
	}
	opts := client.Options{
		Store:     memstore.New(),
		Transport: c.counter.Wrap(&wsdial.Transport{URL: url, HandshakeTimeout: 3 * time.Second, WriteWait: 3 * time.Second}),
		Token:     w.toks[o.User],
		Offline:   o.Offline,
		// Reconnect fast: the scenarios measure recovery, not patience.
		BackoffBase: 20 * time.Millisecond,
		BackoffMax:  300 * time.Millisecond,
		DialTimeout: 3 * time.Second,
		Rand:        rand.New(rand.NewPCG(w.cfg.Rand.Uint64(), w.cfg.Rand.Uint64())),
	}
	if o.Configure != nil {
		o.Configure(&opts)
	}
	c.Engine = client.New(opts)
	if err := c.Open(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	w.mu.Lock()
	w.clients = append(w.clients, c)
	w.mu.Unlock()
	return c, nil
}

// Bytes returns the frame bytes the client sent and received so far
// (WebSocket payloads; no HTTP upgrade, frame headers or TCP overhead).
func (c *Client) Bytes() (up, down int64) { return c.counter.Bytes() }

// Dials counts the connections the client opened.
func (c *Client) Dials() int64 { return c.counter.Dials() }

// Create makes a record and remembers its fields as written.
func (c *Client) Create(ctx context.Context, collection string, fields map[string]any) (record.Key, error) {
	id, err := c.Engine.Create(ctx, c.w.Space, collection, fields)
	k := record.Key{Space: c.w.Space, Collection: collection, ID: id}
	if err != nil {
		return k, fmt.Errorf("%s: create: %w", c.Name, err)
	}
	c.w.expect(k, fields)
	return k, nil
}

// Edit writes fields of a record this client created.
func (c *Client) Edit(ctx context.Context, k record.Key, fields map[string]any) error {
	if err := c.Put(ctx, k.Space, k.Collection, k.ID, fields); err != nil {
		return fmt.Errorf("%s: edit: %w", c.Name, err)
	}
	c.w.expect(k, fields)
	return nil
}

func (w *World) expect(k record.Key, fields map[string]any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.want[k]
	if m == nil {
		m = map[string]any{}
		w.want[k] = m
	}
	for n, v := range fields {
		m[n] = v
	}
}

// Written is how many records the clients created.
func (w *World) Written() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.want)
}

// WaitSynced waits until every client is synced, or ctx ends.
func WaitSynced(ctx context.Context, cs ...*Client) error {
	for _, c := range cs {
		if err := c.WaitSynced(ctx); err != nil {
			return fmt.Errorf("%s not synced: %w (state %+v, %d dials)", c.Name, err, c.State(), c.Dials())
		}
	}
	return nil
}

// ServerRecords reads every record of the space from the store.
func (w *World) ServerRecords(ctx context.Context) (map[record.Key]*record.Record, error) {
	return w.App.Store.AllRecords(ctx, w.Space)
}

// Converge waits for the clients to sync, then proves nothing was lost and
// everyone agrees: every field any client wrote holds its last value on
// the server, with no conflict (one writer per record), and every client
// sees exactly the server's records, field by field.
//
// A client is synced when its own edits are acknowledged and it has caught
// up with the head it last heard of; changes committed by others may still
// be on their way, so the comparison is retried until it holds or ctx ends.
func (w *World) Converge(ctx context.Context, cs ...*Client) error {
	if err := WaitSynced(ctx, cs...); err != nil {
		return err
	}
	for {
		err := w.compare(ctx, cs)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not converged: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (w *World) compare(ctx context.Context, cs []*Client) error {
	recs, err := w.ServerRecords(ctx)
	if err != nil {
		return err
	}
	var errs []error
	w.mu.Lock()
	for k, fields := range w.want {
		r := recs[k]
		if r == nil {
			errs = append(errs, fmt.Errorf("record %s/%s lost: the server does not have it", k.Collection, k.ID))
			continue
		}
		for n, v := range fields {
			f := r.Fields[n]
			if f == nil || !reflect.DeepEqual(f.Value, v) || len(f.Conflicts) > 0 {
				errs = append(errs, fmt.Errorf("record %s field %s: server has %v, last written %v", k.ID, n, fieldString(f), short(v)))
			}
		}
	}
	w.mu.Unlock()
	colls := map[string]int{}
	for k := range recs {
		colls[k.Collection]++
	}
	for _, c := range cs {
		for coll, n := range colls {
			if got := len(c.List(w.Space, coll)); got != n {
				errs = append(errs, fmt.Errorf("%s lists %d records of %s, the server has %d", c.Name, got, coll, n))
			}
		}
		for k, r := range recs {
			v := c.Get(k)
			if v == nil {
				errs = append(errs, fmt.Errorf("%s lacks record %s", c.Name, k.ID))
				continue
			}
			if !reflect.DeepEqual(crash.View(v), crash.View(r)) {
				errs = append(errs, fmt.Errorf("%s's view of %s differs from the server's", c.Name, k.ID))
			}
		}
		if len(errs) > 10 {
			break
		}
	}
	if len(errs) > 10 {
		errs = append(errs[:10], fmt.Errorf("... and more"))
	}
	return errors.Join(errs...)
}

func fieldString(f *record.Field) string {
	if f == nil {
		return "nothing"
	}
	return fmt.Sprintf("%v (+%d conflicts)", short(f.Value), len(f.Conflicts))
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// text returns n bytes of lowercase words drawn from rng: compressible
// like real writing, but never the same twice.
func text(rng *rand.Rand, n int) string {
	b := make([]byte, 0, n+8)
	for len(b) < n {
		wl := 2 + rng.IntN(8)
		for range wl {
			b = append(b, byte('a'+rng.IntN(26)))
		}
		b = append(b, ' ')
	}
	return string(b[:n])
}

// keysOf lists a map's keys sorted, for stable output.
func keysOf[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
