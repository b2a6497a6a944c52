// Package sim is a seeded, deterministic simulation of Plansync's sync: a
// few replicas editing one space offline and online, a server merging their
// ops in arrival order with the shared merge (record.Apply), and a network
// that loses, duplicates, delays and cuts. Each run ends with a heal, a
// final sync and a check against a reference model: every replica identical
// to the server, every acknowledged word still there, every conflict kept,
// no op applied twice.
//
// Why a model rather than the real engine and hub: those run goroutines,
// timers and sockets, so a run could not be replayed from its seed, and a
// thousand runs would take minutes. The model instead copies their rules
// and points to them (client/view.go relayLocked, client/sync.go changes,
// deriveOwnLocked, pump, ack; server/store/merge.go; server/hub fanOut and
// catchUp), and it exchanges the real protocol messages, through the real
// codec when Config.Codec is set. The merge itself is the real one: the
// server, every replica's view and the derivation of records from own ops
// and patches all call Config.Merge, record.Apply unless a test swaps in a
// broken one to prove the checker fails.
//
// What the network may do is what a WebSocket may do: each connection
// carries frames in order both ways, a cut loses whatever was in flight
// (acks and changes included), and after a reconnect the client resends its
// whole unacknowledged outbox. A half-open connection can still deliver its
// last pushes to the server after the client has reconnected, which is how
// ops reach the server twice and out of order across connections.
// Duplicated frames (the same push read twice) stand for a proxy or buffer
// replaying bytes.
//
// Config.Byzantine adds hostile and broken devices (byzantine.go), and the
// server then models the real one's defences against them: device ids
// bound to the session that first said hello with them, a per-account
// device limit, the drift check and the op index (server/store
// opindex.go), so that the checker proves an ack still means applied.
//
// Everything runs on one goroutine from one math/rand/v2 PCG source and
// never iterates a map to decide anything, so a seed replays exactly.
package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// MergeFunc is the shape of record.Apply.
type MergeFunc func(rec *record.Record, op *record.Op) (*record.Record, record.Outcome, error)

// Defaults for Config.
const (
	// DefaultSteps is how many random events a run takes before the final
	// heal: enough for several offline stretches and reconnects per
	// replica, little enough that a thousand runs take seconds.
	DefaultSteps = 300
	// maxRecords bounds how many record ids a run's replicas edit (the run
	// draws 1 to maxRecords). Few ids make concurrent edits of one record,
	// the interesting case, common; one id makes the conflict limit
	// reachable.
	maxRecords = 6
	// healBudget bounds the events of the final sync. A run that has not
	// settled by then is a failure (a livelock, or a client that can never
	// catch up), not a reason to loop forever.
	healBudget = 20_000
)

// Config is one run.
type Config struct {
	Seed uint64
	// Replicas is the number of devices, 3 to 5; 0 picks from the seed.
	Replicas int
	// Steps is the number of random events before the heal (0: DefaultSteps).
	Steps int
	// Records is how many record ids exist (0: drawn from the seed).
	Records int
	// Merge is the merge every party uses (nil: record.Apply).
	Merge MergeFunc
	// Codec passes every frame through protocol.Encode and Decode, so the
	// run also proves that what the codec carries merges alike. It costs
	// about a third of the run's time.
	Codec bool
	// NoPatches makes the server send records other devices changed whole
	// instead of as the op that changed them (protocol.Changes.Patches),
	// as the server did before patches. A device's own ops still come back
	// as references (protocol.Changes.Own).
	NoPatches bool
	// ResolveWithoutSeen models the engine before a fix the simulation
	// found: a resolve of _deleted with true named no Seen, so the merge
	// took it for a delete that saw nothing and raised the same conflicts
	// again (Stats.Reraised). The engine now sends Seen, as Delete does.
	ResolveWithoutSeen bool
	// Byzantine adds hostile and broken devices to the run (issue 11): a
	// replica that says hello with another replica's device id (a spoof,
	// or a copied browser profile of the same user), one whose clock is
	// 200 years ahead, one whose clock is decades behind and is reset
	// mid-run, and swarms of throwaway devices of a few attacker accounts
	// writing one record, past record.MaxRecordClock and past the per-user
	// device limit. The server refuses them the way the real one does
	// (device_taken, device_limit, clock_ahead, clock_reused) and the
	// replicas recover as PROTOCOL.md says (a new id; restamp above the
	// clock the refusal names).
	Byzantine bool
	// Unguarded models the server as it was before issue 11: no device
	// binding, no drift check, and "already applied" judged by the
	// record's clock alone. Only a test sets it, to prove the checker
	// catches the acked-but-dropped edits it allowed.
	Unguarded bool
	// AckRefused models an engine that takes a refusal for an ack. Only
	// a test sets it, to prove the checker tells refused from acked.
	AckRefused bool
}

