package crash

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/plansync/plansync/shared/benchauth"
	"github.com/plansync/plansync/shared/record"
)

// SeedEnv replays a randomized run: set it to the seed a run printed.
const SeedEnv = "PLANSYNC_SEED"

// Defaults of a kill -9 run.
const (
	DefaultClients = 3
	// DefaultMinUp and DefaultMaxUp bound how long the server runs between
	// its ready line and the SIGKILL. One kill in five comes within
	// DefaultEarlyKill of the ready line instead, while clients are still
	// reconnecting and resending their backlog.
	DefaultMinUp     = 100 * time.Millisecond
	DefaultMaxUp     = 600 * time.Millisecond
	DefaultEarlyKill = 50 * time.Millisecond
	// DefaultMinGap and DefaultMaxGap bound the pause between two edits of
	// one client (about 65 edits a second each, below the hub's push rate).
	DefaultMinGap = 5 * time.Millisecond
	DefaultMaxGap = 25 * time.Millisecond
	// DefaultCheckEvery: the folder is opened and checked after every this
	// many kills (and always at the end). The other restarts run straight
	// on the folder as the kill left it, so the server's own crash recovery
	// is what reopens it.
	DefaultCheckEvery = 4
	// DefaultMaxRecords is how many records the clients create before they
	// only update: a few records edited over and over.
	DefaultMaxRecords = 40
	// syncWait bounds the final wait for every client to sync.
	syncWait = 60 * time.Second
	// finalReserve is the time Soak keeps for the final sync and check.
	finalReserve = 10 * time.Second
)

