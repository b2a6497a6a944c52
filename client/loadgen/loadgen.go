// Package loadgen is Plansync's side of the cross-system benchmark
// (shared/bench/CONTRACT.md): the contract's record generator and the four
// workloads, run with the real client engine (client.Engine over
// client/wsdial, with client/diskstore where the contract says "disk")
// against a server in bench mode. The command client/cmd/loadgen wires it
// to flags, stdin and stdout.
//
// Every workload is bounded by Config.Timeout: one that does not finish in
// time returns its result with Completed false and the figures it has.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/shared/benchauth"
)

// Defaults from the contract's reference runs (N=10,000, C=50, U=500 at
// 50/s, K=50), and the bound on one workload.
const (
	DefaultN          = 10_000
	DefaultClients    = 50
	DefaultUpdates    = 500
	DefaultRate       = 50 // updates per second
	DefaultHotRecords = 50
	DefaultTimeout    = 120 * time.Second
)

// Polling and buffering.
const (
	// pollInterval is how often a condition without an event (a reader
	// holding the hot records, two replicas agreeing) is checked.
	pollInterval = 5 * time.Millisecond
	// eventBuffer is each subscriber's channel size. The engine drops
	// events for a full channel; at the contract's rates a reader never
	// falls this far behind, and if it did, its final Get pass still
	// counts what it holds (see w3).
	eventBuffer = 4096
)

// Workloads.
const (
	W1 = "w1" // offline push
	W2 = "w2" // initial sync
	W3 = "w3" // live fan-out
	W4 = "w4" // concurrent offline edits
)

// Config is one run of one workload.
type Config struct {
	Workload string
	// Addr is host:port of the server (or the harness's proxy in front
	// of it); the engines dial ws://Addr/sync.
	Addr string
	// DataDir is a fresh folder for the clients' disk stores; empty means
	// a temporary folder, removed afterwards.
	DataDir    string
	N          int
	Clients    int
	Updates    int
	Rate       float64
	HotRecords int
	// Timeout bounds the workload (DefaultTimeout when zero).
	Timeout time.Duration
	// ServerPID, when set, is read from /proc for w3's serverRssMB.
	ServerPID int
	// Harness carries the control lines; nil is standalone, discarding
	// them.
	Harness *Harness
	// Log receives progress; nil discards it.
	Log *log.Logger
	// EngineLog, when set, receives the engines' own diagnostics.
	EngineLog *log.Logger
}

func (c *Config) defaults() {
	if c.N <= 0 {
		c.N = DefaultN
	}
	if c.Clients <= 0 {
		c.Clients = DefaultClients
	}
	if c.Updates <= 0 {
		c.Updates = DefaultUpdates
	}
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	if c.HotRecords <= 0 {
		c.HotRecords = DefaultHotRecords
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Log == nil {
		c.Log = log.New(io.Discard, "", 0)
	}
	if c.Harness == nil {
		c.Harness = NewHarness(io.Discard, nil, c.Log, 0)
	}
}

// runner holds what every workload shares.
type runner struct {
	cfg     Config
	url     string
	dir     string
	counter Counter
	log     *log.Logger
	h       *Harness
}

// Run runs the workload cfg names and returns its result (one of
// W1Result..W4Result), which the caller prints as the last line. An error
// means the workload could not run at all (bad config, unusable data
// folder); a workload that ran out of time returns its result with
// Completed false and no error.
func Run(ctx context.Context, cfg Config) (any, error) {
	cfg.defaults()
	if cfg.Addr == "" {
		return nil, errors.New("loadgen: no server address")
	}
	r := &runner{cfg: cfg, url: "ws://" + cfg.Addr + "/sync", log: cfg.Log, h: cfg.Harness}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "plansync-loadgen-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		r.dir = dir
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, err
		}
		r.dir = cfg.DataDir
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	switch cfg.Workload {
	case W1:
		return r.w1(ctx)
	case W2:
		return r.w2(ctx)
	case W3:
		if cfg.Clients < 2 || cfg.Clients > benchauth.Users {
			return nil, fmt.Errorf("loadgen: w3 needs 2 to %d clients, not %d", benchauth.Users, cfg.Clients)
		}
		return r.w3(ctx)
	case W4:
		return r.w4(ctx)
	}
	return nil, fmt.Errorf("loadgen: unknown workload %q (w1, w2, w3, w4)", cfg.Workload)
}

// engine opens an engine for bench user k on st, counting its bytes.
func (r *runner) engine(ctx context.Context, st client.Store, k int, offline bool) (*client.Engine, error) {
	opts := client.Options{
		Store:     st,
		Transport: r.counter.Wrap(&wsdial.Transport{URL: r.url}),
		Token:     benchauth.Token(k),
		Offline:   offline,
	}
	if r.cfg.EngineLog != nil {
		opts.Logger = log.New(r.cfg.EngineLog.Writer(), fmt.Sprintf("user %d: ", k), r.cfg.EngineLog.Flags())
	}
	e := client.New(opts)
	if err := e.Open(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// diskEngine opens a disk store in the run's folder name and an engine for
// bench user k on it: the disk workloads (w1, w2, w4) all start this way.
// If the engine fails the store is closed; otherwise the caller closes both
// (closeAll), since the engine does not close its store.
func (r *runner) diskEngine(ctx context.Context, name string, k int, offline bool) (*client.Engine, client.Store, error) {
	st, err := diskstore.Open(filepath.Join(r.dir, name))
	if err != nil {
		return nil, nil, err
	}
	e, err := r.engine(ctx, st, k, offline)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return e, st, nil
}

// closeAll closes engines, then their stores (the engine does not close
// its store), logging failures: the workload's figures are measured by
// then.
func (r *runner) closeAll(engines []*client.Engine, stores []client.Store) {
	for _, e := range engines {
		if e != nil {
			if err := e.Close(); err != nil {
				r.log.Printf("closing an engine: %v", err)
			}
		}
	}
	for _, s := range stores {
		if s != nil {
			if err := s.Close(); err != nil {
				r.log.Printf("closing a store: %v", err)
			}
		}
	}
}

// measure is a measurement window: byte and CPU counters between the
// harness's measure-start and measure-end.
type measure struct {
	r              *runner
	start          time.Time
	up0, down0     int64
	cpu0           time.Duration
	up, down       int64
	cpu, wallClock time.Duration
}

func (r *runner) startMeasure() (*measure, error) {
	if err := r.h.Phase(PhaseMeasureStart); err != nil {
		return nil, err
	}
	m := &measure{r: r, cpu0: processCPU()}
	m.up0, m.down0 = r.counter.Bytes()
	m.start = time.Now()
	return m, nil
}

// stop snapshots the counters; call it once, before the harness phase.
func (m *measure) stop() {
	m.wallClock = time.Since(m.start)
	m.cpu = processCPU() - m.cpu0
	up, down := m.r.counter.Bytes()
	m.up, m.down = up-m.up0, down-m.down0
}

func (m *measure) end() error {
	return m.r.h.Phase(PhaseMeasureEnd)
}

// ms converts a duration to milliseconds with microsecond resolution.
func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round3(float64(n) / d.Seconds())
}

func per(total int64, n int) float64 {
	if n <= 0 {
		return 0
	}
	return round3(float64(total) / float64(n))
}

// waitFor polls cond until it holds or ctx ends; it reports whether cond
// held.
func waitFor(ctx context.Context, cond func() bool) bool {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return cond()
		case <-t.C:
		}
	}
	return true
}