// Stats counts what a run did, for figures and for tests that want proof
// the faults actually happened.
type Stats struct {
	Edits       int // ops made by replicas
	Applied     int // ops that changed a record on the server
	Acked       int // ops acknowledged as committed
	Refused     int // ops acknowledged as refused (conflict limit)
	Duplicates  int // ops the server received again and ignored
	Conflicts   int // ops that left a conflict
	Cuts        int // connections lost with frames possibly in flight
	Reconnects  int // sessions opened
	Gaps        int // sessions a client ended because it could not follow the changes
	Frames      int // frames delivered
	Dropped     int // frames lost in a cut
	Partitions  int // partitions started
	HealedSteps int // events the final sync took (in a Summary: the most)
	// Reraised counts versions a resolve named in Resolves that were
	// conflicts again right after it applied (see
	// Config.ResolveWithoutSeen); with the engine as it is, none.
	Reraised int
	// Refusals of Config.Byzantine's devices, by code, and what they did.
	DeviceTaken int // hellos refused: the device id is another session's
	DeviceLimit int // hellos refused: the account holds deviceLimit ids
	ClockAhead  int // ops refused: clock past hlc.MaxDrift ahead
	ClockReused int // ops refused: (device, clock) not newer, or another op's
	Restamped   int // ops a replica restamped (clock or device id) and sent again
	Ghosts      int // throwaway swarm devices that wrote
	// MaxClock is the most device entries a record's clock held at the
	// end (in a Summary: the most of any run).
	MaxClock int
}

// Result is the outcome of a run. Err is nil when every check passed.
type Result struct {
	Seed  uint64
	Err   error
	Stats Stats
}

// Run plays one simulation and checks it. It is deterministic in cfg.
func Run(cfg Config) Result {
	if cfg.Replicas == 0 {
		cfg.Replicas = 3 + int(cfg.Seed%3)
	}
	if cfg.Steps == 0 {
		cfg.Steps = DefaultSteps
	}
	if cfg.Merge == nil {
		cfg.Merge = record.Apply
	}
	w := newWorld(cfg)
	err := w.run()
	if err == nil {
		err = w.check()
	}
	if err != nil {
		err = fmt.Errorf("seed %d: %w", cfg.Seed, err)
	}
	return Result{Seed: cfg.Seed, Err: err, Stats: w.stats}
}

// world is one run's state.
type world struct {
	cfg    Config
	rng    *rand.Rand
	space  uuid.UUID
	coll   string
	ids    []uuid.UUID
	fields []string
	srv    *server
	reps   []*replica
	// orphans are half-open connections: the client gave up on them, the
	// server has not noticed and may still read what they carry.
	orphans []*conn
	now     int64 // simulated wall clock, milliseconds
	serial  int   // makes every written value unique
	stats   Stats
	ref     *reference
	// attackers are the accounts the swarm's throwaway devices sign in
	// as (Config.Byzantine).
	attackers []uuid.UUID
	ghosts    int // swarm devices made so far
}