// Config is one kill -9 run. Zero fields take the defaults above.
type Config struct {
	// Bin is the plansync binary; Run builds one into Dir when empty.
	Bin string
	// Dir holds the server's folder, the clients' stores and the binary;
	// a temporary folder (removed after) when empty.
	Dir  string
	Seed uint64
	// Cycles is how many kills to run; when zero, Duration bounds the run.
	Cycles   int
	Duration time.Duration
	Clients  int

	MinUp, MaxUp, EarlyKill time.Duration
	MinGap, MaxGap          time.Duration
	CheckEvery              int
	MaxRecords              int

	// Logf receives progress; nil discards it.
	Logf func(format string, args ...any)
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.MinUp, DefaultMinUp)
	def(&c.MaxUp, DefaultMaxUp)
	def(&c.EarlyKill, DefaultEarlyKill)
	def(&c.MinGap, DefaultMinGap)
	def(&c.MaxGap, DefaultMaxGap)
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.CheckEvery == 0 {
		c.CheckEvery = DefaultCheckEvery
	}
	if c.MaxRecords == 0 {
		c.MaxRecords = DefaultMaxRecords
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Result is a run's figures; Soak prints it as one JSON line.
type Result struct {
	Scenario string `json:"scenario"`
	Cycles   int    `json:"cycles"`
	// OpsAcked counts edits the server acknowledged; OpsLost those of them
	// not found afterwards (must be 0 with durability on).
	OpsAcked int `json:"opsAcked"`
	OpsLost  int `json:"opsLost"`
	// DoubleApplied counts log entries beyond the first of one op.
	DoubleApplied int     `json:"doubleApplied"`
	OpsMade       int     `json:"opsMade"`
	Checks        int     `json:"checks"`
	Seed          uint64  `json:"seed"`
	Seconds       float64 `json:"seconds"`
	// Problems lists every other failed check: a broken log, clients that
	// did not converge, an edit never acked after the final sync, an op in
	// the log nobody made.
	Problems []string `json:"problems,omitempty"`
	// Err is set when the run could not be carried out (no figures).
	Err string `json:"error,omitempty"`
}

// OK reports whether the run found nothing wrong.
func (r *Result) OK() bool {
	return r.Err == "" && r.OpsLost == 0 && r.DoubleApplied == 0 && len(r.Problems) == 0
}

func (r *Result) problemf(format string, args ...any) {
	const maxProblems = 50
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// SeedFromEnv returns PLANSYNC_SEED when set, else a fresh random seed.
func SeedFromEnv() (uint64, error) {
	if s := os.Getenv(SeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s=%q: %w", SeedEnv, s, err)
		}
		return v, nil
	}
	return rand.Uint64(), nil
}

// Soak runs kill -9 cycles for about d (the final sync and check included)
// with the default settings and a seed from PLANSYNC_SEED or fresh. It
// builds the server binary, so it must run inside the module.
func Soak(ctx context.Context, d time.Duration) Result {
	seed, err := SeedFromEnv()
	if err != nil {
		return Result{Scenario: "kill9", Err: err.Error()}
	}
	return Run(ctx, Config{Seed: seed, Duration: d})
}

// Run is the kill -9 harness. It starts the real server binary in bench
// mode on a real badger folder, runs cfg.Clients native clients making
// edits, and kills the server with SIGKILL at random moments (drawn from
// cfg.Seed), restarting it on the same folder and port each time. After
// every cfg.CheckEvery kills, with the server down, it opens the folder and
// sorts every acked edit into present or lost, and checks the log
// (store.CheckLog, no op logged twice). At the end it stops the writers,
// restarts the server, waits for every client to sync, checks that they
// all see exactly what the server holds, stops the server cleanly and
// checks everything once more: every edit made is present, the space's
// head equals the number of edits, and every logged op is one a client
// made.
//
// The seed replays the schedule (kill moments, which records are edited,
// the pauses), not the exact interleaving of real processes.
func Run(ctx context.Context, cfg Config) (res Result) {
	cfg.defaults()
	start := time.Now()
	res = Result{Scenario: "kill9", Seed: cfg.Seed}
	defer func() { res.Seconds = time.Since(start).Seconds() }()
	fail := func(err error) Result {
		res.Err = err.Error()
		return res
	}
	if cfg.Cycles == 0 && cfg.Duration == 0 {
		return fail(errors.New("crash: Config needs Cycles or Duration"))
	}
	cleanup, err := cfg.prepare(ctx, "plansync-kill9-")
	defer cleanup()
	if err != nil {
		return fail(err)
	}
	deadline := start.Add(cfg.Duration)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0))
	listen, err := FreePort()
	if err != nil {
		return fail(err)
	}
	dataDir := filepath.Join(cfg.Dir, "server")
	dbDir := filepath.Join(dataDir, "db")
	srv, err := startServer(ctx, cfg.Bin, dataDir, listen, false)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if srv != nil {
			srv.kill()
		}
	}()
	f, err := openFleet(filepath.Join(cfg.Dir, "clients"), listen, cfg.Clients, cfg.Seed, cfg.MaxRecords)
	if err != nil {
		return fail(err)
	}
	defer f.close()
	f.start(cfg.MinGap, cfg.MaxGap)

	lost := map[string]bool{}
	check := func() (*State, error) {
		edits, acks := f.snapshot()
		s, err := ReadState(ctx, dbDir, benchauth.SpaceID)
		if err != nil {
			return nil, fmt.Errorf("reading the server's folder after cycle %d: %w", res.Cycles, err)
		}
		res.Checks++
		for _, ed := range tally(s, edits, acks, lost) {
			res.problemf("cycle %d: acked edit lost: client %d wrote %s=%q on %s (ack %+v)", res.Cycles, ed.Client, ed.Field, ed.Value, ed.Key.ID, acks[ed.Value])
		}
		res.OpsLost = len(lost)
		res.DoubleApplied = max(res.DoubleApplied, s.DoubleApplied())
		if s.CheckLog != nil {
			res.problemf("cycle %d: CheckLog: %v", res.Cycles, s.CheckLog)
		}
		if uint64(s.Entries) != s.Head {
			res.problemf("cycle %d: %d log entries reachable from records, head %d", res.Cycles, s.Entries, s.Head)
		}
		cfg.Logf("cycle %d: checked %d acked of %d edits, head %d, lost so far %d", res.Cycles, len(acks), len(edits), s.Head, len(lost))
		return s, nil
	}

	for ctx.Err() == nil {
		if cfg.Cycles > 0 && res.Cycles >= cfg.Cycles {
			break
		}
		if cfg.Cycles == 0 && time.Until(deadline) < finalReserve+cfg.MaxUp {
			break
		}
		up := cfg.MinUp + time.Duration(rng.Int64N(int64(cfg.MaxUp-cfg.MinUp)+1))
		if rng.IntN(5) == 0 {
			up = time.Duration(rng.Int64N(int64(cfg.EarlyKill) + 1))
		}
		select {
		case <-ctx.Done():
		case <-srv.done:
			return fail(fmt.Errorf("%w in cycle %d: %v; log:\n%s", errServerDied, res.Cycles+1, srv.err, srv.stderr))
		case <-time.After(up):
		}
		srv.kill()
		srv = nil
		res.Cycles++
		if err := f.stopErr(); err != nil {
			return fail(err)
		}
		if res.Cycles%cfg.CheckEvery == 0 {
			if _, err := check(); err != nil {
				return fail(err)
			}
		}
		if srv, err = restartServer(ctx, cfg.Bin, dataDir, listen); err != nil {
			return fail(fmt.Errorf("restart after cycle %d: %w", res.Cycles, err))
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}

	// The end: no more edits; everything pending reaches the server.
	if err := f.stopWriting(); err != nil {
		return fail(err)
	}
	syncStart := time.Now()
	sctx, cancel := context.WithTimeout(ctx, syncWait)
	clientViews, err := f.converge(sctx)
	cancel()
	if err != nil {
		res.problemf("final sync: %v", err)
	}
	cfg.Logf("final sync took %v", time.Since(syncStart).Round(time.Millisecond))
	if err := srv.stop(); err != nil {
		srv = nil
		return fail(err)
	}
	srv = nil
	s, err := check()
	if err != nil {
		return fail(err)
	}
	finalChecks(&res, s, f, clientViews)
	edits, acks := f.snapshot()
	res.OpsMade, res.OpsAcked = len(edits), len(acks)
	return res
}

// restartServer starts the server again on the same port. Another
// process may have taken the port as the local end of an outgoing
// connection in the meantime; then it tries again a few times.
func restartServer(ctx context.Context, bin, dataDir, listen string) (*serverProc, error) {
	const attempts, pause = 20, 50 * time.Millisecond
	for i := 1; ; i++ {
		srv, err := startServer(ctx, bin, dataDir, listen, false)
		if err == nil || i == attempts || !strings.Contains(err.Error(), "address already in use") {
			return srv, err
		}
		time.Sleep(pause)
	}
}

// finalChecks runs the end-of-run checks once every client has synced and
// the server has stopped cleanly.
func finalChecks(res *Result, s *State, f *fleet, clientViews []map[record.Key]map[string][]any) {
	edits, acks := f.snapshot()
	made := map[string]bool{}
	for _, ed := range edits {
		made[ed.Value] = true
		if _, ok := acks[ed.Value]; !ok {
			res.problemf("edit %q of client %d never acked after the final sync", ed.Value, ed.Client)
			continue
		}
		if _, ok := s.Values[ed.Value]; !ok {
			res.problemf("edit %q of client %d is not in the server's log", ed.Value, ed.Client)
		}
	}
	for v := range s.Values {
		if !made[v] {
			res.problemf("the log holds %q, which no client made", v)
		}
	}
	if s.Head != uint64(len(edits)) {
		res.problemf("space head %d after %d edits: an op was applied twice or lost", s.Head, len(edits))
	}
	for _, w := range f.writers {
		if p := w.e.Pending(); len(p) > 0 {
			res.problemf("client %d still has %d edits pending", w.k, len(p))
		}
		if r := w.e.Rejections(); len(r) > 0 {
			res.problemf("client %d had %d edits refused, the first: %s %s", w.k, len(r), r[0].Code, r[0].Message)
		}
	}
	want := Views(s.Records)
	for k, got := range clientViews {
		if !reflect.DeepEqual(got, want) {
			res.problemf("client %d does not see what the server holds: %s", k, diffViews(got, want))
		}
	}
}

// prepare gives cfg a working folder (a temporary one, removed by cleanup,
// when Dir is empty) and a server binary (built into it when Bin is empty).
func (cfg *Config) prepare(ctx context.Context, prefix string) (cleanup func(), err error) {
	cleanup = func() {}
	if cfg.Dir == "" {
		d, err := os.MkdirTemp("", prefix)
		if err != nil {
			return cleanup, err
		}
		cleanup = func() { os.RemoveAll(d) }
		cfg.Dir = d
	}
	if cfg.Bin == "" {
		b, err := Build(ctx, cfg.Dir)
		if err != nil {
			return cleanup, err
		}
		cfg.Bin = b
	}
	return cleanup, nil
}