func newWorld(cfg Config) *world {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	w := &world{
		cfg:    cfg,
		rng:    rng,
		coll:   "goals",
		fields: []string{"title", "status", "notes"},
		now:    1_700_000_000_000,
		ref:    newReference(),
	}
	w.space = w.uuid(4)
	if cfg.Records == 0 {
		cfg.Records = 1 + rng.IntN(maxRecords)
		w.cfg.Records = cfg.Records
	}
	for range cfg.Records {
		w.ids = append(w.ids, w.uuid(7))
	}
	w.srv = newServer(w)
	for i := range cfg.Replicas {
		w.reps = append(w.reps, &replica{
			w:      w,
			idx:    i,
			node:   w.uuid(4),
			author: w.uuid(4),
			skew:   int64(rng.IntN(200)) - 100,
			server: map[uuid.UUID]*record.Record{},
			online: true,
		})
	}
	if cfg.Byzantine {
		w.addByzantine()
	}
	return w
}

// uuid draws an id of the given version from the run's source.
func (w *world) uuid(version byte) uuid.UUID {
	var u uuid.UUID
	a, b := w.rng.Uint64(), w.rng.Uint64()
	for i := range 8 {
		u[i], u[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	u[6] = version<<4 | u[6]&0x0f
	u[8] = u[8]&0x3f | 0x80
	return u
}

// events are what can happen in one step, each with a base weight: how
// often it is drawn. Each run scales the weights of editing and of
// delivering by its own factors, so that some runs are mostly offline
// (long outboxes, many conflicts) and some mostly in sync (edits based on
// fresh state, few conflicts).
var events = []struct {
	weight int
	kind   int // kindEdit, kindNet or kindFault
	do     func(w *world) bool
	// byzantine events happen only in Config.Byzantine runs (weight 0
	// otherwise, so other runs draw exactly as before they existed).
	byzantine bool
}{
	{30, kindEdit, (*world).edit, false},
	{22, kindNet, (*world).deliverUp, false},
	{26, kindNet, (*world).deliverDown, false},
	{12, kindNet, (*world).connect, false},
	{2, kindFault, (*world).duplicateUp, false},
	{3, kindFault, (*world).cut, false},
	{3, kindFault, (*world).toggleOffline, false},
	{1, kindFault, (*world).partition, false},
	{1, kindFault, (*world).drainOrphan, false},
	{1, kindFault, (*world).swarm, true},
	{1, kindFault, (*world).resetClock, true},
}

const (
	kindEdit = iota
	kindNet
	kindFault
)

// run plays cfg.Steps random events, then heals everything and syncs until
// nothing moves.
func (w *world) run() error {
	scale := [3]int{1 + w.rng.IntN(4), 1 + w.rng.IntN(6), 1 + w.rng.IntN(3)}
	weights := make([]int, len(events))
	total := 0
	for i, e := range events {
		if e.byzantine && !w.cfg.Byzantine {
			continue
		}
		weights[i] = e.weight * scale[e.kind]
		total += weights[i]
	}
	for range w.cfg.Steps {
		w.now += int64(1 + w.rng.IntN(20))
		k := w.rng.IntN(total)
		for i, e := range events {
			if k < weights[i] {
				e.do(w)
				break
			}
			k -= weights[i]
		}
		if err := w.srv.fatal; err != nil {
			return err
		}
	}
	return w.heal()
}

// heal ends partitions and offline stretches and runs the network until
// every outbox is empty and every frame delivered.
func (w *world) heal() error {
	if w.cfg.Byzantine {
		for w.ghosts < swarmTotal {
			w.swarm()
		}
	}
	for _, r := range w.reps {
		r.online, r.partitioned = true, false
	}
	for i := range healBudget {
		w.now += 5
		if w.srv.fatal != nil {
			return w.srv.fatal
		}
		moved := false
		for _, r := range w.reps {
			if r.conn == nil {
				w.open(r)
				moved = true
			}
		}
		// Orphans first, so that their late pushes reach the server while
		// everyone is connected to hear about them.
		if len(w.orphans) > 0 {
			w.drainOrphan()
			continue
		}
		for _, k := range w.rng.Perm(len(w.reps)) {
			r := w.reps[k]
			if r.conn != nil && len(r.conn.up) > 0 {
				w.deliverUpOn(r.conn)
				moved = true
			}
			if r.conn != nil && len(r.conn.down) > 0 {
				w.deliverDownOn(r.conn)
				moved = true
			}
		}
		if !moved && w.settled() {
			w.stats.HealedSteps = i
			for _, rec := range w.srv.recs {
				w.stats.MaxClock = max(w.stats.MaxClock, len(rec.Clock))
			}
			return nil
		}
	}
	return fmt.Errorf("the final sync did not settle in %d events", healBudget)
}

// settled reports whether every replica is connected, welcomed, has an
// empty outbox and nothing is in flight.
func (w *world) settled() bool {
	for _, r := range w.reps {
		c := r.conn
		if c == nil || !c.welcomed || len(r.outbox) > 0 || len(c.inflight) > 0 || len(c.up) > 0 || len(c.down) > 0 {
			return false
		}
	}
	return len(w.orphans) == 0
}

// pick returns a random element of xs satisfying ok, or nil.
func pick[T any](w *world, xs []*T, ok func(*T) bool) *T {
	var c []*T
	for _, x := range xs {
		if ok(x) {
			c = append(c, x)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[w.rng.IntN(len(c))]
}

func (w *world) edit() bool {
	r := w.reps[w.rng.IntN(len(w.reps))]
	return r.edit()
}

func (w *world) deliverUp() bool {
	r := pick(w, w.reps, func(r *replica) bool { return r.conn != nil && len(r.conn.up) > 0 })
	if r == nil {
		return false
	}
	w.deliverUpOn(r.conn)
	return true
}

func (w *world) deliverDown() bool {
	r := pick(w, w.reps, func(r *replica) bool { return r.conn != nil && len(r.conn.down) > 0 })
	if r == nil {
		return false
	}
	w.deliverDownOn(r.conn)
	return true
}

// duplicateUp delivers a connection's next frame to the server and leaves
// it queued, so the server reads it twice.
func (w *world) duplicateUp() bool {
	r := pick(w, w.reps, func(r *replica) bool { return r.conn != nil && len(r.conn.up) > 0 })
	if r == nil {
		return false
	}
	w.stats.Frames++
	w.srv.receive(r.conn, w.transmit(r.conn.up[0]))
	return true
}

// cut ends a replica's connection as a network failure would.
func (w *world) cut() bool {
	r := pick(w, w.reps, func(r *replica) bool { return r.conn != nil })
	if r == nil {
		return false
	}
	w.stats.Cuts++
	w.drop(r)
	return true
}

// toggleOffline starts or ends a replica's offline stretch.
func (w *world) toggleOffline() bool {
	r := w.reps[w.rng.IntN(len(w.reps))]
	r.online = !r.online
	if !r.online && r.conn != nil {
		w.drop(r)
	}
	return true
}

// partition cuts a random group of replicas off the server, or heals the
// current partition.
func (w *world) partition() bool {
	for _, r := range w.reps {
		if r.partitioned {
			for _, r := range w.reps {
				r.partitioned = false
			}
			return true
		}
	}
	w.stats.Partitions++
	for _, r := range w.reps {
		if w.rng.IntN(2) == 0 {
			r.partitioned = true
			if r.conn != nil {
				w.drop(r)
			}
		}
	}
	return true
}

// connect opens a session for a replica that can reach the server.
func (w *world) connect() bool {
	r := pick(w, w.reps, func(r *replica) bool { return r.conn == nil && r.online && !r.partitioned })
	if r == nil {
		return false
	}
	w.open(r)
	return true
}

// drainOrphan lets the server read what a half-open connection still
// carries, then notice it is gone.
func (w *world) drainOrphan() bool {
	if len(w.orphans) == 0 {
		return false
	}
	i := w.rng.IntN(len(w.orphans))
	c := w.orphans[i]
	n := w.rng.IntN(len(c.up) + 1)
	if w.rng.IntN(2) == 0 {
		n = len(c.up)
	}
	for _, f := range c.up[:n] {
		w.stats.Frames++
		w.srv.receive(c, w.transmit(f))
	}
	w.stats.Dropped += len(c.up) - n
	w.srv.disconnect(c)
	w.orphans = append(w.orphans[:i], w.orphans[i+1:]...)
	return true
}

func (w *world) deliverUpOn(c *conn) {
	f := c.up[0]
	c.up = c.up[1:]
	w.stats.Frames++
	w.srv.receive(c, w.transmit(f))
}

func (w *world) deliverDownOn(c *conn) {
	f := c.down[0]
	c.down = c.down[1:]
	w.stats.Frames++
	if err := c.rep.receive(w.transmit(f)); err != nil {
		w.drop(c.rep)
	}
}

// drop ends a replica's connection: what the server was sending is lost;
// what the client sent is lost too, or, half the time, left for the server
// to read later (a half-open connection).
func (w *world) drop(r *replica) {
	c := r.conn
	r.conn = nil
	w.stats.Dropped += len(c.down)
	c.down = nil
	c.dead = true
	if len(c.up) > 0 && w.rng.IntN(2) == 0 {
		w.orphans = append(w.orphans, c)
		return
	}
	w.stats.Dropped += len(c.up)
	c.up = nil
	w.srv.disconnect(c)
}

// open starts a session: the client's Hello is the first frame up.
func (w *world) open(r *replica) {
	w.stats.Reconnects++
	c := &conn{rep: r}
	r.conn = c
	r.hello()
}

// Summary is what a sweep of many seeds found.
type Summary struct {
	Seeds    int
	Failures []Result // in seed order, at most maxFailures kept
	Failed   int      // all failures, kept or not
	Stats    Stats    // totals over all seeds
}

// maxFailures bounds the failures a Summary keeps: the first few seeds are
// enough to replay; a broken merge fails nearly every seed.
const maxFailures = 10

// Sweep runs seeds first, first+1, … on workers goroutines (each run is
// single-threaded and deterministic; only the seeds are shared out) until
// n seeds have run (n <= 0: no limit) or deadline has passed (zero: none).
// cfg makes each seed's Config; nil runs the defaults.
func Sweep(first uint64, n int, deadline time.Time, workers int, cfg func(seed uint64) Config) Summary {
	if cfg == nil {
		cfg = func(seed uint64) Config { return Config{Seed: seed} }
	}
	workers = max(workers, 1)
	var (
		mu   sync.Mutex
		next = first
		sum  Summary
		wg   sync.WaitGroup
	)
	take := func() (uint64, bool) {
		mu.Lock()
		defer mu.Unlock()
		if (n > 0 && next-first >= uint64(n)) || (!deadline.IsZero() && time.Now().After(deadline)) {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range workers {
		wg.Go(func() {
			for {
				seed, ok := take()
				if !ok {
					return
				}
				c := cfg(seed)
				c.Seed = seed
				res := Run(c)
				mu.Lock()
				sum.Seeds++
				sum.Stats.add(res.Stats)
				if res.Err != nil {
					sum.Failed++
					sum.Failures = append(sum.Failures, res)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(sum.Failures, func(a, b Result) int { return cmp.Compare(a.Seed, b.Seed) })
	if len(sum.Failures) > maxFailures {
		sum.Failures = sum.Failures[:maxFailures]
	}
	return sum
}

func (s *Stats) add(o Stats) {
	s.Edits += o.Edits
	s.Applied += o.Applied
	s.Acked += o.Acked
	s.Refused += o.Refused
	s.Duplicates += o.Duplicates
	s.Conflicts += o.Conflicts
	s.Cuts += o.Cuts
	s.Reconnects += o.Reconnects
	s.Gaps += o.Gaps
	s.Frames += o.Frames
	s.Dropped += o.Dropped
	s.Partitions += o.Partitions
	s.HealedSteps = max(s.HealedSteps, o.HealedSteps)
	s.Reraised += o.Reraised
	s.DeviceTaken += o.DeviceTaken
	s.DeviceLimit += o.DeviceLimit
	s.ClockAhead += o.ClockAhead
	s.ClockReused += o.ClockReused
	s.Restamped += o.Restamped
	s.Ghosts += o.Ghosts
	s.MaxClock = max(s.MaxClock, o.MaxClock)
}
